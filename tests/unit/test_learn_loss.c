/* test_learn_loss.c: MSE, BCE on logits, softmax cross-entropy: hand-computed
 * values, extreme logits, finite-difference gradients, accuracy helpers. */
#include <math.h>
#include <string.h>

#include "cnnkit.h"
#include "check.h"
#include "test_learn_gradcheck.h"

enum { ROWS = 4, COLS = 3 };

static void test_mse_exact(void)
{
	float p[4] = { 1, 2, 3, 4 }, t[4] = { 0, 2, 5, 3 }, d[4] = { 9, 9, 9, 9 };
	/* (1 + 0 + 4 + 1) / 4 */
	CHECK(ck_mse_forward(p, t, 2, 2) == 1.5, "mse value");
	ck_mse_backward(d, p, t, 2, 2);
	CHECK(d[0] == 0.5f && d[1] == 0.0f && d[2] == -1.0f && d[3] == 0.5f,
	      "mse gradient 2(p-t)/4, written not added");
}

static void test_bce_values(void)
{
	float z0 = 0.0f, half = 0.5f;
	CHECK_NEAR(ck_bce_logits_forward(&z0, &half, 1, 1), log(2.0), 1e-15, "bce(0, 0.5) = log 2");
	/* Logits of +-1000: each term is 0 or |z| exactly. */
	float z[4] = { 1000, 1000, -1000, -1000 }, t[4] = { 1, 0, 0, 1 }, d[4];
	double loss = ck_bce_logits_forward(z, t, 2, 2);
	CHECK(isfinite(loss) && loss == 500.0, "bce(+-1000) = (0+1000+0+1000)/4, got %g", loss);
	ck_bce_logits_backward(d, z, t, 2, 2);
	CHECK(d[0] == 0.0f && d[1] == 0.25f && d[2] == 0.0f && d[3] == -0.25f,
	      "bce gradient (sigmoid(z)-t)/4 at +-1000: %g %g %g %g", d[0], d[1], d[2], d[3]);
	/* A moderate value against the naive formula in double. */
	float z1 = -2.5f, t1 = 0.3f;
	double s = 1.0 / (1.0 + exp(2.5));
	double want = -((double)t1 * log(s) + (1.0 - t1) * log(1.0 - s));
	CHECK_NEAR(ck_bce_logits_forward(&z1, &t1, 1, 1), want, 1e-12, "bce(-2.5, 0.3)");
}

static void test_cce_values(void)
{
	float probs[3 * 3];
	/* Equal logits: loss log K, probs 1/K. */
	float eq[3] = { 2, 2, 2 };
	int32_t lab0 = 0;
	CHECK_NEAR(ck_cce_forward(probs, eq, &lab0, 1, 3), log(3.0), 1e-7, "equal logits: log K");
	/* A confident one-hot logit: loss ~ 2 e^-100 = 0 in double; the wrong
	 * label costs 100. */
	float conf[3] = { 100, 0, 0 };
	int32_t lab1 = 1;
	CHECK_NEAR(ck_cce_forward(probs, conf, &lab0, 1, 3), 0.0, 1e-12, "confident and right");
	CHECK_NEAR(ck_cce_forward(probs, conf, &lab1, 1, 3), 100.0, 1e-12, "confident and wrong");
	/* +-1000: finite, exact, probs finite. */
	float big[3 * 3] = { 1000, -1000, 0, -1000, 1000, 1000, 0, 0, -1000 };
	int32_t lab[3] = { 1, 2, 2 };
	double loss = ck_cce_forward(probs, big, lab, 3, 3);
	/* rows: 2000; log 2; 1000 + log 2 */
	CHECK_NEAR(loss, (2000.0 + log(2.0) + 1000.0 + log(2.0)) / 3.0, 1e-12, "cce at +-1000");
	int ok = 1;
	for (int i = 0; i < 9; i++)
		ok &= isfinite(probs[i]);
	CHECK(ok, "probs finite");
	float d[9];
	ck_cce_backward(d, probs, lab, 3, 3);
	CHECK(d[0] == 1.0f / 3 && d[1] == -1.0f / 3 && d[2] == 0.0f, "row 0 gradient");
	CHECK(d[4] == 0.5f / 3 && d[5] == -0.5f / 3, "row 1 gradient");
}

struct loss_ctx {
	int kind; /* 0 mse, 1 bce, 2 cce */
	const float *target;
	const int32_t *labels;
};

static double loss_of(void *vctx, const float *x)
{
	struct loss_ctx *ctx = vctx;
	float probs[ROWS * COLS];
	switch (ctx->kind) {
	case 0: return ck_mse_forward(x, ctx->target, ROWS, COLS);
	case 1: return ck_bce_logits_forward(x, ctx->target, ROWS, COLS);
	default: return ck_cce_forward(probs, x, ctx->labels, ROWS, COLS);
	}
}

/* The loss itself is the scalar; h = 1e-2 on inputs in [-3, 3] (MSE is
 * quadratic, so only rounding matters); atol 1e-4 (gradients are ~1/12),
 * rtol 1e-2. */
static void test_gradients(void)
{
	unsigned st = 21;
	float x[ROWS * COLS], t[ROWS * COLS], d[ROWS * COLS], probs[ROWS * COLS];
	int32_t labels[ROWS] = { 0, 2, 1, 2 };
	gc_fill(x, ROWS * COLS, -3.0f, 3.0f, &st);
	gc_fill(t, ROWS * COLS, 0.0f, 1.0f, &st);
	const char *names[] = { "mse", "bce", "cce" };
	for (int kind = 0; kind < 3; kind++) {
		memset(d, 0xff, sizeof d); /* NaNs: the backward must write everything */
		if (kind == 0)
			ck_mse_backward(d, x, t, ROWS, COLS);
		else if (kind == 1)
			ck_bce_logits_backward(d, x, t, ROWS, COLS);
		else {
			ck_cce_forward(probs, x, labels, ROWS, COLS);
			ck_cce_backward(d, probs, labels, ROWS, COLS);
		}
		struct loss_ctx ctx = { kind, t, labels };
		CHECK(gradcheck(names[kind], loss_of, &ctx, x, d, ROWS * COLS, 1e-2f, 1e-4, 1e-2) == 0,
		      "%s gradient", names[kind]);
	}
}

static void test_argmax(void)
{
	float s[4 * 3] = {
		1, 3, 3,         /* tie: lowest index */
		NAN, -5, -6,     /* a NaN never wins */
		-1, -1, -1,
		0, 0, 2,
	};
	int32_t pred[4], labels[4] = { 1, 1, 0, 1 };
	ck_argmax_rows(pred, s, 4, 3);
	CHECK(pred[0] == 1 && pred[1] == 1 && pred[2] == 0 && pred[3] == 2,
	      "argmax %d %d %d %d", pred[0], pred[1], pred[2], pred[3]);
	CHECK(ck_count_correct(s, labels, 4, 3) == 3, "3 correct");
}

int main(void)
{
	RUN(test_mse_exact);
	RUN(test_bce_values);
	RUN(test_cce_values);
	RUN(test_gradients);
	RUN(test_argmax);
	return check_summary();
}
