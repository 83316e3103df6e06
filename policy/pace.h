/* The pace of heat measurement. Measuring costs the program: write
 * tracking's faults and the TLB flushes of protecting the heap, DAMON's
 * access checks. Once placement has settled (periods in a row whose plan
 * was quiet, on a heap that did not grow), heat is measured every 2nd,
 * then every 4th period; a busy plan, or growth, brings it back to every
 * period. Between measurements the heat map is left as it was (not
 * cooled), so the plan sees the last measured heat; the next measurement
 * cools it and credits it once for each period it stands for.
 *
 * A measurement also has a price of its own (the migrator's CPU in it and
 * the program's write faults), which grows with the heap and with what the
 * program writes, while a period's budget for it does not. Once placement
 * has settled, after a measurement that cost more than that budget, heat
 * is measured no more often than the budget pays for: every 2nd, 4th ...
 * TM_PACE_COST_MAX-th period. Before that (a plan can be quiet only
 * because too little has been measured yet) and on busy plans, it is
 * measured every period.
 *
 * The price is in reaction time: a popularity shift in a settled program
 * is seen up to TM_PACE_MAX - 1 periods late (TM_PACE_COST_MAX - 1 where
 * measuring is dear). */
#ifndef TM_PACE_H
#define TM_PACE_H

#include <stdbool.h>
#include <stdint.h>

#define TM_PACE_STEP 4  /* quiet periods before each halving of the rate */
#define TM_PACE_MAX 4   /* measure at least every 4th period */
#define TM_PACE_COST_MAX 16 /* a dear measurement: at least every 16th */

typedef struct {
	unsigned quiet;  /* periods in a row that were not busy */
	unsigned every;  /* measure every this many periods: 1, 2 or 4 */
	unsigned since;  /* periods since the last measurement, this one too */
	unsigned cost_every; /* settled: at least every this many, for
			      * what the last measurement cost */
} tm_pace;

#define TM_PACE_INIT ((tm_pace){.every = 1, .cost_every = 1})

/* 0 when this period does not measure heat; else the periods the
 * measurement stands for (this one and those skipped since the last). */
unsigned tm_pace_due(tm_pace *p);

/* What a period may spend on measuring: cpu_percent (TIERMALLOC_HEAT_CPU)
 * of a CPU for the program's faults and TM_PACE_OWN_PERCENT for the
 * migrator's work. */
#define TM_PACE_OWN_PERCENT 2
uint64_t tm_pace_budget_ns(unsigned period_ms, unsigned cpu_percent);

/* What the last measurement cost against what one period may spend on
 * measuring (both in ns). */
void tm_pace_cost(tm_pace *p, uint64_t cost_ns, uint64_t budget_ns);

/* The period's outcome: whether its plan was busy or the heap grew. */
void tm_pace_done(tm_pace *p, bool busy);

#endif
