/* The malloc family. With one tier every call goes straight to jemalloc's
 * own functions (linked in under tm_je_* names, since ours take theirs); with
 * several, allocations go to the arenas of the tier placement chooses.
 *
 * Semantics are glibc's where users rely on them: malloc(0) is a unique
 * pointer, realloc(p, 0) frees, overflow and huge sizes give NULL + ENOMEM,
 * bad alignments EINVAL. jemalloc's *allocx calls take no size 0 and set no
 * errno, so those two are handled here. */
#include "allocator/malloc.h"

#include <errno.h>
#include <jemalloc/jemalloc.h>
#include <string.h>
#include <unistd.h>

#include "allocator/arena.h"
#include "allocator/config.h"
#include "allocator/placement.h"
#include "allocator/plugin.h"
#include "allocator/prim/os.h"
#include "allocator/runtime.h"
#include "allocator/services.h"

#define SITE() ((uintptr_t)__builtin_return_address(0))

/* ---- one tier: jemalloc's own functions ---------------------------------- */

/* jemalloc's malloc family, renamed where it is linked in (TM_JEMALLOC in
 * the Makefile). */
void *tm_je_malloc(size_t size);
void tm_je_free(void *p);
void *tm_je_calloc(size_t n, size_t size);
void *tm_je_realloc(void *p, size_t size);

static bool tiered;

static void *nomem(void)
{
	errno = ENOMEM;
	return NULL;
}

/* jemalloc's realloc returns NULL without setting errno when the size is past
 * its largest size class (SIZE_MAX, PTRDIFF_MAX + 1, ...): say ENOMEM here. */
static void *je_realloc(void *p, size_t size)
{
	void *q = tm_je_realloc(p, size);
	return q ? q : nomem();
}

void tm_malloc_bind(bool use_tiers)
{
	tiered = use_tiers;
}

/* ---- several tiers -------------------------------------------------------- */

/* Tier 0 is the arena each thread is bound to (arena.h): its calls are
 * jemalloc's own, counted by jemalloc. The other tiers take their arena's
 * flags and count their bytes here. The end of a thread's window sends it
 * to the slow paths now and then, to fold its counts, sample an allocation
 * and place its next window (a thread that frees folds in jemalloc's thread
 * events, below). */

static __thread uint64_t unsampled __attribute__((tls_model("initial-exec")));

/* Tier 0 is the thread's bound arena, but in a window on a lower tier: then
 * its tier-0 arena, named, without a tcache. */
static inline int tier0_flags(void)
{
	return tm_self.window_tier > 0
		       ? MALLOCX_ARENA(tm_self.arena[0]) | MALLOCX_TCACHE_NONE : 0;
}

/* A thread with a record counts the other tiers' bytes from jemalloc's own
 * counts read around the call (exact, and no size lookup); one without
 * looks the size up. */
static __attribute__((noinline)) void *tier_allocx(int t, size_t size, int flags)
{
	if (t == 0)
		return mallocx(size ? size : 1, flags | tier0_flags());
	flags |= tm_arena_flags(t);
	uint64_t before = tm_thread_allocated();
	void *p = mallocx(size ? size : 1, flags);
	if (p)
		tm_thread_count(t, tm_self.rec ? (int64_t)(tm_thread_allocated() - before)
					       : (int64_t)sallocx(p, 0));
	return p;
}

static inline void *tier_alloc(int t, size_t size, int flags)
{
	if (TM_LIKELY(t == 0 && !flags && tm_self.window_tier <= 0))
		return tm_je_malloc(size);
	return tier_allocx(t, size, flags);
}

/* The placement's choice failed: every other tier, fastest first. A full
 * or exhausted tier never fails an allocation another could serve. */
static __attribute__((noinline)) void *alloc_fallback(size_t size, int flags,
						      int first, int *tier)
{
	for (int t = 0; t < tm_heap_count; t++) {
		void *p = t == first ? NULL : tier_alloc(t, size, flags);
		if (p) {
			*tier = t;
			return p;
		}
	}
	return nomem();
}

