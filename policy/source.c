#include "policy/source.h"

#include <stdio.h>
#include <string.h>

static bool try_open(tm_heat_src *src, const tm_heatmap *hm, unsigned period_ms,
		     tm_heat_source_stat *st)
{
	st->tried = true;
	st->why[0] = '\0'; /* an open source may leave a note: how it is limited */
	if (src->open(src, hm, period_ms, st->why, sizeof(st->why)) < 0)
		return false;
	st->available = true;
	return true;
}

tm_heat_src *tm_sources_choose(tm_heat_src *const srcs[TM_HEAT_SOURCES],
			       int forced, unsigned benched, const tm_heatmap *hm,
			       unsigned period_ms,
			       tm_heat_source_stat status[TM_HEAT_SOURCES],
			       tm_heat_src **partner)
{
	int order[TM_HEAT_SOURCES], n = 0;
	if (forced >= 0)
		order[n++] = forced;
	for (int i = 0; i < TM_HEAT_SOURCES; i++)
		if (i != forced)
			order[n++] = i;
	tm_heat_src *chosen = NULL;
	*partner = NULL;
	memset(status, 0, sizeof(tm_heat_source_stat) * TM_HEAT_SOURCES);
	for (int k = 0; k < n; k++) {
		tm_heat_source_stat *st = &status[order[k]];
		tm_heat_src *src = srcs[order[k]];
		st->name = src->name;
		if (benched & (1u << order[k]))
			continue;
		bool wanted = !chosen || (forced < 0 && !chosen->page_exact &&
					  !*partner && src->page_exact);
		if (wanted && try_open(src, hm, period_ms, st)) {
			*(chosen ? partner : &chosen) = src;
		} else if (chosen && !st->tried) {
			snprintf(st->why, sizeof(st->why), "not tried: %s is in use",
				 chosen->name);
		}
	}
	return chosen;
}

bool tm_source_blind(tm_blind_watch *w, uint64_t credited, bool program_ran)
{
	if (credited)
		w->quiet = 0;
	else if (program_ran)
		return ++w->quiet == TM_BLIND_PERIODS;
	return false;
}
