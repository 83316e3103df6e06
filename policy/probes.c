#include "policy/probes.h"

#include <stdlib.h>

/* Down from DRAM within the last periods with next to no heat (a failed
 * promotion also starts the age again; such a page has heat, or it would
 * not have been chosen). A huge block's accessed bit is set by any of its
 * pages, so its pages are not probed one by one. */
static bool demoted_unseen(const tm_heatmap *hm, const tm_span *sp, size_t i)
{
	const tm_cell *c = &sp->cells[i];
	return c->tier != 0 && c->tier < TM_TIER_MAX &&
	       tm_cell_age(c) < TM_PROBE_AGE && !(c->age & TM_AGE_CAME_UP) &&
	       tm_cell_heat(c) < TM_PROBE_HEAT && !tm_heatmap_in_huge(hm, sp, i);
}

static size_t search(const tm_heatmap *hm, int s, size_t from, size_t to,
		     uintptr_t *out, size_t n, size_t *stop)
{
	const tm_span *sp = &hm->span[s];
	size_t i = from;
	for (; i < to && n < TM_PROBES; i++)
		if (demoted_unseen(hm, sp, i))
			out[n++] = sp->base + (i << hm->shift);
	*stop = i;
	return n;
}

static int addr_order(const void *a, const void *b)
{
	uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
	return x < y ? -1 : x > y;
}

/* In address order, each at least two pages past the one before. */
static size_t spaced(uintptr_t *p, size_t n, size_t page)
{
	qsort(p, n, sizeof(*p), addr_order);
	size_t m = 0;
	for (size_t k = 0; k < n; k++)
		if (m == 0 || p[k] >= p[m - 1] + 2 * page)
			p[m++] = p[k];
	return m;
}

size_t tm_probes_choose(const tm_heatmap *hm, const uintptr_t *keep, size_t nkeep,
			tm_probe_cursor *cur, uintptr_t *out)
{
	size_t n = 0;
	for (; n < nkeep && n < TM_PROBES_KEPT; n++)
		out[n] = keep[n];
	int s0 = cur->span < hm->nspans ? cur->span : 0;
	size_t at0 = cur->at;
	/* From the cursor to the end of the heap, then round to it. */
	for (int k = 0; hm->nspans && k <= hm->nspans && n < TM_PROBES; k++) {
		int s = (s0 + k) % hm->nspans;
		size_t pages = tm_span_pages(hm, &hm->span[s]);
		size_t mark = at0 < pages ? at0 : pages;
		size_t stop;
		n = search(hm, s, k == 0 ? mark : 0, k == hm->nspans ? mark : pages,
			   out, n, &stop);
		*cur = (tm_probe_cursor){s, stop};
	}
	return spaced(out, n, (size_t)1 << hm->shift);
}

static size_t region(uintptr_t *start, uintptr_t *end, size_t n, uintptr_t from,
		     uintptr_t to)
{
	if (from >= to)
		return n;
	start[n] = from;
	end[n] = to;
	return n + 1;
}

size_t tm_probes_regions(const uintptr_t *span_start, const uintptr_t *span_end,
			 size_t nspans, const uintptr_t *probe, size_t nprobes,
			 size_t page, uintptr_t *start, uintptr_t *end)
{
	size_t n = 0, k = 0;
	for (size_t s = 0; s < nspans; s++) {
		uintptr_t at = span_start[s];
		for (; k < nprobes && probe[k] < span_end[s]; k++) {
			if (probe[k] < at) /* before the span, or too close */
				continue;
			n = region(start, end, n, at, probe[k] - page);
			n = region(start, end, n, probe[k], probe[k] + page);
			at = probe[k] + 2 * page;
		}
		n = region(start, end, n, at, span_end[s]);
	}
	return n;
}

bool tm_probes_has(const uintptr_t *probe, size_t nprobes, uintptr_t addr)
{
	return bsearch(&addr, probe, nprobes, sizeof(*probe), addr_order) != NULL;
}
