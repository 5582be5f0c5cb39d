#!/usr/bin/env bash
# Build the libFuzzer targets with clang + ASan/UBSan and run each for
# SECONDS (default 60). New inputs go to a scratch corpus, not the repo:
# promote interesting ones to tests/fuzz/<target>/corpus by hand.
#   scripts/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
dir=build-fuzz
if [ ! -f "$dir/build.ninja" ]; then
	CC=clang meson setup "$dir" -Dfuzz=true -Db_sanitize=address,undefined \
		-Db_lundef=false -Dtests=disabled >/dev/null
fi
ninja -C "$dir"
rc=0
for t in tests/fuzz/*/; do
	name=$(basename "$t")
	bin=$dir/tests/fuzz_$name
	[ -x "$bin" ] || continue
	scratch=$(mktemp -d)
	echo "fuzz: $name for ${secs}s"
	"$bin" -max_total_time="$secs" -max_len=4096 -print_final_stats=1 \
		"$scratch" "$t/corpus" 2>&1 | tail -n 12 || rc=1
	rm -rf "$scratch"
done
# Targets that live beside their driver's suite: name, binary, corpus.
for spec in "copy_window $dir/tests/unit/copy/fuzz_copy_window tests/unit/copy/corpus"; do
	read -r name bin corpus <<<"$spec"
	[ -x "$bin" ] || continue
	scratch=$(mktemp -d)
	echo "fuzz: $name for ${secs}s"
	"$bin" -max_total_time="$secs" -max_len=4096 -print_final_stats=1 \
		"$scratch" "$corpus" 2>&1 | tail -n 12 || rc=1
	rm -rf "$scratch"
done
exit $rc
