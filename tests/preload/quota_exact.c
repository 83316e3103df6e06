/* The DRAM quota's count stays exact (issue 12): stats' dram_quota.used is
 * within a page of the bytes live on tier 0, whatever threads allocate,
 * free each other's memory, exit or fork. Run tiered, with
 * TIERMALLOC_STATS_DIR set; the count is read from the stats socket as a
 * user reads it.
 *
 *   handoff:  1,000 times main mallocs 200 KiB and a new thread frees it
 *   pairs:    10,000 threads, each pair's producer allocating and its
 *             consumer freeing, one block in 16 kept live
 *   fork:     16 threads hold blocks while main forks; parent and child
 *   window:   the quota full, then raised: small blocks on tier 1, then 0
 *   consumer: a thread that only frees, and lives on: its frees free the
 *             quota for the next blocks (placement sees them, not only stats)
 *
 * One scenario per run (the argument): each must fail on its own. */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "preload.h"

#define PAGE 4096
#define WAVE 100
#define PAIRS 5000
#define PER_PAIR 64
#define KEEP_EVERY 16
#define FORK_THREADS 16

int tm_tier_of(const void *p) __attribute__((weak));

/* ---- the count, as the stats socket reports it ---------------------------- */

static long long field_after(const char *json, const char *object, const char *key)
{
	const char *o = strstr(json, object);
	const char *k = o ? strstr(o, key) : NULL;
	return k ? atoll(k + strlen(key)) : -1;
}

/* One request to the stats socket; the reply, or NULL. */
static const char *ask(const char *request)
{
	static char reply[1 << 16];
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%d.sock",
		 getenv("TIERMALLOC_STATS_DIR"), (int)getpid());
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	size_t len = strlen(request);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    write(fd, request, len) != (ssize_t)len) {
		close(fd);
		return NULL;
	}
	size_t got = 0;
	ssize_t n;
	while (got < sizeof(reply) - 1 &&
	       (n = read(fd, reply + got, sizeof(reply) - 1 - got)) > 0) {
		got += (size_t)n;
		if (reply[got - 1] == '\n')
			break;
	}
	close(fd);
	reply[got] = 0;
	return reply;
}

static long long ask_used(void)
{
	const char *reply = ask("stats\n");
	return reply ? field_after(reply, "\"dram_quota\"", "\"used\":") : -1;
}

/* The server starts some calls into the program (a forked child's too):
 * make them, and wait for its socket. */
static long long first_answer(void)
{
	for (int i = 0; i < 500; i++) {
		for (int k = 0; k < 300; k++) { /* the server starts after a few calls */
			void *volatile p = malloc(1);
			free(p);
		}
		long long u = ask_used();
		if (u >= 0)
			return u;
		usleep(10000);
	}
	return -1;
}

/* The library's own threads hold a few KiB now and then (a reply being
 * written, a scan): the count once two answers in a row agree. */
static long long quota_used(void)
{
	long long last = first_answer(), u = last;
	for (int i = 0; i < 50 && last >= 0; i++, last = u) {
		usleep(20000);
		if ((u = ask_used()) == last)
			break;
	}
	return u;
}

static void check_used(long long base, long long live, const char *when)
{
	long long used = quota_used();
	CHECK(used >= 0, "%s: the stats socket answers", when);
	long long drift = used - base - live;
	CHECK(drift >= -PAGE && drift <= PAGE,
	      "%s: dram_quota.used %lld, want %lld + %lld live (drift %lld)", when,
	      used, base, live, drift);
}

/* Memory from before the tiers existed (-1) is tier 0's, as jemalloc's
 * automatic arenas reuse it. */
static long long tier0_bytes(void *p)
{
	return tm_tier_of(p) <= 0 ? (long long)malloc_usable_size(p) : 0;
}

static void run_wave(void *(*fn)(void *), void **args, int n)
{
	pthread_t t[WAVE];
	for (int i = 0; i < n; i++)
		pthread_create(&t[i], NULL, fn, args[i]);
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
}

/* ---- handoff ------------------------------------------------------------------ */

static void *free_it(void *p)
{
	free(p);
	return NULL;
}

static void handoff(void)
{
	long long base = quota_used();
	for (int i = 0; i < 1000; i++) {
		void *p = malloc(200 << 10);
		memset(p, 1, 64);
		run_wave(free_it, &p, 1);
	}
	check_used(base, 0, "handoff: 1,000 x 200 KiB freed by exiting threads");
}

