#!/usr/bin/env bash
# Install the Debian packages scpp needs to build, test and benchmark.
# Idempotent: only missing packages are installed; `apt-get update` runs once
# per invocation and only when something is missing.
set -euo pipefail

pkgs=(
	build-essential pkg-config meson ninja-build python3
	libdpdk-dev dpdk dpdk-dev librte-net-memif23 librte-net-tap23
	librte-net-af-packet23 librte-net-ring23 librte-net-null23 librte-dma-skeleton23
	libcjson-dev libcmocka-dev libsodium-dev libibverbs-dev librdmacm-dev
	libfabric-dev libfuse3-dev fuse3 libedit-dev
	clang libclang-rt-14-dev iproute2 redis-server gnuplot-nox valgrind linux-perf
	libcurl4-openssl-dev etcd-server etcd-client
)

missing=()
for p in "${pkgs[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "deps: all ${#pkgs[@]} packages present"
	exit 0
fi

SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
