#!/bin/sh
# TIERMALLOC_DRAM_LIMIT=32M: of 128 MiB allocated and touched, at most 32 MiB
# (+ slack for the per-thread accounting batch and the probe's own arrays)
# lands on node 0 and the rest on node 1, as the kernel reports page by page.
# The ratio and threshold policies split the same way.
# vm-timeout: 75
set -eu
. tests/vm/testlib.sh
check() { # name line max_node0 min_node1
	n0=$(field node0_mib "$2"); n1=$(field node1_mib "$2")
	echo "$1: $2"
	[ "$(field failed "$2")" = 0 ] && [ "$(field corrupt "$2")" = 0 ] || fail "$1: failed/corrupt"
	[ "$(field tiers "$2")" = 2 ] || fail "$1: not tiered"
	[ "$n0" -le "$3" ] || fail "$1: $n0 MiB on node 0, want <= $3"
	[ "$n1" -ge "$4" ] || fail "$1: $n1 MiB on node 1, want >= $4"
}
check quota-32M "$(TIERMALLOC_DRAM_LIMIT=32M LD_PRELOAD=$LIB $PROBE 128 1024)" 34 94
check quota-32M-small "$(TIERMALLOC_DRAM_LIMIT=32M LD_PRELOAD=$LIB $PROBE 128 16)" 34 94
check ratio-1:3 "$(TIERMALLOC_POLICY=ratio TIERMALLOC_RATIO=1:3 LD_PRELOAD=$LIB $PROBE 128 1024)" 34 92
check threshold "$(TIERMALLOC_POLICY=threshold TIERMALLOC_THRESHOLD=512K LD_PRELOAD=$LIB $PROBE 128 1024)" 2 126
line=$(LD_PRELOAD=$LIB $PROBE 128 1024)
echo "no quota: $line"
[ "$(field node0_mib "$line")" -ge 126 ] || fail "dram-first without a quota left DRAM"
