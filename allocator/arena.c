#include "arena.h"

#include <jemalloc/jemalloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "prim/os.h"
#include "runtime.h"

#define TM_RESERVE_MAX (1ULL << 40) /* 1 TiB of address space per tier */
#define TM_RESERVE_MIN (1ULL << 32)

tm_tier_heap tm_heaps[TM_TIER_MAX];
int tm_heap_count;

/* Extent hooks are per tier; jemalloc passes them back to every call, which
 * is how a hook finds its tier. */
typedef struct {
	extent_hooks_t hooks;
	int tier;
	_Atomic uintptr_t next;        /* bump pointer into the reservation */
	_Atomic uint64_t exhausted;
} tier_hooks;

static tier_hooks hooks_of[TM_TIER_MAX];

enum { THREAD_NEW, THREAD_LIVE, THREAD_DEAD };

typedef struct {
	int tcache[TM_TIER_MAX]; /* jemalloc tcache id + 1; 0: none yet */
	int flags[TM_TIER_MAX];  /* MALLOCX_ARENA | MALLOCX_TCACHE, ready made */
	int state;
} thread_caches;

static __thread thread_caches tls __attribute__((tls_model("initial-exec")));
static pthread_key_t exit_key;

static tier_hooks *hooks_tier(extent_hooks_t *h)
{
	return (tier_hooks *)h;
}

static uintptr_t bump(tier_hooks *th, size_t size, size_t align)
{
	tm_tier_heap *heap = &tm_heaps[th->tier];
	uintptr_t end = heap->base + heap->size;
	uintptr_t cur = atomic_load(&th->next), start;
	do {
		start = (cur + align - 1) & ~(uintptr_t)(align - 1);
		if (start < cur || start > end || end - start < size)
			return 0;
	} while (!atomic_compare_exchange_weak(&th->next, &cur, start + size));
	return start;
}

static void *extent_alloc(extent_hooks_t *h, void *new_addr, size_t size,
			  size_t align, bool *zero, bool *commit, unsigned ind)
{
	tier_hooks *th = hooks_tier(h);
	if (new_addr) /* growing in place: jemalloc retains and reuses itself */
		return NULL;
	uintptr_t p = bump(th, size, align);
	if (!p) {
		atomic_fetch_add(&th->exhausted, 1);
		return NULL;
	}
	if (tm_os_commit((void *)p, size) < 0)
		return NULL; /* the range stays reserved and unused */
	*zero = true; /* fresh pages of a never-touched reservation */
	*commit = true;
	return (void *)p;
}

/* Returning true declines: jemalloc keeps the extent as retained and reuses
 * it, so addresses never leave the tier's reservation. */
static bool extent_dalloc(extent_hooks_t *h, void *addr, size_t size,
			  bool committed, unsigned ind)
{
	return true;
}

static void extent_destroy(extent_hooks_t *h, void *addr, size_t size,
			   bool committed, unsigned ind)
{
	tm_os_purge(addr, size, true);
}

/* Memory is always committed (the OS overcommits); decommit declines so
 * jemalloc purges instead, and commit has nothing to do. */
static bool extent_commit(extent_hooks_t *h, void *addr, size_t size,
			  size_t off, size_t len, unsigned ind)
{
	return false;
}

static bool extent_decommit(extent_hooks_t *h, void *addr, size_t size,
			    size_t off, size_t len, unsigned ind)
{
	return true;
}

static bool extent_purge_lazy(extent_hooks_t *h, void *addr, size_t size,
			      size_t off, size_t len, unsigned ind)
{
	return tm_os_purge((char *)addr + off, len, false) != 0;
}

static bool extent_purge_forced(extent_hooks_t *h, void *addr, size_t size,
				size_t off, size_t len, unsigned ind)
{
	return tm_os_purge((char *)addr + off, len, true) != 0;
}

/* One reservation per tier: any split or merge stays inside it. */
static bool extent_split(extent_hooks_t *h, void *addr, size_t size,
			 size_t size_a, size_t size_b, bool committed,
			 unsigned ind)
{
	return false;
}

static bool extent_merge(extent_hooks_t *h, void *addr_a, size_t size_a,
			 void *addr_b, size_t size_b, bool committed,
			 unsigned ind)
{
	return false;
}

static const extent_hooks_t tier_extent_hooks = {
	extent_alloc, extent_dalloc, extent_destroy, extent_commit,
	extent_decommit, extent_purge_lazy, extent_purge_forced,
	extent_split, extent_merge,
};

static void thread_exit(void *arg)
{
	for (int t = 0; t < tm_heap_count; t++) {
		unsigned id = (unsigned)(tls.tcache[t] - 1);
		if (tls.tcache[t] > 0)
			mallctl("tcache.destroy", NULL, NULL, &id, sizeof(id));
		tls.tcache[t] = 0;
	}
	tls.state = THREAD_DEAD; /* frees from later destructors skip tcaches */
}

