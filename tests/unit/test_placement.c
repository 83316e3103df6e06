/* Placement policies and DRAM quota accounting. */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "allocator/config.h"
#include "allocator/heap.h"
#include "allocator/placement.h"
#include "tests/check.h"

static tm_placement fresh(int policy, int64_t quota)
{
	tm_placement pl;
	memset(&pl, 0, sizeof(pl));
	pl.cfg.tiers = 2;
	pl.cfg.policy = policy;
	pl.cfg.quota = quota;
	pl.cfg.ratio_fast = 1;
	pl.cfg.ratio_slow = 3;
	pl.cfg.threshold = 4096;
	return pl;
}

static void test_dram_first_and_quota(void)
{
	tm_placement pl = fresh(TM_POLICY_DRAM_FIRST, 1 << 20);
	CHECK_EQ(tm_place(&pl, 1000, -1), 0, "fits");
	atomic_store(&pl.used[0], (1 << 20) - 100);
	CHECK_EQ(tm_place(&pl, 100, -1), 0, "exactly fits");
	CHECK_EQ(tm_place(&pl, 101, -1), 1, "over quota goes down");
	tm_place_fold(&pl);
	CHECK_EQ(atomic_load(&pl.quota_fallbacks), 1, "fallback counted");
	pl.cfg.tiers = 1;
	CHECK_EQ(tm_place(&pl, 1 << 30, -1), 0, "one tier: always 0");
}

static void test_ratio(void)
{
	tm_placement pl = fresh(TM_POLICY_RATIO, INT64_MAX);
	int fast = 0, slow = 0;
	for (int i = 0; i < 4000; i++) {
		int t = tm_place(&pl, 100, -1);
		atomic_fetch_add(&pl.used[t], 100);
		if (t)
			slow++;
		else
			fast++;
	}
	CHECK(fast >= 995 && fast <= 1005, "1:3 gives a quarter fast (%d)", fast);
	CHECK(slow >= 2995 && slow <= 3005, "three quarters slow (%d)", slow);
}

static void test_threshold(void)
{
	tm_placement pl = fresh(TM_POLICY_THRESHOLD, INT64_MAX);
	CHECK_EQ(tm_place(&pl, 4095, -1), 0, "small fast");
	CHECK_EQ(tm_place(&pl, 4096, -1), 1, "threshold slow");
	pl.cfg.quota = 0;
	CHECK_EQ(tm_place(&pl, 1, -1), 1, "quota beats small");
}

static void test_heat_sites(void)
{
	tm_placement pl = fresh(TM_POLICY_HEAT, INT64_MAX);
	CHECK_EQ(tm_place(&pl, 10, -1), 0, "unknown site: dram-first");
	CHECK_EQ(tm_place(&pl, 10, 1), 1, "cold site");
	CHECK_EQ(tm_place(&pl, 10, 7), 0, "bad tier ignored");
	tm_place_fold(&pl);
	CHECK_EQ(atomic_load(&pl.site_choices), 1, "site choice counted");
	pl.cfg.quota = 5;
	CHECK_EQ(tm_place(&pl, 10, 0), 1, "hot site still under quota");
}

static void test_configure(void)
{
	char *env[] = {"TIERMALLOC_DRAM_LIMIT=25%", "TIERMALLOC_POLICY=threshold",
		       "TIERMALLOC_THRESHOLD=1M", NULL};
	tm_config_load(env, false);
	tm_placement pl = fresh(0, 0);
	tm_placement_configure(&pl, 2, 400 << 20);
	CHECK_EQ(pl.cfg.quota, 100 << 20, "25%% of 400 MiB");
	CHECK_EQ(pl.cfg.policy, TM_POLICY_THRESHOLD, "policy");
	CHECK_EQ(pl.cfg.threshold, 1 << 20, "threshold");
	CHECK_EQ(tm_place_quick(&pl, 1), -1, "threshold: no quick answer");
	char err[128];
	CHECK(tm_config_set("TIERMALLOC_DRAM_LIMIT", "64M", err, sizeof(err)) == 0, "set");
	tm_placement_configure(&pl, 2, 400 << 20);
	CHECK_EQ(pl.cfg.quota, 64 << 20, "live quota");
}

static void test_quick(void)
{
	char *env[] = {"TIERMALLOC_DRAM_LIMIT=1M", "TIERMALLOC_POLICY=dram-first", NULL};
	tm_config_load(env, false);
	tm_placement pl = fresh(0, 0);
	tm_placement_configure(&pl, 2, 400 << 20);
	CHECK_EQ(tm_place_quick(&pl, 1 << 20), TM_QUICK_TIER0, "fits: tier 0");
	atomic_store(&pl.used[0], 100);
	CHECK_EQ(tm_place_quick(&pl, 1 << 20), -1, "past the quota: ask");
	tm_placement_configure(&pl, 1, 400 << 20);
	CHECK_EQ(tm_place_quick(&pl, 1 << 30), TM_QUICK_TIER0, "one tier: no quota");
}

/* The heat policy asks for a site's tier only once it has an opinion of
 * some site: until then malloc places as dram-first, without the call. */
