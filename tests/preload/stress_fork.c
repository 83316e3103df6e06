/* fork and the allocator (DESIGN.md: "the child keeps a working allocator").
 *
 *   1. 100 forks of a quiet process: each child verifies and frees blocks it
 *      inherited, allocates, verifies, runs a thread that allocates, exits 0.
 *   2. 50 forks while 4 threads allocate and free without pause (jemalloc's
 *      locks must be taken over fork and reset in the child), forking from
 *      the main thread and from another thread, plus posix_spawn.
 *   3. pthread_atfork handlers (prepare, parent, child) that allocate,
 *      while threads allocate.
 * A child reports through its exit status: 0, or the number of errors. A
 * hang (a lock held across fork) is caught by the driver's timeout.
 *
 *   stress_fork [forks] [quiet]
 *
 * quiet: part 1 only. For the ASan reference run: GCC 12's ASan allocator
 * does not take its locks over fork, and a child forked while other threads
 * allocate can deadlock in it. */
#define _GNU_SOURCE
#include <pthread.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "preload.h"

extern char **environ;

/* Work a child does with the allocator; returns its error count. */
static void *child_thread(void *arg)
{
	long bad = 0;
	for (int i = 0; i < 2000; i++) {
		size_t n = (size_t)(i * 37 % 5000) + 1;
		char *p = malloc(n);
		if (!p) {
			bad++;
			continue;
		}
		tm_fill(p, n, (uint64_t)i);
		p = realloc(p, n * 2);
		bad += p && tm_verify(p, n, (uint64_t)i) ? 0 : 1;
		free(p);
	}
	return (void *)bad;
}

static int child_work(void **inherited, const size_t *sizes, int ninherited,
		      int with_thread)
{
	int bad = 0;
	for (int i = 0; i < ninherited; i++) {
		if (!tm_verify(inherited[i], sizes[i], 1000 + (uint64_t)i))
			bad++;
		free(inherited[i]);
	}
	void *mine[64];
	for (int i = 0; i < 64; i++) {
		size_t n = (size_t)1 << (i % 22);
		mine[i] = malloc(n);
		if (!mine[i]) {
			bad++;
			continue;
		}
		tm_fill(mine[i], n, 77 + (uint64_t)i);
	}
	for (int i = 0; i < 64; i++) {
		if (mine[i] && !tm_verify(mine[i], (size_t)1 << (i % 22),
					  77 + (uint64_t)i))
			bad++;
		free(mine[i]);
	}
	char *z = calloc(1000, 10);
	bad += z && tm_all_zero(z, 10000) ? 0 : 1;
	free(z);
	if (with_thread) {
		pthread_t t;
		void *r = (void *)1;
		if (pthread_create(&t, NULL, child_thread, NULL) == 0)
			pthread_join(t, &r);
		bad += (int)(intptr_t)r;
	}
	return bad > 100 ? 100 : bad;
}

/* fork, run child_work, collect: 1 when the child exited 0. */
static int fork_one(void **inherited, const size_t *sizes, int n,
		    int with_thread)
{
	pid_t pid = fork();
	if (pid < 0)
		return 0;
	if (pid == 0)
		exit(child_work(inherited, sizes, n, with_thread));
	int st;
	if (waitpid(pid, &st, 0) != pid)
		return 0;
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		fprintf(stderr, "stress_fork: child %s %d\n",
			WIFEXITED(st) ? "exited" : "killed by signal",
			WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
		return 0;
	}
	return 1;
}

#define NINH 16
static void *inh[NINH];
static size_t inh_size[NINH];

static void make_inherited(void)
{
	for (int i = 0; i < NINH; i++) {
		inh_size[i] = (size_t)1 << (i + 2);
		inh[i] = malloc(inh_size[i]);
		tm_fill(inh[i], inh_size[i], 1000 + (uint64_t)i);
	}
}

static void free_inherited(void)
{
	for (int i = 0; i < NINH; i++) {
		CHECK(tm_verify(inh[i], inh_size[i], 1000 + (uint64_t)i),
		      "parent's block %d intact after the forks", i);
		free(inh[i]);
	}
}

/* ---- background allocators --------------------------------------------- */

static atomic_int stop;
static atomic_long bg_errors, bg_ops;

static void *churn(void *arg)
{
	uint64_t seed = 99 + (uintptr_t)arg;
	void *slot[128] = {0};
	size_t size[128] = {0};
	uint64_t id[128] = {0};
	uint64_t next = (uintptr_t)arg << 32;
	while (!atomic_load(&stop)) {
		uint64_t r = tm_rand(&seed);
		int s = (int)(r % 128);
		if (slot[s]) {
			if (!tm_verify(slot[s], size[s], id[s]))
				atomic_fetch_add(&bg_errors, 1);
			free(slot[s]);
			slot[s] = NULL;
		} else {
			size[s] = (r >> 8) % 3 ? (r >> 16) % 2000 : (r >> 16) % 300000;
			id[s] = next++;
			slot[s] = malloc(size[s]);
			if (!slot[s])
				atomic_fetch_add(&bg_errors, 1);
			else
				tm_fill(slot[s], size[s], id[s]);
		}
		atomic_fetch_add_explicit(&bg_ops, 1, memory_order_relaxed);
	}
	for (int s = 0; s < 128; s++) {
		if (slot[s] && !tm_verify(slot[s], size[s], id[s]))
			atomic_fetch_add(&bg_errors, 1);
		free(slot[s]);
	}
	return NULL;
}

