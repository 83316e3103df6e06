#!/bin/sh
# With the slow node full, allocations that placement sends there still
# succeed: the kernel falls back to DRAM (MPOL_PREFERRED_MANY), nothing fails.
set -eu
. tests/vm/testlib.sh
free1=$(node_free_mib 1)
hog_mib=$((free1 - 16))
numactl --membind=1 "$PROBE" "$hog_mib" 1024 hold > /tmp/hog.out &
hog=$!
trap 'kill $hog 2>/dev/null' EXIT
i=0
until [ -s /tmp/hog.out ]; do
	i=$((i + 1)); [ $i -lt 600 ] || fail "hog did not fill node 1"; sleep 0.1
done
echo "hog: $(cat /tmp/hog.out); node 1 free now $(node_free_mib 1) MiB"
line=$(TIERMALLOC_DRAM_LIMIT=8M LD_PRELOAD=$LIB $PROBE 96 1024)
echo "probe: $line"
[ "$(field failed "$line")" = 0 ] && [ "$(field corrupt "$line")" = 0 ] || fail "allocation failed"
[ "$(field node0_mib "$line")" -ge 60 ] || fail "slow-tier overflow did not land on DRAM"
