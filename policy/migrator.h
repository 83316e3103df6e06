/* The migrator: a background thread that, every TIERMALLOC_SCAN_MS, follows
 * the heap's growth, cools the heat map, collects heat from the source,
 * finds where the pages are, plans, moves pages with move_pages in batches
 * (at most TIERMALLOC_MIGRATE_MBPS), keeps the DRAM quota's accounting
 * right, and renews the allocation sites' opinions.
 *
 * It chooses its heat source when it starts (not at start-up: DAMON and
 * perf set-ups are not for every short-lived process), blocks every signal,
 * tracks heat under any placement policy (for the statistics) but moves
 * pages only under TIERMALLOC_POLICY=heat, restarts in a forked child, and
 * stops at exit. Its CPU time is measured. */
#ifndef TM_MIGRATOR_H
#define TM_MIGRATOR_H

#include "policy/heatmap.h"
#include "policy/planner.h"
#include "policy/policy.h"
#include "policy/source.h"

/* A period's bounds, shared with bench/policy_scale.c, which runs the
 * steps of a period on a heat map of its own. */
#define TM_MIGRATOR_ROUND 1024          /* moves planned and made at once */
#define TM_MIGRATOR_LOCATE_NEW 65536    /* new pages located a period (~20 ms) */
#define TM_MIGRATOR_LOCATE_AGAIN 4096   /* others located again (~1.2 ms) */

typedef struct {
	tm_heatmap *hm;            /* one span per tier, span t = tier t */
	const tm_tierset *tiers;
	tm_heat_src *const *srcs;  /* TM_HEAT_SOURCES of them */
	int forced;                /* TM_HEAT_* or -1 for the best */
	const char *sysfs_root;
} tm_migrator_config;

/* Start the thread (once; again after a fork). 0 or -errno. */
int tm_migrator_start(const tm_migrator_config *cfg);

/* Stop the thread and close the heat source. */
void tm_migrator_stop(void);

/* In a forked child: forget the parent's thread and source. */
void tm_migrator_after_fork_child(void);

bool tm_migrator_running(void);

/* Bytes of the thread's fixed tables, for the stats. */
size_t tm_migrator_table_bytes(void);

/* The numbers of the last period. */
void tm_migrator_stats(tm_policy_snapshot *out);

#endif
