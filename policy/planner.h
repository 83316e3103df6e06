/* The placement plan: which pages move between DRAM (tier 0) and the slower
 * tiers this round, from the heat map and the tiers' capacities.
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
 * pages. The budget (the migration rate cap) bounds the moves of a round;
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
	int64_t budget;            /* most moves this round */
	unsigned min_age;          /* periods a moved page stays put */
	unsigned margin;           /* heat by which a swap must win */
	unsigned min_heat;         /* coldest heat worth promoting */
} tm_plan_params;

typedef struct {
	int64_t resident[TM_TIER_MAX]; /* present pages per tier, before */
	int64_t promotions, demotions; /* pages planned to move */
	unsigned boundary;             /* heat of the coldest page DRAM could
					* hold if placement were free; 0 when
					* everything fits (no pressure) */
	int pressure;                  /* more pages than DRAM can hold */
} tm_plan_summary;

/* Plan up to max_out moves into out: demotions first, then promotions.
 * Returns the number of moves. */
size_t tm_plan(const tm_heatmap *hm, const tm_plan_params *p, tm_move *out,
	       size_t max_out, tm_plan_summary *sum);

#endif
