#!/usr/bin/env bash
# Makes (once) and fills a Python venv .build-venv-NAME for the checks; prints its python.
#   PY="$(scripts/venv.sh NAME PACKAGE...)"
# torch: the CPU-only wheel from the machine's local wheel folder (/opt/wheels) when it has
# one, else PyPI's torch (larger: it brings CUDA libraries the checks do not use).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NAME="$1"; shift
VENV="$ROOT/.build-venv-$NAME"
[[ -x "$VENV/bin/python" ]] || python3 -m venv "$VENV" >&2
packages=()
for p in "$@"; do
    if [[ $p == torch ]] && ! "$VENV/bin/python" -c 'import torch' 2>/dev/null; then
        wheel="$(ls /opt/wheels/torch-*+cpu-*.whl 2>/dev/null | sort -V | tail -1 || true)"
        packages+=("${wheel:-torch}")
    elif [[ $p != torch ]]; then
        packages+=("$p")
    fi
done
(( ${#packages[@]} == 0 )) || "$VENV/bin/pip" install -q --disable-pip-version-check "${packages[@]}" >&2
echo "$VENV/bin/python"
