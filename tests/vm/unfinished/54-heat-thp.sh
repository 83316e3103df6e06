#!/bin/bash
# Transparent huge pages "always" (Debian's and RHEL's default; the other
# guest tests run at madvise): GUPS over 256 MiB of 256 KiB chunks, a 32 MiB
# hot set taking 90% of the updates, DRAM quota 64 MiB. The heap is mostly
# 2 MiB huge pages, which move_pages moves whole: the heat policy must plan
# and count them as such. Fails unless the table's memory on node 0 stays
# within 2% of the quota in every interval and the share of accesses on
# node 0 reaches 0.9 of the oracle's within 16 periods.
# vm-timeout: 120
set -u
[[ -x build/bench/gups/gups ]] || { echo "build/bench/gups/gups is not built"; exit 1; }
echo always >/sys/kernel/mm/transparent_hugepage/enabled
QUOTA=64
out=$(env TIERMALLOC_DRAM_LIMIT=${QUOTA}M TIERMALLOC_SCAN_MS=500 TIERMALLOC_VERBOSE=1 \
	TIERMALLOC_STATS=0 LD_PRELOAD=build/libtiermalloc.so build/bench/gups/gups \
	--mib 256 --hot-mib 32 --chunk-kib 256 --quota-mib $QUOTA --interval-ms 500 \
	--intervals 16 --phases 1 --tlb-flush-ms 5 --expect 0.9 --label thp 2>&1)
rc=$?
echo "$out" | grep -a 'heat source\| interval \|phase 0:\|summary'
grep AnonHugePages /proc/meminfo
grep 'thp_migration_success\|thp_split_pmd' /proc/vmstat | tr '\n' ' '
echo
# fast_mib: the table's pages on node 0 (field 14 of an interval line).
over=$(echo "$out" | awk -v q=$QUOTA '/ interval / && $14 > q * 1.02 { print $4 ": " $14 " MiB" }')
if [[ $over ]]; then
	echo "FAIL: node 0 held more than the quota ($QUOTA MiB) + 2% in intervals" $over
	exit 1
fi
exit $rc
