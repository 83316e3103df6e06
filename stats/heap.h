/* The memory numbers of the stats reply: the allocator's snapshot, jemalloc's
 * per-tier heap counters and, in tiered mode, where the pages of each tier's
 * reservation are, by asking the kernel about a bounded sample of them
 * (move_pages). Runs in the stats server thread only. */
#ifndef TM_STATS_HEAP_H
#define TM_STATS_HEAP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "allocator/snapshot.h"
#include "allocator/tiers.h"

typedef struct {
	bool known;                /* jemalloc answered */
	uint64_t allocated;        /* bytes in live allocations */
	uint64_t active;           /* bytes of pages holding them */
	uint64_t resident;         /* bytes jemalloc has in memory */
	uint64_t mapped;           /* bytes jemalloc has mapped */
	uint64_t requests;         /* allocation requests, as thread caches
				    * have reported them so far */
} tm_heap_bytes;

typedef struct {
	uint64_t committed;             /* bytes of the reservation in use */
	unsigned sampled;               /* pages asked about; 0: none */
	unsigned absent;                /* of them, not in memory */
	unsigned on_node[TM_MAX_NODES]; /* of them, on each node */
} tm_node_sample;

typedef struct {
	pid_t pid;                      /* of the process that took it */
	uint64_t taken_ns;
	tm_alloc_snapshot alloc;        /* the allocator's own numbers */
	tm_heap_bytes total;            /* all of jemalloc */
	tm_heap_bytes tier[TM_TIER_MAX];/* tiered mode: each tier's arenas */
	tm_node_sample nodes[TM_TIER_MAX];
	uint64_t free[TM_TIER_MAX];     /* free memory of each tier's nodes */
} tm_mem_snapshot;

/* The numbers, refreshed when older than a tenth of a second. */
const tm_mem_snapshot *tm_mem_snapshot_get(void);

#endif
