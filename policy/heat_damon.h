/* DAMON through sysfs: the kernel samples the heap's access bits itself
 * (root only; CONFIG_DAMON_SYSFS and fixed virtual-address monitoring,
 * "fvaddr", in 6.x kernels).
 *
 * kdamond 0 monitors this process with the heap spans as fixed target
 * regions and a "stat" scheme that matches every region accessed in at
 * least a fifth of its checks; each period the regions it tried (start,
 * end, nr_accesses) are read back and credited.
 * The kdamond is turned off when the source closes (tm_policy_stop at exit);
 * if the process dies first the kernel stops it, its target being gone. A
 * kdamond already running belongs to someone else (or to the parent of a
 * forked child) and makes the source unavailable. */
#ifndef TM_HEAT_DAMON_H
#define TM_HEAT_DAMON_H

#include <stdbool.h>

#include "source.h"

typedef struct {
	tm_heat_src base;
	const char *root;           /* sysfs root: "/sys", or a test tree */
	bool on, created;           /* kdamond turned on; we made kdamond 0 */
	uintptr_t region_end[TM_TIER_MAX]; /* target regions as last written */
	unsigned max_accesses;      /* nr_accesses of a region hot throughout */
} tm_damon_src;

void tm_damon_src_init(tm_damon_src *s, const char *sysfs_root);

#endif
