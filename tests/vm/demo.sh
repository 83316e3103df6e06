#!/usr/bin/env bash
#
# make demo: runs inside the two-tier guest (tests/vm/run-guest.sh).
#
# A stand-in until the tiering demo workload is written: it shows the machine
# the demo will run on and checks that a program runs under the library.
set -euo pipefail

readonly LIB=$PWD/build/libtiermalloc.so

echo "tiermalloc demo guest, ${TM_VM_MODE:-unknown} mode"
echo
numactl -H
echo
echo "kernel memory tiers (lower number = faster tier):"
for tier in /sys/devices/virtual/memory_tiering/memory_tier*; do
	echo "  $(basename "$tier"): nodes $(cat "$tier/nodelist")"
done
echo
echo "NUMA nodes as hwloc sees them:"
lstopo-no-graphics -p --no-io | grep NUMANode
echo

if [[ -f $LIB ]]; then
	# sort with a 64 MiB buffer: a short, allocation-heavy program.
	echo "sorting 200000 numbers with LD_PRELOAD=build/libtiermalloc.so:"
	seq 200000 -1 1 | LD_PRELOAD=$LIB sort -n -S 64M | tail -n1 | sed 's/^/  largest: /'
else
	echo "build/libtiermalloc.so is not built, so no program ran under it."
fi
echo
echo "This is the machine only: the tiering demo workload (hot and cold data,"
echo "reported as the share of accesses served from node 0) is not written yet."
