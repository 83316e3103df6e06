#!/usr/bin/env bash
#
# The guest test suite (make vm-test): boot the guest once per mode and run
# tests/vm/run-tests.sh in it, i.e. every tests/vm/tests/*.sh (or only the
# NAMEs given). Fails when any test fails or a guest does not finish; the
# last line is "N passed, N failed" (all modes), after one naming the
# failed tests as MODE/NAME.
#
#   tests/vm/vm-test.sh [NAME...]
#
# VM_MODES   modes to run, in order (default "hmat kmem cxl"; cxl runs the
#            bed, allocation and migration tests, not the placement-quality
#            ones: see each test's "# vm-modes:" line)
# VM_TIMEOUT seconds one mode may take, boot included (default 360: the
#            suite takes 110-140 s a mode here, so a machine twice as slow
#            and busy fits; all modes stay under 18 minutes in all)
# VM_TEST_TIMEOUT seconds a test without its own "# vm-timeout: N" line
#            may take (default 60)
# VM_TIME_SCALE multiplies VM_TIMEOUT and every test's limit (default 1;
#            e.g. 2 on a machine known to be much slower)
# Logs: build/vm/results/MODE/NAME.log; kernel console: .cache/vm/console-MODE.log
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
readonly REPO
modes=${VM_MODES:-hmat kmem cxl}
time_scale=${VM_TIME_SCALE:-1}
timeout_s=$(awk -v n="${VM_TIMEOUT:-360}" -v s="$time_scale" 'BEGIN { printf "%d\n", n * s + 0.5 }')
# Boot, KMEM set-up and power-off take 3-10 s; leave the guest a margin so
# that its suite stops and reports before run-guest.sh's timeout.
readonly BOOT_MARGIN=30
test_timeout_s=${VM_TEST_TIMEOUT:-60}
passed=0
failed=0
skipped=0
bad_modes=()
failed_names=()

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
		env TM_VM_TEST_TIMEOUT="$test_timeout_s" TM_VM_TIME_SCALE="$time_scale" \
		TM_VM_SUITE_BUDGET=$((timeout_s > 2 * BOOT_MARGIN ? timeout_s - BOOT_MARGIN : timeout_s / 2)) \
		tests/vm/run-tests.sh "$@" || rc=$?
	if [[ -f $results/summary ]]; then
		read -r p f s <"$results/summary"
		passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
		[[ -s $results/failed ]] && mapfile -t -O "${#failed_names[@]}" failed_names < <(sed "s|^|$mode/|" "$results/failed")
	else
		echo "FAIL $mode: the guest did not finish the suite (exit $rc)"
		failed=$((failed + 1))
		failed_names+=("$mode/(guest)")
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
	((${#failed_names[@]} == 0)) || echo "failed: ${failed_names[*]}"
	echo "vm-test: modes $modes, $SECONDS s, $skipped skipped"
	echo "$passed passed, $failed failed"
	((failed == 0 && ${#bad_modes[@]} == 0))
}

main "$@"
