/* What gups's key-value workload and redis_zipf share: a xorshift random
 * stream, the clock, and Zipf popularity over ranks (its cumulative
 * distribution, a draw, and a shuffle of which key has each rank). */
#ifndef BENCH_ZIPF_H
#define BENCH_ZIPF_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

static inline uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static inline double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* cdf[r]: the probability of ranks 0..r under Zipf of exponent s. */
static inline void zipf_cdf(double *cdf, size_t n, double s)
{
	double z = 0;
	for (size_t r = 0; r < n; r++)
		cdf[r] = z += 1 / pow((double)(r + 1), s);
	for (size_t r = 0; r < n; r++)
		cdf[r] /= z;
}

/* The rank whose share of cdf holds u, 0 <= u < 1. */
static inline size_t zipf_rank(const double *cdf, size_t n, double u)
{
	size_t lo = 0, hi = n - 1;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (cdf[mid] < u)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* key_of[r]: a random permutation of 0..n-1. */
static inline void shuffle_ranks(size_t *key_of, size_t n, uint64_t *rng)
{
	for (size_t r = 0; r < n; r++)
		key_of[r] = r;
	for (size_t r = n - 1; r > 0; r--) {
		size_t j = xorshift(rng) % (r + 1), t = key_of[r];
		key_of[r] = key_of[j];
		key_of[j] = t;
	}
}

#endif
