#include "policy/mover.h"

#include <errno.h>
#include <string.h>

void tm_mover_init(tm_mover *m, const tm_tierset *set, const tm_mover_os *os)
{
	if (m->pagemap > 0)
		m->os->close(m->pagemap);
	memset(m, 0, sizeof(*m));
	m->os = os;
	m->tiers = set->count;
	memset(m->tier_of_node, -1, sizeof(m->tier_of_node));
	for (int t = 0; t < set->count; t++) {
		m->node_of_tier[t] = tm_first_node(set->tier[t].nodes);
		for (int n = 0; n < TM_MAX_NODES; n++)
			if (set->tier[t].nodes & (1ULL << n))
				m->tier_of_node[n] = (int8_t)t;
	}
}

int tm_move_fail_kind(int err)
{
	switch (err < 0 ? -err : err) {
	case EBUSY:
	case EAGAIN:
		return TM_FAIL_BUSY;
	case ENOMEM:
		return TM_FAIL_NOMEM;
	case EFAULT:
	case ENOENT:
		return TM_FAIL_GONE;
	case EACCES:
	case EPERM:
		return TM_FAIL_DENIED;
	default:
		return TM_FAIL_OTHER;
	}
}

static uint8_t tier_of_status(const tm_mover *m, int status)
{
	if (status < 0 || status >= TM_MAX_NODES || m->tier_of_node[status] < 0)
		return TM_TIER_NONE;
	return (uint8_t)m->tier_of_node[status];
}

/* Query the nodes of pages [first, last) of span s. */
static void locate_range(tm_mover *m, const tm_heatmap *hm, int s, size_t first,
			 size_t last)
{
	const tm_span *sp = &hm->span[s];
	for (size_t i = first; i < last; i += TM_MOVE_BATCH) {
		size_t n = last - i < TM_MOVE_BATCH ? last - i : TM_MOVE_BATCH;
		for (size_t k = 0; k < n; k++)
			m->pages[k] = (void *)(sp->base + ((i + k) << hm->shift));
		if (m->os->move_pages(n, m->pages, NULL, m->status) < 0)
			continue; /* unknown this time: the cells keep the last */
		for (size_t k = 0; k < n; k++)
			sp->cells[i + k].tier = tier_of_status(m, m->status[k]);
	}
}

/* Pages the heap gained since the last call: they are the least known. */
static size_t locate_new(tm_mover *m, const tm_heatmap *hm, size_t budget)
{
	size_t used = 0;
	for (int s = 0; s < hm->nspans && used < budget; s++) {
		size_t pages = tm_span_pages(hm, &hm->span[s]);
		size_t first = m->located[s], last = pages;
		if (last - first > budget - used)
			last = first + (budget - used);
		locate_range(m, hm, s, first, last);
		m->located[s] = last;
		used += last - first;
	}
	return used;
}

/* Then a rotating share of the rest, so that every page is looked at again
 * every so often (after a purge, a kernel fallback, a fork); no more than
 * were not just located. */
static void locate_rotating(tm_mover *m, const tm_heatmap *hm, size_t budget,
			    size_t just)
{
	size_t total = 0;
	for (int s = 0; s < hm->nspans; s++)
		total += m->located[s];
	if (budget > total - just)
		budget = total - just;
	while (budget > 0) {
		size_t known = m->located[m->cursor_span];
		if (m->cursor >= known) {
			m->cursor_span = (m->cursor_span + 1) % hm->nspans;
			m->cursor = 0;
			continue;
		}
		size_t n = known - m->cursor < budget ? known - m->cursor : budget;
		locate_range(m, hm, m->cursor_span, m->cursor, m->cursor + n);
		m->cursor += n;
		budget -= n;
	}
}

/* Opened by the migrator's thread, for its own view (see allocator/prim/uffd.c). */
void tm_mover_find_huge(tm_mover *m, tm_heatmap *hm)
{
	if (m->pagemap == 0)
		m->pagemap = m->os->open_pagemap();
	for (int s = 0; s < hm->nspans && m->pagemap > 0; s++) {
		uintptr_t at = hm->span[s].base, end = hm->span[s].end, walk_end;
		while (at < end) {
			long n = m->os->scan_huge(m->pagemap, at, end, m->runs,
						  TM_HUGE_RUNS, &walk_end);
			for (long k = 0; k < n; k++)
				tm_heatmap_mark_huge(hm, s, m->runs[k].start, m->runs[k].end);
			if (n < 0 || walk_end <= at)
				break;
			at = walk_end;
		}
	}
}

/* A huge block whose pages are not all on one tier is no longer one page
 * (split by the kernel, or partly freed). */
