/* check.h: a minimal TAP-producing test harness for the C unit tests.
 *
 * Each test binary prints one "ok - name" or "not ok - name" line per CHECK
 * group and exits non-zero if anything failed; tests/run.sh counts the lines.
 *
 *   static void test_crc(void) {
 *       CHECK(crc("") == 0, "crc of empty is 0");
 *       CHECK_NEAR(x, 1.0, 1e-6, "x is one");
 *   }
 *   int main(void) { RUN(test_crc); return check_summary(); }
 *
 * A RUN reports one TAP line for the whole function: ok if every CHECK in it
 * held; failing CHECKs print their file:line and message as TAP comments.
 */
#ifndef CK_TEST_CHECK_H
#define CK_TEST_CHECK_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static int check_failures_in_test; /* CHECKs failed in the running test */
static int check_tests_passed, check_tests_failed;

#define CHECK(cond, ...)                                                       \
	do {                                                                       \
		if (!(cond)) {                                                         \
			check_failures_in_test++;                                          \
			printf("# %s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);  \
			printf(__VA_ARGS__);                                               \
			printf("\n");                                                      \
		}                                                                      \
	} while (0)

/* |a-b| <= tol * max(1, |a|, |b|): relative for large values, absolute near 0. */
#define CHECK_NEAR(a, b, tol, ...)                                             \
	do {                                                                       \
		double check_a_ = (a), check_b_ = (b);                                 \
		double check_s_ = fmax(1.0, fmax(fabs(check_a_), fabs(check_b_)));    \
		if (!(fabs(check_a_ - check_b_) <= (tol) * check_s_)) {                \
			check_failures_in_test++;                                          \
			printf("# %s:%d: %g != %g (tol %g): ", __FILE__, __LINE__,         \
			       check_a_, check_b_, (double)(tol));                         \
			printf(__VA_ARGS__);                                               \
			printf("\n");                                                      \
		}                                                                      \
	} while (0)

#define RUN(fn)                                                                \
	do {                                                                       \
		check_failures_in_test = 0;                                            \
		fn();                                                                  \
		if (check_failures_in_test) {                                          \
			check_tests_failed++;                                              \
			printf("not ok - %s\n", #fn);                                      \
		} else {                                                               \
			check_tests_passed++;                                              \
			printf("ok - %s\n", #fn);                                          \
		}                                                                      \
		fflush(stdout);                                                        \
	} while (0)

static inline int check_summary(void)
{
	printf("# %d passed, %d failed\n", check_tests_passed, check_tests_failed);
	return check_tests_failed ? 1 : 0;
}

#endif
