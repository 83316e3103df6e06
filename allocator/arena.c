#include "allocator/arena.h"

#include <jemalloc/jemalloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "allocator/config.h"
#include "allocator/heap.h"
#include "allocator/log.h"
#include "allocator/placement.h"
#include "allocator/plugin.h"
#include "allocator/prim/os.h"
#include "allocator/runtime.h"

#define TM_RESERVE_MAX (1ULL << 40) /* 1 TiB of address space per tier */
#define TM_RESERVE_MIN (1ULL << 32)

/* Fresh extents this big get transparent huge pages. In these VMs a page
 * fault costs microseconds, and jemalloc hands big extents back to the OS
 * (or zeroes them for calloc) with madvise, so a multi-MiB buffer would
 * fault 4 KiB at a time, again and again. Advised once per fresh extent,
 * where the range is new: advising per allocation split a mapping each time
 * (until vm.max_map_count). TIERMALLOC_HUGEPAGE=0 turns it off. */
#define HUGE_ADVICE_MIN (2UL << 20)
/* jemalloc grows an arena's address space by ever larger steps and carves
 * its slabs from them: steps past HUGE_ADVICE_MIN would put small objects
 * in huge pages too, one heat for 512 pages, and scattered hot objects
 * could no longer be told from their cold neighbours (a Zipf KV store fell
 * from 0.89 to 0.42 of the oracle). So steps stay below it; an extent that
 * big is then a large allocation's own. */
#define GROW_LIMIT (1UL << 20)

tm_tier_heap tm_heaps[TM_TIER_MAX];
int tm_heap_count;
uintptr_t tm_heap_base;
unsigned tm_heap_shift;
uintptr_t tm_lower_base, tm_lower_size;

static bool huge_advice;

/* Extent hooks are per tier; jemalloc passes them back to every call, which
 * is how a hook finds its tier. */
typedef struct {
	extent_hooks_t hooks;
	int tier;
	_Atomic uint64_t heap;         /* heap extents: see the room of windows */
	_Atomic uintptr_t meta_next;   /* bump pointer in the metadata area */
	_Atomic uint64_t exhausted;
} tier_hooks;

static tier_hooks hooks_of[TM_TIER_MAX];

static tier_hooks *hooks_tier(extent_hooks_t *h)
{
	return (tier_hooks *)h;
}

/* The top 1/META_SHARE of each tier's part holds jemalloc's metadata (its
 * base blocks: arenas, extent records, bitmaps), apart from the heap: the
 * heat sources track [base, next) only, so jemalloc's own writes are never
 * taken for the program's and its metadata is never moved. */
#define META_SHARE 64

static uintptr_t heap_end(const tm_tier_heap *heap)
{
	return heap->base + heap->size - heap->size / META_SHARE;
}

static uintptr_t bump(_Atomic uintptr_t *next, uintptr_t end, size_t size,
		      size_t align)
{
	uintptr_t cur = atomic_load(next), start;
	do {
		start = (cur + align - 1) & ~(uintptr_t)(align - 1);
		if (start < cur || start > end || end - start < size)
			return 0;
	} while (!atomic_compare_exchange_weak(next, &cur, start + size));
	return start;
}

/* ---- the room of the windows on tier 0 ----------------------------------------

 * In a window on tier 0, malloc is jemalloc's with no fallback of ours (a
 * tail call, malloc.c): there, a failure must mean that no tier has memory.
 * So tier 0's heap keeps WINDOW_ROOM free for each window open on it: a
 * thread opens (or keeps) one at a fold only if that room is there for all
 * of them, its own included, and allocations outside the windows, which fall
 * back to the next tier, leave it. WINDOW_ROOM is about twice the most a
 * window's calls can take of the reservation: under 256 KiB allocated, the
 * thread cache's fills (about 1 MiB over all size classes), a fresh slab for
 * each size class (540 KiB in all), and the arena's growth steps (2 MiB,
 * then 1 MiB: GROW_LIMIT), each of which leaves its rest for the next. With
 * 1 TiB of address space per tier, 16,384 windows take half of it.
 *
 * The heap's bump pointer (an offset from the tier's base) and the count of
 * windows open on it share one word, so that a window opening and a bump
 * outside the windows cannot both take the same room. */
