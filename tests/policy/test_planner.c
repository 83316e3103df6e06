/* The placement plan as a pure function: capacity, free room, swaps,
 * hysteresis, the rate limit, quota changes, hints, and no ping-pong. */
#include <stdlib.h>

#include "policy/planner.h"
#include "tests/check.h"
#include "tests/policy/fixture.h"

#define MAX_MOVES 4096
static tm_move moves[MAX_MOVES];

static tm_plan_params params(int tiers, int64_t cap0)
{
	tm_plan_params p = {
		.tiers = tiers,
		.budget = 1 << 20,
		.min_age = 4,
		.margin = 32,
		.min_heat = 16,
	};
	p.cap[0] = cap0;
	for (int t = 1; t < tiers; t++)
		p.cap[t] = 1 << 20;
	return p;
}

static size_t count(const tm_move *m, size_t n, int to)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += m[i].to == to;
	return k;
}

/* Carry a plan out on the cells, as the mover does when all goes well. */
static void apply(const tm_heatmap *hm, const tm_move *m, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		tm_cell *c = tm_heatmap_cell(hm, m[i].addr);
		c->tier = (uint8_t)m[i].to;
		c->age = 0;
	}
}

static void age_all(int spans, const size_t *pages)
{
	for (int s = 0; s < spans; s++)
		for (size_t i = 0; i < pages[s]; i++)
			if (tm_cell_age(fx_cell(s, i)) < TM_AGE_MAX)
				fx_cell(s, i)->age++;
}

/* DRAM full of cold pages, hot pages below: they swap, demotions first. */
static void test_swap(void)
{
	tm_heatmap hm;
	tm_plan_summary sum;
	fx_map(&hm, 2, (size_t[]){100, 100});
	fx_heat(1, 10, 20, 200);
	tm_plan_params p = params(2, 100);
	size_t n = fx_plan(&hm, &p, moves, MAX_MOVES, &sum);
	CHECK_EQ(n, 40, "20 swaps");
	CHECK_EQ(count(moves, n, 0), 20, "20 promotions");
	CHECK_EQ(sum.promotions, 20, "summary promotions");
	CHECK_EQ(sum.demotions, 20, "summary demotions");
	for (size_t i = 0; i < 20; i++)
		CHECK(moves[i].to == 1 && moves[i].from == 0, "demotions first (%zu)", i);
	for (size_t i = 20; i < n; i++) {
		tm_cell *c = tm_heatmap_cell(&hm, moves[i].addr);
		CHECK(atomic_load(&c->heat) == 200 && moves[i].from == 1,
		      "only the hot pages come up (%zu)", i);
	}
	CHECK_EQ(sum.resident[0], 100, "resident before");
	CHECK(sum.pressure, "200 pages for 100: pressure");
	apply(&hm, moves, n);
	age_all(2, (size_t[]){100, 100});
	n = fx_plan(&hm, &p, moves, MAX_MOVES, &sum);
	CHECK_EQ(n, 0, "settled right after (hysteresis)");
}

/* Free DRAM: promotions without demotions, up to capacity less headroom. */
static void test_room(void)
{
	tm_heatmap hm;
	tm_plan_summary sum;
	fx_map(&hm, 2, (size_t[]){100, 100});
	fx_heat(1, 0, 60, 150);
	fx_heat(1, 60, 10, 10); /* below min_heat: not worth promoting */
	tm_plan_params p = params(2, 150);
	p.headroom = 10;
	size_t n = fx_plan(&hm, &p, moves, MAX_MOVES, &sum);
	CHECK_EQ(count(moves, n, 0), 60, "40 into the room (less the headroom), "
		 "20 by swapping");
	CHECK_EQ(count(moves, n, 1), 20, "demotions only for the swaps");
	p.budget = 40;
	n = fx_plan(&hm, &p, moves, MAX_MOVES, &sum);
	CHECK_EQ(count(moves, n, 1), 0, "room first: no demotion needed for 40");
	p.budget = 1 << 20;
	p.cap[0] = 1000;
	fx_map(&hm, 2, (size_t[]){100, 100});
	fx_heat(1, 0, 60, 150);
	fx_heat(1, 60, 10, 10);
	n = fx_plan(&hm, &p, moves, MAX_MOVES, &sum);
	CHECK_EQ(n, 60, "every page worth it comes up, not the lukewarm ones");
	CHECK(!sum.pressure && sum.boundary == 0, "everything fits: no pressure");
}