static void start_churn(pthread_t *t, int n)
{
	atomic_store(&stop, 0);
	for (int i = 0; i < n; i++)
		pthread_create(&t[i], NULL, churn, (void *)(intptr_t)(i + 1));
	/* let them get going */
	while (atomic_load(&bg_ops) < 20000)
		sched_yield();
}

static void stop_churn(pthread_t *t, int n)
{
	atomic_store(&stop, 1);
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
}

static atomic_int forked_ok_from_thread;
static void *forker(void *arg)
{
	int ok = 0;
	for (int i = 0; i < 10; i++)
		ok += fork_one(inh, inh_size, NINH, i & 1);
	atomic_store(&forked_ok_from_thread, ok);
	return NULL;
}

/* ---- atfork handlers that allocate -------------------------------------- */

static char *prepared, *in_parent;
static atomic_int child_handler_ok;

static void h_prepare(void)
{
	prepared = malloc(1000);
	if (prepared)
		tm_fill(prepared, 1000, 5);
}

static void h_parent(void)
{
	in_parent = malloc(3000);
	if (in_parent)
		tm_fill(in_parent, 3000, 6);
}

/* In the child: only this thread exists; malloc must work already. */
static void h_child(void)
{
	int ok = prepared && tm_verify(prepared, 1000, 5);
	char *p = malloc(200000);
	char *q = calloc(10, 10);
	ok = ok && p && q && tm_all_zero(q, 100);
	if (p)
		tm_fill(p, 200000, 8);
	ok = ok && p && tm_verify(p, 200000, 8);
	free(p);
	free(q);
	free(prepared);
	prepared = NULL;
	atomic_store(&child_handler_ok, ok);
}

static int fork_checking_handler(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		int ok = atomic_load(&child_handler_ok);
		char *p = malloc(5000); /* and after the handlers */
		ok = ok && p;
		free(p);
		_exit(ok ? 0 : 1);
	}
	if (pid < 0)
		return 0;
	int ok = in_parent && tm_verify(in_parent, 3000, 6) && prepared &&
		 tm_verify(prepared, 1000, 5);
	free(in_parent);
	free(prepared);
	in_parent = prepared = NULL;
	int st;
	waitpid(pid, &st, 0);
	return ok && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

int main(int argc, char **argv)
{
	tm_expect_environment();
	int forks = argc > 1 ? atoi(argv[1]) : 100;
	fflush(NULL); /* children exit(): nothing buffered to duplicate */
	make_inherited();

	int ok = 0;
	for (int i = 0; i < forks; i++)
		ok += fork_one(inh, inh_size, NINH, i % 4 == 0);
	CHECK_EQ(ok, forks, "children of a single-threaded parent exit 0");
	if (argc > 2 && strcmp(argv[2], "quiet") == 0) {
		free_inherited();
		return check_summary();
	}

	pthread_t bg[4];
	start_churn(bg, 4);
	ok = 0;
	for (int i = 0; i < forks / 2; i++)
		ok += fork_one(inh, inh_size, NINH, i & 1);
	CHECK_EQ(ok, forks / 2, "children forked while 4 threads allocate exit 0");
	pthread_t f;
	pthread_create(&f, NULL, forker, NULL);
	pthread_join(f, NULL);
	CHECK_EQ(atomic_load(&forked_ok_from_thread), 10,
		 "children forked from a non-main thread exit 0");
	int spawned = 0;
	for (int i = 0; i < 20; i++) {
		pid_t pid;
		char *args[] = {"/bin/true", NULL};
		int st;
		if (posix_spawn(&pid, "/bin/true", NULL, NULL, args, environ) == 0 &&
		    waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
		    WEXITSTATUS(st) == 0)
			spawned++;
	}
	CHECK_EQ(spawned, 20, "posix_spawn while threads allocate");

	pthread_atfork(h_prepare, h_parent, h_child);
	ok = 0;
	for (int i = 0; i < 20; i++)
		ok += fork_checking_handler();
	CHECK_EQ(ok, 20, "atfork handlers that allocate (prepare, parent, child)"
		 " while threads allocate");
	stop_churn(bg, 4);
	CHECK_EQ(atomic_load(&bg_errors), 0, "background threads saw no "
		 "corruption");
	ok = 0;
	for (int i = 0; i < 10; i++) /* handlers still there, threads gone */
		ok += fork_checking_handler();
	CHECK_EQ(ok, 10, "atfork handlers that allocate, single-threaded");
	free_inherited();
	return check_summary();
}
