/* test_perf_kernels.c: the fast paths added for speed, each against its
 * reference on awkward shapes (sizes 1, primes, stride 2, tiny images):
 *
 * - conv2d with several groups of images per chunk (large images), and the
 *   stride-1 "same plane" im2col / col2im block copies;
 * - ck_conv2d_forward_act and ck_conv2d_backward_act with a fused ReLU,
 *   bit-identical to the unfused kernels;
 * - maxpool2d's 2x2 stride-2 path, with ties and NaNs.
 */
#include "test_nn.h"

static size_t inp_len(const ck_conv2d_dims *d)
{
	return (size_t)d->N * d->C * d->H * d->W;
}

static size_t weight_len(const ck_conv2d_dims *d)
{
	return (size_t)d->OC * d->C * d->KH * d->KW;
}

static size_t out_len(const ck_conv2d_dims *d)
{
	return (size_t)d->N * d->OC * d->OH * d->OW;
}

/* TF "same" geometry with stride s, or valid when same == 0. */
static ck_conv2d_dims dims(int N, int C, int H, int W, int OC, int KH, int KW, int s, int same)
{
	ck_conv2d_dims d = {.N = N, .C = C, .H = H, .W = W, .OC = OC, .KH = KH, .KW = KW,
	                    .SH = s, .SW = s};
	if (same) {
		d.OH = ck_nn_same_size(H, KH, s, &d.PH);
		d.OW = ck_nn_same_size(W, KW, s, &d.PW);
	} else {
		d.OH = ck_nn_valid_size(H, KH, s);
		d.OW = ck_nn_valid_size(W, KW, s);
	}
	return d;
}

/* Forward (plain and with a fused ReLU) and backward (plain and through the
 * ReLU) against the references, for 1 to 3 threads. */
static void compare(const ck_conv2d_dims *d, const char *name)
{
	size_t ni = inp_len(d), nw = weight_len(d), no = out_len(d), nb = (size_t)d->OC;
	size_t len = (size_t)d->C * d->KH * d->KW;
	float *inp = random_floats(ni), *weight = random_floats(nw), *bias = random_floats(nb);
	float *dout = random_floats(no);
	float *want = floats(no), *out = floats(no), *relu = floats(no), *fused = floats(no);
	float *g = floats(no);
	float *di_ref = floats(ni), *dw_ref = floats(nw), *db_ref = floats(nb);
	float *di = floats(ni), *dw = floats(nw), *db = floats(nb);
	float *di2 = floats(ni), *dw2 = floats(nw), *db2 = floats(nb);
	char what[256];

	ck_conv2d_forward_ref(want, inp, weight, bias, d);
	/* The reference backward through the ReLU of the reference output. */
	ck_relu_forward(relu, want, no);
	memset(g, 0, sizeof(float) * no);
	ck_relu_backward(g, dout, relu, no);
	memset(di_ref, 0, sizeof(float) * ni);
	memset(dw_ref, 0, sizeof(float) * nw);
	memset(db_ref, 0, sizeof(float) * nb);
	ck_conv2d_backward_ref(di_ref, dw_ref, db_ref, g, inp, weight, d);

	for (int threads = 1; threads <= 3; threads++) {
		size_t nws = ck_conv2d_workspace_size(d, threads);
		float *ws = floats(nws);
		fill_nan(ws, nws);
		fill_nan(out, no);
		ck_conv2d_forward(out, inp, weight, bias, d, ws, threads);
		snprintf(what, sizeof what, "%s threads %d forward", name, threads);
		expect_close(out, want, no, sum_tol(len), what);
		ck_relu_forward(relu, out, no);
		fill_nan(fused, no);
		ck_conv2d_forward_act(fused, inp, weight, bias, d, CK_NN_ACT_RELU, ws, threads);
		snprintf(what, sizeof what, "%s threads %d fused relu", name, threads);
		EXPECT_SAME_BITS(fused, relu, no, what);

		/* Fused: from dout and the ReLU's output. Unfused: from g. */
		memset(g, 0, sizeof(float) * no);
		ck_relu_backward(g, dout, relu, no);
		memset(di, 0, sizeof(float) * ni), memset(dw, 0, sizeof(float) * nw);
		memset(db, 0, sizeof(float) * nb);
		memset(di2, 0, sizeof(float) * ni), memset(dw2, 0, sizeof(float) * nw);
		memset(db2, 0, sizeof(float) * nb);
		fill_nan(ws, nws);
		ck_conv2d_backward(di, dw, db, g, inp, weight, d, ws, threads);
		fill_nan(ws, nws);
		ck_conv2d_backward_act(di2, dw2, db2, dout, relu, inp, weight, d, CK_NN_ACT_RELU, ws,
		                       threads);
		snprintf(what, sizeof what, "%s threads %d dinp", name, threads);
		expect_close(di, di_ref, ni, sum_tol((size_t)d->OC * d->KH * d->KW), what);
		EXPECT_SAME_BITS(di2, di, ni, what);
		snprintf(what, sizeof what, "%s threads %d dweight", name, threads);
		expect_close(dw, dw_ref, nw, sum_tol((size_t)d->N * d->OH * d->OW), what);
		EXPECT_SAME_BITS(dw2, dw, nw, what);
		snprintf(what, sizeof what, "%s threads %d dbias", name, threads);
		expect_close(db, db_ref, nb, sum_tol((size_t)d->N * d->OH * d->OW), what);
		EXPECT_SAME_BITS(db2, db, nb, what);
		free(ws);
	}
	free(inp), free(weight), free(bias), free(dout), free(want), free(out), free(relu);
	free(fused), free(g), free(di_ref), free(dw_ref), free(db_ref), free(di), free(dw);
	free(db), free(di2), free(dw2), free(db2);
}

