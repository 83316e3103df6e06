/* The write-tracking source: the sampling logic against a fake kernel
 * (bounded faults, region credit, scans in pieces, heap growth), its
 * fallbacks, and the real userfaultfd + PAGEMAP_SCAN where the kernel has
 * them (kernel >= 6.7). */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>

#include "../check.h"
#include "fixture.h"
#include "heat_uffd.h"

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

/* What the program writes during an observation window; with
 * every_other_page, only the pages of [window_first, window_first + count)
 * whose index has the parity of the window (a page written in half the
 * windows). */
static size_t window_first, window_count, windows_waited;
static unsigned waited_us;
static int every_other_page;

static uint64_t clock_ns, protect_cost_ns = 1000;

static void f_wait(unsigned us)
{
	waited_us = us;
	clock_ns += us * 1000ULL;
	for (size_t i = window_first; i < window_first + window_count; i++)
		if (!every_other_page || i % 2 == windows_waited % 2)
			write_page(i);
	windows_waited++;
}

/* The clock: each protection costs protect_cost_ns; a wait, its time. */
static uint64_t f_now(void) { return clock_ns; }

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

static int f_protect(int fd, uintptr_t start, size_t len, bool on)
{
	if (start + len > registered_end)
		return -ENOENT;
	protects++;
	clock_ns += protect_cost_ns;
	memset(wp + page_of(start), on, len >> FX_SHIFT);
	return 0;
}

