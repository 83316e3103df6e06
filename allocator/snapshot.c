#include "allocator/snapshot.h"

#include <string.h>

#include "allocator/arena.h"
#include "allocator/heap.h"
#include "allocator/placement.h"
#include "allocator/runtime.h"
#include "allocator/services.h"

static void tier_snapshot(int t, tm_tier_snapshot *s)
{
	tm_heap_committed(t, &s->start, &s->end);
	s->first_arena = tm_heaps[t].first_arena;
	s->narenas = tm_heaps[t].narenas;
	s->mempolicy = tm_heaps[t].mempolicy;
	s->used = tm_arena_used(t);
	s->exhausted = tm_arena_exhausted(t);
}

void tm_alloc_snapshot_get(tm_alloc_snapshot *out)
{
	memset(out, 0, sizeof(*out));
	out->tiered = tm_rt.tiered;
	out->single_reason = tm_rt.single_reason;
	out->tiers = &tm_rt.tiers;
	out->start_ns = tm_services_born_ns();
	out->quota = tm_heap_quota();
	out->quota_fallbacks = atomic_load_explicit(&tm_place_state.quota_fallbacks,
						    memory_order_relaxed);
	out->tcache_refusals = tm_arena_tcache_refusals();
	for (int t = 0; t < tm_heap_count; t++)
		tier_snapshot(t, &out->tier[t]);
}
