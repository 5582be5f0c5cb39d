#!/usr/bin/env bash
# The README's test command (make test) and CI's (.ci/run): install what is
# missing, build, and run every test suite in two builds:
#   build       -O2, -Werror: unit, fuzz-corpus and integration suites
#   build-asan  ASan + UBSan: the same suites again, so memory errors fail CI,
#               plus those that need fault injection (-Dtest_faults=true)
# Ends with one summary line "tests: N passed, N failed, N skipped".
# A skipped test is a test that did not run: under CI=true (which .ci/run
# sets) any skipped integration test fails the run, so a machine that
# cannot run them (no root, no namespaces) cannot pass silently.
set -uo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh || exit 1
scripts/hugepages.sh

total_ok=0
total_fail=0
total_skip=0
status=0

run_suites() {
	local dir=$1
	shift
	scripts/build.sh "$dir" "$@" || { echo "build of $dir failed"; status=1; return; }
	local log="$dir/meson-logs/testlog.txt"
	meson test -C "$dir" --no-suite perf --print-errorlogs --num-processes 2 \
		| tee "$dir/test-summary.txt"
	local rc=${PIPESTATUS[0]}
	local ok fail skip iskip
	ok=$(awk '/^Ok:/ {print $2}' "$dir/test-summary.txt")
	fail=$(awk '/^Fail:/ {print $2}' "$dir/test-summary.txt")
	skip=$(awk '/^Skipped:/ {print $2}' "$dir/test-summary.txt")
	iskip=$(grep -cE '^ *[0-9]+/[0-9]+ .*integration\..* SKIP' "$dir/test-summary.txt")
	total_ok=$((total_ok + ${ok:-0}))
	total_fail=$((total_fail + ${fail:-0}))
	total_skip=$((total_skip + ${skip:-0}))
	[ "$rc" -eq 0 ] || status=1
	echo "$dir: ${ok:-0} passed, ${fail:-0} failed, ${skip:-0} skipped (${iskip} of them integration tests)"
	if [ "${CI:-}" = "true" ] && [ "${iskip:-0}" -ne 0 ]; then
		echo "$dir: $iskip integration tests skipped under CI=true: failing"
		status=1
	fi
	[ -f "$log" ] || true
}

run_suites build
# ASan needs the unsanitised libc allocator left alone by DPDK's own; detect
# leaks in our code but not in DPDK's EAL, which keeps memory until exit.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# The ASan build is a test build: it has the fault injection that
# integration.copy_stall needs (-Dtest_faults, docs/COPY.md "Stuck copies").
run_suites build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug -Ddebug_asserts=true \
	-Dtest_faults=true

echo
echo "tests: $total_ok passed, $total_fail failed, $total_skip skipped"
exit $status
