/* The heat policy's numbers, as the stats server reads them: a snapshot.
 * The allocator reaches the policy through its plugin hooks only
 * (allocator/plugin.h, policy.c); everything else of heat, planning and
 * migration stays inside policy/. */
#ifndef TM_POLICY_H
#define TM_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "allocator/tiers.h"

/* ---- statistics ----------------------------------------------------------- */

enum { TM_HEAT_PERF, TM_HEAT_DAMON, TM_HEAT_UFFD, TM_HEAT_HINTS, TM_HEAT_SOURCES };

/* Why pages did not move. */
enum {
	TM_FAIL_BUSY,    /* EBUSY, EAGAIN: locked, under I/O, pinned */
	TM_FAIL_NOMEM,   /* ENOMEM: the target node is full */
	TM_FAIL_GONE,    /* EFAULT, ENOENT: freed or purged meanwhile */
	TM_FAIL_DENIED,  /* EACCES, EPERM: shared with another process */
	TM_FAIL_OTHER,   /* anything else, or landed on another node */
	TM_FAIL_KINDS
};

#define TM_HEAT_HIST 8          /* heat histogram buckets of 32 */
#define TM_TOP_SITES 8

typedef struct {
	const char *name;       /* "perf", "damon", "uffd", "hints" */
	bool tried, available;
	char why[120];          /* why it is not in use; for one in use, how it
	                         * is limited or what it took over, or "" */
} tm_heat_source_stat;

/* Write tracking (uffd), when in use: what it does and what it costs. */
typedef struct {
	bool active;
	unsigned windows;         /* the last period's */
	uint64_t fault_ns;        /* what a write fault costs here */
	uint64_t window_faults;   /* pages seen written in windows, in all */
	uint64_t kept_faults;     /* pages written between periods, protected */
	bool kept;                /* the protection kept since the last period */
	uint64_t lift_ns_per_kpage; /* lifting it, 1000 pages; 0: not measured */
} tm_write_tracking;

/* DAMON's probes, when in use: single pages just demoted, or found read
 * before, checked one by one for reads (see probes.h). */
typedef struct {
	bool active;
	uint64_t checked;         /* probes read back, in all */
	uint64_t read;            /* of which found read: credited, kept */
} tm_read_probes;

typedef struct {
	uintptr_t site;         /* return address of the allocating call */
	uint64_t samples;       /* sampled allocations */
	uint64_t bytes;         /* bytes allocated, estimated from the samples
				 * (since start-up: frees are not seen) */
	int heat;               /* running average heat of its memory */
	int tier;               /* its allocations' tier, -1: dram-first */
} tm_site_info;

typedef struct {
	const char *source;     /* heat source in use, or "none" */
	uint64_t observed;      /* what it has looked at: pages watched (uffd),
				 * regions read back (damon), samples (perf) */
	tm_heat_source_stat sources[TM_HEAT_SOURCES];
	bool running;           /* the migrator thread exists */
	uint64_t periods;       /* periods run */
	unsigned heat_every;    /* heat is measured every this many periods
				 * (more than 1 once placement has settled) */
	uint64_t measure_ns;    /* what the last measurement cost: the
				 * migrator's CPU and the program's faults */
	uint64_t measure_budget_ns; /* what a period may spend on it */
	tm_write_tracking tracking;
	tm_read_probes probes;
	uint64_t promoted_pages, demoted_pages;
	uint64_t promoted_bytes, demoted_bytes;
	uint64_t failed[TM_FAIL_KINDS];       /* pages, by reason */
	uint64_t undone_pages;  /* demoted soon after coming up (see planner.h) */
	unsigned swap_margin;   /* heat a swap must win by, as learned */
	uint64_t cpu_ns;        /* CPU time of the migrator thread */
	uint64_t heat_cpu_ns;   /* of which measuring heat: cooling and the
				 * sources' collection (not kdamond's) */
	uint64_t wall_ns;       /* since it started: cpu_ns / wall_ns is its share */
	uint64_t resident_pages[TM_TIER_MAX]; /* heap pages present, per tier */
	uint64_t heat_hist[TM_TIER_MAX][TM_HEAT_HIST];
	unsigned boundary;      /* heat DRAM can afford (0: all fits) */
	bool pressure;
	uint64_t samples, sites, sites_dropped;
	int ntop;
	tm_site_info top[TM_TOP_SITES];
	uint64_t metadata_bytes; /* heat map cells committed (4 B a page of
				  * the heap) and huge-block bitmaps, plus
				  * the fixed tables */
} tm_policy_snapshot;

/* A consistent copy of the policy's numbers; any thread, not inside malloc. */
void tm_policy_snapshot_get(tm_policy_snapshot *out);

#endif