/* The quota shrinks: the coldest DRAM pages go down until it fits, even
 * when nothing is hot below. It grows: hot pages come up again. */
static void test_quota_change(void)
{
	tm_heatmap hm;
	tm_plan_summary sum;
	fx_map(&hm, 2, (size_t[]){100, 50});
	for (size_t i = 0; i < 100; i++)
		fx_heat(0, i, 1, (unsigned)(i + 100));
	tm_plan_params p = params(2, 60);
	size_t n = fx_plan(&hm, &p, moves, MAX_MOVES, &sum);
	CHECK_EQ(n, 40, "40 over the quota");
	for (size_t i = 0; i < n; i++) {
		tm_cell *c = tm_heatmap_cell(&hm, moves[i].addr);
		CHECK(moves[i].to == 1 && atomic_load(&c->heat) < 140,
		      "the coldest go (%zu)", i);
	}
	apply(&hm, moves, n);
	for (int i = 0; i < 5; i++)
		age_all(2, (size_t[]){100, 50});
	p.cap[0] = 100;
	n = fx_plan(&hm, &p, moves, MAX_MOVES, &sum);
	CHECK_EQ(count(moves, n, 0), 40, "room again: they come back");
}

/* Recently moved pages stay put; a swap must win by the margin. */
static void test_hysteresis(void)
{
	tm_heatmap hm;
	tm_plan_summary sum;
	fx_map(&hm, 2, (size_t[]){10, 10});
	fx_heat(0, 0, 10, 20);
	fx_heat(1, 0, 5, 40);  /* 20 hotter than DRAM's pages: not enough */
	fx_heat(1, 5, 5, 60);  /* 40 hotter: swaps */
	tm_plan_params p = params(2, 10);
	size_t n = fx_plan(&hm, &p, moves, MAX_MOVES, &sum);
	CHECK_EQ(count(moves, n, 0), 5, "only the pages that win by the margin");
	fx_map(&hm, 2, (size_t[]){10, 10});
	fx_heat(1, 0, 10, 200);
	for (size_t i = 0; i < 10; i++)
		fx_cell(1, i)->age = 3; /* moved 3 periods ago */
	n = fx_plan(&hm, &p, moves, MAX_MOVES, &sum);
	CHECK_EQ(n, 0, "recently moved pages wait out min_age");
	atomic_store(&fx_cell(1, 0)->hint, TM_HOT);
	n = fx_plan(&hm, &p, moves, MAX_MOVES, &sum);
	CHECK_EQ(count(moves, n, 0), 1, "a hint skips the wait");
}

/* Heat jitters around a stable split: after the first moves, nothing more
 * moves over many rounds. */
static void test_no_ping_pong(void)
{
	tm_heatmap hm;
	tm_plan_summary sum;
	size_t pages[] = {200, 200};
	fx_map(&hm, 2, pages);
	tm_plan_params p = params(2, 200);
	srand(1);
	size_t total = 0, late = 0;
	for (int round = 0; round < 50; round++) {
		for (size_t i = 0; i < 200; i++) {
			/* the hot half is i < 100 of span 1 and 0 */
			for (int s = 0; s < 2; s++)
				fx_heat(s, i, 1, (i < 100 ? 150 : 40) + rand() % 21);
		}
		size_t n = fx_plan(&hm, &p, moves, MAX_MOVES, &sum);
		apply(&hm, moves, n);
		age_all(2, pages);
		total += n;
		if (round >= 10)
			late += n;
	}
	CHECK_EQ(total, 200, "the hot half of span 1 swaps once: 100 + 100");
	CHECK_EQ(late, 0, "then nothing moves");
}

