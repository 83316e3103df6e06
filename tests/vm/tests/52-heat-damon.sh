#!/bin/bash
# The DAMON heat source (root, the 6.12 guest): forced with TIERMALLOC_HEAT,
# it finds a hot set and its moves through tm_heat_of (with the TLB flushed
# every 5 ms, which accessed bits need under emulation: tlb_turnover.h); it leaves no kdamond
# running when the process exits, nor when the process is killed.
# vm-timeout: 75
set -u
KD=/sys/kernel/mm/damon/admin/kdamonds
LIB=$PWD/build/libtiermalloc.so
fail() { echo "FAIL: $*"; exit 1; }
kdamonds() { ps -e -o comm= | grep -c '^kdamond' || true; }
[[ -d $KD ]] || { echo "no DAMON sysfs in this kernel"; exit 77; }
((EUID == 0)) || { echo "DAMON needs root"; exit 77; }

out=$(env TIERMALLOC_HEAT=damon TIERMALLOC_SCAN_MS=500 TIERMALLOC_VERBOSE=1 \
	TIERMALLOC_STATS=0 LD_PRELOAD="$LIB" \
	build/tests/policy/heat_hotset --contiguous --tlb-flush-ms 5 16 20 2>&1)
rc=$?
echo "$out" | grep 'heat source damon\|period\|passed'
[[ $out == *"heat source damon: in use"* ]] || fail "DAMON was not used"
((rc == 0)) || fail "the hot set was not found (exit $rc)"
(($(kdamonds) == 0)) || fail "a kdamond still runs after exit"
[[ $(cat $KD/nr_kdamonds) == 0 ]] || fail "kdamond 0 left behind"
echo "exit: no kdamond left"

env TIERMALLOC_HEAT=damon TIERMALLOC_SCAN_MS=200 TIERMALLOC_STATS=0 \
	LD_PRELOAD="$LIB" build/tests/policy/blocks --threads 1 --mib 8 --seconds 60 \
	>/dev/null &
pid=$!
for _ in $(seq 100); do (($(kdamonds) > 0)) && break; sleep 0.1; done
(($(kdamonds) > 0)) || fail "no kdamond while the program runs"
kill -KILL $pid
wait $pid 2>/dev/null
for _ in $(seq 100); do (($(kdamonds) == 0)) && break; sleep 0.1; done
(($(kdamonds) == 0)) || fail "a kdamond outlives its killed target"
echo "SIGKILL: the kdamond stopped with its target (state $(cat $KD/0/state))"
