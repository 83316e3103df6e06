/* Heat tracking end to end, through the library's public API: a program
 * writes a known hot set of its buffer, and tm_heat_of must report it with
 * precision and recall >= 0.9 within a few periods; then the hot set moves
 * and the report must follow (cooling).
 *
 * Run under LD_PRELOAD=build/libtiermalloc.so with TIERMALLOC_HEAT set to a
 * source (on one node that turns on heat tracking of the heap, with nothing
 * to move) and a short TIERMALLOC_SCAN_MS. Prints one line per check;
 * exits 0 on success, 1 on failure, 77 when the source did not start.
 * With --fork, the moved hot set is also tracked in a forked child, which
 * must start heat tracking of its own. With --contiguous, each hot set is
 * one run of chunks (what DAMON's regions resolve), not scattered chunks.
 * With --tlb-flush-ms N, the TLB is flushed every N ms, as accessed-bit
 * sampling (DAMON) needs under QEMU's software emulation.
 *
 *   heat_hotset [--fork] [--contiguous] [--tlb-flush-ms N] [buffer MiB]
 *               [periods allowed]
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../bench/gups/tlb_turnover.h"
#include "../check.h"

#define CHUNK (256 << 10)      /* the hot set is made of aligned chunks */
#define HOT_HEAT 128           /* heat that counts as "reported hot" */
#define PAGE 4096

static int (*heat_of)(const void *);

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int contiguous;

/* A quarter of the chunks, chosen at random (disjoint from avoid), or in
 * one run: the first quarter, then the third. */
static void pick_hot(char *hot, const char *avoid, size_t chunks)
{
	memset(hot, 0, chunks);
	if (contiguous) {
		memset(hot + (avoid ? chunks / 2 : 0), 1, chunks / 4);
		return;
	}
	for (size_t n = 0; n < chunks / 4;) {
		size_t c = (size_t)rand() % chunks;
		if (!hot[c] && !(avoid && avoid[c])) {
			hot[c] = 1;
			n++;
		}
	}
}

static void write_hot(char *buf, const char *hot, size_t chunks)
{
	for (size_t c = 0; c < chunks; c++)
		if (hot[c])
			for (size_t off = 0; off < CHUNK; off += PAGE)
				buf[c * CHUNK + off]++;
}

/* Precision and recall of "heat >= HOT_HEAT" against the true hot pages. */
static void score(const char *buf, const char *hot, size_t chunks,
		  double *precision, double *recall)
{
	size_t tp = 0, reported = 0, truth = 0;
	for (size_t p = 0; p < chunks * (CHUNK / PAGE); p++) {
		int is_hot = hot[p / (CHUNK / PAGE)];
		int said_hot = heat_of(buf + p * PAGE) >= HOT_HEAT;
		tp += is_hot && said_hot;
		reported += said_hot;
		truth += is_hot;
	}
	*precision = reported ? (double)tp / (double)reported : 0;
	*recall = truth ? (double)tp / (double)truth : 0;
}

/* Keep writing the hot set; check once per period. Returns the periods it
 * took to reach precision and recall >= 0.9, or -1. */
static int converge(char *buf, const char *hot, size_t chunks, int allowed,
		    double period_s, const char *phase)
{
	for (int k = 1; k <= allowed; k++) {
		double until = now_s() + period_s;
		while (now_s() < until)
			write_hot(buf, hot, chunks);
		double p, r;
		score(buf, hot, chunks, &p, &r);
		printf("%s: period %d: precision %.3f recall %.3f\n", phase, k, p, r);
		if (p >= 0.9 && r >= 0.9)
			return k;
	}
	return -1;
}

/* The migrator starts once the program has allocated a little. */
static int wait_for_tracking(const char *buf)
{
	for (double until = now_s() + 5; now_s() < until;) {
		void *volatile p = malloc(64); /* volatile: no pair elision */
		free(p);
		if (heat_of(buf) >= 0)
			return 0;
		usleep(1000);
	}
	return -1;
}

/* The moved hot set in a child: its migrator is its own. */
static int in_child(char *buf, const char *hot, size_t chunks, int allowed,
		    double period_s)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		int k = wait_for_tracking(buf) == 0
			? converge(buf, hot, chunks, allowed, period_s, "child") : -1;
		fflush(stdout);
		_exit(k > 0 ? 0 : 1);
	}
	int status = 1;
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

int main(int argc, char **argv)
{
	int forking = 0, tlb_flush_ms = 0;
	for (; argc > 1 && argv[1][0] == '-'; argc--, argv++) {
		forking |= !strcmp(argv[1], "--fork");
		contiguous |= !strcmp(argv[1], "--contiguous");
		if (!strcmp(argv[1], "--tlb-flush-ms") && argc > 2) {
			tlb_flush_ms = atoi(argv[2]);
			argc--, argv++;
		}
	}
	tlb_turnover_start(tlb_flush_ms);
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 32;
	int allowed = argc > 2 ? atoi(argv[2]) : 10;
	const char *scan = getenv("TIERMALLOC_SCAN_MS");
	double period_s = (scan ? atof(scan) : 1000) / 1000;
	heat_of = (int (*)(const void *))dlsym(RTLD_DEFAULT, "tm_heat_of");
	if (!heat_of) {
		printf("skip: libtiermalloc is not loaded\n");
		return 77;
	}
	size_t chunks = (mib << 20) / CHUNK;
	char *buf = aligned_alloc(1 << 20, mib << 20);
	char *hot = calloc(chunks, 1), *old = calloc(chunks, 1);
	memset(buf, 1, mib << 20);
	if (wait_for_tracking(buf) < 0) {
		printf("skip: no heat tracking (TIERMALLOC_HEAT unset or its source "
		       "unavailable)\n");
		return 77;
	}
	srand(42);
	pick_hot(hot, NULL, chunks);
	int k = converge(buf, hot, chunks, allowed, period_s, "first hot set");
	CHECK(k > 0, "first hot set not found within %d periods", allowed);
	memcpy(old, hot, chunks);
	pick_hot(hot, old, chunks);
	if (forking)
		CHECK(in_child(buf, hot, chunks, allowed, period_s) == 0,
		      "the forked child tracks heat");
	k = converge(buf, hot, chunks, allowed, period_s, "moved hot set");
	CHECK(k > 0, "moved hot set not found within %d periods", allowed);
	return check_summary();
}
