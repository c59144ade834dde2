#!/usr/bin/env bash
# The whole TinyConv test suite, from a fresh clone:
#   1. set-up (system packages, real MNIST fetched and verified),
#   2. an end-to-end run on the real MNIST: train, checkpoint, evaluate, bad input; ONNX export;
#      own nets on generated images checked against PyTorch (scripts/check-own-data.sh),
#   3. the thread-sanitized scheduler tests,
#   4. a build of the package-benchmark suite (not run: timings are not tests),
#   5. the fuzz targets, 30 s each (scripts/fuzz.sh),
#   6. the unit and property tests (swift test), and the allocation check on a release build.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
"$ROOT/scripts/setup.sh"
export TINYCONV_DATA="${TINYCONV_DATA:-$ROOT/data/mnist}"
# The ISAs the kernel sweeps must cover: what this CPU says it has (its /proc/cpuinfo flags),
# unless the caller states a set. ISACoverageTests fails when the engine covers another set.
if [[ -z "${TINYCONV_EXPECT_ISA:-}" ]]; then
    flags=" $(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null | cut -d: -f2) "
    TINYCONV_EXPECT_ISA=generic
    [[ $flags == *" avx2 "* && $flags == *" fma "* ]] && TINYCONV_EXPECT_ISA+=",avx2"
    [[ $flags == *" avx512f "* && $flags == *" avx512vl "* && $flags == *" avx512dq "* && $flags == *" avx512bw "* ]] && TINYCONV_EXPECT_ISA+=",avx512"
fi
export TINYCONV_EXPECT_ISA
echo "kernel sweeps must cover: $TINYCONV_EXPECT_ISA"

echo "== end-to-end: short real training run on MNIST"
# every tool the checks below call, before the first of them (a clean clone has none)
for product in train bench export sweep; do swift build -c release --product $product; done
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
"$(scripts/venv.sh safetensors safetensors numpy)" - "$OUT/run.safetensors" <<'PY'
import sys, numpy as np
from safetensors import safe_open
with safe_open(sys.argv[1], "np") as f:
    names = sorted(f.keys())
    meta = f.metadata()
    assert meta["format"] == "tinyconv-checkpoint-2" and meta["spec"].startswith("conv5x5x6:same"), meta
    assert len(names) == 20, names
    w = f.get_tensor("conv1.weight")
    assert w.shape == (5, 5, 1, 6) and w.dtype == np.float32 and np.isfinite(w).all()
    assert f.get_tensor("fc1.weight").shape == (400, 120)
print(f"end-to-end: safetensors reads {len(names)} tensors, spec {meta['spec']}")
PY
head -c 100 "$OUT/run.safetensors" > "$OUT/broken.safetensors"
expect_failure() {  # exit code, message part, command...: the exact code and a one-line message
    local code="$1" part="$2"; shift 2
    set +e; "$@" > "$OUT/out.txt" 2> "$OUT/err.txt"; local got=$?; set -e
    [[ $got -eq $code ]] || { echo "$* exited $got, expected $code"; cat "$OUT/err.txt"; exit 1; }
    grep -qF -- "$part" "$OUT/err.txt" || { echo "$*: message lacks '$part':"; cat "$OUT/err.txt"; exit 1; }
    [[ $(wc -l < "$OUT/err.txt") -le 3 ]] || { echo "$*: more than a short message:"; cat "$OUT/err.txt"; exit 1; }
    echo "bad input: $(head -1 "$OUT/err.txt")"
}
expect_failure 1 "truncated or not safetensors" .build/release/train --evaluate "$OUT/broken.safetensors"
cp "$OUT/run.safetensors" "$OUT/appended.safetensors"; printf '0123456789abcdef' >> "$OUT/appended.safetensors"
expect_failure 1 "16 bytes after the last tensor" .build/release/train --evaluate "$OUT/appended.safetensors"
python3 - "$OUT/run.safetensors" "$OUT/flipped.safetensors" <<'PY'
import sys
d = bytearray(open(sys.argv[1], "rb").read()); d[-1000] ^= 0x10; open(sys.argv[2], "wb").write(d)
PY
expect_failure 1 "does not match the stored" .build/release/train --evaluate "$OUT/flipped.safetensors"
expect_failure 64 "--batch-size must be in 1...4096, got 0" .build/release/train --batch-size 0
expect_failure 64 "--batch-size must be in 1...4096, got -1" .build/release/train --batch-size -1
expect_failure 64 "--lr must be a positive number" .build/release/train --lr -1
expect_failure 64 "TINYCONV_ISA=garbage is not an ISA" env TINYCONV_ISA=garbage .build/release/train --epochs 1
expect_failure 64 "--threads must be in 1...1024, got 0" .build/release/train --evaluate "$OUT/run.safetensors" --threads 0
expect_failure 64 "--threads must be in 1...1024, got -1" .build/release/train --threads -1
expect_failure 64 "--threads must be in 1...1024, got 100000" .build/release/bench --threads 100000
# a value that is no number: ArgumentParser's own message (its first line says it; help and usage follow)
set +e; .build/release/train --threads many > /dev/null 2> "$OUT/err.txt"; code=$?; set -e
[[ $code -eq 64 ]] && head -1 "$OUT/err.txt" | grep -qF "The value 'many' is invalid for '--threads" \
    || { echo "train --threads many exited $code:"; cat "$OUT/err.txt"; exit 1; }
