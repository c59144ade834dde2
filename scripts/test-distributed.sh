#!/usr/bin/env bash
# Distributed training on localhost (called by scripts/test.sh, after a release build of train):
#   1. mpirun -np 2 and -np 3 with 1 thread each give the same weight bits as one process with
#      2 and 3 threads, after an epoch on 500 MNIST images (the last batch 20 images: 3 shards),
#      for LeNet-5, Regularized LeNet-5 (dropout), Custom and a LeNet-5 with batch norm trained
#      by AdamW, with the tree exchange (the default); LeNet-5 and the bn net also at -np 1, 4, 5
#      and 8 (oversubscribed; 5 takes uneven shares, 8 leaves ranks idle on the last batch),
#      and with the gather exchange, whose traffic bench prints against its formula;
#   1a. 2 ranks x 3 threads (pieces below the shard) give the bits of 1 process x 1 thread;
#   1b. two emulated hosts (scripts/netns-cluster.sh: network namespaces, TCP over a shaped
#      link) give the same bits with both exchanges;
#   2. a P=2 checkpoint resumed at P=1 and P=3 ends bit-identical to an uninterrupted run;
#   3. a killed rank ends the job non-zero within 30 s with the rank named, and the last
#      checkpoint still loads; a stopped (hung) rank makes the others stop with one line;
#   4. tuned ranks (rank 0 measures, broadcasts its plan) give the bits of an untuned process;
#      bench under mpirun reports no share of peak above 100% (each rank's FLOPs are its own).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
TRAIN=.build/release/train
RUN=(--limit 500 --validation 0 --seed 11)
same_tensors() { python3 scripts/same-tensors.py "$1" "$2"; }  # the same tensor bytes, metadata aside
# (the last: batch norm, whose minibatch statistics are summed across ranks, with AdamW)
for m in lenet5 regularized-lenet5 custom \
         "conv5x5x6:same,bn,pool,conv5x5x16,bn,pool,fc120,bn,fc84,fc10 --optimizer adamw --lr 0.001 --schedule cosine"; do
    for p in 2 3; do
        $TRAIN --model $m "${RUN[@]}" --epochs 1 --threads $p --checkpoint "$OUT/one.safetensors" > /dev/null
        scripts/mpirun.sh -np $p $TRAIN --model $m "${RUN[@]}" --epochs 1 --threads 1 --checkpoint "$OUT/mpi.safetensors" > "$OUT/mpi.log"
        same_tensors "$OUT/one.safetensors" "$OUT/mpi.safetensors"
        echo "distributed: ${m%% *}: $p ranks x 1 thread == 1 process x $p threads, bit for bit"
    done
done
for m in lenet5 "conv5x5x6:same,bn,pool,conv5x5x16,bn,pool,fc120,bn,fc84,fc10 --optimizer adamw --lr 0.001 --schedule cosine"; do
    $TRAIN --model $m "${RUN[@]}" --epochs 1 --threads 1 --checkpoint "$OUT/one.safetensors" > /dev/null
    for p in 1 2 4 5 8; do
        for exchange in tree gather; do
            [[ $exchange == tree && $p == 2 ]] && continue  # done above
            scripts/mpirun.sh -np $p $TRAIN --model $m "${RUN[@]}" --epochs 1 --threads 1 --exchange $exchange \
                --checkpoint "$OUT/mpi.safetensors" > "$OUT/mpi.log"
            same_tensors "$OUT/one.safetensors" "$OUT/mpi.safetensors"
        done
    done
    echo "distributed: ${m%% *}: 1, 2, 4, 5 and 8 ranks, tree and gather exchanges == 1 process, bit for bit"
done
# ranks with more threads than their shards (2 per rank at batch 32): each rank runs its shards as
# pieces (work below the shard), the bn net as segments
for m in lenet5 regularized-lenet5 \
         "conv5x5x6:same,bn,pool,conv5x5x16,bn,pool,fc120,bn,fc84,fc10 --optimizer adamw --lr 0.001 --schedule cosine"; do
    $TRAIN --model $m "${RUN[@]}" --epochs 1 --threads 1 --checkpoint "$OUT/one.safetensors" > /dev/null
    scripts/mpirun.sh -np 2 $TRAIN --model $m "${RUN[@]}" --epochs 1 --threads 3 --checkpoint "$OUT/mpi.safetensors" > "$OUT/mpi.log"
    same_tensors "$OUT/one.safetensors" "$OUT/mpi.safetensors"
    echo "distributed: ${m%% *}: 2 ranks x 3 threads == 1 process x 1 thread, bit for bit"
