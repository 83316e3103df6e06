/* The heat map: credit, cooling, hints, lookups, growth, histogram, and the
 * metadata's share of the heap. */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "tests/check.h"
#include "tests/policy/fixture.h"

static void test_credit_and_cooling(void)
{
	tm_heatmap hm;
	fx_map(&hm, 1, (size_t[]){64});
	CHECK_EQ(tm_heatmap_credit(&hm, fx_addr(0, 2), fx_addr(0, 4), 100), 2,
		 "two pages credited");
	CHECK_EQ(tm_heatmap_credit(&hm, fx_addr(0, 2) + 10, fx_addr(0, 2) + 11, 100), 1,
		 "a byte credits its page");
	CHECK_EQ(atomic_load(&fx_cell(0, 2)->heat), 200, "credit adds up");
	CHECK_EQ(atomic_load(&fx_cell(0, 3)->heat), 100, "neighbour");
	tm_heatmap_credit(&hm, fx_addr(0, 2), fx_addr(0, 3), 100);
	CHECK_EQ(atomic_load(&fx_cell(0, 2)->heat), TM_HEAT_MAX, "saturates");
	CHECK_EQ(tm_heatmap_credit(&hm, fx_addr(0, 64), fx_addr(0, 70), 10), 0,
		 "nothing beyond the heap's end");
	CHECK_EQ(tm_heatmap_credit(&hm, 0x1000, 0x2000, 10), 0, "nothing outside");

	/* A page hot in every period settles at the top; left alone it falls
	 * below a quarter of that in five periods, and to nothing in time. */
	fx_heat(0, 5, 1, 0);
	for (int i = 0; i < 20; i++) {
		tm_heatmap_cool(&hm);
		tm_heatmap_credit(&hm, fx_addr(0, 5), fx_addr(0, 6), TM_HEAT_FULL);
	}
	CHECK(atomic_load(&fx_cell(0, 5)->heat) >= 250, "steady heat near the top");
	for (int i = 0; i < 5; i++)
		tm_heatmap_cool(&hm);
	CHECK(atomic_load(&fx_cell(0, 5)->heat) < 64, "under a quarter in 5 periods");
	for (int i = 0; i < 20; i++)
		tm_heatmap_cool(&hm);
	CHECK_EQ(atomic_load(&fx_cell(0, 5)->heat), 0, "cooled off");
	fx_heat(0, 6, 1, 200);
	tm_heatmap_cool(&hm);
	CHECK_EQ(atomic_load(&fx_cell(0, 6)->heat), 150, "cooling takes a quarter");

	/* A collection after 3 skipped periods counts for 4. */
	fx_heat(0, 7, 1, 0);
	hm.periods_skipped = 3;
	tm_heatmap_credit(&hm, fx_addr(0, 7), fx_addr(0, 8), 10);
	CHECK_EQ(atomic_load(&fx_cell(0, 7)->heat), 40, "credit for each period");
	hm.periods_skipped = 0;
}

/* Beside write tracking, DAMON's credit (a region's) leaves huge blocks
 * alone and write tracking's counts whole there; pages outside them get
 * half of each, as before. Alone, DAMON credits huge blocks too. */
static void test_huge_by_writes(void)
{
	tm_heatmap hm;
	fx_map(&hm, 1, (size_t[]){3 * FX_BLOCK});
	fx_huge_block(&hm, 0, 1);
	hm.credit_shift = 1;
	hm.huge_by_writes = true;
	uintptr_t start = fx_addr(0, FX_BLOCK - 1), end = fx_addr(0, 2 * FX_BLOCK + 1);
	CHECK_EQ(tm_heatmap_credit_region(&hm, start, end, 40), FX_BLOCK + 2,
		 "a region over a huge block counts its pages as seen");
	CHECK_EQ(atomic_load(&fx_cell(0, FX_BLOCK - 1)->heat), 20, "half for a page");
	CHECK_EQ(atomic_load(&fx_cell(0, FX_BLOCK)->heat), 0, "none in the huge block");
	CHECK_EQ(atomic_load(&fx_cell(0, 2 * FX_BLOCK)->heat), 20, "half after it");
	tm_heatmap_credit(&hm, start, end, 40);
	CHECK_EQ(atomic_load(&fx_cell(0, FX_BLOCK - 1)->heat), 40, "writes: half again");
	CHECK_EQ(atomic_load(&fx_cell(0, 2 * FX_BLOCK - 1)->heat), 40,
		 "writes count whole in the huge block");
	hm.credit_shift = 0;
	hm.huge_by_writes = false;
	tm_heatmap_credit_region(&hm, start, end, 40);
	CHECK_EQ(atomic_load(&fx_cell(0, FX_BLOCK)->heat), 80, "DAMON alone: credited");
	CHECK_EQ(atomic_load(&fx_cell(0, FX_BLOCK - 1)->heat), 80, "whole, everywhere");
}