static void test_quick_heat(void)
{
	char *env[] = {"TIERMALLOC_POLICY=heat", NULL};
	tm_config_load(env, false);
	tm_placement_configure(&tm_place_state, 2, 400 << 20);
	CHECK_EQ(tm_place_quick(&tm_place_state, 1), TM_QUICK_TIER0, "no opinions: tier 0");
	tm_heap_site_opinions(true);
	CHECK_EQ(tm_place_quick(&tm_place_state, 1), TM_QUICK_HEAT, "opinions: ask the sites");
	tm_placement_configure(&tm_place_state, 2, 400 << 20);
	CHECK_EQ(tm_place_quick(&tm_place_state, 1), TM_QUICK_HEAT, "kept across a reconfiguration");
	tm_heap_site_opinions(false);
	CHECK_EQ(tm_place_quick(&tm_place_state, 1), TM_QUICK_TIER0, "opinions gone: tier 0");
}

/* A window of allocations is placed once, where tm_place would place each
 * of them: tier 0 with room, tier 1 past the quota for the policies that
 * send everything there, each allocation asked otherwise. */
static void test_window(void)
{
	char *env[] = {"TIERMALLOC_POLICY=dram-first", "TIERMALLOC_DRAM_LIMIT=1M", NULL};
	tm_config_load(env, false);
	tm_placement_configure(&tm_place_state, 2, 400 << 20);
	atomic_store(&tm_place_state.used[0], 0);
	CHECK_EQ(tm_place_window(&tm_place_state, 256 << 10), 0, "room: tier 0");
	atomic_store(&tm_place_state.used[0], (1 << 20) - (128 << 10));
	CHECK_EQ(tm_place_window(&tm_place_state, 256 << 10), 1, "no room for the window: tier 1");
	CHECK_EQ(tm_place(&tm_place_state, 256 << 10, -1), 1, "as tm_place says");
	char err[128];
	tm_config_set("TIERMALLOC_POLICY", "heat", err, sizeof(err));
	tm_placement_configure(&tm_place_state, 3, 400 << 20);
	CHECK_EQ(tm_place_window(&tm_place_state, 256 << 10), 1, "heat, no opinions: tier 1");
	tm_heap_site_opinions(true);
	CHECK_EQ(tm_place_window(&tm_place_state, 256 << 10), -1,
		 "three tiers and site opinions: each asks");
	tm_placement_configure(&tm_place_state, 2, 400 << 20);
	CHECK_EQ(tm_place_window(&tm_place_state, 256 << 10), 1, "two tiers: tier 1 whatever the site");
	tm_heap_site_opinions(false);
	atomic_store(&tm_place_state.used[0], 0);
	tm_heap_site_opinions(true);
	CHECK_EQ(tm_place_window(&tm_place_state, 256 << 10), -1, "room and opinions: each asks");
	tm_heap_site_opinions(false);
	tm_config_set("TIERMALLOC_POLICY", "ratio", err, sizeof(err));
	tm_placement_configure(&tm_place_state, 2, 400 << 20);
	CHECK_EQ(tm_place_window(&tm_place_state, 256 << 10), -1, "ratio: each asks");
	atomic_store(&tm_place_state.used[0], 0);
}

/* The ratio alternates between 1:3 and 5:7 while readers decide. With one
 * byte on each tier both ratios send the next allocation to the slow tier;
 * only a torn read (5 from the new ratio, 3 from the old) sends it to the
 * fast one (issue 10). Decided through tm_place, as malloc decides. */
static tm_placement shared;
static atomic_bool stop;
static atomic_long rewrites;

static void *reconfigure(void *arg)
{
	char err[128];
	for (int i = 0; !atomic_load(&stop); i++) {
		tm_config_set("TIERMALLOC_RATIO", i & 1 ? "5:7" : "1:3", err, sizeof(err));
		tm_placement_configure(&shared, 2, 400 << 20);
		atomic_fetch_add(&rewrites, 1);
	}
	return NULL;
}

static void test_no_torn_config(void)
{
	char *env[] = {"TIERMALLOC_POLICY=ratio", "TIERMALLOC_RATIO=1:3",
		       "TIERMALLOC_DRAM_LIMIT=1M", NULL};
	tm_config_load(env, false);
	tm_placement_configure(&shared, 2, 400 << 20);
	atomic_store(&shared.used[0], 1);
	atomic_store(&shared.used[1], 1);
	pthread_t writer;
	pthread_create(&writer, NULL, reconfigure, NULL);
	long torn = 0;
	while (atomic_load(&rewrites) < 3000000 && !torn)
		torn += tm_place(&shared, 10, -1) == 0;
	atomic_store(&stop, true);
	pthread_join(writer, NULL);
	CHECK_EQ(torn, 0, "no decision from a torn ratio");
}

int main(void)
{
	test_dram_first_and_quota();
	test_ratio();
	test_threshold();
	test_heat_sites();
	test_configure();
	test_quick();
	test_quick_heat();
	test_window();
	test_no_torn_config();
	return check_summary();
}
