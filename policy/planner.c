#include "planner.h"

#include <stdbool.h>
#include <string.h>

/* Pages are ranked, coldest first: 0 is a TM_COLD hint, 1..256 measured heat
 * 0..255, and the top rank a TM_HOT hint. Counting pages per rank makes the
 * plan two linear passes over the cells, without sorting them. */
#define RANKS (TM_HEAT_MAX + 3)
#define RANK_HOT (RANKS - 1)

typedef struct {
	int64_t fast[RANKS];         /* movable pages on tier 0, per rank */
	int64_t slow[RANKS];         /* movable pages on slower tiers */
	int64_t all[RANKS];          /* every present page */
	int64_t resident[TM_TIER_MAX];
} census;

typedef struct {
	int64_t down[RANKS], up[RANKS]; /* pages to move, per rank */
	int64_t room[TM_TIER_MAX];      /* pages the slower tiers can take */
} picks;

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

static unsigned rank_of(const tm_cell *c)
{
	switch (atomic_load_explicit(&c->hint, memory_order_relaxed)) {
	case TM_HOT:
		return RANK_HOT;
	case TM_COLD:
		return 0;
	default:
		return atomic_load_explicit(&c->heat, memory_order_relaxed) + 1u;
	}
}

/* Hints are the application's word: they skip the hysteresis. */
static bool movable(const tm_cell *c, unsigned min_age)
{
	return c->age >= min_age ||
	       atomic_load_explicit(&c->hint, memory_order_relaxed) != TM_NORMAL;
}

static void take_census(const tm_heatmap *hm, const tm_plan_params *p,
			census *cs)
{
	memset(cs, 0, sizeof(*cs));
	for (int s = 0; s < hm->nspans; s++) {
		const tm_span *sp = &hm->span[s];
		size_t n = tm_span_pages(hm, sp);
		for (size_t i = 0; i < n; i++) {
			const tm_cell *c = &sp->cells[i];
			if (c->tier >= p->tiers)
				continue;
			unsigned r = rank_of(c);
			cs->resident[c->tier]++;
			cs->all[r]++;
			if (movable(c, p->min_age))
				(c->tier == 0 ? cs->fast : cs->slow)[r]++;
		}
	}
}

/* Take up to n of the coldest pages left in fast[] for demotion. */
static int64_t take_coldest(int64_t *fast, picks *pk, int64_t n)
{
	int64_t taken = 0;
	for (int r = 0; r < RANKS && taken < n; r++) {
		int64_t k = min64(fast[r], n - taken);
		fast[r] -= k;
		pk->down[r] += k;
		taken += k;
	}
	return taken;
}

/* Step 1: DRAM over capacity, and TM_COLD pages in DRAM. */
static int64_t capacity_demotions(const census *cs, const tm_plan_params *p,
				  int64_t *fast, picks *pk, int64_t budget)
{
	int64_t room = 0;
	for (int t = 1; t < p->tiers; t++)
		room += pk->room[t];
	int64_t need = cs->resident[0] - p->cap[0];
	if (need < fast[0])
		need = fast[0];
	return take_coldest(fast, pk, min64(min64(need, budget), room));
}

/* Steps 2 and 3: the hottest slow pages come up into free room, then by
 * swapping with the coldest DRAM pages while they win by the margin. */
static void promotions(const tm_plan_params *p, const census *cs,
		       int64_t *fast, picks *pk, int64_t budget, int64_t dram)
{
	int64_t room = p->cap[0] - p->headroom - dram;
	int rd = 0;
	for (int rp = RANK_HOT; rp > (int)p->min_heat && budget > 0; rp--) {
		int64_t avail = cs->slow[rp];
		while (avail > 0 && budget > 0) {
			if (room > 0) {
				int64_t n = min64(min64(avail, room), budget);
				pk->up[rp] += n;
				avail -= n;
				room -= n;
				budget -= n;
				continue;
			}
			while (rd < RANKS && fast[rd] == 0)
				rd++;
			if (rd == RANKS || rp <= rd + (int)p->margin || budget < 2)
				return;
			int64_t n = min64(min64(avail, fast[rd]), budget / 2);
			pk->up[rp] += n;
			pk->down[rd] += n;
			fast[rd] -= n;
			avail -= n;
			budget -= 2 * n;
		}
	}
}

