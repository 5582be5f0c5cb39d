#!/usr/bin/env bash
# Configure (once) and build a meson build directory.
#   scripts/build.sh DIR [meson options...]
# Warnings are errors in every build the scripts make: a warning that lands
# on main would break CI for everyone after.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$1
shift
if [ ! -f "$dir/build.ninja" ]; then
	meson setup "$dir" -Dwerror=true "$@" >/dev/null
else
	# New modules and tests are found by file existence at configure time.
	meson setup --reconfigure "$dir" -Dwerror=true "$@" >/dev/null
fi
ninja -C "$dir"