/* Stride-1 shapes whose output plane is the input's: the block copies of
 * im2col and col2im, with taps hanging off every edge. */
static void test_conv_same_plane(void)
{
	test_seed(7);
	compare(&(ck_conv2d_dims){.N = 1, .C = 1, .H = 1, .W = 1, .OC = 1, .KH = 3, .KW = 3,
	                          .SH = 1, .SW = 1, .PH = 1, .PW = 1, .OH = 1, .OW = 1}, "1x1 image");
	ck_conv2d_dims cases[] = {
		dims(2, 1, 28, 28, 8, 3, 3, 1, 1),  /* conv 3 pad=same, one channel */
		dims(3, 3, 7, 1, 2, 3, 3, 1, 1),    /* one column */
		dims(2, 2, 1, 11, 3, 3, 3, 1, 1),   /* one row */
		dims(2, 2, 5, 5, 3, 2, 2, 1, 1),    /* even kernel: the extra pad after */
		dims(2, 3, 6, 4, 2, 4, 4, 1, 1),    /* even kernel, pad 1 and 2 */
		dims(3, 2, 3, 2, 2, 5, 7, 1, 1),    /* kernel wider than the image */
		dims(5, 7, 13, 11, 5, 5, 5, 1, 1),  /* primes */
		dims(2, 3, 9, 9, 4, 1, 1, 1, 1),    /* pointwise */
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char name[64];
		snprintf(name, sizeof name, "same plane case %zu", i);
		compare(&cases[i], name);
	}
}

/* Other geometries: stride 2, valid padding, tiny images. */
static void test_conv_strided(void)
{
	test_seed(8);
	ck_conv2d_dims cases[] = {
		dims(3, 2, 9, 7, 3, 3, 3, 2, 1),
		dims(2, 3, 8, 8, 5, 3, 3, 2, 0),
		dims(4, 1, 2, 2, 1, 2, 2, 2, 0),
		dims(1, 5, 3, 5, 7, 3, 1, 1, 0),
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char name[64];
		snprintf(name, sizeof name, "strided case %zu", i);
		compare(&cases[i], name);
	}
}

/* Images so large that a group holds one (or a few) of them: several GEMMs
 * per chunk, a short last group, and for the weight gradient a sum over
 * groups. */
