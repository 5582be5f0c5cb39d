#!/usr/bin/env bash
# Reserve 2 MiB hugepages and mount hugetlbfs when this machine allows it.
# Prints one line saying what it did; never fails: programs fall back to
# EAL --no-huge when no hugepages are free (see docs/OPERATIONS.md).
#   scripts/hugepages.sh [PAGES]   (default 2048 = 4 GiB)
set -u
want=${1:-2048}
sysctl=/proc/sys/vm/nr_hugepages
mnt=/dev/hugepages

if [ "$(id -u)" -ne 0 ] || [ ! -w "$sysctl" ]; then
	echo "hugepages: not root or $sysctl not writable; programs will use --no-huge"
	exit 0
fi
have=$(cat "$sysctl")
if [ "$have" -lt "$want" ]; then
	echo "$want" > "$sysctl" 2>/dev/null || true
	have=$(cat "$sysctl")
fi
mkdir -p "$mnt"
if ! mountpoint -q "$mnt"; then
	mount -t hugetlbfs nodev "$mnt" 2>/dev/null || {
		echo "hugepages: cannot mount hugetlbfs on $mnt; programs will use --no-huge"
		exit 0
	}
fi
free=$(awk '/HugePages_Free/ {print $2}' /proc/meminfo)
echo "hugepages: $have reserved, $free free, hugetlbfs on $mnt"
