#include "policy/heat_uffd.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#define MAX_WINDOWS 8         /* windows a period: the credit's resolution */
#define MIN_WINDOW_PAGES 32   /* fewer says too little to be worth a window */
#define FIRST_LOOK_US 100     /* the shortest first wait of a window */
#define LOOKS 16              /* first wait, pace unknown: 1/LOOKS of the window */
#define OWN_PERMILLE 20       /* our own protecting and scanning: 2% */
#define MAX_LIFT_RUN 32       /* periods of lifting before keeping is tried */

static tm_uffd_src *self(tm_heat_src *s)
{
	return (tm_uffd_src *)s;
}

/* How a scan leaves the pages it finds written: as they are (a look
 * during a window), or protected again (a window's end: the next window,
 * or the gap to the next period, starts there without protecting the
 * whole heap again). */
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

/* Register what the heap grew by; with the rest of the heap protected,
 * protect it too. */
static void register_growth(tm_uffd_src *u, const tm_heatmap *hm, bool protect)
{
	for (int s = 0; s < hm->nspans; s++) {
		const tm_span *sp = &hm->span[s];
		uintptr_t from = u->registered[s];
		if (sp->end <= from ||
		    u->os->register_wp(u->uffd, from, sp->end - from) != 0)
			continue;
		u->registered[s] = sp->end;
		if (protect)
			u->os->protect(u->uffd, from, sp->end - from, true);
	}
}

static size_t heap_pages(const tm_uffd_src *u, const tm_heatmap *hm)
{
	size_t pages = 0;
	for (int s = 0; s < u->nspans; s++)
		pages += (u->registered[s] - u->span_base[s]) >> hm->shift;
	return pages;
}

/* Write-protect the whole registered heap, or lift the protection. */
static void protect_heap(tm_uffd_src *u, bool on)
{
	for (int s = 0; s < u->nspans; s++)
		if (u->registered[s] > u->span_base[s]) /* a tier yet unused */
			u->os->protect(u->uffd, u->span_base[s],
				       u->registered[s] - u->span_base[s], on);
}

/* Between periods the protection is lifted, and this thread pays for
 * every page of the heap (0.02-9 us a 4 KiB page on the VMs here), or
 * kept, and the program pays a fault for each page it writes meanwhile,
 * which the next period's first scan counts while it protects them again.
 * Lifting comes first, to learn its cost; then the protection is kept
 * where the pages the program is expected to write cost less in faults,
 * and after a period whose faults cost more than lifting would have,
 * lifting runs 1, 2, 4 ... MAX_LIFT_RUN periods before keeping is tried
 * again. */
static uint64_t lift_cost_ns(const tm_uffd_src *u, size_t pages)
{
	return u->lift_ns * pages / u->lift_pages;
}

static bool keeps_protection(tm_uffd_src *u, size_t expected, size_t pages)
{
	if (!u->lift_pages)
		return false;
	if (u->lift_run) {
		u->lift_run--;
		return false;
	}
	return (uint64_t)expected * u->fault_ns <= lift_cost_ns(u, pages);
}

/* Pages the program will write before the next period, as the last
 * window saw it: one that ran its time through without its share written
 * saw what the program keeps writing; one whose share was written sooner
 * saw how fast it writes new pages, which a whole period multiplies. */
static size_t expected_writes(const tm_uffd_src *u, size_t seen, uint64_t ran_ns,
			      uint64_t period_ns, size_t pages)
{
	if (seen < u->window_pages)
		return seen;
	uint64_t n = ran_ns ? seen * (period_ns / ran_ns + 1) : pages;
	return n < pages ? (size_t)n : pages;
}

/* The protection was kept since the last period: protect again what the
 * program wrote meanwhile, and judge what that cost it against lifting. */
