#include "placement.h"

#include "config.h"

/* Per-thread batching of the byte counts: one atomic add per this many bytes
 * of change, so threads do not fight over one cache line. The quota is
 * therefore exact to within this much per thread. */
#define ACCOUNT_BATCH (256 << 10)

tm_placement tm_place_state;

typedef struct {
	int64_t bytes[TM_TIER_MAX];
	uint64_t allocs[TM_TIER_MAX];
} thread_account;

static __thread thread_account acct __attribute__((tls_model("initial-exec")));

static int64_t used(tm_placement *pl, int tier)
{
	return atomic_load_explicit(&pl->used[tier], memory_order_relaxed);
}

#define RULE_WORDS (sizeof(tm_place_rules) / sizeof(int64_t))

void tm_place_rules_read(tm_placement *pl, tm_place_rules *out)
{
	int64_t *w = (int64_t *)out;
	unsigned seq;
	do {
		while ((seq = atomic_load_explicit(&pl->rules_seq,
						   memory_order_acquire)) & 1)
			;
		for (size_t i = 0; i < RULE_WORDS; i++)
			w[i] = atomic_load_explicit(&pl->rules[i], memory_order_relaxed);
		atomic_thread_fence(memory_order_acquire);
	} while (atomic_load_explicit(&pl->rules_seq, memory_order_relaxed) != seq);
}

void tm_place_rules_set(tm_placement *pl, const tm_place_rules *in)
{
	const int64_t *w = (const int64_t *)in;
	unsigned seq = atomic_load_explicit(&pl->rules_seq, memory_order_relaxed);
	atomic_store_explicit(&pl->rules_seq, seq + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	for (size_t i = 0; i < RULE_WORDS; i++)
		atomic_store_explicit(&pl->rules[i], w[i], memory_order_relaxed);
	atomic_store_explicit(&pl->rules_seq, seq + 2, memory_order_release);
}

static int fits_quota(tm_placement *pl, const tm_place_rules *r, size_t size)
{
	return used(pl, 0) + (int64_t)size <= r->quota;
}

/* Keep fast:slow bytes at ratio_fast:ratio_slow; ties go to the fast tier. */
static int ratio_tier(tm_placement *pl, const tm_place_rules *r)
{
	int64_t fast = used(pl, 0), slow = 0;
	for (int t = 1; t < r->tiers; t++)
		slow += used(pl, t);
	return fast * r->ratio_slow <= slow * r->ratio_fast ? 0 : 1;
}

int tm_place(tm_placement *pl, size_t size, int site_tier)
{
	tm_place_rules r;
	tm_place_rules_read(pl, &r);
	if (r.tiers < 2)
		return 0;
	int tier = 0;
	switch (r.policy) {
	case TM_POLICY_RATIO:
		tier = ratio_tier(pl, &r);
		break;
	case TM_POLICY_THRESHOLD:
		tier = (int64_t)size >= r.threshold ? 1 : 0;
		break;
	case TM_POLICY_HEAT:
		if (site_tier >= 0 && site_tier < r.tiers) {
			tier = site_tier;
			atomic_fetch_add_explicit(&pl->site_choices, 1,
						  memory_order_relaxed);
		}
		break;
	default:
		break;
	}
	if (tier == 0 && !fits_quota(pl, &r, size)) {
		atomic_fetch_add_explicit(&pl->quota_fallbacks, 1,
					  memory_order_relaxed);
		tier = 1;
	}
	return tier;
}

void tm_placement_configure(tm_placement *pl, int tiers, uint64_t capacity)
{
	int64_t q = tm_opt_num(TM_OPT_DRAM_LIMIT);
	tm_place_rules r = {
		.tiers = tiers,
		.policy = tm_opt_num(TM_OPT_POLICY),
		.quota = q >= 0 ? q : (int64_t)(capacity / 100 *
				(uint64_t)tm_opt_num2(TM_OPT_DRAM_LIMIT)),
		.ratio_fast = tm_opt_num(TM_OPT_RATIO),
		.ratio_slow = tm_opt_num2(TM_OPT_RATIO),
		.threshold = tm_opt_num(TM_OPT_THRESHOLD),
	};
	tm_place_rules_set(pl, &r);
}

static void flush_tier(tm_placement *pl, int tier)
{
	atomic_fetch_add_explicit(&pl->used[tier], acct.bytes[tier],
				  memory_order_relaxed);
	atomic_fetch_add_explicit(&pl->allocs[tier], acct.allocs[tier],
				  memory_order_relaxed);
	acct.bytes[tier] = 0;
	acct.allocs[tier] = 0;
}

void tm_place_account(tm_placement *pl, int tier, int64_t bytes)
{
	acct.bytes[tier] += bytes;
	acct.allocs[tier] += bytes > 0;
	if (acct.bytes[tier] > ACCOUNT_BATCH || acct.bytes[tier] < -ACCOUNT_BATCH)
		flush_tier(pl, tier);
}

void tm_place_flush(tm_placement *pl)
{
	for (int t = 0; t < TM_TIER_MAX; t++)
		flush_tier(pl, t);
}