done
# two emulated hosts: network namespaces, TCP only, over a link shaped to 1 Gbit/s
scripts/netns-cluster.sh up 2 1gbit > /dev/null
trap 'scripts/netns-cluster.sh down > /dev/null; rm -rf "$OUT"' EXIT
$TRAIN --model lenet5 "${RUN[@]}" --epochs 1 --threads 1 --checkpoint "$OUT/one.safetensors" > /dev/null
for exchange in tree gather; do
    scripts/netns-cluster.sh run 2 -np 2 "$ROOT/$TRAIN" --model lenet5 "${RUN[@]}" --epochs 1 --threads 1 --exchange $exchange \
        --checkpoint "$OUT/hosts.safetensors" > "$OUT/hosts.log"
    same_tensors "$OUT/one.safetensors" "$OUT/hosts.safetensors"
done
scripts/netns-cluster.sh down > /dev/null
trap 'rm -rf "$OUT"' EXIT
echo "distributed: 2 emulated hosts over shaped TCP, tree and gather exchanges == 1 process, bit for bit"

# the traffic each rank counts, against the formula (docs/distributed.md)
for exchange in tree gather; do
    scripts/mpirun.sh -np 4 .build/release/bench --model lenet5 --threads 1 --batch-size 128 --repeats 6 --steps 2 --warmup 1 \
        --no-profile --exchange $exchange > /dev/null 2> "$OUT/traffic.log"
    python3 - "$OUT/traffic.log" <<'PY'
import re, sys
lines = [l for l in open(sys.argv[1]) if "bytes received per step" in l]
assert len(lines) == 4, lines
for l in lines:
    got, formula = (int(x) for x in re.search(r"exchange, (\d+) bytes received per step \(formula (\d+)", l).groups())
    assert got == formula, l
print("distributed: traffic as the formula says on all 4 ranks:", lines[0].strip())
PY
done

$TRAIN --model custom "${RUN[@]}" --epochs 1 --threads 2 --tune off --checkpoint "$OUT/off.safetensors" > /dev/null
TINYCONV_WISDOM="$OUT/wisdom.json" scripts/mpirun.sh -np 2 $TRAIN --model custom "${RUN[@]}" --epochs 1 --threads 1 --tune fresh \
    --checkpoint "$OUT/tuned.safetensors" > "$OUT/tuned.log"
same_tensors "$OUT/off.safetensors" "$OUT/tuned.safetensors"
[[ $(grep -c "^tuning: .* measured" "$OUT/tuned.log") -eq 1 ]] || { cat "$OUT/tuned.log"; echo "expected one tuning line (rank 0)"; exit 1; }
echo "distributed: custom, 2 tuned ranks (rank 0's plan broadcast) == 1 untuned process, bit for bit"
scripts/mpirun.sh -np 2 .build/release/bench --model lenet5 --model custom --threads 1 --repeats 6 --steps 2 --warmup 1 \
    --json "$OUT/bench.json" > "$OUT/bench.log" 2>&1 || { cat "$OUT/bench.log"; exit 1; }
python3 scripts/check-shares.py "$OUT/bench.json"

scripts/mpirun.sh -np 2 $TRAIN --model regularized-lenet5 "${RUN[@]}" --epochs 1 --threads 1 --checkpoint "$OUT/p2.safetensors" > /dev/null
$TRAIN --model regularized-lenet5 "${RUN[@]}" --epochs 2 --threads 2 --checkpoint "$OUT/straight.safetensors" > /dev/null
cp "$OUT/p2.safetensors" "$OUT/r1.safetensors"; cp "$OUT/p2.safetensors" "$OUT/r3.safetensors"
$TRAIN --resume "$OUT/r1.safetensors" --epochs 2 --checkpoint "$OUT/r1.safetensors" > /dev/null
scripts/mpirun.sh -np 3 $TRAIN --resume "$OUT/r3.safetensors" --epochs 2 --threads 1 --checkpoint "$OUT/r3.safetensors" > /dev/null
same_tensors "$OUT/straight.safetensors" "$OUT/r1.safetensors"
same_tensors "$OUT/straight.safetensors" "$OUT/r3.safetensors"
echo "distributed: a P=2 checkpoint resumed at P=1 and at P=3 equals the uninterrupted run"

