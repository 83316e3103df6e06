#include "heat_uffd.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Below this many samples a period says too little to be worth the work. */
#define MIN_SAMPLES 16
#define WINDOW_US 5000      /* the longest window pages are watched for */
#define MIN_WINDOW_US 100   /* below this, sleeping costs more than it tells */
#define MAX_WINDOWS 8       /* windows a period when the whole heap is watched */
#define CPU_SHARE 50        /* protecting takes at most 1/50 of a period */

static tm_uffd_src *self(tm_heat_src *s)
{
	return (tm_uffd_src *)s;
}

static uint64_t mix(uint64_t x)
{
	x ^= x >> 31;
	x *= 0x9e3779b97f4a7c15ULL;
	x ^= x >> 29;
	x *= 0xbf58476d1ce4e5b9ULL;
	return x ^ (x >> 32);
}

unsigned tm_uffd_region_shift(size_t pages, size_t budget, unsigned page_shift)
{
	unsigned shift = page_shift;
	while (pages > budget << (shift - page_shift)) /* ceil(pages/region) */
		shift++;
	return shift;
}

/* Regions are aligned to their size in the address space (not to the span),
 * so a buffer aligned that way is tracked region for region. */
typedef struct {
	uintptr_t start, end;  /* the region, clipped to the span's heap */
	uint64_t index;
} region;

static bool region_first(region *r, uintptr_t base, uintptr_t end,
			 unsigned shift)
{
	r->index = base >> shift;
	r->start = base;
	r->end = ((r->index + 1) << shift) < end ? (r->index + 1) << shift : end;
	return r->start < r->end;
}

static bool region_next(region *r, uintptr_t end, unsigned shift)
{
	r->index++;
	r->start = r->index << shift;
	r->end = ((r->index + 1) << shift) < end ? (r->index + 1) << shift : end;
	return r->start < end;
}

static uintptr_t sample_page(const region *r, uint64_t seed, unsigned page_shift)
{
	size_t pages = (r->end - r->start) >> page_shift;
	return r->start + ((mix(r->index ^ seed) % pages) << page_shift);
}

/* Is p in one of the written runs? Runs come from the kernel in address
 * order, a buffer at a time; samples are asked for in address order too. */
typedef struct {
	tm_uffd_src *u;
	uintptr_t scanned, end;
	long n, k;
} run_cursor;

static bool written(run_cursor *rc, uintptr_t p)
{
	tm_uffd_src *u = rc->u;
	for (;;) {
		while (rc->k < rc->n && u->runs[rc->k].end <= p)
			rc->k++;
		if (rc->k < rc->n || rc->scanned >= rc->end)
			break;
		uintptr_t walk_end = rc->scanned;
		rc->n = u->os->scan_written(u->pagemap, rc->scanned, rc->end,
					    u->runs, TM_UFFD_RUNS, &walk_end);
		rc->k = 0;
		if (rc->n < 0 || walk_end <= rc->scanned) {
			rc->n = 0;
			rc->scanned = rc->end; /* no progress: stop asking */
			break;
		}
		rc->scanned = walk_end;
	}
	return rc->k < rc->n && u->runs[rc->k].start <= p;
}

/* Credit the regions of span s whose sampled page was written; how many. */
static size_t check_span(tm_uffd_src *u, tm_heatmap *hm, int s)
{
	uintptr_t base = hm->span[s].base, end = u->registered[s];
	run_cursor rc = {u, base, end, 0, 0};
	region r;
	size_t hits = 0;
	for (bool more = region_first(&r, base, end, u->shift); more;
	     more = region_next(&r, end, u->shift))
		if (written(&rc, sample_page(&r, u->seed, hm->shift))) {
			tm_heatmap_credit(hm, r.start, r.end, TM_HEAT_FULL);
			hits++;
		}
	return hits;
}

/* Credit every page of span s written since it was protected; how many. */
static size_t credit_written(tm_uffd_src *u, tm_heatmap *hm, int s, unsigned credit)
{
	uintptr_t at = hm->span[s].base, end = u->registered[s];
	size_t pages = 0;
	while (at < end) {
		uintptr_t walk_end = at;
		long n = u->os->scan_written(u->pagemap, at, end, u->runs,
					     TM_UFFD_RUNS, &walk_end);
		for (long k = 0; k < n; k++)
			pages += tm_heatmap_credit(hm, u->runs[k].start, u->runs[k].end,
						   credit);
		if (n < 0 || walk_end <= at)
			break;
		at = walk_end;
	}
	return pages;
}

