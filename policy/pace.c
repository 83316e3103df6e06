#include "policy/pace.h"

unsigned tm_pace_due(tm_pace *p)
{
	unsigned periods = ++p->since;
	if (periods < p->every)
		return 0;
	p->since = 0;
	return periods;
}

uint64_t tm_pace_budget_ns(unsigned period_ms, unsigned cpu_percent)
{
	return (uint64_t)period_ms * 1000000 / 100 * (cpu_percent + TM_PACE_OWN_PERCENT);
}

void tm_pace_cost(tm_pace *p, uint64_t cost_ns, uint64_t budget_ns)
{
	unsigned every = 1;
	while (every < TM_PACE_COST_MAX && (uint64_t)every * budget_ns < cost_ns)
		every *= 2;
	p->cost_every = every;
}

void tm_pace_done(tm_pace *p, bool busy)
{
	p->quiet = busy ? 0 : p->quiet + 1;
	unsigned every = 1;
	for (unsigned q = p->quiet; q >= TM_PACE_STEP && every < TM_PACE_MAX; q -= TM_PACE_STEP)
		every *= 2;
	p->every = every > 1 && every < p->cost_every ? p->cost_every : every;
}
