/* log, exp and round for jemalloc's heap profiler, the only code in the
 * library that calls them: prof.c draws its sampling intervals with log,
 * prof_data.c unbiases sampled sizes with exp and round, and only under
 * MALLOC_CONF=prof:true. The archive's calls are renamed to these
 * (TM_JE_RENAME in the Makefile), so the library does not need libm: loading
 * it costs every exec about 10 page faults, some 0.1-0.3 ms in these VMs,
 * for three functions almost no process calls. */
#ifndef TM_JE_MATH_H
#define TM_JE_MATH_H

/* Within 3 ulps of libm's (tests/unit/test_je_math.c): plenty for sampling
 * statistics. NaN for x < 0, -inf for 0. */
double tm_je_log(double x);

/* Within 1 ulp of libm's; 0 below the smallest subnormal, inf above
 * DBL_MAX. */
double tm_je_exp(double x);

/* The nearest integer, halfway cases away from zero, as libm's. */
double tm_je_round(double x);

#endif