static void register_growth(tm_uffd_src *u, const tm_heatmap *hm)
{
	for (int s = 0; s < hm->nspans; s++) {
		const tm_span *sp = &hm->span[s];
		uintptr_t from = u->registered[s];
		if (sp->end > from &&
		    u->os->register_wp(u->uffd, from, sp->end - from) == 0)
			u->registered[s] = sp->end;
	}
}

static size_t heap_pages(const tm_uffd_src *u, const tm_heatmap *hm)
{
	size_t pages = 0;
	for (int s = 0; s < hm->nspans; s++)
		pages += (u->registered[s] - hm->span[s].base) >> hm->shift;
	return pages;
}

/* Pages to protect this period: within the fault budget, and within the
 * migrator's own share of the period at what a protection has been costing
 * (a TLB flush each: ~1 us on hardware, far more under emulation). */
static size_t samples(const tm_uffd_src *u, unsigned period_ms)
{
	size_t n = (size_t)u->faults_per_sec * period_ms / 1000;
	if (u->protect_ns) {
		size_t affordable = (size_t)(period_ms * 1000000ULL / CPU_SHARE / u->protect_ns);
		n = affordable < n ? affordable : n;
	}
	return n > MIN_SAMPLES ? n : MIN_SAMPLES;
}

/* Protect one page of every region, chosen afresh, with regions as small
 * as the budget allows; how many were protected. */
static size_t arm(tm_uffd_src *u, const tm_heatmap *hm, unsigned period_ms)
{
	size_t armed = 0;
	u->shift = tm_uffd_region_shift(heap_pages(u, hm), samples(u, period_ms),
					hm->shift);
	u->seed = mix(u->seed + 1);
	uintptr_t page = 1UL << hm->shift;
	uint64_t t0 = u->os->now_ns();
	for (int s = 0; s < hm->nspans; s++) {
		uintptr_t base = hm->span[s].base, end = u->registered[s];
		region r;
		for (bool more = region_first(&r, base, end, u->shift); more;
		     more = region_next(&r, end, u->shift))
			if (u->os->protect(u->uffd, sample_page(&r, u->seed, hm->shift),
					   page, true) == 0)
				armed++;
	}
	if (armed) {
		uint64_t each = (u->os->now_ns() - t0) / armed + 1;
		u->protect_ns = u->protect_ns ? (3 * u->protect_ns + each) / 4 : each;
	}
	u->base.observed += armed;
	return armed;
}

/* Learn how many of the heap's pages are written per ms of a window
 * (what watching the whole heap would cost in faults). */
static void learn_rate(tm_uffd_src *u, double pages_per_ms)
{
	u->written_per_ms = u->written_per_ms > 0
		? (3 * u->written_per_ms + pages_per_ms) / 4 : pages_per_ms;
}

/* One sampled window: a page a region (bounded faults, coarse credit). */
static void watch_samples(tm_uffd_src *u, tm_heatmap *hm, unsigned period_ms)
{
	size_t armed = arm(u, hm, period_ms);
	unsigned window = period_ms * 500; /* at most half the period */
	window = window < WINDOW_US ? window : WINDOW_US;
	u->os->wait(window);
	size_t hits = 0;
	for (int i = 0; i < hm->nspans; i++)
		hits += check_span(u, hm, i);
	if (armed && window)
		learn_rate(u, (double)hits / (double)armed *
			      (double)heap_pages(u, hm) * 1000.0 / window);
}

/* Write-protect the whole registered heap, or lift the protection. */
static void protect_heap(tm_uffd_src *u, const tm_heatmap *hm, bool on)
{
	for (int s = 0; s < hm->nspans; s++)
		u->os->protect(u->uffd, hm->span[s].base,
			       u->registered[s] - hm->span[s].base, on);
}

/* Windows over the whole heap: each page's credit is the share of windows
 * it was written in, a frequency rather than "written lately". */