echo "bad input: $(head -1 "$OUT/err.txt")"
expect_failure 64 "--model cannot be combined with it" .build/release/train --evaluate "$OUT/run.safetensors" --model custom
expect_failure 64 "--batch-size 64 (the checkpoint's is 32) would change it" .build/release/train --resume "$OUT/run.safetensors" --batch-size 64
expect_failure 64 "name the same file" .build/release/train --epochs 1 --checkpoint "$OUT/same" --json "$OUT/same"
expect_failure 64 "not a regular file" .build/release/train --epochs 1 --checkpoint /dev/null
expect_failure 64 "does not exist" .build/release/train --epochs 1 --json "$OUT/no-such-folder/run.json"
# Outputs never overwrite inputs or each other (checked before any work; docs/trust.md)
expect_failure 64 "--json $OUT/run.safetensors names the file --resume" .build/release/train --resume "$OUT/run.safetensors" --epochs 3 --json "$OUT/run.safetensors"
expect_failure 64 "--logits $OUT/run.safetensors names the file --evaluate" .build/release/train --evaluate "$OUT/run.safetensors" --logits "$OUT/run.safetensors"
expect_failure 64 "names the file --data" .build/release/train --epochs 1 --checkpoint "$TINYCONV_DATA/train-labels-idx1-ubyte.gz"
expect_failure 64 "names the file the checkpoint" .build/release/export "$OUT/run.safetensors" -o "$OUT/run.safetensors"
expect_failure 64 "name the same file" .build/release/bench --model lenet5 --json "$OUT/same.txt" --csv "$OUT/same.txt"
expect_failure 64 "names a folder" .build/release/train --epochs 1 --json "$OUT/"
expect_failure 64 "the path is empty" .build/release/train --epochs 1 --json ""
ln -s "$OUT/loop-b" "$OUT/loop-a"; ln -s "$OUT/loop-a" "$OUT/loop-b"
expect_failure 64 "a symbolic link loop" .build/release/train --epochs 1 --json "$OUT/loop-a"
expect_failure 64 "a symbolic link loop" .build/release/train --evaluate "$OUT/loop-a"
# Nothing wrong passes in silence; values a Float cannot hold say so
expect_failure 64 "--model is given 2 times" .build/release/train --model custom --model lenet5
expect_failure 64 "nothing to train" .build/release/train --resume "$OUT/run.safetensors" --epochs 2
expect_failure 64 "--lr 1e+39 overflows a 32-bit float" .build/release/train --lr 1e39
expect_failure 64 "--lr 1e-50 underflows a 32-bit float" .build/release/train --lr 1e-50
expect_failure 64 "--momentum 0.99999999 rounds to 1.0" .build/release/train --momentum 0.99999999
expect_failure 64 "two l2: tokens" .build/release/train --model "conv3x3x4,pool,fc10,l2:0.1,l2:0.2" --epochs 1
expect_failure 64 "--filter nothing-like-this matches no kernel" .build/release/bench kernels --filter nothing-like-this
expect_failure 64 "--repeats must be in 2...1000, got 1" .build/release/bench scaling --repeats 1
set +e; .build/release/train --evaluate "$OUT/run.safetensors" > /dev/full 2> "$OUT/full.txt"; code=$?; set -e
[[ $code -eq 1 ]] && grep -q "cannot write to standard output" "$OUT/full.txt" || { echo "stdout to /dev/full: exit $code"; cat "$OUT/full.txt"; exit 1; }
echo "bad input: $(cat "$OUT/full.txt")"
# Settings from the environment are checked like flags
expect_failure 64 "TINYCONV_MPI_TIMEOUT=nan must be a number of seconds" env TINYCONV_MPI_TIMEOUT=nan .build/release/train --epochs 1
expect_failure 64 "TINYCONV_MPI_TIMEOUT=0 must be a number of seconds" env TINYCONV_MPI_TIMEOUT=0 .build/release/train --epochs 1
expect_failure 64 "TINYCONV_MPI_TIMEOUT=soon must be" env TINYCONV_MPI_TIMEOUT=soon .build/release/bench --model lenet5
expect_failure 64 "TINYCONV_SPIN_NS=-5 must be a whole number" env TINYCONV_SPIN_NS=-5 .build/release/train --epochs 1
expect_failure 64 "TINYCONV_OMP_BLOCKTIME=x must be a whole number" env TINYCONV_OMP_BLOCKTIME=x .build/release/train --epochs 1
expect_failure 64 "TINYCONV_DATA is set but empty" env TINYCONV_DATA= .build/release/train --epochs 1
expect_failure 64 "TINYCONV_ISA=garbage is not an ISA" env TINYCONV_ISA=garbage .build/release/bench scaling
expect_failure 64 "TINYCONV_ISA=garbage is not an ISA" env TINYCONV_ISA=garbage .build/release/export "$OUT/run.safetensors" -o "$OUT/x.onnx"
expect_failure 64 "TINYCONV_WISDOM is set but empty" env TINYCONV_WISDOM= .build/release/bench tune --model lenet5

