#!/usr/bin/env bash
#
# Runs inside the guest (vm-test.sh starts it through run-guest.sh): every
# tests/vm/tests/*.sh in name order, or only the NAMEs given (e.g. 00-bed).
#
# A test is an executable run from the repo root with the guest's environment
# (TM_VM_MODE, TM_VM_RESULTS); exit 0 = pass, 77 = skip (its last output line
# says why), anything else = fail. Each test's output is kept in
# $TM_VM_RESULTS/NAME.log (build/vm/results/MODE/ on the host) and its tail is
# printed when it fails.
#
# Modes: a test with a "# vm-modes: MODE..." line runs only in those modes
# and is skipped (with the line as the reason) in the others.
#
# Time limits: a test names its own in a "# vm-timeout: SECONDS" line,
# sized for a machine twice as slow as the 2-core development host and
# busy (about 4x what it takes there, 30 s at least); TM_VM_TEST_TIMEOUT
# (seconds, default 60) serves tests without one. TM_VM_TIME_SCALE (default
# 1; make vm-test VM_TIME_SCALE=2) multiplies these for a slower machine.
# TM_VM_SUITE_BUDGET (seconds, default none) bounds them all: tests that no
# longer fit fail as "not run", so the suite always ends and reports before
# the host's timeout kills the guest.
#
#   tests/vm/run-tests.sh [NAME...]
#
# Prints one ok/FAIL/SKIP line per test with its time, then
# "MODE: N passed, N failed, N skipped", also written to $TM_VM_RESULTS/summary
# (with the names of the failed tests in $TM_VM_RESULTS/failed).
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
test_timeout=${TM_VM_TEST_TIMEOUT:-60}
# TM_VM_TIME_SCALE in percent (it may have decimals); the one awk of the suite
scale_pct=$(awk -v s="${TM_VM_TIME_SCALE:-1}" 'BEGIN { printf "%d\n", s * 100 + 0.5 }')
suite_budget=${TM_VM_SUITE_BUDGET:-0}
passed=0
failed=0
skipped=0

# Under emulation every program started costs 0.2-0.4 s, so the runner's
# own work between tests uses bash builtins only (and one mkdir and rmdir).
now_ms() { local t=${EPOCHREALTIME/[.,]/}; echo $((t / 1000)); }

### The state every test starts from #########################################

declare -A start_setting=()
cg_parent= # the cgroup tests' cgroups are made in (ours); empty: none
kd_start=0 # kdamonds when the suite started (0 in the guest)
cleanup=   # what clean_up_after repaired, one line each
setting=   # read_setting's answer

# read_setting FILE: its value into $setting (THP's "always [madvise] never":
# the selected word); 1 when it cannot be read.
read_setting() {
	setting=
	{ IFS= read -r setting <"$1"; } 2>/dev/null || [[ $setting ]] || return 1
	[[ $setting =~ \[([^]]*)\] ]] && setting=${BASH_REMATCH[1]}
	return 0
}

note() { cleanup+="cleanup: $*"$'\n'; }

save_start_state() {
	local f line
	for f in "${SETTINGS[@]}"; do
		read_setting "$f" && start_setting[$f]=$setting
	done
	read_setting "$KD/nr_kdamonds" && kd_start=$setting
	if [[ -f $CG_ROOT/cgroup.procs ]]; then
		while IFS= read -r line; do
			[[ $line == 0::* ]] && cg_parent=$CG_ROOT${line#0::}
		done </proc/self/cgroup
		cg_parent=${cg_parent%/}
		[[ -w $cg_parent/cgroup.procs ]] || cg_parent=
	fi
	[[ $cg_parent ]] || echo "note: no cgroup2 here: a test's processes that leave its process group are not cleaned up"
}

# cgroup_dirs CG: CG and the cgroups below it, deepest first, into $dirs.
cgroup_dirs() {
	local d
	for d in "$1"/*/; do
		[[ -d $d ]] && cgroup_dirs "${d%/}"
	done
	dirs+=("$1")
}

# populated CG: does anything still run in CG or below?
populated() {
	local line
	while read -r line; do
		[[ $line == "populated 1" ]] && return 0
	done <"$1/cgroup.events"
	return 1
}

# The processes in cgroup CG and below: "pid(comm)" words into $procs,
# their pids into $pids.
list_procs() {
	local d pid comm dirs=()
	procs=''
	pids=()
	cgroup_dirs "$1"
	for d in "${dirs[@]}"; do
		while read -r pid; do
			comm='?'
			{ read -r comm </proc/"$pid"/comm; } 2>/dev/null
			procs+="$pid($comm) "
			pids+=("$pid")
		done <"$d/cgroup.procs"
	done
}

# kill_cgroup CG: end everything in CG and remove it.
kill_cgroup() {
	local cg=$1 procs pids dirs=() i
	if populated "$cg"; then
		list_procs "$cg"
		note "killed what still ran: $procs"
		if [[ -f $cg/cgroup.kill ]]; then
			echo 1 >"$cg/cgroup.kill"
		else # before 5.14: kill what is there
			kill -KILL "${pids[@]}" 2>/dev/null
		fi
		for ((i = 0; i < 100; i++)); do
			populated "$cg" || break
			sleep 0.1
		done
		if populated "$cg"; then
			list_procs "$cg"
			note "FAILED: still running: $procs"
		fi
	fi
	cgroup_dirs "$cg"
	rmdir "${dirs[@]}" 2>/dev/null
	return 0
}

# Stop and remove the kdamonds a test left (on: turned off; then
# nr_kdamonds back to the suite's start, which is 0 in the guest).
stop_kdamonds() {
	local d n
	read_setting "$KD/nr_kdamonds" || return 0
	n=$setting
	((n != kd_start)) || return 0
	for d in "$KD"/[0-9]*; do
		[[ -d $d && ${d##*/} -ge $kd_start ]] || continue
		read_setting "$d/state" || continue
		if [[ $setting == on ]]; then
			note "kdamond ${d##*/} was on: turned off"
			{ echo off >"$d/state"; } 2>/dev/null ||
				note "FAILED: kdamond ${d##*/} does not turn off"
		fi
	done
	if { echo "$kd_start" >"$KD/nr_kdamonds"; } 2>/dev/null; then
		note "nr_kdamonds was $n: set to $kd_start"
	else
		note "FAILED: nr_kdamonds stays $n"
	fi
}