#define WINDOW_ROOM (16ULL << 20)
#define WINDOWS_SHIFT 44 /* above the offset: a tier's part is at most 1 TiB */
#define ONE_WINDOW (1ULL << WINDOWS_SHIFT)

static uint64_t heap_offset(uint64_t word)
{
	return word & (ONE_WINDOW - 1);
}

static uint64_t heap_windows(uint64_t word)
{
	return word >> WINDOWS_SHIFT;
}

/* Free bytes of tier t's heap part, given its word. */
static uint64_t heap_room(int t, uint64_t word)
{
	return heap_end(&tm_heaps[t]) - tm_heaps[t].base - heap_offset(word);
}

/* A call of this thread's tier-0 window (not of tiered_alloc or realloc's
 * placed path, whose tier-0 calls fall back): it may take the room the
 * windows keep. */
static bool window_call(void)
{
	return tm_self.window_tier == 0 && !tm_self.placing;
}

static uintptr_t heap_bump(tier_hooks *th, size_t size, size_t align)
{
	const tm_tier_heap *heap = &tm_heaps[th->tier];
	bool all = window_call();
	uint64_t cur = atomic_load(&th->heap), start;
	do {
		uint64_t off = heap_offset(cur), room = heap_room(th->tier, cur);
		uint64_t keep = all ? 0 : heap_windows(cur) * WINDOW_ROOM;
		start = (off + align - 1) & ~(uint64_t)(align - 1);
		if (start < off || room < keep || room - keep < start - off + size)
			return 0;
	} while (!atomic_compare_exchange_weak(&th->heap, &cur, cur - heap_offset(cur) +
					       start + size));
	return heap->base + start;
}

/* Whether this thread may open (or keep) a window on tier 0: room for every
 * open window, its own counted once. A thread already in one adds nothing:
 * its room was counted full, and is again. */
static bool window_room(void)
{
	tier_hooks *th = &hooks_of[0];
	bool opening = tm_self.window_tier != 0;
	uint64_t cur = atomic_load(&th->heap);
	do {
		if ((heap_windows(cur) + opening) * WINDOW_ROOM > heap_room(0, cur))
			return false;
	} while (opening && !atomic_compare_exchange_weak(&th->heap, &cur,
							  cur + ONE_WINDOW));
	return true;
}

static void window_close(void)
{
	atomic_fetch_sub(&hooks_of[0].heap, ONE_WINDOW);
}

/* jemalloc asks for its own metadata (base blocks) hugepage-aligned and
 * already zeroed and committed, and for heap extents page-aligned and not
 * committed (or as the allocation's alignment): metadata gets no huge pages,
 * which would cost 2 MiB of memory per arena for a few KiB used. */
static bool metadata(size_t align, bool zero, bool commit)
{
	return align >= HUGE_ADVICE_MIN && zero && commit;
}

