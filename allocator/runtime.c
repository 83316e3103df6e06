/* The process-wide state (runtime.h) and what changes it after start-up.
 * Apart from init.c, so that the services, the stats and the policy can
 * read and refresh it without linking the constructor and, through it,
 * the interposed entry points. */
#include "allocator/runtime.h"

#include "allocator/config.h"
#include "allocator/placement.h"

tm_runtime tm_rt;

void tm_runtime_configure_placement(void)
{
	tm_placement_configure(&tm_place_state, tm_rt.tiered ? tm_rt.tiers.count : 1,
			       tm_rt.tiers.tier[0].capacity);
}

/* Before the services start, for the stats. Tiered allocation reads the
 * description at start-up (init.c's choose_mode), as TIERMALLOC_VERBOSE
 * does; a one-tier process only now, not at every exec. The quota can be a
 * share of the capacity just read. */
void tm_runtime_describe(void)
{
	tm_tiers_describe(tm_opt_str(TM_OPT_SYSFS), &tm_rt.tiers);
	tm_runtime_configure_placement();
}
