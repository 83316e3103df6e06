/* A minimal test harness shared by the C test programs.
 *
 *   CHECK(cond, "what")           one assertion, counted
 *   CHECK_EQ(a, b, "what")        integers, values printed on failure
 *   return check_summary();       prints "N passed, N failed", exit status
 */
#ifndef TM_CHECK_H
#define TM_CHECK_H

#include <stdio.h>

static int check_passed, check_failed;

#define CHECK(cond, ...)                                                      \
	do {                                                                  \
		if (cond) {                                                   \
			check_passed++;                                       \
		} else {                                                      \
			check_failed++;                                       \
			fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);  \
			fprintf(stderr, __VA_ARGS__);                         \
			fputc('\n', stderr);                                  \
		}                                                             \
	} while (0)

#define CHECK_EQ(a, b, ...)                                                   \
	do {                                                                  \
		long long check_a_ = (long long)(a), check_b_ = (long long)(b); \
		CHECK(check_a_ == check_b_, __VA_ARGS__);                     \
		if (check_a_ != check_b_)                                     \
			fprintf(stderr, "     got %lld, want %lld\n", check_a_,   \
				check_b_);                                    \
	} while (0)

static inline int check_summary(void)
{
	printf("%d passed, %d failed\n", check_passed, check_failed);
	return check_failed ? 1 : 0;
}

#endif
