#include "allocator/je_math.h"

#include <math.h>

/* ln 2 in two parts: the low 32 bits of LN2_HI are zero, so k * LN2_HI is
 * exact for the |k| < 2^11 used here, and x - k ln 2 loses nothing to
 * cancellation. */
#define LN2_HI 6.93147180369123816490e-01
#define LN2_LO 1.90821492927058770002e-10

/* x = m 2^e with m in [sqrt(1/2), sqrt(2)), and log m = 2 atanh s =
 * 2 (s + s^3/3 + s^5/5 + ...) with s = (m - 1) / (m + 1), |s| < 0.172:
 * 12 terms go below double precision. Summed smallest first (Horner). */
double tm_je_log(double x)
{
	if (isnan(x) || x < 0)
		return NAN;
	if (x == 0)
		return -HUGE_VAL;
	if (isinf(x))
		return x;
	int e;
	double m = frexp(x, &e);
	if (m < M_SQRT1_2) {
		m *= 2;
		e--;
	}
	double s = (m - 1) / (m + 1), s2 = s * s, sum = 0;
	for (int k = 23; k >= 1; k -= 2)
		sum = sum * s2 + 1.0 / k;
	return e * LN2_HI + (e * LN2_LO + 2 * s * sum);
}

/* x = k ln 2 + r with k an integer and |r| <= ln 2 / 2; exp x = 2^k exp r,
 * and 16 terms of exp r's Taylor series go below double precision. */
double tm_je_exp(double x)
{
	if (isnan(x))
		return x;
	if (x > 709.79) /* log(DBL_MAX) = 709.7827... */
		return HUGE_VAL;
	if (x < -745.2) /* exp(-745.13...) is the smallest subnormal */
		return 0;
	double k = (double)(long)(x * M_LOG2E + (x < 0 ? -0.5 : 0.5));
	double r = (x - k * LN2_HI) - k * LN2_LO, sum = 1;
	for (int n = 16; n >= 1; n--)
		sum = 1 + sum * r / n;
	return ldexp(sum, (int)k);
}

double tm_je_round(double x)
{
	if (!(fabs(x) < 0x1p52)) /* NaN, infinite, or an integer already */
		return x;
	double t = (double)(long long)x; /* towards zero; x - t is exact */
	if (fabs(x - t) >= 0.5)
		t += x < 0 ? -1 : 1;
	return copysign(t, x);
}