/* Heat of the coldest page that would fit DRAM if every page were free to
 * move: what "hot" means for the allocation sites. */
static void boundary(const census *cs, const tm_plan_params *p,
		     tm_plan_summary *sum)
{
	int64_t acc = 0;
	int fit = RANKS; /* coldest rank seen that still fits */
	sum->boundary = 0;
	sum->pressure = 0;
	for (int r = RANK_HOT; r >= 0; r--) {
		if (!cs->all[r])
			continue;
		acc += cs->all[r];
		if (acc > p->cap[0]) {
			int heat = (fit < RANKS ? fit : r) - 1; /* rank = heat + 1 */
			sum->boundary = heat < 1 ? 1 : heat > TM_HEAT_MAX ? TM_HEAT_MAX
								   : (unsigned)heat;
			sum->pressure = 1;
			return;
		}
		fit = r;
	}
}

/* Slower tier for a demoted page: TM_COLD pages to the slowest with room,
 * others to the next one with room. Without room (a swap frees its own),
 * the next slower tier. */
static int8_t demotion_target(const tm_plan_params *p, picks *pk, bool cold)
{
	for (int i = 1; i < p->tiers; i++) {
		int t = cold ? p->tiers - i : i;
		if (pk->room[t] > 0) {
			pk->room[t]--;
			return (int8_t)t;
		}
	}
	return (int8_t)(cold ? p->tiers - 1 : 1);
}

/* Second pass: pick the pages the counts ask for. Demotions fill out from
 * the front, promotions from the back; they are joined at the end. */
static size_t select_pages(const tm_heatmap *hm, const tm_plan_params *p,
			   picks *pk, tm_move *out, size_t max_out)
{
	size_t nd = 0, np = 0;
	for (int s = 0; s < hm->nspans; s++) {
		const tm_span *sp = &hm->span[s];
		size_t n = tm_span_pages(hm, sp);
		for (size_t i = 0; i < n && nd + np < max_out; i++) {
			const tm_cell *c = &sp->cells[i];
			if (c->tier >= p->tiers || !movable(c, p->min_age))
				continue;
			unsigned r = rank_of(c);
			uintptr_t addr = sp->base + (i << hm->shift);
			if (c->tier == 0 && pk->down[r] > 0) {
				pk->down[r]--;
				out[nd++] = (tm_move){addr, 0,
					demotion_target(p, pk, r == 0)};
			} else if (c->tier > 0 && pk->up[r] > 0) {
				pk->up[r]--;
				out[max_out - ++np] = (tm_move){addr, (int8_t)c->tier, 0};
			}
		}
	}
	memmove(&out[nd], &out[max_out - np], np * sizeof(*out));
	return nd + np;
}

size_t tm_plan(const tm_heatmap *hm, const tm_plan_params *p, tm_move *out,
	       size_t max_out, tm_plan_summary *sum)
{
	census cs;
	picks pk;
	take_census(hm, p, &cs);
	memset(&pk, 0, sizeof(pk));
	for (int t = 1; t < p->tiers; t++)
		pk.room[t] = p->cap[t] > cs.resident[t] ? p->cap[t] - cs.resident[t] : 0;
	int64_t fast[RANKS];
	memcpy(fast, cs.fast, sizeof(fast));
	int64_t budget = min64(p->budget, (int64_t)max_out);
	int64_t down = p->tiers > 1 ? capacity_demotions(&cs, p, fast, &pk, budget) : 0;
	if (p->tiers > 1)
		promotions(p, &cs, fast, &pk, budget - down, cs.resident[0] - down);
	memset(sum, 0, sizeof(*sum));
	memcpy(sum->resident, cs.resident, sizeof(sum->resident));
	boundary(&cs, p, sum);
	size_t n = select_pages(hm, p, &pk, out, max_out);
	for (size_t i = 0; i < n; i++) {
		if (out[i].to == 0)
			sum->promotions++;
		else
			sum->demotions++;
	}
	return n;
}