restore_settings() {
	local f v
	for f in "${!start_setting[@]}"; do
		read_setting "$f" || continue
		v=$setting
		[[ $v == "${start_setting[$f]}" ]] && continue
		if { echo "${start_setting[$f]}" >"$f"; } 2>/dev/null; then
			note "$f was $v: set back to ${start_setting[$f]}"
		else
			note "FAILED: $f stays $v (want ${start_setting[$f]})"
		fi
	done
}

# clean_up_after [CG]: leave nothing of the test for the next (see the
# head); what was repaired is in $cleanup.
clean_up_after() {
	cleanup=
	[[ ${1-} ]] && kill_cgroup "$1"
	stop_kdamonds
	restore_settings
	cleanup=${cleanup%$'\n'}
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

# header PATH KEY: the value of the test's "# vm-KEY: VALUE" line (in the
# comments at its head), or nothing.
header() {
	local line
	while IFS= read -r line; do
		[[ $line =~ ^#\ vm-$2:\ *(.*[^ ])\ *$ ]] && echo "${BASH_REMATCH[1]}" && return
		[[ -z $line || $line == '#'* ]] || return 0 # the head's comments end
	done <"$1"
}

# own_limit PATH: the test's "# vm-timeout: N" times TM_VM_TIME_SCALE, or
# TM_VM_TEST_TIMEOUT (also scaled).
own_limit() {
	local n
	n=$(header "$1" timeout)
	[[ $n =~ ^[0-9]+$ ]] || n=$test_timeout
	echo $(((n * scale_pct + 50) / 100))
}

# other_mode PATH: whether the test names modes and this one is not among them.
other_mode() {
	local modes
	modes=$(header "$1" modes)
	[[ $modes && " $modes " != *" $TM_VM_MODE "* ]]
}

# time_left PATH: the time the test may take: its own limit, or less when
# the suite budget is nearly used up (0: nothing left).
time_left() {
	local left own
	own=$(own_limit "$1")
	if ((suite_budget == 0)); then
		echo "$own"
		return
	fi
	left=$((suite_budget - SECONDS))
	((left >= 5)) || left=0
	echo $((left < own ? left : own))
}

# run_one PATH: run the test, print its line, count it.
run_one() {
	local path=$1 name log start ms rc=0 limit cg=''
	name=${path##*/}
	name=${name%.sh}
	log=$TM_VM_RESULTS/$name.log
	start=$(now_ms)
	limit=$(time_left "$path")
	if ((limit == 0)); then
		echo "not run: the suite's time budget of $suite_budget s is used up" >"$log"
		rc=1
	elif [[ ! -f $path ]]; then
		echo "no such test: $path" >"$log"
		rc=1
	elif [[ ! -x $path ]]; then
		echo "not executable (chmod +x $path)" >"$log"
		rc=1
	elif other_mode "$path"; then
		echo "not in $TM_VM_MODE mode (vm-modes: $(header "$path" modes))" >"$log"
		rc=$SKIP
	else
		if [[ $cg_parent ]]; then
			cg=$cg_parent/tm-test-$name
			[[ -d $cg ]] && kill_cgroup "$cg"
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
	clean_up_after "$cg"
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
		echo "$name" >>"$TM_VM_RESULTS/failed"
		cleanup= # in the log's tail already (if within its last 30 lines)
		;;
	esac
	[[ -z $cleanup ]] || printf '    %s\n' "${cleanup//$'\n'/$'\n'    }"
}

main() {
	local path
	save_start_state
	: >"$TM_VM_RESULTS/failed"
	while read -r path; do
		run_one "$path"
	done < <(select_tests "$@")
	echo "$passed $failed $skipped" >"$TM_VM_RESULTS/summary"
	echo "$TM_VM_MODE: $passed passed, $failed failed, $skipped skipped"
	((failed == 0))
}

main "$@"
