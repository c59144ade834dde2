#!/usr/bin/env bash
# The main job: set up a fresh machine (packages, MNIST), build in release mode and
# train LeNet-5 on MNIST with the report's defaults. Extra flags go to `train`,
# e.g. scripts/train.sh --model custom --epochs 3
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
"$ROOT/scripts/setup.sh"
swift build -c release --product train
exec .build/release/train --data "${TINYCONV_DATA:-$ROOT/data/mnist}" "$@"
