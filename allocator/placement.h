/* Which tier a new allocation goes to: the baseline policies (dram-first,
 * ratio, threshold), the heat policy's site predictions, and the DRAM quota.
 * The decision is pure arithmetic over the state below, so it is unit-tested
 * without NUMA. */
#ifndef TM_PLACEMENT_H
#define TM_PLACEMENT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "tiermalloc.h"

/* The rules, as one consistent set: tierstat set may change them while
 * malloc reads them, and a ratio of one setting's fast part and the
 * other's slow part is neither. */
typedef struct {
	int64_t tiers;
	int64_t policy;          /* TM_POLICY_* */
	int64_t quota;           /* bytes allowed on tier 0 */
	int64_t ratio_fast, ratio_slow;
	int64_t threshold;
} tm_place_rules;

typedef struct {
	/* Written under a sequence count (odd while being written), each
	 * field an atomic word so that a reader racing the writer is no data
	 * race; readers retry until they saw one whole set. */
	_Atomic unsigned rules_seq;
	_Atomic int64_t rules[sizeof(tm_place_rules) / sizeof(int64_t)];
	/* Live heap bytes per tier, as the allocator accounts them, plus what
	 * the migrator moved (promotions add to tier 0, demotions subtract). */
	_Atomic int64_t used[TM_TIER_MAX];
	_Atomic uint64_t allocs[TM_TIER_MAX];
	_Atomic uint64_t quota_fallbacks; /* sent lower because of the quota */
	_Atomic uint64_t site_choices;    /* heat policy followed a site */
} tm_placement;

extern tm_placement tm_place_state;

/* A consistent copy of the rules; setting them (one writer at a time). */
void tm_place_rules_read(tm_placement *pl, tm_place_rules *out);
void tm_place_rules_set(tm_placement *pl, const tm_place_rules *in);

/* One rule alone (a single word is never torn): RULE is a field name. */
#define tm_place_rule(pl, RULE)                                              \
	atomic_load_explicit(&(pl)->rules[offsetof(tm_place_rules, RULE) /     \
					   sizeof(int64_t)],                   \
			     memory_order_relaxed)

/* Tier for an allocation of size bytes from call site (return address).
 * site_tier is the heat policy's opinion (-1: none). */
int tm_place(tm_placement *pl, size_t size, int site_tier);

/* Re-read policy, quota, ratio and threshold from the options; capacity is
 * tier 0's size, for quotas given as a percentage. */
void tm_placement_configure(tm_placement *pl, int tiers, uint64_t capacity);

/* Account bytes (negative on free) to a tier. Batched per thread. */
void tm_place_account(tm_placement *pl, int tier, int64_t bytes);

/* Flush this thread's batched accounting (thread exit, stats reads). */
void tm_place_flush(tm_placement *pl);

#endif
