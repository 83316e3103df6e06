#!/bin/sh
# The library finds both tiers, DRAM first, from the kernel's memory tiers
# (in cxl mode from them alone: node 1 has no HMAT entry).
# vm-timeout: 30
set -eu
. tests/vm/testlib.sh
out=$(TIERMALLOC_VERBOSE=1 LD_PRELOAD=$LIB /bin/true 2>&1)
echo "$out"
echo "$out" | grep -q "tier 0: nodes 0, " || fail "tier 0 is not node 0"
echo "$out" | grep -q "tier 1: nodes 1, .*CPU-less" || fail "tier 1 is not CPU-less node 1"
echo "$out" | grep -q "tiers from kernel memory tiers; tiered allocation" ||
	fail "not tiered from kernel memory tiers"
case "${TM_VM_MODE:-}" in
hmat) echo "$out" | grep -q "tier 1: .*latency 300 ns, bandwidth 5120 MB/s" ||
	fail "HMAT numbers of node 1 not found" ;;
kmem | cxl) echo "$out" | grep -q "tier 1: nodes 1, [0-9]* MiB, NVM" ||
	fail "dax node 1 not seen as NVM" ;;
esac
[ "$(echo "$out" | grep -c warning)" = 0 ] || fail "unexpected warnings"
