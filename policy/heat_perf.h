/* Hardware sampling with perf_event_open: precise memory-access samples that
 * carry the data address (Intel PEBS mem-loads/mem-stores, AMD IBS op),
 * the best heat there is on bare-metal pmem and CXL servers.
 *
 * The events come from the PMU's sysfs aliases (as perf(1) resolves
 * cpu/mem-loads/), so no CPU model table is needed. One event per thread of
 * the process and per CPU, inherited by threads created later; the events
 * of a CPU share one ring buffer, read each period. Each sample credits its
 * page. Our machines have no PMU: the parsing is unit-tested with synthetic
 * records, and the absence (no alias, perf_event_open ENOENT) is a reason.
 *
 * Every event is a descriptor the program lives with, so their number is
 * bounded (the main thread's events on every CPU come first: the threads
 * it creates later inherit them) and each is kept out of the program's way
 * (tm_fd_keep); the stats say how many of how many were opened, and why. */
#ifndef TM_HEAT_PERF_H
#define TM_HEAT_PERF_H

#include <sys/types.h>

#include "allocator/prim/track.h"
#include "policy/source.h"

#define TM_PERF_EVENTS 2        /* loads and stores */
#define TM_PERF_CPUS 256
#define TM_PERF_THREADS 16      /* threads at start; later ones inherit */
/* Descriptors held at most: events x CPUs x threads reaches the usual soft
 * RLIMIT_NOFILE of 1,024 at 32 CPUs and 16 threads. Never more than a
 * share of the free ones either, so the program keeps most of its room. */
#define TM_PERF_MAX_FDS 256
#define TM_PERF_ROOM_SHARE 8    /* at most 1/8 of the free descriptors */
#define TM_PERF_RING_PAGES 64   /* data pages of each CPU's ring */

typedef struct {
	char name[32];          /* "cpu/mem-loads", "ibs_op" */
	uint32_t type;
	uint64_t config, config1;
	int precise;            /* precise_ip */
} tm_perf_event;

/* The precise memory-sampling events under a sysfs root; their number. */
int tm_perf_find_events(const char *root, tm_perf_event *ev, int max);

typedef struct {
	uint64_t samples;       /* credited to a heap page */
	uint64_t outside;       /* addresses outside the heap, or none */
	uint64_t foreign;       /* from another process */
	uint64_t lost;          /* dropped by the kernel (PERF_RECORD_LOST) */
	uint64_t bad;           /* malformed records: the rest is skipped */
} tm_perf_counts;

/* Read the records of one ring buffer (its header page at base) written
 * since the last call, credit the samples of process pid, release the
 * space. The sample layout is PERF_SAMPLE_TID | PERF_SAMPLE_ADDR. */
void tm_perf_drain(void *base, pid_t pid, tm_heatmap *hm, tm_perf_counts *c);

typedef struct {
	tm_heat_src base;
	const tm_perf_os *os;
	const char *root;
	pid_t pid;
	int nfds, nrings;
	int fds[TM_PERF_MAX_FDS];
	int ring_fd[TM_PERF_CPUS];  /* per CPU, the event owning its ring, or -1 */
	void *rings[TM_PERF_CPUS];
	size_t ring_len;
	tm_perf_counts counts;
} tm_perf_src;

void tm_perf_src_init(tm_perf_src *s, const tm_perf_os *os,
		      const char *sysfs_root);

#endif
