/* ns per malloc+free pair with THREADS threads all alive at once.
 *
 *   tm-pairs THREADS[/WORKERS] TOTAL_PAIRS [SIZE]
 *
 * Every thread allocates once, then waits until all THREADS are alive; then
 * WORKERS of them (default all) run their share of TOTAL_PAIRS pairs of
 * SIZE bytes (default 64), and all wait again until the workers are done:
 * the pairs run while all threads are live (the case of a server with
 * thousands of threads). The figure is the workers' CPU time per pair, so
 * that 10,000 threads on 2 cores measure the allocator and not the
 * scheduler. With fewer workers than threads, the others hold what a live
 * thread holds (its caches) without taking turns on the CPUs, whose caches
 * each switch leaves cold; the workers are the threads created last, when
 * all the others hold theirs. Prints "ns/pair: N" on stdout. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static pthread_barrier_t all_live, all_done;
static long pairs_each, threads, workers;
static size_t size;
static _Atomic uint64_t cpu_ns;

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void *run(void *arg)
{
	free(malloc(size));
	pthread_barrier_wait(&all_live);
	if ((long)(intptr_t)arg < threads - workers) { /* the last ones work */
		pthread_barrier_wait(&all_done);
		return arg;
	}
	uint64_t start = thread_cpu_ns();
	for (long i = 0; i < pairs_each; i++) {
		void *volatile p = malloc(size);
		*(char *)p = (char)i; /* the block is used: no elision */
		free(p);
	}
	atomic_fetch_add(&cpu_ns, thread_cpu_ns() - start);
	pthread_barrier_wait(&all_done);
	return arg;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s THREADS[/WORKERS] TOTAL_PAIRS [SIZE]\n", argv[0]);
		return 2;
	}
	char *slash;
	threads = strtol(argv[1], &slash, 10);
	long total = atol(argv[2]);
	workers = *slash == '/' ? atol(slash + 1) : threads;
	size = argc > 3 ? (size_t)atol(argv[3]) : 64;
	if (threads < 1 || workers < 1 || workers > threads || total < workers)
		return 2;
	pairs_each = total / workers;
	pthread_barrier_init(&all_live, NULL, (unsigned)threads);
	pthread_barrier_init(&all_done, NULL, (unsigned)threads);
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 << 10);
	pthread_t *tid = calloc((size_t)threads, sizeof(*tid));
	for (long i = 0; i < threads; i++)
		if (pthread_create(&tid[i], &attr, run, (void *)(intptr_t)i) != 0) {
			fprintf(stderr, "pthread_create failed at thread %ld\n", i);
			return 1;
		}
	for (long i = 0; i < threads; i++)
		pthread_join(tid[i], NULL);
	free(tid);
	printf("ns/pair: %.1f\n", (double)cpu_ns / (double)(pairs_each * workers));
	return 0;
}
