/* The sites reply's lists: the top allocation sites by bytes and by heat,
 * symbolised with dladdr where the address falls in a loaded object. */
#ifndef TM_STATS_SITES_H
#define TM_STATS_SITES_H

#include "policy/policy.h"
#include "stats/json.h"

/* Members "by_bytes" and "by_heat", n entries at most each. Reorders
 * sites. */
void tm_stats_sites_write(tm_json *j, tm_site_info *sites, int count,
			  unsigned n);

#endif
