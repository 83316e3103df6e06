#include "policy/pace.h"

unsigned tm_pace_due(tm_pace *p)
{
	unsigned periods = ++p->since;
	if (periods < p->every)
		return 0;
	p->since = 0;
	return periods;
}

void tm_pace_done(tm_pace *p, bool busy)
{
	p->quiet = busy ? 0 : p->quiet + 1;
	unsigned every = 1;
	for (unsigned q = p->quiet; q >= TM_PACE_STEP && every < TM_PACE_MAX; q -= TM_PACE_STEP)
		every *= 2;
	p->every = every;
}
