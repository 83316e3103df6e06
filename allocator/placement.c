#include "allocator/placement.h"

#include <pthread.h>

#include "allocator/config.h"
#include "allocator/heap.h"

tm_placement tm_place_state;

static pthread_mutex_t writer = PTHREAD_MUTEX_INITIALIZER;
static atomic_bool site_opinions; /* written under writer */

__thread tm_place_tally tm_place_counts __attribute__((tls_model("initial-exec")));

int tm_place_ratio(tm_placement *pl, const tm_place_config *c)
{
	int64_t fast = tm_place_used(pl, 0), slow = 0;
	for (int t = 1; t < c->tiers; t++)
		slow += tm_place_used(pl, t);
	return fast * c->ratio_slow <= slow * c->ratio_fast ? 0 : 1;
}

static bool any_site_opinion(void)
{
	return atomic_load_explicit(&site_opinions, memory_order_relaxed);
}

int tm_place_window(tm_placement *pl, int64_t bytes)
{
	int kind = tm_place_quick(pl, (size_t)bytes);
	if (kind >= 0)
		return kind == TM_QUICK_TIER0 ? 0 : -1;
	tm_place_config c;
	tm_place_config_read(pl, &c);
	if (c.tiers < 2 || tm_place_used(pl, 0) + bytes <= c.quota)
		return -1; /* no quick answer, and not for the quota */
	/* As tm_place past the quota: dram-first goes to tier 1, and so does
	 * the heat policy unless a site may name a lower tier than that. */
	bool to_tier1 = c.policy == TM_POLICY_DRAM_FIRST ||
			(c.policy == TM_POLICY_HEAT && (c.tiers == 2 || !any_site_opinion()));
	return to_tier1 ? 1 : -1;
}

static void store_config(tm_placement *pl, const tm_place_config *c)
{
	__atomic_store_n(&pl->cfg.tiers, c->tiers, __ATOMIC_RELAXED);
	__atomic_store_n(&pl->cfg.policy, c->policy, __ATOMIC_RELAXED);
	__atomic_store_n(&pl->cfg.quota, c->quota, __ATOMIC_RELAXED);
	__atomic_store_n(&pl->cfg.ratio_fast, c->ratio_fast, __ATOMIC_RELAXED);
	__atomic_store_n(&pl->cfg.ratio_slow, c->ratio_slow, __ATOMIC_RELAXED);
	__atomic_store_n(&pl->cfg.threshold, c->threshold, __ATOMIC_RELAXED);
}

/* The heat policy without an opinion of any site places as dram-first. */
static int64_t quick_word(const tm_place_config *c)
{
	const int64_t most = INT64_MAX >> TM_QUICK_SHIFT;
	int64_t quota = c->tiers < 2 || c->quota > most ? most : c->quota;
	bool heat = c->policy == TM_POLICY_HEAT;
	int kind = c->tiers < 2 || c->policy == TM_POLICY_DRAM_FIRST ||
				   (heat && !any_site_opinion())
			   ? TM_QUICK_TIER0
		   : heat ? TM_QUICK_HEAT : TM_QUICK_NONE;
	return quota << TM_QUICK_SHIFT | kind;
}

static void store_quick(tm_placement *pl)
{
	tm_place_config c;
	tm_place_config_read(pl, &c);
	atomic_store_explicit(&pl->quick, quick_word(&c), memory_order_relaxed);
}

void tm_placement_configure(tm_placement *pl, int tiers, uint64_t capacity)
{
	int64_t q = tm_opt_num(TM_OPT_DRAM_LIMIT);
	tm_place_config c = {
		.tiers = tiers,
		.policy = (int)tm_opt_num(TM_OPT_POLICY),
		.quota = q >= 0 ? q : (int64_t)(capacity / 100 *
				       (uint64_t)tm_opt_num2(TM_OPT_DRAM_LIMIT)),
		.ratio_fast = tm_opt_num(TM_OPT_RATIO),
		.ratio_slow = tm_opt_num2(TM_OPT_RATIO),
		.threshold = tm_opt_num(TM_OPT_THRESHOLD),
	};
	pthread_mutex_lock(&writer);
	atomic_fetch_add_explicit(&pl->seq, 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	store_config(pl, &c);
	atomic_fetch_add_explicit(&pl->seq, 1, memory_order_release);
	store_quick(pl);
	pthread_mutex_unlock(&writer);
}

/* A locked add only for a count that changed: threads fold often. */
static void add_count(_Atomic uint64_t *total, uint64_t *n)
{
	if (*n)
		atomic_fetch_add_explicit(total, *n, memory_order_relaxed);
	*n = 0;
}

void tm_place_fold(tm_placement *pl)
{
	add_count(&pl->quota_fallbacks, &tm_place_counts.quota_fallbacks);
	add_count(&pl->site_choices, &tm_place_counts.site_choices);
}

/* ---- the policy's view (heap.h) ---------------------------------------------- */

void tm_heap_account(int tier, int64_t bytes)
{
	if (bytes)
		atomic_fetch_add_explicit(&tm_place_state.used[tier], bytes,
					  memory_order_relaxed);
}

void tm_heap_site_opinions(bool any)
{
	pthread_mutex_lock(&writer);
	atomic_store_explicit(&site_opinions, any, memory_order_relaxed);
	store_quick(&tm_place_state);
	pthread_mutex_unlock(&writer);
}

int64_t tm_heap_quota(void)
{
	tm_place_config c;
	tm_place_config_read(&tm_place_state, &c);
	return c.quota;
}
