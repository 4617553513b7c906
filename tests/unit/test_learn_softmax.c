/* test_learn_softmax.c: row softmax values, stability and gradient. */
#include <math.h>
#include <string.h>

#include "cnnkit.h"
#include "check.h"
#include "test_learn_gradcheck.h"

enum { ROWS = 3, COLS = 5 };

static void test_equal_logits(void)
{
	float x[2 * 4] = { 0, 0, 0, 0, 7.5f, 7.5f, 7.5f, 7.5f };
	float y[8];
	ck_softmax_forward(y, x, 2, 4);
	int ok = 1;
	for (int i = 0; i < 8; i++)
		ok &= y[i] == 0.25f;
	CHECK(ok, "equal logits give 1/K exactly");
}

static void test_extreme_logits(void)
{
	float x[3] = { 1000.0f, -1000.0f, 999.0f };
	float y[3];
	ck_softmax_forward(y, x, 1, 3);
	double e = exp(-1.0);
	CHECK_NEAR(y[0], 1.0 / (1.0 + e), 1e-7, "p0");
	CHECK(y[1] == 0.0f, "p1 underflows to 0, no NaN");
	CHECK_NEAR(y[2], e / (1.0 + e), 1e-7, "p2");
	/* Rows sum to one and the forward may run in place. */
	float z[ROWS * COLS], w[ROWS * COLS];
	unsigned st = 5;
	gc_fill(z, ROWS * COLS, -20.0f, 20.0f, &st);
	ck_softmax_forward(w, z, ROWS, COLS);
	ck_softmax_forward(z, z, ROWS, COLS);
	CHECK(memcmp(w, z, sizeof z) == 0, "in place");
	for (int n = 0; n < ROWS; n++) {
		double s = 0;
		for (int k = 0; k < COLS; k++)
			s += w[n * COLS + k];
		CHECK_NEAR(s, 1.0, 1e-6, "row %d sums to 1", n);
	}
}

struct sm_ctx {
	const float *r;
};

static double sm_loss(void *vctx, const float *x)
{
	struct sm_ctx *ctx = vctx;
	float y[ROWS * COLS];
	ck_softmax_forward(y, x, ROWS, COLS);
	return gc_dot(y, ctx->r, ROWS * COLS);
}

/* L = sum softmax(x) * R, h = 1e-2 on logits in [-3, 3]; atol 5e-4, rtol 1e-2. */
static void test_gradient(void)
{
	unsigned st = 9;
	float x[ROWS * COLS], r[ROWS * COLS], y[ROWS * COLS], d[ROWS * COLS];
	gc_fill(x, ROWS * COLS, -3.0f, 3.0f, &st);
	gc_fill(r, ROWS * COLS, -1.0f, 1.0f, &st);
	ck_softmax_forward(y, x, ROWS, COLS);
	for (int i = 0; i < ROWS * COLS; i++)
		d[i] = 1.0f;
	ck_softmax_backward(d, r, y, ROWS, COLS);
	for (int i = 0; i < ROWS * COLS; i++)
		d[i] -= 1.0f; /* backward added to the ones */
	struct sm_ctx ctx = { r };
	CHECK(gradcheck("softmax", sm_loss, &ctx, x, d, ROWS * COLS, 1e-2f, 5e-4, 1e-2) == 0,
	      "softmax gradient");
}

int main(void)
{
	RUN(test_equal_logits);
	RUN(test_extreme_logits);
	RUN(test_gradient);
	return check_summary();
}
