/* The heat map: one cell per page of the managed heap, kept for every tier's
 * reservation (a "span"), with periodic cooling so old heat fades.
 *
 * Heat is a decayed access estimate in 0..255. Each period the migrator
 * takes a quarter off every cell (cooling) and the heat source adds credit
 * for what it saw: TM_HEAT_FULL means "accessed throughout the period", so a
 * page accessed in every period settles at the top, one left alone falls
 * below a quarter of that in five periods, and one missed reading (sources
 * are noisy) costs a hot page only a quarter of its heat.
 *
 * Cells are 4 bytes per page (0.1% of the heap). Their memory is reserved for
 * the whole span and committed only as the heap grows (tm_heatmap_cover), so
 * the metadata follows the footprint, not the reservation. */
#ifndef TM_HEATMAP_H
#define TM_HEATMAP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "include/tiermalloc.h"
#include "policy/policy.h"

#define TM_HEAT_MAX 255
#define TM_HEAT_FULL 64         /* settles at 4 x 64: the top */
#define TM_TIER_NONE 0xff       /* page not present (never touched, purged) */
#define TM_AGE_MAX 127          /* moved long ago, or never */
#define TM_AGE_CAME_UP 0x80     /* age's top bit: its last move brought the
				 * page up to DRAM */
#define TM_HUGE_SHIFT 21        /* a PMD-mapped transparent huge page */

typedef struct {
	_Atomic uint8_t heat;   /* written by the migrator, read by anyone */
	_Atomic uint8_t hint;   /* TM_NORMAL/HOT/COLD, written by tm_advise */
	uint8_t tier;           /* where the page is now; migrator only */
	uint8_t age;            /* periods since it last moved or failed to
				 * (saturating; a new page starts at
				 * TM_AGE_MAX), and TM_AGE_CAME_UP */
} tm_cell;

static inline unsigned tm_cell_age(const tm_cell *c)
{
	return c->age & TM_AGE_MAX;
}

/* Grows the committed part of a span's cell array from old to new bytes;
 * 0 or -errno. NULL when the cells are all committed up front (tests). */
typedef int (*tm_cells_grow_fn)(void *cells, size_t old_bytes, size_t new_bytes);

typedef struct {
	uintptr_t base;          /* first byte of the span, page aligned */
	size_t cap;              /* cells the span may ever need */
	_Atomic size_t ready;    /* cells committed and usable */
	uintptr_t end;           /* end of the heap's committed part, as last seen */
	tm_cell *cells;
	/* One bit per 2 MiB block (counted from base rounded down) seen mapped
	 * as one transparent huge page: the kernel moves it whole, so it is
	 * planned and moved as one unit. Kept once seen (the page stays one
	 * folio when its mapping is split into 4 KiB entries, as a uffd write
	 * fault does) until its pages are found apart. NULL: none known. */
	uint64_t *huge;
	int home;                /* tier whose arenas own the span */
} tm_span;

typedef struct {
	int nspans;
	unsigned shift;          /* log2 of the page size */
	unsigned credit_shift;   /* 1 while two sources share the credit */
	/* While two sources share, huge blocks are write tracking's alone:
	 * DAMON's accessed bit on a huge page is set by an access to any of
	 * its 512 pages, so under any spread of traffic every huge page reads
	 * as used all the time, and its credit would only blur the density
	 * that write tracking measures page by page. Their pages get write
	 * tracking's credit whole. */
	bool huge_by_writes;
	/* Periods skipped before this collection (see pace.h): its credit
	 * counts for each of them too, as the cooling does. */
	unsigned periods_skipped;
	_Atomic uint64_t credited; /* pages credited so far, by any source */
	/* The program's CPU time over the last period's wall time, in 1/1000
	 * (at most 1000). A source that samples the clock (DAMON) scales by
	 * it: a program that ran a third of the time on a busy machine
	 * touched its hot pages in a third of the samples. */
	unsigned ran_permille;
	tm_cells_grow_fn grow;
	tm_span span[TM_TIER_MAX];
} tm_heatmap;

void tm_heatmap_init(tm_heatmap *hm, unsigned page_shift, tm_cells_grow_fn grow);

/* Add a span over [base, base+size) with its cell array (size >> shift cells,
 * reserved). Returns the span index, or -1 when full. */
int tm_heatmap_add_span(tm_heatmap *hm, uintptr_t base, size_t size,
			tm_cell *cells, int home);

/* The heap of span s is committed up to end: make cells usable up to there.
 * Safe from several threads; 0 or -errno. */
int tm_heatmap_cover(tm_heatmap *hm, int s, uintptr_t end);

/* The heap of span s grew to end (the migrator's view): cover it, and mark
 * its new pages as not located yet and free to move (they never moved).
 * 0 or -errno. */
