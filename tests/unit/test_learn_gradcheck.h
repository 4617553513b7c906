/* test_learn_gradcheck.h: central finite differences for the test_learn_*
 * gradient checks.
 *
 * A check perturbs each input x[i] by +-h (in float, as the kernels see it),
 * evaluates a scalar loss L(x) in double, and compares
 *     num = (L(x + h e_i) - L(x - h e_i)) / (x_i+ - x_i-)
 * with the analytic gradient: |num - ana| <= atol + rtol * |num| for every i.
 * Dividing by the difference of the perturbed floats (not 2h) removes the
 * error of rounding x_i +- h. The float32 truncation and rounding error is
 * about eps_f32 * |terms of L| / h + h^2 |L'''|, so h ~ 1e-2..1e-3 with
 * atol ~ 1e-3 and rtol ~ 1e-2 is the regime these tests use. */
#ifndef TEST_LEARN_GRADCHECK_H
#define TEST_LEARN_GRADCHECK_H

#include <math.h>
#include <stdio.h>

#include "check.h"

typedef double (*gc_loss_fn)(void *ctx, const float *x);

/* Returns the number of mismatching elements (0 when the gradient holds) and
 * prints the first few as TAP comments. x is restored on return. */
static inline int gradcheck(const char *what, gc_loss_fn loss, void *ctx, float *x,
                     const float *grad, size_t n, float h, double atol,
                     double rtol)
{
	int bad = 0;
	for (size_t i = 0; i < n; i++) {
		float x0 = x[i];
		float xp = x0 + h, xm = x0 - h;
		x[i] = xp;
		double lp = loss(ctx, x);
		x[i] = xm;
		double lm = loss(ctx, x);
		x[i] = x0;
		double num = (lp - lm) / ((double)xp - xm);
		double ana = grad[i];
		if (!(fabs(num - ana) <= atol + rtol * fabs(num))) {
			if (bad < 5)
				printf("# %s: d/dx[%zu]: numeric %.7g analytic %.7g\n",
				       what, i, num, ana);
			bad++;
		}
	}
	return bad;
}

/* Fills x[0..n) with U(lo, hi) from a small LCG (tests stay independent of
 * ck_rng, which has tests of its own). */
static inline void gc_fill(float *x, size_t n, float lo, float hi, unsigned *state)
{
	for (size_t i = 0; i < n; i++) {
		*state = *state * 1664525u + 1013904223u;
		x[i] = lo + (hi - lo) * (float)(*state >> 8) * 0x1p-24f;
	}
}

/* sum out * R in double: the scalar whose gradient w.r.t. out is R. */
static inline double gc_dot(const float *out, const float *r, size_t n)
{
	double s = 0.0;
	for (size_t i = 0; i < n; i++)
		s += (double)out[i] * r[i];
	return s;
}

#endif