# Ctrl-C and SIGTERM: once the run has printed its epoch table header (training starts), a
# signal makes it write a checkpoint and exit 128 + the signal; a second signal right after
# the first changes nothing; --resume finishes the run.
interrupt_run() {  # signal name, expected exit code, how many signals
    local sig="$1" code="$2" times="$3" log="$OUT/int-$1.log"
    .build/release/train --model lenet5 --validation 500 --epochs 3 --seed 7 \
        --checkpoint "$OUT/int-$sig.safetensors" > "$log" 2>&1 &
    local pid=$!
    for _ in $(seq 600); do grep -q "^epoch " "$log" && break; sleep 0.05; done
    grep -q "^epoch " "$log" || { echo "the run never started training"; cat "$log"; exit 1; }
    for _ in $(seq "$times"); do kill -"$sig" "$pid"; done
    set +e; wait "$pid"; local got=$?; set -e
    [[ $got -eq $code ]] || { echo "$sig: exit code $got, expected $code"; cat "$log"; exit 1; }
    grep -q "checkpoint written" "$log" || { cat "$log"; exit 1; }
    grep "checkpoint written" "$log"
}
interrupt_run INT 130 1
interrupt_run INT 130 2
interrupt_run TERM 143 1
interrupt_run HUP 129 1
# A signal during start-up (data still loading): as soon as the process catches SIGTERM (its
# SigCgt mask in /proc says so), send it; the run must not train, but checkpoint and exit 143.
.build/release/train --model lenet5 --validation 500 --epochs 3 --seed 7 --checkpoint "$OUT/early.safetensors" \
    > "$OUT/early.log" 2>&1 &
