/*
 * faultcost: what a page fault and a userfaultfd write-protect fault
 * (WP_ASYNC: resolved by the kernel, as the uffd heat source uses it) cost
 * on this machine, the host or the guest (`make vm-shell CMD=build/vm/faultcost`).
 *
 *   faultcost [PAGES]   (default 8192)
 *
 * Best of 5 rounds, in microseconds per page:
 *   first touch   write to a fresh anonymous page (fault + zeroing)
 *   protect       UFFDIO_WRITEPROTECT of the populated range, per page
 *   wp fault      first write to a write-protected page
 *   rewrite       a second write to the same page (no fault)
 * Exit 1 when userfaultfd WP_ASYNC is not available.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <linux/userfaultfd.h>

#define PAGE 4096
/* Newer than these headers (kernel 6.7). */
#define FEATURE_WP_ASYNC (1ULL << 15)

static double now_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static double touch(volatile char *p, size_t pages, char v)
{
	double t0 = now_us();
	for (size_t i = 0; i < pages; i++)
		p[i * PAGE] = v;
	return (now_us() - t0) / pages;
}

static double min(double a, double b) { return a < b ? a : b; }

int main(int argc, char **argv)
{
	size_t pages = argc > 1 ? strtoul(argv[1], NULL, 10) : 8192;
	double first = 1e9, prot = 1e9, wp = 1e9, again = 1e9;
	for (int round = 0; round < 5; round++) {
		size_t len = pages * PAGE;
		char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return perror("mmap"), 1;
		madvise(p, len, MADV_NOHUGEPAGE);
		first = min(first, touch(p, pages, 1));
		int fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
		struct uffdio_api api = {.api = UFFD_API, .features = FEATURE_WP_ASYNC};
		if (fd < 0 || ioctl(fd, UFFDIO_API, &api)) {
			fprintf(stderr, "faultcost: userfaultfd WP_ASYNC: %s\n", strerror(errno));
			return 1;
		}
		struct uffdio_register reg = {
			.range = {(uintptr_t)p, len}, .mode = UFFDIO_REGISTER_MODE_WP};
		if (ioctl(fd, UFFDIO_REGISTER, &reg))
			return perror("UFFDIO_REGISTER"), 1;
		struct uffdio_writeprotect wpr = {
			.range = {(uintptr_t)p, len}, .mode = UFFDIO_WRITEPROTECT_MODE_WP};
		double t0 = now_us();
		if (ioctl(fd, UFFDIO_WRITEPROTECT, &wpr))
			return perror("UFFDIO_WRITEPROTECT"), 1;
		prot = min(prot, (now_us() - t0) / pages);
		wp = min(wp, touch(p, pages, 2));
		again = min(again, touch(p, pages, 3));
		close(fd);
		munmap(p, len);
	}
	printf("faultcost: %zu pages, best of 5, us per page: first touch %.2f, "
	       "protect %.3f, wp fault %.2f, rewrite %.3f\n", pages, first, prot, wp, again);
	return 0;
}
