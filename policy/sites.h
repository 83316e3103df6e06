/* Allocation sites: which call sites allocate hot memory and which cold, so
 * that new allocations can be placed by heat before any page is measured.
 *
 * malloc reports one allocation per TM_SAMPLE_BYTES allocated (its address,
 * size and return address); the migrator attributes the heat of the sampled
 * memory back to its site each period (a running average) and gives the
 * site an opinion: when DRAM is under pressure, a site whose memory is
 * hotter than what DRAM can hold (the plan's boundary) goes to DRAM and one
 * under half of it to the slow tier; otherwise none, which is dram-first.
 *
 * Fixed tables, lock-free: a site table with open addressing (a site keeps
 * its slot for the life of the process) and a ring of recent samples. When
 * the site table is full new sites are counted and left out. */
#ifndef TM_SITES_H
#define TM_SITES_H

#include <stddef.h>
#include <stdint.h>

#include "allocator/plugin.h"
#include "policy/heatmap.h"
#include "policy/planner.h"
#include "policy/policy.h"

#define TM_SITES 1024           /* slots, a power of two */
#define TM_SITE_SAMPLES 1024    /* ring of recent samples */

/* Inside malloc: record a sampled allocation. */
void tm_sites_sample(uintptr_t addr, size_t size, uintptr_t site);

/* Inside malloc: the site's tier, or -1 for no opinion. */
int tm_sites_tier(uintptr_t site);

/* Migrator, once per period: attribute heat to sites and renew their
 * opinions from the plan (cold sites go to cold_tier). */
void tm_sites_update(const tm_heatmap *hm, const tm_plan_summary *plan,
		     int cold_tier);

/* The sites that allocated the most sampled bytes, up to max; their count. */
int tm_sites_top(tm_site_info *out, int max);

/* Sites known, sites left out, samples taken. */
void tm_sites_counts(uint64_t *sites, uint64_t *dropped, uint64_t *samples);

/* Bytes of the fixed tables, for the stats. */
size_t tm_sites_table_bytes(void);

/* Forget everything (tests). */
void tm_sites_reset(void);

#endif
