/* test_learn_batchnorm.c: train-mode statistics and normalisation, running
 * statistics as PyTorch, inference mode, gradients of inp, gamma and beta. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cnnkit.h"
#include "check.h"
#include "test_learn_gradcheck.h"

/* A MNIST-sized batch: 64 x 3 x 28x28, channels with offsets up to 1000 so
 * that float sums of the 50176 values per channel would lose digits. */
static void test_train_statistics(void)
{
	enum { N = 64, C = 3, S = 28 * 28 };
	size_t total = (size_t)N * C * S;
	float *x = malloc(total * sizeof *x), *y = malloc(total * sizeof *y);
	const float offset[C] = { 0.0f, 1000.0f, -3.0f }, spread[C] = { 1.0f, 0.5f, 20.0f };
	unsigned st = 17;
	for (int n = 0; n < N; n++)
		for (int c = 0; c < C; c++) {
			float *row = x + ((size_t)n * C + c) * S;
			gc_fill(row, S, -spread[c], spread[c], &st);
			for (int s = 0; s < S; s++)
				row[s] += offset[c];
		}
	float mean[C], rstd[C], rm[C] = { 0, 0, 0 }, rv[C] = { 1, 1, 1 };
	ck_batchnorm_forward_train(y, mean, rstd, rm, rv, x, NULL, NULL, N, C, S,
	                           CK_BN_MOMENTUM, CK_BN_EPS);
	double M = (double)N * S;
	for (int c = 0; c < C; c++) {
		/* Reference statistics in double, two-pass. */
		double sx = 0, sy = 0, syy = 0;
		for (int n = 0; n < N; n++)
			for (int s = 0; s < S; s++)
				sx += x[((size_t)n * C + c) * S + s];
		double mu = sx / M, ss = 0;
		for (int n = 0; n < N; n++)
			for (int s = 0; s < S; s++) {
				size_t i = ((size_t)n * C + c) * S + s;
				ss += (x[i] - mu) * (x[i] - mu);
				sy += y[i];
				syy += (double)y[i] * y[i];
			}
		double var = ss / M;
		CHECK_NEAR(mean[c], mu, 1e-7, "channel %d mean", c);
		CHECK_NEAR(rstd[c], 1.0 / sqrt(var + 1e-5), 1e-6, "channel %d rstd", c);
		/* The output has mean 0 and variance var/(var+eps) ~ 1. */
		double ym = sy / M, yv = syy / M - ym * ym;
		CHECK(fabs(ym) < 1e-5, "channel %d output mean %g", c, ym);
		CHECK_NEAR(yv, var / (var + 1e-5), 1e-4, "channel %d output variance", c);
		/* Running statistics: PyTorch's momentum update, unbiased variance. */
		CHECK_NEAR(rm[c], 0.1 * mu, 1e-6, "channel %d running mean", c);
		CHECK_NEAR(rv[c], 0.9 + 0.1 * ss / (M - 1), 1e-6, "channel %d running var", c);
	}
	free(x);
	free(y);
}

/* Inference uses the running statistics: gamma, beta and (x - rm)/sqrt(rv + eps). */
static void test_inference(void)
{
	enum { N = 2, C = 2, S = 3 };
	float x[N * C * S] = { 1, 2, 3, 4, 5, 6, -1, 0, 1, 7, 8, 9 };
	float g[C] = { 2.0f, 0.5f }, b[C] = { 0.25f, -1.0f };
	float rm[C] = { 1.5f, 6.0f }, rv[C] = { 0.75f, 4.0f }, y[N * C * S];
	ck_batchnorm_forward_infer(y, x, g, b, rm, rv, N, C, S, 1e-5f);
	for (int i = 0; i < N * C * S; i++) {
		int c = (i / S) % C;
		double want = (x[i] - rm[c]) / sqrt(rv[c] + 1e-5) * g[c] + b[c];
		CHECK_NEAR(y[i], want, 1e-6, "element %d", i);
	}
	/* After a train step with momentum 1 the running statistics are the
	 * batch's, so inference differs from training only by the unbiased
	 * variance: ratio sqrt((var_b + eps) / (var_u + eps)). */
	float mean[C], rstd[C], yt[N * C * S];
	ck_batchnorm_forward_train(yt, mean, rstd, rm, rv, x, g, b, N, C, S, 1.0f, 1e-5f);
	CHECK(rm[0] == mean[0] && rm[1] == mean[1], "momentum 1 copies the batch mean");
	ck_batchnorm_forward_infer(y, x, g, b, rm, rv, N, C, S, 1e-5f);
	for (int i = 0; i < N * C * S; i++) {
		int c = (i / S) % C;
		double vb = 1.0 / ((double)rstd[c] * rstd[c]) - 1e-5;
		double ratio = sqrt((vb + 1e-5) / (rv[c] + 1e-5));
		CHECK_NEAR(y[i] - b[c], (yt[i] - b[c]) * ratio, 1e-5, "element %d", i);
	}
}

