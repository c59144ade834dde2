#!/usr/bin/env bash
# sweep, end to end on MNIST (run by scripts/test.sh after its release builds of train and sweep):
#   1. a local sweep (2 models x 2 seeds, 2 runs at a time) stopped by SIGTERM while its runs
#      train: they write checkpoints, the sweep exits 143; the same command continues it: the
#      stopped runs resume, nothing finished runs again, and a run's weights equal a direct
#      `train` with the same flags, bit for bit; a checkpoint left an epoch behind its JSON
#      (a stop between the two writes) resumes to the same bits;
#   2. the same grid under mpirun -np 2 (ranks take alternate runs) gives the same summary;
#   3. bad input: another grid into the same folder, a bad seed range, a fixed flag the sweep owns.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SWEEP=.build/release/sweep TRAIN=.build/release/train
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
GRID=(--model lenet5 --model regularized-lenet5 --seed 1-2 --epochs 2 --jobs 2)
FIXED=(-- --limit 12000 --validation 1000)

# 1. stop while the first runs train (their first epoch line is out), then continue
$SWEEP "${GRID[@]}" --out "$OUT/local" "${FIXED[@]}" > "$OUT/first.log" 2>&1 &
pid=$!
for _ in $(seq 600); do
    grep -qs "^    1 " "$OUT/local/lenet5_seed1/train.log" && break
    sleep 0.05
done
kill -TERM $pid
set +e; wait $pid; code=$?; set -e
[[ $code -eq 143 ]] || { echo "sweep: SIGTERM gave exit $code, expected 143"; cat "$OUT/first.log"; exit 1; }
grep -q "stopped; the runs wrote their checkpoints" "$OUT/first.log"
test -f "$OUT/local/lenet5_seed1/checkpoint.safetensors"
$SWEEP "${GRID[@]}" --out "$OUT/local" "${FIXED[@]}" > "$OUT/second.log"
grep -q "resuming lenet5_seed1" "$OUT/second.log"
finished="$(ls -l --time-style=+%s.%N "$OUT"/local/*/run.json)"
$SWEEP "${GRID[@]}" --out "$OUT/local" "${FIXED[@]}" > "$OUT/third.log"
grep -q "4 of 4 runs already finished" "$OUT/third.log"
[[ "$(ls -l --time-style=+%s.%N "$OUT"/local/*/run.json)" == "$finished" ]] || { echo "sweep: a finished run ran again"; exit 1; }
$TRAIN --model lenet5 --seed 1 --epochs 2 --limit 12000 --validation 1000 --checkpoint "$OUT/direct.safetensors" > /dev/null
python3 scripts/same-tensors.py "$OUT/direct.safetensors" "$OUT/local/lenet5_seed1/checkpoint.safetensors"
echo "sweep: stopped by SIGTERM (exit 143), continued: resumed, nothing redone, a run == train with its flags, bit for bit"
# a run stopped between its last JSON and its last checkpoint (train writes the JSON first):
# its checkpoint is an epoch behind; the sweep resumes it and ends on the same bits
$TRAIN --model lenet5 --seed 1 --epochs 1 --limit 12000 --validation 1000 --checkpoint "$OUT/local/lenet5_seed1/checkpoint.safetensors" > /dev/null
$SWEEP "${GRID[@]}" --out "$OUT/local" "${FIXED[@]}" > "$OUT/fourth.log"
grep -q "3 of 4 runs already finished" "$OUT/fourth.log" && grep -q "resuming lenet5_seed1" "$OUT/fourth.log" \
    || { echo "sweep: a checkpoint behind its JSON was not resumed"; cat "$OUT/fourth.log"; exit 1; }
python3 scripts/same-tensors.py "$OUT/direct.safetensors" "$OUT/local/lenet5_seed1/checkpoint.safetensors"
echo "sweep: a checkpoint one epoch behind its finished JSON resumed to the same bits"

# 2. the same grid over two MPI ranks
scripts/mpirun.sh -np 2 $SWEEP "${GRID[@]}" --jobs 1 --out "$OUT/mpi" "${FIXED[@]}" > "$OUT/mpi.log"
python3 - "$OUT/local/summary.json" "$OUT/mpi/summary.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
key = lambda s: [(r["configuration"], r["finalTestAccuracy"]) for r in s["rows"]]
assert key(a) == key(b) and not a["missing"], (key(a), key(b))
print("sweep: mpirun -np 2 gives the local sweep's accuracies:", [f"{c} {sum(x) / len(x):.4f}" for c, x in key(a)])
PY

# a folder refused under mpirun: rank 0 decides for every rank, so the job ends (exit 64 on each
# rank) instead of rank 1 running its share into the folder while rank 0 waits in MPI_Finalize
mkdir -p "$OUT/other" && echo x > "$OUT/other/notes.txt"
set +e; timeout 120 scripts/mpirun.sh -np 2 $SWEEP "${GRID[@]}" --jobs 1 --out "$OUT/other" "${FIXED[@]}" > "$OUT/mpi-bad.log" 2>&1; got=$?; set -e
[[ $got -ne 0 && $got -ne 124 ]] && grep -q "holds other things" "$OUT/mpi-bad.log" && [[ "$(ls "$OUT/other")" == "notes.txt" ]] \
    || { echo "sweep under mpirun into a folder of other things: exit $got (124: hung), folder: $(ls "$OUT/other")"; cat "$OUT/mpi-bad.log"; exit 1; }
echo "sweep: mpirun -np 2 into a folder of other things: refused on every rank (exit $got), folder untouched"

# 3. bad input: a clear error, exit 64, nothing run
expect_refusal() {  # message part, sweep args...
    local part="$1"; shift
    set +e; $SWEEP "$@" > /dev/null 2> "$OUT/err.txt"; local got=$?; set -e
    [[ $got -eq 64 ]] && grep -qF -- "$part" "$OUT/err.txt" || { echo "sweep $*: exit $got, wanted 64 and '$part':"; cat "$OUT/err.txt"; exit 1; }
    echo "sweep: bad input: $(head -1 "$OUT/err.txt")"
}
expect_refusal "holds another sweep" --model custom --seed 1 --out "$OUT/local"
expect_refusal "a range like 1-5" --seed 5-x --out "$OUT/bad"
expect_refusal "may not contain --seed" --out "$OUT/bad" -- --seed 3
