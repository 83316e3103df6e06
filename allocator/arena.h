/* One jemalloc arena set per tier. Each tier owns one reservation of address
 * space, bound to its nodes, from which its extent hooks hand out extents, so
 * the tier of any pointer is two compares away (tm_arena_tier_of). Each
 * thread has an explicit tcache per tier: jemalloc's automatic tcache is not
 * per arena and would hand one tier's memory to another. */
#ifndef TM_ARENA_H
#define TM_ARENA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tiers.h"

typedef struct {
	uintptr_t base, size;        /* the tier's reservation */
	uint64_t nodes;
	const char *mempolicy;       /* what mbind accepted, for the stats */
	unsigned first_arena, narenas;
} tm_tier_heap;

extern tm_tier_heap tm_heaps[TM_TIER_MAX];
extern int tm_heap_count;

/* Create the arenas of every tier. On failure nothing is half-made and the
 * caller stays on jemalloc's own arenas. Returns 0 or -1. */
int tm_arenas_create(const tm_tierset *set, unsigned arenas_per_tier);

static inline int tm_arena_tier_of(const void *p)
{
	for (int t = 0; t < tm_heap_count; t++)
		if ((uintptr_t)p - tm_heaps[t].base < tm_heaps[t].size)
			return t;
	return -1;
}

/* mallocx flags that route to this thread's arena and tcache of a tier. */
int tm_arena_flags(int tier);

/* Flags for freeing memory of a tier from this thread. */
int tm_arena_free_flags(int tier);

/* Extent allocations refused because a reservation was exhausted. */
uint64_t tm_arena_exhausted(int tier);

/* Visit the committed part of a tier's reservation. */
void tm_arena_committed_range(int tier, uintptr_t *start, uintptr_t *end);

#endif
