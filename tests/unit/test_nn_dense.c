/* test_nn_dense.c: the dense layer and the residual add. Hand-computed
 * cases, finite-difference gradients of the references, fast against
 * reference on awkward shapes. */
#include "test_nn.h"

/* inp [1,2]; weight rows [1,0], [0,1], [1,1]; bias [0,0,1]. */
static void test_dense_hand(void)
{
	ck_dense_dims d = {.N = 1, .IN = 2, .OUT = 3};
	float inp[2] = {1, 2}, weight[6] = {1, 0, 0, 1, 1, 1}, bias[3] = {0, 0, 1};
	float want[3] = {1, 2, 4};
	float dout[3] = {1, 10, 100};
	float want_dinp[2] = {101, 110}, want_dw[6] = {1, 2, 10, 20, 100, 200};
	for (int fast = 0; fast < 2; fast++) {
		float out[3], dinp[2] = {0}, dw[6] = {0}, db[3] = {0};
		(fast ? ck_dense_forward : ck_dense_forward_ref)(out, inp, weight, bias, &d);
		expect_close(out, want, 3, 0, fast ? "fast forward" : "ref forward");
		(fast ? ck_dense_backward : ck_dense_backward_ref)(dinp, dw, db, dout, inp, weight, &d);
		expect_close(dinp, want_dinp, 2, 0, fast ? "fast dinp" : "ref dinp");
		expect_close(dw, want_dw, 6, 0, fast ? "fast dweight" : "ref dweight");
		expect_close(db, dout, 3, 0, fast ? "fast dbias" : "ref dbias");
	}
}

static void compare_dense(const ck_dense_dims *d)
{
	size_t ni = (size_t)d->N * d->IN, nw = (size_t)d->OUT * d->IN;
	size_t no = (size_t)d->N * d->OUT, nb = (size_t)d->OUT;
	char what[96];
	snprintf(what, sizeof what, "dense N%d IN%d OUT%d", d->N, d->IN, d->OUT);
	float *inp = random_floats(ni), *weight = random_floats(nw), *bias = random_floats(nb);
	float *out = floats(no), *want = floats(no), *dout = random_floats(no);
	float *di0 = random_floats(ni), *dw0 = random_floats(nw), *db0 = random_floats(nb);
	float *di = copy_floats(di0, ni), *dw = copy_floats(dw0, nw), *db = copy_floats(db0, nb);
	float *di_ref = copy_floats(di0, ni), *dw_ref = copy_floats(dw0, nw), *db_ref = copy_floats(db0, nb);

	for (int with_bias = 0; with_bias < 2; with_bias++) {
		const float *b = with_bias ? bias : NULL;
		fill_nan(out, no);
		ck_dense_forward_ref(want, inp, weight, b, d);
		ck_dense_forward(out, inp, weight, b, d);
		expect_close(out, want, no, sum_tol((size_t)d->IN), what);
	}
	ck_dense_backward_ref(di_ref, dw_ref, db_ref, dout, inp, weight, d);
	ck_dense_backward(di, dw, db, dout, inp, weight, d);
	expect_close(di, di_ref, ni, sum_tol((size_t)d->OUT), what);
	expect_close(dw, dw_ref, nw, sum_tol((size_t)d->N), what);
	expect_close(db, db_ref, nb, sum_tol((size_t)d->N), what);

	/* Gradients one at a time, the others NULL. */
	memcpy(di, di0, sizeof(float) * ni);
	ck_dense_backward(di, NULL, NULL, dout, inp, weight, d);
	expect_close(di, di_ref, ni, sum_tol((size_t)d->OUT), what);
	memcpy(dw, dw0, sizeof(float) * nw);
	memcpy(db, db0, sizeof(float) * nb);
	ck_dense_backward(NULL, dw, db, dout, inp, weight, d);
	expect_close(dw, dw_ref, nw, sum_tol((size_t)d->N), what);
	expect_close(db, db_ref, nb, sum_tol((size_t)d->N), what);

	free(inp), free(weight), free(bias), free(out), free(want), free(dout);
	free(di0), free(dw0), free(db0), free(di), free(dw), free(db);
	free(di_ref), free(dw_ref), free(db_ref);
}

static void test_dense_fast(void)
{
	ck_dense_dims cases[] = {
		{1, 1, 1}, {1, 7, 1}, {1, 1, 5}, {3, 2, 7}, {13, 17, 11},
		{33, 67, 29}, {64, 300, 10}, {5, 1, 64},
	};
	test_seed(20);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		compare_dense(&cases[i]);
	for (int i = 0; i < 10; i++) {
		ck_dense_dims d = {test_int(1, 9), test_int(1, 40), test_int(1, 20)};
		compare_dense(&d);
	}
}

typedef struct dense_fd {
	ck_dense_dims d;
	float *out, *inp, *weight, *bias;
} dense_fd;

static void dense_fd_forward(void *ctx)
{
	dense_fd *c = ctx;
	ck_dense_forward_ref(c->out, c->inp, c->weight, c->bias, &c->d);
}

