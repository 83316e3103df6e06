/* The write-tracking source against a fake kernel (a budget in time,
 * windows that follow the program, scans in pieces, heap growth), its
 * fallbacks, and the real userfaultfd + PAGEMAP_SCAN where the kernel has
 * them (kernel >= 6.7). */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>

#include "policy/heat_uffd.h"
#include "tests/check.h"
#include "tests/policy/fixture.h"

/* ---- the fake kernel ------------------------------------------------------
 * Pages of span 0 (at 1 GiB): write-protected or not, present or not. A
 * write to a protected page clears the protection (WP_ASYNC). */
static unsigned char wp[FX_CELLS], present[FX_CELLS];
static uintptr_t registered_end;
static int open_error, pagemap_error;
static size_t protects, runs_per_call = 1000;

static size_t page_of(uintptr_t a)
{
	return (a - fx_addr(0, 0)) >> FX_SHIFT;
}

static void write_page(size_t i)
{
	wp[i] = 0;
	present[i] = 1;
}

/* What the program writes while the source waits: on each wait in which
 * it runs, the pages of [window_first, window_first + count); with
 * every_other_page, only those whose index has the parity of the window (a
 * page written in half the windows). A machine too busy to run the program
 * at first runs it only after idle_ns of each window's clock. */
static size_t window_first, window_count, windows_done, waits_in_window;
static bool rearmed; /* a scan protected pages again: a window starts */
static uint64_t idle_ns, window_clock_ns;
static int every_other_page;
static uint64_t clock_ns, program_clock_ns, fault_cost_ns = 1000;
static uint64_t scan_cost_ns; /* a page-table walk: this thread's time */
static uint64_t lift_cost_ns; /* lifting the protection, a page */
static size_t looks;          /* scans that protect nothing again */

static _Atomic bool stop_flag;
static size_t stop_at_wait; /* the wait of the period that sets it; 0: none */
static size_t waits_in_period;
static unsigned first_waits[16]; /* the first wait of each window, in us */

static void f_wait(unsigned us)
{
	if (rearmed) {
		rearmed = false;
		windows_done++;
		waits_in_window = 0;
	}
	clock_ns += us * 1000ULL;
	if (++waits_in_period == stop_at_wait)
		atomic_store(&stop_flag, true);
	if (waits_in_window++ == 0) {
		window_clock_ns = 0;
		if (windows_done - 1 < 16)
			first_waits[windows_done - 1] = us;
	}
	uint64_t from = window_clock_ns;
	window_clock_ns += us * 1000ULL;
	if (window_clock_ns <= idle_ns)
		return;
	program_clock_ns += window_clock_ns - (from > idle_ns ? from : idle_ns);
	for (size_t i = window_first; i < window_first + window_count; i++)
		if (!every_other_page || i % 2 == windows_done % 2)
			write_page(i);
}

static uint64_t f_now(void) { return clock_ns; }
static uint64_t f_program(void) { return program_clock_ns; }
static uint64_t f_fault_ns(int fd) { return fault_cost_ns; }

static int f_open(void) { return open_error ? open_error : 10; }
static int f_pagemap(void) { return pagemap_error ? pagemap_error : 11; }
static void f_close(int fd) {}

static int f_register(int fd, uintptr_t start, size_t len)
{
	if (start != (registered_end ? registered_end : fx_addr(0, 0)))
		return -EINVAL;
	registered_end = start + len;
	return 0;
}

/* Protecting starts a window; lifting the protection ends the period. */
static int f_protect(int fd, uintptr_t start, size_t len, bool on)
{
	if (start + len > registered_end)
		return -ENOENT;
	protects++;
	windows_done += on;
	clock_ns += on ? 0 : lift_cost_ns * (len >> FX_SHIFT);
	rearmed = false;
	waits_in_window = 0;
	memset(wp + page_of(start), on, len >> FX_SHIFT);
	return 0;
}

static bool rearming; /* f_scan called by f_take */

