/* The library's log, exp and round for jemalloc's heap profiler, against
 * libm's: over every binade of log's domain and exp's whole range, near 1
 * where log's result is small, and round's halfway cases and signs. */
#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "allocator/je_math.h"
#include "tests/check.h"

/* Distance from want in units of want's last place. */
static double ulps(double got, double want)
{
	if (got == want)
		return 0;
	return fabs(got - want) / (nextafter(fabs(want), INFINITY) - fabs(want));
}

static void test_log(void)
{
	double worst = 0;
	srand48(15);
	for (int i = 0; i < 200000; i++) {
		double x = ldexp(0.5 + drand48() / 2, (int)(drand48() * 2098) - 1074);
		if (i % 4 == 0)
			x = 1 + (drand48() - 0.5) * pow(10, -drand48() * 15);
		worst = fmax(worst, ulps(tm_je_log(x), log(x)));
	}
	CHECK(worst <= 3, "log within 3 ulps of libm's (worst %.2f)", worst);
	CHECK(tm_je_log(1) == 0 && tm_je_log(DBL_TRUE_MIN) == log(DBL_TRUE_MIN),
	      "log of 1 and of the smallest subnormal");
	CHECK(tm_je_log(0) == -HUGE_VAL && isnan(tm_je_log(-1)) &&
	      isnan(tm_je_log(NAN)) && tm_je_log(INFINITY) == INFINITY,
	      "log of 0, negatives, NaN, inf");
}

static void test_exp(void)
{
	double worst = 0;
	srand48(15);
	for (int i = 0; i < 200000; i++) {
		double x = (drand48() * 2 - 1) * 708;
		if (i % 4 == 0)
			x = (drand48() - 0.5) * 2;
		worst = fmax(worst, ulps(tm_je_exp(x), exp(x)));
	}
	CHECK(worst <= 1, "exp within 1 ulp of libm's (worst %.2f)", worst);
	CHECK(tm_je_exp(0) == 1 && tm_je_exp(-745) == exp(-745) &&
	      tm_je_exp(709.78) == exp(709.78), "exp at 0 and at both ends");
	CHECK(tm_je_exp(-1e13) == 0 && tm_je_exp(710) == INFINITY &&
	      tm_je_exp(-INFINITY) == 0 && isnan(tm_je_exp(NAN)),
	      "exp under- and overflow, -inf, NaN");
}

static void test_round(void)
{
	static const double xs[] = {0.5, 1.5, 2.5, -0.5, -2.5, 0.49999999999999994,
		-0.3, 0, 3.7, -3.7, 4503599627370495.5, 0x1p52 + 1, 1e300,
		INFINITY, -INFINITY};
	int same = 0;
	for (size_t i = 0; i < sizeof(xs) / sizeof(xs[0]); i++)
		same += tm_je_round(xs[i]) == round(xs[i]) &&
			signbit(tm_je_round(xs[i])) == signbit(round(xs[i]));
	CHECK_EQ(same, sizeof(xs) / sizeof(xs[0]), "round as libm's, sign included");
	CHECK(isnan(tm_je_round(NAN)), "round of NaN");
}

int main(void)
{
	test_log();
	test_exp();
	test_round();
	return check_summary();
}
