/* One jemalloc arena set per tier, all carved from one reservation of
 * address space: tier t owns [base + t << shift, base + (t + 1) << shift),
 * bound to its nodes, from which its extent hooks hand out extents, so the
 * tier of any pointer is one subtraction and one shift (tm_arena_tier_of).
 *
 * Each thread is bound (thread.arena) to one of tier 0's arenas: its tier-0
 * allocations take jemalloc's fast paths (malloc, free, the automatic
 * tcache) unchanged. The other tiers are reached with mallocx flags and
 * explicit tcaches (the automatic tcache is not per arena and would hand one
 * tier's memory to another), pooled across threads.
 *
 * Live bytes per tier are counted without a size lookup per call: jemalloc
 * already counts each thread's allocated and freed bytes, so tier 0's bytes
 * are those less what went to the other tiers, which is counted here, from
 * the change of jemalloc's counts across each call to another tier. Each
 * thread folds its counts into tm_place_state.used at the end of each window
 * of TM_SAMPLE_BYTES allocated, after each TM_SAMPLE_BYTES freed, at exit and
 * at fork (thread records, below); the fold also decides where the next
 * window goes (tm_place_window). */
#ifndef TM_ARENA_H
#define TM_ARENA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "allocator/tiers.h"

typedef struct {
	uintptr_t base, size;        /* the tier's part of the reservation */
	uint64_t nodes;
	const char *mempolicy;       /* what mbind accepted, for the stats */
	unsigned first_arena, narenas;
} tm_tier_heap;

/* Hidden, as declared (-fvisibility=hidden covers definitions only): free
 * reads them with one instruction each, not through the GOT. */
#define TM_ARENA_DATA extern __attribute__((visibility("hidden")))

TM_ARENA_DATA tm_tier_heap tm_heaps[TM_TIER_MAX];
TM_ARENA_DATA int tm_heap_count;
TM_ARENA_DATA uintptr_t tm_heap_base;
TM_ARENA_DATA unsigned tm_heap_shift;
/* The lower tiers' parts, all after tier 0's: [base, base + size), size 0
 * until the tiers exist. */
TM_ARENA_DATA uintptr_t tm_lower_base, tm_lower_size;

/* Create the arenas of every tier. On failure nothing is half-made (the
 * reservation and the arenas made so far are released) and the caller stays
 * on jemalloc's own arenas. Returns 0 or -1. */
int tm_arenas_create(const tm_tierset *set, unsigned arenas_per_tier);

/* -1 for memory outside the tiers (made before they existed). */
static inline int tm_arena_tier_of(const void *p)
{
	uintptr_t t = ((uintptr_t)p - tm_heap_base) >> tm_heap_shift;
	return t < (uintptr_t)tm_heap_count ? (int)t : -1;
}

/* Whether p is on a tier below tier 0: what free asks first. */
static inline bool tm_arena_on_lower(const void *p)
{
	return (uintptr_t)p - tm_lower_base < tm_lower_size;
}

/* ---- this thread ------------------------------------------------------------ */

/* The per-thread state the entry points test inline. A thread takes the
 * slow paths on its first call, when its window is over (every
 * TM_SAMPLE_BYTES allocated, as jemalloc counts them), to free another
 * tier's block, and always once it has no record (exited, or more threads
 * than records): those count each call themselves. A thread that frees
 * folds at its next free once jemalloc's thread events find it has freed
 * enough (tm_thread_fold_frees), not by a countdown in free. */
