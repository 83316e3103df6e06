#include "policy/heatmap.h"

#include <string.h>

/* Cells are committed in steps of this many bytes (16K cells: 64 MiB of heap
 * with 4 KiB pages), so a growing heap rarely needs a system call. */
#define COVER_STEP (64 << 10)

void tm_heatmap_init(tm_heatmap *hm, unsigned page_shift, tm_cells_grow_fn grow)
{
	memset(hm, 0, sizeof(*hm));
	hm->shift = page_shift;
	hm->grow = grow;
	hm->ran_permille = 1000;
}

int tm_heatmap_add_span(tm_heatmap *hm, uintptr_t base, size_t size,
			tm_cell *cells, int home)
{
	if (hm->nspans == TM_TIER_MAX)
		return -1;
	tm_span *sp = &hm->span[hm->nspans];
	sp->base = base;
	sp->end = base;
	sp->cap = size >> hm->shift;
	sp->cells = cells;
	sp->home = home;
	atomic_store(&sp->ready, hm->grow ? 0 : sp->cap);
	return hm->nspans++;
}

/* Growing is idempotent (committing committed memory changes nothing), so
 * racing threads may both grow; ready only ever moves up. */
int tm_heatmap_cover(tm_heatmap *hm, int s, uintptr_t end)
{
	tm_span *sp = &hm->span[s];
	size_t want = (end - sp->base + (1UL << hm->shift) - 1) >> hm->shift;
	if (want > sp->cap)
		want = sp->cap;
	size_t have = atomic_load(&sp->ready);
	if (want <= have)
		return 0;
	size_t old_bytes = have * sizeof(tm_cell);
	size_t new_bytes = (want * sizeof(tm_cell) + COVER_STEP - 1) &
			   ~(size_t)(COVER_STEP - 1);
	if (new_bytes > sp->cap * sizeof(tm_cell))
		new_bytes = sp->cap * sizeof(tm_cell);
	int rc = hm->grow(sp->cells, old_bytes, new_bytes);
	if (rc < 0)
		return rc;
	size_t got = new_bytes / sizeof(tm_cell);
	while (have < got &&
	       !atomic_compare_exchange_weak(&sp->ready, &have, got))
		;
	return 0;
}

int tm_heatmap_extend(tm_heatmap *hm, int s, uintptr_t end)
{
	tm_span *sp = &hm->span[s];
	if (end <= sp->end)
		return 0;
	int rc = tm_heatmap_cover(hm, s, end);
	if (rc < 0)
		return rc;
	size_t first = tm_span_pages(hm, sp);
	sp->end = end;
	for (size_t i = first; i < tm_span_pages(hm, sp); i++) {
		sp->cells[i].tier = TM_TIER_NONE;
		sp->cells[i].age = TM_AGE_MAX;
	}
	return 0;
}

int tm_heatmap_span_of(const tm_heatmap *hm, uintptr_t addr)
{
	for (int s = 0; s < hm->nspans; s++) {
		const tm_span *sp = &hm->span[s];
		if (addr - sp->base < (sp->cap << hm->shift))
			return s;
	}
	return -1;
}

tm_cell *tm_heatmap_cell(const tm_heatmap *hm, uintptr_t addr)
{
	int s = tm_heatmap_span_of(hm, addr);
	if (s < 0)
		return NULL;
	const tm_span *sp = &hm->span[s];
	size_t i = (addr - sp->base) >> hm->shift;
	return i < atomic_load_explicit(&sp->ready, memory_order_acquire)
		       ? &sp->cells[i] : NULL;
}

#define BLOCK (1UL << TM_HUGE_SHIFT)

/* Only blocks wholly in the heap: a huge page never crosses its edges, and
 * the planner may then take a block's cells without bounds checks. */
void tm_heatmap_mark_huge(tm_heatmap *hm, int s, uintptr_t start, uintptr_t end)
{
	tm_span *sp = &hm->span[s];
	if (start < sp->base)
		start = sp->base;
	if (end > sp->end)
		end = sp->end;
	for (uintptr_t a = (start + BLOCK - 1) & ~(BLOCK - 1);
	     sp->huge && a + BLOCK <= end; a += BLOCK) {
		size_t b = tm_span_block(hm, sp, (a - sp->base) >> hm->shift);
		sp->huge[b / 64] |= 1ULL << (b % 64);
	}
}

void tm_heatmap_unmark_huge(tm_heatmap *hm, int s, size_t i)
{
	tm_span *sp = &hm->span[s];
	size_t b = tm_span_block(hm, sp, i);
	if (sp->huge)
		sp->huge[b / 64] &= ~(1ULL << (b % 64));
}

/* Visit the cells of span s that [start, end) covers within [base, limit). */
static void clip(const tm_heatmap *hm, const tm_span *sp, uintptr_t limit,
		 uintptr_t start, uintptr_t end, size_t *first, size_t *last)
{
	uintptr_t lo = start > sp->base ? start : sp->base;
	uintptr_t hi = end < limit ? end : limit;
	*first = lo < hi ? (lo - sp->base) >> hm->shift : 0;
	*last = lo < hi ? (hi - sp->base + (1UL << hm->shift) - 1) >> hm->shift : 0;
}

/* How a source saw what it credits: page by page, as a region from one
 * sampled page at a time, or as a region hot throughout. */
