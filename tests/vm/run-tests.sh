#!/usr/bin/env bash
#
# Runs inside the guest (vm-test.sh starts it through run-guest.sh): every
# tests/vm/tests/*.sh in name order, or only the NAMEs given (e.g. 00-bed).
#
# A test is an executable run from the repo root with the guest's environment
# (TM_VM_MODE, TM_VM_RESULTS); exit 0 = pass, 77 = skip (its last output line
# says why), anything else = fail. Each test's output is kept in
# $TM_VM_RESULTS/NAME.log (build/vm/results/MODE/ on the host) and its tail is
# printed when it fails. TM_VM_TEST_TIMEOUT (seconds, default 120) bounds
# each test; TM_VM_SUITE_BUDGET (seconds, default none) bounds them all: tests
# that no longer fit fail as "not run", so the suite always ends and reports
# before the host's timeout kills the guest.
#
#   tests/vm/run-tests.sh [NAME...]
#
# Prints one ok/FAIL/SKIP line per test with its time, then
# "MODE: N passed, N failed, N skipped", also written to $TM_VM_RESULTS/summary.
#
# All tests of a mode share one boot, so every test starts from the state the
# suite started from, however the one before it ended (passed, failed, or
# killed at its time limit): each test runs in a cgroup of its own, and after
# it the runner kills whatever of it still runs (cgroup.kill: also what left
# its process group or session), turns off and removes the kdamonds it left
# (DAMON sysfs), and writes back the kernel settings it changed (numa
# balancing, demotion, THP, a few vm sysctls). Each such repair is printed as
# a "cleanup:" line under the test's result. tests/vm/tests/01-runner-cleanup.sh
# checks all of this with a test that hangs.
#
# TM_VM_TEST_DIR (default tests/vm/tests) and TM_VM_KILL_AFTER (seconds from
# TERM to KILL at the time limit, default 5) serve that self-check.
set -euo pipefail

readonly TEST_DIR=${TM_VM_TEST_DIR:-tests/vm/tests}
readonly KILL_AFTER=${TM_VM_KILL_AFTER:-5}
readonly SKIP=77
readonly CG_ROOT=/sys/fs/cgroup
readonly KD=/sys/kernel/mm/damon/admin/kdamonds
# Kernel settings a test may change; the runner puts back what it finds
# changed after each test (files that do not exist here are left out).
readonly SETTINGS=(
	/proc/sys/kernel/numa_balancing
	/sys/kernel/mm/numa/demotion_enabled
	/sys/kernel/mm/transparent_hugepage/enabled
	/sys/kernel/mm/transparent_hugepage/defrag
	/sys/kernel/mm/transparent_hugepage/shmem_enabled
	/sys/kernel/mm/transparent_hugepage/khugepaged/defrag
	/proc/sys/vm/overcommit_memory
	/proc/sys/vm/max_map_count
	/proc/sys/vm/zone_reclaim_mode
	/proc/sys/vm/min_free_kbytes
	/proc/sys/vm/watermark_scale_factor
	/proc/sys/vm/unprivileged_userfaultfd
	/proc/sys/kernel/perf_event_paranoid
)
: "${TM_VM_MODE:?run me in the guest: tests/vm/run-guest.sh --mode M -- $0}"
: "${TM_VM_RESULTS:?}"
test_timeout=${TM_VM_TEST_TIMEOUT:-120}
suite_budget=${TM_VM_SUITE_BUDGET:-0}
passed=0
failed=0
skipped=0

now_ms() { date +%s%3N; }

### The state every test starts from #########################################

declare -A start_setting=()
cg_parent= # the cgroup tests' cgroups are made in (ours); empty: none
kd_start=0 # kdamonds when the suite started (0 in the guest)

# A setting's value: the selected word of THP's "always [madvise] never".
read_setting() {
	local v
	v=$(cat "$1" 2>/dev/null) || return 1
	[[ $v =~ \[([^]]*)\] ]] && v=${BASH_REMATCH[1]}
	echo "$v"
}

save_start_state() {
	local f rel v
	for f in "${SETTINGS[@]}"; do
		v=$(read_setting "$f") && start_setting[$f]=$v
	done
	[[ -r $KD/nr_kdamonds ]] && kd_start=$(cat "$KD/nr_kdamonds")
	if [[ -f $CG_ROOT/cgroup.kill ]] || [[ -f $CG_ROOT/cgroup.procs ]]; then
		rel=$(sed -n 's/^0:://p' /proc/self/cgroup)
		cg_parent=$CG_ROOT${rel%/}
		[[ -w $cg_parent/cgroup.procs ]] || cg_parent=
	fi
	[[ $cg_parent ]] || echo "note: no cgroup2 here: a test's processes that leave its process group are not cleaned up"
}

# The processes still in cgroup CG and below.
cgroup_pids() { find "$1" -name cgroup.procs -exec cat {} + 2>/dev/null; }

# The same as "pid(comm)" words.
cgroup_procs() {
	local pid
	for pid in $(cgroup_pids "$1"); do
		printf '%s(%s) ' "$pid" "$(cat /proc/"$pid"/comm 2>/dev/null)"
	done
}

# kill_cgroup CG: end everything in CG and remove it.
kill_cgroup() {
	local cg=$1 left
	left=$(cgroup_procs "$cg")
	if [[ $left ]]; then
		echo "cleanup: killed what still ran: $left"
		if [[ -f $cg/cgroup.kill ]]; then
			echo 1 >"$cg/cgroup.kill"
		else
			# shellcheck disable=SC2046
			kill -KILL $(cgroup_pids "$cg") 2>/dev/null
		fi
		for _ in $(seq 100); do
			grep -q 'populated 0' "$cg/cgroup.events" 2>/dev/null && break
			sleep 0.1
		done
		grep -q 'populated 0' "$cg/cgroup.events" 2>/dev/null ||
			echo "cleanup: FAILED: still running: $(cgroup_procs "$cg")"
	fi
	find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null
	return 0
}

