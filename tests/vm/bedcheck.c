/*
 * bedcheck: proves that the machine it runs on is the two-tier test bed the
 * guest tests rely on (tests/vm/tests/00-bed.sh runs it in both guest modes):
 * two memory nodes, node 1 CPU-less and in a lower memory tier, page
 * migration with move_pages, DAMON's sysfs interface, userfaultfd WP_ASYNC
 * and the PAGEMAP_SCAN ioctl.
 *
 * Prints one "ok NAME" or "FAIL NAME: why" line per check, then
 * "N passed, N failed"; exits 1 when any check failed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <numa.h>
#include <numaif.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/fs.h>
#include <linux/userfaultfd.h>

/*
 * ABI of kernels newer than the headers here (uapi/linux/userfaultfd.h and
 * uapi/linux/fs.h of Linux 6.7).
 */
#ifndef UFFD_FEATURE_WP_UNPOPULATED
#define UFFD_FEATURE_WP_UNPOPULATED (1 << 13)
#endif
#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC (1 << 15)
#endif
#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif
#ifndef PAGEMAP_SCAN
#define PAGE_IS_WRITTEN (1 << 1)
#define PAGE_IS_HUGE (1 << 6)
#define PM_SCAN_WP_MATCHING (1 << 0)
#define PM_SCAN_CHECK_WPASYNC (1 << 1)
struct page_region {
	uint64_t start, end, categories;
};
struct pm_scan_arg {
	uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
	uint64_t category_inverted, category_mask, category_anyof_mask, return_mask;
};
#define PAGEMAP_SCAN _IOWR('f', 16, struct pm_scan_arg)
#endif

#define TIERS_DIR "/sys/devices/virtual/memory_tiering"
#define MAX_NODES 64

static int passed, failed;