/* The budget bounds a round; capacity comes first, then swaps in pairs. */
static void test_rate_limit(void)
{
	tm_heatmap hm;
	tm_plan_summary sum;
	fx_map(&hm, 2, (size_t[]){108, 100});
	fx_heat(1, 0, 50, 200);
	tm_plan_params p = params(2, 100);
	p.budget = 13;
	size_t n = fx_plan(&hm, &p, moves, MAX_MOVES, &sum);
	CHECK_EQ(count(moves, n, 1), 8 + 2, "8 over capacity, then 2 swaps");
	CHECK_EQ(count(moves, n, 0), 2, "2 promotions");
	CHECK(n <= 13, "within the budget");
	p.budget = 0;
	CHECK_EQ(fx_plan(&hm, &p, moves, MAX_MOVES, &sum), 0, "no budget, no moves");
	CHECK(sum.pressure, "the summary is still made");
	p.budget = 1 << 20;
	CHECK_EQ(fx_plan(&hm, &p, moves, 6, &sum), 6, "the output array bounds it");
}

/* Hints: cold pages go to the slowest tier even with room in DRAM; hot
 * ones come up first; demotions go to the next tier with room. */
static void test_hints_and_tiers(void)
{
	tm_heatmap hm;
	tm_plan_summary sum;
	fx_map(&hm, 3, (size_t[]){10, 10, 10});
	atomic_store(&fx_cell(0, 0)->hint, TM_COLD);
	atomic_store(&fx_cell(1, 0)->hint, TM_COLD);
	atomic_store(&fx_cell(2, 3)->hint, TM_HOT);
	tm_plan_params p = params(3, 100);
	size_t n = fx_plan(&hm, &p, moves, MAX_MOVES, &sum);
	CHECK_EQ(n, 2, "the cold DRAM page down, the hot one up");
	CHECK(moves[0].addr == fx_addr(0, 0) && moves[0].to == 2, "cold to the slowest");
	CHECK(moves[1].addr == fx_addr(2, 3) && moves[1].to == 0, "hot up");

	fx_map(&hm, 3, (size_t[]){10, 10, 10});
	fx_heat(2, 0, 4, 200);
	p = params(3, 10);
	p.cap[1] = 12;  /* room for 2 more */
	n = fx_plan(&hm, &p, moves, MAX_MOVES, &sum);
	CHECK_EQ(count(moves, n, 1), 2, "two demotions fit tier 1");
	CHECK_EQ(count(moves, n, 2), 2, "the others go to tier 2");
}

/* Lower tiers full: no capacity demotion is possible. */
static void test_lower_full(void)
{
	tm_heatmap hm;
	tm_plan_summary sum;
	fx_map(&hm, 2, (size_t[]){20, 10});
	tm_plan_params p = params(2, 10);
	p.cap[1] = 10;
	size_t n = fx_plan(&hm, &p, moves, MAX_MOVES, &sum);
	CHECK_EQ(n, 0, "nowhere to go");
	p.cap[1] = 15;
	n = fx_plan(&hm, &p, moves, MAX_MOVES, &sum);
	CHECK_EQ(n, 5, "as many as fit");
}

/* The boundary: the heat of the coldest page DRAM could hold. */
static void test_boundary(void)
{
	tm_heatmap hm;
	tm_plan_summary sum;
	fx_map(&hm, 2, (size_t[]){10, 10});
	fx_heat(0, 0, 5, 100);
	fx_heat(1, 0, 5, 200);
	fx_heat(0, 5, 5, 50);
	tm_plan_params p = params(2, 12);
	fx_plan(&hm, &p, moves, MAX_MOVES, &sum);
	CHECK(sum.pressure, "pressure");
	CHECK_EQ(sum.boundary, 100, "the 5 at 200 and 5 at 100 fit, the 50s not all");
	p.cap[0] = 3;
	fx_plan(&hm, &p, moves, MAX_MOVES, &sum);
	CHECK_EQ(sum.boundary, 200, "not even the hottest all fit");
	p.cap[0] = 20;
	fx_plan(&hm, &p, moves, MAX_MOVES, &sum);
	CHECK(!sum.pressure && sum.boundary == 0, "all fit");
	fx_map(&hm, 1, (size_t[]){10});
	p = params(1, 5);
	CHECK_EQ(fx_plan(&hm, &p, moves, MAX_MOVES, &sum), 0, "one tier: no moves");
	CHECK_EQ(sum.resident[0], 10, "but a census");
}

