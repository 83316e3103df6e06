/* Probes: single pages that DAMON checks one by one, for reads that no
 * other source sees.
 *
 * DAMON's regions adapt to the heap, but merge where their counts are
 * alike: a page read on every operation (an index, the buckets of a hash
 * table) among cold neighbours ends in a region that looks cold. Write
 * tracking does not see it either, so it is among the first to go down,
 * and a program that reads it on every operation then runs at the slow
 * tier's pace (GUPS's chunk index in the cxl guest: half its rate).
 *
 * So DAMON also gets single pages as regions of their own: pages the plan
 * demoted in the last periods with next to no heat (demoted for want of
 * evidence; those with heat were judged on it), and those of earlier
 * probes that were found read, checked again as long as they are read. A
 * probe is given a page of no region on either side: DAMON merges only
 * adjacent regions. When more were demoted than there are probes, they
 * take turns: at a popularity shift thousands go down in a period. */
#ifndef TM_PROBES_H
#define TM_PROBES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/heatmap.h"

#define TM_PROBES 64          /* pages checked one by one a period */
#define TM_PROBES_KEPT 48     /* of which pages found read before, at most:
			       * the rest look for new ones */
#define TM_PROBE_AGE 16       /* demoted within this many periods */
#define TM_PROBE_HEAT (TM_HEAT_FULL / 4) /* with less heat than this */

/* Where the search for demoted pages goes on next period: when more were
 * demoted than there are probes, each gets its turn. */
typedef struct {
	int span;
	size_t at;
} tm_probe_cursor;

/* The next probes, into out (at most TM_PROBES, in address order, no two
 * closer than two pages): the first TM_PROBES_KEPT pages of keep (earlier
 * probes found read),
 * then pages demoted within TM_PROBE_AGE periods with less heat than
 * TM_PROBE_HEAT, outside huge blocks, searched from *cur on. Returns how
 * many. */
size_t tm_probes_choose(const tm_heatmap *hm, const uintptr_t *keep, size_t nkeep,
			tm_probe_cursor *cur, uintptr_t *out);

/* The regions DAMON is given: [start[i], end[i]) for i < n spans (in
 * address order, not overlapping) with each probe (in address order,
 * within a span) cut out as a region of its own and the pages on either
 * side of it left out. Writes at most nspans + 2 * nprobes regions;
 * returns how many. */
size_t tm_probes_regions(const uintptr_t *span_start, const uintptr_t *span_end,
			 size_t nspans, const uintptr_t *probe, size_t nprobes,
			 size_t page, uintptr_t *start, uintptr_t *end);

/* Whether addr is one of the probes (in address order). */
bool tm_probes_has(const uintptr_t *probe, size_t nprobes, uintptr_t addr);

#endif
