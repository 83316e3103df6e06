/* Fragmentation and peak RSS: allocate many objects of mixed sizes, free
 * 90% of them at random (leaving survivors scattered over the whole heap),
 * then allocate about the same volume again in a different size mix.
 * An allocator that reuses the holes keeps the peak near the first phase's
 * footprint; one that cannot grows the heap. The runner reads the peak RSS;
 * the time matters less here.
 *
 *   frag [MiB-per-phase] [rounds] */
#include "common.h"

struct obj {
	unsigned char *p;
	size_t n;
};

/* Phase A is small-object heavy; phase B shifts to bigger objects so the
 * same holes cannot simply be refilled by identical size classes. */
static size_t size_a(uint64_t *rng)
{
	return small_size(rng);
}

static size_t size_b(uint64_t *rng)
{
	return 3 * small_size(rng) / 2 + 16;
}

/* Allocate until `bytes` are live in new objects; returns how many. */
static size_t fill(struct obj *o, size_t cap, size_t bytes, uint64_t *rng,
		   size_t (*pick)(uint64_t *), uint64_t tag)
{
	size_t n = 0, total = 0;

	while (total < bytes && n < cap) {
		o[n].n = pick(rng);
		o[n].p = xmalloc(o[n].n);
		fill_block(o[n].p, o[n].n, tag + n);
		total += o[n].n;
		n++;
	}
	return n;
}

/* Free all but one in ten, chosen at random; compact the survivors. */
static size_t thin(struct obj *o, size_t n, uint64_t *rng, uint64_t *sum)
{
	size_t kept = 0;

	for (size_t i = 0; i < n; i++) {
		if (rng_below(rng, 10) == 0) {
			o[kept++] = o[i];
			continue;
		}
		*sum += hash_block(o[i].p, o[i].n);
		free(o[i].p);
	}
	return kept;
}

static void free_all(struct obj *o, size_t n, uint64_t *sum)
{
	for (size_t i = 0; i < n; i++) {
		*sum += hash_block(o[i].p, o[i].n);
		free(o[i].p);
	}
}

int main(int argc, char **argv)
{
	size_t bytes = (size_t)arg_long(argc, argv, 1, 256) << 20;
	long rounds = arg_long(argc, argv, 2, 2);
	/* Mean object size is over 100 bytes: 1/32 of the volume is plenty. */
	size_t cap = bytes / 32;
	struct obj *a = malloc(cap * sizeof(*a));
	struct obj *b = malloc(cap * sizeof(*b));
	uint64_t rng = rng_seed(11), sum = 0, ops = 0;
	double t0 = now_s();

	if (!a || !b)
		return 2;
	for (long r = 0; r < rounds; r++) {
		size_t na = fill(a, cap, bytes, &rng, size_a, (uint64_t)r << 32);
		size_t ka = thin(a, na, &rng, &sum);
		size_t nb = fill(b, cap, bytes, &rng, size_b, (uint64_t)r << 33);

		ops += 2 * (na + nb);
		free_all(a, ka, &sum);
		free_all(b, nb, &sum);
	}
	free(a);
	free(b);
	report("frag", sum, (double)ops, t0);
	return 0;
}
