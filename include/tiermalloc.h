/* tiermalloc: tiered-memory malloc. Public API.
 *
 * Programs need none of this to be tiered: LD_PRELOAD=libtiermalloc.so is
 * enough. These calls let a program that knows better say so (tm_advise), or
 * look at where its memory is (tm_tier_of, tm_tier_count). When the library is
 * not loaded, link against it weakly and test the symbol before calling.
 */
#ifndef TIERMALLOC_H
#define TIERMALLOC_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TM_VERSION_MAJOR 0
#define TM_VERSION_MINOR 1

/* Tier 0 is the fastest (DRAM); higher ids are slower and usually larger. */
#define TM_TIER_MAX 4

/* Heat hints for tm_advise. */
enum tm_heat {
	TM_NORMAL = 0, /* forget earlier hints; heat is measured again */
	TM_HOT = 1,    /* keep on the fastest tier that has room */
	TM_COLD = 2,   /* move to the slowest tier */
};

/* Hint the heat of [ptr, ptr+len). The range is rounded out to pages and must
 * lie in memory this library allocated. Returns 0, or -1 with errno EINVAL
 * (bad hint, range outside the managed heap) or ENOSYS (one tier only). */
int tm_advise(void *ptr, size_t len, int heat);

/* Tier whose arenas allocated ptr (a block of the malloc family), or -1
 * for NULL. Blocks from before the tiers existed are tier 0's. Migration
 * may since have moved its pages; see tm_node_of for that. */
int tm_tier_of(const void *ptr);

/* NUMA node the page holding ptr lives on now, or -1 if unknown/unmapped. */
int tm_node_of(const void *ptr);

/* Heat of the page holding ptr as the library measures it: 0 (cold) to 255
 * (accessed throughout every recent period; TM_HOT hints read 255, TM_COLD
 * ones 0), or -1 when ptr is not in the tracked heap or no heat is tracked
 * (one tier without TIERMALLOC_HEAT naming a source, TIERMALLOC_HEAT=none,
 * or the migrator thread not started yet). */
int tm_heat_of(const void *ptr);

/* Number of tiers discovered (1 on a one-node machine). */
int tm_tier_count(void);

#ifdef __cplusplus
}
#endif
#endif
