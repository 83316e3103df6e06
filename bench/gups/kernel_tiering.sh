# Sourced by gups.sh and tiering.sh (not run): the kernel's own tiering as a
# baseline, with about the same fast-memory quota as tiermalloc gets.
#
# with_kernel_tiering QUOTA_MIB BALLOON_LOG COMMAND...
#   runs COMMAND with numa_balancing=2 and demotion on, while a balloon
#   (gups --balloon, mlocked) holds node 0's free memory but for the quota
#   and the node's high watermark, which kswapd keeps free by demoting (page
#   cache is dropped first, or its reclaim would give the table more). Then
#   the balloon tracks COMMAND: every 100 ms it grows by what COMMAND's
#   anonymous memory on node 0 exceeds the quota, or else leaves node 0 free
#   memory for what it falls short plus the high watermark, so the kernel
#   gets the same fast memory as the allocators (within 256 KiB and 100 ms),
#   however watermarks and other memory move. The settings are restored
#   afterwards (with_numa_balancing_on). Returns COMMAND's status, or 1 with
#   a "kernel: skipped (why)" line when it cannot run.
# with_numa_balancing_on COMMAND...: COMMAND with numa_balancing=2 and
#   demotion on throughout, the settings restored afterwards; around several
#   with_kernel_tiering runs, it spares a switch per run (each switch patches
#   kernel text). On one NUMA node, or where they cannot be written,
#   COMMAND runs as is (with_kernel_tiering says why it cannot run).
with_numa_balancing_on() {
	local nb demote rc
	[[ -d /sys/devices/system/node/node1 ]] || { "$@"; return; }
	nb=$(cat /proc/sys/kernel/numa_balancing 2>/dev/null)
	demote=$(cat /sys/kernel/mm/numa/demotion_enabled 2>/dev/null)
	echo 2 2>/dev/null >/proc/sys/kernel/numa_balancing
	echo 1 2>/dev/null >/sys/kernel/mm/numa/demotion_enabled
	"$@"
	rc=$?
	[[ $nb ]] && echo "$nb" 2>/dev/null >/proc/sys/kernel/numa_balancing
	[[ $demote ]] && echo "$demote" 2>/dev/null >/sys/kernel/mm/numa/demotion_enabled
	return $rc
}

with_kernel_tiering() {
	local quota=$1 balloon_log=$2 free high pid rc
	shift 2
	if ((EUID != 0)) || [[ ! -w /proc/sys/kernel/numa_balancing ]]; then
		echo "kernel: skipped (needs root)"
		return 1
	fi
	if [[ ! -d /sys/devices/system/node/node1 ]]; then
		echo "kernel: skipped (one NUMA node: nothing to tier, and no balloon over the host's memory)"
		return 1
	fi
	sync
	echo 3 >/proc/sys/vm/drop_caches
	free=$(awk '/MemFree/ {print int($4 / 1024)}' /sys/devices/system/node/node0/meminfo)
	high=$(awk '/^Node 0,/ {n = 1} /^Node [1-9]/ {n = 0} n && $1 == "high" {s += $2}
		END {print int(s * 4 / 1024)}' /proc/zoneinfo)
	rm -f "$balloon_log.pid"
	"$GUPS" --balloon $((free - quota - high)) --quota-mib "$quota" \
		--reserve-mib "$high" --track-file "$balloon_log.pid" >"$balloon_log" &
	pid=$!
	while ! grep -q balloon "$balloon_log" 2>/dev/null; do
		kill -0 $pid 2>/dev/null || break
		sleep 0.2
	done
	with_numa_balancing_on bash -c 'echo $$ >"$0"; exec "$@"' "$balloon_log.pid" "$@"
	rc=$?
	wait $pid # it ends with COMMAND, saying what it did
	grep 'balloon tracked' "$balloon_log"
	return $rc
}
