/* The placement plan: which pages move between DRAM (tier 0) and the slower
 * tiers this period, from the heat map and the tiers' capacities.
 *
 * A pure function of its inputs (the cells and the parameters), so it is
 * unit-tested without NUMA. It places units: a page, or a huge block (a
 * transparent huge page, which the kernel moves whole) at the mean heat of
 * its pages; counts are in pages, so capacities and the quota count what
 * huge pages occupy. Pages are ranked by heat, with application hints
 * above and below every measured heat (TM_HOT first, TM_COLD last):
 *   1. DRAM over capacity (the quota shrank, memory was allocated): the
 *      coldest pages go down until it fits; TM_COLD pages always go down.
 *   2. Free DRAM (below capacity less the headroom kept for new
 *      allocations): the hottest pages of the slow tiers come up.
 *   3. DRAM full: a slow page and a DRAM page swap when the first is hotter
 *      by at least the margin.
 * Hysteresis: a page that moved stays put for min_age periods (hinted pages
 * excepted), and swaps need the heat margin, so noise does not ping-pong
 * pages. The budget (the migration rate cap) bounds the moves of a period;
 * the capacity moves of step 1 come first. Demoted pages go to the next
 * slower tier with room, TM_COLD ones to the slowest. */
#ifndef TM_PLANNER_H
#define TM_PLANNER_H

#include <stddef.h>
#include <stdint.h>

#include "policy/heatmap.h"

/* A page, or a huge block of pages (from addr) that moves as one. */
typedef struct {
	uintptr_t addr;
	int8_t from, to;
	uint16_t pages;
} tm_move;

typedef struct {
	int tiers;
	int64_t cap[TM_TIER_MAX];  /* pages each tier may hold */
	int64_t headroom;          /* DRAM pages left free for new allocations */
	int64_t budget;            /* most pages moved this period */
	unsigned min_age;          /* periods a moved page stays put */
	unsigned margin;           /* heat by which a swap must win */
	unsigned min_heat;         /* coldest heat worth promoting */
} tm_plan_params;

typedef struct {
	int64_t resident[TM_TIER_MAX]; /* present pages per tier, before */
	int64_t promotions, demotions; /* pages the plan means to move */
	unsigned boundary;             /* heat of the coldest page DRAM could
					* hold if placement were free; 0 when
					* everything fits (no pressure) */
	int pressure;                  /* more pages than DRAM can hold */
} tm_plan_summary;

#define TM_PLAN_RANKS (TM_HEAT_MAX + 3)

typedef struct {
	int span;
	size_t at;     /* the next page the scan looks at */
} tm_plan_cursor;

/* A period's plan: made once (one pass over the cells counts what moves,
 * per rank), then taken in rounds, each a scan that goes on from where
 * the last stopped, so that a period costs a few passes over the cells
 * whatever its number of rounds. */
typedef struct {
	tm_plan_params p;
	int64_t up[TM_PLAN_RANKS], down[TM_PLAN_RANKS]; /* pages left to take */
	int64_t up_left, down_left;    /* their sums: 0 ends a scan */
	int64_t room[TM_TIER_MAX];     /* pages the slower tiers can take */
	int64_t level;                 /* DRAM pages, as the plan goes */
	int64_t top;                   /* DRAM pages promotions may fill to */
	int64_t must_down;             /* capacity demotions not taken yet */
	int64_t round_gain;            /* DRAM pages the last round gains */
	tm_plan_cursor up_at, down_at;
} tm_plan_state;

/* How far a swap must win, learned from what swaps achieved. The margin
 * starts at a period of constant access (TM_HEAT_FULL) and grows by half
 * of that, twice at most, while moves undo themselves: when pages demoted
 * within TM_UNDONE_AGE periods of coming up are a quarter or more of a
 * period's promotions (8 pages at least), those promotions were noise in
 * the heat of pages no hotter than the ones they displaced, and each cost
 * two migrations. After 16 periods without that, it comes down a step. */
#define TM_MARGIN_LEVELS 3
typedef struct {
	unsigned level;  /* 0 .. TM_MARGIN_LEVELS - 1 */
	unsigned calm;   /* periods since moves last undid themselves */
} tm_margin;

void tm_margin_update(tm_margin *m, uint64_t promoted, uint64_t undone);

/* The plan's settings that do not come from the machine (hysteresis,
 * margins at the learned level, DRAM's headroom from its capacity in
 * p->cap[0]); margins shrink with the credit as tm_heatmap's credit_shift
 * halves it. */
void tm_plan_settings(tm_plan_params *p, unsigned credit_shift,
		      const tm_margin *m);

/* Plan a period (at most p->budget pages move) and fill sum. */
void tm_plan_start(tm_plan_state *st, const tm_heatmap *hm,
		   const tm_plan_params *p, tm_plan_summary *sum);

/* The plan's next round, up to max_out moves into out: demotions first,
 * then promotions, with as many demotions in the round as its promotions
 * need room for (DRAM never holds more than the plan allows, whichever
 * round ends the period). A round holds a unit and its demotions or ends
 * the plan: max_out must exceed a huge block's pages. Returns the number
 * of moves; 0 when the plan is spent. */
size_t tm_plan_next(tm_plan_state *st, const tm_heatmap *hm, tm_move *out,
		    size_t max_out);

/* What the last round did to DRAM (pages gained: promotions less
 * demotions that happened): the rounds after it owe the demotions that
 * failed, and not those whose promotions failed. */
void tm_plan_settle(tm_plan_state *st, int64_t dram_gained);

#endif
