/*
 * thpcheck: the kernel's handling of transparent huge pages that the heat
 * policy relies on (tests/vm/tests/55-thp-kernel.sh runs it), checked
 * with /proc/vmstat's counters around each step on huge pages of its own:
 * - write-protecting a whole huge page with userfaultfd (WP_ASYNC) and
 *   scanning it with PAGEMAP_SCAN keep it mapped huge;
 * - the first write to it splits its mapping into 4 KiB entries (the
 *   kernel resolves an asynchronous write-protect fault 4 KiB at a time),
 *   not the page: it stays one folio;
 * - move_pages given one 4 KiB page of it moves the whole folio, mapped
 *   huge or not; a huge mapping stays huge.
 * So uffd's faults are where splits come from, and the heat map may keep
 * a huge page as one unit after its mapping was split (policy/heatmap.h).
 *
 * Needs THP "always" or "madvise" and a node 1. Prints one "ok NAME" or
 * "FAIL NAME: why" line per check, then "N passed, N failed"; exits 1 when
 * any check failed.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "allocator/prim/pagemap_scan.h"

#define HUGE (2UL << 20)
#define PAGE 4096UL
#define BLOCKS 4
#define FEATURE_WP_UNPOPULATED (1ULL << 13)
#define FEATURE_WP_ASYNC (1ULL << 15)

enum { FAULT_ALLOC, SPLIT_PMD, SPLIT_PAGE, MIGRATION_SUCCESS, COUNTERS };
static const char *const counter_name[COUNTERS] = {
	"thp_fault_alloc", "thp_split_pmd", "thp_split_page", "thp_migration_success",
};
static long counted[COUNTERS];
static int passed, failed, uffd, pagemap;
static char *block; /* BLOCKS huge pages */

static void check(bool ok, const char *name, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("%s %s", ok ? "ok" : "FAIL", name);
	if (!ok) {
		printf(": ");
		vprintf(fmt, ap);
	}
	printf("\n");
	va_end(ap);
	*(ok ? &passed : &failed) += 1;
}

/* Each counter's growth since the last call. */
static void grown(long delta[COUNTERS])
{
	char line[128];
	long now[COUNTERS] = {0};
	FILE *f = fopen("/proc/vmstat", "r");
	while (f && fgets(line, sizeof(line), f))
		for (int k = 0; k < COUNTERS; k++) {
			size_t n = strlen(counter_name[k]);
			if (!strncmp(line, counter_name[k], n) && line[n] == ' ')
				now[k] = atol(line + n + 1);
		}
	if (f)
		fclose(f);
	for (int k = 0; k < COUNTERS; k++) {
		delta[k] = now[k] - counted[k];
		counted[k] = now[k];
	}
}

/* Huge pages mapped as such (PMD-mapped) in block b. */
static bool mapped_huge(int b)
{
	struct pm_page_region vec[4];
	struct pm_scan_arg arg = {
		.size = sizeof(arg),
		.start = (uintptr_t)(block + b * HUGE),
		.end = (uintptr_t)(block + (b + 1) * HUGE),
		.vec = (uintptr_t)vec,
		.vec_len = 4,
		.category_mask = PAGE_IS_HUGE,
		.return_mask = PAGE_IS_HUGE,
	};
	return ioctl(pagemap, PAGEMAP_SCAN, &arg) == 1 &&
	       vec[0].end - vec[0].start == HUGE;
}

static int node_of(const char *p)
{
	void *page = (void *)p;
	int status = -1;
	syscall(SYS_move_pages, 0, 1UL, &page, NULL, &status, 0);
	return status;
}

/* Pages of block b on node n. */
static int pages_on(int b, int n)
{
	int count = 0;
	for (size_t off = 0; off < HUGE; off += PAGE)
		count += node_of(block + b * HUGE + off) == n;
	return count;
}

static int move_page(char *p, int node)
{
	void *page = p;
	int status = -1;
	syscall(SYS_move_pages, 0, 1UL, &page, &node, &status, 2 /* MPOL_MF_MOVE */);
	return status;
}

