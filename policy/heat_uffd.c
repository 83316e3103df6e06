#include "heat_uffd.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Below this many samples a period says too little to be worth the work. */
#define MIN_SAMPLES 16
#define WINDOW_US 5000    /* how long sampled pages are watched */
#define CPU_SHARE 50      /* protecting takes at most 1/50 of a period */

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

/* Credit the regions of span s whose sampled page was written. */
static void check_span(tm_uffd_src *u, tm_heatmap *hm, int s)
{
	uintptr_t base = hm->span[s].base, end = u->registered[s];
	run_cursor rc = {u, base, end, 0, 0};
	region r;
	for (bool more = region_first(&r, base, end, u->shift); more;
	     more = region_next(&r, end, u->shift))
		if (written(&rc, sample_page(&r, u->seed, hm->shift)))
			tm_heatmap_credit(hm, r.start, r.end, TM_HEAT_FULL);
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
 * as the budget allows. */
static void arm(tm_uffd_src *u, const tm_heatmap *hm, unsigned period_ms)
{
	size_t pages = 0, armed = 0;
	for (int s = 0; s < hm->nspans; s++)
		pages += (u->registered[s] - hm->span[s].base) >> hm->shift;
	u->shift = tm_uffd_region_shift(pages, samples(u, period_ms), hm->shift);
	u->seed = mix(u->seed + 1);
	uintptr_t page = 1UL << hm->shift;
	uint64_t t0 = u->os->now_ns();
	for (int s = 0; s < hm->nspans; s++) {
		uintptr_t base = hm->span[s].base, end = u->registered[s];
		region r;
		for (bool more = region_first(&r, base, end, u->shift); more;
		     more = region_next(&r, end, u->shift))
			if (u->os->protect(u->uffd, sample_page(&r, u->seed, hm->shift),
					   page) == 0)
				armed++;
	}
	if (armed) {
		uint64_t each = (u->os->now_ns() - t0) / armed + 1;
		u->protect_ns = u->protect_ns ? (3 * u->protect_ns + each) / 4 : each;
	}
	u->base.observed += armed;
}

static void uffd_collect(tm_heat_src *s, tm_heatmap *hm, unsigned period_ms)
{
	tm_uffd_src *u = self(s);
	register_growth(u, hm);
	arm(u, hm, period_ms);
	unsigned window = period_ms * 500; /* at most half the period */
	u->os->wait(window < WINDOW_US ? window : WINDOW_US);
	for (int i = 0; i < hm->nspans; i++)
		check_span(u, hm, i);
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
		.open = uffd_open,
		.collect = uffd_collect,
		.close = uffd_close,
		.forget = uffd_close,
	};
	s->os = os;
	s->faults_per_sec = faults_per_sec;
	s->uffd = s->pagemap = -1;
}
