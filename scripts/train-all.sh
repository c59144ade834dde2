#!/usr/bin/env bash
# Trains the report's four models for 10 epochs at seeds 1 and 2 (or $SEEDS) each (the runs behind
# docs/training.md), writing runs/<model>-seed<N>.json. Usage: scripts/train-all.sh [train binary]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BIN="${1:-}"
if [[ -z "$BIN" ]]; then
    "$ROOT/scripts/setup.sh"
    swift build -c release --product train
    BIN=.build/release/train
fi
mkdir -p runs
for seed in ${SEEDS:-1 2}; do
    for model in lenet5 regularized-lenet5 custom custom-1x1-then-pool; do
        echo "== $model seed $seed"
        "$BIN" --model "$model" --seed "$seed" --epochs 10 --json "runs/$model-seed$seed.json" | tail -13
    done
done
