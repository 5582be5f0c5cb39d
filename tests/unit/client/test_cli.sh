#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# app/scpp without a daemon: the offline helpers against the worked example
# of docs/PROTOCOL.md §13, usage errors and exit codes, parse errors with a
# caret, and a refused exchange on loopback. Usage: test_cli.sh PATH/TO/scpp
set -u
SCPP=${1:?usage: test_cli.sh PATH/TO/scpp}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
unset SCPP_SERVER
fails=0
n=0

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; }

# check NAME WANT_RC CMD...: run CMD, compare its exit status.
check_rc() {
	local name=$1 want=$2
	shift 2
	"$@" >"$TMP/out" 2>"$TMP/err"
	local rc=$?
	if [ "$rc" -eq "$want" ]; then ok "$name"; else
		not_ok "$name (exit $rc, want $want)"; sed 's/^/# /' "$TMP/err"; fi
}

# expect NAME FILE: FILE (out or err) equals stdin.
expect() {
	if diff -u - "$TMP/$2" >"$TMP/diff"; then ok "$1"; else
		not_ok "$1"; sed 's/^/# /' "$TMP/diff"; fi
}

# contains NAME FILE TEXT
contains() {
	if grep -qF -- "$3" "$TMP/$2"; then ok "$1"; else
		not_ok "$1 (no '$3' in $2)"; sed 's/^/# /' "$TMP/$2"; fi
}

# A UDP port on loopback that nobody listens on (bound, noted, closed).
free_port() {
	python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null || echo 47391
}

BLOCK='get @0.1.0.1.2a name %1 ; set @0.1.0.1.2b name %1'

check_rc "encode: the worked example" 0 \
	"$SCPP" encode --client-id 0x0102030405060708 --block-id 7 "$BLOCK"
expect "encode: canonical text and the documented bytes" out <<'OUT'
get @0.1.0.1.2a name %1
set @0.1.0.1.2b name %1
return %1
# datagram 1/1: 97 bytes, client 0x0102030405060708, block 7, block message 65 bytes
53 43 01 01 01 00 41 00 08 07 06 05 04 03 02 01
07 00 00 00 00 00 00 00 00 00 00 00 01 00 00 00
00 01 01 31 01 00 02 01 00 01 07 00 00 01 00 00
00 00 00 2a 00 00 00 00 01 00 00 01 05 04 6e 61
6d 65 02 00 02 00 01 07 00 00 01 00 00 00 00 00
2b 00 00 00 00 01 00 00 01 05 04 6e 61 6d 65 02
00
OUT

grep -v '^[gsr]' "$TMP/out" >"$TMP/hex"
check_rc "decode: the encoded datagram" 0 "$SCPP" decode - <"$TMP/hex"
expect "decode: header and block text" out <<'OUT'
# datagram 1: BLOCK, 97 bytes, client 0x0102030405060708, block 7, fragment 0/1, LAST, payload 65, tag 0
get @0.1.0.1.2a name %1
set @0.1.0.1.2b name %1
return %1
OUT

REPLY='53 43 01 02 01 00 14 00 08 07 06 05 04 03 02 01
07 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
10 01 01 31 11 05 05 61 6c 69 63 65 13 00 00 01
02 b4 29 00'
check_rc "decode: the documented reply" 0 "$SCPP" decode "$REPLY"
expect "decode: reply as a table" out <<'OUT'
# datagram 1: REPLY, 52 bytes, client 0x0102030405060708, block 7, seq 0, LAST, payload 20, tag 0
1
-------
"alice"
1 row, 2 commands, ok, 5.3 µs
OUT
check_rc "decode --json: a reply message" 0 "$SCPP" --json decode '10 01 01 31 11 05 05 61 6c 69 63 65 13 00 00 01 02 b4 29 00'
expect "decode --json: one document" out <<'OUT'
{"columns":["1"],"rows":[["alice"]],"statuses":[],"end":{"errno":0,"errno_name":"OK","outcome":"ok","rows":1,"commands":2,"elapsed_ns":5300,"statuses":0}}
OUT
check_rc "decode: a block message" 0 "$SCPP" decode '00 01 01 31 01 00 01 01 00 01 07 00 00 01 00 00 00 00 00 2a 00 00 00 00 01 00 00 01 05 04 6e 61 6d 65 02 00'
expect "decode: block message text" out <<'OUT'
get @0.1.0.1.2a name %1
return %1
OUT

