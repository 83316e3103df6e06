#!/usr/bin/env bash
#
# The test bed itself: is this guest the two-tier machine the other tests
# assume? Kernel facts come from build/vm/bedcheck (nodes, tiers, move_pages,
# DAMON, userfaultfd WP_ASYNC, PAGEMAP_SCAN); this script adds what the tools
# see (hwloc, sysfs HMAT values, daxctl) and the guest's start settings.
# Prints one ok/FAIL line per check and "N passed, N failed".
# vm-timeout: 30
set -euo pipefail

passed=0
failed=0

# check NAME DETAIL CONDITION...: run CONDITION, report it as one line.
check() {
	local name=$1 detail=$2
	shift 2
	if "$@"; then
		echo "ok $name: $detail"
		passed=$((passed + 1))
	else
		echo "FAIL $name: $detail"
		failed=$((failed + 1))
	fi
}

equals() { [[ $1 == "$2" ]]; }

# The value of memory attribute ATTR for NUMA node P#NODE (hwloc's view).
memattr() {
	lstopo-no-graphics -p --memattrs 2>/dev/null | awk -v attr="\`$1'" -v node="P#$2" '
		/^Memory attribute/ { in_attr = ($5 == attr) }
		in_attr && $1 == "NUMANode" && $2 == node { print $4; exit }'
}

# hwloc's subtype of NUMA node P#NODE ("NVM" for KMEM DAX memory, else empty).
node_subtype() {
	lstopo-no-graphics -p --no-io | sed -n "s/.*NUMANode(\([^)]*\)) P#$1 .*/\1/p"
}

node1_sysfs() { cat "/sys/devices/system/node/node1/access0/initiators/$1" 2>/dev/null || true; }

# Every memory block of node 1 is onlined into ZONE_MOVABLE (daxctl default),
# so the kernel can always migrate pages off it.
node1_all_movable() {
	local zones
	zones=$(cat /sys/devices/system/node/node1/memory*/valid_zones 2>/dev/null | sort -u)
	[[ $zones == Movable ]]
}

guest_env_ok() {
	[[ ${TM_VM-} == 1 && ${TM_VM_MODE-} =~ ^(hmat|kmem|cxl)$ && -d ${TM_VM_RESULTS-} ]]
}

# daxctl's JSON for dax0.0 says system-ram on node 1.
dax_is_system_ram() {
	grep -q '"mode":"system-ram"' <<<"$1" && grep -q '"target_node":1,' <<<"$1"
}

check_environment() {
	check guest-env "TM_VM=${TM_VM-} TM_VM_MODE=${TM_VM_MODE-} TM_VM_RESULTS=${TM_VM_RESULTS-}" \
		guest_env_ok
	local nb thp
	nb=$(cat /proc/sys/kernel/numa_balancing)
	check numa-balancing-off "kernel.numa_balancing=$nb" equals "$nb" 0
	local demotion
	demotion=$(cat /sys/kernel/mm/numa/demotion_enabled)
	check demotion-off "numa/demotion_enabled=$demotion" equals "$demotion" false
	thp=$(sed 's/.*\[\(.*\)\].*/\1/' /sys/kernel/mm/transparent_hugepage/enabled)
	check thp-madvise "transparent_hugepage/enabled=$thp" equals "$thp" madvise
}

# The HMAT numbers run-guest.sh gives QEMU: node 0 latency 100 ns and
# 20 GiB/s, node 1 300 ns and 5 GiB/s (hwloc and sysfs say MiB/s).
check_hmat_view() {
	local l0 l1 b0 b1
	l0=$(memattr Latency 0) l1=$(memattr Latency 1)
	b0=$(memattr Bandwidth 0) b1=$(memattr Bandwidth 1)
	check hwloc-latency "node 0 ${l0:-none}, node 1 ${l1:-none} (want 100, 300)" \
		equals "$l0/$l1" 100/300
	check hwloc-bandwidth "node 0 ${b0:-none}, node 1 ${b1:-none} (want 20480, 5120)" \
		equals "$b0/$b1" 20480/5120
	local lat bw
	lat=$(node1_sysfs read_latency) bw=$(node1_sysfs read_bandwidth)
	check sysfs-hmat "node1 access0 read_latency=$lat read_bandwidth=$bw" \
		equals "$lat/$bw" 300/5120
}

# KMEM DAX and CXL: node 1 is a dax device onlined as movable system RAM,
# which hwloc labels NVM.
check_dax_node() {
	local sub dax
	sub=$(node_subtype 1)
	check hwloc-node1-nvm "hwloc subtype of node 1: '${sub}' (want NVM)" \
		equals "$sub" NVM
	dax=$(daxctl list -d dax0.0 2>/dev/null | tr -d ' \n')
	check daxctl-system-ram "dax0.0: $dax" dax_is_system_ram "$dax"
	check node1-movable "node 1 memory blocks in ZONE_MOVABLE" node1_all_movable
}

# The CXL window has no HMAT entry (tier discovery must do without one), and
# node 1 is the committed pmem region of the Type-3 device mem0.
check_cxl_node() {
	local lat region
	lat=$(node1_sysfs read_latency)
	check no-hmat-node1 "node1 access0 read_latency='$lat' (want none)" equals "$lat" ""
	region=$(cxl list -R -r region0 2>/dev/null | tr -d ' \n')
	check cxl-region "region0: $region" grep -q '"decode_state":"commit"' <<<"$region"
}

check_mode_specific() {
	local sub
	case ${TM_VM_MODE-} in
	hmat)
		check_hmat_view
		sub=$(node_subtype 1)
		check hwloc-node1-dram "hwloc subtype of node 1: '${sub}' (want none)" \
			equals "$sub" ""
		;;
	kmem)
		check_hmat_view
		check_dax_node
		;;
	cxl)
		check_cxl_node
		check_dax_node
		;;
	esac
}

# bedcheck prints ok/FAIL lines and its own summary; count its lines in ours.
run_bedcheck() {
	local out rc=0 ok bad
	if [[ ! -x build/vm/bedcheck ]]; then
		check bedcheck "build/vm/bedcheck missing (make vm-test builds it)" false
		return
	fi
	out=$(build/vm/bedcheck) || rc=$?
	grep -E '^(ok|FAIL) ' <<<"$out" || true
	ok=$(grep -c '^ok ' <<<"$out" || true)
	bad=$(grep -c '^FAIL ' <<<"$out" || true)
	passed=$((passed + ok))
	failed=$((failed + bad))
	if ((rc != 0 && bad == 0)); then
		check bedcheck "exited $rc without a FAIL line" false
	fi
}

check_environment
run_bedcheck
check_mode_specific
# Not a check: what faults cost here (the uffd heat source pays one per
# first write to a protected page), for comparison with the host's
# (build/vm/faultcost there).
[[ -x build/vm/faultcost ]] && { build/vm/faultcost 4096 || true; }
echo "$passed passed, $failed failed"
((failed == 0))