/* A thread's arena of a tier: threads are spread over the tier's arenas in
 * the order they first allocate. */
static unsigned pick_arena(int tier)
{
	static _Atomic unsigned next_thread;
	const tm_tier_heap *heap = &tm_heaps[tier];
	return heap->first_arena + atomic_fetch_add(&next_thread, 1) % heap->narenas;
}

static int tcache_none_flags(int tier)
{
	return MALLOCX_ARENA(pick_arena(tier)) | MALLOCX_TCACHE_NONE;
}

static int create_tcache(int tier)
{
	unsigned id;
	size_t len = sizeof(id);
	if (tls.state == THREAD_DEAD ||
	    mallctl("tcache.create", &id, &len, NULL, 0) != 0)
		return tcache_none_flags(tier);
	tls.tcache[tier] = (int)id + 1;
	tls.flags[tier] = MALLOCX_ARENA(pick_arena(tier)) | MALLOCX_TCACHE(id);
	if (tls.state == THREAD_NEW) {
		tls.state = THREAD_LIVE;
		pthread_setspecific(exit_key, &tls); /* may allocate: state first */
	}
	return tls.flags[tier];
}

int tm_arena_flags(int tier)
{
	return TM_LIKELY(tls.tcache[tier] > 0) ? tls.flags[tier]
					       : create_tcache(tier);
}

/* The arena bits are ignored when freeing; only the tcache matters. */
int tm_arena_free_flags(int tier)
{
	return tm_arena_flags(tier);
}

uint64_t tm_arena_exhausted(int tier)
{
	return atomic_load(&hooks_of[tier].exhausted);
}

void tm_arena_committed_range(int tier, uintptr_t *start, uintptr_t *end)
{
	*start = tm_heaps[tier].base;
	*end = atomic_load(&hooks_of[tier].next);
}

static int reserve_tier(int t, const tm_tier *tier)
{
	size_t got;
	void *base = tm_os_reserve(TM_RESERVE_MAX, TM_RESERVE_MIN, &got);
	if (!base) {
		tm_warn("cannot reserve address space for tier %d", t);
		return -1;
	}
	tm_tier_heap *heap = &tm_heaps[t];
	heap->base = (uintptr_t)base;
	heap->size = got;
	heap->nodes = tier->nodes;
	if (tm_os_prefer_nodes(base, got, tier->nodes, &heap->mempolicy) < 0)
		tm_warn("mbind for tier %d failed; its pages go where the kernel "
			"puts them", t);
	hooks_of[t].hooks = tier_extent_hooks;
	hooks_of[t].tier = t;
	atomic_store(&hooks_of[t].next, heap->base);
	return 0;
}

static int create_tier_arenas(int t, unsigned count)
{
	extent_hooks_t *hooks = &hooks_of[t].hooks;
	for (unsigned i = 0; i < count; i++) {
		unsigned ind;
		size_t len = sizeof(ind);
		if (mallctl("arenas.create", &ind, &len, &hooks, sizeof(hooks)) != 0)
			return -1;
		if (i == 0)
			tm_heaps[t].first_arena = ind;
		else if (ind != tm_heaps[t].first_arena + i)
			return -1; /* arenas of a tier must be consecutive */
	}
	tm_heaps[t].narenas = count;
	return 0;
}

/* Undo tiers [0, upto]: their arenas (none has allocated yet) and their
 * reservations, so a failed start leaves nothing behind. */
static void undo_tiers(int upto)
{
	for (int t = 0; t <= upto; t++) {
		tm_tier_heap *heap = &tm_heaps[t];
		for (unsigned i = 0; i < heap->narenas; i++) {
			char name[48];
			snprintf(name, sizeof(name), "arena.%u.destroy",
				 heap->first_arena + i);
			mallctl(name, NULL, NULL, NULL, 0);
		}
		if (heap->size)
			tm_os_release((void *)heap->base, heap->size);
		memset(heap, 0, sizeof(*heap));
	}
	pthread_key_delete(exit_key);
}

int tm_arenas_create(const tm_tierset *set, unsigned per_tier)
{
	if (pthread_key_create(&exit_key, thread_exit) != 0)
		return -1;
	for (int t = 0; t < set->count; t++)
		if (reserve_tier(t, &set->tier[t]) < 0 ||
		    create_tier_arenas(t, per_tier) < 0) {
			tm_warn("cannot create the arenas of tier %d; running "
				"with one tier", t);
			undo_tiers(t);
			return -1;
		}
	tm_heap_count = set->count;
	return 0;
}
