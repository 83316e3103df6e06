#!/bin/sh
# TIERMALLOC_DRAM_LIMIT of a quarter: of the memory allocated and touched
# (128 MiB; 32 in cxl mode, where first touch and memset on node 1 run at
# 10-50 MB/s), at most that quarter (+ slack for the per-thread accounting
# batch and the probe's own arrays) lands on node 0 and the rest on node 1,
# as the kernel reports page by page. The ratio and threshold policies split the same way.
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
mib=128
[ "${TM_VM_MODE:-}" = cxl ] && mib=32
q=$((mib / 4))
check quota-${q}M "$(TIERMALLOC_DRAM_LIMIT=${q}M LD_PRELOAD=$LIB $PROBE $mib 1024)" $((q + 2)) $((mib - q - 2))
check quota-${q}M-small "$(TIERMALLOC_DRAM_LIMIT=${q}M LD_PRELOAD=$LIB $PROBE $mib 16)" $((q + 2)) $((mib - q - 2))
check ratio-1:3 "$(TIERMALLOC_POLICY=ratio TIERMALLOC_RATIO=1:3 LD_PRELOAD=$LIB $PROBE $mib 1024)" $((q + 2)) $((mib - q - 4))
check threshold "$(TIERMALLOC_POLICY=threshold TIERMALLOC_THRESHOLD=512K LD_PRELOAD=$LIB $PROBE $mib 1024)" 2 $((mib - 2))
line=$(LD_PRELOAD=$LIB $PROBE $mib 1024)
echo "no quota: $line"
[ "$(field node0_mib "$line")" -ge $((mib - 2)) ] || fail "dram-first without a quota left DRAM"
