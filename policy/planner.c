#include "policy/planner.h"

#include <stdbool.h>
#include <string.h>

/* Pages are ranked, coldest first: 0 is a TM_COLD hint, 1..256 measured heat
 * 0..255, and the top rank a TM_HOT hint. Counting pages per rank makes the
 * plan linear passes over the cells, without sorting them. */
#define RANKS TM_PLAN_RANKS
#define RANK_HOT (RANKS - 1)

#define MIN_AGE 4               /* periods a moved page stays put */
#define MIN_PROMOTE_HEAT (TM_HEAT_FULL / 8)
#define HEADROOM_SHIFT 5        /* 1/32 of DRAM left to new allocations */
/* What a swap must win by, at least: more than a period of constant access
 * adds. Half of that kept hundreds of GUPS's cold pages a period swapping
 * on the noise of their heat. */
#define SWAP_MARGIN TM_HEAT_FULL
#define UNDONE_MIN 8      /* pages: fewer undone say nothing */
#define UNDONE_SHARE 4    /* a quarter of the promotions undone: noise */
#define CALM_PERIODS 16

typedef struct {
	int64_t fast[RANKS];         /* movable pages on tier 0, per rank */
	int64_t slow[RANKS];         /* movable pages on slower tiers */
	int64_t all[RANKS];          /* every present page */
	int64_t resident[TM_TIER_MAX];
} census;

void tm_margin_update(tm_margin *m, uint64_t promoted, uint64_t undone)
{
	if (undone >= UNDONE_MIN && undone * UNDONE_SHARE >= promoted) {
		if (m->level + 1 < TM_MARGIN_LEVELS)
			m->level++;
		m->calm = 0;
	} else if (++m->calm >= CALM_PERIODS) {
		if (m->level > 0)
			m->level--;
		m->calm = 0;
	}
}

void tm_plan_settings(tm_plan_params *p, unsigned credit_shift,
		      const tm_margin *m)
{
	p->headroom = p->cap[0] >> HEADROOM_SHIFT;
	p->min_age = MIN_AGE;
	p->margin = (SWAP_MARGIN + m->level * SWAP_MARGIN / 2) >> credit_shift;
	p->min_heat = MIN_PROMOTE_HEAT >> credit_shift;
}

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
	return tm_cell_age(c) >= min_age ||
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

/* A page alone is the common case, and the passes over the cells run it
 * for every page: it is taken without the block's loop. */
