/* Integrity under migration: threads rewrite and verify their blocks while
 * the library tracks heat and moves pages underneath. Every block's content
 * is a function of (block, generation), so a verify finds any byte lost or
 * corrupted by a move.
 *
 * With --flip-ms, one more thread hints half of the blocks TM_HOT and the
 * other half TM_COLD, swapping the halves every interval, so that on two
 * tiers the migrator moves the blocks back and forth; it counts the blocks
 * it sees change node (tm_node_of).
 *
 *   blocks [--threads N] [--mib M] [--seconds S] [--flip-ms F] [--expect-moves]
 *
 * Prints its counts; exits 0 when no mismatch was found (and, with
 * --expect-moves, blocks were seen to move), 1 otherwise. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tiermalloc.h"

#define BLOCK (64 << 10)
#define MAX_THREADS 64

static int threads = 8, seconds = 5, flip_ms, expect_moves;
static size_t mib = 32, nblocks;
static uint64_t **blocks;
static uint32_t *generation;
static _Atomic int stop;
static _Atomic uint64_t mismatches, verified, moves_seen, flips;
static int (*advise)(void *, size_t, int);
static int (*node_of)(const void *);

static uint64_t word(size_t block, uint32_t gen, size_t i)
{
	uint64_t x = ((uint64_t)block << 40) ^ ((uint64_t)gen << 20) ^ i;
	x *= 0x9e3779b97f4a7c15ULL;
	return x ^ (x >> 29);
}

static void fill(size_t b)
{
	uint32_t gen = ++generation[b];
	for (size_t i = 0; i < BLOCK / 8; i++)
		blocks[b][i] = word(b, gen, i);
}

static void verify(size_t b)
{
	for (size_t i = 0; i < BLOCK / 8; i++)
		if (blocks[b][i] != word(b, generation[b], i)) {
			if (atomic_fetch_add(&mismatches, 1) < 5)
				fprintf(stderr, "mismatch: block %zu word %zu\n", b, i);
			break;
		}
	atomic_fetch_add(&verified, 1);
}

/* Thread t owns blocks t, t + threads, ...: verify, then rewrite. */
static void *worker(void *arg)
{
	size_t t = (size_t)arg;
	while (!atomic_load(&stop))
		for (size_t b = t; b < nblocks && !atomic_load(&stop); b += (size_t)threads) {
			verify(b);
			fill(b);
		}
	return NULL;
}

static void *flipper(void *unused)
{
	(void)unused;
	int *node = calloc(nblocks, sizeof(int));
	for (size_t b = 0; b < nblocks; b++)
		node[b] = node_of(blocks[b]);
	for (unsigned round = 0; !atomic_load(&stop); round++) {
		for (size_t b = 0; b < nblocks; b++)
			advise(blocks[b], BLOCK, (b + round) % 2 ? TM_HOT : TM_COLD);
		atomic_fetch_add(&flips, 1);
		usleep((useconds_t)flip_ms * 1000);
		for (size_t b = 0; b < nblocks; b++) {
			int n = node_of(blocks[b]);
			if (n >= 0 && n != node[b])
				atomic_fetch_add(&moves_seen, 1);
			node[b] = n;
		}
	}
	free(node);
	return NULL;
}

static void options(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : "0";
		if (!strcmp(argv[i], "--threads"))
			threads = atoi(v), i++;
		else if (!strcmp(argv[i], "--mib"))
			mib = strtoul(v, NULL, 10), i++;
		else if (!strcmp(argv[i], "--seconds"))
			seconds = atoi(v), i++;
		else if (!strcmp(argv[i], "--flip-ms"))
			flip_ms = atoi(v), i++;
		else if (!strcmp(argv[i], "--expect-moves"))
			expect_moves = 1;
	}
	if (threads < 1 || threads > MAX_THREADS)
		threads = 8;
}

int main(int argc, char **argv)
{
	options(argc, argv);
	advise = (int (*)(void *, size_t, int))dlsym(RTLD_DEFAULT, "tm_advise");
	node_of = (int (*)(const void *))dlsym(RTLD_DEFAULT, "tm_node_of");
	nblocks = (mib << 20) / BLOCK;
	blocks = calloc(nblocks, sizeof(*blocks));
	generation = calloc(nblocks, sizeof(*generation));
	for (size_t b = 0; b < nblocks; b++) {
		blocks[b] = malloc(BLOCK);
		fill(b);
	}
	pthread_t tid[MAX_THREADS], flip;
	for (int t = 0; t < threads; t++)
		pthread_create(&tid[t], NULL, worker, (void *)(size_t)t);
	int flipping = flip_ms > 0 && advise && node_of;
	if (flipping)
		pthread_create(&flip, NULL, flipper, NULL);
	sleep((unsigned)seconds);
	atomic_store(&stop, 1);
	for (int t = 0; t < threads; t++)
		pthread_join(tid[t], NULL);
	if (flipping)
		pthread_join(flip, NULL);
	for (size_t b = 0; b < nblocks; b++)
		verify(b);
	printf("blocks %zu x %d KiB, %d threads, %d s: %llu verified, %llu "
	       "mismatches, %llu flips, %llu block moves seen\n", nblocks,
	       BLOCK >> 10, threads, seconds, (unsigned long long)verified,
	       (unsigned long long)mismatches, (unsigned long long)flips,
	       (unsigned long long)moves_seen);
	if (mismatches)
		return 1;
	if (expect_moves && !moves_seen) {
		printf("no block was seen to move\n");
		return 1;
	}
	return 0;
}
