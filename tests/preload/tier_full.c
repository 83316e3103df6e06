/* Tier 0's reservation full: allocations go on, on tier 1; none fails while
 * a tier has room (DESIGN.md's invariants). Run tiered under RLIMIT_AS of
 * 12 GiB, where each of two tiers reserves 4 GiB: THREADS threads allocate
 * blocks of 100 KiB (inside a window of 256 KiB, never touched: no memory
 * used) and small ones between them, 5 GiB in all, while tier 0's arenas
 * run out of address space. malloc in a window on tier 0 is jemalloc's,
 * with no fallback of ours: this is what makes a window keep its room. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "../check.h"

#define THREADS 4
#define BLOCK (100 << 10)
#define BLOCKS_EACH 13000 /* about 5 GiB over the threads */
#define SMALL_EVERY 8     /* small blocks between two big ones */

int tm_tier_of(const void *p) __attribute__((weak));

static _Atomic long failed, on_tier[2];

static void count(void *p)
{
	if (!p)
		failed++;
	else
		on_tier[tm_tier_of(p) > 0]++;
}

static void *fill(void *arg)
{
	void **blocks = calloc(BLOCKS_EACH * (SMALL_EVERY + 1), sizeof(void *));
	size_t n = 0;
	for (int i = 0; i < BLOCKS_EACH; i++) {
		count(blocks[n++] = malloc(BLOCK));
		for (int k = 0; k < SMALL_EVERY; k++)
			count(blocks[n++] = malloc(48 + (size_t)k * 200));
	}
	while (n)
		free(blocks[--n]);
	free(blocks);
	return arg;
}

int main(void)
{
	pthread_t t[THREADS];
	CHECK(tm_tier_of != NULL, "run under the library");
	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, fill, NULL);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	CHECK_EQ(failed, 0, "allocations failed with tier 1 free");
	CHECK(on_tier[0] > 0 && on_tier[1] > 0, "blocks on both tiers: %ld on tier 0, %ld on tier 1",
	      (long)on_tier[0], (long)on_tier[1]);
	return check_summary();
}
