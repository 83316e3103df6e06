/* Page locations and page moves, with move_pages(2) in batches, and which
 * blocks of the heap are transparent huge pages (PAGEMAP_SCAN).
 *
 * The system calls come in as a table (os.h) so the failure handling
 * (EBUSY, ENOMEM, EFAULT on memory freed meanwhile...) is unit-tested with
 * fakes. A huge block moves with one address: move_pages moves the whole
 * folio of any page it is given, so its other pages would only fail as busy
 * and the cells would not know they moved.
 * No failure is fatal: a page that did not move stays where it is, counts
 * under its reason, and is tried again once its hysteresis age has passed. */
#ifndef TM_MOVER_H
#define TM_MOVER_H

#include <stddef.h>
#include <stdint.h>

#include "allocator/prim/track.h"
#include "allocator/tiers.h"
#include "policy/heatmap.h"
#include "policy/planner.h"
#include "policy/policy.h"

#define TM_MOVE_BATCH 512
#define TM_HUGE_RUNS 64
#define TM_UNDONE_AGE 16


typedef struct {
	uint64_t pages;                      /* pages the moves were for */
	uint64_t promoted, demoted;          /* pages */
	uint64_t undone;                     /* pages demoted within
					      * TM_UNDONE_AGE periods of a move
					      * up: promotions that did not pay */
	uint64_t failed[TM_FAIL_KINDS];
	int64_t gained[TM_TIER_MAX];         /* pages each tier gained (or lost) */
} tm_move_result;

/* Present pages by the tier whose arenas own them (home) and the tier they
 * are on now. */
typedef struct {
	int64_t pages[TM_TIER_MAX][TM_TIER_MAX];
} tm_residency;

typedef struct {
	const tm_mover_os *os;
	int pagemap;                         /* fd, 0 before it is opened,
					      * or -errno: huge pages unknown */
	size_t located[TM_TIER_MAX];         /* per span: pages located once */
	int cursor_span;                     /* where the rotating look is */
	size_t cursor;
	int tiers;
	int node_of_tier[TM_TIER_MAX];       /* where moves to a tier go */
	int8_t tier_of_node[TM_MAX_NODES];   /* -1: a node of no tier */
	void *pages[TM_MOVE_BATCH];
	int nodes[TM_MOVE_BATCH];
	int status[TM_MOVE_BATCH];
	tm_page_run runs[TM_HUGE_RUNS];
} tm_mover;

/* The pagemap of an earlier life (the parent's, in a forked child: it
 * shows the parent's memory) is closed. */
void tm_mover_init(tm_mover *m, const tm_tierset *set, const tm_mover_os *os);

/* Mark the blocks of the heap now mapped as transparent huge pages (before
 * a uffd write fault splits their mapping: the page stays one folio). */
void tm_mover_find_huge(tm_mover *m, tm_heatmap *hm);

/* Find where pages are: at most max_new of the pages the heap gained (no
 * plan can place them before), then at most max_again of the others in
 * turn (a move_pages query costs ~0.3 us a page: all of a large heap each
 * period would be too much). Then age every page by a period and count the
 * present pages per home and tier, as the cells know them. A huge block
 * whose pages are found apart is a huge page no longer. */
void tm_mover_locate(tm_mover *m, tm_heatmap *hm, size_t max_new,
		     size_t max_again, tm_residency *res);

/* Carry out moves (demotions first, as planned); cells follow the pages. */
void tm_mover_apply(tm_mover *m, tm_heatmap *hm, const tm_move *moves,
		    size_t n, tm_move_result *res);

/* The failure kind of a negative status or errno value. */
int tm_move_fail_kind(int err);

#endif