/* Runs of present pages not protected, a few per call. */
static long f_scan(int fd, uintptr_t start, uintptr_t end, tm_page_run *runs,
		   size_t max, uintptr_t *walk_end)
{
	size_t n = 0, i = page_of(start), last = page_of(end);
	size_t limit = max < runs_per_call ? max : runs_per_call;
	clock_ns += scan_cost_ns;
	looks += !rearming;
	*walk_end = end;
	while (i < last) {
		if (wp[i] || !present[i]) {
			i++;
			continue;
		}
		if (n == limit) {
			*walk_end = fx_addr(0, i);
			break;
		}
		size_t j = i;
		while (j < last && !wp[j] && present[j])
			j++;
		runs[n++] = (tm_page_run){fx_addr(0, i), fx_addr(0, j)};
		i = j;
	}
	return (long)n;
}

static long f_take(int fd, uintptr_t start, uintptr_t end, tm_page_run *runs,
		   size_t max, uintptr_t *walk_end)
{
	rearming = true;
	long n = f_scan(fd, start, end, runs, max, walk_end);
	rearming = false;
	for (long k = 0; k < n; k++)
		memset(wp + page_of(runs[k].start), 1,
		       (runs[k].end - runs[k].start) >> FX_SHIFT);
	rearmed = true;
	return n;
}

static const tm_uffd_os fake = {
	.open = f_open,
	.open_pagemap = f_pagemap,
	.register_wp = f_register,
	.protect = f_protect,
	.scan_written = f_scan,
	.take_written = f_take,
	.close = f_close,
	.fault_ns = f_fault_ns,
	.wait = f_wait,
	.now_ns = f_now,
	.program_ns = f_program,
};

static void reset_kernel(size_t pages)
{
	memset(wp, 0, sizeof(wp));
	memset(present, 0, sizeof(present));
	memset(present, 1, pages);
	registered_end = 0;
	protects = 0;
	windows_done = waits_in_window = 0;
	idle_ns = 0;
	rearmed = false;
	waits_in_period = stop_at_wait = 0;
	atomic_store(&stop_flag, false);
	clock_ns = program_clock_ns = 0;
	every_other_page = 0;
}

/* A source opened over a heap of `pages` pages, `present` of which the fake
 * kernel has; its scans return per_call runs at most. */
static void open_over(tm_uffd_src *u, tm_heatmap *hm, size_t pages, size_t present,
		      size_t per_call, unsigned cpu_percent)
{
	char why[120];
	fx_map(hm, 1, (size_t[]){pages});
	reset_kernel(present);
	runs_per_call = per_call;
	tm_uffd_src_init(u, &fake, cpu_percent);
	CHECK_EQ(u->base.open(&u->base, hm, 100, why, sizeof(why)), 0, "opens");
}

static size_t protected_pages(size_t pages)
{
	size_t n = 0;
	for (size_t i = 0; i < pages; i++)
		n += wp[i];
	return n;
}

static unsigned heat(size_t page)
{
	return atomic_load(&fx_cell(0, page)->heat);
}