static void forget_parted(tm_heatmap *hm, int s)
{
	const tm_span *sp = &hm->span[s];
	size_t pages = tm_span_pages(hm, sp), u;
	for (size_t i = 0; i < pages; i += u) {
		u = tm_heatmap_unit(hm, sp, i);
		for (size_t k = i + 1; k < i + u; k++)
			if (sp->cells[k].tier != sp->cells[i].tier) {
				tm_heatmap_unmark_huge(hm, s, i);
				break;
			}
	}
}

/* Every page ages by a period; present pages are counted. */
static void census(const tm_heatmap *hm, tm_residency *res)
{
	memset(res, 0, sizeof(*res));
	for (int s = 0; s < hm->nspans; s++) {
		const tm_span *sp = &hm->span[s];
		size_t pages = tm_span_pages(hm, sp);
		for (size_t i = 0; i < pages; i++) {
			tm_cell *c = &sp->cells[i];
			if (tm_cell_age(c) < TM_AGE_MAX)
				c->age++;
			if (c->tier != TM_TIER_NONE)
				res->pages[sp->home][c->tier]++;
		}
	}
}

void tm_mover_locate(tm_mover *m, tm_heatmap *hm, size_t max_new,
		     size_t max_again, tm_residency *res)
{
	size_t used = locate_new(m, hm, max_new);
	locate_rotating(m, hm, max_again, used);
	for (int s = 0; s < hm->nspans; s++)
		forget_parted(hm, s);
	census(hm, res);
}

static void set_tier(tm_cell *c, size_t n, uint8_t tier)
{
	for (size_t k = 0; k < n; k++)
		c[k].tier = tier;
}

/* A unit's cells (n from c) start their age again, remembering whether
 * the unit's last move brought it up. */
static void set_age(tm_cell *c, size_t n, uint8_t came_up)
{
	for (size_t k = 0; k < n; k++)
		c[k].age = came_up;
}

/* A unit (its n cells from c) that did not move waits out its hysteresis
 * age before the planner picks it again; one that is gone is no longer
 * present. A demotion undoes a promotion when the page's last move was
 * up, within TM_UNDONE_AGE periods (of it or of a failed try since). */
static void settle(const tm_mover *m, tm_cell *c, const tm_move *mv,
		   int status, tm_move_result *res)
{
	int64_t n = mv->pages;
	bool undoes = mv->from == 0 && (c->age & TM_AGE_CAME_UP) &&
		      tm_cell_age(c) < TM_UNDONE_AGE;
	if (status == m->node_of_tier[mv->to]) {
		set_age(c, (size_t)n, mv->to == 0 ? TM_AGE_CAME_UP : 0);
		set_tier(c, (size_t)n, (uint8_t)mv->to);
		res->undone += undoes ? (uint64_t)n : 0;
		*(mv->to == 0 ? &res->promoted : &res->demoted) += (uint64_t)n;
		res->gained[mv->to] += n;
		res->gained[mv->from] -= n;
		return;
	}
	if (status >= 0) { /* moved, but elsewhere (a full node's fallback) */
		uint8_t tier = tier_of_status(m, status);
		set_age(c, (size_t)n, tier == 0 && mv->from != 0 ? TM_AGE_CAME_UP : 0);
		set_tier(c, (size_t)n, tier);
		if (tier != TM_TIER_NONE && tier != mv->from) {
			res->gained[tier] += n;
			res->gained[mv->from] -= n;
		}
		res->failed[TM_FAIL_OTHER] += (uint64_t)n;
		return;
	}
	set_age(c, (size_t)n, c->age & TM_AGE_CAME_UP);
	int kind = tm_move_fail_kind(status);
	if (kind == TM_FAIL_GONE)
		set_tier(c, (size_t)n, TM_TIER_NONE);
	res->failed[kind] += (uint64_t)n;
}

static void apply_batch(tm_mover *m, tm_heatmap *hm, const tm_move *mv,
			size_t n, tm_move_result *res)
{
	for (size_t k = 0; k < n; k++) {
		m->pages[k] = (void *)mv[k].addr;
		m->nodes[k] = m->node_of_tier[mv[k].to];
		m->status[k] = -EBUSY;
	}
	if (m->os->move_pages(n, m->pages, m->nodes, m->status) < 0) {
		int err = errno;
		for (size_t k = 0; k < n; k++)
			m->status[k] = -err;
	}
	for (size_t k = 0; k < n; k++) {
		tm_cell *c = tm_heatmap_cell(hm, mv[k].addr);
		res->pages += mv[k].pages;
		if (c)
			settle(m, c, &mv[k], m->status[k], res);
	}
}

void tm_mover_apply(tm_mover *m, tm_heatmap *hm, const tm_move *moves,
		    size_t n, tm_move_result *res)
{
	for (size_t i = 0; i < n; i += TM_MOVE_BATCH)
		apply_batch(m, hm, moves + i,
			    n - i < TM_MOVE_BATCH ? n - i : TM_MOVE_BATCH, res);
}
