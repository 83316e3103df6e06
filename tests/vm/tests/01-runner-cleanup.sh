#!/bin/bash
# The runner leaves nothing of a test for the next one (tests share a boot):
# a nested run-tests.sh runs tests/vm/selfcheck/hang.sh, which changes kernel
# settings, starts a kdamond and two processes (one in a session of its own),
# all deaf to TERM, and hangs, under a 5 s limit (times TM_VM_TIME_SCALE).
# Pass: the nested runner reports it timed out and failed, and afterwards
# the settings are back, no kdamond runs or is left in sysfs, and the
# processes are gone.
# vm-timeout: 45
# It checks the runner, not the machine: two modes are enough.
# vm-modes: hmat kmem
set -u
KD=/sys/kernel/mm/damon/admin/kdamonds
fail() { echo "FAIL: $*"; exit 1; }
kdamonds() {
	local c comm n=0
	for c in /proc/[0-9]*/comm; do
		{ read -r comm <"$c"; } 2>/dev/null && [[ $comm == kdamond* ]] && n=$((n + 1))
	done
	echo $n
}
settings=(/proc/sys/kernel/numa_balancing /sys/kernel/mm/numa/demotion_enabled
	/sys/kernel/mm/transparent_hugepage/enabled /sys/kernel/mm/transparent_hugepage/defrag)
before=$(cat "${settings[@]}")
kd_before=$(cat $KD/nr_kdamonds 2>/dev/null)
res=$(mktemp -d)
trap 'rm -rf "$res"' EXIT

out=$(env TM_VM_TEST_DIR=tests/vm/selfcheck TM_VM_TEST_TIMEOUT=5 TM_VM_KILL_AFTER=1 \
	TM_VM_SUITE_BUDGET=0 TM_VM_RESULTS="$res" tests/vm/run-tests.sh hang 2>&1)
rc=$?
echo "$out" | sed 's/^/nested: /'
((rc != 0)) || fail "the nested runner passed a test that hangs"
[[ $out == *"FAIL hang"* && $out == *"timed out after "* ]] ||
	fail "the nested runner did not report the hang as timed out"
grep -q 'hang: set up' "$res/hang.log" ||
	fail "hang.sh was not set up within its limit (a slow machine: VM_TIME_SCALE=2)"
grep -q 'kdamonds running: [1-9]' "$res/hang.log" || [[ ! -d $KD ]] ||
	fail "hang.sh did not get its kdamond running: $(grep hang: "$res/hang.log")"
[[ -s $res/hang.pids ]] || fail "hang.sh did not start its processes"

for pid in $(cat "$res/hang.pids"); do
	! kill -0 "$pid" 2>/dev/null || fail "process $pid of the killed test still runs"
done
echo "ok: its processes are gone (also the one in its own session)"
[[ $(cat "${settings[@]}") == "$before" ]] ||
	fail "settings not restored: $(paste -d= <(printf '%s\n' "${settings[@]}") <(cat "${settings[@]}"))"
echo "ok: numa_balancing, demotion, THP enabled/defrag are back"
if [[ -d $KD ]]; then
	(($(kdamonds) == 0)) || fail "a kdamond still runs"
	[[ $(cat $KD/nr_kdamonds) == "$kd_before" ]] || fail "nr_kdamonds is $(cat $KD/nr_kdamonds), was $kd_before"
	echo "ok: no kdamond runs, nr_kdamonds is $kd_before again"
fi
echo "passed"
