/* The policy's parts of the replies: heat source, migrations, the heat
 * histogram and the allocation sites, from policy/'s tm_policy_snapshot_get
 * (policy.h), which is all the stats server asks of policy/.
 *
 * off is why the policy does not run at all (one tier, no heat tracking),
 * or NULL. Then, when policy/ does not provide tm_policy_snapshot_get, or when
 * its migrator is not running, the parts are written as unavailable with
 * the reason, never as zeros. */
#ifndef TM_STATS_POLICY_H
#define TM_STATS_POLICY_H

#include "stats/json.h"

/* "heat_source" and "migration" members of the stats reply. */
void tm_stats_policy_summary(tm_json *j, const char *off);

/* The members of the heat reply, for the first tiers tiers. */
void tm_stats_policy_heat(tm_json *j, const char *off, int tiers);

/* The members of the sites reply: the top n sites by bytes and by heat. */
void tm_stats_policy_sites(tm_json *j, const char *off, unsigned n);

#endif
