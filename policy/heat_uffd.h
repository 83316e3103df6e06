/* Write tracking with userfaultfd WP_ASYNC and PAGEMAP_SCAN: heat from which
 * pages were written, for any user on kernels >= 6.7. Reads are not seen: a
 * page only read stays cold.
 *
 * Every write to a protected page costs one fault (~1 us on hardware, far
 * more under emulation), so the faults a period may cost are bounded (the
 * fault budget), and pages are watched in short windows: a window tells a
 * page written all the time from one written now and then, where a whole
 * period would find both written. Two ways, chosen each period from how many
 * pages a window has been finding written (the first period looks once, for
 * 100 us, over the whole heap):
 *   - whole heap: the heap is protected with one call, watched for a window
 *     (short enough that at most a quarter of it is written), and the written
 *     pages read back with one scan; up to 8 windows a period, as the budget
 *     allows. A page's credit is the share of windows it was written in: a
 *     frequency, page by page.
 *   - sampled, when even one such window would exceed the budget (big heaps
 *     written all over): the heap is cut into regions of 2^k pages so
 *     that their number fits the budget, one page of each, chosen afresh at
 *     random, is protected for one window, and a region whose page was
 *     written gets the full credit of the period, the way DAMON samples one
 *     page per region. Fewer pages are sampled when protecting them one by
 *     one costs more than 2% of the period (each protection flushes the TLB). */
#ifndef TM_HEAT_UFFD_H
#define TM_HEAT_UFFD_H

#include "os.h"
#include "source.h"

#define TM_UFFD_RUNS 256

typedef struct {
	tm_heat_src base;
	const tm_uffd_os *os;
	unsigned faults_per_sec;      /* the fault budget */
	int uffd, pagemap;
	uintptr_t registered[TM_TIER_MAX];  /* per span: registered up to */
	unsigned shift;               /* this period's regions (log2 bytes) */
	uint64_t seed;                /* this period's choice of pages */
	uint64_t protect_ns;          /* what a protection costs, on average */
	double written_per_ms;        /* heap pages a window finds written, per ms */
	unsigned windows;             /* this period's whole-heap windows, or 0 */
	tm_page_run runs[TM_UFFD_RUNS];
} tm_uffd_src;

void tm_uffd_src_init(tm_uffd_src *s, const tm_uffd_os *os,
		      unsigned faults_per_sec);

/* Region size (log2 bytes) that keeps pages/region samples within budget. */
unsigned tm_uffd_region_shift(size_t pages, size_t budget, unsigned page_shift);

#endif