rank_pid() {  # the job's pid (scripts/mpirun.sh), rank: the pid of that rank's train process
    for pid in $(pgrep -P "$1") $(for c in $(pgrep -P "$1"); do pgrep -P "$c"; done); do
        tr '\0' '\n' < "/proc/$pid/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$2" && { echo "$pid"; return; }
    done
}
fault_run() {  # signal for rank 1, expected text, timeout env
    rm -f "$OUT/k.safetensors"
    TINYCONV_MPI_TIMEOUT=5 scripts/mpirun.sh -np 2 $TRAIN --model lenet5 --limit 2000 --validation 0 --epochs 1000 \
        --threads 1 --checkpoint "$OUT/k.safetensors" > "$OUT/k.log" 2>&1 &
    local job=$!
    for _ in $(seq 600); do [[ -s "$OUT/k.safetensors" ]] && break; sleep 0.05; done
    [[ -s "$OUT/k.safetensors" ]] || { cat "$OUT/k.log"; echo "no checkpoint was written"; exit 1; }
    local victim; victim="$(rank_pid "$job" 1)"
    [[ -n "$victim" ]] || { echo "rank 1 not found"; exit 1; }
    local t0=$SECONDS
    kill -"$1" "$victim"
    set +e; wait "$job"; local code=$?; set -e
    local took=$((SECONDS - t0))
    [[ $code -ne 0 ]] || { echo "the job exited 0 after rank 1 got SIG$1"; exit 1; }
    (( took <= 30 )) || { echo "the job took ${took}s to end after rank 1 got SIG$1"; exit 1; }
    grep -q "$2" "$OUT/k.log" || { cat "$OUT/k.log"; echo "no line naming the rank"; exit 1; }
    echo "distributed: rank 1 got SIG$1: job ended with $code after ${took}s: $(grep -m1 "$2" "$OUT/k.log")"
    $TRAIN --evaluate "$OUT/k.safetensors" > /dev/null
}
# Ctrl-C (SIGINT to mpirun, SIGTERM to the ranks) at moments in and around the end-of-epoch
# evaluation of the heavier Custom net: every time a checkpoint of the last finished step is
# written, and it resumes. The run is far longer than the test waits (epochs of 500 images take
# ~0.1 s, and mpirun may pass the epoch lines on late): with 20 epochs a loaded host once saw
# the run end before the signal, and no stop to check.
for delay in 0 0.15 0.3 0.6; do
    rm -f "$OUT/stop.safetensors"
    scripts/mpirun.sh -np 2 $TRAIN --model custom --limit 1500 --validation 1000 --epochs 400 --threads 1 \
        --checkpoint "$OUT/stop.safetensors" > "$OUT/stop.log" 2>&1 &
    job=$!
    for _ in $(seq 1200); do grep -Eaq "(^|K) +1 +[0-9]+\.[0-9]+ " "$OUT/stop.log" && break; sleep 0.05; done
    sleep "$delay"
    kill -INT "$job"
    set +e; wait "$job"; code=$?; set -e
    grep -q "checkpoint written to $OUT/stop.safetensors" "$OUT/stop.log" || { cat "$OUT/stop.log"; echo "Ctrl-C after ${delay}s: no checkpoint"; exit 1; }
    $TRAIN --evaluate "$OUT/stop.safetensors" > /dev/null   # whole and believed
    echo "distributed: Ctrl-C $delay s after epoch 1 (exit $code): $(grep -o 'stopped .*: checkpoint' "$OUT/stop.log")"
done

# SIGINT to the job's process alone (not its group), as a script that started it with & would
# send: before scripts/mpirun-signals.py, mpirun ignored it and the job trained to its end
rm -f "$OUT/int.safetensors"
scripts/mpirun.sh -np 2 $TRAIN --model lenet5 --limit 3000 --validation 500 --epochs 400 --threads 1 \
    --checkpoint "$OUT/int.safetensors" > "$OUT/int.log" 2>&1 &
job=$!
for _ in $(seq 1200); do grep -Eaq "(^|K) +1 +[0-9]+\.[0-9]+ " "$OUT/int.log" && break; sleep 0.05; done
t0=$SECONDS
kill -INT "$job"
set +e; wait "$job"; code=$?; set -e
took=$((SECONDS - t0))
grep -q "checkpoint written to $OUT/int.safetensors" "$OUT/int.log" || { cat "$OUT/int.log"; echo "SIGINT to the job alone: no checkpoint"; exit 1; }
# the ranks stop at once; mpirun then takes its kill timeout (10 s, scripts/mpirun.sh) to end
(( took <= 40 && code != 0 )) || { echo "SIGINT to the job alone: exit $code after ${took}s"; exit 1; }
epochs="$(grep -oE 'stopped (at|after) epoch [0-9]+' "$OUT/int.log" | grep -oE '[0-9]+$')"
(( epochs <= 5 )) || { echo "SIGINT to the job alone: it went on to epoch $epochs (the signal came after epoch 1)"; exit 1; }
$TRAIN --evaluate "$OUT/int.safetensors" > /dev/null
echo "distributed: SIGINT to the job's pid alone: stopped after ${took}s (exit $code) at epoch $epochs of 400, checkpoint loads"

fault_run KILL "rank 1"
fault_run STOP "no answer from the other ranks"
echo "distributed: the last checkpoint loads after each fault"