static void rearm_kept(tm_uffd_src *u, tm_heatmap *hm, size_t pages)
{
	size_t written = scan_heap(u, hm, SIZE_MAX, 0, REARM);
	u->kept_faults += written;
	if ((uint64_t)written * u->fault_ns <= lift_cost_ns(u, pages)) {
		u->lift_backoff = 1;
		return;
	}
	u->lift_run = u->lift_backoff;
	if (u->lift_backoff < MAX_LIFT_RUN)
		u->lift_backoff *= 2;
}

static void lift(tm_uffd_src *u, size_t pages)
{
	uint64_t t0 = u->os->now_ns();
	protect_heap(u, false);
	u->lift_ns = u->os->now_ns() - t0;
	u->lift_pages = pages;
	u->armed = false;
}

/* The period's windows and what each may see: the faults the budget buys,
 * split into windows of at least MIN_WINDOW_PAGES, each letting at most a
 * quarter of the heap be written (or every page would look alike), and
 * no more windows than this thread's share of the period pays for. */
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

/* Whether the window's time is up: the program has run for it (its CPU
 * time: on a busy machine it runs less of the wall clock), or twice that
 * has passed on the wall clock (a program that sleeps). *ran: the
 * program's time so far. */
static bool time_up(const tm_uffd_src *u, uint64_t wall0, uint64_t ran0,
		    uint64_t window_ns, uint64_t *ran)
{
	*ran = since(u->os->program_ns(), ran0);
	return *ran >= window_ns || u->os->now_ns() - wall0 >= 2 * window_ns ||
	       stopping(u);
}

/* Let the program run until it has written the window's pages or the
 * window's time is up; the program's time it took. Waits double from the
 * first; a wait that reaches the window's end ends it without a look (the
 * window's last scan follows). */
static uint64_t watch(tm_uffd_src *u, tm_heatmap *hm, uint64_t window_ns,
		      unsigned first_us)
{
	uint64_t wall0 = u->os->now_ns(), ran0 = u->os->program_ns(), ran;
	for (unsigned us = first_us; !time_up(u, wall0, ran0, window_ns, &ran);
	     us *= 2) {
		uint64_t wall = u->os->now_ns() - wall0;
		uint64_t left = window_ns - ran < 2 * window_ns - wall
			? window_ns - ran : 2 * window_ns - wall;
		wait_for_program(u, us < left / 1000 + 1 ? us : (unsigned)(left / 1000 + 1));
		if (time_up(u, wall0, ran0, window_ns, &ran) ||
		    scan_heap(u, hm, u->window_pages, 0, LOOK) >= u->window_pages)
			break;
	}
	return ran;
}

/* A window's first look: when the last window's pace says the program
 * will have written a window's share (a look walks the whole heap's page
 * tables: a program that writes slowly is looked at once, at the end);
 * 1/LOOKS of the window before any pace is known. */
static unsigned first_look_us(const tm_uffd_src *u, uint64_t window_ns)
{
	uint64_t us = u->look_us ? u->look_us : window_ns / 1000 / LOOKS;
	uint64_t longest = window_ns / 1000 + 1;
	return us < FIRST_LOOK_US ? FIRST_LOOK_US : us > longest ? (unsigned)longest
								 : (unsigned)us;
}

/* The pace of a window that saw seen pages written in ran ns of the
 * program's time: when it would have written the share. Pages written
 * again do not count twice, so a program's pace only slows as a window
 * goes on: the estimate errs early. */
static void adjust_look(tm_uffd_src *u, size_t seen, uint64_t ran_ns,
			uint64_t window_ns)
{
	uint64_t fill_ns = seen ? ran_ns / seen * u->window_pages : 2 * window_ns;
	u->look_us = (unsigned)(fill_ns / 1000 < UINT32_MAX ? fill_ns / 1000 + 1
						       : UINT32_MAX);
}

