/* DAMON through sysfs: the kernel samples the heap's access bits itself
 * (root only; CONFIG_DAMON_SYSFS and fixed virtual-address monitoring,
 * "fvaddr", in 6.x kernels).
 *
 * kdamond 0 monitors this process with the heap spans as fixed target
 * regions and a "stat" scheme that matches every region accessed in at
 * least a fifth of its checks; each period the regions it tried (start,
 * end, nr_accesses) are read back and credited.
 * The kdamond is ours only if we made it (nr_kdamonds 0 -> 1, under a
 * flock on nr_kdamonds that tiermalloc processes hold while they use it);
 * any other kdamond is someone else's (or a forked child's parent's) and
 * makes the source unavailable, except one with our set-up whose target is
 * gone and whose lock is free: a tiermalloc process died holding it (the
 * kernel stops a kdamond whose target exits, but leaves it configured).
 * That one is taken over. At close (the policy's stop hook, at exit) the kdamond is
 * turned off and nr_kdamonds put back to 0.
 *
 * Beside the heap's regions, DAMON checks probes: single pages that were
 * just demoted or were found read last time (probes.h), credited page by
 * page; a page found read stays a probe for as long as it is read. */
#ifndef TM_HEAT_DAMON_H
#define TM_HEAT_DAMON_H

#include <stdbool.h>

#include "policy/probes.h"
#include "policy/source.h"

typedef struct {
	tm_heat_src base;
	const char *root;           /* sysfs root: "/sys", or a test tree */
	int lock;                   /* flock'd nr_kdamonds while claimed; -1 */
	bool on, created;           /* kdamond turned on; kdamond 0 is ours */
	uintptr_t region_end[TM_TIER_MAX]; /* target regions as last written */
	unsigned max_accesses;      /* nr_accesses of a region hot throughout */
	uintptr_t probe[TM_PROBES]; /* pages DAMON checks one by one, in order */
	size_t nprobes;
	uintptr_t read[TM_PROBES];  /* probes found read: checked again */
	size_t nread;
	tm_probe_cursor probe_at;
	uint64_t probes_checked;    /* probes read back, in all */
	uint64_t probes_read;       /* of which found read */
} tm_damon_src;

void tm_damon_src_init(tm_damon_src *s, const char *sysfs_root);

#endif
