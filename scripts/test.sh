#!/usr/bin/env bash
# The whole TinyConv test suite, from a fresh clone:
#   1. set-up (system packages, real MNIST fetched and verified),
#   2. an end-to-end run on the real MNIST: train, checkpoint, evaluate, bad input,
#   3. the thread-sanitized scheduler tests,
#   4. a build of the package-benchmark suite (not run: timings are not tests),
#   5. the unit and property tests (swift test).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
"$ROOT/scripts/setup.sh"
export TINYCONV_DATA="${TINYCONV_DATA:-$ROOT/data/mnist}"

echo "== end-to-end: short real training run on MNIST"
swift build -c release --product train
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
.build/release/train --model lenet5 --limit 4000 --validation 500 --epochs 2 --seed 7 \
    --checkpoint "$OUT/run.safetensors" --json "$OUT/run.json"
python3 - "$OUT/run.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert len(r["epochs"]) == 2, r
acc = r["epochs"][-1]["testAccuracy"]
assert acc > 0.85, f"test accuracy {acc} after 2 short epochs"
print(f"end-to-end: test accuracy {acc:.4f} after 2 epochs on 3,500 images")
PY
.build/release/train --evaluate "$OUT/run.safetensors"
# The checkpoint is real safetensors: the Python package reads every tensor and the metadata.
VENV="$ROOT/.build-venv-safetensors"
[[ -x "$VENV/bin/python" ]] || python3 -m venv "$VENV"
"$VENV/bin/pip" install -q --disable-pip-version-check safetensors numpy
"$VENV/bin/python" - "$OUT/run.safetensors" <<'PY'
import sys, numpy as np
from safetensors import safe_open
with safe_open(sys.argv[1], "np") as f:
    names = sorted(f.keys())
    meta = f.metadata()
    assert meta["format"] == "tinyconv-checkpoint-1" and meta["spec"].startswith("conv5x5x6:same"), meta
    assert len(names) == 20, names
    w = f.get_tensor("conv1.weight")
    assert w.shape == (5, 5, 1, 6) and w.dtype == np.float32 and np.isfinite(w).all()
    assert f.get_tensor("fc1.weight").shape == (400, 120)
print(f"end-to-end: safetensors reads {len(names)} tensors, spec {meta['spec']}")
PY
head -c 100 "$OUT/run.safetensors" > "$OUT/broken.safetensors"
if .build/release/train --evaluate "$OUT/broken.safetensors" 2> "$OUT/err.txt"; then
    echo "a truncated checkpoint was accepted" >&2; exit 1
fi
grep -q "checkpoint" "$OUT/err.txt" && echo "end-to-end: truncated checkpoint rejected: $(cat "$OUT/err.txt")"
if .build/release/train --batch-size 0 2> "$OUT/err.txt"; then echo "--batch-size 0 was accepted" >&2; exit 1; fi
echo "end-to-end: bad flag rejected: $(head -1 "$OUT/err.txt")"

# Ctrl-C: a checkpoint is written, the exit is clean (130), and --resume finishes the run.
.build/release/train --model lenet5 --validation 500 --epochs 3 --seed 7 \
    --checkpoint "$OUT/int.safetensors" > "$OUT/int.log" 2>&1 &
PID=$!
sleep 3   # loading MNIST takes about a second; a 3-epoch run takes several more
kill -INT "$PID"
set +e; wait "$PID"; CODE=$?; set -e
[[ $CODE -eq 130 ]] || { echo "Ctrl-C exit code $CODE, expected 130"; cat "$OUT/int.log"; exit 1; }
grep -q "checkpoint written" "$OUT/int.log" || { cat "$OUT/int.log"; exit 1; }
grep "interrupted" "$OUT/int.log"
.build/release/train --resume "$OUT/int.safetensors" | tail -2
echo "end-to-end: Ctrl-C checkpoint and resume work"

echo "== ONNX export: every zoo model and a spec with every layer kind, checked by onnx and ONNX Runtime"
swift build -c release --product export
ONNX_VENV="$ROOT/.build-venv-onnx"
[[ -x "$ONNX_VENV/bin/python" ]] || python3 -m venv "$ONNX_VENV"
"$ONNX_VENV/bin/pip" install -q --disable-pip-version-check "onnx==1.23.2" "onnxruntime==1.32.0" numpy
check_export() {  # checkpoint: export it, score it, compare ONNX Runtime with TinyConv
    local ckpt="$1" base="${1%.safetensors}"
    .build/release/export "$ckpt" -o "$base.onnx" > /dev/null
    local line correct
    line="$(.build/release/train --evaluate "$ckpt" --logits "$base.npy")"
    correct="$(sed -E 's/.*\(([0-9]+)\/[0-9]+\)$/\1/' <<< "$line")"
    "$ONNX_VENV/bin/python" scripts/check-onnx.py "$base.onnx" "$base.npy" "$TINYCONV_DATA" "$correct"
}
check_export "$OUT/run.safetensors"   # the trained LeNet-5 above
for m in regularized-lenet5 custom custom-1x1-then-pool lenet5-avgpool \
         "conv3x3x8:same,pool,conv1x1x4,avgpool,conv3x3x6,fc32,dropout0.5,fc10,l2:0.0001"; do
    .build/release/train --model "$m" --limit 256 --validation 0 --epochs 1 --seed 3 \
        --checkpoint "$OUT/export.safetensors" > /dev/null
    check_export "$OUT/export.safetensors"
done
expect_failure() {  # exit code, message part, command...: the exact code and a one-line message
    local code="$1" part="$2"; shift 2
    set +e; "$@" > "$OUT/out.txt" 2> "$OUT/err.txt"; local got=$?; set -e
    [[ $got -eq $code ]] || { echo "$* exited $got, expected $code"; cat "$OUT/err.txt"; exit 1; }
    grep -qF -- "$part" "$OUT/err.txt" || { echo "$*: message lacks '$part':"; cat "$OUT/err.txt"; exit 1; }
    [[ $(wc -l < "$OUT/err.txt") -le 3 ]] || { echo "$*: more than a short message:"; cat "$OUT/err.txt"; exit 1; }
    echo "bad input: $(head -1 "$OUT/err.txt")"
}
expect_failure 1 "truncated or not safetensors" .build/release/export "$OUT/broken.safetensors" -o "$OUT/broken.onnx"
test ! -e "$OUT/broken.onnx"
expect_failure 1 "cannot write" .build/release/export "$OUT/run.safetensors" -o "$OUT/no-such-folder/model.onnx"

echo "== thread sanitizer: scheduler and training tests (both backends)"
# libomp is not TSan-instrumented: Archer (libomp-dev's OMPT tool) tells TSan about
# OpenMP's barriers; libomp's pooled threads are never joined, so leaks are not reported.
ARCHER="$(ls /usr/lib/llvm-*/lib/libarcher.so 2>/dev/null | sort -V | tail -1 || true)"
OMP_TOOL_LIBRARIES="$ARCHER" TSAN_OPTIONS="ignore_noninstrumented_modules=1 report_thread_leaks=0 halt_on_error=1" \
    swift test --sanitize=thread --scratch-path .build-tsan --filter "Training|Scheduler" 2>&1 | tail -3
test "${PIPESTATUS[0]}" -eq 0

echo "== the package-benchmark suite builds (it is run by hand: see README)"
(cd Benchmarks && swift build -c release --scratch-path ../.build-benchmarks 2>&1 | tail -1)

echo "== unit tests"
swift test