static void test_conv_groups(void)
{
	test_seed(9);
	ck_conv2d_dims one = dims(5, 9, 47, 53, 7, 3, 3, 1, 1);  /* 2 images a group */
	ck_conv2d_dims big = dims(3, 12, 61, 61, 5, 3, 3, 1, 1); /* 1 image a group */
	ck_conv2d_dims str = dims(7, 13, 97, 89, 3, 3, 3, 2, 1); /* stride 2, 1 a group */
	compare(&one, "groups of 2");
	compare(&big, "groups of 1");
	compare(&str, "strided groups");
}

/* A batch smaller and larger than the one the workspace was sized for. */
static void test_conv_workspace_grows(void)
{
	for (int threads = 1; threads <= 3; threads++) {
		size_t prev = 0;
		for (int n = 1; n <= 40; n++) {
			ck_conv2d_dims d = dims(n, 32, 14, 14, 64, 3, 3, 1, 1);
			size_t ws = ck_conv2d_workspace_size(&d, threads);
			CHECK(ws >= prev, "threads %d: N %d needs %zu floats, N %d %zu", threads, n, ws,
			      n - 1, prev);
			prev = ws;
		}
	}
}

/* ---- maxpool 2x2 stride 2 ------------------------------------------------ */

static void compare_pool(int N, int C, int H, int W, const float *inp, const char *name)
{
	ck_pool2d_dims d = {.N = N, .C = C, .H = H, .W = W, .KH = 2, .KW = 2, .SH = 2, .SW = 2};
	size_t ni = (size_t)N * C * H * W;
	size_t no = (size_t)N * C * ck_nn_valid_size(H, 2, 2) * ck_nn_valid_size(W, 2, 2);
	float *want = floats(no), *out = floats(no), *dout = random_floats(no);
	int32_t *arg_want = test_alloc(no, sizeof(int32_t)), *arg = test_alloc(no, sizeof(int32_t));
	float *di_want = floats(ni), *di = floats(ni);
	char what[128];
	ck_maxpool2d_forward_ref(want, arg_want, inp, &d);
	fill_nan(out, no);
	ck_maxpool2d_forward(out, arg, inp, &d);
	snprintf(what, sizeof what, "%s forward", name);
	EXPECT_SAME_BITS(out, want, no, what);
	snprintf(what, sizeof what, "%s argmax", name);
	EXPECT_SAME_BITS(arg, arg_want, no, what);
	memset(di_want, 0, sizeof(float) * ni);
	memset(di, 0, sizeof(float) * ni);
	ck_maxpool2d_backward_ref(di_want, dout, arg_want, &d);
	ck_maxpool2d_backward(di, dout, arg, &d);
	snprintf(what, sizeof what, "%s backward", name);
	EXPECT_SAME_BITS(di, di_want, ni, what);
	free(want), free(out), free(dout), free(arg_want), free(arg), free(di_want), free(di);
}

static void test_maxpool_2x2(void)
{
	test_seed(10);
	int shapes[][4] = {{1, 1, 2, 2}, {2, 3, 5, 7}, {1, 2, 1, 9}, {3, 1, 9, 1},
	                   {2, 5, 28, 28}, {1, 3, 13, 31}, {2, 2, 3, 3}};
	for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
		int N = shapes[s][0], C = shapes[s][1], H = shapes[s][2], W = shapes[s][3];
		size_t ni = (size_t)N * C * H * W;
		char name[64];
		float *inp = random_floats(ni);
		snprintf(name, sizeof name, "%dx%dx%dx%d random", N, C, H, W);
		compare_pool(N, C, H, W, inp, name);
		/* Few distinct values (ties everywhere), -0 and 0, NaNs and infinities. */
		for (size_t i = 0; i < ni; i++) {
			int r = test_int(0, 9);
			inp[i] = r < 3 ? (float)test_int(-1, 1) : r == 3 ? -0.0f : r == 4 ? NAN
			       : r == 5 ? -INFINITY : r == 6 ? INFINITY : test_float();
		}
		snprintf(name, sizeof name, "%dx%dx%dx%d ties and NaN", N, C, H, W);
		compare_pool(N, C, H, W, inp, name);
		free(inp);
	}
}

int main(void)
{
	RUN(test_conv_same_plane);
	RUN(test_conv_strided);
	RUN(test_conv_groups);
	RUN(test_conv_workspace_grows);
	RUN(test_maxpool_2x2);
	return check_summary();
}