static void *extent_alloc(extent_hooks_t *h, void *new_addr, size_t size,
			  size_t align, bool *zero, bool *commit, unsigned ind)
{
	tier_hooks *th = hooks_tier(h);
	const tm_tier_heap *heap = &tm_heaps[th->tier];
	if (new_addr) /* growing in place: jemalloc retains and reuses itself */
		return NULL;
	bool meta = metadata(align, *zero, *commit);
	uintptr_t p = meta ? bump(&th->meta_next, heap->base + heap->size, size, align)
			   : 0;
	if (!p) /* a full metadata area spills into the heap's */
		p = heap_bump(th, size, align);
	if (!p) {
		atomic_fetch_add(&th->exhausted, 1);
		return NULL;
	}
	if (tm_os_commit((void *)p, size) < 0)
		return NULL; /* the range stays reserved and unused */
	if (huge_advice && size >= HUGE_ADVICE_MIN && !meta)
		tm_os_advise_huge((void *)p, size);
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


/* ---- thread records ---------------------------------------------------------

 * A record per live thread, from a fixed pool (no allocation in malloc):
 * where jemalloc keeps the thread's allocated and freed bytes, what of them
 * is folded into the totals, the bytes of the other tiers since, and the
 * explicit tcaches of the other tiers, which stay with the record for its
 * next owner: threads by the thousand reuse them instead of exhausting
 * jemalloc's. A thread past the pool, or past its own exit, has no record
 * and counts each call itself (slower, still exact). */
#define THREAD_RECS 16384

struct tm_thread_rec {
	const uint64_t *allocated, *deallocated; /* the owner's, in jemalloc */
	_Atomic uint64_t seen_alloc, seen_dealloc; /* their values when folded */
	_Atomic int64_t slow[TM_TIER_MAX];  /* tiers >= 1, not folded yet */
	int tcache[TM_TIER_MAX];            /* explicit tcache id + 1; 0: none */
	int next_free;
	bool live;
};

static tm_thread_rec recs[THREAD_RECS];
static struct {
	pthread_mutex_t lock;
	int used;                    /* records ever handed out: [0, used) */
	int free_head;               /* released ones, -1: none */
} pool = {PTHREAD_MUTEX_INITIALIZER, 0, -1};

/* A thread's state before its first call and after its exit: no record
 * (its counts read no_bytes), no window, every free to the slow path. */
#define NO_BYTES_AT ((intptr_t)offsetof(tm_thread, no_bytes))
#define THREAD_UNSET                                                        \
	{                                                                   \
		.allocated_at = NO_BYTES_AT, .deallocated_at = NO_BYTES_AT, \
		.window_tier = -1, .lower_size = UINTPTR_MAX,               \
	}
__thread tm_thread tm_self __attribute__((tls_model("initial-exec"))) = THREAD_UNSET;
static pthread_key_t exit_key;
static size_t allocatedp_mib[2], deallocatedp_mib[2], arena_mib[2], flush_mib[3];
static atomic_bool tcaches_gone;     /* jemalloc refused one: ask no more */
static _Atomic uint64_t tcache_refusals;

static int64_t relaxed(_Atomic int64_t *v)
{
	return atomic_load_explicit(v, memory_order_relaxed);
}

static uint64_t je_counter(const uint64_t *c)
{
	return __atomic_load_n(c, __ATOMIC_RELAXED); /* another thread's */
}

/* What a record has not folded, by tier, given its jemalloc counters a, d:
 * tier 0 is everything jemalloc counted less what went to other tiers. */
static int64_t unfolded(tm_thread_rec *r, int tier, uint64_t a, uint64_t d)
{
	if (tier > 0)
		return relaxed(&r->slow[tier]);
	int64_t n = (int64_t)(a - atomic_load_explicit(&r->seen_alloc, memory_order_relaxed)) -
		    (int64_t)(d - atomic_load_explicit(&r->seen_dealloc, memory_order_relaxed));
	for (int t = 1; t < TM_TIER_MAX; t++)
		n -= relaxed(&r->slow[t]);
	return n;
}

/* By the owner, or for a thread that no longer runs (fork). */
static void fold_rec(tm_thread_rec *r)
{
	uint64_t a = je_counter(r->allocated), d = je_counter(r->deallocated);
	tm_heap_account(0, unfolded(r, 0, a, d));
	for (int t = 1; t < TM_TIER_MAX; t++) {
		tm_heap_account(t, relaxed(&r->slow[t]));
		atomic_store_explicit(&r->slow[t], 0, memory_order_relaxed);
	}
	atomic_store_explicit(&r->seen_alloc, a, memory_order_relaxed);
	atomic_store_explicit(&r->seen_dealloc, d, memory_order_relaxed);
}

static tm_thread_rec *rec_take(void)
{
	pthread_mutex_lock(&pool.lock);
	tm_thread_rec *r = NULL;
	if (pool.free_head >= 0) {
		r = &recs[pool.free_head];
		pool.free_head = r->next_free;
	} else if (pool.used < THREAD_RECS) {
		r = &recs[pool.used++];
	}
	pthread_mutex_unlock(&pool.lock);
	return r;
}

static void rec_release_locked(tm_thread_rec *r)
{
	r->live = false;
	r->next_free = pool.free_head;
	pool.free_head = (int)(r - recs);
}

/* Binds a free record to this thread, its counters as they are now. */
static bool rec_bind(tm_thread_rec *r)
{
	size_t len = sizeof(r->allocated);
	if (mallctlbymib(allocatedp_mib, 2, &r->allocated, &len, NULL, 0) != 0 ||
	    mallctlbymib(deallocatedp_mib, 2, &r->deallocated, &len, NULL, 0) != 0)
		return false;
	atomic_store(&r->seen_alloc, je_counter(r->allocated));
	atomic_store(&r->seen_dealloc, je_counter(r->deallocated));
	for (int t = 0; t < TM_TIER_MAX; t++)
		atomic_store(&r->slow[t], 0);
	pthread_mutex_lock(&pool.lock);
	r->live = true; /* readers sum it from now on */
	pthread_mutex_unlock(&pool.lock);
	return true;
}

/* A thread's arena of a tier: threads are spread over the tier's arenas in
 * the order they first allocate. */
static unsigned pick_arena(int tier)
{
	static _Atomic unsigned next_thread;
	const tm_tier_heap *heap = &tm_heaps[tier];
	return heap->first_arena + atomic_fetch_add(&next_thread, 1) % heap->narenas;
}

static void bind_arena(unsigned a)
{
	mallctlbymib(arena_mib, 2, NULL, NULL, &a, sizeof(a));
}

/* jemalloc's automatic arenas were made, and their address space retained,
 * before the tiers existed: a thread allocates from tier 0's arenas (through
 * jemalloc's own fast path and automatic tcache) once it is bound to one. */
static void bind_tier0(void)
{
	tm_self.arena[0] = pick_arena(0);
	bind_arena(tm_self.arena[0]);
}

/* In a window placed whole on a lower tier, the thread is bound to that
 * tier's arena, so that jemalloc's fast paths and automatic tcache serve
 * it (explicit tcaches are slower, and about 4,000 in all). A switch
 * flushes the tcache, so that it hands out the window's tier only: tier 0's
 * fast paths never another tier's block, a window past the quota no tier-0
 * block. */
static void enter_window(int tier)
{
	int old = tm_self.window_tier;
	tm_self.window_tier = tier;
	if (old == 0 && tier != 0)
		window_close();
	if (tier == old || (old <= 0 && tier <= 0))
		return;
	if (tier > 0 && !tm_self.arena[tier])
		tm_arena_choose(tier);
	bind_arena(tm_self.arena[tier > 0 ? tier : 0]);
	mallctlbymib(flush_mib, 3, NULL, NULL, NULL, 0);
}

/* p as an offset from this thread's tm_self (tm_thread_counted). */
static intptr_t offset_in_self(const uint64_t *p)
{
	return (intptr_t)((uintptr_t)p - (uintptr_t)&tm_self);
}

static void thread_start(void)
{
	tm_self.state = TM_THREAD_LIVE; /* first: what follows may allocate */
	bind_tier0();
	tm_thread_rec *r = rec_take();
	if (r && !rec_bind(r)) {
		pthread_mutex_lock(&pool.lock);
		rec_release_locked(r);
		pthread_mutex_unlock(&pool.lock);
		r = NULL;
	}
	tm_self.rec = r;
	if (r) {
		tm_self.allocated_at = offset_in_self(r->allocated);
		tm_self.deallocated_at = offset_in_self(r->deallocated);
	}
	pthread_setspecific(exit_key, &tm_self); /* may allocate: record first */
}

void tm_thread_fold(void)
{
	if (tm_self.state == TM_THREAD_NEW)
		thread_start();
	if (tm_self.rec)
		fold_rec(tm_self.rec);
	tm_place_fold(&tm_place_state);
	tm_self.slow_at = tm_self.rec ? tm_thread_allocated() + TM_SAMPLE_BYTES : 0;
	int tier = tm_self.rec ? tm_place_window(&tm_place_state, TM_SAMPLE_BYTES) : -1;
	enter_window(tier == 0 && !window_room() ? -1 : tier);
	tm_self.tier0_at = tm_self.window_tier == 0 ? tm_self.slow_at : 0;
	tm_self.lower_base = tm_self.rec ? tm_lower_base : 0;
	tm_self.lower_size = tm_self.rec ? tm_lower_size : UINTPTR_MAX;
}

void tm_thread_fold_frees(void)
{
	tm_thread_rec *r = tm_self.rec;
	if (r && tm_thread_deallocated() -
			 atomic_load_explicit(&r->seen_dealloc, memory_order_relaxed) >=
		 TM_SAMPLE_BYTES) {
		tm_self.lower_base = 0;
		tm_self.lower_size = UINTPTR_MAX;
	}
}

bool tm_thread_fold_due(void)
{
	return tm_self.state == TM_THREAD_NEW ||
	       (tm_self.rec && tm_self.lower_size == UINTPTR_MAX);
}

void tm_thread_count(int tier, int64_t bytes)
{
	tm_thread_rec *r = tm_self.rec;
	if (!r)
		tm_heap_account(tier, bytes);
	else if (tier > 0) /* only the owner writes: no locked instruction */
		atomic_store_explicit(&r->slow[tier], relaxed(&r->slow[tier]) + bytes,
				      memory_order_relaxed);
}

/* Frees from later destructors count themselves (no record). */
static void thread_exit(void *arg)
{
	enter_window(-1);
	tm_thread_rec *r = tm_self.rec;
	if (r) {
		fold_rec(r);
		pthread_mutex_lock(&pool.lock);
		rec_release_locked(r);
		pthread_mutex_unlock(&pool.lock);
	}
	tm_place_fold(&tm_place_state);
	tm_self = (tm_thread)THREAD_UNSET;
	tm_self.state = TM_THREAD_DEAD;
}

/* The child has only the forking thread: the others' counts are folded
 * (their memory lives on in the child), their records freed, and of the
 * windows open on tier 0 only this thread's is left. */
static void fork_prepare(void)
{
	pthread_mutex_lock(&pool.lock);
}

static void fork_parent(void)
{
	pthread_mutex_unlock(&pool.lock);
}

static void fork_child(void)
{
	uint64_t offset = heap_offset(atomic_load(&hooks_of[0].heap));
	atomic_store(&hooks_of[0].heap, offset + (tm_self.window_tier == 0) * ONE_WINDOW);
	for (int i = 0; i < pool.used; i++)
		if (recs[i].live && &recs[i] != tm_self.rec) {
			fold_rec(&recs[i]);
			rec_release_locked(&recs[i]);
		}
	pthread_mutex_unlock(&pool.lock);
}

int64_t tm_arena_used(int tier)
{
	pthread_mutex_lock(&pool.lock);
	int64_t n = atomic_load(&tm_place_state.used[tier]);
	for (int i = 0; i < pool.used; i++)
		if (recs[i].live)
			n += unfolded(&recs[i], tier, je_counter(recs[i].allocated),
				      je_counter(recs[i].deallocated));
	pthread_mutex_unlock(&pool.lock);
	return n;
}

/* ---- explicit tcaches of the other tiers --------------------------------- */

/* The record's tcache of a tier, made on first use; -1 when jemalloc has
 * none left, which is remembered: no mallctl per call. */
static int rec_tcache(tm_thread_rec *r, int tier)
{
	if (r->tcache[tier] > 0)
		return r->tcache[tier] - 1;
	unsigned id;
	size_t len = sizeof(id);
	if (atomic_load_explicit(&tcaches_gone, memory_order_relaxed))
		return -1;
	if (mallctl("tcache.create", &id, &len, NULL, 0) != 0) {
		atomic_store(&tcaches_gone, true);
		atomic_fetch_add(&tcache_refusals, 1);
		return -1;
	}
	r->tcache[tier] = (int)id + 1;
	return (int)id;
}

int tm_arena_choose(int tier)
{
	int tc = tm_self.rec ? rec_tcache(tm_self.rec, tier) : -1;
	tm_self.arena[tier] = pick_arena(tier);
	tm_self.flags[tier] = MALLOCX_ARENA(tm_self.arena[tier]) |
			      (tc >= 0 ? MALLOCX_TCACHE(tc) : MALLOCX_TCACHE_NONE);
	return tm_self.flags[tier];
}

uint64_t tm_arena_tcache_refusals(void)
{
	return atomic_load(&tcache_refusals);
}

uint64_t tm_arena_exhausted(int tier)
{
	return atomic_load(&hooks_of[tier].exhausted);
}

int tm_heap_tiers(void)
{
	return tm_heap_count;
}

void tm_heap_range(int tier, uintptr_t *base, uintptr_t *size)
{
	*base = tm_heaps[tier].base;
	*size = tm_heaps[tier].size;
}

void tm_heap_committed(int tier, uintptr_t *start, uintptr_t *end)
{
	*start = tm_heaps[tier].base;
	*end = *start + heap_offset(atomic_load(&hooks_of[tier].heap));
}

/* ---- creation --------------------------------------------------------------- */

/* One reservation, a power-of-two part per tier, each bound to its nodes. */
static int reserve_tiers(const tm_tierset *set)
{
	size_t got;
	void *base = tm_os_reserve(TM_RESERVE_MAX * (size_t)set->count,
				   TM_RESERVE_MIN * (size_t)set->count, &got);
	if (!base) {
		tm_warn("cannot reserve address space for the tiers; running with one tier");
		return -1;
	}
	unsigned shift = 63 - (unsigned)__builtin_clzll(got / (size_t)set->count);
	tm_heap_base = (uintptr_t)base;
	tm_heap_shift = shift;
	for (int t = 0; t < set->count; t++) {
		tm_tier_heap *heap = &tm_heaps[t];
		heap->base = tm_heap_base + ((uintptr_t)t << shift);
		heap->size = (uintptr_t)1 << shift;
		heap->nodes = set->tier[t].nodes;
		if (tm_os_prefer_nodes((void *)heap->base, heap->size,
				       heap->nodes, &heap->mempolicy) < 0)
			tm_warn("mbind for tier %d failed; its pages go where "
				"the kernel puts them", t);
		hooks_of[t].hooks = tier_extent_hooks;
		hooks_of[t].tier = t;
		atomic_store(&hooks_of[t].heap, 0);
		atomic_store(&hooks_of[t].meta_next, heap_end(heap));
	}
	return 0;
}

static void destroy_tiers(int upto)
{
	for (int t = 0; t < upto; t++)
		for (unsigned a = 0; a < tm_heaps[t].narenas; a++) {
			char name[32];
			snprintf(name, sizeof(name), "arena.%u.destroy",
				 tm_heaps[t].first_arena + a);
			mallctl(name, NULL, NULL, NULL, 0);
		}
}

static void limit_growth(unsigned arena)
{
	char name[48];
	size_t limit = GROW_LIMIT;
	snprintf(name, sizeof(name), "arena.%u.retain_grow_limit", arena);
	if (mallctl(name, NULL, NULL, &limit, sizeof(limit)) != 0)
		tm_warn("%s cannot be set: small objects may share huge pages", name);
}

static int create_tier_arenas(int t, unsigned count)
{
	extent_hooks_t *hooks = &hooks_of[t].hooks;
	tm_tier_heap *heap = &tm_heaps[t];
	heap->narenas = 0;
	for (unsigned i = 0; i < count; i++) {
		unsigned ind;
		size_t len = sizeof(ind);
		if (mallctl("arenas.create", &ind, &len, &hooks, sizeof(hooks)) != 0)
			return -1;
		if (i == 0)
			heap->first_arena = ind;
		heap->narenas++;
		limit_growth(ind);
		if (ind != heap->first_arena + i)
			return -1; /* arenas of a tier must be consecutive */
	}
	return 0;
}

static bool counters_mib(void)
{
	size_t n = 2;
	if (mallctlnametomib("thread.allocatedp", allocatedp_mib, &n) != 0)
		return false;
	n = 2;
	if (mallctlnametomib("thread.deallocatedp", deallocatedp_mib, &n) != 0)
		return false;
	n = 2;
	if (mallctlnametomib("thread.arena", arena_mib, &n) != 0)
		return false;
	n = 3;
	return mallctlnametomib("thread.tcache.flush", flush_mib, &n) == 0;
}

/* On failure nothing is left: the arenas made so far are destroyed (none
 * has allocated yet) and the reservation is unmapped. */
static int build_tiers(const tm_tierset *set, unsigned per_tier)
{
	if (reserve_tiers(set) < 0)
		return -1;
	for (int t = 0; t < set->count; t++)
		if (create_tier_arenas(t, per_tier) < 0) {
			tm_warn("cannot create the arenas of tier %d; running "
				"with one tier", t);
			destroy_tiers(t + 1);
			tm_os_release((void *)tm_heap_base,
				      (size_t)set->count << tm_heap_shift);
			return -1;
		}
	return 0;
}

int tm_arenas_create(const tm_tierset *set, unsigned per_tier)
{
	huge_advice = tm_opt_num(TM_OPT_HUGEPAGE);
	if (!counters_mib() ||
	    pthread_key_create(&exit_key, thread_exit) != 0)
		return -1;
	if (build_tiers(set, per_tier) < 0) {
		pthread_key_delete(exit_key);
		return -1;
	}
	pthread_atfork(fork_prepare, fork_parent, fork_child);
	tm_heap_count = set->count;
	tm_lower_base = tm_heaps[1].base;
	tm_lower_size = (uintptr_t)(set->count - 1) << tm_heap_shift;
	return 0;
}
