/* Realloc growth: a set of buffers grown by realloc the way string builders
 * and dynamic arrays grow them (small appends, occasional doubling), each up
 * to a random final length between a few bytes and 1 MiB. Every byte is
 * written, and the whole buffer is checked when it is finished, so a
 * realloc that loses or moves contents wrongly fails the run.
 *
 *   realloc [thousands-of-buffers] */
#include "common.h"

#define LIVE 256

struct buf {
	unsigned char *p;
	size_t len, cap, target;
	uint64_t seed;
};

static unsigned char byte_at(uint64_t seed, size_t i)
{
	return (unsigned char)((seed >> (i % 56)) + i * 7);
}

/* Final lengths: mostly short strings, a long tail of big arrays. */
static size_t target_len(uint64_t *rng)
{
	uint64_t r = rng_below(rng, 100);

	if (r < 80)
		return 1 + rng_below(rng, 512);
	if (r < 98)
		return 512 + rng_below(rng, 64 * 1024);
	return 64 * 1024 + rng_below(rng, 960 * 1024);
}

static void start(struct buf *b, uint64_t *rng, uint64_t id)
{
	b->p = NULL;
	b->len = b->cap = 0;
	b->target = target_len(rng);
	b->seed = rng_seed(id);
}

/* Half the buffers grow by exact appends (realloc every time), half by
 * doubling their capacity, as vectors do. */
static void grow(struct buf *b, uint64_t *rng)
{
	size_t add = 1 + rng_below(rng, 64);
	size_t want;

	if (b->len + add > b->target)
		add = b->target - b->len;
	want = b->len + add;
	if (want > b->cap) {
		size_t cap = (b->seed & 1) ? want
					   : (b->cap * 2 > want ? b->cap * 2 : want);
		unsigned char *p = realloc(b->p, cap);

		if (!p) {
			fprintf(stderr, "realloc(%zu) failed\n", cap);
			exit(2);
		}
		b->p = p;
		b->cap = cap;
	}
	for (size_t i = b->len; i < want; i++)
		b->p[i] = byte_at(b->seed, i);
	b->len = want;
}

static uint64_t finish(struct buf *b)
{
	uint64_t h = b->len;

	for (size_t i = 0; i < b->len; i++) {
		if (b->p[i] != byte_at(b->seed, i)) {
			fprintf(stderr, "realloc lost data at %zu of %zu\n",
				i, b->len);
			exit(1);
		}
	}
	h = mix(h, hash_block(b->p, b->len));
	free(b->p);
	return h;
}

int main(int argc, char **argv)
{
	uint64_t total = (uint64_t)arg_long(argc, argv, 1, 10) * 1000;
	struct buf bufs[LIVE];
	uint64_t rng = rng_seed(7), h = 0, started = 0, reallocs = 0;
	double t0 = now_s();

	for (int i = 0; i < LIVE; i++)
		start(&bufs[i], &rng, started++);
	while (started < total + LIVE) {
		struct buf *b = &bufs[rng_below(&rng, LIVE)];

		grow(b, &rng);
		reallocs++;
		if (b->len == b->target) {
			h = mix(h, finish(b));
			start(b, &rng, started++);
		}
	}
	for (int i = 0; i < LIVE; i++)
		free(bufs[i].p);
	report("realloc", h, (double)reallocs, t0);
	return 0;
}