static int protect(char *p, size_t len, bool on)
{
	struct uffdio_writeprotect wp = {
		.range = {(uintptr_t)p, len},
		.mode = on ? UFFDIO_WRITEPROTECT_MODE_WP : 0,
	};
	return ioctl(uffd, UFFDIO_WRITEPROTECT, &wp);
}

/* BLOCKS huge pages, written, registered for asynchronous write protection. */
static bool set_up(void)
{
	char *raw = mmap(NULL, (BLOCKS + 1) * HUGE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (raw == MAP_FAILED)
		return false;
	block = (char *)(((uintptr_t)raw + HUGE - 1) & ~(HUGE - 1));
	madvise(block, BLOCKS * HUGE, MADV_HUGEPAGE);
	long d[COUNTERS];
	grown(d);
	memset(block, 1, BLOCKS * HUGE);
	grown(d);
	check(d[FAULT_ALLOC] == BLOCKS, "huge-pages", "%ld of %d faulted in huge",
	      d[FAULT_ALLOC], BLOCKS);
	pagemap = open("/proc/self/pagemap", O_RDONLY);
	uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
	struct uffdio_api api = {.api = UFFD_API,
				 .features = FEATURE_WP_ASYNC | FEATURE_WP_UNPOPULATED};
	struct uffdio_register reg = {.range = {(uintptr_t)block, BLOCKS * HUGE},
				      .mode = UFFDIO_REGISTER_MODE_WP};
	bool ok = pagemap >= 0 && uffd >= 0 && ioctl(uffd, UFFDIO_API, &api) == 0 &&
		  ioctl(uffd, UFFDIO_REGISTER, &reg) == 0;
	check(ok, "uffd-wp-async", "userfaultfd or PAGEMAP_SCAN unusable");
	return ok && d[FAULT_ALLOC] == BLOCKS;
}

/* Protecting and scanning whole huge pages split nothing; a write does. */
static void check_protection(void)
{
	long d[COUNTERS];
	grown(d);
	protect(block, BLOCKS * HUGE, true);
	bool huge = mapped_huge(0) && mapped_huge(1);
	grown(d);
	check(d[SPLIT_PMD] == 0 && huge, "protect-keeps-huge",
	      "%ld mappings split, still huge: %d", d[SPLIT_PMD], huge);
	block[HUGE + 100] = 2;
	block[HUGE + 5 * PAGE] = 2;
	grown(d);
	check(d[SPLIT_PMD] == 1 && !mapped_huge(1) && mapped_huge(0), "write-splits-mapping",
	      "%ld mappings split by two writes to one huge page", d[SPLIT_PMD]);
	check(d[SPLIT_PAGE] == 0, "write-keeps-folio", "%ld huge pages split",
	      d[SPLIT_PAGE]);
	protect(block, BLOCKS * HUGE, false);
	grown(d);
	check(d[SPLIT_PMD] == 0, "unprotect-keeps-huge", "%ld mappings split",
	      d[SPLIT_PMD]);
}

/* One 4 KiB page's move takes its whole folio, mapped huge or not. */
static void check_moves(void)
{
	long d[COUNTERS];
	grown(d);
	int st = move_page(block + HUGE + 7 * PAGE, 1);
	grown(d);
	int moved = pages_on(1, 1);
	check(st == 1 && moved == 512 && d[MIGRATION_SUCCESS] == 1 && d[SPLIT_PAGE] == 0,
	      "split-mapping-moves-whole", "status %d, %d of 512 pages moved, "
	      "%ld huge pages migrated, %ld split", st, moved, d[MIGRATION_SUCCESS],
	      d[SPLIT_PAGE]);
	st = move_page(block + 2 * HUGE + 9 * PAGE, 1);
	grown(d);
	moved = pages_on(2, 1);
	check(st == 1 && moved == 512 && mapped_huge(2) && d[SPLIT_PMD] == 0,
	      "huge-mapping-moves-whole", "status %d, %d of 512 pages moved, "
	      "huge after: %d, %ld mappings split", st, moved, mapped_huge(2),
	      d[SPLIT_PMD]);
}

int main(void)
{
	if (set_up()) {
		check_protection();
		check_moves();
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