# Stop and remove the kdamonds a test left (on: turned off; then
# nr_kdamonds back to the suite's start, which is 0 in the guest).
stop_kdamonds() {
	local d n
	[[ -r $KD/nr_kdamonds ]] || return 0
	n=$(cat "$KD/nr_kdamonds")
	((n != kd_start)) || return 0
	for d in "$KD"/[0-9]*; do
		[[ -d $d && ${d##*/} -ge $kd_start ]] || continue
		if [[ $(cat "$d/state" 2>/dev/null) == on ]]; then
			echo "cleanup: kdamond ${d##*/} was on: turned off"
			echo off >"$d/state" 2>/dev/null ||
				echo "cleanup: FAILED: kdamond ${d##*/} does not turn off"
		fi
	done
	if echo "$kd_start" >"$KD/nr_kdamonds" 2>/dev/null; then
		echo "cleanup: nr_kdamonds was $n: set to $kd_start"
	else
		echo "cleanup: FAILED: nr_kdamonds stays $n"
	fi
}

restore_settings() {
	local f v
	for f in "${!start_setting[@]}"; do
		v=$(read_setting "$f") || continue
		[[ $v == "${start_setting[$f]}" ]] && continue
		if echo "${start_setting[$f]}" 2>/dev/null >"$f"; then
			echo "cleanup: $f was $v: set back to ${start_setting[$f]}"
		else
			echo "cleanup: FAILED: $f stays $v (want ${start_setting[$f]})"
		fi
	done
}

# After a test: leave nothing of it for the next (see the head).
clean_up_after() {
	[[ ${1-} ]] && kill_cgroup "$1"
	stop_kdamonds
	restore_settings
	return 0
}

# The tests to run, as paths.
select_tests() {
	local name
	if (($# == 0)); then
		printf '%s\n' "$TEST_DIR"/*.sh
		return
	fi
	for name in "$@"; do
		name=${name%.sh}
		printf '%s\n' "$TEST_DIR/$name.sh"
	done
}

# The time the next test may take: its own limit, or less when the suite
# budget is nearly used up (0: nothing left).
time_left() {
	local left
	if ((suite_budget == 0)); then
		echo "$test_timeout"
		return
	fi
	left=$((suite_budget - SECONDS))
	((left >= 5)) || left=0
	echo $((left < test_timeout ? left : test_timeout))
}

# run_one PATH: run the test, print its line, count it.
run_one() {
	local path=$1 name log start ms rc=0 limit cg='' cleanup
	name=$(basename "$path" .sh)
	log=$TM_VM_RESULTS/$name.log
	start=$(now_ms)
	limit=$(time_left)
	if ((limit == 0)); then
		echo "not run: the suite's time budget of $suite_budget s is used up" >"$log"
		rc=1
	elif [[ ! -f $path ]]; then
		echo "no such test: $path" >"$log"
		rc=1
	elif [[ ! -x $path ]]; then
		echo "not executable (chmod +x $path)" >"$log"
		rc=1
	else
		if [[ $cg_parent ]]; then
			cg=$cg_parent/tm-test-$name
			[[ -d $cg ]] && kill_cgroup "$cg" >/dev/null
			mkdir "$cg" 2>/dev/null || cg=
		fi
		# In a subshell that does not exec it, so that bash's note about
		# a KILLed timeout(1) lands in the log, not on our output; the
		# subshell moves itself into the test's cgroup first.
		(
			[[ $cg ]] && echo "$BASHPID" >"$cg/cgroup.procs"
			timeout --kill-after="$KILL_AFTER" "$limit" "$path" </dev/null
			exit $?
		) >"$log" 2>&1 || rc=$?
	fi
	ms=$(($(now_ms) - start))
	# 124: timeout's TERM ended it; 137 after the limit: it had to KILL.
	if ((rc == 124 || (rc == 137 && ms >= limit * 1000))); then
		echo "timed out after $limit s" >>"$log"
	fi
	cleanup=$(clean_up_after "$cg") || true
	[[ -z $cleanup ]] || echo "$cleanup" >>"$log"
	local took
	took=$(printf '%d.%01ds' $((ms / 1000)) $((ms % 1000 / 100)))
	case $rc in
	0)
		printf 'ok   %-28s %7s\n' "$name" "$took"
		passed=$((passed + 1))
		;;
	"$SKIP")
		printf 'SKIP %-28s %7s  %s\n' "$name" "$took" "$(grep -v '^$' "$log" | tail -n1)"
		skipped=$((skipped + 1))
		;;
	*)
		printf 'FAIL %-28s %7s  exit %d, log %s\n' "$name" "$took" "$rc" "$log"
		tail -n 30 "$log" | sed 's/^/    | /'
		failed=$((failed + 1))
		cleanup= # in the log's tail already
		;;
	esac
	[[ -z $cleanup ]] || printf '    %s\n' "${cleanup//$'\n'/$'\n'    }"
}

main() {
	local path
	save_start_state
	while read -r path; do
		run_one "$path"
	done < <(select_tests "$@")
	echo "$passed $failed $skipped" >"$TM_VM_RESULTS/summary"
	echo "$TM_VM_MODE: $passed passed, $failed failed, $skipped skipped"
	((failed == 0))
}

main "$@"