static void test_dense_gradients(void)
{
	ck_dense_dims d = {3, 5, 4};
	size_t ni = 15, nw = 20, no = 12, nb = 4;
	test_seed(21);
	dense_fd c = {d, floats(no), random_floats(ni), random_floats(nw), random_floats(nb)};
	float *R = random_floats(no), *di = floats(ni), *dw = floats(nw), *db = floats(nb);
	memset(di, 0, sizeof(float) * ni);
	memset(dw, 0, sizeof(float) * nw);
	memset(db, 0, sizeof(float) * nb);
	ck_dense_backward_ref(di, dw, db, R, c.inp, c.weight, &d);
	fd_loss loss = {dense_fd_forward, &c, c.out, R, no};
	expect_grad(&loss, c.inp, ni, di, 1e-2f, "dense dinp");
	expect_grad(&loss, c.weight, nw, dw, 1e-2f, "dense dweight");
	expect_grad(&loss, c.bias, nb, db, 1e-2f, "dense dbias");

	/* Backward adds: a second call doubles, for both versions. */
	float *di2 = copy_floats(di, ni), *dw2 = copy_floats(dw, nw), *db2 = copy_floats(db, nb);
	ck_dense_backward_ref(di, dw, db, R, c.inp, c.weight, &d);
	ck_dense_backward(di2, dw2, db2, R, c.inp, c.weight, &d);
	for (size_t i = 0; i < ni; i++)
		CHECK_NEAR(di[i], di2[i], 1e-6, "dinp twice");
	for (size_t i = 0; i < nw; i++)
		CHECK_NEAR(dw[i], dw2[i], 1e-6, "dweight twice");
	for (size_t i = 0; i < nb; i++)
		CHECK_NEAR(db[i], db2[i], 1e-6, "dbias twice");
	ck_dense_backward(NULL, dw, db, R, c.inp, c.weight, &d); /* no dinp: fine */
	free(c.out), free(c.inp), free(c.weight), free(c.bias), free(R);
	free(di), free(dw), free(db), free(di2), free(dw2), free(db2);
}

/* ---- residual add ------------------------------------------------------------ */

static void test_add(void)
{
	float a[3] = {1, 2, 3}, b[3] = {10, 20, 30}, want[3] = {11, 22, 33};
	float dout[3] = {1, -1, 0.5f};
	for (int fast = 0; fast < 2; fast++) {
		float out[3], da[3] = {1, 1, 1}, db[3] = {0};
		(fast ? ck_add_forward : ck_add_forward_ref)(out, a, b, 3);
		expect_close(out, want, 3, 0, fast ? "fast forward" : "ref forward");
		(fast ? ck_add_backward : ck_add_backward_ref)(da, db, dout, 3);
		(fast ? ck_add_backward : ck_add_backward_ref)(NULL, db, dout, 3);
		float want_da[3] = {2, 0, 1.5f}, want_db[3] = {2, -2, 1};
		expect_close(da, want_da, 3, 0, fast ? "fast da" : "ref da");
		expect_close(db, want_db, 3, 0, fast ? "fast db, added twice" : "ref db, added twice");
	}

	/* Long enough to thread, and in place (out aliasing a). */
	size_t n = 100003;
	test_seed(22);
	float *x = random_floats(n), *y = random_floats(n), *ref = floats(n), *g = random_floats(n);
	float *dx = floats(n), *dx_ref = floats(n);
	ck_add_forward_ref(ref, x, y, n);
	ck_add_forward(x, x, y, n);
	EXPECT_SAME_BITS(x, ref, n, "add in place");
	memset(dx, 0, sizeof(float) * n);
	memset(dx_ref, 0, sizeof(float) * n);
	ck_add_backward(dx, NULL, g, n);
	ck_add_backward_ref(dx_ref, NULL, g, n);
	EXPECT_SAME_BITS(dx, dx_ref, n, "add backward");
	free(x), free(y), free(ref), free(g), free(dx), free(dx_ref);
}

typedef struct add_fd {
	float *out, *a, *b;
	size_t n;
} add_fd;

static void add_fd_forward(void *ctx)
{
	add_fd *c = ctx;
	ck_add_forward_ref(c->out, c->a, c->b, c->n);
}

static void test_add_gradients(void)
{
	size_t n = 7;
	test_seed(23);
	add_fd c = {floats(n), random_floats(n), random_floats(n), n};
	float *R = random_floats(n), *da = floats(n), *db = floats(n);
	memset(da, 0, sizeof(float) * n);
	memset(db, 0, sizeof(float) * n);
	ck_add_backward_ref(da, db, R, n);
	fd_loss loss = {add_fd_forward, &c, c.out, R, n};
	expect_grad(&loss, c.a, n, da, 1e-2f, "add da");
	expect_grad(&loss, c.b, n, db, 1e-2f, "add db");
	free(c.out), free(c.a), free(c.b), free(R), free(da), free(db);
}

int main(void)
{
	RUN(test_dense_hand);
	RUN(test_dense_fast);
	RUN(test_dense_gradients);
	RUN(test_add);
	RUN(test_add_gradients);
	return check_summary();
}
