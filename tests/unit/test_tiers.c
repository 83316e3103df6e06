/* Tier discovery from sysfs trees: one node, the two-tier guest in HMAT and
 * KMEM DAX modes, three tiers, kernels without memory tiers, overrides. */
#include <string.h>

#include "allocator/tiers.h"
#include "tests/check.h"

#define TREES "tests/unit/sysfs/"

static void test_nodelist(void)
{
	uint64_t m;
	char buf[64];
	CHECK(tm_nodelist_parse("0", &m) == 0 && m == 1, "0");
	CHECK(tm_nodelist_parse("0-2,5", &m) == 0 && m == 0x27, "0-2,5");
	CHECK(tm_nodelist_parse("", &m) == 0 && m == 0, "empty");
	CHECK(tm_nodelist_parse("2-1", &m) < 0, "reversed");
	CHECK(tm_nodelist_parse("64", &m) < 0, "too big");
	CHECK(tm_nodelist_parse("a", &m) < 0, "letter");
	CHECK(tm_nodelist_parse("1,,2", &m) < 0, "double comma");
	CHECK(tm_nodelist_parse("-1", &m) < 0, "negative");
	tm_nodelist_format(0x2f, buf, sizeof(buf));
	CHECK(strcmp(buf, "0-3,5") == 0, "format %s", buf);
	CHECK_EQ(tm_first_node(0x30), 4, "first node");
	CHECK_EQ(tm_first_node(0), -1, "first of none");
}

/* Discovery, then what describes the tiers. */
static void find(const char *tree, const char *override, tm_tierset *s)
{
	tm_tiers_discover(tree, override, s);
	tm_tiers_describe(tree, s);
}

static void test_one_node(void)
{
	tm_tierset s;
	tm_tiers_discover(TREES "one-node", "", &s);
	CHECK_EQ(s.count, 1, "one tier");
	CHECK_EQ(s.tier[0].nodes, 1, "node 0");
	CHECK(!s.described && s.tier[0].capacity == 0, "not described by discovery");
	CHECK(strcmp(s.source, "single node") == 0, "source %s", s.source);
	tm_tiers_describe(TREES "one-node", &s);
	CHECK_EQ(s.tier[0].capacity, 24576000ULL * 1024, "capacity");
	tm_tiers_describe(TREES "one-node", &s);
	CHECK_EQ(s.tier[0].capacity, 24576000ULL * 1024, "described once");
	find(TREES "does-not-exist", "", &s);
	CHECK_EQ(s.count, 1, "no sysfs: one tier");
	CHECK(strcmp(s.source, "no NUMA information") == 0, "source %s", s.source);
	CHECK(!s.tier[0].cpuless, "no sysfs: not CPU-less");
}

static void check_two_tier(const char *tree, int slow_kernel_tier,
			   uint32_t slow_latency)
{
	tm_tierset s;
	find(tree, "", &s);
	CHECK_EQ(s.count, 2, "%s: two tiers", tree);
	CHECK_EQ(s.tier[0].nodes, 1, "%s: DRAM is node 0", tree);
	CHECK_EQ(s.tier[1].nodes, 2, "%s: slow is node 1", tree);
	CHECK_EQ(s.tier[0].kernel_tier, 4, "%s: kernel tier 4", tree);
	CHECK_EQ(s.tier[1].kernel_tier, slow_kernel_tier, "%s: kernel tier %d",
		 tree, slow_kernel_tier);
	CHECK(!s.tier[0].cpuless && s.tier[1].cpuless, "%s: CPU-less slow", tree);
	CHECK_EQ(s.tier[1].latency_ns, slow_latency, "%s: slow latency", tree);
	CHECK(strcmp(s.source, "kernel memory tiers") == 0, "%s: %s", tree, s.source);
}

static void test_guest_trees(void)
{
	check_two_tier(TREES "hmat", 54, 300);
	check_two_tier(TREES "kmem", 54, 300);
	/* CXL memory without an HMAT entry: ranked by the kernel's tiers alone. */
	check_two_tier(TREES "cxl", 22, 0);
	tm_tierset s;
	find(TREES "kmem", "", &s);
	CHECK_EQ(s.tier[1].capacity, 1048576ULL * 1024, "kmem: 1 GiB NVDIMM on node 1");
	CHECK_EQ(s.tier[1].bandwidth_mbs, 5120, "kmem: HMAT bandwidth of node 1");
}

static void test_three_tiers(void)
{
	tm_tierset s;
	find(TREES "three-tier", "", &s);
	CHECK_EQ(s.count, 3, "three tiers");
	CHECK_EQ(s.tier[0].nodes, 3, "DRAM 0-1");
	CHECK_EQ(s.tier[1].nodes, 4, "CXL 2");
	CHECK_EQ(s.tier[2].nodes, 8, "pmem 3");
	CHECK_EQ(s.tier[0].capacity, 16000000ULL * 1024, "DRAM capacity sums nodes");
	CHECK_EQ(s.tier[2].bandwidth_mbs, 4000, "pmem bandwidth");
}

static void test_without_kernel_tiers(void)
{
	tm_tierset s;
	tm_tiers_discover(TREES "no-tiers", "", &s);
	CHECK_EQ(s.count, 2, "CPU-less node is a tier");
	CHECK_EQ(s.tier[1].nodes, 2, "node 1 slow");
	CHECK(strcmp(s.source, "CPU-less nodes") == 0, "%s", s.source);
	tm_tiers_discover(TREES "two-socket", "", &s);
	CHECK_EQ(s.count, 1, "two DRAM sockets are one tier");
	CHECK_EQ(s.tier[0].nodes, 3, "both nodes");
}

static void test_override(void)
{
	tm_tierset s;
	tm_tiers_discover(TREES "hmat", "1;0", &s);
	CHECK_EQ(s.count, 2, "override two");
	CHECK_EQ(s.tier[0].nodes, 2, "override order");
	CHECK(strcmp(s.source, "TIERMALLOC_TIERS") == 0, "%s", s.source);
	tm_tiers_discover(TREES "three-tier", "0,1;2,3", &s);
	CHECK_EQ(s.count, 2, "merged slow tiers");
	CHECK_EQ(s.tier[1].nodes, 12, "2,3");
	tm_tiers_discover(TREES "hmat", "0;7", &s);
	CHECK_EQ(s.count, 1, "missing node dropped");
	tm_tiers_discover(TREES "hmat", "7", &s);
	CHECK_EQ(s.count, 2, "nothing usable: discovered tiers");
	tm_tiers_discover(TREES "hmat", "x;1", &s);
	CHECK_EQ(s.count, 2, "garbage: discovered tiers");
	CHECK_EQ(s.tier[0].nodes, 1, "garbage: discovered order");
}

int main(void)
{
	test_nodelist();
	test_one_node();
	test_guest_trees();
	test_three_tiers();
	test_without_kernel_tiers();
	test_override();
	return check_summary();
}
