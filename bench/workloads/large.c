/* Large allocations, 256 KiB .. 64 MiB (log-uniform), with a window of live
 * blocks capped at LIVE_CAP bytes. Every page of each block is written once
 * and read back before the free, as programs do with big buffers. A third of
 * the blocks come from calloc and are checked to read as zero, the part of
 * calloc's contract that an allocator reusing memory must not forget.
 *
 * What it measures is mostly the cost of getting pages from the OS: how
 * often an allocator unmaps and faults memory back in versus reusing it.
 *
 *   large [blocks] */
#include "common.h"

#define WINDOW 8
#define LIVE_CAP (256UL << 20)
#define PAGE 4096

struct block {
	unsigned char *p;
	size_t n;
};

/* log-uniform between 2^18 and 2^26 bytes. */
static size_t large_size(uint64_t *rng)
{
	unsigned shift = 18 + (unsigned)rng_below(rng, 8);
	size_t base = (size_t)1 << shift;

	return base + (size_t)rng_below(rng, base);
}

static int check_zero(const unsigned char *p, size_t n)
{
	for (size_t off = 0; off < n; off += PAGE)
		if (p[off] != 0)
			return 0;
	return p[n - 1] == 0;
}

static void touch(struct block *b, uint64_t tag)
{
	for (size_t off = 0; off < b->n; off += PAGE)
		b->p[off] = (unsigned char)(tag + off / PAGE);
	b->p[b->n - 1] = (unsigned char)tag;
}

static uint64_t release(struct block *b)
{
	uint64_t h = b->n;

	for (size_t off = 0; off < b->n; off += PAGE)
		h = h * 31 + b->p[off];
	h = mix(h, b->p[b->n - 1]);
	free(b->p);
	b->p = NULL;
	return h;
}

static void alloc_block(struct block *b, uint64_t *rng, uint64_t i)
{
	b->n = large_size(rng);
	if (i % 3 == 0) {
		b->p = calloc(1, b->n);
		if (b->p && !check_zero(b->p, b->n)) {
			fprintf(stderr, "calloc(%zu) returned non-zero memory\n",
				b->n);
			exit(1);
		}
	} else {
		b->p = malloc(b->n);
	}
	if (!b->p) {
		fprintf(stderr, "allocation of %zu bytes failed\n", b->n);
		exit(2);
	}
	touch(b, i);
}

int main(int argc, char **argv)
{
	uint64_t blocks = (uint64_t)arg_long(argc, argv, 1, 300);
	struct block win[WINDOW] = { { 0 } };
	uint64_t rng = rng_seed(3), h = 0;
	size_t live = 0;
	double t0 = now_s();

	for (uint64_t i = 0; i < blocks; i++) {
		struct block *b = &win[i % WINDOW];

		if (b->p) {
			live -= b->n;
			h = mix(h, release(b));
		}
		alloc_block(b, &rng, i);
		live += b->n;
		/* Keep the live set under the cap: free the oldest first. */
		for (uint64_t j = 1; live > LIVE_CAP && j < WINDOW; j++) {
			struct block *o = &win[(i + j) % WINDOW];

			if (o->p) {
				live -= o->n;
				h = mix(h, release(o));
			}
		}
	}
	for (int i = 0; i < WINDOW; i++)
		if (win[i].p)
			h = mix(h, release(&win[i]));
	report("large", h, (double)blocks * 2, t0);
	return 0;
}