static void watch_all(tm_uffd_src *u, tm_heatmap *hm, unsigned windows,
		      unsigned window_us)
{
	size_t written = 0;
	uint64_t watched_ns = 0;
	for (unsigned w = 0; w < windows; w++) {
		protect_heap(u, hm, true);
		uint64_t t0 = u->os->now_ns();
		u->os->wait(window_us);
		watched_ns += u->os->now_ns() - t0;
		for (int s = 0; s < hm->nspans; s++)
			written += credit_written(u, hm, s, TM_HEAT_FULL / windows);
	}
	/* Left protected, every page written until the next period would
	 * fault once: the faults would not be bounded by the windows. */
	protect_heap(u, hm, false);
	u->base.observed += heap_pages(u, hm) * windows;
	if (watched_ns)
		learn_rate(u, (double)written * 1e6 / (double)watched_ns);
}

/* The plan for a period: windows over the whole heap when the faults they
 * cost fit the budget, else one sampled window. A window lets at most a
 * quarter of the heap be written, or every page would look alike. The
 * first look is one shortest window: what a program writes in 100 us is
 * few pages, whatever the heap. */
static unsigned plan_windows(const tm_uffd_src *u, size_t pages, unsigned period_ms,
			     unsigned *window_us)
{
	double rate = u->written_per_ms; /* pages a ms; 0 before a measurement */
	*window_us = MIN_WINDOW_US;
	if (pages == 0)
		return 0;
	if (rate <= 0)
		return 1;
	double budget = (double)u->faults_per_sec * period_ms / 1000;
	double us = pages / 4.0 / rate * 1000;
	us = us < WINDOW_US ? us : WINDOW_US;
	if (us < MIN_WINDOW_US)
		return 0;
	unsigned n = (unsigned)(budget / (rate * us / 1000));
	n = n < MAX_WINDOWS ? n : MAX_WINDOWS;
	while (n > 1 && n * us > period_ms * 500.0) /* at most half the period */
		n--;
	*window_us = (unsigned)us;
	return n;
}

static void uffd_collect(tm_heat_src *s, tm_heatmap *hm, unsigned period_ms)
{
	tm_uffd_src *u = self(s);
	register_growth(u, hm);
	unsigned window_us = 0;
	unsigned windows = plan_windows(u, heap_pages(u, hm), period_ms, &window_us);
	u->windows = windows;
	if (windows)
		watch_all(u, hm, windows, window_us);
	else
		watch_samples(u, hm, period_ms);
}

static const char *open_reason(int err)
{
	switch (-err) {
	case ENOSYS:
		return "the kernel has no userfaultfd";
	case EPERM:
		return "userfaultfd is not permitted here";
	case EOPNOTSUPP:
		return "the kernel lacks UFFD_FEATURE_WP_ASYNC (needs 6.7 or later)";
	default:
		return strerror(-err);
	}
}

static int uffd_open(tm_heat_src *s, const tm_heatmap *hm, unsigned period_ms,
		     char *why, size_t len)
{
	tm_uffd_src *u = self(s);
	int fd = u->os->open();
	if (fd < 0) {
		snprintf(why, len, "userfaultfd: %s", open_reason(fd));
		return -1;
	}
	int pm = u->os->open_pagemap();
	if (pm < 0) {
		u->os->close(fd);
		snprintf(why, len, "PAGEMAP_SCAN: %s", pm == -ENOTTY || pm == -EINVAL
			 ? "not in this kernel (needs 6.7 or later)" : strerror(-pm));
		return -1;
	}
	u->uffd = fd;
	u->pagemap = pm;
	for (int i = 0; i < hm->nspans; i++)
		u->registered[i] = hm->span[i].base;
	return 0;
}

/* Closing the descriptors is all: the kernel drops the registrations with
 * the last reference, and in a forked child the parent still holds its own. */
static void uffd_close(tm_heat_src *s)
{
	tm_uffd_src *u = self(s);
	u->os->close(u->uffd);
	u->os->close(u->pagemap);
	u->uffd = u->pagemap = -1;
}

void tm_uffd_src_init(tm_uffd_src *s, const tm_uffd_os *os,
		      unsigned faults_per_sec)
{
	memset(s, 0, sizeof(*s));
	s->base = (tm_heat_src){
		.name = "uffd",
		.page_exact = true,
		.open = uffd_open,
		.collect = uffd_collect,
		.close = uffd_close,
		.forget = uffd_close,
	};
	s->os = os;
	s->faults_per_sec = faults_per_sec;
	s->uffd = s->pagemap = -1;
}
