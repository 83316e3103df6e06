/* DAMON's probes (policy/probes.c): which pages are checked one by one
 * (just demoted, or found read before; spaced so that DAMON cannot merge
 * them; each its turn when there are more than probes), and the regions
 * DAMON is given, the probes cut out with a page of no region on either
 * side. */
#include "policy/probes.h"
#include "tests/check.h"
#include "tests/policy/fixture.h"

static void demote(int span, size_t page, uint8_t age)
{
	fx_cell(span, page)->tier = 1;
	fx_cell(span, page)->age = age;
}

static bool among(const uintptr_t *p, size_t n, uintptr_t addr)
{
	for (size_t k = 0; k < n; k++)
		if (p[k] == addr)
			return true;
	return false;
}

static void test_choose(void)
{
	tm_heatmap hm;
	fx_map(&hm, 2, (size_t[]){64, 1024});
	demote(0, 5, 0);
	demote(0, 6, 0);                 /* next to 5: DAMON could merge them */
	demote(0, 9, 1);
	demote(0, 12, TM_PROBE_AGE);     /* demoted too long ago */
	fx_cell(0, 20)->age = TM_AGE_CAME_UP; /* just promoted, in DRAM */
	demote(0, 30, 1);
	fx_heat(0, 30, 1, TM_PROBE_HEAT); /* demoted on the evidence of its heat */
	demote(1, 3, 0);                 /* a failed move starts the age too */
	fx_huge_block(&hm, 1, 1);
	demote(1, 600, 0);               /* in a huge page */
	uintptr_t keep[] = {fx_addr(1, 40)}, out[TM_PROBES];
	tm_probe_cursor cur = {0, 0};
	size_t n = tm_probes_choose(&hm, keep, 1, &cur, out);
	uintptr_t want[] = {fx_addr(0, 5), fx_addr(0, 9), fx_addr(1, 3), fx_addr(1, 40)};
	CHECK_EQ(n, 4, "demoted lately without heat, and the page found read");
	for (size_t k = 0; k < n && k < 4; k++)
		CHECK_EQ(out[k], want[k], "probe %zu in address order", k);
}

static void test_kept(void)
{
	tm_heatmap hm;
	fx_map(&hm, 2, (size_t[]){64, 1024});
	demote(0, 10, 0);
	uintptr_t keep[TM_PROBES], out[TM_PROBES];
	for (size_t k = 0; k < TM_PROBES; k++)
		keep[k] = fx_addr(1, 2 * k);
	tm_probe_cursor cur = {0, 0};
	size_t n = tm_probes_choose(&hm, keep, TM_PROBES, &cur, out);
	CHECK_EQ(n, TM_PROBES_KEPT + 1, "pages found read keep some probes, not all");
	CHECK(among(out, n, fx_addr(0, 10)), "a page just demoted is still checked");
}

static void test_turns(void)
{
	tm_heatmap hm;
	fx_map(&hm, 2, (size_t[]){64, 1024});
	size_t demoted = TM_PROBES + TM_PROBES / 2;
	for (size_t k = 0; k < demoted; k++)
		demote(1, 100 + 2 * k, 0);
	uintptr_t first[TM_PROBES], second[TM_PROBES];
	tm_probe_cursor cur = {0, 0};
	CHECK_EQ(tm_probes_choose(&hm, NULL, 0, &cur, first), TM_PROBES, "all probes used");
	CHECK_EQ(tm_probes_choose(&hm, NULL, 0, &cur, second), TM_PROBES, "again");
	uintptr_t last = fx_addr(1, 100 + 2 * (demoted - 1));
	CHECK(!among(first, TM_PROBES, last), "the last page waits its turn");
	CHECK(among(second, TM_PROBES, last), "and has it next period");
	CHECK(among(second, TM_PROBES, fx_addr(1, 100)), "then the search goes round");
}

/* No two regions touch, every probe is one page of its own, and every
 * other page of the spans is in a region unless it is a probe's
 * neighbour. */
static void test_regions(void)
{
	uintptr_t a = fx_addr(0, 0), b = fx_addr(1, 0), p = FX_PAGE;
	uintptr_t span_start[] = {a, b}, span_end[] = {a + 16 * p, b + 8 * p};
	uintptr_t probe[] = {a, a + 5 * p, a + 7 * p, b + 7 * p};
	uintptr_t start[2 + 2 * 4], end[2 + 2 * 4];
	size_t n = tm_probes_regions(span_start, span_end, 2, probe, 4, p, start, end);
	uintptr_t ws[] = {a, a + 2 * p, a + 5 * p, a + 7 * p, a + 9 * p, b, b + 7 * p};
	uintptr_t we[] = {a + p, a + 4 * p, a + 6 * p, a + 8 * p, a + 16 * p, b + 6 * p, b + 8 * p};
	CHECK_EQ(n, 7, "regions");
	for (size_t k = 0; k < n && k < 7; k++) {
		CHECK_EQ(start[k], ws[k], "region %zu's start", k);
		CHECK_EQ(end[k], we[k], "region %zu's end", k);
		CHECK(k == 0 || start[k] > end[k - 1], "region %zu does not touch the one before", k);
	}
	CHECK(tm_probes_has(probe, 4, a + 5 * p), "a probe");
	CHECK(!tm_probes_has(probe, 4, a + 6 * p), "not a probe");
	CHECK_EQ(tm_probes_regions(span_start, span_end, 2, NULL, 0, p, start, end), 2,
		 "without probes: the spans");
}

int main(void)
{
	test_choose();
	test_kept();
	test_turns();
	test_regions();
	return check_summary();
}