/* The budget is time: the faults a period may cost follow what one costs. */
static void test_budget_in_time(void)
{
	static const struct {
		uint64_t fault_ns;
		unsigned windows;
		size_t window_pages;
		const char *says;
	} cases[] = {
		{1000, 8, 1024, "1 us: 15000 faults, a quarter of the heap a window"},
		{15000, 8, 125, "15 us: 1000 faults in 8 windows"},
		{500000, 1, 30, "0.5 ms: 30 faults, one window"},
		{50000000, 1, 1, "a fault dearer than the budget: one page"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		tm_heatmap hm;
		tm_uffd_src u;
		fault_cost_ns = cases[i].fault_ns;
		open_over(&u, &hm, 4096, 4096, 1000, 3);
		window_count = 0;
		u.base.collect(&u.base, &hm, 500);
		CHECK_EQ(u.fault_ns, cases[i].fault_ns, "fault cost measured");
		CHECK_EQ(u.windows, cases[i].windows, "windows: %s", cases[i].says);
		CHECK_EQ(u.window_pages, cases[i].window_pages, "pages: %s", cases[i].says);
		u.base.close(&u.base);
	}
	fault_cost_ns = 1000;
}

/* A window ends once the program has written its pages: here 128, so a
 * window of 125 pages ends after its first wait, well before its time;
 * pages written in every other window get half the credit. */
static void test_window_follows_progress(size_t per_call)
{
	tm_heatmap hm;
	tm_uffd_src u;
	fault_cost_ns = 15000;
	open_over(&u, &hm, 4096, 4096, per_call, 3);
	window_first = 100;
	window_count = 256;
	every_other_page = 1;
	u.base.collect(&u.base, &hm, 500);
	CHECK_EQ(u.windows, 8, "8 windows");
	CHECK_EQ(windows_done, 8, "8 windows watched");
	CHECK(clock_ns <= 8 * (500000000ULL / 4 / 8 / 16 + 1000),
	      "each ended after its first wait, 1/16 of its time (%llu ns)",
	      (unsigned long long)clock_ns);
	CHECK_EQ(heat(100), TM_HEAT_FULL / 2, "written in half the windows: half");
	CHECK_EQ(heat(101), TM_HEAT_FULL / 2, "its neighbour too");
	CHECK_EQ(heat(99), 0, "page 99 never written");
	CHECK_EQ(heat(356), 0, "page 356 never written");
	CHECK_EQ(protected_pages(4096), 0, "no page left protected after the "
		 "first period (it learns what lifting costs)");
	CHECK_EQ(u.faults, 8 * 128, "pages seen written, counted (%zu runs a scan)",
		 per_call);
	CHECK_EQ(u.base.observed, 8 * 4096, "pages watched, counted");
	CHECK_EQ(protects, 2, "the whole heap protected once and released once: "
		 "a window's last scan protects what it saw again");
	u.base.close(&u.base);
	fault_cost_ns = 1000;
}

/* A source over 4096 pages at 15 us a fault (a window's share: 125 pages),
 * after a period in which the program wrote 1250 pages before each
 * window's first look. */
static void open_after_overrun(tm_uffd_src *u, tm_heatmap *hm)
{
	fault_cost_ns = 15000;
	open_over(u, hm, 4096, 4096, 1000, 3);
	window_first = 0;
	window_count = 1250;
	u->base.collect(&u->base, hm, 500);
}

/* A program that writes ten times a window's share before the first look
 * (faults it takes past the budget): the next window looks when, at that
 * pace, it will have written its share: at once, the shortest wait. One
 * that writes little: each window waits its time through and is scanned
 * only at its end (a look walks the heap's page tables). */
static void test_look_follows_pace(void)
{
	tm_heatmap hm;
	tm_uffd_src u;
	open_after_overrun(&u, &hm);
	unsigned dflt = 500000 / 4 / 8 / 16, window = 500000 / 4 / 8;
	CHECK_EQ(first_waits[0], dflt, "the first window looks at 1/16 of it");
	CHECK_EQ(first_waits[1], 100, "the second at the shortest wait");
	CHECK_EQ(first_waits[7], 100, "and the eighth");
	window_count = 10;
	windows_done = 0;
	u.base.collect(&u.base, &hm, 500);
	CHECK_EQ(first_waits[0], 100, "the next period starts at that pace");
	windows_done = 0;
	looks = 0;
	u.base.collect(&u.base, &hm, 500);
	CHECK_EQ(u.windows, 8, "writing little, 8 windows");
	CHECK_EQ(first_waits[0], window + 1, "each waits its time through");
	CHECK_EQ(first_waits[7], window + 1, "to the last");
	CHECK_EQ(looks, 0, "with no look before its last scan");
	u.base.close(&u.base);
	fault_cost_ns = 1000;
}

/* Asked to stop in its first window (the program exits), the source ends
 * that window at once, watches no other, and lifts the protection: exit
 * waits for no more of the period. */
static void test_stop(void)
{
	tm_heatmap hm;
	tm_uffd_src u;
	open_over(&u, &hm, 4096, 4096, 1000, 3);
	u.base.stop = &stop_flag;
	window_first = 0;
	window_count = 0; /* writes nothing: every window would run its time */
	stop_at_wait = 1;
	u.base.collect(&u.base, &hm, 1000);
	CHECK_EQ(u.windows, 8, "8 windows planned");
	CHECK_EQ(windows_done, 1, "one watched");
	CHECK_EQ(waits_in_period, 1, "which ended at the stop");
	CHECK_EQ(protected_pages(4096), 0, "no page left protected");
	u.base.close(&u.base);
}

/* A busy machine runs the program late in each window: the window waits
 * for it, counting the program's CPU time, not the clock's, instead of
 * seeing nothing. A program that runs but writes nothing costs each window
 * its time of the program's CPU, a quarter of the period in all; one that
 * sleeps, at most twice that on the clock. */
static void test_busy_machine(void)
{
	tm_heatmap hm;
	tm_uffd_src u;
	open_over(&u, &hm, 1024, 1024, 1000, 3);
	window_first = 10;
	window_count = 20;
	idle_ns = 1500000; /* not run for the first 1.5 ms of each window */
	u.base.collect(&u.base, &hm, 1000);
	CHECK_EQ(heat(10), TM_HEAT_FULL, "seen in every window, though late");
	CHECK_EQ(heat(29), TM_HEAT_FULL, "the last written page too");
	CHECK_EQ(heat(30), 0, "page 30 not written");
	uint64_t ran = program_clock_ns;
	window_count = 0;
	idle_ns = 0;
	u.base.collect(&u.base, &hm, 1000);
	CHECK(program_clock_ns - ran <= 250000000ULL + 8 * 100000ULL,
	      "nothing written: a quarter of the period of the program's time "
	      "(%llu ns)", (unsigned long long)(program_clock_ns - ran));
	CHECK(program_clock_ns - ran >= 250000000ULL, "and no less");
	uint64_t before = clock_ns;
	idle_ns = UINT64_MAX; /* asleep */
	u.base.collect(&u.base, &hm, 1000);
	CHECK(clock_ns - before <= 500000000ULL + 8 * 100000ULL,
	      "a program asleep: half the period on the clock (%llu ns)",
	      (unsigned long long)(clock_ns - before));
	u.base.close(&u.base);
}

/* Scans that cost this thread 2 ms each (a big heap's page tables): no
 * more windows than fit 2% of the period. */
static void test_own_cost(void)
{
	tm_heatmap hm;
	tm_uffd_src u;
	open_over(&u, &hm, 4096, 4096, 1000, 3);
	window_first = 0;
	window_count = 2000; /* each window ends at its first look */
	scan_cost_ns = 2000000;
	u.base.collect(&u.base, &hm, 500);
	CHECK_EQ(u.windows, 8, "the first period: as the budget says");
	CHECK(u.window_cost_ns >= 4000000, "a window cost two scans (%llu ns)",
	      (unsigned long long)u.window_cost_ns);
	u.base.collect(&u.base, &hm, 500);
	CHECK(u.windows >= 1 && u.windows <= 2, "then 10 ms of 500: %u windows",
	      u.windows);
	scan_cost_ns = 0;
	u.base.close(&u.base);
}

/* The heap grows: the new part is registered and tracked. */
static void test_growth(void)
{
	tm_heatmap hm;
	tm_uffd_src u;
	open_over(&u, &hm, 100, 200, 2, 3);
	window_first = 7;
	window_count = 2;
	u.base.collect(&u.base, &hm, 1000);
	CHECK_EQ(heat(7), TM_HEAT_FULL, "page 7");
	CHECK_EQ(heat(8), TM_HEAT_FULL, "page 8");
	CHECK_EQ(heat(9), 0, "page 9 not");
	write_page(50); /* outside any window: not seen */
	hm.span[0].end = fx_addr(0, 200);
	window_first = 150;
	window_count = 1;
	u.base.collect(&u.base, &hm, 1000);
	CHECK_EQ(heat(50), 0, "page 50 written out of window");
	CHECK_EQ(registered_end, fx_addr(0, 200), "growth registered");
	CHECK_EQ(heat(150), TM_HEAT_FULL, "grown part tracked");
	u.base.close(&u.base);
}

/* A heap of 4096 pages where a fault costs 15 us and lifting the
 * protection 2 us a page, 8 ms in all; the program writes count pages
 * from first in each wait. close_priced closes it and restores the costs. */
static void open_priced(tm_uffd_src *u, tm_heatmap *hm, size_t first,
			size_t count)
{
	fault_cost_ns = 15000;
	lift_cost_ns = 2000;
	open_over(u, hm, 4096, 4096, 1000, 3);
	window_first = first;
	window_count = count;
}

static void close_priced(tm_uffd_src *u)
{
	u->base.close(&u->base);
	lift_cost_ns = 0;
	fault_cost_ns = 1000;
}

/* Lifting costs 2 us a page, 8 ms for this heap; a fault 15 us. The first
 * period lifts, to learn that; then the protection is kept while the
 * pages the program writes between periods cost it less in faults. */
static void test_keeps_protection_when_cheaper(void)
{
	tm_heatmap hm;
	tm_uffd_src u;
	open_priced(&u, &hm, 0, 100);
	u.base.collect(&u.base, &hm, 500);
	CHECK(!u.armed && protected_pages(4096) == 0, "the first period lifts");
	u.base.collect(&u.base, &hm, 500);
	CHECK(u.armed, "the second keeps the protection");
	CHECK_EQ(protected_pages(4096), 4096, "of every page");
	for (size_t i = 1000; i < 1300; i++) /* 4.5 ms of faults */
		write_page(i);
	size_t before = protects;
	uint64_t window_faults = u.faults;
	u.base.collect(&u.base, &hm, 500);
	CHECK_EQ(u.kept_faults, 300, "the next counts what was written meanwhile");
	window_faults = u.faults - window_faults;
	CHECK(window_faults > 0 &&
	      u.base.program_ns == (window_faults + 300) * 15000,
	      "what the period cost the program: its faults in windows and "
	      "between periods (%llu ns)", (unsigned long long)u.base.program_ns);
	CHECK_EQ(protects, before, "and protects nothing whole");
	CHECK(u.armed, "cheaper than lifting: kept");
	CHECK_EQ(protected_pages(4096), 4096, "every page protected again");
	CHECK_EQ(heat(1000), 0, "written between periods: no credit");
	CHECK_EQ(heat(0) > 0, 1, "written in the windows: credit");
	close_priced(&u);
	CHECK_EQ(protected_pages(4096), 0, "closing lifts the protection kept");
}

/* A program that writes 800 pages between periods (12 ms of faults, more
 * than the 8 ms of lifting): after each period that kept the protection
 * and lost, lifting runs 1, 2, 4 ... periods before keeping is tried
 * again; one that won resets that. */
static void test_lifts_when_faults_dearer(void)
{
	tm_heatmap hm;
	tm_uffd_src u;
	open_priced(&u, &hm, 0, 0);
	char kept[16] = {0};
	for (int p = 0; p < 15; p++) {
		u.base.collect(&u.base, &hm, 500);
		kept[p] = u.armed ? 'K' : 'L';
		for (size_t i = 2000; i < 2800 - (p >= 10 ? 700 : 0); i++)
			write_page(i);
	}
	CHECK(strcmp(kept, "LKLKLLKLLLLKKKK") == 0,
	      "learn, keep, then 1, 2, 4 periods lifting; writing 100 pages, "
	      "kept (%s)", kept);
	close_priced(&u);
}

/* A source that has run two periods (nothing to pay for faults between
 * them), so its protection is now kept. */
static void open_kept(tm_uffd_src *u, tm_heatmap *hm, size_t pages,
		      size_t present)
{
	open_over(u, hm, pages, present, 1000, 3);
	u->base.collect(&u->base, hm, 1000);
	u->base.collect(&u->base, hm, 1000);
	CHECK(u->armed, "protection kept after two periods");
}

/* A program that writes its window's share (125 pages) before the first
 * look: at that pace a period writes the whole heap, whose faults would
 * cost 60 ms against 8 ms of lifting, so the protection is lifted every
 * period, and never kept to find that out. */
static void test_fast_writer_lifts(void)
{
	tm_heatmap hm;
	tm_uffd_src u;
	open_priced(&u, &hm, 0, 1250);
	for (int p = 0; p < 6; p++) {
		u.base.collect(&u.base, &hm, 500);
		CHECK(!u.armed, "period %d lifts", p);
	}
	CHECK_EQ(u.kept_faults, 0, "no fault between periods");
	CHECK_EQ(protects, 12, "each period protects and lifts the heap once");
	close_priced(&u);
}

/* The heap grows while the protection is kept: the new part is protected
 * too, and its writes seen. */
static void test_growth_while_kept(void)
{
	tm_heatmap hm;
	tm_uffd_src u;
	window_first = 150;
	window_count = 1;
	lift_cost_ns = 2000; /* one fault costs less than lifting */
	open_kept(&u, &hm, 100, 200);
	hm.span[0].end = fx_addr(0, 200);
	u.base.collect(&u.base, &hm, 1000);
	CHECK_EQ(heat(150), TM_HEAT_FULL, "the grown part tracked");
	CHECK_EQ(protected_pages(200), 200, "and protected");
	u.base.close(&u.base);
	lift_cost_ns = 0;
}

/* In a forked child the descriptors are dropped and nothing else: the
 * userfaultfd is the parent's, and so is its protection. */
static void test_forget_leaves_parent(void)
{
	tm_heatmap hm;
	tm_uffd_src u;
	window_count = 0;
	open_kept(&u, &hm, 64, 64);
	size_t before = protects;
	u.base.forget(&u.base);
	CHECK_EQ(protects, before, "forget touches no protection");
	CHECK_EQ(u.uffd, -1, "and drops the descriptors");
}

static void test_fallbacks(void)
{
	char why[120];
	tm_heatmap hm;
	tm_uffd_src u;
	fx_map(&hm, 1, (size_t[]){16});
	tm_uffd_src_init(&u, &fake, 3);
	static const struct {
		int open, pagemap;
		const char *says;
	} cases[] = {
		{-ENOSYS, 0, "no userfaultfd"},
		{-EPERM, 0, "not permitted"},
		{-EOPNOTSUPP, 0, "WP_ASYNC"},
		{0, -ENOTTY, "PAGEMAP_SCAN"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		open_error = cases[i].open;
		pagemap_error = cases[i].pagemap;
		CHECK_EQ(u.base.open(&u.base, &hm, 100, why, sizeof(why)), -1,
			 "fails: %s", cases[i].says);
		CHECK(strstr(why, cases[i].says) != NULL, "why: %s", why);
	}
	open_error = pagemap_error = 0;
}

/* The real kernel, on a buffer of our own with the same code; a thread
 * keeps writing pages [100, 200) through the observation window. */
static _Atomic int writing;
static void *writer(void *arg)
{
	char *buf = arg;
	while (atomic_load(&writing))
		for (size_t i = 100; i < 200; i++)
			buf[i * FX_PAGE + 5] = 2;
	return NULL;
}

/* Pages of [buf, buf + pages) not write-protected, by a pagemap of our own. */
static size_t unprotected_pages(char *buf, size_t pages)
{
	int pm = tm_uffd_os_real.open_pagemap();
	uintptr_t at = (uintptr_t)buf, end = at + pages * FX_PAGE, walk_end;
	tm_page_run runs[64];
	size_t n = 0;
	while (pm >= 0 && at < end) {
		long k = tm_uffd_os_real.scan_written(pm, at, end, runs, 64, &walk_end);
		for (long i = 0; i < k; i++)
			n += (runs[i].end - runs[i].start) / FX_PAGE;
		if (k < 0 || walk_end <= at)
			break;
		at = walk_end;
	}
	tm_uffd_os_real.close(pm);
	return n;
}

/* After the period that learnt what lifting costs, the protection is kept
 * (nothing writes: no fault to pay); the next period counts and protects
 * again what was written meanwhile, and closing lifts it. */
static void real_kernel_keeps(tm_uffd_src *u, tm_heatmap *hm, char *buf,
			      size_t pages)
{
	u->base.collect(&u->base, hm, 100);
	CHECK(u->armed, "the real kernel: protection kept");
	CHECK_EQ(unprotected_pages(buf, pages), 0, "on every page");
	for (size_t i = 300; i < 310; i++)
		buf[i * FX_PAGE] = 3;
	CHECK_EQ(unprotected_pages(buf, pages), 10, "writes lift it page by page");
	u->base.collect(&u->base, hm, 100);
	CHECK_EQ(u->kept_faults, 10, "counted by the next period");
	CHECK_EQ(unprotected_pages(buf, pages), 0, "and protected again");
	u->base.close(&u->base);
	CHECK_EQ(unprotected_pages(buf, pages), pages, "closing lifts it");
	CHECK(buf[300 * FX_PAGE] == 3 && buf[299 * FX_PAGE] == 1, "contents intact");
}

static void test_real_kernel(void)
{
	char why[120];
	tm_heatmap hm;
	tm_uffd_src u;
	size_t pages = 1024;
	char *buf = mmap(NULL, pages * FX_PAGE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(buf, 1, pages * FX_PAGE);
	tm_heatmap_init(&hm, FX_SHIFT, NULL);
	memset(fx_cells, 0, sizeof(fx_cells));
	tm_heatmap_add_span(&hm, (uintptr_t)buf, pages * FX_PAGE, fx_cells[0], 0);
	hm.span[0].end = (uintptr_t)buf + pages * FX_PAGE;
	tm_uffd_src_init(&u, &tm_uffd_os_real, 50);
	if (u.base.open(&u.base, &hm, 1000, why, sizeof(why)) < 0) {
		printf("(real userfaultfd not tested: %s) ", why);
		munmap(buf, pages * FX_PAGE);
		return;
	}
	pthread_t t;
	atomic_store(&writing, 1);
	pthread_create(&t, NULL, writer, buf);
	u.base.collect(&u.base, &hm, 1000);
	atomic_store(&writing, 0);
	pthread_join(t, NULL);
	size_t right = 0;
	for (size_t i = 0; i < pages; i++)
		right += (atomic_load(&fx_cells[0][i].heat) > 0) == (i >= 100 && i < 200);
	CHECK_EQ(right, pages, "the kernel saw exactly the written pages");
	for (size_t i = 0; i < pages; i++)
		CHECK(buf[i * FX_PAGE + 5] == (i >= 100 && i < 200 ? 2 : 1),
		      "contents intact (%zu)", i);
	real_kernel_keeps(&u, &hm, buf, pages);
	munmap(buf, pages * FX_PAGE);
}

int main(void)
{
	test_budget_in_time();
	test_window_follows_progress(1000);
	test_window_follows_progress(1);
	test_look_follows_pace();
	test_busy_machine();
	test_stop();
	test_own_cost();
	test_growth();
	test_keeps_protection_when_cheaper();
	test_lifts_when_faults_dearer();
	test_fast_writer_lifts();
	test_growth_while_kept();
	test_forget_leaves_parent();
	test_fallbacks();
	test_real_kernel();
	return check_summary();
}
