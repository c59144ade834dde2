#!/usr/bin/env bash
# Emulated hosts on this machine: network namespaces joined by veth pairs and a bridge, each
# link shaped by tc's token bucket, so Open MPI ranks on different "hosts" talk TCP over a
# link of a chosen rate (latency is not emulated: netem is not in this kernel; the scaling
# model in docs/distributed.md takes it as a parameter).
#   scripts/netns-cluster.sh up N RATE     N hosts tc1..tcN (10.77.0.1..N), RATE like 1gbit, 10gbit
#   scripts/netns-cluster.sh run N -np P PROGRAM ARGS...   mpirun over the N hosts (P ranks, by slot)
#   scripts/netns-cluster.sh down          remove the hosts and the bridge
# Needs root, iproute2 (ip, tc) and util-linux (unshare). Each host has its own network and
# hostname (Open MPI would otherwise see one node and use shared memory); ranks use TCP only.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BRIDGE=tcbr0
PREFIX=10.77.0
command -v ip > /dev/null && command -v tc > /dev/null || { echo "netns-cluster: needs iproute2 (ip, tc)" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || { echo "netns-cluster: needs root (network namespaces)" >&2; exit 1; }

down() {
    for ns in $(ip netns list | awk '/^tc[0-9]+/ {print $1}'); do ip netns del "$ns"; done
    # a namespace lives on while a process is in it (a killed job's daemon): its links go now
    for link in $(ip -o link show | sed -n 's/^[0-9]*: \(veth[0-9]*\)@.*/\1/p'); do ip link del "$link" 2> /dev/null || true; done
    ip link del "$BRIDGE" 2> /dev/null || true
}

up() {
    local n="$1" rate="$2"
    [[ $n =~ ^[0-9]+$ ]] && (( n >= 1 && n <= 32 )) || { echo "netns-cluster: hosts must be 1...32, got $n" >&2; exit 64; }
    local burst
    burst="$(python3 -c "import re,sys; m = re.fullmatch(r'(\d+)([kmg]?)bit', sys.argv[1].lower())
if not m: sys.exit('netns-cluster: RATE must look like 1gbit or 500mbit')
bits = int(m[1]) * {'': 1, 'k': 1e3, 'm': 1e6, 'g': 1e9}[m[2]]
print(max(16, int(bits / 8 * 1e-3 / 1024)), end='kb')" "$rate")"
    down
    ip link add "$BRIDGE" type bridge
    ip addr add "$PREFIX.254/24" dev "$BRIDGE"
    ip link set "$BRIDGE" up
    for ((i = 1; i <= n; i++)); do
        local ns="tc$i"
        ip netns add "$ns"
        ip link add "veth$i" type veth peer name eth0 netns "$ns"
        ip link set "veth$i" master "$BRIDGE" up
        ip -n "$ns" addr add "$PREFIX.$i/24" dev eth0
        ip -n "$ns" link set eth0 up
        ip -n "$ns" link set lo up
        # both directions of the host's link: out of the host (eth0) and into it (veth$i); a
        # bucket of 1 ms of the rate (a smaller one lost half of a 1 Gbit/s rate to the timer's
        # granularity; a message that fits the bucket passes faster than the rate, so the model
        # takes its link figures from the ping-pong's 256 KB and 1 MB messages, not the rate)
        tc -n "$ns" qdisc add dev eth0 root tbf rate "$rate" burst "$burst" latency 50ms
        tc qdisc add dev "veth$i" root tbf rate "$rate" burst "$burst" latency 50ms
    done
    echo "netns-cluster: $n hosts tc1..tc$n ($PREFIX.1-$n), links shaped to $rate"
}

run() {
    local n="$1"; shift
    local hosts="" i
    for ((i = 1; i <= n; i++)); do hosts+="${hosts:+,}$PREFIX.$i:64"; done
    # Open MPI starts its daemon on each "host" through the agent, inside that namespace;
    # TCP only, on the bridge's network; the launching mpirun stays in the root namespace.
    local flags=(--allow-run-as-root --oversubscribe --bind-to none --host "$hosts" --map-by node
                 --mca plm_rsh_agent "$ROOT/scripts/netns-agent.sh" --mca btl tcp,self
                 --mca btl_tcp_if_include "$PREFIX.0/24" --mca oob_tcp_if_include "$PREFIX.0/24"
                 --mca odls_base_sigkill_timeout 10)
    local args=()
    while (($#)); do
        if [[ "$1" == "--tune" && $# -ge 2 ]]; then args+=("--tune=$2"); shift 2; else args+=("$1"); shift; fi
    done
    exec mpirun "${flags[@]}" "${args[@]}"
}

case "${1:-}" in
    up) up "${2:?hosts}" "${3:?rate, e.g. 1gbit}" ;;
    down) down; echo "netns-cluster: removed" ;;
    run) shift; run "$@" ;;
    *) echo "usage: $0 up N RATE | run N -np P PROGRAM ARGS... | down" >&2; exit 64 ;;
esac
