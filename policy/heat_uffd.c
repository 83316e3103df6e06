#include "policy/heat_uffd.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#define MAX_WINDOWS 8         /* windows a period: the credit's resolution */
#define MIN_WINDOW_PAGES 32   /* fewer says too little to be worth a window */
#define FIRST_LOOK_US 100     /* the shortest first wait of a window */
#define LOOKS 16              /* first wait: 1/LOOKS of the window, doubled */
#define OWN_PERMILLE 20       /* our own protecting and scanning: 2% */

static tm_uffd_src *self(tm_heat_src *s)
{
	return (tm_uffd_src *)s;
}

/* How a scan leaves the pages it finds written: as they are (a look
 * during a window), or protected again (a window's end: the next window
 * starts there, without protecting the whole heap again). */
typedef enum { LOOK, REARM } scan_mode;

/* Visit the runs of span s written since it was protected, up to at least
 * max pages; the pages seen. With credit, each page gets it. */
static size_t scan_span(tm_uffd_src *u, tm_heatmap *hm, int s, size_t max,
			unsigned credit, scan_mode mode)
{
	uintptr_t at = hm->span[s].base, end = u->registered[s];
	size_t pages = 0;
	while (at < end && pages < max) {
		uintptr_t walk_end = at;
		long n = (mode == REARM ? u->os->take_written : u->os->scan_written)(
			u->pagemap, at, end, u->runs, TM_UFFD_RUNS, &walk_end);
		for (long k = 0; k < n; k++)
			pages += credit ? tm_heatmap_credit(hm, u->runs[k].start,
							    u->runs[k].end, credit)
					: (u->runs[k].end - u->runs[k].start) >> hm->shift;
		if (n < 0 || walk_end <= at)
			break;
		at = walk_end;
	}
	return pages;
}