typedef struct tm_thread_rec tm_thread_rec;
enum { TM_THREAD_NEW, TM_THREAD_LIVE, TM_THREAD_DEAD };
typedef struct {
	/* Where jemalloc's counts of the thread's allocated and freed bytes
	 * are, as offsets from tm_self: with a record, into jemalloc's thread
	 * data; else at no_bytes. Offsets, not pointers: a pointer in tm_self's
	 * initial image is relocated at every exec, a page fault, while
	 * reading through an offset costs the same instructions. */
	intptr_t allocated_at, deallocated_at;
	uint64_t no_bytes;           /* always 0: every window is over */
	uint64_t slow_at;            /* allocated where the window ends */
	uint64_t tier0_at;           /* slow_at if the whole window may go to
	                                tier 0, else 0 */
	int window_tier;             /* the tier of the whole window, or -1;
	                                 the thread is bound to its arena */
	/* The blocks free sends to its slow path, [lower_base, lower_base +
	 * lower_size): with a record the lower tiers' (tm_lower_*), else, and
	 * when a fold is due, all (each free counts itself) */
	uintptr_t lower_base, lower_size;
	bool placing;                /* in malloc.c's placed paths, whose tier-0
	                                calls fall back: the windows' room is not
	                                theirs (arena.c) */
	int state;                   /* TM_THREAD_* */
	tm_thread_rec *rec;
	int flags[TM_TIER_MAX];      /* tiers >= 1: arena and tcache; 0 unset */
	unsigned arena[TM_TIER_MAX]; /* the thread's arena of each tier; 0 unset */
} tm_thread;

extern __thread tm_thread tm_self __attribute__((tls_model("initial-exec")));

/* jemalloc's count at offset at of tm_self (allocated_at, deallocated_at). */
static inline uint64_t tm_thread_counted(intptr_t at)
{
	return *(const uint64_t *)((uintptr_t)&tm_self + (uintptr_t)at);
}

static inline uint64_t tm_thread_allocated(void)
{
	return tm_thread_counted(tm_self.allocated_at);
}

static inline uint64_t tm_thread_deallocated(void)
{
	return tm_thread_counted(tm_self.deallocated_at);
}

/* Whether size more bytes would reach end (slow_at or tier0_at). Reads
 * jemalloc's counter and writes nothing: the tier-0 path stays jemalloc's. */
static inline bool tm_thread_reaches(uint64_t end, size_t size)
{
	return (int64_t)(tm_thread_allocated() + size - end) >= 0;
}

/* Account bytes (negative for a free) of tier >= 1, for this thread. */
void tm_thread_count(int tier, int64_t bytes);

/* Fold this thread's counts into the totals and place its next window;
 * registers the thread on its first call. */
void tm_thread_fold(void);

/* In jemalloc's thread events (about every 64 KiB a thread allocates or
 * frees): if this thread has freed TM_SAMPLE_BYTES since it last folded,
 * its next free takes the slow path and folds there, outside jemalloc's
 * calls (the slow paths count tiers around them: a fold in between would
 * take a lower tier's free for tier 0's). For threads that free more than
 * they allocate. */
void tm_thread_fold_frees(void);

/* Whether free's slow path folds: the thread's first call, or
 * tm_thread_fold_frees asked. */
bool tm_thread_fold_due(void);

/* Whether free sends p to its slow path (lower_base, lower_size). */
static inline bool tm_thread_free_slow(const void *p)
{
	return (uintptr_t)p - tm_self.lower_base < tm_self.lower_size;
}

/* mallocx flags that route to this thread's arena and tcache of tier >= 1;
 * the same flags free its memory (the arena bits are then ignored). In a
 * window on tier t (window_tier), the thread is bound to its arena of t
 * and jemalloc's automatic tcache serves t: flags 0. */
int tm_arena_choose(int tier);
static inline int tm_arena_flags(int tier)
{
	int f = tm_self.flags[tier];
	return f ? f : tm_arena_choose(tier);
}

/* Live bytes of a tier, exact: the folded total plus what live threads have
 * not folded yet. Takes a lock: for stats and tests, not for malloc. */
int64_t tm_arena_used(int tier);

/* Explicit tcaches jemalloc refused (it has about 4,000 per process). */
uint64_t tm_arena_tcache_refusals(void);

/* Extent allocations refused because a reservation was exhausted. */
uint64_t tm_arena_exhausted(int tier);


#endif
