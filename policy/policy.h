/* The policy side, as the allocator sees it: one question ("which tier for an
 * allocation from this site?"), sampled allocations, hints, and the life
 * cycle of the background migrator. Everything else of heat, planning and
 * migration stays inside policy/. */
#ifndef TM_POLICY_H
#define TM_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "tiers.h"

/* One allocation in this many bytes is reported to tm_policy_sample. */
#define TM_SAMPLE_BYTES (256 << 10)

/* At start-up, before any thread of ours exists. Cheap: no threads, no I/O
 * beyond what choosing a heat source needs. */
void tm_policy_init(const tm_tierset *tiers);

/* After start-up, from the services thread start: may start the migrator. */
void tm_policy_start(void);

/* In a forked child: the parent's migrator does not exist here. */
void tm_policy_after_fork_child(void);

/* At exit: stop the migrator and release kernel resources (kdamond...). */
void tm_policy_stop(void);

/* Heat policy's tier for a new allocation from site, -1 for no opinion.
 * Called inside malloc: lock-free, allocation-free. */
int tm_policy_site_tier(uintptr_t site, size_t size);

/* A sampled allocation: p of size bytes from site, placed on tier. */
void tm_policy_sample(void *p, size_t size, uintptr_t site, int tier);

/* tm_advise(); same contract. */
int tm_policy_advise(void *p, size_t len, int heat);

#endif
