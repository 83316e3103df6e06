/* Allocation sites: sampling and lookups (lock-free, from many threads),
 * heat attributed back to sites, their opinions under pressure, top sites,
 * a full table. */
#include <pthread.h>

#include "policy/sites.h"
#include "tests/check.h"
#include "tests/policy/fixture.h"

#define SITE_HOT 0x401000
#define SITE_COLD 0x402000
#define SITE_MID 0x403000

static const tm_plan_summary pressure = {.pressure = 1, .boundary = 100};
static const tm_plan_summary no_pressure = {.pressure = 0};

static void test_attribution(void)
{
	tm_heatmap hm;
	tm_sites_reset();
	fx_map(&hm, 1, (size_t[]){64});
	fx_heat(0, 0, 16, 200);   /* hot memory */
	fx_heat(0, 32, 16, 70);   /* lukewarm */
	CHECK_EQ(tm_sites_tier(SITE_HOT), -1, "unknown site: no opinion");
	tm_sites_sample(fx_addr(0, 0), 16 * FX_PAGE, SITE_HOT);
	tm_sites_sample(fx_addr(0, 4) + 100, 64, SITE_HOT);
	tm_sites_sample(fx_addr(0, 16), 16 * FX_PAGE, SITE_COLD);
	tm_sites_sample(fx_addr(0, 32), 16 * FX_PAGE, SITE_MID);
	for (int i = 0; i < 4; i++)
		tm_sites_update(&hm, &pressure, 1);
	CHECK_EQ(tm_sites_tier(SITE_HOT), 0, "hot site: DRAM");
	CHECK_EQ(tm_sites_tier(SITE_COLD), 1, "cold site: the slow tier");
	CHECK_EQ(tm_sites_tier(SITE_MID), -1, "in between: dram-first");
	tm_sites_update(&hm, &no_pressure, 1);
	CHECK_EQ(tm_sites_tier(SITE_COLD), -1, "no pressure: no opinion");

	/* The memory of the cold site heats up: its opinion follows. */
	fx_heat(0, 16, 16, 255);
	for (int i = 0; i < 6; i++)
		tm_sites_update(&hm, &pressure, 1);
	CHECK_EQ(tm_sites_tier(SITE_COLD), 0, "phase change followed");

	tm_site_info top[2];
	CHECK_EQ(tm_sites_top(top, 2), 2, "top 2");
	CHECK(top[0].bytes >= top[1].bytes, "by bytes");
	CHECK(top[0].site == SITE_HOT || top[0].site == SITE_COLD ||
	      top[0].site == SITE_MID, "a site of ours");
	uint64_t used, dropped, samples;
	tm_sites_counts(&used, &dropped, &samples);
	CHECK_EQ(used, 3, "three sites");
	CHECK_EQ(samples, 4, "four samples");
	CHECK_EQ(dropped, 0, "none dropped");
}

static void test_full_table(void)
{
	tm_sites_reset();
	for (uintptr_t s = 1; s <= 4 * TM_SITES; s++)
		tm_sites_sample(0x1000, 16, s * 0x40);
	uint64_t used, dropped, samples;
	tm_sites_counts(&used, &dropped, &samples);
	CHECK(used <= TM_SITES, "no more sites than slots (%llu)",
	      (unsigned long long)used);
	CHECK_EQ(used + dropped, 4 * TM_SITES, "the rest counted as dropped");
	CHECK_EQ(tm_sites_tier(0x12345), -1, "lookups still answer");
}

/* Many threads sample and ask at once, as from inside malloc. */
static void *sampler(void *arg)
{
	uintptr_t base = (uintptr_t)arg;
	for (int i = 0; i < 20000; i++) {
		tm_sites_sample(fx_addr(0, (size_t)(i % 64)), 4096, base + (uintptr_t)(i % 50) * 16);
		(void)tm_sites_tier(base + (uintptr_t)(i % 50) * 16);
	}
	return NULL;
}

static void test_threads(void)
{
	tm_heatmap hm;
	tm_sites_reset();
	fx_map(&hm, 1, (size_t[]){64});
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, sampler, (void *)(uintptr_t)(0x500000 * (i + 1)));
	for (int r = 0; r < 20; r++)
		tm_sites_update(&hm, &pressure, 1);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	uint64_t used, dropped, samples;
	tm_sites_counts(&used, &dropped, &samples);
	CHECK_EQ(samples + dropped, 4 * 20000, "every sample counted");
	CHECK_EQ(used, 200, "each site once");
}

int main(void)
{
	test_attribution();
	test_full_table();
	test_threads();
	return check_summary();
}
