#!/bin/bash
# Data is never lost: 8 threads rewrite and verify checksummed 64 KiB blocks
# (32 MiB) while hints flip every second which half is hot and which cold,
# so the migrator moves the blocks back and forth between the nodes. Pass:
# 0 mismatches, and blocks were seen to change node.
# vm-timeout: 45
set -u
exec env TIERMALLOC_POLICY=heat TIERMALLOC_SCAN_MS=250 TIERMALLOC_STATS=0 \
	LD_PRELOAD="$PWD/build/libtiermalloc.so" \
	build/tests/policy/blocks --threads 8 --mib 32 --seconds 10 --flip-ms 1000 \
	--expect-moves
