#!/usr/bin/env bash
# Open MPI's "ssh" for scripts/netns-cluster.sh: `netns-agent.sh [ssh options] HOST COMMAND...`
# runs COMMAND inside the namespace of HOST (10.77.0.I -> tcI), with its own hostname hostI,
# in the caller's working directory.
set -euo pipefail
while [[ "${1:-}" == -* ]]; do  # ssh-style options Open MPI may pass (-x, -o Opt=val, ...)
    case "$1" in -o|-l|-p|-i) shift 2 ;; *) shift ;; esac
done
host="$1"; shift
i="${host##*.}"
[[ $i =~ ^[0-9]+$ ]] || { echo "netns-agent: unknown host $host" >&2; exit 1; }
# Open MPI hands the remote command as one shell string
exec ip netns exec "tc$i" unshare --uts sh -c "hostname host$i; cd '$PWD'; $*"
