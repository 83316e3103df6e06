#!/bin/bash
# A Zipf(0.99) key-value workload (gups --zipf: 64 MiB of 1 KiB values, one
# malloc each, popularity shuffled against allocation order) under a 16 MiB
# DRAM quota: the heat policy reaches 0.85 of the oracle's fast-tier access
# share within 20 periods. The hot values lie scattered among cold ones,
# which DAMON's regions cannot tell apart: the automatic choice must pair it
# with uffd, which ranks written pages one by one (both in use).
# vm-timeout: 60
# Not in cxl mode, for the reasons of 50-heat-gups.
# vm-modes: hmat kmem
set -u
[[ -x build/bench/gups/gups ]] || { echo "build/bench/gups/gups is not built"; exit 1; }
out=$(env TIERMALLOC_DRAM_LIMIT=16M TIERMALLOC_SCAN_MS=500 TIERMALLOC_VERBOSE=1 \
	TIERMALLOC_STATS=0 LD_PRELOAD=build/libtiermalloc.so build/bench/gups/gups \
	--mib 64 --zipf 0.99 --value-b 1024 --quota-mib 16 --interval-ms 500 \
	--intervals 20 --phases 1 --tlb-flush-ms 5 --expect 0.85 --label kv 2>&1)
rc=$?
echo "$out" | grep -a 'heat source\| interval \|phase 0:\|summary'
if [[ $out != *"heat source damon: in use"* || $out != *"heat source uffd: in use"* ]]; then
	echo "FAIL: the heat sources were not damon and uffd together"
	exit 1
fi
exit $rc