/* Pages a plan moves to tier `to`. */
static int64_t pages_to(const tm_move *m, size_t n, int to)
{
	int64_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += m[i].to == to ? m[i].pages : 0;
	return k;
}

/* A huge block is one unit at the mean heat of its pages: a block with a
 * few hot pages stays, a hot block comes up whole, as one move. */
static void test_huge_block(void)
{
	tm_heatmap hm;
	tm_plan_summary sum;
	fx_map(&hm, 2, (size_t[]){0, 3 * FX_BLOCK});
	fx_huge_block(&hm, 1, 0);
	fx_huge_block(&hm, 1, 1);
	fx_heat(1, 0, 16, 200);          /* block 0: mean 6, below min_heat */
	fx_heat(1, FX_BLOCK, FX_BLOCK, 200);
	fx_heat(1, 2 * FX_BLOCK, 8, 200); /* 8 hot 4 KiB pages, no block */
	tm_plan_params p = params(2, 2000);
	size_t n = fx_plan(&hm, &p, moves, MAX_MOVES, &sum);
	CHECK_EQ(n, 9, "the hot block in one move, and the 8 small pages");
	CHECK(moves[0].addr == fx_addr(1, FX_BLOCK) && moves[0].pages == FX_BLOCK,
	      "the block moves from its first page, with its 512 pages");
	CHECK_EQ(sum.promotions, FX_BLOCK + 8, "promotions counted in pages");
	CHECK_EQ(sum.resident[1], 3 * FX_BLOCK, "residency in pages");
	fx_cell(1, FX_BLOCK + 7)->age = 0; /* one page of the block moved lately */
	n = fx_plan(&hm, &p, moves, MAX_MOVES, &sum);
	CHECK_EQ(pages_to(moves, n, 0), 8, "a block waits for its youngest page");
}

/* The quota counts what huge pages occupy: a block comes up only when all
 * of it fits the room; over capacity, whole blocks go down. */
static void test_huge_quota(void)
{
	tm_heatmap hm;
	tm_plan_summary sum;
	fx_map(&hm, 2, (size_t[]){0, 2 * FX_BLOCK});
	fx_huge_block(&hm, 1, 0);
	fx_heat(1, 0, FX_BLOCK, 200);
	fx_heat(1, FX_BLOCK, 100, 200);
	tm_plan_params p = params(2, 400);
	size_t n = fx_plan(&hm, &p, moves, MAX_MOVES, &sum);
	CHECK_EQ(pages_to(moves, n, 0), 100, "room for 400 pages: the small ones only");
	p.cap[0] = 700;
	n = fx_plan(&hm, &p, moves, MAX_MOVES, &sum);
	CHECK_EQ(pages_to(moves, n, 0), FX_BLOCK + 100, "room for 700: the block too");
	fx_map(&hm, 2, (size_t[]){2 * FX_BLOCK, 0});
	fx_huge_block(&hm, 0, 0);
	fx_huge_block(&hm, 0, 1);
	fx_heat(0, FX_BLOCK, FX_BLOCK, 100);
	p.cap[0] = 2 * FX_BLOCK - 10;
	n = fx_plan(&hm, &p, moves, MAX_MOVES, &sum);
	CHECK(n == 1 && moves[0].pages == FX_BLOCK && moves[0].addr == fx_addr(0, 0),
	      "10 pages over: the colder block goes, whole");
	CHECK_EQ(sum.resident[0], 2 * FX_BLOCK, "both blocks counted whole");
}

/* DRAM full of cold blocks, hot blocks below: they swap block for block,
 * and a budget too small for a swap moves nothing (no lone demotion). */
