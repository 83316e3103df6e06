/* The malloc family. With one tier every call goes straight to jemalloc's
 * own functions (linked in under tm_je_* names, since ours take theirs); with
 * several, allocations go to the arenas of the tier placement chooses.
 *
 * Semantics are glibc's where users rely on them: malloc(0) is a unique
 * pointer, realloc(p, 0) frees, overflow and huge sizes give NULL + ENOMEM,
 * bad alignments EINVAL. jemalloc's *allocx calls take no size 0 and set no
 * errno, so those two are handled here. */
#include "malloc.h"

#include <errno.h>
#include <jemalloc/jemalloc.h>
#include <string.h>
#include <unistd.h>

#include "arena.h"
#include "config.h"
#include "placement.h"
#include "policy.h"
#include "prim/os.h"
#include "runtime.h"

#define SITE() ((uintptr_t)__builtin_return_address(0))

/* Blocks this big get transparent huge pages on their aligned interior. In
 * these VMs a page fault costs microseconds, and jemalloc hands big extents
 * back to the OS (or zeroes them for calloc) with madvise, so a multi-MiB
 * buffer faults 4 KiB at a time, again and again: huge pages cut that 512
 * times for memory the program asked for anyway. TIERMALLOC_HUGEPAGE=0
 * turns it off. */
#define HUGE_ADVICE_MIN (2UL << 20)
static bool huge_advice_on;

static inline void *huge_advice(void *p, size_t size)
{
	if (TM_UNLIKELY(size >= HUGE_ADVICE_MIN) && p && huge_advice_on)
		tm_os_advise_huge(p, size);
	return p;
}

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
	huge_advice_on = tm_opt_num(TM_OPT_HUGEPAGE);
	tiered = use_tiers;
}

/* ---- several tiers -------------------------------------------------------- */

static __thread int64_t sample_countdown
	__attribute__((tls_model("initial-exec"))) = TM_SAMPLE_BYTES;

static void note_alloc(void *p, int tier, uintptr_t site)
{
	size_t usable = sallocx(p, 0);
	tm_place_account(&tm_place_state, tier, (int64_t)usable);
	if ((sample_countdown -= (int64_t)usable) < 0) {
		sample_countdown = TM_SAMPLE_BYTES;
		tm_policy_sample(p, usable, site, tier);
	}
}

/* The placement's choice first, then every other tier, fastest first: a
 * full or exhausted tier never fails an allocation another could serve. */
static void *tiered_alloc(size_t size, int flags, uintptr_t site)
{
	int tiers = tm_heap_count;
	int site_tier = tm_place_rule(&tm_place_state, policy) == TM_POLICY_HEAT
				? tm_policy_site_tier(site, size) : -1;
	int first = tm_place(&tm_place_state, size, site_tier);
	for (int i = 0; i < tiers; i++) {
		int t = i == 0 ? first : (i - 1 < first ? i - 1 : i);
		void *p = mallocx(size ? size : 1, flags | tm_arena_flags(t));
		if (p) {
			note_alloc(p, t, site);
			return p;
		}
	}
	return nomem();
}

static void tiered_free(void *p)
{
	int t = tm_arena_tier_of(p);
	if (t < 0) { /* made before the tiers existed */
		if (p)
			tm_je_free(p);
		return;
	}
	tm_place_account(&tm_place_state, t, -(int64_t)sallocx(p, 0));
	dallocx(p, tm_arena_free_flags(t));
}

/* Move to wherever placement now says, e.g. when growth would break the
 * DRAM quota or the tier is full. */
static void *tiered_move(void *p, size_t old, size_t size, uintptr_t site)
{
	void *q = tiered_alloc(size, 0, site);
	if (q) {
		memcpy(q, p, old < size ? old : size);
		tiered_free(p);
	}
	return q;
}

static void *tiered_realloc(void *p, size_t size, uintptr_t site)
{
	int t = tm_arena_tier_of(p);
	if (t < 0)
		return je_realloc(p, size);
	int64_t old = (int64_t)sallocx(p, 0);
	tm_placement *pl = &tm_place_state;
	if (t == 0 && (int64_t)size > old &&
	    atomic_load(&pl->used[0]) + (int64_t)size - old > tm_place_rule(pl, quota))
		return tiered_move(p, (size_t)old, size, site);
	void *q = rallocx(p, size, tm_arena_flags(t));
	if (!q)
		return tiered_move(p, (size_t)old, size, site);
	tm_place_account(pl, t, (int64_t)sallocx(q, 0) - old);
	return q;
}

void *tm_alloc(size_t size, int flags, uintptr_t site)
{
	tm_services_poll(size);
	if (tiered)
		return huge_advice(tiered_alloc(size, flags, site), size);
	if (!flags)
		return huge_advice(tm_je_malloc(size), size);
	void *p = mallocx(size ? size : 1, flags);
	return p ? huge_advice(p, size) : nomem();
}

void tm_free(void *p)
{
	if (tiered)
		tiered_free(p);
	else
		tm_je_free(p);
}

/* Sized free (C++ sized delete): jemalloc skips the size lookup. */
void tm_free_sized(void *p, size_t size)
{
	if (tiered)
		tiered_free(p);
	else if (p)
		sdallocx(p, size ? size : 1, 0);
}

/* ---- the entry points ------------------------------------------------------ */

TM_EXPORT void *malloc(size_t size)
{
	tm_services_poll(size);
	if (TM_LIKELY(!tiered))
		return huge_advice(tm_je_malloc(size), size);
	return huge_advice(tiered_alloc(size, 0, SITE()), size);
}

TM_EXPORT void free(void *p)
{
	if (TM_LIKELY(!tiered))
		tm_je_free(p);
	else
		tiered_free(p);
}

TM_EXPORT void *calloc(size_t n, size_t size)
{
	size_t total;
	tm_services_poll(n * size); /* the count only: overflow is harmless */
	if (__builtin_mul_overflow(n, size, &total))
		return nomem();
	if (TM_LIKELY(!tiered))
		return huge_advice(tm_je_calloc(n, size), total);
	return huge_advice(tiered_alloc(total, MALLOCX_ZERO, SITE()), total);
}

TM_EXPORT void *realloc(void *p, size_t size)
{
	if (p && size == 0) {
		free(p);
		return NULL;
	}
	tm_services_poll(size);
	if (TM_LIKELY(!tiered))
		return huge_advice(je_realloc(p, size), size);
	if (!p)
		return huge_advice(tiered_alloc(size, 0, SITE()), size);
	return huge_advice(tiered_realloc(p, size, SITE()), size);
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
		align = align < 2 ? 1
				  : (size_t)1 << (sizeof(long) * 8 - __builtin_clzl(align - 1));
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
	return aligned((size_t)getpagesize(), size, SITE());
}

/* glibc declares pvalloc only in <malloc.h>, which clashes with jemalloc's. */
void *pvalloc(size_t size);

TM_EXPORT void *pvalloc(size_t size)
{
	size_t page = (size_t)getpagesize();
	if (size > SIZE_MAX - page)
		return nomem();
	return aligned(page, (size + page - 1) & ~(page - 1), SITE());
}

TM_EXPORT size_t malloc_usable_size(void *p)
{
	return p ? sallocx(p, 0) : 0;
}
