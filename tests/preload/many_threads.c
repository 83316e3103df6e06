/* 5,000 live threads in tiered mode run at full speed (issue 12): jemalloc
 * has about 4,000 explicit tcaches, and a thread that cannot have one must
 * not ask again on every call (each ask takes jemalloc's global ctl lock).
 * Every allocation here goes to tier 1 (run with a threshold policy below
 * the block size); the program counts the library's tcache.create calls by
 * standing in for jemalloc's mallctl (linked -rdynamic, run under the
 * library build that calls it through the PLT): at most one per thread,
 * ours and the library's. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "preload.h"

#define THREADS 5000
#define PAIRS 200
#define BLOCK 64
#define OWN_THREADS 4 /* the library's: stats server, migrator, ... */

typedef int (*mallctl_fn)(const char *, void *, size_t *, void *, size_t);
static mallctl_fn real_mallctl;
static atomic_long creates, failed_allocs;
static pthread_barrier_t all_live;

int mallctl(const char *name, void *old, size_t *oldlen, void *new, size_t newlen)
{
	if (!strcmp(name, "tcache.create"))
		atomic_fetch_add(&creates, 1);
	if (!real_mallctl) /* the library calls it from its constructor */
		real_mallctl = (mallctl_fn)dlsym(RTLD_NEXT, "mallctl");
	return real_mallctl(name, old, oldlen, new, newlen);
}

static void *work(void *arg)
{
	pthread_barrier_wait(&all_live);
	for (int i = 0; i < PAIRS; i++) {
		char *volatile p = malloc(BLOCK);
		if (!p) {
			atomic_fetch_add(&failed_allocs, 1);
			continue;
		}
		p[0] = 1;
		free(p);
	}
	pthread_barrier_wait(&all_live);
	return arg;
}

int main(void)
{
	static pthread_t t[THREADS];
	tm_expect_environment();
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 << 10);
	pthread_barrier_init(&all_live, NULL, THREADS + 1);
	int made = 0;
	while (made < THREADS && pthread_create(&t[made], &attr, work, NULL) == 0)
		made++;
	CHECK_EQ(made, THREADS, "threads created");
	if (made < THREADS)
		return check_summary(); /* the barrier would never open */
	pthread_barrier_wait(&all_live);
	pthread_barrier_wait(&all_live);
	for (int i = 0; i < made; i++)
		pthread_join(t[i], NULL);
	CHECK(real_mallctl != NULL, "jemalloc's mallctl found");
	CHECK_EQ(atomic_load(&failed_allocs), 0, "every allocation served");
	CHECK(atomic_load(&creates) <= THREADS + OWN_THREADS,
	      "tcache.create asked %ld times for %d threads x %d pairs "
	      "(at most once per thread)", atomic_load(&creates), THREADS, PAIRS);
	return check_summary();
}
