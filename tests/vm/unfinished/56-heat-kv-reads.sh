#!/bin/bash
# Issue 14, reads: a read-mostly Zipf(0.99) key-value store (gups --zipf
# --write-share: 64 MiB of 1 KiB values, one malloc each, popularity
# shuffled against allocation order), DRAM quota 16 MiB (1:4), popularity
# reshuffled once. Reads only, then 5% writes: each phase, the shift's
# included, must reach 0.9 of the oracle's fast-tier access share within 30
# periods. uffd sees only the writes; the hot values lie scattered among
# cold ones, page by page, so DAMON must tell single pages apart.
# vm-timeout: 150
# Not in cxl mode, for the reasons of 50-heat-gups.
# vm-modes: hmat kmem
set -u
for f in build/bench/gups/gups build/libtiermalloc.so; do
	[[ -e $f ]] || { echo "$f is not built"; exit 1; }
done
rc=0
for writes in 0 0.05; do
	out=$(env TIERMALLOC_DRAM_LIMIT=16M TIERMALLOC_SCAN_MS=500 TIERMALLOC_VERBOSE=1 \
		TIERMALLOC_STATS=0 LD_PRELOAD=build/libtiermalloc.so build/bench/gups/gups \
		--mib 64 --zipf 0.99 --value-b 1024 --quota-mib 16 --write-share $writes \
		--interval-ms 500 --intervals 30 --phases 2 --tlb-flush-ms 5 --expect 0.9 \
		--label "kv-writes-$writes" 2>&1) || rc=1
	echo "$out" | grep -a 'heat source\| interval \(10\|20\|30\) \|phase [01]:\|summary'
	[[ $out == *"heat source damon: in use"* ]] || { echo "FAIL: DAMON was not in use"; rc=1; }
done
exit $rc
