#!/usr/bin/env bash
# TinyConv vs PyTorch (CPU) training throughput on this machine, same sitting: the four zoo
# models with identical shapes, batch, threads and optimizer, runs alternating between the
# engines, images/s and per-round ratios with their spread. Training only; not a test.
#   scripts/compare-pytorch.sh [ROUNDS]        (default 5 rounds; THREADS=2 BATCH=32 by default)
# Output: profiles/pytorch-comparison_<cpu>.txt and .json.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
ROUNDS="${1:-5}"; THREADS="${THREADS:-2}"; BATCH="${BATCH:-32}"; STEPS=50
MODELS=(lenet5 regularized-lenet5 custom custom-1x1-then-pool)

# PyTorch in its own venv (scripts/venv.sh: the local CPU-only wheel when the machine has one)
TORCH_PY="$(scripts/venv.sh torch torch numpy)"
scripts/setup.sh --no-data
swift build -c release --product bench 2>&1 | tail -1

# PyTorch's best settings: glibc malloc that keeps freed blocks (about 2x on the Custom net
# here), its thread count set, channels-last tried per model and kept where faster.
TUNABLES="glibc.malloc.mmap_threshold=16777216:glibc.malloc.trim_threshold=1073741824"
torch_run() { GLIBC_TUNABLES="$TUNABLES" "$TORCH_PY" scripts/pytorch_step.py "$1" "$THREADS" "$BATCH" "$STEPS" 3 ${2:-}; }
tinyconv_run() {  # median images/s over 6 interleaved repeats of STEPS steps
    local out; out="$(mktemp)"
    .build/release/bench --model "$1" --threads "$THREADS" --batch-size "$BATCH" --steps "$STEPS" --repeats 6 \
        --warmup 20 --no-profile --json "$out" > /dev/null
    python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print($BATCH / r['variants'][0]['stepSeconds']['median'])" "$out"
    rm -f "$out"
}
median_rate() { python3 -c "import json,sys,statistics; print(statistics.median(json.loads(sys.argv[1])['imagesPerSecond']))" "$1"; }

CPU="$(lscpu | sed -n 's/^Model name: *//p' | head -1)"
TAG="$(tr 'A-Z ' 'a-z-' <<< "$CPU" | tr -cd 'a-z0-9-' | cut -c1-24)"
declare -A LAYOUT
echo "choosing PyTorch's memory format per model (channels-last kept only where faster)"
for m in "${MODELS[@]}"; do
    plain="$(median_rate "$(torch_run "$m")")"; cl="$(median_rate "$(torch_run "$m" --channels-last)")"
    if python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) > float(sys.argv[2]) else 1)" "$cl" "$plain"; then
        LAYOUT[$m]="--channels-last"; else LAYOUT[$m]=""; fi
    printf '  %-22s contiguous %8.0f img/s, channels-last %8.0f img/s -> %s\n' "$m" "$plain" "$cl" "${LAYOUT[$m]:-contiguous}"
done

RESULTS="$(mktemp)"
for ((r = 1; r <= ROUNDS; r++)); do
    for m in "${MODELS[@]}"; do
        if (( r % 2 )); then t="$(tinyconv_run "$m")"; p="$(median_rate "$(torch_run "$m" "${LAYOUT[$m]}")")"
        else p="$(median_rate "$(torch_run "$m" "${LAYOUT[$m]}")")"; t="$(tinyconv_run "$m")"; fi
        echo "$m $r $t $p" >> "$RESULTS"
        printf '  round %d %-22s TinyConv %8.0f img/s  PyTorch %8.0f img/s\n' "$r" "$m" "$t" "$p"
    done
done

TORCH_VERSION="$("$TORCH_PY" -c 'import torch; print(torch.__version__)')"
mkdir -p profiles
python3 - "$RESULTS" "$CPU" "$TORCH_VERSION" "$THREADS" "$BATCH" "profiles/pytorch-comparison_$TAG" "${MODELS[@]}" <<'PY'
import json, statistics, sys
path, cpu, torch_version, threads, batch, out, *models = sys.argv[1:]
rows = [line.split() for line in open(path)]
table, report = [], {"cpu": cpu, "torch": torch_version, "threads": int(threads), "batch": int(batch), "models": {}}
lines = [f"TinyConv vs PyTorch {torch_version} (CPU), training steps, {cpu}, {threads} threads, batch {batch}, "
         f"{len(rows) // len(models)} alternating rounds",
         "model                   TinyConv img/s (min-max)     PyTorch img/s (min-max)      ratio median (min-max)   best/best"]
for m in models:
    t = [float(r[2]) for r in rows if r[0] == m]; p = [float(r[3]) for r in rows if r[0] == m]
    ratios = [a / b for a, b in zip(t, p)]
    # best/best: each engine's fastest round; interference on a shared machine only ever slows a
    # run down, so the best rounds are the least disturbed measurement of each engine
    best = max(t) / max(p)
    report["models"][m] = {"tinyconv": t, "pytorch": p, "ratios": ratios, "bestOverBest": best}
    lines.append(f"{m:22s} {statistics.median(t):8.0f} ({min(t):6.0f}-{max(t):6.0f})   "
                 f"{statistics.median(p):8.0f} ({min(p):6.0f}-{max(p):6.0f})   "
                 f"{statistics.median(ratios):5.2f}x ({min(ratios):.2f}-{max(ratios):.2f})   {best:5.2f}x")
text = "\n".join(lines) + "\n"
print(text, end="")
open(out + ".txt", "w").write(text)
json.dump(report, open(out + ".json", "w"), indent=1, sort_keys=True)
print(f"written: {out}.txt, {out}.json")
PY
