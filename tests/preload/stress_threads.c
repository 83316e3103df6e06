/* Many threads of random malloc/calloc/realloc/aligned/free with content
 * checks, and blocks handed to other threads to be verified and freed there.
 *
 *   stress_threads [threads] [ops per thread]
 *
 * Each live block carries the pattern of its id (preload.h), checked before
 * every realloc and free, after every realloc (the kept prefix) and by the
 * thread that receives it; calloc'd blocks are checked zero first. */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "preload.h"

#define SLOTS 512
#define MAILBOX 256

typedef struct {
	unsigned char *p;
	size_t size, align;
	uint64_t id;
} block;

typedef struct {
	pthread_mutex_t mu;
	block items[MAILBOX];
	int n;
} mailbox;

static int nthreads;
static long ops_per_thread;
static mailbox *boxes;
static _Atomic long errors, total_ops, handed, received, allocs, reallocs;

static void error(const char *what, const block *b)
{
	if (atomic_fetch_add(&errors, 1) < 10)
		fprintf(stderr, "stress_threads: %s: block %llu at %p, %zu bytes\n",
			what, (unsigned long long)b->id, (void *)b->p, b->size);
}

static size_t pick_size(uint64_t r)
{
	unsigned bucket = (unsigned)(r % 1000);
	r >>= 10;
	if (bucket < 700)
		return r % 257; /* 0..256 */
	if (bucket < 930)
		return 257 + r % (16384 - 257);
	if (bucket < 995)
		return 16384 + r % (256 << 10);
	return (256 << 10) + r % (4 << 20);
}

static int make(block *b, uint64_t r, uint64_t id)
{
	size_t size = pick_size(r);
	unsigned how = (unsigned)((r >> 40) % 20);
	b->align = 0;
	b->id = id;
	b->size = size;
	void *p = NULL;
	int zeroed = 0;
	if (how < 11) {
		p = malloc(size);
	} else if (how < 15) {
		p = calloc(1 + size % 7, size / (1 + size % 7) + 1);
		b->size = (1 + size % 7) * (size / (1 + size % 7) + 1);
		zeroed = 1;
	} else if (how < 17) {
		b->align = (size_t)16 << ((r >> 50) % 9); /* 16 .. 4096 */
		if (posix_memalign(&p, b->align, size))
			p = NULL;
	} else if (how < 18) {
		b->align = (size_t)64 << ((r >> 50) % 6);
		p = aligned_alloc(b->align, (size + b->align - 1) & ~(b->align - 1));
	} else {
		p = realloc(NULL, size);
	}
	if (!p) {
		error("allocation failed", b);
		return -1;
	}
	b->p = p;
	if (b->align && ((uintptr_t)p & (b->align - 1)))
		error("misaligned", b);
	if (malloc_usable_size(p) < b->size)
		error("usable size below the request", b);
	if (zeroed && !tm_all_zero(p, b->size))
		error("calloc memory not zero", b);
	tm_fill(p, b->size, id);
	atomic_fetch_add_explicit(&allocs, 1, memory_order_relaxed);
	return 0;
}

static void drop(block *b, const char *who)
{
	if (!tm_verify(b->p, b->size, b->id))
		error(who, b);
	free(b->p);
	b->p = NULL;
}

static void grow_or_shrink(block *b, uint64_t r)
{
	if (!tm_verify(b->p, b->size, b->id))
		error("corrupted before realloc", b);
	size_t n = r & 1 ? pick_size(r >> 1) : b->size / 2 + (r >> 1) % 64 + 1;
	unsigned char *q = realloc(b->p, n);
	if (n == 0) { /* realloc(p, 0) frees */
		if (q)
			error("realloc(p, 0) did not return NULL", b);
		free(q);
		b->p = NULL;
		return;
	}
	if (!q) {
		error("realloc failed", b);
		return;
	}
	size_t keep = n < b->size ? n : b->size;
	b->p = q;
	if (!tm_verify(q, keep, b->id))
		error("realloc lost contents", b);
	b->size = n;
	b->align = 0;
	tm_fill(q, n, b->id);
	atomic_fetch_add_explicit(&reallocs, 1, memory_order_relaxed);
}

