/* jemalloc's mallctl tree is relocated at the first mallctl, not by the
 * loader (allocator/je_ctl.c). Proves, under LD_PRELOAD:
 *  - the first mallctl of a process makes the tree writable (the library
 *    calls mprotect on its own image), and every lookup works after it:
 *    by name, name to MIB, by MIB, and malloc_stats_print's MIB walks;
 *  - a fork while another thread is applying the relocations leaves a child
 *    whose mallctl works (it takes the work over rather than wait for a
 *    thread it does not have), and the parent's other threads wait for it.
 *
 * The program defines mprotect (exported: built with -rdynamic), so the
 * library's call lands here: the thread that applies stops in it until the
 * main thread has forked. Exits nonzero if any of it fails, or if the first
 * mallctl made nothing of the library writable (its tree was not deferred).
 * Run with one tier: a tiered library calls mallctl in its constructor. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "preload.h"

#define WAIT_MS 5000

typedef int mallctl_fn(const char *, void *, size_t *, void *, size_t);
typedef int nametomib_fn(const char *, size_t *, size_t *);
typedef int bymib_fn(const size_t *, size_t, void *, size_t *, void *, size_t);
typedef void stats_print_fn(void (*)(void *, const char *), void *, const char *);

static int in_apply[2], forked[2];
static volatile int armed, applying_seen;

static int wait_readable(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	return poll(&p, 1, ms) == 1;
}

static int in_library(const void *addr)
{
	Dl_info di;
	return dladdr(addr, &di) && di.dli_fname && strstr(di.dli_fname, "libtiermalloc");
}

int mprotect(void *addr, size_t len, int prot)
{
	static int (*real)(void *, size_t, int);
	if (!real)
		real = (int (*)(void *, size_t, int))dlsym(RTLD_NEXT, "mprotect");
	if (armed && prot == (PROT_READ | PROT_WRITE) && !applying_seen && in_library(addr)) {
		applying_seen = 1;
		char c = 1;
		if (write(in_apply[1], &c, 1) != 1 || !wait_readable(forked[0], WAIT_MS))
			fprintf(stderr, "mallctl_lazy: no fork came\n");
	}
	return real(addr, len, prot);
}

static void count_bytes(void *total, const char *s)
{
	*(size_t *)total += strlen(s);
}

/* Every kind of lookup; 0 if all answered as they should. */
static int lookups_work(void)
{
	mallctl_fn *mallctl = (mallctl_fn *)dlsym(RTLD_DEFAULT, "mallctl");
	nametomib_fn *nametomib = (nametomib_fn *)dlsym(RTLD_DEFAULT, "mallctlnametomib");
	bymib_fn *bymib = (bymib_fn *)dlsym(RTLD_DEFAULT, "mallctlbymib");
	stats_print_fn *print = (stats_print_fn *)dlsym(RTLD_DEFAULT, "malloc_stats_print");
	if (!mallctl || !nametomib || !bymib || !print)
		return 1;
	const char *version = NULL;
	size_t len = sizeof(version);
	if (mallctl("version", &version, &len, NULL, 0) || !version || strncmp(version, "5.", 2))
		return 2;
	size_t mib[4], miblen = 4;
	unsigned narenas = 0;
	len = sizeof(narenas);
	if (nametomib("arenas.narenas", mib, &miblen) ||
	    bymib(mib, miblen, &narenas, &len, NULL, 0) || narenas == 0)
		return 3;
	size_t printed = 0; /* JSON of the bins and extents: the MIB walks */
	print(count_bytes, &printed, "J");
	return printed > 10000 ? 0 : 4;
}

static void *first_mallctl(void *result)
{
	*(int *)result = lookups_work();
	return NULL;
}

int main(void)
{
	tm_expect_environment();
	CHECK(pipe(in_apply) == 0 && pipe(forked) == 0, "pipes");
	armed = 1;
	int applier_result = -1;
	pthread_t applier;
	CHECK(pthread_create(&applier, NULL, first_mallctl, &applier_result) == 0,
	      "thread created");
	if (!wait_readable(in_apply[0], WAIT_MS)) {
		fprintf(stderr, "mallctl_lazy: the first mallctl made nothing of the library "
				"writable (not deferred, or done before main: tiered?)\n");
		pthread_join(applier, NULL);
		return 2;
	}
	pid_t child = fork();
	CHECK(child >= 0, "fork");
	if (child == 0) {
		alarm(30); /* a child waiting for the parent's thread hangs */
		int result = lookups_work();
		_exit(result ? 10 + result : 0);
	}
	char c = 1;
	CHECK(write(forked[1], &c, 1) == 1, "fork announced");
	int main_result = lookups_work(); /* waits for the applier, if still at it */
	pthread_join(applier, NULL);
	int status;
	CHECK(waitpid(child, &status, 0) == child, "child reaped");
	CHECK(applier_result == 0, "the applying thread's lookups");
	CHECK(main_result == 0, "the main thread's lookups, while another applied");
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "the child's lookups, forked mid-way through the relocation");
	return check_summary();
}
