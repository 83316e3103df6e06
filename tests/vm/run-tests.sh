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
set -euo pipefail

readonly TEST_DIR=tests/vm/tests
readonly SKIP=77
: "${TM_VM_MODE:?run me in the guest: tests/vm/run-guest.sh --mode M -- $0}"
: "${TM_VM_RESULTS:?}"
test_timeout=${TM_VM_TEST_TIMEOUT:-120}
suite_budget=${TM_VM_SUITE_BUDGET:-0}
passed=0
failed=0
skipped=0

now_ms() { date +%s%3N; }

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
	local path=$1 name log start ms rc=0 limit
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
		# In a subshell that does not exec it, so that bash's note about
		# a KILLed timeout(1) lands in the log, not on our output.
		(
			timeout --kill-after=5 "$limit" "$path" </dev/null
			exit $?
		) >"$log" 2>&1 || rc=$?
	fi
	ms=$(($(now_ms) - start))
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
		# 124: timeout's TERM ended it; 137 after the limit: it had to KILL.
		if ((rc == 124 || (rc == 137 && ms >= limit * 1000))); then
			echo "timed out after $limit s" >>"$log"
		fi
		printf 'FAIL %-28s %7s  exit %d, log %s\n' "$name" "$took" "$rc" "$log"
		tail -n 30 "$log" | sed 's/^/    | /'
		failed=$((failed + 1))
		;;
	esac
}

main() {
	local path
	while read -r path; do
		run_one "$path"
	done < <(select_tests "$@")
	echo "$passed $failed $skipped" >"$TM_VM_RESULTS/summary"
	echo "$TM_VM_MODE: $passed passed, $failed failed, $skipped skipped"
	((failed == 0))
}

main "$@"
