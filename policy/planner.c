#include "policy/planner.h"

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

/* What the planner places: a page, or a huge block of pages that the
 * kernel moves together, with the mean rank of its pages. */
typedef struct {
	size_t pages;
	unsigned rank;
	uint8_t tier;  /* TM_TIER_NONE unless every page is on that tier */
	bool movable;  /* every page is */
} unit;

static unit unit_at(const tm_heatmap *hm, const tm_span *sp, size_t i,
		    unsigned min_age)
{
	unit u = {tm_heatmap_unit(hm, sp, i), 0, sp->cells[i].tier, true};
	size_t sum = 0;
	for (size_t k = i; k < i + u.pages; k++) {
		const tm_cell *c = &sp->cells[k];
		sum += rank_of(c);
		u.movable &= movable(c, min_age);
		if (c->tier != u.tier)
			u.tier = TM_TIER_NONE;
	}
	u.rank = (unsigned)((sum + u.pages / 2) / u.pages);
	return u;
}

static void take_census(const tm_heatmap *hm, const tm_plan_params *p,
			census *cs)
{
	memset(cs, 0, sizeof(*cs));
	for (int s = 0; s < hm->nspans; s++) {
		const tm_span *sp = &hm->span[s];
		size_t n = tm_span_pages(hm, sp);
		unit u;
		for (size_t i = 0; i < n; i += u.pages) {
			u = unit_at(hm, sp, i, p->min_age);
			if (u.tier >= p->tiers)
				continue;
			cs->resident[u.tier] += (int64_t)u.pages;
			cs->all[u.rank] += (int64_t)u.pages;
			if (u.movable)
				(u.tier == 0 ? cs->fast : cs->slow)[u.rank] += (int64_t)u.pages;
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
 * swapping with the coldest DRAM pages while they win by the margin. Only
 * the promotions are counted here: which pages a swap demotes is chosen
 * once the promotions are known (take_units), as the coldest left. */
static void promotions(const tm_plan_params *p, const census *cs,
		       int64_t *fast, picks *pk, int64_t budget, int64_t room)
{
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

/* Slower tier for a demoted unit: TM_COLD ones to the slowest with room,
 * others to the next one with room. Without room (a swap frees its own),
 * the next slower tier. */
static int8_t demotion_target(const tm_plan_params *p, picks *pk, bool cold,
			      size_t pages)
{
	for (int i = 1; i < p->tiers; i++) {
		int t = cold ? p->tiers - i : i;
		if (pk->room[t] > 0) {
			pk->room[t] -= (int64_t)pages;
			return (int8_t)t;
		}
	}
	return (int8_t)(cold ? p->tiers - 1 : 1);
}

/* Take the units the counts ask for, promotions (up) or demotions, into
 * out; *pages adds up their pages. A huge block comes up only when it fits
 * the count whole (the count is the free room or what swaps free), but
 * goes down when any of the count is left: that frees more, never less. */
static size_t take_units(const tm_heatmap *hm, const tm_plan_params *p,
			 picks *pk, bool up, tm_move *out, size_t max,
			 int64_t *pages)
{
	size_t k = 0;
	for (int s = 0; s < hm->nspans; s++) {
		const tm_span *sp = &hm->span[s];
		size_t n = tm_span_pages(hm, sp);
		unit u;
		for (size_t i = 0; i < n && k < max; i += u.pages) {
			u = unit_at(hm, sp, i, p->min_age);
			if (u.tier >= p->tiers || !u.movable || (u.tier == 0) == up)
				continue;
			int64_t *want = up ? &pk->up[u.rank] : &pk->down[u.rank];
			if (*want < (up ? (int64_t)u.pages : 1))
				continue;
			*want -= (int64_t)u.pages;
			*pages += (int64_t)u.pages;
			out[k++] = (tm_move){sp->base + (i << hm->shift), (int8_t)u.tier,
				up ? 0 : demotion_target(p, pk, u.rank == 0, u.pages),
				(uint16_t)u.pages};
		}
	}
	return k;
}

static void reverse(tm_move *m, size_t n)
{
	for (size_t i = 0; i < n / 2; i++) {
		tm_move t = m[i];
		m[i] = m[n - 1 - i];
		m[n - 1 - i] = t;
	}
}

/* Demotions first (they make the room), then promotions: [up][down] turned
 * into [down][up], each in its own order. */
static void demotions_first(tm_move *out, size_t np, size_t nd)
{
	reverse(out, np);
	reverse(out + np, nd);
	reverse(out, np + nd);
}

size_t tm_plan(const tm_heatmap *hm, const tm_plan_params *p, tm_move *out,
	       size_t max_out, tm_plan_summary *sum)
{
	census cs;
	picks pk;
	take_census(hm, p, &cs);
	memset(&pk, 0, sizeof(pk));
	memset(sum, 0, sizeof(*sum));
	memcpy(sum->resident, cs.resident, sizeof(sum->resident));
	boundary(&cs, p, sum);
	if (p->tiers < 2)
		return 0;
	for (int t = 1; t < p->tiers; t++)
		pk.room[t] = p->cap[t] > cs.resident[t] ? p->cap[t] - cs.resident[t] : 0;
	int64_t fast[RANKS];
	memcpy(fast, cs.fast, sizeof(fast));
	int64_t budget = min64(p->budget, (int64_t)max_out);
	int64_t down = capacity_demotions(&cs, p, fast, &pk, budget);
	int64_t room = p->cap[0] - p->headroom - (cs.resident[0] - down);
	promotions(p, &cs, fast, &pk, budget - down, room);
	size_t np = take_units(hm, p, &pk, true, out, max_out, &sum->promotions);
	/* Promotions beyond the free room are swaps: as many of the coldest
	 * DRAM pages go down, with those over capacity. */
	int64_t swaps = sum->promotions - (room > 0 ? room : 0);
	memset(pk.down, 0, sizeof(pk.down));
	memcpy(fast, cs.fast, sizeof(fast));
	take_coldest(fast, &pk, down + (swaps > 0 ? swaps : 0));
	size_t nd = take_units(hm, p, &pk, false, out + np, max_out - np,
			       &sum->demotions);
	demotions_first(out, np, nd);
	return np + nd;
}
