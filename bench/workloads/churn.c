/* Single-threaded small-object churn: a table of slots where each step
 * either frees the object in a random slot or allocates a new one there.
 * Keeps a live heap of about half the slots, with sizes from small_size(),
 * so it exercises the thread cache and the small size classes.
 *
 *   churn [millions-of-steps] [slots] */
#include "common.h"

struct slot {
	unsigned char *p;
	size_t n;
};

static uint64_t step(struct slot *s, uint64_t *rng, uint64_t i)
{
	uint64_t h = 0;

	if (s->p) {
		h = hash_block(s->p, s->n);
		free(s->p);
		s->p = NULL;
		return h;
	}
	s->n = small_size(rng);
	s->p = xmalloc(s->n);
	fill_block(s->p, s->n, i);
	return h;
}

static uint64_t drain(struct slot *slots, size_t nslots)
{
	uint64_t h = 0;

	for (size_t i = 0; i < nslots; i++) {
		if (slots[i].p) {
			h = mix(h, hash_block(slots[i].p, slots[i].n));
			free(slots[i].p);
		}
	}
	return h;
}

int main(int argc, char **argv)
{
	uint64_t steps = (uint64_t)arg_long(argc, argv, 1, 10) * 1000000;
	size_t nslots = (size_t)arg_long(argc, argv, 2, 65536);
	struct slot *slots = calloc(nslots, sizeof(*slots));
	uint64_t rng = rng_seed(1), h = 0;
	double t0 = now_s();

	if (!slots)
		return 2;
	for (uint64_t i = 0; i < steps; i++)
		h = mix(h, step(&slots[rng_below(&rng, nslots)], &rng, i));
	h = mix(h, drain(slots, nslots));
	free(slots);
	report("churn", h, (double)steps, t0);
	return 0;
}