/* The quick answer where it applies (tier 0), else the full decision. */
static inline int choose_tier(size_t size, uintptr_t site)
{
	int kind = tm_place_quick(&tm_place_state, size);
	int site_tier = kind == TM_QUICK_HEAT ||
			(kind < 0 && tm_place_state.cfg.policy == TM_POLICY_HEAT)
				? tm_heat->site_tier(site) : -1;
	if (TM_LIKELY(kind > 0 && site_tier < 0))
		return 0;
	return tm_place(&tm_place_state, size, site_tier);
}

static inline void *placed_alloc(size_t size, int flags, uintptr_t site,
				 int *tier)
{
	*tier = choose_tier(size, site);
	void *p = tier_alloc(*tier, size, flags);
	return TM_LIKELY(p != NULL) ? p : alloc_fallback(size, flags, *tier, tier);
}

/* Every TM_SAMPLE_BYTES: fold, and show the policy one allocation. A thread
 * without a record comes here every time and counts tier 0 itself. */
static __attribute__((noinline)) void *alloc_slow(size_t size, int flags,
						   uintptr_t site)
{
	tm_thread_fold();
	int t;
	void *p = placed_alloc(size, flags, site, &t);
	if (!p)
		return NULL;
	size_t usable = sallocx(p, 0);
	if (!tm_self.rec && t == 0)
		tm_thread_count(0, (int64_t)usable);
	unsampled = tm_self.rec ? TM_SAMPLE_BYTES : unsampled + usable;
	if (unsampled >= TM_SAMPLE_BYTES) {
		unsampled = 0;
		tm_heat->sample(p, usable, site);
	}
	return p;
}

/* In a window placed whole on lower tier t (the DRAM quota reached), the
 * thread is bound to its arena of t: jemalloc's own paths, without asking
 * placement. Its tcache may still hold tier-0 blocks freed in the window:
 * the block's address says which tier counts it. */
static void *window_alloc(int t, size_t size, int flags)
{
	tm_place_counts.quota_fallbacks++;
	uint64_t before = tm_thread_allocated();
	void *p = flags ? mallocx(size ? size : 1, flags) : tm_je_malloc(size);
	if (TM_UNLIKELY(p == NULL))
		return alloc_fallback(size, flags, t, &t);
	if (tm_arena_on_lower(p))
		tm_thread_count(tm_arena_tier_of(p), (int64_t)(tm_thread_allocated() - before));
	return p;
}

/* The paths below fall back to the next tier when tier 0 fails: they leave
 * tier 0's room to the windows (arena.c). Returns what to restore. */
static bool begin_placing(void)
{
	bool was = tm_self.placing;
	tm_self.placing = true;
	return was;
}

/* A window on a lower tier makes no call of a tier-0 window, and needs no
 * flag: saved and restored around every call there (the DRAM quota full),
 * it cost 0.17x jemalloc's time (2.67x against 2.50x, interleaved runs). */
static __attribute__((noinline)) void *tiered_alloc(size_t size, int flags,
						     uintptr_t site)
{
	bool slow = tm_thread_reaches(tm_self.slow_at, size);
	int t = tm_self.window_tier;
	if (TM_LIKELY(!slow && t > 0))
		return window_alloc(t, size, flags);
	bool was = begin_placing();
	void *p = slow ? alloc_slow(size, flags, site) : placed_alloc(size, flags, site, &t);
	tm_self.placing = was;
	return p;
}

/* Within a window the last fold found wholly on tier 0 (room under the
 * quota and in tier 0's reservation, no site opinions) placement has
 * nothing to decide, and a failure would be every tier's: malloc is
 * jemalloc's, as a tail call. */
static inline bool in_tier0_window(size_t size)
{
	return !tm_thread_reaches(tm_self.tier0_at, size);
}

/* Memory from before the tiers counts as tier 0, as jemalloc counts it. */
static inline int count_tier(int t)
{
	return t > 0 ? t : 0;
}

/* Without flags, jemalloc's free: dallocx has no fast path. */
static void je_free(void *p, size_t size, int flags)
{
	if (size)
		sdallocx(p, size, flags);
	else if (flags)
		dallocx(p, flags);
	else
		tm_je_free(p);
}

/* Frees of other tiers, every free of a thread without a record (its first
 * included), which counts each itself, with a size lookup, and the free
 * after a fold was asked for; one with a record counts the other tiers'
 * from jemalloc's count of its frees. */
