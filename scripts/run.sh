#!/usr/bin/env bash
# The README's run command (make run): install what is missing, build,
# reserve hugepages, start scppd on its built-in default configuration in a
# private network namespace, show a short client session, then keep the
# appliance running until Ctrl-C (or stop at once with --demo-only).
#
#   scripts/run.sh [--demo-only]
#
# Network layout (config/default.json):
#   namespace scpp-demo
#     scpp0 (tap, kernel side)  198.18.0.1/24   <- clients (scpp CLI) run here
#     scppd's net_tap0 port     198.18.0.2/24   UDP 7300 (any shard), 7301 (shard 0)
# Nothing is created outside the namespace; the trap removes the namespace
# and stops scppd (by PID) however the script ends.
set -euo pipefail
cd "$(dirname "$0")/.."

demo_only=0
case "${1:-}" in
--demo-only) demo_only=1 ;;
"") ;;
*) echo "usage: scripts/run.sh [--demo-only]" >&2; exit 2 ;;
esac

if [ "$(id -u)" -ne 0 ]; then
	echo "run.sh: needs root (hugepages, network namespaces, tap devices)" >&2
	exit 1
fi

. scripts/netns.sh
NS=scpp-demo
IFACE=scpp0
SERVER=198.18.0.2:7300
LOG=build/scppd-demo.log
PID=

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [ -n "$PID" ]; then
		echo
		echo "== stopping scppd (pid $PID)"
		scpp_stop_pid "$PID" 10
		wait "$PID" 2>/dev/null || true
		tail -n 3 "$LOG" 2>/dev/null | sed 's/^/   /'
	fi
	scpp_netns_destroy "$NS"
	rm -rf /var/run/dpdk/scppd
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== dependencies, build, hugepages"
scripts/deps.sh
scripts/build.sh build >/dev/null
scripts/hugepages.sh

SCPPD=build/app/scppd/scppd
if [ -x build/app/scpp/scpp ]; then
	CLI=(build/app/scpp/scpp --server "$SERVER" exec)
	CLI_JSON=(build/app/scpp/scpp --server "$SERVER" --json exec)
	cli_name="build/app/scpp/scpp --server $SERVER"
else
	# The CLI is not built on this tree yet: the integration-test driver
	# speaks the same protocol (JSON output only).
	drive=build/tests/integration/scppd_drive
	CLI=("$drive" exec 198.18.0.2 7300)
	CLI_JSON=("${CLI[@]}")
	cli_name="$drive exec 198.18.0.2 7300"
fi

echo "== network namespace $NS"
scpp_netns_create "$NS"

echo "== starting scppd (built-in default config; log in $LOG)"
ip netns exec "$NS" "$SCPPD" >"$LOG" 2>&1 &
PID=$!
for _ in $(seq 1 300); do
	grep -q "ready:" "$LOG" && break
	kill -0 "$PID" 2>/dev/null || { cat "$LOG"; echo "scppd failed to start"; exit 1; }
	sleep 0.1
done
grep -q "ready:" "$LOG" || { cat "$LOG"; echo "scppd not ready after 30 s"; exit 1; }
grep -E "^scppd: (EAL arguments|scppd |port |shard |ready)" "$LOG" | sed 's/^/   /'
scpp_netns_wait_iface "$NS" "$IFACE" 10
scpp_netns_addr "$NS" "$IFACE" 198.18.0.1/24

# Run one block, echoing the command the way a person would type it.
run() {
	echo
	echo "\$ scpp exec '$1'"
	ip netns exec "$NS" "${CLI[@]}" "$1" || true
}
# Run one block and print the first cell of its first row (an OID).
first_oid() {
	ip netns exec "$NS" "${CLI_JSON[@]}" "$1" |
		python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["rows"][0][0])'
}

echo
echo "== a short session (client in namespace $NS, appliance at $SERVER)"
echo
echo "# Create a directory tree /etc/passwd and a user in one block; objects are"
echo "# validated against schema/posix.json when the block ends."
BUILD='create %root Directory ; set %root ino 2u ; set %root dev 1u ; set %root mode 16877u ; set %root uid 0u ; set %root gid 0u
create %etc Directory ; set %etc ino 3u ; set %etc dev 1u ; set %etc mode 16877u ; set %etc uid 0u ; set %etc gid 0u
create %passwd File ; set %passwd ino 4u ; set %passwd dev 1u ; set %passwd mode 33188u ; set %passwd uid 0u ; set %passwd gid 0u ; set %passwd size 1234u
set %root entries["etc"] %etc ; set %etc entries["passwd"] %passwd
create %alice User ; set %alice uid 1000u ; set %alice name "alice" ; set %alice gid 1000u
return %root %passwd %alice'
run "$BUILD"
ROOT=$(first_oid 'get %d entries["etc"] %e ; return %d') || ROOT='@0.1.0.1.1'

echo
echo "# Resolve the path /etc/passwd from the root directory in one round trip."
run "get $ROOT entries[\"etc\"] %etc ; get %etc entries[\"passwd\"] %file ; get %file size %size ; return %file %size"

echo
echo "# The schema is data: ask which attributes a User has, and which are required."
run 'get %t name "User" ; get %t attributes[%attr] %decl ; get %decl required %req ; return %attr %req'

echo
echo "# Errors are status objects: a uid must be a u64, so the block is aborted"
echo "# and nothing of it is applied."
run 'create %u User ; set %u uid "bob" ; set %u name "bob" ; set %u gid 5u'

echo
echo "# An entity of another node: the appliance says where it lives (E_NOT_HERE)."
run 'get @0.2.0.1.1 name %n'

echo
echo "== telemetry: dpdk-telemetry.py -f scppd  (then /scpp/stats, /scpp/shards, /scpp/health)"
python3 - <<'PY' || true
import json, socket
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.settimeout(3)
s.connect("/var/run/dpdk/scppd/dpdk_telemetry.v2")
s.recv(4096)
s.send(b"/scpp/health")
print("   /scpp/health", json.loads(s.recv(65536))["/scpp/health"])
PY

cat <<EOF

== send your own blocks (docs/LANGUAGE.md, docs/OPERATIONS.md)
   ip netns exec $NS $cli_name exec 'get $ROOT entries[%name] %e'
   ip netns exec $NS ${cli_name} shell
   (port 7300 reaches any shard; 7301 is shard 0's own port)
EOF

if [ "$demo_only" -eq 1 ]; then
	exit 0
fi
echo
echo "scppd is running (pid $PID); press Ctrl-C to stop it and remove the namespace."
wait "$PID"