# A block over several datagrams, reassembled by decode, in any order.
LONG="set @0.1.0.1.2a data \"$(printf 'z%.0s' $(seq 1 300))\""
check_rc "encode: fragments" 0 "$SCPP" encode --max-dgram 64 "$LONG"
frags=$(grep -c '^# datagram' "$TMP/out")
[ "$frags" -ge 10 ] && ok "encode: $frags fragments of 64 bytes" || not_ok "encode: $frags fragments"
head -n 2 "$TMP/out" >"$TMP/text"
# Reverse the order of the datagrams (each is a '# datagram' line and its hex).
grep -v '^[gsr]' "$TMP/out" |
	awk '/^# datagram/ { n++ } { d[n] = d[n] $0 "\n" } END { for (i = n; i > 0; i--) printf "%s", d[i] }' \
	>"$TMP/hex"
check_rc "decode: reversed fragments" 0 "$SCPP" decode - <"$TMP/hex"
grep -v '^#' "$TMP/out" >"$TMP/got"
diff -q "$TMP/text" "$TMP/got" >/dev/null && ok "decode: fragments give the block back" ||
	not_ok "decode: fragments give the block back"

check_rc "decode: bad magic" 4 "$SCPP" decode '53 43 02 01'
contains "decode: says why" err "E_TRUNCATED"
check_rc "decode: not hex" 2 "$SCPP" decode 'zz'
check_rc "decode: odd digits" 2 "$SCPP" decode '531'
check_rc "decode: bad block" 4 "$SCPP" decode '00 05'
contains "decode: bad block says where" err "at byte"

# Usage and parse errors: exit 2.
check_rc "usage: no command" 2 "$SCPP"
check_rc "usage: unknown command" 2 "$SCPP" frob
check_rc "usage: --timeout 0" 2 "$SCPP" --timeout 0 exec 'get %a b %c'
check_rc "usage: exec without a block" 2 "$SCPP" exec
check_rc "usage: bad server address" 2 "$SCPP" --server '[::1' exec 'get %a b %c'
contains "usage: names the environment variable" err "SCPP_SERVER"
check_rc "--help" 0 "$SCPP" --help
contains "--help documents exit codes" out "Exit status"
check_rc "parse error: exit 2" 2 "$SCPP" exec $'get @0.1.0.1.2a name %n\nget %n x('
expect "parse error: line:col and a caret" err <<'OUT'
scpp: parse error at 2:9: expected a value term (constant or variable) after attribute, found '('
  get %n x(
          ^
OUT
printf '# first block\nget @0.1.0.1.2a name %%n\n---\n\nget %%n x(\n' >"$TMP/blocks.scpp"
PORT=$(free_port)
check_rc "-f: stops at the first exchange failure" 3 "$SCPP" -s 127.0.0.1:$PORT -f "$TMP/blocks.scpp"
printf '# first block\n---\n\nget %%n x(\n' >"$TMP/bad.scpp"
check_rc "-f: parse error" 2 "$SCPP" -f "$TMP/bad.scpp"
contains "-f: file line numbers" err "bad.scpp:4:9:"

# Nothing listens: ICMP port unreachable on loopback, reported at once.
check_rc "exec: refused" 3 "$SCPP" -s 127.0.0.1:$PORT exec 'get @0.1.0.1.2a name %n'
contains "exec: refused message" err "refused the block (ICMP port unreachable)"
SCPP_SERVER=127.0.0.1:$PORT check_rc "SCPP_SERVER is read" 3 "$SCPP" exec 'get @0.1.0.1.2a name %n'
contains "SCPP_SERVER: names the address" err "127.0.0.1:$PORT"

# The shell reads plain lines when stdin is not a terminal.
printf '\\json\n\\table\n\\bogus\n\\q\nget %%never x y\n' >"$TMP/in"
check_rc "shell: commands, quit" 0 "$SCPP" -s 127.0.0.1:$PORT shell <"$TMP/in"
contains "shell: unknown command" err 'unknown command \bogus'
printf 'get @0.1.0.1.2a name %%n\n' >"$TMP/in"
check_rc "shell: end of input sends the block" 3 "$SCPP" -s 127.0.0.1:$PORT shell <"$TMP/in"
printf 'get @0.1.0.1.2a name %%n\n  get %%n x(\n\n' >"$TMP/in"
check_rc "shell: multi-line block, parse error" 2 "$SCPP" -s 127.0.0.1:$PORT shell <"$TMP/in"
contains "shell: error on the block's second line" err "at 2:"

echo "1..$n"
[ "$fails" -eq 0 ]