/* Report one check; the detail (after ':') says what was seen. */
static void __attribute__((format(printf, 3, 4)))
check(bool ok, const char *name, const char *fmt, ...)
{
	va_list ap;

	printf("%s %s: ", ok ? "ok" : "FAIL", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	if (ok)
		passed++;
	else
		failed++;
}

/* ---- nodes and tiers -------------------------------------------------- */

static void check_nodes(void)
{
	long long size0 = numa_node_size64(0, NULL);
	long long size1 = numa_node_size64(1, NULL);

	check(numa_max_node() == 1 && size0 > 0 && size1 > 0, "two-nodes",
	      "max node %d, node 0 %lld MiB, node 1 %lld MiB", numa_max_node(),
	      size0 >> 20, size1 >> 20);
}

static void check_cpuless_node(void)
{
	struct bitmask *cpus0 = numa_allocate_cpumask();
	struct bitmask *cpus1 = numa_allocate_cpumask();
	/* numa_node_to_cpus fails for a node that does not exist. */
	bool both = numa_node_to_cpus(0, cpus0) == 0 && numa_node_to_cpus(1, cpus1) == 0;
	unsigned int n0 = numa_bitmask_weight(cpus0), n1 = numa_bitmask_weight(cpus1);

	check(both && n0 > 0 && n1 == 0, "node1-cpuless", "node 0 has %u CPUs, node 1 %s %u",
	      n0, both ? "has" : "does not exist:", n1);
	numa_free_cpumask(cpus0);
	numa_free_cpumask(cpus1);
}

/* Mark the nodes of a sysfs node list ("0", "0-1,3") in nodes[]. */
static void parse_nodelist(const char *list, bool nodes[MAX_NODES])
{
	const char *p = list;

	while (*p >= '0' && *p <= '9') {
		char *end;
		long lo = strtol(p, &end, 10), hi = lo;

		if (*end == '-')
			hi = strtol(end + 1, &end, 10);
		for (long n = lo; n <= hi && n < MAX_NODES; n++)
			nodes[n] = true;
		p = *end == ',' ? end + 1 : end;
	}
}

/* The number N of the memory_tierN that holds NODE, or -1. */
static int tier_of(int node)
{
	glob_t g;
	int tier = -1;

	if (glob(TIERS_DIR "/memory_tier*/nodelist", 0, NULL, &g) != 0)
		return -1;
	for (size_t i = 0; i < g.gl_pathc && tier < 0; i++) {
		char buf[256] = "";
		bool nodes[MAX_NODES] = {false};
		FILE *f = fopen(g.gl_pathv[i], "r");

		if (!f)
			continue;
		if (fgets(buf, sizeof(buf), f))
			parse_nodelist(buf, nodes);
		fclose(f);
		if (nodes[node])
			sscanf(g.gl_pathv[i], TIERS_DIR "/memory_tier%d", &tier);
	}
	globfree(&g);
	return tier;
}

/* A lower memory_tierN number is a faster tier (smaller abstract distance). */
static void check_memory_tiers(void)
{
	int t0 = tier_of(0), t1 = tier_of(1);

	check(t0 >= 0 && t1 >= 0 && t0 < t1, "memory-tiers",
	      "node 0 in memory_tier%d, node 1 in memory_tier%d", t0, t1);
}

/*
 * PAGEMAP_SCAN: the regions of [START, START+LEN) whose pages are all in
 * CATEGORY (PAGE_IS_*); with PM_SCAN_WP_MATCHING in FLAGS the matching pages
 * are write-protected again. Returns the number of regions, or -errno.
 */
static long pagemap_scan(int pagemap, void *start, size_t len, uint64_t flags,
			 uint64_t category, struct page_region *vec, size_t vec_len)
{
	struct pm_scan_arg arg = {
		.size = sizeof(arg),
		.flags = flags,
		.start = (uintptr_t)start,
		.end = (uintptr_t)start + len,
		.vec = (uintptr_t)vec,
		.vec_len = vec_len,
		.category_mask = category,
		.return_mask = category,
	};
	long n = ioctl(pagemap, PAGEMAP_SCAN, &arg);

	return n < 0 ? -errno : n;
}

/* ---- page migration --------------------------------------------------- */

enum { MIGRATE_PAGES = 1024 };	/* 4 MiB: move_pages runs ~100 MiB/s under TCG */
#define HUGE_SIZE (2ul << 20)

struct mbuf {
	const char *label;	/* "4k" or "thp" */
	uint64_t *words;
	size_t nwords;
	void *pages[MIGRATE_PAGES];
	int nodes[MIGRATE_PAGES];
	int status[MIGRATE_PAGES];
};

static uint64_t pattern(size_t i)
{
	return i * 0x9e3779b97f4a7c15ull;
}

static bool contents_intact(const struct mbuf *b)
{
	for (size_t i = 0; i < b->nwords; i++)
		if (b->words[i] != pattern(i))
			return false;
	return true;
}

/* How many pages a status query (move_pages with nodes == NULL) finds on NODE. */
static int pages_on(struct mbuf *b, int node)
{
	int n = 0;

	if (numa_move_pages(0, MIGRATE_PAGES, b->pages, NULL, b->status, 0) < 0)
		return -errno;
	for (int i = 0; i < MIGRATE_PAGES; i++)
		n += b->status[i] == node;
	return n;
}

/* Pages of B that PAGEMAP_SCAN reports as part of a huge page. */
static long huge_pages(const struct mbuf *b)
{
	size_t psize = (size_t)sysconf(_SC_PAGESIZE);
	struct page_region vec[MIGRATE_PAGES];
	int pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	long n, huge = 0;

	if (pagemap < 0)
		return -errno;
	n = pagemap_scan(pagemap, b->pages[0], MIGRATE_PAGES * psize, 0, PAGE_IS_HUGE,
			 vec, MIGRATE_PAGES);
	for (long i = 0; i < n; i++)
		huge += (long)((vec[i].end - vec[i].start) / psize);
	close(pagemap);
	return n < 0 ? n : huge;
}

/*
 * Move all pages of B to node TO and check, with a status query, that they
 * are there and intact. move_pages may answer -EBUSY for the other subpages
 * of a transparent huge page it is already moving as a whole (seen with
 * 6.12): so the query after the move is what counts, and -EBUSY is reported.
 */
static void move_and_check(struct mbuf *b, int to, bool thp)
{
	char name[32];
	int moved = 0, busy = 0, other = 0, found, where = -1;
	long rc;

	for (int i = 0; i < MIGRATE_PAGES; i++)
		b->nodes[i] = to;
	/* A positive result counts the pages left behind: status says which. */
	rc = numa_move_pages(0, MIGRATE_PAGES, b->pages, b->nodes, b->status, MPOL_MF_MOVE);
	for (int i = 0; i < MIGRATE_PAGES && rc >= 0; i++) {
		if (b->status[i] == to)
			moved++;
		else if (b->status[i] == -EBUSY)
			busy++;
		else
			other++;
	}
	found = pages_on(b, to);
	get_mempolicy(&where, NULL, 0, b->pages[MIGRATE_PAGES / 2], MPOL_F_NODE | MPOL_F_ADDR);
	snprintf(name, sizeof(name), "move-%s-to-%d", b->label, to);
	check(rc >= 0 && other == 0 && (thp || busy == 0) && found == MIGRATE_PAGES &&
	      where == to && contents_intact(b), name,
	      "move_pages %ld: %d moved, %d -EBUSY, %d other errors; status query finds "
	      "%d of %d on node %d; get_mempolicy says node %d; contents %s",
	      rc, moved, busy, other, found, MIGRATE_PAGES, to, where,
	      contents_intact(b) ? "intact" : "CORRUPTED");
}

/*
 * Fill a buffer on node 0, move it to node 1 and back, check it each time.
 * THP asks for transparent huge pages (the guest's THP mode is madvise).
 */
static void check_move_pages(const char *label, bool thp)
{
	size_t psize = (size_t)sysconf(_SC_PAGESIZE), len = MIGRATE_PAGES * psize;
	struct mbuf *b = calloc(1, sizeof(*b));
	struct bitmask *node0 = numa_allocate_nodemask();
	char name[32];
	char *raw, *buf;
	int start;

	/* Over-allocate so that the buffer can start on a huge page boundary. */
	raw = mmap(NULL, len + HUGE_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	snprintf(name, sizeof(name), "pages-%s-on-0", label);
	if (!b || raw == MAP_FAILED) {
		check(false, name, "out of memory");
		free(b);
		return;
	}
	buf = (char *)(((uintptr_t)raw + HUGE_SIZE - 1) & ~(HUGE_SIZE - 1));
	madvise(buf, len, thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	/* Start on node 0 explicitly: the test must not depend on the policy. */
	numa_bitmask_setbit(node0, 0);
	mbind(buf, len, MPOL_BIND, node0->maskp, node0->size + 1, 0);
	numa_free_nodemask(node0);

	b->label = label;
	b->words = (uint64_t *)buf;
	b->nwords = len / sizeof(uint64_t);
	for (size_t i = 0; i < b->nwords; i++)
		b->words[i] = pattern(i);
	for (int i = 0; i < MIGRATE_PAGES; i++)
		b->pages[i] = buf + i * psize;
	start = pages_on(b, 0);
	check(start == MIGRATE_PAGES, name,
	      "status query finds %d of %d pages on node 0; %ld in huge pages",
	      start, MIGRATE_PAGES, huge_pages(b));
	/* Let the pages leave node 0 (MPOL_BIND would keep them there). */
	mbind(buf, len, MPOL_DEFAULT, NULL, 0, 0);
	move_and_check(b, 1, thp);
	move_and_check(b, 0, thp);
	munmap(raw, len + HUGE_SIZE);
	free(b);
}

/* ---- heat sources ----------------------------------------------------- */

static void check_damon_sysfs(void)
{
	struct stat st;
	bool ok = stat("/sys/kernel/mm/damon/admin/kdamonds/nr_kdamonds", &st) == 0;

	check(ok, "damon-sysfs", "/sys/kernel/mm/damon/admin/kdamonds/nr_kdamonds %s",
	      ok ? "present" : strerror(errno));
}

/* A userfaultfd with the given features, or -1 (errno says why). */
static int open_uffd(uint64_t features, uint64_t *available)
{
	struct uffdio_api api = { .api = UFFD_API, .features = features };
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);

	/* Unprivileged users may only trap their own (user-mode) faults. */
	if (fd < 0 && errno == EPERM)
		fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
	if (fd < 0)
		return -1;
	if (ioctl(fd, UFFDIO_API, &api) != 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	if (available)
		*available = api.features;
	return fd;
}

static void check_uffd_features(void)
{
	uint64_t want = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED;
	uint64_t have = 0;
	int fd = open_uffd(0, &have);	/* features 0: the kernel lists all it has */

	if (fd < 0) {
		check(false, "uffd-wp-async", "userfaultfd: %s", strerror(errno));
		return;
	}
	close(fd);
	check((have & want) == want, "uffd-wp-async",
	      "UFFDIO_API features 0x%llx (WP_ASYNC %s, WP_UNPOPULATED %s)",
	      (unsigned long long)have, have & UFFD_FEATURE_WP_ASYNC ? "yes" : "no",
	      have & UFFD_FEATURE_WP_UNPOPULATED ? "yes" : "no");
}

/*
 * Write tracking as the heat source will use it: register a populated buffer
 * for async write protection, protect it with one scan, write one page, and
 * expect the next scan to report exactly that page.
 */
static void check_pagemap_scan(void)
{
	enum { PAGES = 16, HOT = 5 };
	size_t psize = (size_t)sysconf(_SC_PAGESIZE), len = PAGES * psize;
	struct page_region vec[PAGES];
	char *buf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int uffd = open_uffd(UFFD_FEATURE_WP_ASYNC, NULL);
	int pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	struct uffdio_register reg = {
		.range = { .start = (uintptr_t)buf, .len = len },
		.mode = UFFDIO_REGISTER_MODE_WP,
	};
	long first = -1, second = -1;
	bool exact = false;

	if (buf == MAP_FAILED || uffd < 0 || pagemap < 0) {
		check(false, "pagemap-scan", "setup failed: %s", strerror(errno));
		goto out;
	}
	memset(buf, 1, len);
	if (ioctl(uffd, UFFDIO_REGISTER, &reg) != 0) {
		check(false, "pagemap-scan", "UFFDIO_REGISTER(WP): %s", strerror(errno));
		goto out;
	}
	first = pagemap_scan(pagemap, buf, len, PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC,
			     PAGE_IS_WRITTEN, vec, PAGES);
	buf[HOT * psize] = 2;
	second = pagemap_scan(pagemap, buf, len, 0, PAGE_IS_WRITTEN, vec, PAGES);
	exact = second == 1 && vec[0].start == (uintptr_t)(buf + HOT * psize) &&
		vec[0].end == vec[0].start + psize;
	check(first >= 0 && exact, "pagemap-scan",
	      "protect scan returned %ld, scan after writing page %d returned %ld region(s)%s",
	      first, HOT, second, exact ? " = that page" : "");
out:
	if (pagemap >= 0)
		close(pagemap);
	if (uffd >= 0)
		close(uffd);
	if (buf != MAP_FAILED)
		munmap(buf, len);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (numa_available() < 0) {
		check(false, "libnuma", "numa_available() < 0: no NUMA support");
	} else {
		check_nodes();
		check_cpuless_node();
		check_memory_tiers();
		if (numa_max_node() >= 1) {
			check_move_pages("4k", false);
			check_move_pages("thp", true);
		}
	}
	check_damon_sysfs();
	check_uffd_features();
	check_pagemap_scan();
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
