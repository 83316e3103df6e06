/* Helpers shared by the C workloads: a seeded PRNG, a checksum mixer, size
 * distributions, timing and the two output lines every workload prints.
 *
 * Every workload prints exactly one result line on stdout that depends only
 * on its arguments (never on addresses, timing or thread interleaving), so
 * the runner can compare outputs across allocators byte for byte. Throughput
 * goes to stderr as "ops/s: N", which the runner picks up when present. */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* xorshift64*: fast, deterministic, good enough for picking sizes. */
static inline uint64_t rng_next(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static inline uint64_t rng_below(uint64_t *s, uint64_t n)
{
	return rng_next(s) % n;
}

/* Seeds must be non-zero for xorshift; spread small ids over the state. */
static inline uint64_t rng_seed(uint64_t id)
{
	return (id + 1) * 0x9E3779B97F4A7C15ULL;
}

/* Order-dependent hash combine (for single-threaded sequences). */
static inline uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9E3779B97F4A7C15ULL + (h << 6) + (h >> 2);
	return h * 0xff51afd7ed558ccdULL;
}

/* Typical heap mix of C/C++ programs: mostly tiny, a tail up to 8 KiB. */
static inline size_t small_size(uint64_t *s)
{
	uint64_t r = rng_below(s, 100);

	if (r < 60)
		return 8 + rng_below(s, 57);      /* 8..64 */
	if (r < 90)
		return 65 + rng_below(s, 192);    /* 65..256 */
	if (r < 99)
		return 257 + rng_below(s, 768);   /* 257..1024 */
	return 1025 + rng_below(s, 7168);         /* 1025..8192 */
}

/* Fill the head of a block with a pattern derived from tag, and hash it
 * back later: proves the allocator kept the contents and makes the compiler
 * keep every malloc/free pair. Only the head is touched so the workloads
 * measure the allocator rather than memset bandwidth. */
#define TOUCH_BYTES 16

static inline void fill_block(unsigned char *p, size_t n, uint64_t tag)
{
	size_t m = n < TOUCH_BYTES ? n : TOUCH_BYTES;

	for (size_t i = 0; i < m; i++)
		p[i] = (unsigned char)(tag + i * 131);
	p[n - 1] = (unsigned char)(tag >> 8);
}

static inline uint64_t hash_block(const unsigned char *p, size_t n)
{
	size_t m = n < TOUCH_BYTES ? n : TOUCH_BYTES;
	uint64_t h = n;

	for (size_t i = 0; i < m; i++)
		h = h * 1099511628211ULL ^ p[i];
	return mix(h, p[n - 1]);
}

static inline void *xmalloc(size_t n)
{
	void *p = malloc(n);

	if (!p) {
		fprintf(stderr, "malloc(%zu) failed\n", n);
		exit(2);
	}
	return p;
}

static inline double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* argv[i] as a positive integer, or dflt when absent. */
static inline long arg_long(int argc, char **argv, int i, long dflt)
{
	long v;

	if (argc <= i)
		return dflt;
	v = strtol(argv[i], NULL, 0);
	if (v <= 0) {
		fprintf(stderr, "%s: argument %d must be a positive integer\n",
			argv[0], i);
		exit(2);
	}
	return v;
}

static inline void report(const char *name, uint64_t checksum,
			  double ops, double t0)
{
	double secs = now_s() - t0;

	printf("%s checksum=%016llx\n", name, (unsigned long long)checksum);
	if (secs > 0)
		fprintf(stderr, "ops/s: %.0f\n", ops / secs);
}

#endif
