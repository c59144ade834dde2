#!/usr/bin/env bash
# Many cores (issue 23): the figures docs/performance.md's "many cores" section quotes, from one
# script, on whatever machine runs it. Not a test.
#   scripts/measure-many-cores.sh OUT_DIR [ROUNDS]     (default 3 alternating rounds)
#   BENCH="/tmp/tinyconv/run bench" scripts/measure-many-cores.sh ...   (a device bundle, no Swift)
#   BASE_BENCH=/path/to/old/bench adds the old binary to every alternating comparison.
# Writes into OUT_DIR:
#   scaling.txt/.json   bench scaling: threads 1, 2, 4, ... up to the cores, batch 32 and 256, the
#                       model's error at every point, Dispatch vs OpenMP at the most threads;
#   steps_*.txt/.json   bench --model lenet5 --model custom at (threads, batch) = (1, 32), (1, 256),
#                       (T, 32), (T, 256) with T the cores, and with --no-split at (T, 32), in
#                       alternating rounds (the goals' figures: one bench run each);
#   summary.txt         images/s per configuration (median over rounds) and the goal ratios.
set -euo pipefail
OUT="${1:?usage: measure-many-cores.sh OUT_DIR [ROUNDS]}"; ROUNDS="${2:-3}"
BENCH="${BENCH:-.build/release/bench}"
T="$(nproc)"
mkdir -p "$OUT"
lscpu > "$OUT/cpu.txt"
run() {  # name, bench command words...
    local name="$1"; shift
    "$@" > "$OUT/$name.txt" 2>&1 || { echo "failed: $*"; tail -3 "$OUT/$name.txt"; exit 1; }
}
configs=("1 32" "1 256" "$T 32" "$T 256")
for r in $(seq 1 "$ROUNDS"); do
    for c in "${configs[@]}"; do
        set -- $c
        run "steps_t$1_b$2_r$r" $BENCH --model lenet5 --model custom --threads "$1" --batch-size "$2" \
            --repeats 7 --steps 10 --no-profile --json "$OUT/steps_t$1_b$2_r$r.json"
        [[ -n "${BASE_BENCH:-}" ]] && run "base_t$1_b$2_r$r" $BASE_BENCH --model lenet5 --model custom --threads "$1" \
            --batch-size "$2" --repeats 7 --steps 10 --no-profile --json "$OUT/base_t$1_b$2_r$r.json"
    done
    run "nosplit_t${T}_b32_r$r" $BENCH --model lenet5 --model custom --threads "$T" --batch-size 32 --repeats 7 \
        --steps 10 --no-profile --no-split --json "$OUT/nosplit_t${T}_b32_r$r.json"
done
run profile_t${T}_b32 $BENCH --model lenet5 --model custom --threads "$T" --batch-size 32 --repeats 7 --steps 10
run scaling $BENCH scaling --repeats 7 --steps 10 --json "$OUT/scaling.json"
python3 - "$OUT" "$T" "$ROUNDS" <<'PY' | tee "$OUT/summary.txt"
import json, statistics, sys
out, T, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def rate(prefix, t, b):
    per = {}
    for r in range(1, rounds + 1):
        try: rep = json.load(open(f"{out}/{prefix}_t{t}_b{b}_r{r}.json"))
        except FileNotFoundError: return None
        for v in rep["variants"]: per.setdefault(v["name"], []).append(b / v["stepSeconds"]["median"])
    return {k: statistics.median(v) for k, v in per.items()}
cpu = [l.split(":", 1)[1].strip() for l in open(f"{out}/cpu.txt") if l.startswith("Model name")][0]
print(f"{cpu}, {T} cores; median images/s over {rounds} alternating rounds")
table = {(t, b): rate("steps", t, b) for t, b in [(1, 32), (1, 256), (T, 32), (T, 256)]}
for (t, b), r in table.items():
    print(f"  threads {t:3d} batch {b:4d}: " + ", ".join(f"{k} {v:,.0f}" for k, v in r.items()))
ns = rate("nosplit", T, 32)
print(f"  threads {T:3d} batch   32, --no-split: " + ", ".join(f"{k} {v:,.0f}" for k, v in ns.items()))
base = {(t, b): rate("base", t, b) for t, b in [(1, 32), (1, 256), (T, 32), (T, 256)]}
for m in table[(1, 32)]:
    one = table[(1, 32)][m]
    split = f"pieces; {ns[m] / one:.2f}x with --no-split" if T > 4 else f"4 shards >= {T} threads: whole shards, no pieces; --no-split run {ns[m] / one:.2f}x"
    print(f"{m}: {T} threads b32 {table[(T, 32)][m] / one:.2f}x the 1-thread b32 rate ({split}); "
          f"{T} threads b256 {table[(T, 256)][m] / one:.2f}x; 1 thread b256 costs {one / table[(1, 256)][m]:.3f}x per image of b32")
    if base[(1, 32)]:
        print("  against BASE_BENCH: " + ", ".join(f"t{t} b{b} {table[(t, b)][m] / base[(t, b)][m]:.3f}x" for t, b in base))
PY
