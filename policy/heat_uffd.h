/* Write tracking with userfaultfd WP_ASYNC and PAGEMAP_SCAN: heat from which
 * pages were written, for any user on kernels >= 6.7. Reads are not seen: a
 * page only read stays cold.
 *
 * Every first write to a protected page costs the program one fault: about
 * 1 us on hardware, 15 us or more on a virtual machine or under emulation.
 * So the budget is time, not a count: the source measures what a fault
 * costs here when it opens, and lets the faults of a period cost at most
 * TIERMALLOC_HEAT_CPU percent of one CPU.
 *
 * Each period the heap is watched for up to 8 windows; the scan that ends
 * a window protects the pages it found written again in the same
 * page-table walk, so the next window starts without a call that costs
 * the whole heap. A window ends when the program has written its share of
 * the budget or a quarter of the heap, or has run for its share of a
 * quarter of the period, counted in the program's CPU time (at most twice
 * that on the clock, for a program that sleeps). So windows follow the
 * program's progress, not the clock: a busy or slow machine gives the same
 * picture. Whether the share is written is seen by looks, each a walk of
 * the heap's page tables; a window looks first when the last one's pace
 * says the share will be written, so a program that writes little is
 * looked at once a window. The pages written first in a window are the
 * ones written most often, and a page's credit is the share of windows it
 * was written in: a frequency, page by page.
 *
 * The walks cost this thread too: there are no more windows than fit 2% of
 * the period at what a window cost last time.
 *
 * Between periods the protection is lifted (this thread's work grows with
 * the heap: 0.02-9 us a page on the VMs here) or kept (the program takes a
 * fault for each page it writes meanwhile, and the next period protects
 * only those again), whichever costs less: lifting as last measured,
 * faults as the last window's pace expects them and the last gap that
 * kept the protection measured them. */
#ifndef TM_HEAT_UFFD_H
#define TM_HEAT_UFFD_H

#include "allocator/prim/track.h"
#include "policy/source.h"

#define TM_UFFD_RUNS 256

typedef struct {
	tm_heat_src base;
	const tm_uffd_os *os;
	unsigned cpu_percent;         /* the budget: share of one CPU */
	int uffd, pagemap;
	int nspans;
	uintptr_t span_base[TM_TIER_MAX];   /* per span: its start */
	uintptr_t registered[TM_TIER_MAX];  /* per span: registered up to */
	uint64_t fault_ns;            /* what a write fault costs here */
	unsigned windows;             /* this period's windows */
	size_t window_pages;          /* pages a window may see written */
	uint64_t faults;              /* pages seen written (one fault each) */
	uint64_t window_cost_ns;      /* our own time a window took, last period */
	uint64_t waited_ns;           /* this period's waits: the program's time */
	unsigned look_us;             /* next window's first look; 0: default */
	bool armed;                   /* the protection kept since last period */
	uint64_t kept_faults;         /* pages written while it was kept */
	uint64_t lift_ns;             /* what lifting it cost, the last time */
	size_t lift_pages;            /* over that many pages; 0: never lifted */
	unsigned lift_run;            /* periods to lift before keeping again */
	unsigned lift_backoff;        /* the next such run, if keeping costs more */
	unsigned every;               /* periods between collections (pace.h) */
	tm_page_run runs[TM_UFFD_RUNS];
} tm_uffd_src;

void tm_uffd_src_init(tm_uffd_src *s, const tm_uffd_os *os,
		      unsigned cpu_percent);

#endif
