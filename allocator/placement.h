/* Which tier a new allocation goes to: the baseline policies (dram-first,
 * ratio, threshold), the heat policy's site predictions, and the DRAM quota.
 * The decision is pure arithmetic over the state below, so it is unit-tested
 * without NUMA. */
#ifndef TM_PLACEMENT_H
#define TM_PLACEMENT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "allocator/config.h"
#include "include/tiermalloc.h"

/* What tm_placement_configure sets; malloc reads it as one consistent
 * snapshot (tm_place_config_read), never half old and half new. */
typedef struct {
	int tiers;
	int policy;              /* TM_POLICY_* */
	int64_t quota;           /* bytes allowed on tier 0 */
	int64_t ratio_fast, ratio_slow;
	int64_t threshold;
} tm_place_config;

/* The common answers in one word, written with the configuration: tier 0,
 * unless tier 0 would pass its quota or (TM_QUICK_HEAT) the heat policy has
 * an opinion of the site. TM_QUICK_NONE: always ask tm_place. */
enum { TM_QUICK_NONE, TM_QUICK_TIER0, TM_QUICK_HEAT };
#define TM_QUICK_SHIFT 2 /* quick = quota << TM_QUICK_SHIFT | kind */

typedef struct {
	_Atomic unsigned seq;    /* odd while the configuration is written */
	tm_place_config cfg;
	_Atomic int64_t quick;
	/* Live heap bytes per tier, as the allocator folds them in (arena.h),
	 * plus what the migrator moved (promotions add to tier 0, demotions
	 * subtract). */
	_Atomic int64_t used[TM_TIER_MAX];
	_Atomic uint64_t quota_fallbacks; /* sent lower because of the quota */
	_Atomic uint64_t site_choices;    /* heat policy followed a site */
} tm_placement;

extern tm_placement tm_place_state;

/* This thread's counts, added to the totals by tm_place_fold. */
typedef struct {
	uint64_t quota_fallbacks, site_choices;
} tm_place_tally;

extern __thread tm_place_tally tm_place_counts
	__attribute__((tls_model("initial-exec")));

/* Re-read policy, quota, ratio and threshold from the options; capacity is
 * tier 0's size, for quotas given as a percentage. */
void tm_placement_configure(tm_placement *pl, int tiers, uint64_t capacity);

/* A sequence lock: the writer makes seq odd, writes, makes it even again;
 * a reader that saw it odd or changed reads again. Inline: malloc reads it
 * on every call. */
static inline void tm_place_config_read(tm_placement *pl, tm_place_config *out)
{
	unsigned seq;
	do {
		seq = atomic_load_explicit(&pl->seq, memory_order_acquire);
		__atomic_load(&pl->cfg.tiers, &out->tiers, __ATOMIC_RELAXED);
		__atomic_load(&pl->cfg.policy, &out->policy, __ATOMIC_RELAXED);
		__atomic_load(&pl->cfg.quota, &out->quota, __ATOMIC_RELAXED);
		__atomic_load(&pl->cfg.ratio_fast, &out->ratio_fast, __ATOMIC_RELAXED);
		__atomic_load(&pl->cfg.ratio_slow, &out->ratio_slow, __ATOMIC_RELAXED);
		__atomic_load(&pl->cfg.threshold, &out->threshold, __ATOMIC_RELAXED);
		atomic_thread_fence(memory_order_acquire);
	} while (__builtin_expect((seq & 1) ||
		 seq != atomic_load_explicit(&pl->seq, memory_order_relaxed), 0));
}

static inline int64_t tm_place_used(tm_placement *pl, int tier)
{
	return atomic_load_explicit(&pl->used[tier], memory_order_relaxed);
}

/* Tier 0's quota when the quick answer applies to this allocation, by kind
 * (TM_QUICK_*), or -1: ask tm_place. */
static inline int tm_place_quick(tm_placement *pl, size_t size)
{
	int64_t quick = atomic_load_explicit(&pl->quick, memory_order_relaxed);
	int64_t room = (quick >> TM_QUICK_SHIFT) - tm_place_used(pl, 0);
	int kind = (int)(quick & ((1 << TM_QUICK_SHIFT) - 1));
	return kind != TM_QUICK_NONE && (int64_t)size <= room ? kind : -1;
}

/* The tier every allocation of a window of bytes goes to, decided once for
 * the window: tier 0 while it has room for the window and no site needs
 * asking; tier 1 when the quota leaves no room for it and the policy would
 * send everything there; else -1, each allocation asks tm_place. */
int tm_place_window(tm_placement *pl, int64_t bytes);

/* Keep fast:slow bytes at ratio_fast:ratio_slow; ties go to the fast tier. */
int tm_place_ratio(tm_placement *pl, const tm_place_config *c);

/* Tier for an allocation of size bytes from call site (return address).
 * site_tier is the heat policy's opinion (-1: none). */
static inline int tm_place(tm_placement *pl, size_t size, int site_tier)
{
	tm_place_config c;
	tm_place_config_read(pl, &c);
	if (c.tiers < 2)
		return 0;
	int tier = 0;
	if (c.policy == TM_POLICY_HEAT && site_tier >= 0 && site_tier < c.tiers) {
		tier = site_tier;
		tm_place_counts.site_choices++;
	} else if (c.policy == TM_POLICY_RATIO) {
		tier = tm_place_ratio(pl, &c);
	} else if (c.policy == TM_POLICY_THRESHOLD) {
		tier = (int64_t)size >= c.threshold;
	}
	if (tier == 0 && tm_place_used(pl, 0) + (int64_t)size > c.quota) {
		tm_place_counts.quota_fallbacks++;
		tier = 1;
	}
	return tier;
}

/* Add this thread's counts of quota fallbacks and site choices to the
 * totals (they are counted per thread: no shared write per malloc). */
void tm_place_fold(tm_placement *pl);

#endif