PID=$!
for _ in $(seq 2000); do
    mask="$(sed -n 's/^SigCgt:\s*//p' "/proc/$PID/status" 2>/dev/null || true)"
    [[ -n "$mask" ]] && (( (16#$mask >> 14) & 1 )) && break
    sleep 0.001
done
kill -TERM "$PID"
set +e; wait "$PID"; CODE=$?; set -e
[[ $CODE -eq 143 ]] || { echo "SIGTERM during start-up: exit code $CODE, expected 143"; cat "$OUT/early.log"; exit 1; }
grep -q "stopped at epoch 1, step 0: checkpoint written" "$OUT/early.log" || { cat "$OUT/early.log"; exit 1; }
echo "end-to-end: SIGTERM during start-up: $(grep 'checkpoint written' "$OUT/early.log" | cut -c1-60)..."
.build/release/train --resume "$OUT/int-INT.safetensors" | tail -2
echo "end-to-end: signals write a checkpoint and resume works"
# Ctrl-C during --evaluate stops it (exit 130): sent as soon as the handler is installed
.build/release/train --evaluate "$OUT/int-INT.safetensors" > "$OUT/eval-int.log" 2>&1 &
PID=$!
for _ in $(seq 2000); do
    mask="$(sed -n 's/^SigCgt:\s*//p' "/proc/$PID/status" 2>/dev/null || true)"
    [[ -n "$mask" ]] && (( (16#$mask >> 1) & 1 )) && break
    sleep 0.001
done
kill -INT "$PID"
set +e; wait "$PID"; CODE=$?; set -e
[[ $CODE -eq 130 ]] && grep -q "Ctrl-C: evaluation stopped" "$OUT/eval-int.log" || { echo "Ctrl-C in --evaluate: exit $CODE"; cat "$OUT/eval-int.log"; exit 1; }
echo "end-to-end: Ctrl-C during --evaluate: exit 130, $(cat "$OUT/eval-int.log")"
# A stop without --checkpoint never replaces another run's interrupted.safetensors
mkdir -p "$OUT/cwd" && echo "another run's" > "$OUT/cwd/interrupted.safetensors"
(cd "$OUT/cwd" && exec "$ROOT/.build/release/train" --model lenet5 --validation 500 --epochs 3 > "$OUT/cwd/log" 2>&1) &
PID=$!
for _ in $(seq 600); do grep -q "^epoch " "$OUT/cwd/log" && break; sleep 0.05; done
kill -INT "$PID"; set +e; wait "$PID"; set -e
grep -q "checkpoint written to interrupted-2.safetensors" "$OUT/cwd/log" && [[ "$(cat "$OUT/cwd/interrupted.safetensors")" == "another run's" ]] \
    || { cat "$OUT/cwd/log"; echo "the stop replaced interrupted.safetensors"; exit 1; }
echo "end-to-end: a stop without --checkpoint wrote interrupted-2.safetensors beside another run's file"
# --resume refuses other data than the checkpoint was trained on, unless told
mkdir -p "$OUT/otherdata" && cp "$TINYCONV_DATA"/*.gz "$OUT/otherdata/"
python3 - "$OUT/otherdata/t10k-labels-idx1-ubyte.gz" <<'PY'
import gzip, sys
d = bytearray(gzip.open(sys.argv[1]).read()); d[-1] = (d[-1] + 1) % 10; gzip.open(sys.argv[1], "wb").write(bytes(d))
PY
expect_failure 64 "was trained on other data (t10k-labels-idx1-ubyte.gz" .build/release/train --resume "$OUT/int-TERM.safetensors" --data "$OUT/otherdata"
.build/release/train --resume "$OUT/int-TERM.safetensors" --data "$OUT/otherdata" --allow-other-data --checkpoint "$OUT/other.safetensors" > /dev/null
echo "end-to-end: --resume on other data is refused, --allow-other-data continues"

echo "== kernel tuning: wisdom, same bits tuned or not, honest shares of peak"
WISDOM="$OUT/wisdom.json"
TINYCONV_WISDOM="$WISDOM" .build/release/train --model lenet5 --limit 1500 --validation 0 --epochs 1 --seed 5 --tune fresh \
    --checkpoint "$OUT/tuned.safetensors" | grep "^tuning: 5 layer(s): 0 from wisdom, 5 measured"
TINYCONV_WISDOM="$WISDOM" .build/release/train --model lenet5 --limit 1500 --validation 0 --epochs 1 --seed 5 \
    --checkpoint "$OUT/remembered.safetensors" | grep "^tuning: 5 layer(s): 5 from wisdom, 0 measured"
.build/release/train --model lenet5 --limit 1500 --validation 0 --epochs 1 --seed 5 --tune off --checkpoint "$OUT/untuned.safetensors" > /dev/null
python3 scripts/same-tensors.py "$OUT/tuned.safetensors" "$OUT/untuned.safetensors"
python3 scripts/same-tensors.py "$OUT/remembered.safetensors" "$OUT/untuned.safetensors"
echo "kernel tuning: tuned, remembered and untuned runs end with the same weights"
printf '{"format": "tinyconv-wisdom-1", "machines": {' > "$WISDOM"
TINYCONV_WISDOM="$WISDOM" .build/release/train --model lenet5 --limit 500 --validation 0 --epochs 1 > /dev/null 2> "$OUT/wisdom-note.txt"
grep -q "note: wisdom file .* is damaged" "$OUT/wisdom-note.txt" || { cat "$OUT/wisdom-note.txt"; exit 1; }
[[ "$(cat "$WISDOM.damaged")" == '{"format": "tinyconv-wisdom-1", "machines": {' ]] || { echo "the damaged wisdom file was not kept"; exit 1; }
echo "kernel tuning: $(head -1 "$OUT/wisdom-note.txt" | cut -c1-90)..."
.build/release/bench tune --model lenet5 --rounds 1 --no-wisdom | grep "^tuning: 5 layer(s)"
.build/release/bench --model lenet5 --model custom --repeats 6 --steps 3 --warmup 1 --json "$OUT/bench.json" > /dev/null
python3 scripts/check-shares.py "$OUT/bench.json"

echo "== ONNX export: every zoo model and a spec with every layer kind, checked by onnx and ONNX Runtime"
ONNX_PY="$(scripts/venv.sh onnx "onnx==1.23.2" "onnxruntime==1.32.0" numpy)"
check_export() {  # checkpoint: export it, score it, compare ONNX Runtime with TinyConv
    local ckpt="$1" base="${1%.safetensors}"
    .build/release/export "$ckpt" -o "$base.onnx" > /dev/null
    local line correct
    line="$(.build/release/train --evaluate "$ckpt" --logits "$base.npy")"
    correct="$(sed -E 's/.*\(([0-9]+)\/[0-9]+\)$/\1/' <<< "$line")"
    "$ONNX_PY" scripts/check-onnx.py "$base.onnx" "$base.npy" "$TINYCONV_DATA" "$correct"
}
check_export "$OUT/run.safetensors"   # the trained LeNet-5 above
for m in regularized-lenet5 custom custom-1x1-then-pool lenet5-avgpool \
         "conv3x3x8:same,pool,conv1x1x4,avgpool,conv3x3x6,fc32,dropout0.5,fc10,l2:0.0001"; do
    .build/release/train --model "$m" --limit 256 --validation 0 --epochs 1 --seed 3 \
        --checkpoint "$OUT/export.safetensors" > /dev/null
    check_export "$OUT/export.safetensors"
done
expect_failure 1 "truncated or not safetensors" .build/release/export "$OUT/broken.safetensors" -o "$OUT/broken.onnx"
test ! -e "$OUT/broken.onnx"
expect_failure 64 "does not exist" .build/release/export "$OUT/run.safetensors" -o "$OUT/no-such-folder/model.onnx"

echo "== own nets and images: colour, 47 classes, float32; checked against PyTorch and ONNX Runtime"
scripts/check-own-data.sh

echo "== sweep: a grid of runs, stopped and continued, locally and over MPI ranks"
scripts/check-sweep.sh

echo "== trust round 4: downgrades, the environment, one writer per output, flags that do nothing, messages"
# a format-2 checkpoint relabelled as format 1 (format 1's checksum recomputed), with and without
# its data field; and the same file with config classes 12 (checksum recomputed): docs/trust.md
python3 - "$OUT/run.safetensors" "$OUT" <<'PY'
import json, struct, sys, zlib
src, out = sys.argv[1], sys.argv[2]
raw = open(src, "rb").read(); n = struct.unpack("<Q", raw[:8])[0]; header = json.loads(raw[8:8 + n]); body = raw[8 + n:]
def frame(h):
    j = json.dumps(h, sort_keys=True, separators=(",", ":")).encode()
    j += b" " * ((8 - (8 + len(j)) % 8) % 8)
    return struct.pack("<Q", len(j)) + j + body
def v1(drop_data):
    h = json.loads(json.dumps(header)); m = h["__metadata__"]; m["format"] = "tinyconv-checkpoint-1"
    if drop_data: del m["data"]
    m["checksum"] = "crc32:%08x" % zlib.crc32((m["spec"] + "\n" + m["config"] + "\n" + m["progress"] + "\n").encode() + body)
    return frame(h)
open(out + "/relabelled.safetensors", "wb").write(v1(False))
open(out + "/format1.safetensors", "wb").write(v1(True))
h = json.loads(json.dumps(header)); m = h["__metadata__"]; m["config"] = m["config"].replace('"classes":10', '"classes":12')
m["checksum"] = "crc32:00000000"; f = bytearray(frame(h)); at = f.find(b"crc32:00000000")
f[at:at + 14] = ("crc32:%08x" % zlib.crc32(bytes(f))).encode(); open(out + "/classes12.safetensors", "wb").write(bytes(f))
PY
expect_failure 1 "a relabelled format-2 file" .build/release/train --evaluate "$OUT/relabelled.safetensors" --allow-format-1
expect_failure 1 "a relabelled format-2 file" .build/release/export "$OUT/relabelled.safetensors" -o "$OUT/relabelled.onnx" --allow-format-1
expect_failure 1 "is a format-1 checkpoint, whose checksum does not cover its tensor table" .build/release/export "$OUT/format1.safetensors" -o "$OUT/f1.onnx"
.build/release/train --evaluate "$OUT/format1.safetensors" --allow-format-1 > "$OUT/f1.log" 2>&1
grep -q "note: .*a format-1 checkpoint" "$OUT/f1.log"  # (a file, not a pipe: grep -q would end train with SIGPIPE)
echo "trust: a format-1 file is read only with --allow-format-1, with its note"
expect_failure 1 "its model does not fit its own input 28x28x1 and 12 classes" .build/release/train --evaluate "$OUT/classes12.safetensors"
# the environment reaching libomp and Open MPI: checked like flags
expect_failure 64 "OMP_NUM_THREADS=-3 must be a positive whole number" env OMP_NUM_THREADS=-3 .build/release/train --scheduler openmp --epochs 1
expect_failure 64 "OMP_WAIT_POLICY=sometimes must be active or passive" env OMP_WAIT_POLICY=sometimes .build/release/bench --scheduler openmp
expect_failure 64 "OMPI_COMM_WORLD_LOCAL_SIZE=zero must be a positive whole number" env OMPI_COMM_WORLD_LOCAL_SIZE=zero .build/release/sweep --out "$OUT/sw"
# one writer per output: a second train on the same --checkpoint, a second sweep on the same --out
.build/release/train --epochs 50 --limit 2000 --validation 200 --checkpoint "$OUT/shared.safetensors" > "$OUT/first.log" 2>&1 &
first=$!
for _ in $(seq 100); do [[ -s "$OUT/.shared.safetensors.lock" ]] && break; sleep 0.1; done
expect_failure 1 "is being written by another run (pid $first)" .build/release/train --epochs 1 --limit 600 --validation 100 --checkpoint "$OUT/shared.safetensors"
kill -TERM $first; wait $first || true
.build/release/sweep --out "$OUT/sweep-a" --model lenet5 --seed 1-4 --epochs 30 --jobs 1 -- --limit 2000 --validation 200 > "$OUT/sweep-a.log" 2>&1 &
first=$!
for _ in $(seq 100); do [[ -s "$OUT/sweep-a/.lock" ]] && break; sleep 0.1; done
expect_failure 64 "is being written by another run (pid $first)" .build/release/sweep --out "$OUT/sweep-a" --model lenet5 --seed 1-4 --epochs 30 --jobs 1 -- --limit 2000 --validation 200
kill -TERM $first; wait $first || true
mkdir -p "$OUT/not-a-sweep"; echo "mine" > "$OUT/not-a-sweep/summary.md"
expect_failure 64 "holds other things and no sweep" .build/release/sweep --out "$OUT/not-a-sweep" --model lenet5 --epochs 1
grep -q mine "$OUT/not-a-sweep/summary.md"
expect_failure 64 "is a file, not a folder" .build/release/sweep --out README.md --model lenet5 --epochs 1
# a cache never stops a run: a wisdom path that is a folder, a FIFO or /dev/null
mkdir -p "$OUT/wisdom-dir"; mkfifo "$OUT/wisdom-fifo"
for w in "$OUT/wisdom-dir" "$OUT/wisdom-fifo" /dev/null; do
    TINYCONV_WISDOM="$w" timeout 120 .build/release/train --epochs 1 --limit 600 --validation 100 --tune fresh > "$OUT/w.log" 2> "$OUT/w.err"
    grep -q "is not a regular file (a folder, FIFO or device): tuning without it" "$OUT/w.err"
done
echo "trust: a wisdom path that is a folder, a FIFO or /dev/null: tuned without it, trained, exit 0"
# flags that would do nothing, and sweep's grid checked up front by train's own validation
expect_failure 64 "--beta1, --weight-decay set AdamW's hyper-parameters, but this run trains with sgd" .build/release/train --beta1 0.8 --weight-decay 0.1
expect_failure 64 "--schedule cosine:3 warms up over 3 epoch(s), the whole run is 3" .build/release/train --optimizer adamw --schedule cosine:3 --epochs 3
expect_failure 64 "unknown key 'seeds'" bash -c "echo '{\"model\": [\"lenet5\"], \"seeds\": [1]}' > '$OUT/grid.json' && .build/release/sweep --out '$OUT/sw' --grid '$OUT/grid.json'"
expect_failure 64 "run bogus_seed1 (bogus): --model: model spec: unknown model 'bogus'" .build/release/sweep --out "$OUT/sw" --model bogus --epochs 1
expect_failure 64 "--schedule step:EPOCHS:GAMMA needs EPOCHS >= 1" .build/release/sweep --out "$OUT/sw" --model lenet5 --schedule step:0:1 --epochs 1
expect_failure 64 "Unknown option '--bogus-flag'" .build/release/sweep --out "$OUT/sw" --model lenet5 --epochs 1 -- --bogus-flag
expect_failure 64 "--lr must be a positive number" .build/release/sweep --out "$OUT/sw" --model lenet5 --lr -1 --epochs 1
test ! -e "$OUT/sw"
expect_failure 64 "cannot create the folder /proc/nope: No such file or directory" .build/release/sweep --out /proc/nope/x --model lenet5 --epochs 1
# messages: a label past MNIST's ten classes, --data naming a file
mkdir -p "$OUT/badlabels"; cp data/mnist/*.gz "$OUT/badlabels/"
python3 - "$OUT/badlabels/train-labels-idx1-ubyte.gz" <<'PY'
import gzip, sys
d = bytearray(gzip.open(sys.argv[1]).read()); d[8 + 5] = 12; gzip.open(sys.argv[1], "wb").write(bytes(d))
PY
expect_failure 1 "label 12 at index 5 is outside 0..<10" .build/release/train --data "$OUT/badlabels" --epochs 1
expect_failure 1 "is a file, not a folder (--data takes the folder" .build/release/train --data README.md --epochs 1

echo "== distributed training over MPI on localhost (bit-identical to one process; faults)"
scripts/test-distributed.sh

echo "== thread sanitizer: scheduler and training tests (both backends)"
# libomp is not TSan-instrumented: Archer (libomp-dev's OMPT tool) tells TSan about
# OpenMP's barriers; libomp's pooled threads are never joined, so leaks are not reported.
ARCHER="$(ls /usr/lib/llvm-*/lib/libarcher.so 2>/dev/null | sort -V | tail -1 || true)"
OMP_TOOL_LIBRARIES="$ARCHER" TSAN_OPTIONS="ignore_noninstrumented_modules=1 report_thread_leaks=0 halt_on_error=1" \
    swift test --sanitize=thread --scratch-path .build-tsan --filter "Training|Scheduler|OnlineGradient|StagePiece" 2>&1 | tail -3
test "${PIPESTATUS[0]}" -eq 0

echo "== fuzzing the readers of untrusted bytes (IDX, gzip, checkpoint, spec), 30 s each"
scripts/fuzz.sh "${TINYCONV_FUZZ_SECONDS:-30}"

echo "== the package-benchmark suite builds (it is run by hand: see README)"
(cd Benchmarks && swift build -c release --scratch-path ../.build-benchmarks 2>&1 | tail -1)

echo "== the direct convolutions' exact checks as a plain C program (what runs where Swift is not)"
scripts/kernel-check.sh "$OUT/direct-conv-check" | tail -1

echo "== documented figures are backed by committed files"
python3 scripts/check-doc-files.py

echo "== unit tests"
swift test 2>&1 | tee "$OUT/unit.log" | grep -E "kernel sweeps cover|✘|Test run|error:"  # pipefail: a failure ends here
echo "== allocation-free steps, on an optimized build"
swift test -c release --filter Allocation 2>&1 | grep -E "allocation check|✘|Test run|error:"

# What this run covered and what it could not (a green run on a CPU without AVX-512 ran none
# of the AVX-512 kernels).
covered="$(grep -o "kernel sweeps cover ISAs: .*" "$OUT/unit.log" | head -1 | cut -d: -f2- | cut -d';' -f1 | xargs)"
missing="$(for isa in generic avx2 avx512; do [[ ",$TINYCONV_EXPECT_ISA," == *",$isa,"* ]] || printf '%s ' "$isa"; done)"
echo "test.sh: all passed on $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); kernel ISAs tested: ${covered:-?}; not tested: ${missing:-none}"
