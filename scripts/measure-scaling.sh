#!/usr/bin/env bash
# Data-parallel scaling, measured (docs/distributed.md): step and exchange times of LeNet-5 and
# Custom at P = 2 and 4 ranks (1 thread each), batch 32, 128 and 1,024, both exchanges, over
# shared memory (one host) and over emulated hosts linked by TCP shaped to 1 and 10 Gbit/s
# (scripts/netns-cluster.sh); plus each transport's latency and bandwidth (scripts/mpi-pingpong.c)
# and the one-process compute per shard that the model starts from.
#   scripts/measure-scaling.sh [OUT_DIR]     (default profiles/scaling_<cpu>; needs root for the hosts)
# Then: python3 scripts/scaling-model.py OUT_DIR   (model vs runs, projection, SVG)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
CPU="$(lscpu | sed -n 's/^Model name: *//p' | head -1)"
TAG="$(tr 'A-Z ' 'a-z-' <<< "$CPU" | tr -cd 'a-z0-9-' | cut -c1-24)"
OUT="${1:-profiles/scaling_$TAG}"
mkdir -p "$OUT"
swift build -c release --product bench 2>&1 | tail -1
BENCH="$ROOT/.build/release/bench"
PINGPONG="$(mktemp -d)/pingpong"
mpicc -O2 -o "$PINGPONG" scripts/mpi-pingpong.c
trap 'scripts/netns-cluster.sh down > /dev/null 2>&1 || true' EXIT
MODELS=(lenet5 custom); BATCHES=(32 128 1024); RANKS=(2 4); EXCHANGES=(tree gather)
TRANSPORTS=(${TRANSPORTS:-shm 1gbit 10gbit})  # a subset appends to runs.jsonl (set RESUME=1), else it starts over
RUNS="$OUT/runs.jsonl"; [[ ${RESUME:-0} == 1 ]] || : > "$RUNS"
echo "{\"cpu\": \"$CPU\", \"cores\": $(nproc), \"date\": \"$(date -u +%FT%TZ)\"}" > "$OUT/machine.json"

# The one-process figures the model starts from: 1 thread, batch 32 (4 shards), per layer.
for m in "${MODELS[@]}"; do
    [[ ${RESUME:-0} == 1 && -f "$OUT/one-process_$m.json" ]] && continue
    "$BENCH" --model $m --threads 1 --batch-size 32 --repeats 6 --steps 10 --warmup 3 --tune off --json "$OUT/one-process_$m.json" > /dev/null
done

launch() {  # transport, ranks, program...
    local transport="$1" p="$2"; shift 2
    if [[ $transport == shm ]]; then "$ROOT/scripts/mpirun.sh" -np "$p" "$@"
    else "$ROOT/scripts/netns-cluster.sh" run "$p" -np "$p" "$@"; fi
}

for transport in "${TRANSPORTS[@]}"; do
    [[ $transport == shm ]] || scripts/netns-cluster.sh up 4 "$transport" > /dev/null
    (cd /tmp && launch "$transport" 2 "$PINGPONG") > "$OUT/link_$transport.json"
    echo "link $transport: $(cat "$OUT/link_$transport.json")"
    for p in "${RANKS[@]}"; do
        for m in "${MODELS[@]}"; do
            for b in "${BATCHES[@]}"; do
                for e in "${EXCHANGES[@]}"; do
                    steps=$(( b >= 1024 ? 1 : 3 ))
                    json="$OUT/run_${transport}_p${p}_${m}_b${b}_${e}.json"
                    launch "$transport" "$p" "$BENCH" --model $m --threads 1 --batch-size $b --repeats 6 --steps $steps \
                        --warmup 1 --tune off --exchange $e --json "$json" > /dev/null 2> "$OUT/ranks.log"
                    python3 - "$json" "$OUT/ranks.log" "$transport" "$p" "$m" "$b" "$e" >> "$RUNS" <<'PY'
import json, re, sys
path, log, transport, p, m, b, e = sys.argv[1:]
r = json.load(open(path)); v = r["variants"][0]
ranks = []
for line in open(log):
    x = re.search(r"rank (\d+) of \d+, \S+: compute ([\d.]+) ms CPU per step \((\d+) of (\d+) shards\), exchange ([\d.]+) ms per step, (\d+) bytes", line)
    if x:
        ranks.append({"rank": int(x[1]), "computeMs": float(x[2]), "shards": int(x[3]), "exchangeMs": float(x[5]), "bytes": int(x[6])})
print(json.dumps({"transport": transport, "ranks": int(p), "model": m, "batch": int(b), "exchange": e,
                  "stepSeconds": v["stepSeconds"]["median"], "stepSamples": v["stepSeconds"]["samples"],
                  "parameters": v["parameters"], "perRank": sorted(ranks, key=lambda x: x["rank"])}))
PY
                    tail -1 "$RUNS" | python3 -c "import json,sys; r=json.loads(sys.stdin.read()); print(f\"{r['transport']:6s} P={r['ranks']} {r['model']:7s} batch {r['batch']:5d} {r['exchange']:6s}: step {r['stepSeconds']*1e3:8.2f} ms, rank 0 exchange {r['perRank'][0]['exchangeMs'] if r['perRank'] else float('nan'):7.2f} ms\")"
                done
            done
        done
    done
done
echo "written: $RUNS (python3 scripts/scaling-model.py $OUT)"
