#!/bin/bash
# Not a test of the suite: tests/vm/tests/01-runner-cleanup.sh runs it through
# a nested run-tests.sh under a short time limit. It leaves everything a
# killed test could leave: changed kernel settings (numa balancing, demotion,
# THP), a kdamond that runs until told to stop (paddr: no target process
# whose death would end it), a process in its process group and one in a
# session of its own, both deaf to TERM; then it hangs, deaf to TERM too.
# The pids go to $TM_VM_RESULTS/hang.pids. Builtins only: under emulation
# every program started costs 0.2-0.4 s, and the set-up must fit the limit.
set -u
KD=/sys/kernel/mm/damon/admin/kdamonds
trap '' TERM
echo 2 >/proc/sys/kernel/numa_balancing
echo 1 >/sys/kernel/mm/numa/demotion_enabled
echo always >/sys/kernel/mm/transparent_hugepage/enabled
echo never >/sys/kernel/mm/transparent_hugepage/defrag
if [[ -d $KD ]]; then
	echo 1 >$KD/nr_kdamonds &&
		echo 1 >$KD/0/contexts/nr_contexts &&
		echo paddr >$KD/0/contexts/0/operations &&
		echo 1 >$KD/0/contexts/0/targets/nr_targets &&
		echo on >$KD/0/state || echo "hang: could not start a kdamond"
fi
bash -c 'trap "" TERM; exec sleep 1000' &
echo $! >"$TM_VM_RESULTS/hang.pids"
setsid bash -c 'trap "" TERM; exec sleep 1000' &
echo $! >>"$TM_VM_RESULTS/hang.pids"
n=0
for c in /proc/[0-9]*/comm; do
	{ read -r comm <"$c"; } 2>/dev/null && [[ $comm == kdamond* ]] && n=$((n + 1))
done
echo "hang: set up; kdamonds running: $n"
while :; do sleep 1; done
