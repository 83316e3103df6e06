/* Write tracking with userfaultfd WP_ASYNC and PAGEMAP_SCAN: heat from which
 * pages were written, for any user on kernels >= 6.7.
 *
 * Every write to a protected page costs one fault (~10 us under a
 * hypervisor), so only a bounded sample is protected: the heap is cut into
 * regions of 2^k pages so that their number fits the fault budget, and each
 * period one page per region, chosen afresh at random, is protected for a
 * short window (10 ms). A region whose sampled page was written within the
 * window gets the full credit of the period, the way DAMON samples one page
 * per region. The short window, rather than the whole period, tells a page
 * written all the time from one written now and then. Small heaps are
 * tracked page by page. Fewer pages are sampled when protecting them costs
 * more than 2% of the period (each protection flushes the TLB: ~1 us on
 * hardware, 100 times that under emulation). Reads are not seen: a page
 * only read stays cold. */
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
	tm_page_run runs[TM_UFFD_RUNS];
} tm_uffd_src;

void tm_uffd_src_init(tm_uffd_src *s, const tm_uffd_os *os,
		      unsigned faults_per_sec);

/* Region size (log2 bytes) that keeps pages/region samples within budget. */
unsigned tm_uffd_region_shift(size_t pages, size_t budget, unsigned page_shift);

#endif