static __attribute__((noinline)) void free_slow(void *p, size_t size)
{
	if (!p)
		return;
	if (tm_thread_fold_due())
		tm_thread_fold();
	int t = tm_arena_tier_of(p);
	if (!tm_self.rec)
		tm_thread_count(count_tier(t), -(int64_t)sallocx(p, 0));
	if (t <= 0) {
		je_free(p, size, 0);
		return;
	}
	uint64_t before = tm_thread_deallocated();
	je_free(p, size, t == tm_self.window_tier ? 0 : tm_arena_flags(t));
	if (tm_self.rec)
		tm_thread_count(t, -(int64_t)(tm_thread_deallocated() - before));
}

/* size: the requested size when the caller knows it (sized delete), or 0.
 * NULL is outside every tier: jemalloc's free takes it. */
static inline void free_block(void *p, size_t size)
{
	if (TM_UNLIKELY(tm_thread_free_slow(p)))
		free_slow(p, size);
	else
		je_free(p, size, 0);
}

/* Move to wherever placement now says, e.g. when growth would break the
 * DRAM quota or the tier is full. */
static void *tiered_move(void *p, size_t old, size_t size, uintptr_t site)
{
	void *q = tiered_alloc(size, 0, site);
	if (q) {
		memcpy(q, p, old < size ? old : size);
		free_block(p, 0);
	}
	return q;
}

static void *tier_realloc(int t, void *p, size_t size)
{
	return t <= 0 ? tm_je_realloc(p, size) : rallocx(p, size, tm_arena_flags(t));
}

/* jemalloc counts tier 0's bytes for threads with a record; the others,
 * and the other tiers, count the usable sizes here. */
static void *realloc_placed(void *p, size_t size, uintptr_t site)
{
	if (TM_UNLIKELY(tm_thread_reaches(tm_self.slow_at, size)))
		tm_thread_fold();
	int t = tm_arena_tier_of(p);
	int64_t old = (int64_t)sallocx(p, 0);
	tm_placement *pl = &tm_place_state;
	if (t == 0 && (int64_t)size > old &&
	    tm_place_used(pl, 0) + (int64_t)size - old > pl->cfg.quota)
		return tiered_move(p, (size_t)old, size, site);
	void *q = tier_realloc(t, p, size);
	if (!q)
		return tiered_move(p, (size_t)old, size, site);
	/* jemalloc's realloc moves to the thread's arena: in a lower window,
	 * another tier's. */
	int moved_to = count_tier(tm_arena_tier_of(q));
	if (t > 0 || moved_to > 0 || !tm_self.rec) {
		tm_thread_count(count_tier(t), -old);
		tm_thread_count(moved_to, (int64_t)sallocx(q, 0));
	}
	return q;
}

/* Tier 0's block in a tier-0 window is jemalloc's realloc, as malloc is. */
static void *tiered_realloc(void *p, size_t size, uintptr_t site)
{
	if (TM_LIKELY(!tm_arena_on_lower(p) && in_tier0_window(size))) {
		void *q = tm_je_realloc(p, size);
		if (TM_LIKELY(q != NULL))
			return q;
	}
	bool was = begin_placing();
	void *q = realloc_placed(p, size, site);
	tm_self.placing = was;
	return q;
}

void *tm_alloc(size_t size, int flags, uintptr_t site)
{
	tm_services_poll(size);
	if (tiered)
		return tiered_alloc(size, flags, site);
	if (!flags)
		return tm_je_malloc(size);
	void *p = mallocx(size ? size : 1, flags);
	return p ? p : nomem();
}

void tm_free(void *p)
{
	if (tiered)
		free_block(p, 0);
	else
		tm_je_free(p);
}

/* Sized free (C++ sized delete): jemalloc skips the size lookup. */
void tm_free_sized(void *p, size_t size)
{
	if (tiered)
		free_block(p, size ? size : 1);
	else if (p)
		sdallocx(p, size ? size : 1, 0);
}

/* ---- the entry points ------------------------------------------------------ */

/* malloc while the services wait to start: out of line, so that malloc
 * itself needs no stack frame. */
static __attribute__((noinline)) void *malloc_starting(size_t size, uintptr_t site)
{
	tm_services_tick(size);
	if (!tiered || in_tier0_window(size))
		return tm_je_malloc(size);
	return tiered_alloc(size, 0, site);
}