int tm_heatmap_extend(tm_heatmap *hm, int s, uintptr_t end);

/* The usable cell of addr, or NULL. */
tm_cell *tm_heatmap_cell(const tm_heatmap *hm, uintptr_t addr);

/* Span index holding addr, or -1. */
int tm_heatmap_span_of(const tm_heatmap *hm, uintptr_t addr);

static inline size_t tm_span_pages(const tm_heatmap *hm, const tm_span *sp)
{
	return (sp->end - sp->base) >> hm->shift;
}

/* Bytes of the huge-block bitmap of a span of size bytes. */
static inline size_t tm_heatmap_huge_bytes(size_t size)
{
	return ((size >> TM_HUGE_SHIFT) / 64 + 2) * sizeof(uint64_t);
}

static inline size_t tm_block_pages(const tm_heatmap *hm)
{
	return (size_t)1 << (TM_HUGE_SHIFT - hm->shift);
}

/* Block of page i of a span, counted from the span's base rounded down. */
static inline size_t tm_span_block(const tm_heatmap *hm, const tm_span *sp,
				   size_t i)
{
	return ((sp->base & ((1UL << TM_HUGE_SHIFT) - 1)) + (i << hm->shift)) >>
	       TM_HUGE_SHIFT;
}

/* Whether the 2 MiB block holding page i of span sp is huge. */
static inline bool tm_heatmap_in_huge(const tm_heatmap *hm, const tm_span *sp,
				      size_t i)
{
	size_t b = tm_span_block(hm, sp, i);
	return sp->huge && sp->huge[b / 64] >> (b % 64) & 1;
}

/* Pages of the unit of placement that starts at page i of a span: a whole
 * huge block when i is the first page of one, else the page alone. Inline:
 * every pass over the cells asks it of every page. */
static inline size_t tm_heatmap_unit(const tm_heatmap *hm, const tm_span *sp,
				     size_t i)
{
	if (!sp->huge ||
	    ((sp->base + (i << hm->shift)) & ((1UL << TM_HUGE_SHIFT) - 1)))
		return 1;
	return tm_heatmap_in_huge(hm, sp, i) ? tm_block_pages(hm) : 1;
}

/* Mark the blocks of span s that lie wholly in [start, end) as huge. */
void tm_heatmap_mark_huge(tm_heatmap *hm, int s, uintptr_t start, uintptr_t end);

/* Forget that the block holding page i of span s is huge. */
void tm_heatmap_unmark_huge(tm_heatmap *hm, int s, size_t i);

/* Add credit (saturating), halved while two sources share it (what one
 * source alone sees then fills half the range; huge blocks excepted, see
 * huge_by_writes), to every page of [start, end) in the heap. Returns the
 * number of pages credited. */
size_t tm_heatmap_credit(tm_heatmap *hm, uintptr_t start, uintptr_t end,
		       unsigned credit);

/* The same for a source that sees regions (DAMON), which credits no huge
 * block while huge_by_writes is set. */
size_t tm_heatmap_credit_region(tm_heatmap *hm, uintptr_t start, uintptr_t end,
				unsigned credit);

/* The same for a region known hot throughout (found accessed in every
 * check, or a single page): its credit is not halved while two sources
 * share, since what is only read is as hot as what is also written, and
 * the other source (write tracking) sees none of it. */
size_t tm_heatmap_credit_dense(tm_heatmap *hm, uintptr_t start, uintptr_t end,
			       unsigned credit);

/* One cooling step: every page loses a quarter of its heat. */
void tm_heatmap_cool(tm_heatmap *hm);

/* Record an application hint (TM_NORMAL clears) over [start, end), rounded
 * out to pages. Returns the number of pages hinted. */
size_t tm_heatmap_hint(tm_heatmap *hm, uintptr_t start, uintptr_t end, int hint);

/* Heat as placement sees it: a hint overrides what was measured. */
static inline unsigned tm_cell_heat(const tm_cell *c)
{
	switch (atomic_load_explicit(&c->hint, memory_order_relaxed)) {
	case TM_HOT:
		return TM_HEAT_MAX;
	case TM_COLD:
		return 0;
	default:
		return atomic_load_explicit(&c->heat, memory_order_relaxed);
	}
}

/* Mean heat of the pages under [start, end), at most max_pages of them
 * looked at (evenly spread); -1 when none is in the heap. */
int tm_heatmap_mean(const tm_heatmap *hm, uintptr_t start, uintptr_t end,
		    size_t max_pages);

/* Memory the heat map keeps: the committed cells and huge-block bitmaps. */
size_t tm_heatmap_bytes(const tm_heatmap *hm);

/* Present pages per tier and heat bucket. */
void tm_heatmap_histogram(const tm_heatmap *hm,
			  uint64_t hist[TM_TIER_MAX][TM_HEAT_HIST]);

#endif
