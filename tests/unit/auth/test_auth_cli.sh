#!/usr/bin/env bash
# Test of `scpp key` and `scpp grant` (app/scpp/auth_cli.c): files, modes,
# round trips through `grant show --json`, every refusal with its exit code
# and message. Offline: no daemon, no network.
#   tests/unit/auth/test_auth_cli.sh path/to/scpp
set -uo pipefail
scpp=$(realpath "$1")
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd "$dir" || exit 1
fails=0
n=0

ok() { n=$((n + 1)); echo "ok $n - $1"; }
bad() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; }

# expect CODE PATTERN DESCRIPTION -- command...: exit code and a stderr/stdout match
expect() {
	local code=$1 pat=$2 what=$3
	shift 4
	local out rc
	out=$("$@" 2>&1)
	rc=$?
	if [ "$rc" -ne "$code" ]; then
		bad "$what: exit $rc, want $code: $out"
	elif ! grep -qE -- "$pat" <<<"$out"; then
		bad "$what: output lacks /$pat/: $out"
	else
		ok "$what"
	fi
}

json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# Keys: files and modes.
expect 0 "public key: root.key.pub" "key gen writes a pair" -- "$scpp" key gen -o root.key --comment "node 1 root"
"$scpp" key gen -o alice.key >/dev/null && "$scpp" key gen -o bob.key >/dev/null
[ "$(stat -c %a root.key)" = 600 ] && ok "secret key mode 0600" || bad "secret key mode $(stat -c %a root.key)"
[ "$(stat -c %a root.key.pub)" = 644 ] && ok "public key mode 0644" || bad "public key mode"
expect 2 "exists; --force replaces it" "key gen never overwrites silently" -- "$scpp" key gen -o root.key
root_pk=$(head -3 root.key.pub | sed -n 's/^public //p')
[ "$("$scpp" key show root.key | cut -d' ' -f1)" = "$root_pk" ] && ok "key show prints the public key" || bad "key show"
[ "$("$scpp" key show root.key.pub --json | json "d['comment']")" = "node 1 root" ] && ok "key show --json" || bad "key show --json"
SCPP_KEY=$dir/sub/dir/k expect 0 "secret key: $dir/sub/dir/k" "key gen default path from SCPP_KEY" -- "$scpp" key gen
[ "$(stat -c %a "$dir/sub/dir")" = 700 ] && ok "default key directory is private" || bad "default key dir mode"
chmod 644 alice.key
expect 4 "readable by group or others: chmod 600" "a readable secret key is refused" -- "$scpp" grant issue --key alice.key --to bob.key.pub --scope all --ops get --expires +1d -o x
chmod 600 alice.key
sed "s/^seed .*/$(grep '^seed' alice.key)/" bob.key > edited.key && chmod 600 edited.key
expect 4 "edited.key:3: key file public key does not match its seed" "a key whose seed and public key disagree is refused" -- "$scpp" key show edited.key

# Issue a chain: root -> alice -> bob.
expect 0 "" "root grants alice" -- "$scpp" grant issue --key root.key --to alice.key.pub --scope @0.1.0.0.0/48 --ops get,set,del --attrs size,name,mode --depth 1 --expires 2030-01-01T00:00:00Z -o alice.grant
expect 0 "" "alice delegates to bob" -- "$scpp" grant issue --key alice.key --parent alice.grant --to bob.key.pub --scope @0.1.2.0.0/64 --ops get --attrs name --expires +1d -o bob.grant
expect 0 "verification: ok" "bob's chain verifies against the root" -- "$scpp" grant show bob.grant --root root.key.pub
out=$("$scpp" grant show bob.grant --json --root root.key.pub)
[ "$(json "len(d['links'])" <<<"$out")" = 2 ] && ok "json: two links" || bad "json links: $out"
[ "$(json "d['links'][0]['attributes']" <<<"$out")" = "['mode', 'name', 'size']" ] && ok "json: attributes sorted" || bad "json attrs: $out"
[ "$(json "d['links'][0]['expires']" <<<"$out")" = "2030-01-01T00:00:00Z" ] && ok "json: absolute expiry" || bad "json expiry"
[ "$(json "d['links'][1]['operations']" <<<"$out")" = "['get']" ] && ok "json: operations" || bad "json ops"
[ "$(json "d['verified']" <<<"$out")" = True ] && ok "json: verified" || bad "json verified: $out"
bob_pk=$(sed -n 's/^public //p' bob.key.pub)
[ "$(json "d['principal']" <<<"$out")" = "$bob_pk" ] && ok "json: principal is bob" || bad "json principal"
expect 1 "FAILED at link 0: .*E_AUTH_UNTRUSTED_ROOT" "another root does not verify it" -- "$scpp" grant show bob.grant --root alice.key.pub
expect 0 "not checked" "without --root nothing is claimed" -- "$scpp" grant show bob.grant