static void drain(int self)
{
	mailbox *m = &boxes[self];
	block got[MAILBOX];
	pthread_mutex_lock(&m->mu);
	int n = m->n;
	memcpy(got, m->items, sizeof(block) * (size_t)n);
	m->n = 0;
	pthread_mutex_unlock(&m->mu);
	for (int i = 0; i < n; i++)
		drop(&got[i], "corrupted on arrival in another thread");
	atomic_fetch_add_explicit(&received, n, memory_order_relaxed);
}

static int hand_over(int to, block *b)
{
	mailbox *m = &boxes[to];
	int ok = 0;
	pthread_mutex_lock(&m->mu);
	if (m->n < MAILBOX) {
		m->items[m->n++] = *b;
		ok = 1;
	}
	pthread_mutex_unlock(&m->mu);
	if (ok) {
		b->p = NULL;
		atomic_fetch_add_explicit(&handed, 1, memory_order_relaxed);
	}
	return ok;
}

static void *worker(void *arg)
{
	int self = (int)(intptr_t)arg;
	uint64_t seed = 0x1234567ULL + (uint64_t)self * 0x9e3779b97f4a7c15ULL;
	uint64_t next_id = (uint64_t)self << 40;
	block *slots = calloc(SLOTS, sizeof(block));
	for (long op = 0; op < ops_per_thread; op++) {
		uint64_t r = tm_rand(&seed);
		block *b = &slots[r % SLOTS];
		unsigned what = (unsigned)((r >> 16) % 100);
		if (!b->p) {
			make(b, tm_rand(&seed), next_id++);
		} else if (what < 35) {
			drop(b, "corrupted before free");
		} else if (what < 60) {
			grow_or_shrink(b, tm_rand(&seed));
		} else if (what < 80) {
			int to = (int)((r >> 32) % (uint64_t)nthreads);
			if (to == self)
				to = (to + 1) % nthreads;
			if (!hand_over(to, b))
				drop(b, "corrupted before free");
		} else if (!tm_verify(b->p, b->size, b->id)) {
			error("corrupted while live", b);
		}
		if ((op & 63) == 0)
			drain(self);
	}
	for (int i = 0; i < SLOTS; i++)
		if (slots[i].p)
			drop(&slots[i], "corrupted at the end");
	free(slots);
	drain(self);
	atomic_fetch_add(&total_ops, ops_per_thread);
	return NULL;
}

int main(int argc, char **argv)
{
	tm_expect_environment();
	nthreads = argc > 1 ? atoi(argv[1]) : 8;
	ops_per_thread = argc > 2 ? atol(argv[2]) : 200000;
	if (nthreads < 2)
		nthreads = 2;
	boxes = calloc((size_t)nthreads, sizeof(mailbox));
	for (int i = 0; i < nthreads; i++)
		pthread_mutex_init(&boxes[i].mu, NULL);
	pthread_t *t = malloc(sizeof(pthread_t) * (size_t)nthreads);
	for (int i = 0; i < nthreads; i++)
		CHECK_EQ(pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i), 0,
			 "pthread_create");
	for (int i = 0; i < nthreads; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < nthreads; i++) /* sent after their owner finished */
		drain(i);
	printf("stress_threads: %d threads, %ld ops, %ld allocations, %ld "
	       "reallocs, %ld blocks freed by another thread\n", nthreads,
	       (long)total_ops, (long)allocs, (long)reallocs, (long)received);
	CHECK_EQ(errors, 0, "no corruption, failure or misalignment");
	CHECK_EQ(total_ops, (long)nthreads * ops_per_thread, "every op ran");
	CHECK_EQ(received, handed, "every handed block was freed by its receiver");
	CHECK(received > 0, "cross-thread frees happened");
	free(t);
	free(boxes);
	return check_summary();
}
