/* The "hints" heat source: nothing is measured; pages are hot or cold only
 * as tm_advise says (the hints live in the heat map's cells, where every
 * source's planner input already honours them). It always opens, so it is
 * the last resort of the automatic choice. */
#include "policy/source.h"

static int hints_open(tm_heat_src *s, const tm_heatmap *hm, unsigned period_ms,
		      char *why, size_t len)
{
	return 0;
}

static void hints_collect(tm_heat_src *s, tm_heatmap *hm, unsigned period_ms)
{
}

static void hints_close(tm_heat_src *s)
{
}

tm_heat_src tm_hints_source = {
	.name = "hints",
	.open = hints_open,
	.collect = hints_collect,
	.close = hints_close,
	.forget = hints_close,
};
