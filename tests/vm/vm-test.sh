#!/usr/bin/env bash
#
# The guest test suite (make vm-test): boot the guest once per mode and run
# tests/vm/run-tests.sh in it, i.e. every tests/vm/tests/*.sh (or only the
# NAMEs given). Fails when any test fails or a guest does not finish.
#
#   tests/vm/vm-test.sh [NAME...]
#
# VM_MODES   modes to run, in order (default "hmat kmem")
# VM_TIMEOUT seconds one mode may take, boot included (default 330, so that
#            both modes and a first run's set-up stay under 12 minutes)
# VM_TEST_TIMEOUT seconds one test may take (default 120)
# Logs: build/vm/results/MODE/NAME.log; kernel console: .cache/vm/console-MODE.log
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
readonly REPO
modes=${VM_MODES:-hmat kmem}
timeout_s=${VM_TIMEOUT:-330}
# Boot, KMEM set-up and power-off take 3-10 s; leave the guest a margin so
# that its suite stops and reports before run-guest.sh's timeout.
readonly BOOT_MARGIN=30
test_timeout_s=${VM_TEST_TIMEOUT:-120}
passed=0
failed=0
skipped=0
bad_modes=()

# Several people may share one checkout: a second vm-test of the same mode
# waits for the first rather than delete the results it is writing.
lock_results() {
	local mode=$1 lock
	lock=$REPO/build/vm/results/.$mode.lock
	mkdir -p "${lock%/*}"
	exec {lock_fd}>"$lock"
	flock -n "$lock_fd" && return 0
	echo "waiting for another vm-test ($mode) in this checkout"
	flock -w $((timeout_s + 60)) "$lock_fd"
}

# run_mode MODE [NAME...]: one boot, all tests; add its counts to ours.
run_mode() {
	local mode=$1 results rc=0 start p f s lock_fd
	shift
	echo "== $mode"
	lock_results "$mode" || {
		echo "FAIL $mode: another vm-test held build/vm/results/$mode too long"
		failed=$((failed + 1)) && bad_modes+=("$mode") && return
	}
	results=$REPO/build/vm/results/$mode
	rm -rf "$results"
	mkdir -p "$results"
	start=$SECONDS
	"$REPO/tests/vm/run-guest.sh" --mode "$mode" --timeout "$timeout_s" \
		--results "$results" -- \
		env TM_VM_TEST_TIMEOUT="$test_timeout_s" \
		TM_VM_SUITE_BUDGET=$((timeout_s > 2 * BOOT_MARGIN ? timeout_s - BOOT_MARGIN : timeout_s / 2)) \
		tests/vm/run-tests.sh "$@" || rc=$?
	if [[ -f $results/summary ]]; then
		read -r p f s <"$results/summary"
		passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
	else
		echo "FAIL $mode: the guest did not finish the suite (exit $rc)"
		failed=$((failed + 1))
	fi
	((rc == 0)) || bad_modes+=("$mode")
	exec {lock_fd}>&-
	echo "== $mode took $((SECONDS - start)) s"
}

main() {
	local mode
	cd "$REPO"
	for mode in $modes; do
		run_mode "$mode" "$@"
	done
	((${#bad_modes[@]} == 0)) || echo "failed modes: ${bad_modes[*]}"
	echo "vm-test: $passed passed, $failed failed, $skipped skipped"
	((failed == 0 && ${#bad_modes[@]} == 0))
}

main "$@"