static unit unit_at(const tm_heatmap *hm, const tm_span *sp, size_t i,
		    unsigned min_age)
{
	const tm_cell *first = &sp->cells[i];
	unit u = {tm_heatmap_unit(hm, sp, i), 0, first->tier, true};
	if (u.pages == 1) {
		u.rank = rank_of(first);
		u.movable = movable(first, min_age);
		return u;
	}
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
static int64_t take_coldest(int64_t *fast, int64_t *down, int64_t n)
{
	int64_t taken = 0;
	for (int r = 0; r < RANKS && taken < n; r++) {
		int64_t k = min64(fast[r], n - taken);
		fast[r] -= k;
		down[r] += k;
		taken += k;
	}
	return taken;
}

/* Step 1: DRAM over capacity, and TM_COLD pages in DRAM. */
static int64_t capacity_demotions(const census *cs, const tm_plan_params *p,
				  int64_t *fast, tm_plan_state *st, int64_t budget)
{
	int64_t room = 0;
	for (int t = 1; t < p->tiers; t++)
		room += st->room[t];
	int64_t need = cs->resident[0] - p->cap[0];
	if (need < fast[0])
		need = fast[0];
	return take_coldest(fast, st->down, min64(min64(need, budget), room));
}

/* Steps 2 and 3: the hottest slow pages come up into free room, then by
 * swapping with the coldest DRAM pages while they win by the margin. Only
 * the promotions are counted here (their pages are returned): which pages
 * a swap demotes is chosen once they are known, as the coldest left. */
static int64_t promotions(const tm_plan_params *p, const census *cs,
			  int64_t *fast, int64_t *up, int64_t budget, int64_t room)
{
	int64_t counted = 0;
	int rd = 0;
	for (int rp = RANK_HOT; rp > (int)p->min_heat && budget > 0; rp--) {
		int64_t avail = cs->slow[rp];
		while (avail > 0 && budget > 0) {
			int64_t n;
			if (room > 0) {
				n = min64(min64(avail, room), budget);
				room -= n;
				budget -= n;
			} else {
				while (rd < RANKS && fast[rd] == 0)
					rd++;
				if (rd == RANKS || rp <= rd + (int)p->margin || budget < 2)
					return counted;
				n = min64(min64(avail, fast[rd]), budget / 2);
				fast[rd] -= n;
				budget -= 2 * n;
			}
			up[rp] += n;
			avail -= n;
			counted += n;
		}
	}
	return counted;
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
static int8_t demotion_target(tm_plan_state *st, bool cold, size_t pages)
{
	int tiers = st->p.tiers;
	for (int i = 1; i < tiers; i++) {
		int t = cold ? tiers - i : i;
		if (st->room[t] > 0) {
			st->room[t] -= (int64_t)pages;
			return (int8_t)t;
		}
	}
	return (int8_t)(cold ? tiers - 1 : 1);
}

void tm_plan_start(tm_plan_state *st, const tm_heatmap *hm,
		   const tm_plan_params *p, tm_plan_summary *sum)
{
	census cs;
	take_census(hm, p, &cs);
	memset(st, 0, sizeof(*st));
	st->p = *p;
	memset(sum, 0, sizeof(*sum));
	memcpy(sum->resident, cs.resident, sizeof(sum->resident));
	boundary(&cs, p, sum);
	if (p->tiers < 2)
		return;
	for (int t = 1; t < p->tiers; t++)
		st->room[t] = p->cap[t] > cs.resident[t] ? p->cap[t] - cs.resident[t] : 0;
	int64_t fast[RANKS];
	memcpy(fast, cs.fast, sizeof(fast));
	int64_t down = capacity_demotions(&cs, p, fast, st, p->budget);
	int64_t room = p->cap[0] - p->headroom - (cs.resident[0] - down);
	int64_t up = promotions(p, &cs, fast, st->up, p->budget - down, room);
	/* Promotions beyond the free room are swaps: as many of the coldest
	 * DRAM pages go down, with those over capacity. */
	int64_t swaps = up - (room > 0 ? room : 0);
	memset(st->down, 0, sizeof(st->down));
	memcpy(fast, cs.fast, sizeof(fast));
	st->down_left = take_coldest(fast, st->down, down + (swaps > 0 ? swaps : 0));
	st->up_left = up;
	st->must_down = down;
	st->level = cs.resident[0];
	st->top = cs.resident[0] - down;
	if (st->top < p->cap[0] - p->headroom)
		st->top = p->cap[0] - p->headroom;
	sum->promotions = up;
	sum->demotions = st->down_left;
}

/* The next unit from cursor c that the counts ask for, the cursor left on
 * it: for promotions (up) one on a slower tier that fits the count of its
 * rank whole (the count is the free room or what swaps free), for
 * demotions one on DRAM while any of the count of its rank is left (a huge
 * block then frees more, never less). False at the end of the heap. */
static bool find(const tm_heatmap *hm, const tm_plan_state *st, bool up,
		 tm_plan_cursor *c, unit *u)
{
	const int64_t *want = up ? st->up : st->down;
	if ((up ? st->up_left : st->down_left) <= 0)
		return false;
	for (; c->span < hm->nspans; c->span++, c->at = 0) {
		const tm_span *sp = &hm->span[c->span];
		size_t n = tm_span_pages(hm, sp);
		for (; c->at < n; c->at += u->pages) {
			*u = unit_at(hm, sp, c->at, st->p.min_age);
			if (u->tier < st->p.tiers && u->movable && (u->tier != 0) == up &&
			    want[u->rank] >= (up ? (int64_t)u->pages : 1))
				return true;
		}
	}
	return false;
}

/* Take the unit find() left the cursor on. */
static tm_move take(const tm_heatmap *hm, tm_plan_state *st, bool up,
		    tm_plan_cursor *c, const unit *u)
{
	int64_t pages = (int64_t)u->pages;
	int64_t *want = &(up ? st->up : st->down)[u->rank];
	*(up ? &st->up_left : &st->down_left) -= min64(*want, pages);
	*want -= pages;
	st->level += up ? pages : -pages;
	if (!up)
		st->must_down -= pages;
	tm_move m = {hm->span[c->span].base + (c->at << hm->shift), (int8_t)u->tier,
		     up ? 0 : demotion_target(st, u->rank == 0, u->pages),
		     (uint16_t)u->pages};
	c->at += u->pages;
	return m;
}

static void reverse(tm_move *m, size_t n)
{
	for (size_t i = 0; i < n / 2; i++) {
		tm_move t = m[i];
		m[i] = m[n - 1 - i];
		m[n - 1 - i] = t;
	}
}

/* Demotions are owed while capacity demotions are left or DRAM is above
 * what promotions may fill it to; a promotion comes only when the plan
 * still counts the demotions it will owe (failed ones may have used them
 * up) and the round has slots for them (a unit a page, at most).
 * Demotions fill out from the front, promotions from the back. */
size_t tm_plan_next(tm_plan_state *st, const tm_heatmap *hm, tm_move *out,
		    size_t max_out)
{
	size_t nd = 0, np = 0;
	int64_t level = st->level;
	unit u;
	while (nd + np < max_out) {
		if (st->must_down > 0 || st->level > st->top) {
			if (!find(hm, st, false, &st->down_at, &u))
				break;
			out[nd++] = take(hm, st, false, &st->down_at, &u);
			continue;
		}
		if (!find(hm, st, true, &st->up_at, &u))
			break;
		int64_t owed = st->level + (int64_t)u.pages - st->top;
		if (owed > st->down_left ||
		    nd + np + 1 + (size_t)(owed > 0 ? owed : 0) > max_out)
			break;
		out[max_out - 1 - np++] = take(hm, st, true, &st->up_at, &u);
	}
	st->round_gain = st->level - level;
	memmove(out + nd, out + max_out - np, np * sizeof(*out));
	reverse(out + nd, np);
	return nd + np;
}

void tm_plan_settle(tm_plan_state *st, int64_t dram_gained)
{
	st->level += dram_gained - st->round_gain;
	st->round_gain = 0;
}