static void test_huge_swap(void)
{
	tm_heatmap hm;
	tm_plan_summary sum;
	fx_map(&hm, 2, (size_t[]){2 * FX_BLOCK, 2 * FX_BLOCK});
	for (int s = 0; s < 2; s++) {
		fx_huge_block(&hm, s, 0);
		fx_huge_block(&hm, s, 1);
	}
	fx_heat(0, FX_BLOCK, FX_BLOCK, 100);
	fx_heat(1, 0, FX_BLOCK, 200);
	fx_heat(1, FX_BLOCK, FX_BLOCK, 20);
	tm_plan_params p = params(2, 2 * FX_BLOCK);
	size_t n = fx_plan(&hm, &p, moves, MAX_MOVES, &sum);
	CHECK(n == 2 && moves[0].to == 1 && moves[0].addr == fx_addr(0, 0) &&
	      moves[1].to == 0 && moves[1].addr == fx_addr(1, 0),
	      "the coldest DRAM block for the hottest slow one, demotion first");
	p.budget = 2 * FX_BLOCK - 1;
	n = fx_plan(&hm, &p, moves, MAX_MOVES, &sum);
	CHECK_EQ(n, 0, "no room in the budget for a swap of blocks: no move");
}

/* Pages on DRAM after moves, as the cells say. */
static int64_t on_dram(const tm_heatmap *hm)
{
	int64_t n = 0;
	for (int s = 0; s < hm->nspans; s++)
		for (size_t i = 0; i < tm_span_pages(hm, &hm->span[s]); i++)
			n += hm->span[s].cells[i].tier == 0;
	return n;
}

/* A period's plan taken in rounds: the moves of one big round, each round
 * with its demotions first and DRAM never above its capacity between
 * rounds. */
static void test_rounds(void)
{
	tm_heatmap hm;
	tm_plan_summary sum;
	tm_plan_state st;
	fx_map(&hm, 2, (size_t[]){100, 100});
	fx_heat(1, 0, 50, 200);
	tm_plan_params p = params(2, 100);
	size_t whole = fx_plan(&hm, &p, moves, MAX_MOVES, &sum);
	tm_move round[16];
	size_t n, total = 0, rounds = 0, same = 0;
	tm_plan_start(&st, &hm, &p, &sum);
	while ((n = tm_plan_next(&st, &hm, round, 16))) {
		size_t down = count(round, n, 1);
		for (size_t i = 0; i < n; i++) {
			CHECK((round[i].to == 1) == (i < down), "demotions first (%zu)", i);
			for (size_t k = 0; k < whole; k++)
				same += moves[k].addr == round[i].addr && moves[k].to == round[i].to;
		}
		apply(&hm, round, n);
		tm_plan_settle(&st, (int64_t)(n - down) - (int64_t)down);
		CHECK(on_dram(&hm) <= 100, "DRAM within its capacity after round %zu", rounds);
		total += n;
		rounds++;
	}
	CHECK_EQ(total, whole, "the rounds make the plan of one round");
	CHECK_EQ(same, whole, "move for move");
	CHECK_EQ(rounds, 7, "100 moves in rounds of 16");
}

/* Demotions that fail are owed by the rounds after: they are paid from
 * the plan's swap demotions first, and promotions stop when none are left,
 * so DRAM ends the period within its capacity. */
static void test_failed_demotions(void)
{
	tm_heatmap hm;
	tm_plan_summary sum;
	tm_plan_state st;
	fx_map(&hm, 2, (size_t[]){100, 100});
	fx_heat(1, 0, 50, 200);
	tm_plan_params p = params(2, 100);
	tm_move round[16];
	tm_plan_start(&st, &hm, &p, &sum);
	size_t n = tm_plan_next(&st, &hm, round, 16);
	CHECK_EQ(count(round, n, 0), 8, "8 swaps");
	for (size_t i = 0; i < n; i++) { /* the demotions fail: busy */
		tm_cell *c = tm_heatmap_cell(&hm, round[i].addr);
		c->tier = round[i].to == 0 ? 0 : c->tier;
		c->age = 0;
	}
	tm_plan_settle(&st, 8);
	CHECK_EQ(on_dram(&hm), 108, "8 over");
	n = tm_plan_next(&st, &hm, round, 16);
	CHECK_EQ(count(round, n, 1), 8 + 4, "the 8 owed go down, then 4 swaps");
	int64_t up = 8;
	for (; n; n = tm_plan_next(&st, &hm, round, 16)) {
		size_t down = count(round, n, 1);
		up += (int64_t)(n - down);
		apply(&hm, round, n);
		tm_plan_settle(&st, (int64_t)(n - down) - (int64_t)down);
	}
	CHECK_EQ(on_dram(&hm), 100, "DRAM back within its capacity");
	CHECK_EQ(up, 42, "promotions stopped when the swap demotions ran out");
}

