/* userfaultfd write protection and the PAGEMAP_SCAN ioctl (kernel >= 6.7).
 * The installed headers predate both, so the ABI pieces they lack are
 * defined here and in pagemap_scan.h from the kernel's documentation
 * (userfaultfd(2), PAGEMAP_SCAN(2const)). */
#include "allocator/prim/fd.h"
#include "allocator/prim/os.h"
#include "allocator/prim/pagemap_scan.h"
#include "allocator/prim/track.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define FEATURE_WP_UNPOPULATED (1ULL << 13) /* protect pages never touched */
#define FEATURE_WP_ASYNC (1ULL << 15)       /* the kernel resolves WP faults */

static int uffd_open(void)
{
	int fd = (int)syscall(SYS_userfaultfd,
			      O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
	if (fd < 0)
		return -errno;
	struct uffdio_api api = {
		.api = UFFD_API,
		.features = FEATURE_WP_ASYNC | FEATURE_WP_UNPOPULATED,
	};
	if (ioctl(fd, UFFDIO_API, &api) < 0) {
		int err = errno;
		close(fd);
		return err == EINVAL ? -EOPNOTSUPP : -err;
	}
	return tm_fd_keep(fd, 2);
}

/* Runs of present pages of [start, end) in the category. */
static long scan(int pagemap, uint64_t flags, uint64_t category, uintptr_t start,
		 uintptr_t end, tm_page_run *runs, size_t max, uintptr_t *walk_end)
{
	struct pm_page_region vec[64];
	struct pm_scan_arg arg = {
		.size = sizeof(arg),
		.flags = flags,
		.start = start,
		.end = end,
		.vec = (uintptr_t)vec,
		.vec_len = max < 64 ? max : 64,
		.category_mask = category,
		.return_mask = category | PAGE_IS_PRESENT,
	};
	long n = ioctl(pagemap, PAGEMAP_SCAN, &arg);
	if (n < 0)
		return -errno;
	long kept = 0;
	for (long i = 0; i < n; i++)
		if (vec[i].categories & PAGE_IS_PRESENT)
			runs[kept++] = (tm_page_run){vec[i].start, vec[i].end};
	*walk_end = arg.walk_end;
	return kept;
}

static long scan_written(int pagemap, uintptr_t start, uintptr_t end,
			 tm_page_run *runs, size_t max, uintptr_t *walk_end)
{
	return scan(pagemap, 0, PAGE_IS_WRITTEN, start, end, runs, max, walk_end);
}

/* The same, protecting what it reports again in the same page-table walk:
 * the cost is the pages written, not the range's. */
static long take_written(int pagemap, uintptr_t start, uintptr_t end,
			 tm_page_run *runs, size_t max, uintptr_t *walk_end)
{
	return scan(pagemap, PM_SCAN_WP_MATCHING, PAGE_IS_WRITTEN, start, end,
		    runs, max, walk_end);
}

static long scan_huge(int pagemap, uintptr_t start, uintptr_t end,
		      tm_page_run *runs, size_t max, uintptr_t *walk_end)
{
	return scan(pagemap, 0, PAGE_IS_HUGE, start, end, runs, max, walk_end);
}

/* A scan of an empty range tells whether the ioctl exists at all. The
 * calling thread's own view: /proc/self is the main thread's, whose memory
 * is gone (ESRCH) once it has called pthread_exit. */
static int open_pagemap(void)
{
	int fd = open("/proc/thread-self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	uintptr_t walk_end;
	tm_page_run run;
	long rc = scan_written(fd, 0, 0, &run, 1, &walk_end);
	if (rc < 0) {
		close(fd);
		return (int)rc;
	}
	return tm_fd_keep(fd, 2);
}

static int register_wp(int uffd, uintptr_t start, size_t len)
{
	struct uffdio_register reg = {
		.range = {start, len},
		.mode = UFFDIO_REGISTER_MODE_WP,
	};
	return ioctl(uffd, UFFDIO_REGISTER, &reg) == 0 ? 0 : -errno;
}

static int protect(int uffd, uintptr_t start, size_t len, bool on)
{
	struct uffdio_writeprotect wp = {
		.range = {start, len},
		.mode = on ? UFFDIO_WRITEPROTECT_MODE_WP : 0,
	};
	return ioctl(uffd, UFFDIO_WRITEPROTECT, &wp) == 0 ? 0 : -errno;
}


/* The k-th smallest of n values (insertion sort: n is tiny). */
static uint64_t nth_smallest(uint64_t *v, int n, int k)
{
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
			uint64_t t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	return v[k];
}

#define PROBE_PAGES 9
#define FAULT_NS_UNKNOWN 20000 /* a slow machine's, if it cannot be measured */

/* The median of PROBE_PAGES timed first writes to protected pages of a
 * scratch mapping: what the program pays for each page a window sees. */
static uint64_t fault_ns(int uffd)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), len = PROBE_PAGES * page;
	char *buf = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		return FAULT_NS_UNKNOWN;
	uint64_t took[PROBE_PAGES], median = FAULT_NS_UNKNOWN;
	memset(buf, 1, len);
	if (register_wp(uffd, (uintptr_t)buf, len) == 0 &&
	    protect(uffd, (uintptr_t)buf, len, true) == 0) {
		for (int i = 0; i < PROBE_PAGES; i++) {
			uint64_t t0 = tm_now_ns();
			((volatile char *)buf)[i * page] = 2;
			took[i] = tm_now_ns() - t0;
		}
		median = nth_smallest(took, PROBE_PAGES, PROBE_PAGES / 2) + 1;
	}
	struct uffdio_range range = {(uintptr_t)buf, len};
	ioctl(uffd, UFFDIO_UNREGISTER, &range);
	munmap(buf, len);
	return median;
}

static void close_fd(int fd)
{
	close(fd);
}

static void wait_us(unsigned us)
{
	usleep(us);
}

const tm_uffd_os tm_uffd_os_real = {
	.open = uffd_open,
	.open_pagemap = open_pagemap,
	.register_wp = register_wp,
	.protect = protect,
	.scan_written = scan_written,
	.take_written = take_written,
	.close = close_fd,
	.fault_ns = fault_ns,
	.wait = wait_us,
	.now_ns = tm_now_ns,
	.program_ns = tm_os_program_cpu_ns,
};

const tm_mover_os tm_mover_os_real = {
	.move_pages = tm_os_move_pages,
	.open_pagemap = open_pagemap,
	.scan_huge = scan_huge,
	.close = close_fd,
};