/* Each window credits its written pages with 1/windows of the full heat. */
static void watch_period(tm_uffd_src *u, tm_heatmap *hm, unsigned period_ms)
{
	uint64_t t0 = u->os->now_ns();
	if (u->armed)
		rearm_kept(u, hm, heap_pages(u, hm));
	register_growth(u, hm, u->armed);
	size_t pages = heap_pages(u, hm);
	plan(u, pages, period_ms);
	if (!u->windows)
		return;
	uint64_t window_ns = (uint64_t)period_ms * 1000000 / 4 / u->windows;
	u->waited_ns = 0;
	if (!u->armed)
		protect_heap(u, true);
	size_t seen = 0;
	uint64_t ran = 0;
	for (unsigned w = 0; w < u->windows && !stopping(u); w++) {
		ran = watch(u, hm, window_ns, first_look_us(u, window_ns));
		seen = scan_heap(u, hm, SIZE_MAX, TM_HEAT_FULL / u->windows, REARM);
		u->faults += seen;
		adjust_look(u, seen, ran, window_ns);
	}
	size_t expected = expected_writes(u, seen, ran,
					  period_ms * 1000000ULL * u->every, pages);
	u->armed = !stopping(u) && keeps_protection(u, expected, pages);
	if (!u->armed)
		lift(u, pages);
	u->base.observed += pages * u->windows;
	uint64_t own = u->os->now_ns() - t0 - u->waited_ns;
	u->window_cost_ns = own / u->windows + 1;
}

/* A period's watching, and what its faults cost the program. */
static void uffd_collect(tm_heat_src *s, tm_heatmap *hm, unsigned period_ms)
{
	tm_uffd_src *u = self(s);
	uint64_t faults = u->faults + u->kept_faults;
	watch_period(u, hm, period_ms);
	s->program_ns = (u->faults + u->kept_faults - faults) * u->fault_ns;
}

/* Measured every that many periods: the gap the protection may be kept
 * over is that much longer. */
static void uffd_pace(tm_heat_src *s, unsigned every)
{
	self(s)->every = every;
}

static void uffd_report(const tm_heat_src *s, tm_policy_snapshot *out)
{
	const tm_uffd_src *u = (const tm_uffd_src *)s;
	out->tracking = (tm_write_tracking){
		.active = true,
		.windows = u->windows,
		.fault_ns = u->fault_ns,
		.window_faults = u->faults,
		.kept_faults = u->kept_faults,
		.kept = u->armed,
		.lift_ns_per_kpage = u->lift_pages ? lift_cost_ns(u, 1000) : 0,
	};
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
	u->nspans = hm->nspans;
	u->every = 1; /* the migrator's pace starts again with a source */
	for (int i = 0; i < hm->nspans; i++)
		u->registered[i] = u->span_base[i] = hm->span[i].base;
	return 0;
}

/* In a forked child: the descriptors are the parent's too, and so is the
 * userfaultfd's address space, so only they go. */
static void uffd_forget(tm_heat_src *s)
{
	tm_uffd_src *u = self(s);
	u->os->close(u->uffd);
	u->os->close(u->pagemap);
	u->uffd = u->pagemap = -1;
}

/* The protection kept since the last period is lifted first: the program
 * goes on without a fault per page it writes. The kernel drops the
 * registrations with the descriptor. */
static void uffd_close(tm_heat_src *s)
{
	tm_uffd_src *u = self(s);
	if (u->armed)
		protect_heap(u, false);
	u->armed = false;
	uffd_forget(s);
}

void tm_uffd_src_init(tm_uffd_src *s, const tm_uffd_os *os, unsigned cpu_percent)
{
	memset(s, 0, sizeof(*s));
	s->base = (tm_heat_src){
		.name = "uffd",
		.page_exact = true,
		.open = uffd_open,
		.collect = uffd_collect,
		.pace = uffd_pace,
		.report = uffd_report,
		.close = uffd_close,
		.forget = uffd_forget,
	};
	s->os = os;
	s->cpu_percent = cpu_percent;
	s->uffd = s->pagemap = -1;
	s->lift_backoff = 1;
	s->every = 1;
}