struct bn_ctx {
	float *x, *gamma, *beta; /* gamma, beta may be NULL */
	const float *r;
	int N, C, S;
};

/* L = sum bn(x) * R; reads the arrays the check perturbs, not its argument. */
static double bn_loss(void *vctx, const float *unused)
{
	struct bn_ctx *ctx = vctx;
	size_t n = (size_t)ctx->N * ctx->C * ctx->S;
	float *y = malloc(n * sizeof *y), mean[8], rstd[8];
	ck_batchnorm_forward_train(y, mean, rstd, NULL, NULL, ctx->x, ctx->gamma,
	                           ctx->beta, ctx->N, ctx->C, ctx->S, 0.1f, 1e-5f);
	double l = gc_dot(y, ctx->r, n);
	free(y);
	return l;
}

/* h = 1e-2 on inputs in [-2, 2] (12 and 6 values a channel); atol 2e-3,
 * rtol 2e-2: the normalisation amplifies rounding by rstd. */
static void test_gradients(void)
{
	enum { N = 3, C = 2, S = 4, T = N * C * S };
	unsigned st = 31;
	float x[T], r[T], y[T];
	float gamma[C] = { 1.5f, -0.7f }, beta[C] = { 0.3f, 0.1f };
	float mean[C], rstd[C], dx[T] = { 0 }, dg[C] = { 0, 0 }, db[C] = { 0, 0 };
	gc_fill(x, T, -2.0f, 2.0f, &st);
	gc_fill(r, T, -1.0f, 1.0f, &st);
	ck_batchnorm_forward_train(y, mean, rstd, NULL, NULL, x, gamma, beta, N, C, S, 0.1f, 1e-5f);
	ck_batchnorm_backward(dx, dg, db, r, x, gamma, mean, rstd, N, C, S);
	struct bn_ctx ctx = { x, gamma, beta, r, N, C, S };
	CHECK(gradcheck("bn dinp", bn_loss, &ctx, x, dx, T, 1e-2f, 2e-3, 2e-2) == 0, "dinp");
	CHECK(gradcheck("bn dgamma", bn_loss, &ctx, gamma, dg, C, 1e-2f, 2e-3, 2e-2) == 0, "dgamma");
	CHECK(gradcheck("bn dbeta", bn_loss, &ctx, beta, db, C, 1e-2f, 2e-3, 2e-2) == 0, "dbeta");

	/* Accumulation: a second backward doubles every gradient. */
	float dx2[T], dg2[C], db2[C];
	memcpy(dx2, dx, sizeof dx);
	memcpy(dg2, dg, sizeof dg);
	memcpy(db2, db, sizeof db);
	ck_batchnorm_backward(dx2, dg2, db2, r, x, gamma, mean, rstd, N, C, S);
	int ok = 1; /* to rounding: the compiler may fuse the multiply-add */
	for (int c = 0; c < C; c++)
		ok &= fabsf(dg2[c] - 2 * dg[c]) <= 1e-6f && fabsf(db2[c] - 2 * db[c]) <= 1e-6f;
	for (int i = 0; i < T; i++)
		ok &= fabsf(dx2[i] - 2 * dx[i]) <= 1e-6f;
	CHECK(ok, "backward accumulates");

	/* Dense features (S = 1), no affine, no gamma/beta gradients wanted. */
	enum { DN = 6, DC = 2 };
	float xd[DN * DC], rd[DN * DC], yd[DN * DC], dxd[DN * DC] = { 0 };
	gc_fill(xd, DN * DC, -1.0f, 3.0f, &st);
	gc_fill(rd, DN * DC, -1.0f, 1.0f, &st);
	ck_batchnorm_forward_train(yd, mean, rstd, NULL, NULL, xd, NULL, NULL, DN, DC, 1, 0.1f, 1e-5f);
	ck_batchnorm_backward(dxd, NULL, NULL, rd, xd, NULL, mean, rstd, DN, DC, 1);
	struct bn_ctx dctx = { xd, NULL, NULL, rd, DN, DC, 1 };
	CHECK(gradcheck("bn dense dinp", bn_loss, &dctx, xd, dxd, DN * DC, 1e-2f, 2e-3, 2e-2) == 0,
	      "dense dinp");
}

int main(void)
{
	RUN(test_train_statistics);
	RUN(test_inference);
	RUN(test_gradients);
	return check_summary();
}
