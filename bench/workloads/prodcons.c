/* Producer/consumer: producers allocate messages of mixed sizes and put them
 * on a bounded queue; consumers take them off, read them and free them.
 * Every block is freed by a different thread from the one that allocated
 * it, which is the worst case for per-thread caches.
 *
 *   prodcons [producers] [consumers] [thousands-of-messages-per-producer] */
#include <pthread.h>
#include "common.h"

#define QUEUE_LEN 1024

struct queue {
	pthread_mutex_t lock;
	pthread_cond_t not_empty, not_full;
	unsigned char *item[QUEUE_LEN];
	size_t len[QUEUE_LEN];
	size_t head, count;
	int producers_left;
};

static struct queue q = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.not_empty = PTHREAD_COND_INITIALIZER,
	.not_full = PTHREAD_COND_INITIALIZER,
};

struct producer {
	uint64_t id, count;
};

struct consumer {
	uint64_t sum, taken;
};

static void put(unsigned char *p, size_t n)
{
	pthread_mutex_lock(&q.lock);
	while (q.count == QUEUE_LEN)
		pthread_cond_wait(&q.not_full, &q.lock);
	q.item[(q.head + q.count) % QUEUE_LEN] = p;
	q.len[(q.head + q.count) % QUEUE_LEN] = n;
	q.count++;
	pthread_cond_signal(&q.not_empty);
	pthread_mutex_unlock(&q.lock);
}

/* Returns 0 once the queue is empty and every producer is done. */
static int take(unsigned char **p, size_t *n)
{
	pthread_mutex_lock(&q.lock);
	while (q.count == 0 && q.producers_left > 0)
		pthread_cond_wait(&q.not_empty, &q.lock);
	if (q.count == 0) {
		pthread_mutex_unlock(&q.lock);
		return 0;
	}
	*p = q.item[q.head];
	*n = q.len[q.head];
	q.head = (q.head + 1) % QUEUE_LEN;
	q.count--;
	pthread_cond_signal(&q.not_full);
	pthread_mutex_unlock(&q.lock);
	return 1;
}

/* Message sizes: many small, some medium, a few up to 64 KiB. */
static size_t msg_size(uint64_t *rng)
{
	uint64_t r = rng_below(rng, 100);

	if (r < 70)
		return 32 + rng_below(rng, 225);
	if (r < 97)
		return 256 + rng_below(rng, 3841);
	return 4096 + rng_below(rng, 61441);
}

static void *producer_main(void *arg)
{
	struct producer *pr = arg;
	uint64_t rng = rng_seed(pr->id);

	for (uint64_t i = 0; i < pr->count; i++) {
		size_t n = msg_size(&rng);
		unsigned char *p = xmalloc(n);

		fill_block(p, n, (pr->id << 40) | i);
		put(p, n);
	}
	pthread_mutex_lock(&q.lock);
	q.producers_left--;
	pthread_cond_broadcast(&q.not_empty);
	pthread_mutex_unlock(&q.lock);
	return NULL;
}

static void *consumer_main(void *arg)
{
	struct consumer *c = arg;
	unsigned char *p;
	size_t n;

	while (take(&p, &n)) {
		c->sum += hash_block(p, n);
		c->taken++;
		free(p);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int np = (int)arg_long(argc, argv, 1, 2);
	int nc = (int)arg_long(argc, argv, 2, 2);
	uint64_t per = (uint64_t)arg_long(argc, argv, 3, 500) * 1000;
	struct producer pr[64];
	struct consumer co[64] = { { 0 } };
	pthread_t tp[64], tc[64];
	uint64_t sum = 0, taken = 0;
	double t0 = now_s();

	if (np > 64 || nc > 64)
		return 2;
	q.producers_left = np;
	for (int i = 0; i < nc; i++)
		pthread_create(&tc[i], NULL, consumer_main, &co[i]);
	for (int i = 0; i < np; i++) {
		pr[i] = (struct producer){ .id = (uint64_t)i + 1, .count = per };
		pthread_create(&tp[i], NULL, producer_main, &pr[i]);
	}
	for (int i = 0; i < np; i++)
		pthread_join(tp[i], NULL);
	for (int i = 0; i < nc; i++) {
		pthread_join(tc[i], NULL);
		sum += co[i].sum;
		taken += co[i].taken;
	}
	if (taken != per * (uint64_t)np) {
		fprintf(stderr, "lost messages: %llu of %llu\n",
			(unsigned long long)taken,
			(unsigned long long)(per * (uint64_t)np));
		return 1;
	}
	report("prodcons", sum, (double)taken * 2, t0);
	return 0;
}
