/* test_learn_dropout.c: inverted dropout: kept fraction, scale,
 * reproducibility, splitting by counter, gradient. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cnnkit.h"
#include "check.h"
#include "test_learn_gradcheck.h"

enum { BIG = 200000 }; /* above the parallel threshold */

static void test_fraction_and_scale(void)
{
	float *x = malloc(BIG * sizeof *x), *y = malloc(BIG * sizeof *y);
	float *mask = malloc(BIG * sizeof *mask);
	for (int i = 0; i < BIG; i++)
		x[i] = 1.0f + (float)(i % 7);
	const float ps[] = { 0.1f, 0.5f, 0.8f };
	for (int k = 0; k < 3; k++) {
		float p = ps[k], scale = 1.0f / (1.0f - p);
		ck_dropout_forward(y, mask, x, BIG, p, 1234, 0);
		int kept = 0, ok = 1;
		for (int i = 0; i < BIG; i++) {
			if (mask[i] != 0.0f) {
				kept++;
				ok &= mask[i] == scale && y[i] == x[i] * scale;
			} else {
				ok &= y[i] == 0.0f;
			}
		}
		/* Binomial: sd of the kept fraction is sqrt(p(1-p)/n) <= 0.0011;
		 * 0.006 is over 5 sd. */
		double frac = (double)kept / BIG;
		CHECK(fabs(frac - (1.0 - p)) < 0.006, "p=%g kept %g", p, frac);
		CHECK(ok, "p=%g: mask is 0 or 1/(1-p), out = inp*mask", p);
	}
	ck_dropout_forward(y, mask, x, BIG, 0.0f, 1, 0);
	CHECK(memcmp(x, y, BIG * sizeof *x) == 0, "p=0 is the identity");
	ck_dropout_forward(y, mask, x, BIG, 1.0f, 1, 0);
	int zeros = 1;
	for (int i = 0; i < BIG; i++)
		zeros &= y[i] == 0.0f && mask[i] == 0.0f;
	CHECK(zeros, "p=1 drops everything");
	free(x);
	free(y);
	free(mask);
}

/* Same seed and counter, same mask; the mask of element i is a function of
 * (seed, counter_base + i) only, so the work can be split anywhere; another
 * seed gives another mask. */
static void test_reproducible(void)
{
	float *x = malloc(BIG * sizeof *x), *m1 = malloc(BIG * sizeof *m1);
	float *m2 = malloc(BIG * sizeof *m2), *y = malloc(BIG * sizeof *y);
	for (int i = 0; i < BIG; i++)
		x[i] = 1.0f;
	ck_dropout_forward(y, m1, x, BIG, 0.5f, 99, 1000);
	ck_dropout_forward(y, m2, x, BIG, 0.5f, 99, 1000);
	CHECK(memcmp(m1, m2, BIG * sizeof *m1) == 0, "same seed, same mask");
	int split = 12345;
	ck_dropout_forward(y, m2, x, split, 0.5f, 99, 1000);
	ck_dropout_forward(y + split, m2 + split, x + split, BIG - split, 0.5f, 99, 1000 + split);
	CHECK(memcmp(m1, m2, BIG * sizeof *m1) == 0, "split at %d, same mask", split);
	int ok = 1;
	for (int i = 0; i < BIG; i++)
		ok &= m1[i] == (ck_hash_uniform(99, 1000 + (uint64_t)i) < 0.5f ? 0.0f : 2.0f);
	CHECK(ok, "mask from ck_hash_uniform(seed, counter_base + i)");
	ck_dropout_forward(y, m2, x, BIG, 0.5f, 100, 1000);
	int same = 0;
	for (int i = 0; i < BIG; i++)
		same += m1[i] == m2[i];
	CHECK(fabs((double)same / BIG - 0.5) < 0.01, "another seed agrees on half only: %d", same);
	free(x);
	free(m1);
	free(m2);
	free(y);
}

enum { N = 30 };

struct dctx {
	const float *r;
};

static double drop_loss(void *vctx, const float *x)
{
	struct dctx *ctx = vctx;
	float out[N], mask[N];
	ck_dropout_forward(out, mask, x, N, 0.4f, 7, 0);
	return gc_dot(out, ctx->r, N);
}

/* L = sum dropout(x) * R with a fixed mask: linear, so h = 1e-2 and
 * atol 1e-4, rtol 1e-3. Backward adds. */
static void test_gradient(void)
{
	unsigned st = 4;
	float x[N], r[N], out[N], mask[N], d[N];
	gc_fill(x, N, -2.0f, 2.0f, &st);
	gc_fill(r, N, -1.0f, 1.0f, &st);
	ck_dropout_forward(out, mask, x, N, 0.4f, 7, 0);
	for (int i = 0; i < N; i++)
		d[i] = 0.0f;
	ck_dropout_backward(d, r, mask, N);
	struct dctx ctx = { r };
	CHECK(gradcheck("dropout", drop_loss, &ctx, x, d, N, 1e-2f, 1e-4, 1e-3) == 0, "gradient");
	ck_dropout_backward(d, r, mask, N);
	int ok = 1;
	for (int i = 0; i < N; i++)
		ok &= fabsf(d[i] - 2.0f * r[i] * mask[i]) <= 1e-6f; /* fused or not */
	CHECK(ok, "backward accumulates");
}

int main(void)
{
	RUN(test_fraction_and_scale);
	RUN(test_reproducible);
	RUN(test_gradient);
	return check_summary();
}