/* Runs of present pages not protected, a few per call. */
static long f_scan(int fd, uintptr_t start, uintptr_t end, tm_page_run *runs,
		   size_t max, uintptr_t *walk_end)
{
	size_t n = 0, i = page_of(start), last = page_of(end);
	size_t limit = max < runs_per_call ? max : runs_per_call;
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

static const tm_uffd_os fake = {
	f_open, f_pagemap, f_register, f_protect, f_scan, f_close, f_wait, f_now,
};

static void reset_kernel(size_t pages)
{
	memset(wp, 0, sizeof(wp));
	memset(present, 0, sizeof(present));
	memset(present, 1, pages);
	registered_end = 0;
	protects = 0;
}

static void test_regions(void)
{
	CHECK_EQ(tm_uffd_region_shift(100, 256, 12), 12, "small heap: pages");
	CHECK_EQ(tm_uffd_region_shift(4096, 256, 12), 16, "16 pages a region");
	CHECK_EQ(tm_uffd_region_shift(4097, 256, 12), 17, "rounded up");
	CHECK_EQ(tm_uffd_region_shift(0, 256, 12), 12, "empty heap");
}

/* 4096 pages, 256 samples a period: 16-page regions, one page protected in
 * each; the written regions get full credit, the others none. */
/* A source opened over a heap of `pages` pages, `present` of which the fake
 * kernel has; its scans return per_call runs at most. */
static void open_over(tm_uffd_src *u, tm_heatmap *hm, size_t pages, size_t present,
		      size_t per_call, unsigned faults_per_sec)
{
	char why[120];
	fx_map(hm, 1, (size_t[]){pages});
	reset_kernel(present);
	runs_per_call = per_call;
	tm_uffd_src_init(u, &fake, faults_per_sec);
	CHECK_EQ(u->base.open(&u->base, hm, 100, why, sizeof(why)), 0, "opens");
}

static void test_sampling(size_t per_call)
{
	tm_heatmap hm;
	tm_uffd_src u;
	open_over(&u, &hm, 4096, 4096, per_call, 1000);
	window_first = 0;
	window_count = 512;
	u.base.collect(&u.base, &hm, 256);
	CHECK_EQ(registered_end, fx_addr(0, 4096), "the heap registered");
	CHECK_EQ(u.windows, 1, "a first look over the whole heap");
	CHECK_EQ(waited_us, 100, "for 100 us");
	CHECK_EQ(protects, 2, "one protection, one lift");
	/* 512 pages in 100 us: a window would cost more than the budget of
	 * 256 faults; sampled from now on. */
	for (size_t i = 0; i < 4096; i++)
		atomic_store(&fx_cell(0, i)->heat, 0);
	protects = 0;
	u.base.observed = 0;
	u.base.collect(&u.base, &hm, 256);
	CHECK_EQ(u.windows, 0, "sampled");
	CHECK_EQ(protects, 256, "one page a region: the fault budget");
	CHECK_EQ(waited_us, 5000, "watched for 5 ms");
	size_t hot = 0, cold = 0;
	for (size_t i = 0; i < 4096; i++) {
		unsigned h = atomic_load(&fx_cell(0, i)->heat);
		hot += i < 512 && h == TM_HEAT_FULL;
		cold += i >= 512 && h == 0;
	}
	CHECK_EQ(hot, 512, "written regions credited (%zu runs a scan)", per_call);
	CHECK_EQ(cold, 4096 - 512, "the others not");
	CHECK_EQ(u.base.observed, 256, "counted");
	u.base.collect(&u.base, &hm, 256);
	CHECK_EQ(protects, 512, "again one a region");
	CHECK_EQ(u.protect_ns, 1001, "what a protection costs");

	/* Protections turn expensive (emulation): fewer samples, within 1/50
	 * of the period: 256 ms / 50 / 80 us = 64. */
	protect_cost_ns = 80000;
	u.base.collect(&u.base, &hm, 256);
	for (int i = 0; i < 8; i++)
		u.base.collect(&u.base, &hm, 256);
	size_t before = protects;
	u.base.collect(&u.base, &hm, 256);
	CHECK(protects - before <= 70, "few samples when costly (%zu)", protects - before);
	protect_cost_ns = 1000;
}

/* A heap within the budget is tracked page by page; it grows. */
static void test_pages_and_growth(void)
{
	tm_heatmap hm;
	tm_uffd_src u;
	open_over(&u, &hm, 100, 200, 2, 1000);
	window_first = 7;
	window_count = 2;
	u.base.collect(&u.base, &hm, 1000);
	CHECK_EQ(atomic_load(&fx_cell(0, 7)->heat), TM_HEAT_FULL, "page 7");
	CHECK_EQ(atomic_load(&fx_cell(0, 8)->heat), TM_HEAT_FULL, "page 8");
	CHECK_EQ(atomic_load(&fx_cell(0, 9)->heat), 0, "page 9 not");
	write_page(50); /* outside the window: not seen */
	hm.span[0].end = fx_addr(0, 200);
	window_first = 144; /* a short period has a small budget: 16-page regions */
	window_count = 16;
	u.base.collect(&u.base, &hm, 10);
	CHECK_EQ(u.windows, 0, "sampled");
	CHECK_EQ(waited_us, 5000, "a short period: no more than half of it");
	CHECK_EQ(atomic_load(&fx_cell(0, 50)->heat), 0, "page 50 written out of window");
	CHECK_EQ(registered_end, fx_addr(0, 200), "growth registered");
	CHECK_EQ(atomic_load(&fx_cell(0, 150)->heat), TM_HEAT_FULL, "grown part tracked");
	u.base.close(&u.base);
}

/* Once a window is known to find few pages written, the whole heap is
 * watched in several windows a period, and credit follows how often a page
 * was written; the protection is lifted after the last window. */
static void test_whole_heap_windows(void)
{
	tm_heatmap hm;
	tm_uffd_src u;
	open_over(&u, &hm, 4096, 4096, 3, 100000);
	window_first = 100;
	window_count = 64;
	u.base.collect(&u.base, &hm, 500);
	CHECK_EQ(u.windows, 1, "no measurement yet: one short look");
	CHECK(u.written_per_ms > 639 && u.written_per_ms < 641,
	      "64 pages in 100 us: 640 a ms (%.1f)", u.written_per_ms);
	for (size_t i = 0; i < 4096; i++)
		atomic_store(&fx_cell(0, i)->heat, 0);
	every_other_page = 1;
	windows_waited = 0;
	size_t before = protects;
	u.base.collect(&u.base, &hm, 500);
	CHECK_EQ(u.windows, 8, "within budget: the most windows");
	CHECK_EQ(protects - before, 9, "one protection a window, one lift");
	CHECK_EQ(waited_us, 1600, "windows in which a quarter of the heap is written");
	CHECK_EQ(atomic_load(&fx_cell(0, 100)->heat), TM_HEAT_FULL / 2,
		 "written in half the windows: half the credit");
	CHECK_EQ(atomic_load(&fx_cell(0, 101)->heat), TM_HEAT_FULL / 2, "its neighbour too");
	CHECK_EQ(atomic_load(&fx_cell(0, 99)->heat), 0, "page 99 never written");
	size_t still = 0;
	for (size_t i = 0; i < 4096; i++)
		still += wp[i];
	CHECK_EQ(still, 0, "no page left protected after the period");
	CHECK_EQ(u.base.observed, 4096 + 8 * 4096, "pages watched, counted");

	/* A program writing most of the heap: one window would cost more than
	 * the budget (100000/s x 0.5 s), so back to sampling. */
	every_other_page = 0;
	window_first = 0;
	window_count = 4096;
	for (int i = 0; i < 12 && u.windows; i++)
		u.base.collect(&u.base, &hm, 10);
	CHECK_EQ(u.windows, 0, "too many pages written: sampled again");
	u.base.close(&u.base);
}

static void test_fallbacks(void)
{
	char why[120];
	tm_heatmap hm;
	tm_uffd_src u;
	fx_map(&hm, 1, (size_t[]){16});
	tm_uffd_src_init(&u, &fake, 1000);
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
	tm_uffd_src_init(&u, &tm_uffd_os_real, 1 << 20);
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
	u.base.close(&u.base);
	munmap(buf, pages * FX_PAGE);
}

int main(void)
{
	test_regions();
	test_sampling(1000);
	test_sampling(1);
	test_pages_and_growth();
	test_whole_heap_windows();
	test_fallbacks();
	test_real_kernel();
	return check_summary();
}