/* ---- pairs -------------------------------------------------------------------- */

typedef struct {
	void *block[PER_PAIR];
	void *kept[PER_PAIR / KEEP_EVERY];
} pair;

static void *produce(void *arg)
{
	pair *pr = arg;
	for (int i = 0; i < PER_PAIR; i++) {
		pr->block[i] = malloc(16 + (size_t)i * 2654435761u % 8192 * (i % 3 + 1));
		memset(pr->block[i], 2, 16);
	}
	return NULL;
}

static void *consume(void *arg)
{
	pair *pr = arg;
	for (int i = 0; i < PER_PAIR; i++)
		if (i % KEEP_EVERY)
			free(pr->block[i]);
		else
			pr->kept[i / KEEP_EVERY] = pr->block[i];
	return NULL;
}

/* A wave of producers, then a wave of consumers of their blocks. */
static void pair_wave(pair *prs)
{
	void *args[WAVE];
	for (int i = 0; i < WAVE; i++)
		args[i] = &prs[i];
	run_wave(produce, args, WAVE);
	run_wave(consume, args, WAVE);
}

static void pairs(void)
{
	static pair prs[PAIRS];
	pair_wave(prs); /* glibc's thread stack cache settles first */
	long long base = quota_used(), live = 0;
	for (int w = WAVE; w < PAIRS; w += WAVE)
		pair_wave(&prs[w]);
	for (int w = WAVE; w < PAIRS; w++)
		for (int k = 0; k < PER_PAIR / KEEP_EVERY; k++)
			live += tier0_bytes(prs[w].kept[k]);
	check_used(base, live, "pairs: 9,800 threads, frees on another thread");
	for (int w = 0; w < PAIRS; w++)
		for (int k = 0; k < PER_PAIR / KEEP_EVERY; k++)
			free(prs[w].kept[k]);
}

/* ---- window ------------------------------------------------------------------ */

/* An allocation past any window: the next call is placed anew. */
static void end_window(void)
{
	void *volatile p = malloc(300 << 10); /* volatile: no pair elision */
	free(p);
}

/* Blocks of tier t out of n small ones allocated now. */
static int on_tier(int t, void **blocks, int n)
{
	int k = 0;
	for (int i = 0; i < n; i++) {
		blocks[i] = malloc(48);
		k += tm_tier_of(blocks[i]) == t;
	}
	return k;
}

static void free_all(void **blocks, int n)
{
	for (int i = 0; i < n; i++)
		free(blocks[i]);
}

/* Past the quota a thread's windows go to tier 1 through jemalloc's own
 * tcache; when the quota has room again, the next window is tier 0's and
 * that tcache must not hand out the tier-1 blocks it still holds. Run with
 * TIERMALLOC_DRAM_LIMIT=1. */
static void window(void)
{
	static void *blocks[1000];
	end_window();
	CHECK_EQ(on_tier(1, blocks, 1000), 1000, "quota full: small blocks on tier 1");
	free_all(blocks, 1000); /* the tcache holds them */
	const char *reply = ask("set DRAM_LIMIT 1G\n");
	CHECK(reply && !strstr(reply, "error"), "the quota raised (%s)", reply ? reply : "no reply");
	end_window();
	CHECK_EQ(on_tier(0, blocks, 1000), 1000, "room again: small blocks on tier 0");
	free_all(blocks, 1000);
}

/* ---- consumer --------------------------------------------------------------- */

#define CONSUMED 48 /* blocks of 64 KiB: 3 MiB of a 4 MiB quota */

static void *consumed[CONSUMED];
static pthread_barrier_t freed, done;

static void *consume_all(void *arg)
{
	for (int i = 0; i < CONSUMED; i++)
		free(consumed[i]);
	pthread_barrier_wait(&freed);
	pthread_barrier_wait(&done); /* alive while main allocates again */
	return arg;
}

/* 3 MiB on tier 0, freed by a thread that stays: then 3 MiB more must find
 * the room (48 frees are far fewer than a countdown of frees would wait
 * for). Run with TIERMALLOC_DRAM_LIMIT=4M and dram-first. */