static void test_hints(void)
{
	tm_heatmap hm;
	fx_map(&hm, 2, (size_t[]){16, 16});
	fx_heat(0, 0, 16, 50);
	CHECK_EQ(tm_heatmap_hint(&hm, fx_addr(0, 1) + 100, fx_addr(0, 3) + 1, TM_HOT),
		 3, "hint rounds out to pages");
	CHECK_EQ(tm_cell_heat(fx_cell(0, 1)), TM_HEAT_MAX, "hot hint reads max");
	CHECK_EQ(tm_cell_heat(fx_cell(0, 4)), 50, "unhinted page keeps its heat");
	tm_heatmap_hint(&hm, fx_addr(0, 1), fx_addr(0, 2), TM_COLD);
	CHECK_EQ(tm_cell_heat(fx_cell(0, 1)), 0, "cold hint reads 0");
	tm_heatmap_hint(&hm, fx_addr(0, 1), fx_addr(0, 2), TM_NORMAL);
	CHECK_EQ(tm_cell_heat(fx_cell(0, 1)), 50, "normal forgets the hint");
	CHECK_EQ(tm_heatmap_hint(&hm, fx_addr(1, 100), fx_addr(1, 101), TM_HOT), 1,
		 "hints reach beyond the heap seen so far (still in the span)");
	CHECK_EQ(tm_heatmap_hint(&hm, 0x1000, 0x3000, TM_HOT), 0, "not ours");
}

static void test_lookup_and_mean(void)
{
	tm_heatmap hm;
	fx_map(&hm, 2, (size_t[]){8, 8});
	CHECK(tm_heatmap_cell(&hm, fx_addr(1, 3) + 5) == fx_cell(1, 3), "cell of addr");
	CHECK(tm_heatmap_cell(&hm, 12345) == NULL, "no cell outside");
	CHECK_EQ(tm_heatmap_span_of(&hm, fx_addr(1, 0)), 1, "span of addr");
	fx_heat(0, 0, 4, 100);
	CHECK_EQ(tm_heatmap_mean(&hm, fx_addr(0, 0), fx_addr(0, 8), 64), 50, "mean");
	CHECK_EQ(tm_heatmap_mean(&hm, fx_addr(0, 0), fx_addr(0, 8), 4), 50,
		 "mean of a spread sample");
	CHECK_EQ(tm_heatmap_mean(&hm, 4096, 8192, 4), -1, "no mean outside");
}

static void test_histogram(void)
{
	tm_heatmap hm;
	uint64_t hist[TM_TIER_MAX][TM_HEAT_HIST];
	fx_map(&hm, 2, (size_t[]){10, 6});
	fx_heat(0, 0, 3, 255);
	fx_cell(0, 9)->tier = TM_TIER_NONE;
	tm_heatmap_histogram(&hm, hist);
	CHECK_EQ(hist[0][TM_HEAT_HIST - 1], 3, "hot pages in the top bucket");
	CHECK_EQ(hist[0][0], 6, "cold present pages of tier 0");
	CHECK_EQ(hist[1][0], 6, "tier 1");
}

/* Cells are committed as the heap grows, from any thread. */
static int grown_to;
static int grow(void *cells, size_t old_bytes, size_t new_bytes)
{
	grown_to = (int)new_bytes;
	return mprotect(cells, new_bytes, PROT_READ | PROT_WRITE) ? -errno : 0;
}

static void test_cover(void)
{
	tm_heatmap hm;
	size_t span = 1UL << 32, cells = (span >> FX_SHIFT) * sizeof(tm_cell);
	void *mem = mmap(NULL, cells, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS |
			 MAP_NORESERVE, -1, 0);
	tm_heatmap_init(&hm, FX_SHIFT, grow);
	tm_heatmap_add_span(&hm, 1UL << 40, span, mem, 0);
	CHECK(tm_heatmap_cell(&hm, 1UL << 40) == NULL, "nothing usable yet");
	CHECK_EQ(tm_heatmap_cover(&hm, 0, (1UL << 40) + 5 * FX_PAGE), 0, "cover");
	CHECK(tm_heatmap_cell(&hm, (1UL << 40) + 4 * FX_PAGE) != NULL, "usable now");
	CHECK_EQ(grown_to, 64 << 10, "grown in steps");
	CHECK_EQ(tm_heatmap_bytes(&hm), 64 << 10, "the memory kept: cells committed");
	uint64_t huge[4];
	hm.span[0].huge = huge;
	CHECK_EQ(tm_heatmap_bytes(&hm), (64 << 10) + tm_heatmap_huge_bytes(span),
		 "and the huge-block bitmap");
	hm.span[0].huge = NULL;
	grown_to = 0;
	tm_heatmap_cover(&hm, 0, (1UL << 40) + 6 * FX_PAGE);
	CHECK_EQ(grown_to, 0, "no system call within a step");
	CHECK_EQ(tm_heatmap_hint(&hm, (1UL << 40) + 100000 * FX_PAGE,
				 (1UL << 40) + 100001 * FX_PAGE, TM_HOT), 1,
		 "a hint covers its cells");
	CHECK_EQ(tm_heatmap_extend(&hm, 0, (1UL << 40) + 100001 * FX_PAGE), 0, "extend");
	CHECK_EQ(tm_span_pages(&hm, &hm.span[0]), 100001, "the heap grew");
	tm_cell *c = tm_heatmap_cell(&hm, (1UL << 40) + 100000 * FX_PAGE);
	CHECK(c->tier == TM_TIER_NONE && atomic_load(&c->hint) == TM_HOT,
	      "new pages not located yet; their hint kept");
	CHECK_EQ(c->age, TM_AGE_MAX, "and free to move: they never moved");
	munmap(mem, cells);
}

int main(void)
{
	/* Heat map metadata: at most 0.2% of the heap it describes. */
	CHECK(sizeof(tm_cell) * 1000 <= FX_PAGE * 2, "cell is %zu bytes a page",
	      sizeof(tm_cell));
	test_credit_and_cooling();
	test_huge_by_writes();
	test_hints();
	test_lookup_and_mean();
	test_histogram();
	test_cover();
	return check_summary();
}
