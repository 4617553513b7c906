/* test_nn.h: helpers shared by the layer-kernel tests (test_nn_*.c):
 * a seeded generator, buffer fills, element-wise comparison, and a central
 * finite-difference gradient check.
 *
 * The gradient check uses the scalar loss L = sum(out * R) with a fixed
 * random R, so dL/dout = R is what the backward kernel receives as dout.
 * Each input element x is moved by +-eps, the forward kernel rerun, and
 * (L(x+eps) - L(x-eps)) / 2eps compared with the analytic gradient. Every
 * kernel here is linear in any single element of its inputs (the max pools
 * piecewise so, with inputs spaced wider than 2 eps), so the difference
 * quotient is exact up to float rounding of out, which the tolerance covers.
 */
#ifndef CK_TEST_NN_H
#define CK_TEST_NN_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cnnkit.h"

/* xorshift64*: small, seeded, the same sequence on every platform. */
static uint64_t test_rng_state = 0x9E3779B97F4A7C15u;

static inline void test_seed(uint64_t seed)
{
	test_rng_state = seed ? seed : 1;
}

static inline uint64_t test_rand(void)
{
	test_rng_state ^= test_rng_state >> 12;
	test_rng_state ^= test_rng_state << 25;
	test_rng_state ^= test_rng_state >> 27;
	return test_rng_state * 0x2545F4914F6CDD1Du;
}

/* Uniform integer in [lo, hi]. */
static inline int test_int(int lo, int hi)
{
	return lo + (int)(test_rand() % (uint64_t)(hi - lo + 1));
}

/* Uniform float in [-1, 1). */
static inline float test_float(void)
{
	return (float)((double)(test_rand() >> 40) / (double)(1u << 23) - 1.0);
}

/* Allocation that never fails quietly (test code may exit). The size is
 * at least one element so malloc(0) cannot return NULL. */
static inline void *test_alloc(size_t n, size_t size)
{
	void *p = malloc((n ? n : 1) * size);
	if (!p) {
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
	return p;
}

static inline float *floats(size_t n)
{
	return test_alloc(n, sizeof(float));
}

static inline float *random_floats(size_t n)
{
	float *p = floats(n);
	for (size_t i = 0; i < n; i++)
		p[i] = test_float();
	return p;
}

/* n distinct values spaced by `gap` (a shuffled ramp centred on 0): no two
 * elements tie, so a max pool's winner survives a perturbation < gap/2. */
static inline float *distinct_floats(size_t n, float gap)
{
	float *p = floats(n);
	for (size_t i = 0; i < n; i++)
		p[i] = ((float)i - (float)n / 2) * gap;
	for (size_t i = n; i > 1; i--) {
		size_t j = test_rand() % i;
		float t = p[i - 1];
		p[i - 1] = p[j];
		p[j] = t;
	}
	return p;
}

static inline float *copy_floats(const float *src, size_t n)
{
	float *p = floats(n);
	memcpy(p, src, sizeof(float) * n);
	return p;
}

/* Marks a buffer the kernel must fully overwrite (or must not read). */
static inline void fill_nan(float *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = NAN;
}

/* Tolerance for a float result summed over `len` terms of magnitude <= 1,
 * compared with a double-accumulated reference: 1e-5, growing linearly past
 * 256 terms (the worst case of float accumulation error). */
static inline double sum_tol(size_t len)
{
	return 1e-5 * fmax(1.0, (double)len / 256.0);
}

/* |got-want| <= tol * max(1, |got|, |want|) for all n; one CHECK naming the
 * first mismatch (a NaN on either side is one). */
static inline void expect_close(const float *got, const float *want, size_t n,
                         double tol, const char *what)
{
	for (size_t i = 0; i < n; i++) {
		double a = got[i], b = want[i];
		double scale = fmax(1.0, fmax(fabs(a), fabs(b)));
		if (!(fabs(a - b) <= tol * scale)) {
			CHECK(0, "%s: element %zu: %.9g != %.9g (tol %g)", what, i, a, b, tol);
			return;
		}
	}
}

#define EXPECT_SAME_BITS(a, b, n, what)                                         \
	CHECK(memcmp((a), (b), sizeof(*(a)) * (n)) == 0, "%s: not bit-identical", (what))

/* A forward pass to differentiate: forward(ctx) recomputes out (nout) from
 * the current inputs; R is dL/dout. */
typedef struct fd_loss {
	void (*forward)(void *ctx);
	void *ctx;
	const float *out;
	const float *R;
	size_t nout;
} fd_loss;

static inline double fd_loss_value(const fd_loss *l)
{
	l->forward(l->ctx);
	double s = 0.0;
	for (size_t i = 0; i < l->nout; i++)
		s += (double)l->out[i] * l->R[i];
	return s;
}

/* Largest |numeric - analytic| / max(1, |numeric|, |analytic|) over the
 * elements of x (nx), each perturbed by +-eps and restored. */
static inline double fd_max_error(const fd_loss *l, float *x, size_t nx,
                           const float *grad, float eps)
{
	double worst = 0.0;
	for (size_t i = 0; i < nx; i++) {
		float saved = x[i];
		x[i] = saved + eps;
		double up = fd_loss_value(l);
		float step_up = x[i] - saved; /* the step really taken in float */
		x[i] = saved - eps;
		double down = fd_loss_value(l);
		float step_down = saved - x[i];
		x[i] = saved;
		double numeric = (up - down) / ((double)step_up + step_down);
		double scale = fmax(1.0, fmax(fabs(numeric), fabs((double)grad[i])));
		double err = fabs(numeric - grad[i]) / scale;
		if (!(err <= worst)) /* NaN sticks */
			worst = err;
	}
	l->forward(l->ctx);
	return worst;
}

/* The tolerance of the gradient checks: the difference quotient is exact
 * for these kernels, so this only covers float rounding of L, which
 * (1e-7 * sqrt(nout) * |out|) / eps stays far below on the small shapes used. */
#define FD_TOL 2e-3

static inline void expect_grad(const fd_loss *l, float *x, size_t nx,
                        const float *grad, float eps, const char *what)
{
	double e = fd_max_error(l, x, nx, grad, eps);
	CHECK(e <= FD_TOL, "%s: finite-difference error %g", what, e);
}

#endif
