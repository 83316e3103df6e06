/* Process-wide state of the library: the mode it runs in and the tiers it
 * found. Written once at start-up (and in a forked child), read everywhere. */
#ifndef TM_RUNTIME_H
#define TM_RUNTIME_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "allocator/prim/os.h"
#include "allocator/tiers.h"

#define TM_EXPORT __attribute__((visibility("default")))
#define TM_LIKELY(x) __builtin_expect(!!(x), 1)
#define TM_UNLIKELY(x) __builtin_expect(!!(x), 0)

typedef struct {
	bool tiered;              /* tier arenas in use (more than one tier,
				   * or one tracked for heat) */
	tm_tierset tiers;
	const char *single_reason; /* why there is one tier, for the stats */
} tm_runtime;

extern tm_runtime tm_rt;

/* The tiers' capacity, HMAT numbers and CPU-lessness, and the DRAM quota
 * (which can be a share of capacity), read once: at start-up when tiered
 * or verbose, else before the services start. */
void tm_runtime_describe(void);

/* Placement's tiers and DRAM quota from tm_rt and the options; again
 * whenever an option changes. */
void tm_runtime_configure_placement(void);


#endif
