#include "policy/sites.h"

#include <string.h>

#include "allocator/heap.h"

#define PROBES 8               /* slots looked at before giving up */
#define SAMPLE_PAGES 16        /* pages of a sample whose heat is read */

typedef struct {
	_Atomic uintptr_t key;     /* the call site; 0: free */
	_Atomic uint8_t choice;    /* opinion: tier + 1; 0: none */
	_Atomic uint8_t heat;      /* running average of its memory's heat */
	_Atomic uint64_t samples, bytes;
} site;

/* A sample packs the address and the site's slot into one word, so a
 * reader never pairs an address with another sample's site. The size sits
 * apart: a torn pair only reads the heat of a wrong extent of the heap. */
typedef struct {
	_Atomic uint64_t word;     /* addr << 16 | slot; 0: empty */
	_Atomic uint64_t size;
} sample;

static site sites[TM_SITES];
static sample ring[TM_SITE_SAMPLES];
static _Atomic uint64_t ring_head, sites_used, sites_dropped;
static _Atomic int opinions;   /* sites with an opinion: 0 skips lookups */

/* Migrator-only scratch for the attribution. */
static uint32_t heat_sum[TM_SITES];
static uint16_t heat_n[TM_SITES];

static size_t slot_of(uintptr_t key)
{
	return (size_t)((key * 0x9e3779b97f4a7c15ULL) >> 40) & (TM_SITES - 1);
}

static int find(uintptr_t key, int add)
{
	size_t h = slot_of(key);
	for (int i = 0; i < PROBES; i++) {
		site *s = &sites[(h + (size_t)i) & (TM_SITES - 1)];
		uintptr_t k = atomic_load_explicit(&s->key, memory_order_acquire);
		if (k == 0 && add) {
			if (atomic_compare_exchange_strong(&s->key, &k, key)) {
				atomic_fetch_add_explicit(&sites_used, 1, memory_order_relaxed);
				return (int)(s - sites);
			}
		}
		if (k == key)
			return (int)(s - sites);
		if (k == 0)
			return -1;
	}
	return -1;
}

void tm_sites_sample(uintptr_t addr, size_t size, uintptr_t site_key)
{
	int slot = site_key ? find(site_key, 1) : -1;
	if (slot < 0) {
		atomic_fetch_add_explicit(&sites_dropped, 1, memory_order_relaxed);
		return;
	}
	site *s = &sites[slot];
	atomic_fetch_add_explicit(&s->samples, 1, memory_order_relaxed);
	/* A sample stands for the TM_SAMPLE_BYTES allocated since the last
	 * one, or for itself when larger. */
	atomic_fetch_add_explicit(&s->bytes, size > TM_SAMPLE_BYTES ? size : TM_SAMPLE_BYTES,
				  memory_order_relaxed);
	uint64_t i = atomic_fetch_add_explicit(&ring_head, 1, memory_order_relaxed);
	sample *e = &ring[i % TM_SITE_SAMPLES];
	atomic_store_explicit(&e->size, size, memory_order_relaxed);
	atomic_store_explicit(&e->word, (uint64_t)addr << 16 | (uint64_t)slot,
			      memory_order_release);
}

int tm_sites_tier(uintptr_t site_key)
{
	if (atomic_load_explicit(&opinions, memory_order_relaxed) == 0)
		return -1;
	int slot = find(site_key, 0);
	return slot < 0 ? -1
			: atomic_load_explicit(&sites[slot].choice, memory_order_relaxed) - 1;
}

static void attribute(const tm_heatmap *hm)
{
	memset(heat_sum, 0, sizeof(heat_sum));
	memset(heat_n, 0, sizeof(heat_n));
	for (size_t i = 0; i < TM_SITE_SAMPLES; i++) {
		uint64_t w = atomic_load_explicit(&ring[i].word, memory_order_acquire);
		uint64_t size = atomic_load_explicit(&ring[i].size, memory_order_relaxed);
		size_t slot = (size_t)(w & 0xffff);
		uintptr_t addr = (uintptr_t)(w >> 16);
		int h = w ? tm_heatmap_mean(hm, addr, addr + (size ? size : 1),
					    SAMPLE_PAGES) : -1;
		if (h >= 0 && slot < TM_SITES && heat_n[slot] < UINT16_MAX) {
			heat_sum[slot] += (uint32_t)h;
			heat_n[slot]++;
		}
	}
}

static int opinion(unsigned heat, const tm_plan_summary *plan, int cold_tier)
{
	if (!plan->pressure)
		return -1;
	if (heat >= plan->boundary)
		return 0;
	return heat * 2 < plan->boundary ? cold_tier : -1;
}

void tm_sites_update(const tm_heatmap *hm, const tm_plan_summary *plan,
		     int cold_tier)
{
	attribute(hm);
	int with_opinion = 0;
	for (size_t i = 0; i < TM_SITES; i++) {
		site *s = &sites[i];
		if (!atomic_load_explicit(&s->key, memory_order_relaxed))
			continue;
		unsigned heat = atomic_load_explicit(&s->heat, memory_order_relaxed);
		if (heat_n[i])
			heat = (heat + heat_sum[i] / heat_n[i] + 1) / 2;
		atomic_store_explicit(&s->heat, (uint8_t)heat, memory_order_relaxed);
		int t = opinion(heat, plan, cold_tier);
		atomic_store_explicit(&s->choice, (uint8_t)(t + 1), memory_order_relaxed);
		with_opinion += t >= 0;
	}
	atomic_store_explicit(&opinions, with_opinion, memory_order_relaxed);
	tm_heap_site_opinions(with_opinion > 0);
}

int tm_sites_top(tm_site_info *out, int max)
{
	int n = 0;
	for (size_t i = 0; i < TM_SITES; i++) {
		site *s = &sites[i];
		uintptr_t key = atomic_load_explicit(&s->key, memory_order_relaxed);
		uint64_t bytes = atomic_load_explicit(&s->bytes, memory_order_relaxed);
		if (!key)
			continue;
		if (n == max && out[max - 1].bytes >= bytes)
			continue;
		int j = n < max ? n++ : max - 1;
		for (; j > 0 && out[j - 1].bytes < bytes; j--)
			out[j] = out[j - 1];
		out[j] = (tm_site_info){
			.site = key,
			.samples = atomic_load_explicit(&s->samples, memory_order_relaxed),
			.bytes = bytes,
			.heat = atomic_load_explicit(&s->heat, memory_order_relaxed),
			.tier = atomic_load_explicit(&s->choice, memory_order_relaxed) - 1,
		};
	}
	return n;
}

void tm_sites_counts(uint64_t *used, uint64_t *dropped, uint64_t *samples)
{
	*used = atomic_load(&sites_used);
	*dropped = atomic_load(&sites_dropped);
	*samples = atomic_load(&ring_head);
}

size_t tm_sites_table_bytes(void)
{
	return sizeof(sites) + sizeof(ring) + sizeof(heat_sum) + sizeof(heat_n);
}

void tm_sites_reset(void)
{
	memset(sites, 0, sizeof(sites));
	memset(ring, 0, sizeof(ring));
	atomic_store(&ring_head, 0);
	atomic_store(&sites_used, 0);
	atomic_store(&sites_dropped, 0);
	atomic_store(&opinions, 0);
	tm_heap_site_opinions(false);
}
