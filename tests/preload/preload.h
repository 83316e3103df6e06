/* Shared helpers of the LD_PRELOAD test programs (C and C++).
 *
 * Every program is run twice by tests/preload/run.sh: under
 * LD_PRELOAD=build/libtiermalloc.so with TM_TEST_PRELOAD=1, and, built with
 * -fsanitize=address,undefined, against glibc/ASan with TM_TEST_PRELOAD=0 (a
 * check of the tests themselves). tm_expect_environment() proves which of the
 * two it is, so a run that silently lost the preload cannot pass.
 *
 * Fill patterns are derived from a block id and the offset, so a block can be
 * verified wherever it travels (realloc, another thread, a forked child). */
#ifndef TM_PRELOAD_TEST_H
#define TM_PRELOAD_TEST_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../check.h"

/* 1: under libtiermalloc, 0: without it (sanitizer build). */
static int tm_under_lib;

static inline int tm_lib_loaded(void)
{
	return dlsym(RTLD_DEFAULT, "tm_tier_count") != NULL;
}

/* Which library defines the malloc this program calls. */
static inline const char *tm_malloc_owner(void)
{
	Dl_info di;
	void *(*volatile m)(size_t) = malloc;
	if (!dladdr((void *)m, &di) || !di.dli_fname)
		return "?";
	return di.dli_fname;
}

static inline void tm_expect_environment(void)
{
	const char *want = getenv("TM_TEST_PRELOAD");
	if (!want || (strcmp(want, "0") && strcmp(want, "1"))) {
		fprintf(stderr, "TM_TEST_PRELOAD must be 0 or 1\n");
		exit(2);
	}
	tm_under_lib = want[0] == '1';
	if (tm_under_lib) {
		CHECK(tm_lib_loaded(), "tm_tier_count is visible: running under "
				       "libtiermalloc");
		CHECK(strstr(tm_malloc_owner(), "libtiermalloc") != NULL,
		      "malloc comes from libtiermalloc, not %s",
		      tm_malloc_owner());
	} else {
		CHECK(!tm_lib_loaded(), "libtiermalloc is not loaded in the "
					"reference run");
	}
	/* TM_TEST_TIERS=N: the library must run with N tiers, and small and
	 * large blocks (under the ratio or threshold policy) use them all */
	const char *tiers = getenv("TM_TEST_TIERS");
	if (tm_under_lib && tiers) {
		int want = atoi(tiers), seen = 0;
		int (*count)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "tm_tier_count");
		int (*tier_of)(const void *) =
			(int (*)(const void *))dlsym(RTLD_DEFAULT, "tm_tier_of");
		CHECK(count && count() == want, "running with %d tiers (%d)", want,
		      count ? count() : -1);
		void *blocks[200];
		for (int i = 0; i < 200; i++) {
			blocks[i] = malloc(i % 2 ? 1024 : 128 << 10);
			int t = tier_of && blocks[i] ? tier_of(blocks[i]) : -1;
			if (t >= 0 && t < 31)
				seen |= 1 << t;
		}
		for (int i = 0; i < 200; i++)
			free(blocks[i]);
		CHECK(seen == (1 << want) - 1, "blocks on every tier (mask %#x)",
		      seen);
	}
}

static inline uint64_t tm_mix(uint64_t x)
{
	x ^= x >> 31;
	x *= 0x7fb5d329728ea185ULL;
	x ^= x >> 27;
	x *= 0x81dadef4bc2dd44dULL;
	x ^= x >> 33;
	return x;
}

/* Word k of block id's pattern. */
static inline uint64_t tm_pat_word(uint64_t id, size_t k)
{
	return tm_mix(id * 0x9e3779b97f4a7c15ULL + k);
}

static inline void tm_fill(void *p, size_t n, uint64_t id)
{
	unsigned char *b = (unsigned char *)p;
	size_t k = 0;
	for (; (k + 1) * 8 <= n; k++) {
		uint64_t w = tm_pat_word(id, k);
		memcpy(b + k * 8, &w, 8);
	}
	if (k * 8 < n) {
		uint64_t w = tm_pat_word(id, k);
		memcpy(b + k * 8, &w, n - k * 8);
	}
}

/* 1 when the first n bytes of p hold id's pattern. */
static inline int tm_verify(const void *p, size_t n, uint64_t id)
{
	const unsigned char *b = (const unsigned char *)p;
	size_t k = 0;
	for (; (k + 1) * 8 <= n; k++) {
		uint64_t w = tm_pat_word(id, k), got;
		memcpy(&got, b + k * 8, 8);
		if (got != w)
			return 0;
	}
	if (k * 8 < n) {
		uint64_t w = tm_pat_word(id, k);
		return memcmp(b + k * 8, &w, n - k * 8) == 0;
	}
	return 1;
}

static inline int tm_all_zero(const void *p, size_t n)
{
	const unsigned char *b = (const unsigned char *)p;
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return 0;
	return 1;
}

/* xorshift64*: deterministic per-thread randomness. */
static inline uint64_t tm_rand(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dULL;
}

static inline long long tm_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Allocate and free small blocks as a program at work does (the library's
 * services start on allocations) until done() (NULL: never) or ms pass.
 * Returns whether done() said so. */
static inline int tm_allocate_until(int (*done)(void), int ms)
{
	struct timespec pause = {0, 1000000};
	for (long long end = tm_now_ms() + ms; tm_now_ms() < end;) {
		for (int i = 0; i < 100; i++) {
			void *volatile p = malloc(64 + (size_t)i * 8);
			free(p);
		}
		if (done && done())
			return 1;
		nanosleep(&pause, NULL);
	}
	return 0;
}

/* Resident and virtual size of this process, in bytes. */
static inline void tm_mem_usage(size_t *vsize, size_t *rss)
{
	unsigned long v = 0, r = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (f) {
		if (fscanf(f, "%lu %lu", &v, &r) != 2)
			v = r = 0;
		fclose(f);
	}
	*vsize = (size_t)v * (size_t)sysconf(_SC_PAGESIZE);
	*rss = (size_t)r * (size_t)sysconf(_SC_PAGESIZE);
}

#endif
