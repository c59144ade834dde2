#!/usr/bin/env bash
# mpirun for TinyConv on one machine or a cluster: adds what Open MPI needs here.
#   scripts/mpirun.sh -np 2 .build/release/train --threads 1 ...
# As root, Open MPI refuses to start without --allow-run-as-root; with more ranks than cores
# it needs --oversubscribe; ranks are not pinned (each runs its own worker threads); the
# shared-memory transport copies through a buffer (containers forbid the cross-process
# memory access its single-copy mode uses).
# Open MPI scans the whole command line for its own `--tune FILE` (MCA parameter files), the
# program's arguments included, so TinyConv's `--tune MODE` is passed on as `--tune=MODE`.
# On Ctrl-C mpirun sends the ranks SIGTERM, then SIGKILL after odls_base_sigkill_timeout
# seconds (default 1): 10 gives ranks busy in an end-of-epoch evaluation time to stop there
# and write the checkpoint of their last step (docs/distributed.md). mpirun itself runs under
# scripts/mpirun-signals.py, which holds this script's pid: SIGINT, SIGTERM or SIGHUP sent to
# that pid alone reach this host's ranks at once (mpirun alone ignored a background job's
# SIGINT, or passed it on many seconds late).
set -euo pipefail
flags=(--oversubscribe --bind-to none --mca btl_vader_single_copy_mechanism none --mca odls_base_sigkill_timeout 10)
[[ $(id -u) -eq 0 ]] && flags+=(--allow-run-as-root)
args=()
while (($#)); do
    if [[ "$1" == "--tune" && $# -ge 2 ]]; then args+=("--tune=$2"); shift 2; else args+=("$1"); shift; fi
done
exec python3 "$(dirname "${BASH_SOURCE[0]}")/mpirun-signals.py" mpirun "${flags[@]}" "${args[@]}"