# Attenuation is enforced at issue time, with the node's words.
expect 1 "E_AUTH_WIDENED_SCOPE.*not within the parent's @0.1.0.0.0/48" "wider scope refused" -- "$scpp" grant issue --key alice.key --parent alice.grant --to bob.key.pub --scope @0.2.0.0.0/48 --ops get --attrs name --expires +1d -o x
expect 1 "E_AUTH_WIDENED_OPS.*get,schema are not within the parent's get,set,del" "wider operations refused" -- "$scpp" grant issue --key alice.key --parent alice.grant --to bob.key.pub --scope @0.1.2.0.0/64 --ops get,schema --attrs name --expires +1d -o x
expect 1 "E_AUTH_WIDENED_ATTRS" "wider attributes refused" -- "$scpp" grant issue --key alice.key --parent alice.grant --to bob.key.pub --scope @0.1.2.0.0/64 --ops get --attrs name,uid --expires +1d -o x
expect 1 "E_AUTH_WIDENED_EXPIRY.*after the parent's 2030-01-01T00:00:00Z" "later expiry refused" -- "$scpp" grant issue --key alice.key --parent alice.grant --to bob.key.pub --scope @0.1.2.0.0/64 --ops get --attrs name --expires 2031-01-01T00:00:00Z -o x
expect 1 "E_AUTH_WIDENED_DEPTH.*depth must be below 1" "deeper delegation refused" -- "$scpp" grant issue --key alice.key --parent alice.grant --to bob.key.pub --scope @0.1.2.0.0/64 --ops get --attrs name --depth 1 --expires +1d -o x
expect 1 "E_AUTH_BROKEN_LINK.*--key must be the parent's subject" "wrong issuer refused" -- "$scpp" grant issue --key bob.key --parent alice.grant --to bob.key.pub --scope @0.1.2.0.0/64 --ops get --attrs name --expires +1d -o x
expect 1 "E_AUTH_WIDENED_DEPTH" "bob may not delegate further" -- "$scpp" grant issue --key bob.key --parent bob.grant --to alice.key.pub --scope @0.1.2.0.0/64 --ops get --attrs name --expires +1h -o x
[ ! -e x ] && ok "refused grants write nothing" || bad "a refused grant wrote x"

# Usage errors.
expect 2 "needs --to, --scope, --ops, --expires and -o" "missing options" -- "$scpp" grant issue --to bob.key.pub
expect 2 "neither 64 hex digits nor a key file" "bad --to" -- "$scpp" grant issue --to nothex --scope all --ops get --expires +1d -o x
expect 2 "no bits set past BITS" "non-canonical prefix" -- "$scpp" grant issue --to bob.key.pub --scope @0.1.0.0.0/12 --ops get --expires +1d -o x
expect 2 "unknown operation in 'gett'" "unknown operation" -- "$scpp" grant issue --to bob.key.pub --scope all --ops gett --expires +1d -o x
expect 2 "got 'tomorrow'" "bad time" -- "$scpp" grant issue --to bob.key.pub --scope all --ops get --expires tomorrow -o x
expect 2 "given twice" "duplicate attribute" -- "$scpp" grant issue --to bob.key.pub --scope all --ops get --attrs a,b,a --expires +1d -o x
expect 2 "--depth wants 0..7" "bad depth" -- "$scpp" grant issue --to bob.key.pub --scope all --ops get --depth 8 --expires +1d -o x
expect 2 "exists" "no silent overwrite" -- "$scpp" grant issue --key root.key --to bob.key.pub --scope all --ops get --expires +1d -o bob.grant
expect 2 "unknown command 'grant frob'" "unknown subcommand" -- "$scpp" grant frob
expect 0 "scpp grant issue --to KEY" "grant --help" -- "$scpp" grant --help
expect 2 "scpp key gen" "usage on stderr without a subcommand" -- "$scpp" key

# Malformed files: code and offset.
head -c 100 bob.grant > trunc.grant
expect 4 "E_TRUNCATED.*at byte 100" "a truncated chain names the offset" -- "$scpp" grant show trunc.grant
printf 'SN\001\011' > long.grant
expect 4 "E_TOO_MANY.*at byte 3" "a chain over 8 links is refused" -- "$scpp" grant show long.grant
expect 4 "cannot read" "a missing file" -- "$scpp" grant show nope.grant

# An expired grant shows as such and does not verify.
"$scpp" grant issue --key root.key --to alice.key.pub --scope all --ops get --expires @1 -o old.grant >/dev/null 2>&1
expect 1 "expired.*E_AUTH_EXPIRED" "expired grant" -- "$scpp" grant show old.grant --root root.key.pub

echo "1..$n"
[ "$fails" -eq 0 ]