static void consumer(void)
{
	pthread_t t;
	for (int i = 0; i < CONSUMED; i++)
		consumed[i] = malloc(64 << 10);
	end_window();
	pthread_barrier_init(&freed, NULL, 2);
	pthread_barrier_init(&done, NULL, 2);
	pthread_create(&t, NULL, consume_all, NULL);
	pthread_barrier_wait(&freed);
	end_window();
	int low = 0;
	for (int i = 0; i < CONSUMED; i++) {
		consumed[i] = malloc(64 << 10);
		low += tm_tier_of(consumed[i]) != 0;
	}
	CHECK_EQ(low, 0, "blocks off tier 0 after a live thread freed 3 MiB of the quota");
	pthread_barrier_wait(&done);
	pthread_join(t, NULL);
	for (int i = 0; i < CONSUMED; i++)
		free(consumed[i]);
}

/* ---- fork ----------------------------------------------------------------------- */

static pthread_barrier_t held, release;
static void *fork_blocks[FORK_THREADS][32];
static long long fork_live[FORK_THREADS];

/* Under 256 KiB each, allocated and partly freed, not exiting: counts a
 * thread has not handed in yet when main forks. */
static void *hold(void *arg)
{
	int me = (int)(intptr_t)arg;
	pthread_barrier_wait(&held); /* all started: main counts... */
	pthread_barrier_wait(&held); /* ...without our blocks */
	for (int i = 0; i < 32; i++) {
		fork_blocks[me][i] = malloc(64 + (size_t)i * 200);
		fork_live[me] += tier0_bytes(fork_blocks[me][i]);
	}
	int other = (me + 1) % FORK_THREADS;
	pthread_barrier_wait(&held);
	pthread_barrier_wait(&held); /* everyone allocated: free a neighbour's half */
	for (int i = 0; i < 16; i++) {
		fork_live[other] -= tier0_bytes(fork_blocks[other][i]);
		free(fork_blocks[other][i]);
	}
	pthread_barrier_wait(&held);
	pthread_barrier_wait(&release);
	for (int i = 16; i < 32; i++)
		free(fork_blocks[me][i]);
	return NULL;
}

static long long fork_total(void)
{
	long long n = 0;
	for (int t = 0; t < FORK_THREADS; t++)
		n += fork_live[t];
	return n;
}

static void fork_child(long long base, long long live)
{
	check_used(base, live, "fork: in the child");
	_exit(check_failed ? 1 : 0);
}

static void *nothing(void *arg)
{
	return arg;
}

static void fork_many(void)
{
	pthread_t t[FORK_THREADS];
	void *args[FORK_THREADS] = {0};
	run_wave(nothing, args, FORK_THREADS); /* glibc's stack cache settles */
	long long before = quota_used();
	pthread_barrier_init(&held, NULL, FORK_THREADS + 1);
	pthread_barrier_init(&release, NULL, FORK_THREADS + 1);
	for (int i = 0; i < FORK_THREADS; i++)
		pthread_create(&t[i], NULL, hold, (void *)(intptr_t)i);
	pthread_barrier_wait(&held);
	long long base = quota_used(); /* with the threads' own (glibc's DTVs) */
	for (int i = 0; i < 4; i++)
		pthread_barrier_wait(&held);
	long long live = fork_total();
	check_used(base, live, "fork: in the parent, before");
	pid_t pid = fork();
	if (pid == 0)
		fork_child(base, live);
	int status = -1;
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "fork: the child's count is exact (status %d)", status);
	pthread_barrier_wait(&release);
	for (int i = 0; i < FORK_THREADS; i++)
		pthread_join(t[i], NULL);
	check_used(before, 0, "fork: in the parent, after");
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		void (*run)(void);
	} parts[] = {{"handoff", handoff}, {"pairs", pairs}, {"fork", fork_many},
		     {"window", window}, {"consumer", consumer}};
	CHECK(tm_tier_of && getenv("TIERMALLOC_STATS_DIR") && argc == 2,
	      "usage: quota_exact handoff|pairs|fork|window|consumer, under the library, with "
	      "TIERMALLOC_STATS_DIR");
	quota_used(); /* the services start, and settle */
	usleep(200000);
	for (size_t i = 0; !check_failed && i < sizeof(parts) / sizeof(parts[0]); i++)
		if (!strcmp(argv[1], parts[i].name))
			parts[i].run();
	return check_summary();
}
