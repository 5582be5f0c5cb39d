#!/usr/bin/env bash
# Network-namespace helpers for scppd (sourced by scripts/run.sh; usable by
# hand). Everything the project creates lives inside a namespace it owns,
# on 198.18.0.0/15 addresses (see docs/OPERATIONS.md "Namespaces").
#
#   source scripts/netns.sh
#   scpp_netns_create NAME          # new namespace with lo up (replaces a stale one)
#   scpp_netns_wait_iface NAME IF T # wait up to T s for interface IF to appear
#   scpp_netns_addr NAME IF ADDR    # give IF an address and bring it up
#   scpp_netns_destroy NAME         # delete the namespace (no error if absent)
#   scpp_stop_pid PID [T]           # SIGTERM, wait up to T s (10), then SIGKILL

scpp_netns_create() {
	local ns=$1
	if ip netns list | awk '{print $1}' | grep -qx "$ns"; then
		ip netns del "$ns"
	fi
	ip netns add "$ns"
	ip -n "$ns" link set lo up
}

scpp_netns_wait_iface() {
	local ns=$1 ifc=$2 t=${3:-30} i
	for ((i = 0; i < t * 10; i++)); do
		ip -n "$ns" link show "$ifc" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

scpp_netns_addr() {
	local ns=$1 ifc=$2 addr=$3
	ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$ifc.disable_ipv6=1" 2>/dev/null || true
	ip -n "$ns" addr add "$addr" dev "$ifc"
	ip -n "$ns" link set "$ifc" up
}

scpp_netns_destroy() {
	ip netns del "$1" 2>/dev/null || true
}

scpp_stop_pid() {
	local pid=$1 t=${2:-10} i
	kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < t * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	echo "pid $pid did not stop after SIGTERM; killing it" >&2
	kill -KILL "$pid" 2>/dev/null || true
}
