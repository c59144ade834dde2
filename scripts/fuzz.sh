#!/usr/bin/env bash
# Fuzzes TinyConv's readers of untrusted bytes with libFuzzer + AddressSanitizer:
#   scripts/fuzz.sh [SECONDS]      each target for SECONDS (default 30)
# Targets (Fuzz/): FuzzIDX (IDX reader), FuzzGzip (gzip layer), FuzzCheckpoint (checkpoint
# reader, model build, tensor checks), FuzzSpec (model-spec parser). Each starts from its
# seed corpus in Fuzz/corpus/ (copied: the repository's corpus is not changed). A crash,
# a leak or an out-of-memory fails the run and leaves the input in .build-fuzz/findings/;
# a finding is fixed with the input added to Fuzz/corpus/ and a regression test beside the
# reader's tests (docs/trust.md lists the findings).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SECONDS_EACH="${1:-30}"
# Coverage is asked for explicitly: --sanitize=fuzzer alone has been seen to leave the Swift code
# uninstrumented, and libFuzzer then mutates blindly (a check below refuses such a binary).
FLAGS=(-c debug --sanitize=fuzzer --sanitize=address -Xswiftc -sanitize-coverage=edge,inline-8bit-counters,pc-table,trace-cmp
       --scratch-path ../.build-fuzz)
(cd Fuzz && swift build "${FLAGS[@]}" 2>&1 | grep -v "Cannot export local symbol" | tail -1)
BIN="$(cd Fuzz && swift build "${FLAGS[@]}" --show-bin-path)"
mkdir -p .build-fuzz/findings
for target in FuzzIDX FuzzGzip FuzzCheckpoint FuzzSpec; do
    corpus_name="$(tr 'A-Z' 'a-z' <<< "${target#Fuzz}")"
    work="$(mktemp -d)"
    cp -r "Fuzz/corpus/$corpus_name/." "$work/"
    log="$(mktemp)"
    counters="$("$BIN/$target" -runs=0 2>&1 | sed -n 's/.*Loaded 1 modules *(\([0-9]*\) inline 8-bit counters).*/\1/p')"
    (( ${counters:-0} > 5000 )) || { echo "fuzz: $target is not coverage-instrumented (${counters:-0} counters)" >&2; exit 1; }
    if ! "$BIN/$target" "$work" -max_total_time="$SECONDS_EACH" -max_len=65536 -rss_limit_mb=2048 -timeout=10 \
        -print_final_stats=1 -artifact_prefix="$ROOT/.build-fuzz/findings/$target-" > "$log" 2>&1; then
        tail -40 "$log"
        echo "fuzz: $target found a failure (input in .build-fuzz/findings/)" >&2
        exit 1
    fi
    execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")"
    rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")"
    echo "fuzz: $target: $execs inputs in ${SECONDS_EACH}s ($rate/s), $counters coverage counters, corpus $(ls -A "$work" | wc -l) files, no failure"
    rm -rf "$work" "$log"
done
