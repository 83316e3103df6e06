/* Heat sources: plug-ins that observe which pages of the heap are accessed
 * and credit them in the heat map. They are tried in order of quality
 * (hardware sampling, DAMON, write tracking, hints only) unless
 * TIERMALLOC_HEAT forces one; each records why it could not be used.
 *
 * DAMON sees reads and writes, but credits whole regions from one sampled
 * page: where hot pages lie scattered among cold ones (values of a hash
 * table), every region looks alike (DAMON's probes, probes.h, check a few
 * single pages). So the automatic choice gives a source
 * that cannot tell pages apart a partner that can, if one opens: write
 * tracking ranks written pages one by one, DAMON still credits what is only
 * read.
 *
 * All calls come from the migrator thread, except forget, which runs in a
 * forked child where that thread does not exist. */
#ifndef TM_SOURCE_H
#define TM_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/heatmap.h"
#include "policy/policy.h"

typedef struct tm_heat_src tm_heat_src;
struct tm_heat_src {
	const char *name;
	/* What it has looked at so far, for the stats: pages watched (uffd),
	 * regions read back (damon), samples credited (perf). */
	uint64_t observed;
	/* What its last collect cost the program: write faults (uffd); 0
	 * for a source whose cost is the kernel's or the migrator's. */
	uint64_t program_ns;
	/* Credits single pages (perf, uffd), not whole regions (DAMON). */
	bool page_exact;
	/* Set by the migrator: true once it is asked to stop (at exit), so
	 * that a source that waits within collect returns early. NULL: never. */
	const _Atomic bool *stop;
	/* Start observing the heap of hm. 0 (why may note how it is limited),
	 * or -1 with the reason in why. */
	int (*open)(tm_heat_src *s, const tm_heatmap *hm, unsigned period_ms,
		    char *why, size_t len);
	/* Once per period: follow the heap's growth (the spans' end), and
	 * credit what was accessed since the last call. */
	void (*collect)(tm_heat_src *s, tm_heatmap *hm, unsigned period_ms);
	/* Optional: heat is now collected every that many periods (see
	 * pace.h). A source that samples between collections (DAMON's
	 * kdamond) slows its sampling to match. */
	void (*pace)(tm_heat_src *s, unsigned every);
	/* Optional: what it does, into the stats (under their lock). */
	void (*report)(const tm_heat_src *s, tm_policy_snapshot *out);
	/* Stop and release kernel resources. */
	void (*close)(tm_heat_src *s);
	/* In a forked child: drop file descriptors and mappings without
	 * touching kernel state that belongs to the parent. */
	void (*forget)(tm_heat_src *s);
};

/* srcs[] in order of quality, indexed by TM_HEAT_* (TIERMALLOC_HEAT's
 * choices are "auto", these, then "none"). Sources whose bit is set in
 * benched are passed over (their status is the caller's to give). Open the
 * forced source (0 <= forced < TM_HEAT_SOURCES) if it can be, else the
 * first that opens in order of quality. Without a forced source, one that is not page-exact
 * gets the first later page-exact source that opens as *partner (else
 * NULL). Every source gets its status: why it failed, or why it was not
 * tried. Returns the open source or NULL. */
tm_heat_src *tm_sources_choose(tm_heat_src *const srcs[TM_HEAT_SOURCES],
			       int forced, unsigned benched, const tm_heatmap *hm,
			       unsigned period_ms,
			       tm_heat_source_stat status[TM_HEAT_SOURCES],
			       tm_heat_src **partner);

/* A source that credits nothing, period after period, while the program
 * runs (uses a tenth of a period's CPU or more) is blind to what this
 * program does: uffd to a program that only reads, or a kernel that does
 * not report. True once, at the TM_BLIND_PERIODS-th such period in a row;
 * periods in which the program did not run say nothing either way. */
#define TM_BLIND_PERIODS 10
typedef struct {
	unsigned quiet;
} tm_blind_watch;
bool tm_source_blind(tm_blind_watch *w, uint64_t credited, bool program_ran);

/* The "hints" source: no measurement; tm_advise alone gives heat. */
extern tm_heat_src tm_hints_source;

#endif
