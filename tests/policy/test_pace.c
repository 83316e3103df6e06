/* The pace of heat measurement: every period while placement is busy,
 * every 2nd and then every 4th once it has settled, and every period again
 * as soon as a plan is busy. Each measurement stands for the periods since
 * the last, so none is lost to the heat map's arithmetic. A measurement
 * that cost more than a period's budget spaces measurements out further
 * once placement has settled, not before, and not on busy plans. */
#include "policy/pace.h"
#include "tests/check.h"

/* Of the next n periods, each busy or not: how many measure, and in
 * *covered, how many periods their measurements stand for. */
static unsigned measured(tm_pace *p, unsigned n, bool busy, unsigned *covered)
{
	unsigned m = 0;
	for (unsigned i = 0; i < n; i++) {
		unsigned periods = tm_pace_due(p);
		m += periods > 0;
		*covered += periods;
		tm_pace_done(p, busy);
	}
	return m;
}

static void test_cost(void)
{
	tm_pace p = TM_PACE_INIT;
	unsigned covered = 0;
	tm_pace_cost(&p, 10, 10);
	CHECK_EQ(measured(&p, 3, false, &covered), 3, "within the budget: every period");
	tm_pace_cost(&p, 30, 10);
	CHECK_EQ(measured(&p, 1, true, &covered), 1, "3 budgets, but busy: measured");
	CHECK_EQ(p.every, 1, "busy: every period");
	CHECK_EQ(measured(&p, TM_PACE_STEP - 1, false, &covered), TM_PACE_STEP - 1,
		 "quiet, not settled yet (quiet for want of measurements, maybe)");
	CHECK_EQ(p.every, 1, "every period until settled");
	CHECK_EQ(measured(&p, 1, false, &covered), 1, "settled");
	CHECK_EQ(p.every, 4, "3 budgets: every 4th period, not the settled 2nd");
	tm_pace_cost(&p, 1000, 10);
	tm_pace_done(&p, false);
	CHECK_EQ(p.every, TM_PACE_COST_MAX, "however dear, every %d at most",
		 TM_PACE_COST_MAX);
	tm_pace_cost(&p, 0, 0);
	CHECK_EQ(p.cost_every, 1, "nothing spent: no limit");
	CHECK_EQ(tm_pace_budget_ns(500, 3), 25000000,
		 "3%% of a CPU for faults and 2%% for the migrator, of 500 ms");
}

int main(void)
{
	test_cost();
	tm_pace p = TM_PACE_INIT;
	unsigned covered = 0;
	CHECK_EQ(measured(&p, 20, true, &covered), 20, "busy: every period");
	CHECK_EQ(measured(&p, TM_PACE_STEP, false, &covered), TM_PACE_STEP,
		 "the first quiet periods still measure");
	CHECK_EQ(p.every, 2, "then every 2nd");
	CHECK_EQ(measured(&p, TM_PACE_STEP, false, &covered), TM_PACE_STEP / 2,
		 "half of them");
	CHECK_EQ(p.every, 4, "then every 4th");
	CHECK_EQ(measured(&p, 400, false, &covered), 100,
		 "and no slower, however long quiet");
	CHECK_EQ(p.every, TM_PACE_MAX, "at most every TM_PACE_MAX periods");
	CHECK_EQ(covered, 20 + 2 * TM_PACE_STEP + 400,
		 "the measurements stand for every period");

	/* A busy plan (say, the quota changed) in a period that did not
	 * measure: the next period measures, for the skipped ones too. */
	CHECK_EQ(tm_pace_due(&p), 0, "a period between measurements");
	tm_pace_done(&p, true);
	CHECK_EQ(p.every, 1, "busy again: every period");
	CHECK_EQ(tm_pace_due(&p), 2, "the next period measures, for two");
	return check_summary();
}
