#!/usr/bin/env bash
# Direct convolutions (issue 24): the figures docs/performance.md's "direct convolutions" section
# quotes, from one script, on whatever machine runs it. Not a test.
#   BASE_BENCH=/path/to/old/bench scripts/measure-direct-conv.sh OUT_DIR [ROUNDS]   (default 3)
#   BENCH="/tmp/tinyconv/run bench" CHECK=/path/to/direct-conv-check ...         (a device bundle)
# Writes into OUT_DIR: check.txt (scripts/kernel-check.sh's program on this CPU), tune.txt (every
# candidate of the zoo's layers timed, direct vs GEMM), new_<isa>_r<R>.txt and base_<isa>_r<R>.txt
# (bench --model lenet5 --model custom --threads 2 --batch-size 32, per-layer profile, the old and
# new binaries alternating, on the widest ISA and with --isa avx2), pytorch_*.json when PyTorch
# imports here (scripts/pytorch_step.py at 2 threads).
set -uo pipefail
OUT="${1:?usage: measure-direct-conv.sh OUT_DIR [ROUNDS]}"; ROUNDS="${2:-3}"
BENCH="${BENCH:-.build/release/bench}"
mkdir -p "$OUT"
lscpu > "$OUT/cpu.txt"
export TINYCONV_WISDOM="$OUT/wisdom.json"
[[ -n "${CHECK:-}" ]] && { "$CHECK" > "$OUT/check.txt" 2>&1; echo "check: $(tail -1 "$OUT/check.txt")"; }
$BENCH tune --model lenet5 --model custom > "$OUT/tune.txt" 2>&1
isas=("")
grep -qw avx512f /proc/cpuinfo && isas+=("avx2")
for r in $(seq 1 "$ROUNDS"); do
    for isa in "${isas[@]}"; do
        flag=(); [[ -n "$isa" ]] && flag=(--isa "$isa")
        tag="${isa:-widest}"
        for which in new base; do
            b="$BENCH"; [[ "$which" == base ]] && b="${BASE_BENCH:-}"
            [[ -z "$b" ]] && continue
            $b --model lenet5 --model custom --threads 2 --batch-size 32 --repeats 7 --steps 20 "${flag[@]}" \
                --json "$OUT/${which}_${tag}_r$r.json" > "$OUT/${which}_${tag}_r$r.txt" 2>&1
            echo "$which $tag r$r: $(grep -E '^(lenet5|custom) ' "$OUT/${which}_${tag}_r$r.txt" | awk '{print $1, $2, $NF}' | tr '\n' ' ')"
        done
    done
done
if python3 -c "import torch" 2>/dev/null; then
    for m in lenet5 custom; do
        OMP_NUM_THREADS=2 python3 scripts/pytorch_step.py "$m" 2 32 50 3 > "$OUT/pytorch_$m.json" 2>&1
        echo "pytorch $m: $(tail -c 300 "$OUT/pytorch_$m.json")"
    done
fi
