#!/usr/bin/env bash
# The cluster demo: etcd and three scppd nodes in one network namespace
# joined by a bridge, `scpp cluster` on each node, a block sent to the wrong
# node, the path walk /a/b/c/d over three nodes as one block (continuations),
# the cluster-wide query (every node's users of uid 1000u in one block),
# a node killed and seen unreachable on the others, the walk then naming it. docs/CLUSTER.md
# explains what is shown; docs/OPERATIONS.md how to run a cluster by hand.
#
#   scripts/cluster-demo.sh [--wait]    --wait: keep it up until Ctrl-C
#
# Network layout (tests/integration/cluster/harness.py builds it):
#   namespace scppc-<tag>
#     br0            198.18.0.1/24   clients, etcd (http://198.18.0.1:2379)
#     node 1, 2, 3   198.18.0.11..13 (net_tap ports enslaved to br0), UDP 7300
# Bounded: every wait has a deadline, and the harness ends etcd and the
# nodes by PID and removes the namespace however the demo ends.
set -euo pipefail
cd "$(dirname "$0")/.."

case "${1:-}" in
--wait | "") ;;
*) echo "usage: scripts/cluster-demo.sh [--wait]" >&2; exit 2 ;;
esac
if [ "$(id -u)" -ne 0 ]; then
	echo "cluster-demo.sh: needs root (network namespaces, tap devices)" >&2
	exit 1
fi

echo "== dependencies, build"
scripts/deps.sh
scripts/build.sh build >/dev/null

export SCPPD=$PWD/build/app/scppd/scppd
export SCPPD_DRIVE=$PWD/build/tests/integration/scppd_drive
export SCPP_CLI=$PWD/build/app/scpp/scpp
export SCPP_SOURCE_ROOT=$PWD
# The demo runs for about half a minute; the bound is a backstop.
exec timeout --foreground -s INT "${SCPP_DEMO_TIMEOUT:-600}" \
	python3 tests/integration/cluster/demo.py "$@"