static size_t scan_heap(tm_uffd_src *u, tm_heatmap *hm, size_t max,
			unsigned credit, scan_mode mode)
{
	size_t pages = 0;
	for (int s = 0; s < hm->nspans && pages < max; s++)
		pages += scan_span(u, hm, s, max - pages, credit, mode);
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

/* Write-protect the whole registered heap, or lift the protection. */
static void protect_heap(tm_uffd_src *u, const tm_heatmap *hm, bool on)
{
	for (int s = 0; s < hm->nspans; s++)
		if (u->registered[s] > hm->span[s].base) /* a tier yet unused */
			u->os->protect(u->uffd, hm->span[s].base,
				       u->registered[s] - hm->span[s].base, on);
}

/* The period's windows and what each may see: the faults the budget buys,
 * split into windows of at least MIN_WINDOW_PAGES, each letting at most a
 * quarter of the heap be written (or every page would look alike). */
static void plan(tm_uffd_src *u, size_t pages, unsigned period_ms)
{
	uint64_t budget = (uint64_t)period_ms * 1000000 / 100 * u->cpu_percent /
			  u->fault_ns;
	uint64_t windows = budget / MIN_WINDOW_PAGES;
	windows = windows < 1 ? 1 : windows > MAX_WINDOWS ? MAX_WINDOWS : windows;
	size_t quarter = pages / 4 ? pages / 4 : 1;
	size_t share = (size_t)(budget / windows) ? (size_t)(budget / windows) : 1;
	u->windows = pages ? (unsigned)windows : 0;
	u->window_pages = share < quarter ? share : quarter;
	if (u->window_cost_ns) { /* what a window cost this thread last time */
		uint64_t affordable = (uint64_t)period_ms * 1000 * OWN_PERMILLE /
				      u->window_cost_ns;
		if (affordable < u->windows)
			u->windows = affordable ? (unsigned)affordable : 1;
	}
}

/* Asked to stop (the program is exiting): the windows end now, and the
 * protection is lifted, rather than holding up the exit for up to half a
 * period. */
static bool stopping(const tm_uffd_src *u)
{
	return u->base.stop && atomic_load(u->base.stop);
}

/* Waits are the program's time; the rest of a window is ours. */
static void wait_for_program(tm_uffd_src *u, unsigned us)
{
	uint64_t t0 = u->os->now_ns();
	u->os->wait(us);
	u->waited_ns += u->os->now_ns() - t0;
}

/* The process's CPU clock less a thread's is not monotonic: two clocks
 * read one after the other. A step back counts as no time. */
static uint64_t since(uint64_t now, uint64_t then)
{
	return now > then ? now - then : 0;
}

/* Let the program run until it has written the window's pages, or has
 * run for the window's time (its CPU time: on a busy machine it runs less
 * of the wall clock), or at most twice that on the wall clock, for a
 * program that sleeps. Waits double from the first, so a window costs a
 * few scans. */
static void watch(tm_uffd_src *u, tm_heatmap *hm, uint64_t window_ns,
		  unsigned first_us)
{
	uint64_t wall0 = u->os->now_ns(), ran0 = u->os->program_ns();
	for (unsigned us = first_us;; us *= 2) {
		uint64_t wall = u->os->now_ns() - wall0;
		uint64_t ran = since(u->os->program_ns(), ran0);
		if (ran >= window_ns || wall >= 2 * window_ns || stopping(u))
			break;
		uint64_t left = window_ns - ran < 2 * window_ns - wall
			? window_ns - ran : 2 * window_ns - wall;
		wait_for_program(u, us < left / 1000 + 1 ? us : (unsigned)(left / 1000 + 1));
		if (scan_heap(u, hm, u->window_pages, 0, LOOK) >= u->window_pages)
			break;
	}
}

/* A window's first look: after 1/LOOKS of it, or sooner where the last
 * windows overran their share: a program that writes fast takes faults
 * all through a look's wait and our own scans, past what it was allowed. */
static unsigned first_look_us(const tm_uffd_src *u, uint64_t window_ns)
{
	unsigned us = (unsigned)(window_ns / 1000 / LOOKS);
	if (u->look_us && u->look_us < us)
		us = u->look_us;
	return us > FIRST_LOOK_US ? us : FIRST_LOOK_US;
}

/* After a window whose first look came after first_us and which saw seen
 * pages written: look twice as early where it saw more than twice its
 * share, twice as late where it saw under half. */
static void adjust_look(tm_uffd_src *u, size_t seen, unsigned first_us)
{
	if (seen > 2 * u->window_pages)
		u->look_us = first_us / 2;
	else if (seen < u->window_pages / 2)
		u->look_us = first_us * 2;
	else
		u->look_us = first_us;
}

/* Each window credits its written pages with 1/windows of the full heat. */
static void uffd_collect(tm_heat_src *s, tm_heatmap *hm, unsigned period_ms)
{
	tm_uffd_src *u = self(s);
	register_growth(u, hm);
	size_t pages = heap_pages(u, hm);
	plan(u, pages, period_ms);
	if (!u->windows)
		return;
	uint64_t window_ns = (uint64_t)period_ms * 1000000 / 4 / u->windows;
	uint64_t t0 = u->os->now_ns();
	u->waited_ns = 0;
	protect_heap(u, hm, true);
	for (unsigned w = 0; w < u->windows && !stopping(u); w++) {
		unsigned first_us = first_look_us(u, window_ns);
		watch(u, hm, window_ns, first_us);
		scan_mode end = w + 1 < u->windows ? REARM : LOOK;
		size_t seen = scan_heap(u, hm, SIZE_MAX, TM_HEAT_FULL / u->windows, end);
		u->faults += seen;
		adjust_look(u, seen, first_us);
	}
	protect_heap(u, hm, false);
	u->base.observed += pages * u->windows;
	uint64_t own = u->os->now_ns() - t0 - u->waited_ns;
	u->window_cost_ns = own / u->windows + 1;
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
	u->fault_ns = u->os->fault_ns(fd);
	snprintf(why, len, "sees writes only (reads are not seen); a write fault "
		 "costs %.1f us here; faults kept to %u%% of a CPU",
		 (double)u->fault_ns / 1000, u->cpu_percent);
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

void tm_uffd_src_init(tm_uffd_src *s, const tm_uffd_os *os, unsigned cpu_percent)
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
	s->cpu_percent = cpu_percent;
	s->uffd = s->pagemap = -1;
}