/* The site (the return address) is read in the branches that use it: on
 * the fast path it would be one load more. */
TM_EXPORT void *malloc(size_t size)
{
	if (tm_services_waiting())
		return malloc_starting(size, SITE());
	if (TM_LIKELY(!tiered || in_tier0_window(size)))
		return tm_je_malloc(size);
	return tiered_alloc(size, 0, SITE());
}

TM_EXPORT void free(void *p)
{
	if (TM_LIKELY(!tiered))
		tm_je_free(p);
	else
		free_block(p, 0);
}

/* jemalloc's thread events (its thread cache's garbage collection among
 * them) come out of its fast paths every 64 KiB or so that a thread
 * allocates or frees: a thread that frees more than it allocates is asked
 * to fold here, not by a countdown in free. Linked in with --wrap (TM_LIBS,
 * Makefile); jemalloc's own handlers have run. */
void __real_je_te_event_trigger(void *tsd, void *ctx);
void __wrap_je_te_event_trigger(void *tsd, void *ctx);
void __wrap_je_te_event_trigger(void *tsd, void *ctx)
{
	__real_je_te_event_trigger(tsd, ctx);
	if (tiered)
		tm_thread_fold_frees();
}

TM_EXPORT void *calloc(size_t n, size_t size)
{
	size_t total;
	tm_services_poll(n * size); /* the count only: overflow is harmless */
	if (__builtin_mul_overflow(n, size, &total))
		return nomem();
	if (TM_LIKELY(!tiered || in_tier0_window(total)))
		return tm_je_calloc(n, size);
	return tiered_alloc(total, MALLOCX_ZERO, SITE());
}

TM_EXPORT void *realloc(void *p, size_t size)
{
	if (p && size == 0) {
		free(p);
		return NULL;
	}
	tm_services_poll(size);
	if (TM_LIKELY(!tiered))
		return je_realloc(p, size);
	if (!p)
		return tiered_alloc(size, 0, SITE());
	return tiered_realloc(p, size, SITE());
}

TM_EXPORT void *reallocarray(void *p, size_t n, size_t size)
{
	size_t total;
	if (__builtin_mul_overflow(n, size, &total))
		return nomem();
	return realloc(p, total);
}

static bool power_of_two(size_t a)
{
	return a && !(a & (a - 1));
}

/* memalign and aligned_alloc as glibc's: an alignment that is no power of
 * two is rounded up to one (0 and 1 ask for none); one no power of two can
 * hold is EINVAL. */
static void *aligned(size_t align, size_t size, uintptr_t site)
{
	if (align > SIZE_MAX / 2 + 1) {
		errno = EINVAL;
		return NULL;
	}
	if (!power_of_two(align))
		align = align < 2 ? 1 : (size_t)1 << (64 - __builtin_clzl(align - 1));
	return tm_alloc(size, MALLOCX_ALIGN(align), site);
}

TM_EXPORT int posix_memalign(void **out, size_t align, size_t size)
{
	if (!power_of_two(align) || align % sizeof(void *))
		return EINVAL;
	int saved = errno;
	void *p = tm_alloc(size, MALLOCX_ALIGN(align), SITE());
	errno = saved; /* posix_memalign reports through its result only */
	if (!p)
		return ENOMEM;
	*out = p;
	return 0;
}

TM_EXPORT void *aligned_alloc(size_t align, size_t size)
{
	return aligned(align, size, SITE());
}

TM_EXPORT void *memalign(size_t align, size_t size)
{
	return aligned(align, size, SITE());
}

TM_EXPORT void *valloc(size_t size)
{
	return aligned(tm_os_page_size(), size, SITE());
}

/* glibc declares pvalloc only in <malloc.h>, which clashes with jemalloc's. */
void *pvalloc(size_t size);

TM_EXPORT void *pvalloc(size_t size)
{
	size_t page = tm_os_page_size();
	if (size > SIZE_MAX - page)
		return nomem();
	return aligned(page, (size + page - 1) & ~(page - 1), SITE());
}

TM_EXPORT size_t malloc_usable_size(void *p)
{
	return p ? sallocx(p, 0) : 0;
}
