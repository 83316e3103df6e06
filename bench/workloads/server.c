/* Multi-threaded server-style churn with cross-thread frees.
 *
 * Each worker handles "requests": it allocates a request object, a handful
 * of short header strings and a response buffer, works on them, frees the
 * request and headers itself, and hands the response to the next worker
 * (as a writer thread would), which frees it. Each worker also keeps a
 * small session cache of long-lived objects that it replaces now and then,
 * so the heap has a live part as well as the churn. A worker whose peer has
 * more than MAX_PENDING responses waiting stops to let it catch up (back
 * pressure), so the live heap stays bounded when the OS deschedules a
 * thread: with 4 threads on 2 cores it otherwise grows by hundreds of MiB.
 *
 * The checksum is a wrapping sum of per-object hashes, so it does not
 * depend on which thread consumed which object or in what order.
 *
 *   server [threads] [thousands-of-requests-per-thread] */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include "common.h"

#define MAX_HEADERS 12
#define SESSIONS 1024
#define MAX_PENDING 256

static atomic_int finished;
static int nworkers;

struct msg {
	struct msg *next;
	size_t n;             /* bytes of data[] */
	unsigned char data[];
};

struct worker {
	_Atomic(struct msg *) inbox;   /* lock-free stack of responses */
	atomic_long pending;           /* responses pushed, not yet freed */
	struct worker *peer;           /* where our responses go */
	uint64_t id, requests, sum;
	unsigned char *session[SESSIONS];
	size_t session_n[SESSIONS];
	char pad[64];
};

static void push(struct worker *w, struct msg *m)
{
	struct msg *head = atomic_load_explicit(&w->inbox, memory_order_relaxed);

	do
		m->next = head;
	while (!atomic_compare_exchange_weak_explicit(&w->inbox, &head, m,
			memory_order_release, memory_order_relaxed));
	atomic_fetch_add_explicit(&w->pending, 1, memory_order_relaxed);
}

static uint64_t drain_inbox(struct worker *w)
{
	struct msg *m = atomic_exchange_explicit(&w->inbox, NULL,
						 memory_order_acquire);
	uint64_t sum = 0;
	long count = 0;

	while (m) {
		struct msg *next = m->next;

		sum += hash_block(m->data, m->n);
		free(m);
		m = next;
		count++;
	}
	atomic_fetch_sub_explicit(&w->pending, count, memory_order_relaxed);
	return sum;
}

static uint64_t headers(uint64_t *rng, uint64_t tag)
{
	unsigned char *h[MAX_HEADERS];
	size_t n[MAX_HEADERS];
	int count = 4 + (int)rng_below(rng, MAX_HEADERS - 3);
	uint64_t sum = 0;

	for (int i = 0; i < count; i++) {
		n[i] = 16 + rng_below(rng, 49);
		h[i] = xmalloc(n[i]);
		fill_block(h[i], n[i], tag + (uint64_t)i);
	}
	for (int i = 0; i < count; i++) {
		sum += hash_block(h[i], n[i]);
		free(h[i]);
	}
	return sum;
}

static struct msg *response(uint64_t *rng, uint64_t tag)
{
	size_t n = 256 + rng_below(rng, 16 * 1024 - 256);
	struct msg *m = xmalloc(sizeof(*m) + n);

	m->n = n;
	fill_block(m->data, n, tag);
	return m;
}

static void touch_session(struct worker *w, uint64_t *rng, uint64_t tag)
{
	size_t i = rng_below(rng, SESSIONS);

	if (w->session[i]) {
		w->sum += hash_block(w->session[i], w->session_n[i]);
		free(w->session[i]);
	}
	w->session_n[i] = small_size(rng);
	w->session[i] = xmalloc(w->session_n[i]);
	fill_block(w->session[i], w->session_n[i], tag);
}

/* Back pressure: wait (draining our own inbox, so that no cycle of
 * waiting workers can block) until the peer has caught up. */
static void wait_for_peer(struct worker *w)
{
	while (atomic_load_explicit(&w->peer->pending, memory_order_relaxed)
	       > MAX_PENDING) {
		w->sum += drain_inbox(w);
		sched_yield();
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint64_t rng = rng_seed(w->id);

	for (uint64_t r = 0; r < w->requests; r++) {
		uint64_t tag = (w->id << 40) | r;
		size_t rn = 64 + rng_below(&rng, 449);
		unsigned char *req = xmalloc(rn);

		fill_block(req, rn, tag);
		w->sum += headers(&rng, tag);
		wait_for_peer(w);
		push(w->peer, response(&rng, tag));
		w->sum += hash_block(req, rn);
		free(req);
		if (r % 8 == 0)
			touch_session(w, &rng, tag);
		if (r % 32 == 0)
			w->sum += drain_inbox(w);
	}
	/* Keep serving our inbox until nobody can push any more, so a
	 * worker that is still running never waits on one that is gone. */
	atomic_fetch_add(&finished, 1);
	while (atomic_load(&finished) < nworkers) {
		w->sum += drain_inbox(w);
		sched_yield();
	}
	return NULL;
}

/* After the join: what is left in inboxes and session caches. */
static uint64_t finish(struct worker *w)
{
	uint64_t sum = w->sum + drain_inbox(w);

	for (size_t i = 0; i < SESSIONS; i++) {
		if (w->session[i]) {
			sum += hash_block(w->session[i], w->session_n[i]);
			free(w->session[i]);
		}
	}
	return sum;
}

int main(int argc, char **argv)
{
	int nthreads = (int)arg_long(argc, argv, 1, 4);
	uint64_t per = (uint64_t)arg_long(argc, argv, 2, 200) * 1000;
	struct worker *w = calloc((size_t)nthreads, sizeof(*w));
	pthread_t *tid = calloc((size_t)nthreads, sizeof(*tid));
	uint64_t sum = 0;
	double t0 = now_s();

	if (!w || !tid)
		return 2;
	nworkers = nthreads;
	for (int i = 0; i < nthreads; i++) {
		w[i].id = (uint64_t)i + 1;
		w[i].requests = per;
		w[i].peer = &w[(i + 1) % nthreads];
	}
	for (int i = 0; i < nthreads; i++)
		if (pthread_create(&tid[i], NULL, worker_main, &w[i]))
			return 2;
	for (int i = 0; i < nthreads; i++)
		pthread_join(tid[i], NULL);
	for (int i = 0; i < nthreads; i++)
		sum += finish(&w[i]);
	free(w);
	free(tid);
	/* ops: request + headers (avg 8) + response + 1/8 session, x2 for free */
	report("server", sum, (double)per * nthreads * 2 * 10.1, t0);
	return 0;
}
