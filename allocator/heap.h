/* The heap as the policy sees it: policy/ reaches the allocator through
 * this header only (and the options, log, tiers and services). Each tier's
 * heap extents come from one part of one reservation, used from its base
 * up; the per-tier byte counts are the allocator's, corrected by the
 * policy for pages that live on another tier than the one that made them. */
#ifndef TM_HEAP_H
#define TM_HEAP_H

#include <stdbool.h>
#include <stdint.h>

/* Tiers with arenas: 0 when the allocator is not tiered. */
int tm_heap_tiers(void);

/* A tier's part of the reservation, [*base, *base + *size). */
void tm_heap_range(int tier, uintptr_t *base, uintptr_t *size);

/* What of it heap extents have used so far, [*start, *end): it only grows.
 * jemalloc's own metadata is kept apart, outside it. */
void tm_heap_committed(int tier, uintptr_t *start, uintptr_t *end);

/* Bytes that now live on tier (negative: left it): the allocator's folded
 * counts, and the policy's corrections for pages it found or moved, so that
 * the DRAM quota sees real DRAM use. */
void tm_heap_account(int tier, int64_t bytes);

/* Whether the policy has an opinion of any allocation site: until it has,
 * malloc places without asking it (tm_heat->site_tier). */
void tm_heap_site_opinions(bool any);

/* Bytes tier 0 may hold (the DRAM quota). */
int64_t tm_heap_quota(void);

#endif
