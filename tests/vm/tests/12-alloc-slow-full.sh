#!/bin/sh
# With the slow node (almost) full, allocations that placement sends there
# still succeed: the kernel falls back to DRAM (MPOL_PREFERRED_MANY) and
# nothing fails.
# vm-timeout: 60
set -eu
. tests/vm/testlib.sh
offlined=
hog=
restore() {
	[ -z "$hog" ] || { kill $hog 2>/dev/null || :; wait $hog 2>/dev/null || :; }
	for b in $offlined; do echo online_movable >"$b/state" || echo "could not online $b again"; done
}
trap restore EXIT
trap 'exit 1' INT TERM
# In cxl mode first touch on node 1 runs at 15-25 MB/s: a hog would take a
# minute to fill it. Its memory is hot-plugged and free, so all but one of
# its blocks are taken offline instead (and put back at the end).
if [ "${TM_VM_MODE:-}" = cxl ]; then
	kept=
	for b in /sys/devices/system/node/node1/memory*; do
		[ -n "$kept" ] || { kept=$b && continue; }
		echo offline >"$b/state" && offlined="$offlined $b"
	done
fi
# 96 MiB left free: with 48, the kernel once OOM-killed the hog while it filled
# node 1 (hmat mode, host under load; cause not known).
hog_mib=$(($(node_free_mib 1) - 96))
"$PROBE" --hog 1 "$hog_mib" > /tmp/hog.out &
hog=$!
waited=0
until [ -s /tmp/hog.out ]; do
	kill -0 $hog 2>/dev/null || fail "the hog filling node 1 died"
	[ $waited -lt 90 ] || fail "the hog did not fill node 1 in 90 s"
	sleep 1; waited=$((waited + 1))
done
left=$(node_free_mib 1)
echo "hog: $(cat /tmp/hog.out); node 1 free now $left MiB"
line=$(TIERMALLOC_DRAM_LIMIT=8M LD_PRELOAD=$LIB $PROBE 256 1024)
echo "probe: $line"
[ "$(field failed "$line")" = 0 ] && [ "$(field corrupt "$line")" = 0 ] || fail "allocation failed"
# Placement sent ~248 MiB to node 1, which had $left MiB free (the kernel
# may reclaim a little more there meanwhile): the rest is on DRAM.
want=$((256 - 8 - left - 32))
[ "$(field node0_mib "$line")" -ge "$want" ] ||
	fail "slow-tier overflow did not land on DRAM (want >= $want MiB on node 0)"
