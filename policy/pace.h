/* The pace of heat measurement. Measuring costs the program: write
 * tracking's faults and the TLB flushes of protecting the heap, DAMON's
 * access checks. Once placement has settled (periods in a row whose plan
 * was quiet, on a heap that did not grow), heat is measured every 2nd,
 * then every 4th period; a busy plan, or growth, brings it back to every
 * period. Between measurements the heat map is left as it was (not
 * cooled), so the plan sees the last measured heat; the next measurement
 * cools it and credits it once for each period it stands for.
 *
 * The price is in reaction time: a popularity shift in a settled program
 * is seen up to TM_PACE_MAX - 1 periods late. */
#ifndef TM_PACE_H
#define TM_PACE_H

#include <stdbool.h>

#define TM_PACE_STEP 4  /* quiet periods before each halving of the rate */
#define TM_PACE_MAX 4   /* measure at least every 4th period */

typedef struct {
	unsigned quiet;  /* periods in a row that were not busy */
	unsigned every;  /* measure every this many periods: 1, 2 or 4 */
	unsigned since;  /* periods since the last measurement, this one too */
} tm_pace;

#define TM_PACE_INIT ((tm_pace){.every = 1})

/* 0 when this period does not measure heat; else the periods the
 * measurement stands for (this one and those skipped since the last). */
unsigned tm_pace_due(tm_pace *p);

/* The period's outcome: whether its plan was busy or the heap grew. */
void tm_pace_done(tm_pace *p, bool busy);

#endif
