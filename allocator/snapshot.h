/* The allocator as the stats server sees it: a copy of its numbers, taken
 * on request. stats/ reads these (and the policy's snapshot) and nothing
 * else of the allocator's state. */
#ifndef TM_SNAPSHOT_H
#define TM_SNAPSHOT_H

#include <stdbool.h>
#include <stdint.h>

#include "allocator/tiers.h"

typedef struct {
	uintptr_t start, end;          /* what its heap extents have used */
	unsigned first_arena, narenas; /* its jemalloc arenas */
	const char *mempolicy;         /* what mbind accepted */
	int64_t used;                  /* live bytes, exact */
	uint64_t exhausted;            /* extents refused: reservation full */
} tm_tier_snapshot;

typedef struct {
	bool tiered;                   /* tier arenas in use */
	const char *single_reason;     /* if not, why */
	const tm_tierset *tiers;       /* found at start-up; never changes */
	uint64_t start_ns;             /* process start (or fork), CLOCK_BOOTTIME */
	int64_t quota;                 /* bytes tier 0 may hold */
	uint64_t quota_fallbacks;      /* allocations sent down by the quota */
	uint64_t tcache_refusals;      /* explicit tcaches jemalloc refused */
	tm_tier_snapshot tier[TM_TIER_MAX]; /* tiered: each tier's heap */
} tm_alloc_snapshot;

/* Takes a lock per call (exact per-tier bytes): not for malloc's path. */
void tm_alloc_snapshot_get(tm_alloc_snapshot *out);

#endif