/* The migrator's swap margin is a period of constant access: a slow page
 * seen throughout one period (a cold page's burst of luck looks so) leaves
 * DRAM's cold pages alone; seen throughout two in a row, it swaps in. With
 * a smaller margin, cold pages of GUPS kept swapping on noise, hundreds a
 * period. Both with one source and with two sharing the credit. */
static void test_margin_is_a_period(void)
{
	for (unsigned shift = 0; shift <= 1; shift++) {
		tm_heatmap hm;
		tm_plan_summary sum;
		fx_map(&hm, 2, (size_t[]){100, 100});
		tm_plan_params p = params(2, 100);
		tm_plan_settings(&p, shift, &(tm_margin){0});
		unsigned period = TM_HEAT_FULL >> shift;
		fx_heat(1, 10, 20, period);
		CHECK_EQ(fx_plan(&hm, &p, moves, MAX_MOVES, &sum), 0,
			 "one period's heat does not swap (credit shift %u)", shift);
		fx_heat(1, 10, 20, period * 3 / 4 + period);
		CHECK_EQ(fx_plan(&hm, &p, moves, MAX_MOVES, &sum), 40,
			 "two periods' does (credit shift %u)", shift);
	}
}

/* The margin grows while moves undo themselves, and comes back down. */
static void test_margin_learns(void)
{
	tm_margin m = {0};
	tm_plan_params p = params(2, 100);
	tm_plan_settings(&p, 0, &m);
	CHECK_EQ(p.margin, TM_HEAT_FULL, "starts at a period's heat");
	tm_margin_update(&m, 100, 7);
	CHECK_EQ(m.level, 0, "a few pages undone say nothing");
	tm_margin_update(&m, 100, 20);
	CHECK_EQ(m.level, 0, "a fifth of the promotions undone: kept");
	tm_margin_update(&m, 100, 25);
	CHECK_EQ(m.level, 1, "a quarter undone: raised");
	tm_plan_settings(&p, 0, &m);
	CHECK_EQ(p.margin, TM_HEAT_FULL * 3 / 2, "by half a period's heat");
	tm_plan_settings(&p, 1, &m);
	CHECK_EQ(p.margin, TM_HEAT_FULL * 3 / 4, "halved with shared credit");
	for (int i = 0; i < 5; i++)
		tm_margin_update(&m, 40, 40);
	CHECK_EQ(m.level, TM_MARGIN_LEVELS - 1, "at most twice");
	tm_plan_settings(&p, 0, &m);
	CHECK_EQ(p.margin, 2 * TM_HEAT_FULL, "two periods' heat");
	for (int i = 0; i < 15; i++)
		tm_margin_update(&m, 50, 0);
	CHECK_EQ(m.level, TM_MARGIN_LEVELS - 1, "15 calm periods: kept");
	tm_margin_update(&m, 50, 0);
	CHECK_EQ(m.level, TM_MARGIN_LEVELS - 2, "16: a step down");
	for (int i = 0; i < 100; i++)
		tm_margin_update(&m, 0, 0);
	CHECK_EQ(m.level, 0, "and back to the start");
}

int main(void)
{
	test_swap();
	test_room();
	test_quota_change();
	test_hysteresis();
	test_no_ping_pong();
	test_rate_limit();
	test_hints_and_tiers();
	test_lower_full();
	test_boundary();
	test_huge_block();
	test_huge_quota();
	test_huge_swap();
	test_rounds();
	test_failed_demotions();
	test_margin_is_a_period();
	test_margin_learns();
	return check_summary();
}
