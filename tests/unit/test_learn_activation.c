/* test_learn_activation.c: relu, leaky relu, sigmoid, tanh: values, in-place
 * forwards, accumulating backwards, finite-difference gradients. */
#include <math.h>
#include <string.h>

#include "cnnkit.h"
#include "check.h"
#include "test_learn_gradcheck.h"

#define N 40

enum act { RELU, LEAKY, SIGMOID, TANH };

static const float ALPHA = 0.1f;

static void act_forward(enum act a, float *out, const float *inp, size_t n)
{
	switch (a) {
	case RELU: ck_relu_forward(out, inp, n); break;
	case LEAKY: ck_leaky_relu_forward(out, inp, n, ALPHA); break;
	case SIGMOID: ck_sigmoid_forward(out, inp, n); break;
	case TANH: ck_tanh_forward(out, inp, n); break;
	}
}

static void act_backward(enum act a, float *dinp, const float *dout,
                         const float *out, size_t n)
{
	switch (a) {
	case RELU: ck_relu_backward(dinp, dout, out, n); break;
	case LEAKY: ck_leaky_relu_backward(dinp, dout, out, n, ALPHA); break;
	case SIGMOID: ck_sigmoid_backward(dinp, dout, out, n); break;
	case TANH: ck_tanh_backward(dinp, dout, out, n); break;
	}
}

struct act_ctx {
	enum act a;
	const float *r;
};

static double act_loss(void *vctx, const float *x)
{
	struct act_ctx *ctx = vctx;
	float out[N];
	act_forward(ctx->a, out, x, N);
	return gc_dot(out, ctx->r, N);
}

/* L = sum act(x) * R; h = 1e-3, and inputs kept at least 0.05 away from the
 * relu kink so the difference never straddles it. Tolerance: atol 2e-3,
 * rtol 1e-2 (float32 rounding of 40 terms over 2h). */
static void test_gradients(void)
{
	const char *names[] = { "relu", "leaky_relu", "sigmoid", "tanh" };
	unsigned st = 7;
	float x[N], r[N], out[N], dout[N], dinp[N];
	gc_fill(x, N, -3.0f, 3.0f, &st);
	for (int i = 0; i < N; i++)
		if (fabsf(x[i]) < 0.05f)
			x[i] = 0.5f;
	gc_fill(r, N, -1.0f, 1.0f, &st);
	for (enum act a = RELU; a <= TANH; a++) {
		act_forward(a, out, x, N);
		memcpy(dout, r, sizeof r);
		for (int i = 0; i < N; i++)
			dinp[i] = 0.0f;
		act_backward(a, dinp, dout, out, N);
		struct act_ctx ctx = { a, r };
		CHECK(gradcheck(names[a], act_loss, &ctx, x, dinp, N, 1e-3f, 2e-3, 1e-2) == 0,
		      "%s gradient", names[a]);
	}
}

static void test_values(void)
{
	float x[6] = { -2.0f, -0.0f, 0.0f, 0.5f, 3.0f, -1000.0f };
	float y[6];
	ck_relu_forward(y, x, 6);
	CHECK(y[0] == 0.0f && y[2] == 0.0f && y[3] == 0.5f && y[4] == 3.0f && y[5] == 0.0f, "relu");
	ck_leaky_relu_forward(y, x, 6, 0.01f);
	CHECK(y[0] == -0.02f && y[3] == 0.5f && y[5] == -10.0f, "leaky relu");
	ck_sigmoid_forward(y, x, 6);
	CHECK(y[2] == 0.5f, "sigmoid(0) = 0.5");
	CHECK_NEAR(y[4], 1.0 / (1.0 + exp(-3.0)), 1e-7, "sigmoid(3)");
	CHECK(y[5] == 0.0f, "sigmoid(-1000) = 0, not NaN");
	float big = 1000.0f, s;
	ck_sigmoid_forward(&s, &big, 1);
	CHECK(s == 1.0f, "sigmoid(1000) = 1");
	float tiny = -80.0f;
	ck_sigmoid_forward(&s, &tiny, 1);
	CHECK(s > 0.0f && fabs(s / exp(-80.0) - 1.0) < 1e-5, "sigmoid(-80) keeps relative precision");
	ck_tanh_forward(y, x, 6);
	CHECK_NEAR(y[3], tanh(0.5), 1e-7, "tanh(0.5)");
	CHECK(y[5] == -1.0f, "tanh(-1000) = -1");
	/* relu backward at exactly 0: gradient 0, as PyTorch. */
	float zero = 0.0f, one = 1.0f, d = 0.0f;
	ck_relu_backward(&d, &one, &zero, 1);
	CHECK(d == 0.0f, "relu'(0) = 0");
}

/* In place (out == inp) gives the same result, and backward accumulates. */
static void test_in_place_and_accumulate(void)
{
	unsigned st = 11;
	float x[N], y[N], z[N], dout[N], d1[N], d2[N];
	gc_fill(x, N, -2.0f, 2.0f, &st);
	gc_fill(dout, N, -1.0f, 1.0f, &st);
	for (enum act a = RELU; a <= TANH; a++) {
		memcpy(z, x, sizeof x);
		act_forward(a, y, x, N);
		act_forward(a, z, z, N);
		CHECK(memcmp(y, z, sizeof y) == 0, "act %d in place", a);
		for (int i = 0; i < N; i++)
			d1[i] = 0.0f, d2[i] = 0.5f;
		act_backward(a, d1, dout, y, N);
		act_backward(a, d2, dout, y, N);
		/* Not bit-exact: a compiler may fuse the multiply-add (clang). */
		int ok = 1;
		for (int i = 0; i < N; i++)
			ok &= fabsf(d2[i] - (d1[i] + 0.5f)) <= 1e-6f;
		CHECK(ok, "act %d backward adds into dinp", a);
	}
}

/* Large arrays take the parallel path; the result must equal the serial
 * elementwise formula bit for bit. */
static void test_large(void)
{
	size_t n = 300000;
	float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
	unsigned st = 3;
	gc_fill(x, n, -5.0f, 5.0f, &st);
	ck_tanh_forward(y, x, n);
	int ok = 1;
	for (size_t i = 0; i < n; i++)
		ok &= y[i] == tanhf(x[i]);
	CHECK(ok, "tanh over 300000 elements");
	free(x);
	free(y);
}

int main(void)
{
	RUN(test_values);
	RUN(test_gradients);
	RUN(test_in_place_and_accumulate);
	RUN(test_large);
	return check_summary();
}