typedef enum { EXACT, REGION, DENSE } credit_kind;

/* A page's share of a credit: half while two sources share it, except in
 * huge blocks, which only write tracking (EXACT) credits then, and for
 * regions hot throughout; as many times as the periods it stands for. */
static unsigned page_credit(const tm_heatmap *hm, const tm_span *sp, size_t i,
			    unsigned credit, credit_kind kind)
{
	credit *= 1 + hm->periods_skipped;
	if (hm->huge_by_writes && tm_heatmap_in_huge(hm, sp, i))
		return kind == EXACT ? credit : 0;
	return kind == DENSE ? credit : credit >> hm->credit_shift;
}

static size_t credit_pages(tm_heatmap *hm, uintptr_t start, uintptr_t end,
			   unsigned credit, credit_kind kind)
{
	size_t credited = 0;
	for (int s = 0; s < hm->nspans; s++) {
		tm_span *sp = &hm->span[s];
		size_t i, last;
		clip(hm, sp, sp->end, start, end, &i, &last);
		credited += last - i;
		for (; i < last; i++) {
			unsigned h = atomic_load_explicit(&sp->cells[i].heat,
							  memory_order_relaxed) +
				     page_credit(hm, sp, i, credit, kind);
			atomic_store_explicit(&sp->cells[i].heat,
					      h > TM_HEAT_MAX ? TM_HEAT_MAX : h,
					      memory_order_relaxed);
		}
	}
	atomic_fetch_add_explicit(&hm->credited, credited, memory_order_relaxed);
	return credited;
}

size_t tm_heatmap_credit(tm_heatmap *hm, uintptr_t start, uintptr_t end,
			 unsigned credit)
{
	return credit_pages(hm, start, end, credit, EXACT);
}

size_t tm_heatmap_credit_region(tm_heatmap *hm, uintptr_t start, uintptr_t end,
				unsigned credit)
{
	return credit_pages(hm, start, end, credit, REGION);
}

size_t tm_heatmap_credit_dense(tm_heatmap *hm, uintptr_t start, uintptr_t end,
			       unsigned credit)
{
	return credit_pages(hm, start, end, credit, DENSE);
}

void tm_heatmap_cool(tm_heatmap *hm)
{
	for (int s = 0; s < hm->nspans; s++) {
		tm_span *sp = &hm->span[s];
		size_t n = tm_span_pages(hm, sp);
		for (size_t i = 0; i < n; i++) {
			uint8_t h = atomic_load_explicit(&sp->cells[i].heat,
							 memory_order_relaxed);
			atomic_store_explicit(&sp->cells[i].heat, (uint8_t)(h * 3 / 4),
					      memory_order_relaxed);
		}
	}
}

size_t tm_heatmap_hint(tm_heatmap *hm, uintptr_t start, uintptr_t end, int hint)
{
	size_t hinted = 0;
	for (int s = 0; s < hm->nspans; s++) {
		tm_span *sp = &hm->span[s];
		uintptr_t limit = sp->base + (sp->cap << hm->shift);
		size_t i, last;
		clip(hm, sp, limit, start, end, &i, &last);
		if (i == last || tm_heatmap_cover(hm, s, sp->base + (last << hm->shift)) < 0)
			continue;
		for (; i < last; i++, hinted++)
			atomic_store_explicit(&sp->cells[i].hint, (uint8_t)hint,
					      memory_order_relaxed);
	}
	return hinted;
}

int tm_heatmap_mean(const tm_heatmap *hm, uintptr_t start, uintptr_t end,
		    size_t max_pages)
{
	uintptr_t page = 1UL << hm->shift;
	uintptr_t first = start & ~(page - 1);
	size_t pages = (end - first + page - 1) >> hm->shift;
	size_t stride = pages > max_pages ? pages / max_pages : 1;
	unsigned sum = 0, n = 0;
	for (size_t i = 0; i < pages; i += stride) {
		const tm_cell *c = tm_heatmap_cell(hm, first + (i << hm->shift));
		if (c) {
			sum += tm_cell_heat(c);
			n++;
		}
	}
	return n ? (int)(sum / n) : -1;
}

size_t tm_heatmap_bytes(const tm_heatmap *hm)
{
	size_t bytes = 0;
	for (int s = 0; s < hm->nspans; s++) {
		const tm_span *sp = &hm->span[s];
		bytes += atomic_load(&sp->ready) * sizeof(tm_cell);
		if (sp->huge)
			bytes += tm_heatmap_huge_bytes(sp->cap << hm->shift);
	}
	return bytes;
}

void tm_heatmap_histogram(const tm_heatmap *hm,
			  uint64_t hist[TM_TIER_MAX][TM_HEAT_HIST])
{
	memset(hist, 0, sizeof(uint64_t) * TM_TIER_MAX * TM_HEAT_HIST);
	for (int s = 0; s < hm->nspans; s++) {
		const tm_span *sp = &hm->span[s];
		size_t n = tm_span_pages(hm, sp);
		for (size_t i = 0; i < n; i++) {
			const tm_cell *c = &sp->cells[i];
			if (c->tier < TM_TIER_MAX)
				hist[c->tier][tm_cell_heat(c) * TM_HEAT_HIST /
					      (TM_HEAT_MAX + 1)]++;
		}
	}
}
