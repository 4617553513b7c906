/* test_nn_conv.c: conv2d. Hand-computed cases, finite-difference gradients
 * of the reference kernel, and the im2col + GEMM kernel against the
 * reference on awkward shapes and thread counts. */
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

/* pad >= 0: that padding on all four sides; pad < 0: TF "same". */
static ck_conv2d_dims conv_dims(int N, int C, int H, int W, int OC, int KH,
                                int KW, int SH, int SW, int pad)
{
	ck_conv2d_dims d = {.N = N, .C = C, .H = H, .W = W, .OC = OC, .KH = KH,
	                    .KW = KW, .SH = SH, .SW = SW};
	if (pad < 0) {
		d.OH = ck_nn_same_size(H, KH, SH, &d.PH);
		d.OW = ck_nn_same_size(W, KW, SW, &d.PW);
	} else {
		d.PH = d.PW = pad;
		d.OH = ck_nn_valid_size(H + 2 * pad, KH, SH);
		d.OW = ck_nn_valid_size(W + 2 * pad, KW, SW);
	}
	return d;
}

static void describe(char *buf, size_t size, const char *what, const ck_conv2d_dims *d)
{
	snprintf(buf, size, "%s N%d C%d %dx%d OC%d k%dx%d s%dx%d p%d,%d out %dx%d", what,
	         d->N, d->C, d->H, d->W, d->OC, d->KH, d->KW, d->SH, d->SW, d->PH,
	         d->PW, d->OH, d->OW);
}

static void test_output_sizes(void)
{
	int pad;
	CHECK(ck_nn_valid_size(5, 2, 2) == 2, "floor");
	CHECK(ck_nn_valid_size(3, 3, 1) == 1, "kernel = input");
	CHECK(ck_nn_valid_size(1, 2, 1) == 0, "kernel > input");
	CHECK(ck_nn_same_size(8, 3, 2, &pad) == 4 && pad == 0, "8 k3 s2: pad 0 top, 1 bottom");
	CHECK(ck_nn_same_size(7, 3, 2, &pad) == 4 && pad == 1, "7 k3 s2: pad 1 and 1");
	CHECK(ck_nn_same_size(4, 2, 1, &pad) == 4 && pad == 0, "even kernel: the extra pad is after");
	CHECK(ck_nn_same_size(5, 1, 1, &pad) == 5 && pad == 0, "1x1");
	CHECK(ck_nn_same_size(5, 1, 3, &pad) == 2 && pad == 0, "stride > kernel: no padding");
	CHECK(ck_nn_same_size(2, 5, 1, &pad) == 2 && pad == 2, "kernel > input");
}

/* 3x3 input 1..9, 2x2 kernel [[1,2],[3,4]], bias 0.5, worked out by hand. */
static void test_hand_valid(void)
{
	float inp[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, weight[4] = {1, 2, 3, 4}, bias = 0.5f;
	ck_conv2d_dims d = conv_dims(1, 1, 3, 3, 1, 2, 2, 1, 1, 0);
	float want[4] = {37.5f, 47.5f, 67.5f, 77.5f};
	float out[4], ws[64];
	CHECK(ck_conv2d_workspace_size(&d, 1) <= 64, "workspace fits");
	ck_conv2d_forward_ref(out, inp, weight, &bias, &d);
	expect_close(out, want, 4, 0, "ref forward");
	ck_conv2d_forward(out, inp, weight, &bias, &d, ws, 1);
	expect_close(out, want, 4, 0, "fast forward");

	/* dout = 1: dinp counts the windows covering each pixel, weighted;
	 * dweight[kh][kw] is the sum of the input under that tap. */
	float dout[4] = {1, 1, 1, 1};
	float want_dinp[9] = {1, 3, 2, 4, 10, 6, 3, 7, 4}, want_dw[4] = {12, 16, 24, 28};
	for (int fast = 0; fast < 2; fast++) {
		float dinp[9] = {0}, dw[4] = {0}, db = 0;
		if (fast)
			ck_conv2d_backward(dinp, dw, &db, dout, inp, weight, &d, ws, 1);
		else
			ck_conv2d_backward_ref(dinp, dw, &db, dout, inp, weight, &d);
		expect_close(dinp, want_dinp, 9, 0, fast ? "fast dinp" : "ref dinp");
		expect_close(dw, want_dw, 4, 0, fast ? "fast dweight" : "ref dweight");
		CHECK(db == 4, "dbias %g", db);
	}
}

/* The same input and kernel, stride 2, one row and column of padding on
 * the top and left: windows start at -1 and 1. */
static void test_hand_padded_stride(void)
{
	float inp[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, weight[4] = {1, 2, 3, 4};
	ck_conv2d_dims d = {.N = 1, .C = 1, .H = 3, .W = 3, .OC = 1, .KH = 2, .KW = 2,
	                    .SH = 2, .SW = 2, .PH = 1, .PW = 1, .OH = 2, .OW = 2};
	float want[4] = {4 * 1, 3 * 2 + 4 * 3, 2 * 4 + 4 * 7, 77};
	float out[4], ws[64];
	CHECK(ck_conv2d_workspace_size(&d, 2) <= 64, "workspace fits");
	ck_conv2d_forward_ref(out, inp, weight, NULL, &d);
	expect_close(out, want, 4, 0, "ref forward");
	ck_conv2d_forward(out, inp, weight, NULL, &d, ws, 2);
	expect_close(out, want, 4, 0, "fast forward");
}

/* Shapes for the fast-versus-reference comparison: the corner cases first,
 * then random ones. */
static int awkward_cases(ck_conv2d_dims *cases, int max)
{
	int n = 0;
	cases[n++] = conv_dims(1, 1, 1, 1, 1, 1, 1, 1, 1, 0);   /* everything 1 */
	cases[n++] = conv_dims(3, 5, 2, 3, 4, 1, 1, 1, 1, 0);   /* pointwise, no im2col */
	cases[n++] = conv_dims(2, 3, 5, 7, 2, 1, 1, 2, 2, 0);   /* 1x1 stride 2 */
	cases[n++] = conv_dims(2, 2, 7, 5, 3, 3, 3, 1, 1, -1);  /* same, stride 1 */
	cases[n++] = conv_dims(3, 2, 8, 7, 3, 3, 3, 2, 2, -1);  /* same, asymmetric pad */
	cases[n++] = conv_dims(2, 3, 11, 13, 2, 5, 2, 2, 3, 0); /* non-square everything */
	cases[n++] = conv_dims(2, 2, 9, 9, 3, 4, 4, 2, 2, 1);   /* kernel > stride, padded */
	cases[n++] = conv_dims(1, 2, 2, 3, 3, 3, 3, 1, 1, -1);  /* kernel > image, same */
	cases[n++] = conv_dims(2, 7, 13, 13, 1, 3, 3, 1, 1, 0); /* OC 1, prime C */
	cases[n++] = conv_dims(3, 3, 5, 5, 4, 5, 5, 1, 1, 0);   /* kernel = image: 1x1 out */
	cases[n++] = conv_dims(2, 2, 10, 10, 3, 2, 2, 3, 3, 0); /* stride > kernel */
	cases[n++] = conv_dims(5, 16, 12, 12, 24, 3, 3, 1, 1, 1);
	cases[n++] = conv_dims(3, 3, 17, 17, 8, 7, 7, 2, 2, -1); /* a ResNet stem */
	cases[n++] = conv_dims(7, 4, 6, 6, 5, 1, 7, 1, 1, -1);   /* 1x7, N > threads */
	cases[n++] = conv_dims(2, 3, 4, 3, 2, 1, 1, 1, 1, 1);    /* 1x1 padded: not pointwise */
	cases[n] = conv_dims(2, 3, 5, 4, 2, 1, 1, 1, 1, 0);      /* 1x1 cropped by OH, OW */
	cases[n].OH = 3;
	cases[n++].OW = 2;
	cases[n] = conv_dims(2, 3, 5, 4, 2, 1, 1, 1, 1, 0);      /* 1x1 shifted down by PH */
	cases[n++].PH = 1;
	test_seed(42);
	while (n < max) {
		ck_conv2d_dims d = {.N = test_int(1, 4), .C = test_int(1, 5),
		                    .H = test_int(1, 9), .W = test_int(1, 9),
		                    .OC = test_int(1, 5), .KH = test_int(1, 5),
		                    .KW = test_int(1, 5), .SH = test_int(1, 3),
		                    .SW = test_int(1, 3)};
		int mode = test_int(0, 2);
		if (mode == 0 && d.H >= d.KH && d.W >= d.KW) {
			d.OH = ck_nn_valid_size(d.H, d.KH, d.SH);
			d.OW = ck_nn_valid_size(d.W, d.KW, d.SW);
		} else if (mode == 1) {
			d.OH = ck_nn_same_size(d.H, d.KH, d.SH, &d.PH);
			d.OW = ck_nn_same_size(d.W, d.KW, d.SW, &d.PW);
		} else {
			/* Any padding on each side; some windows may hang off the edge. */
			d.PH = test_int(0, d.KH - 1);
			d.PW = test_int(0, d.KW - 1);
			d.OH = ck_nn_valid_size(d.H + d.PH + test_int(0, d.KH - 1), d.KH, d.SH);
			d.OW = ck_nn_valid_size(d.W + d.PW + test_int(0, d.KW - 1), d.KW, d.SW);
			if (d.OH < 1)
				d.OH = 1;
			if (d.OW < 1)
				d.OW = 1;
		}
		cases[n++] = d;
	}
	return n;
}

static void compare_forward(const ck_conv2d_dims *d, const char *name)
{
	size_t ni = inp_len(d), nw = weight_len(d), no = out_len(d);
	size_t len = (size_t)d->C * d->KH * d->KW;
	float *inp = random_floats(ni), *weight = random_floats(nw), *bias = random_floats(d->OC);
	float *want = floats(no), *want_nobias = floats(no), *out = floats(no), *again = floats(no);
	char what[256];
	ck_conv2d_forward_ref(want, inp, weight, bias, d);
	ck_conv2d_forward_ref(want_nobias, inp, weight, NULL, d);
	for (int threads = 1; threads <= 3; threads++) {
		size_t nws = ck_conv2d_workspace_size(d, threads);
		float *ws = nws ? floats(nws) : NULL; /* NULL is allowed for 0 */
		fill_nan(ws, nws);
		fill_nan(out, no);
		ck_conv2d_forward(out, inp, weight, bias, d, ws, threads);
		snprintf(what, sizeof what, "%s threads %d", name, threads);
		expect_close(out, want, no, sum_tol(len), what);
		fill_nan(again, no);
		ck_conv2d_forward(again, inp, weight, bias, d, ws, threads);
		EXPECT_SAME_BITS(again, out, no, what);
		ck_conv2d_forward(out, inp, weight, NULL, d, ws, threads);
		expect_close(out, want_nobias, no, sum_tol(len), what);
		free(ws);
	}
	free(inp), free(weight), free(bias), free(want), free(want_nobias), free(out), free(again);
}

/* Backward from random starting gradients (the kernels add to them), with
 * every gradient wanted and with each one left out. */
static void compare_backward(const ck_conv2d_dims *d, const char *name)
{
	size_t ni = inp_len(d), nw = weight_len(d), no = out_len(d), nb = (size_t)d->OC;
	float *inp = random_floats(ni), *weight = random_floats(nw), *dout = random_floats(no);
	float *di0 = random_floats(ni), *dw0 = random_floats(nw), *db0 = random_floats(nb);
	float *di_ref = copy_floats(di0, ni), *dw_ref = copy_floats(dw0, nw), *db_ref = copy_floats(db0, nb);
	float *di = floats(ni), *dw = floats(nw), *db = floats(nb);
	float *di2 = floats(ni), *dw2 = floats(nw), *db2 = floats(nb);
	double tol_inp = sum_tol((size_t)d->OC * d->KH * d->KW);
	double tol_w = sum_tol((size_t)d->N * d->OH * d->OW);
	char what[256];
	ck_conv2d_backward_ref(di_ref, dw_ref, db_ref, dout, inp, weight, d);

	for (int threads = 1; threads <= 3; threads++) {
		size_t nws = ck_conv2d_workspace_size(d, threads);
		float *ws = nws ? floats(nws) : NULL; /* NULL is allowed for 0 */
		for (int run = 0; run < 2; run++) {
			float *a = run ? di2 : di, *b = run ? dw2 : dw, *c = run ? db2 : db;
			memcpy(a, di0, sizeof(float) * ni);
			memcpy(b, dw0, sizeof(float) * nw);
			memcpy(c, db0, sizeof(float) * nb);
			fill_nan(ws, nws);
			ck_conv2d_backward(a, b, c, dout, inp, weight, d, ws, threads);
		}
		snprintf(what, sizeof what, "%s threads %d dinp", name, threads);
		expect_close(di, di_ref, ni, tol_inp, what);
		EXPECT_SAME_BITS(di2, di, ni, what);
		snprintf(what, sizeof what, "%s threads %d dweight", name, threads);
		expect_close(dw, dw_ref, nw, tol_w, what);
		EXPECT_SAME_BITS(dw2, dw, nw, what);
		snprintf(what, sizeof what, "%s threads %d dbias", name, threads);
		expect_close(db, db_ref, nb, tol_w, what);
		EXPECT_SAME_BITS(db2, db, nb, what);

		/* One gradient at a time, the others NULL; once, with two chunks
		 * (the partial-sum path). */
		if (threads == 2) {
			memcpy(di, di0, sizeof(float) * ni);
			fill_nan(ws, nws);
			ck_conv2d_backward(di, NULL, NULL, dout, inp, weight, d, ws, threads);
			snprintf(what, sizeof what, "%s threads %d dinp alone", name, threads);
			expect_close(di, di_ref, ni, tol_inp, what);
			memcpy(dw, dw0, sizeof(float) * nw);
			fill_nan(ws, nws);
			ck_conv2d_backward(NULL, dw, NULL, dout, inp, weight, d, ws, threads);
			snprintf(what, sizeof what, "%s threads %d dweight alone", name, threads);
			expect_close(dw, dw_ref, nw, tol_w, what);
			memcpy(db, db0, sizeof(float) * nb);
			ck_conv2d_backward(NULL, NULL, db, dout, inp, weight, d, ws, threads);
			snprintf(what, sizeof what, "%s threads %d dbias alone", name, threads);
			expect_close(db, db_ref, nb, tol_w, what);
		}
		free(ws);
	}
	free(inp), free(weight), free(dout), free(di0), free(dw0), free(db0);
	free(di_ref), free(dw_ref), free(db_ref), free(di), free(dw), free(db);
	free(di2), free(dw2), free(db2);
}

static void test_fast_forward(void)
{
	ck_conv2d_dims cases[40];
	char name[128];
	int n = awkward_cases(cases, 40);
	test_seed(1);
	for (int i = 0; i < n; i++) {
		describe(name, sizeof name, "forward", &cases[i]);
		compare_forward(&cases[i], name);
	}
}

static void test_fast_backward(void)
{
	ck_conv2d_dims cases[40];
	char name[128];
	int n = awkward_cases(cases, 40);
	test_seed(2);
	for (int i = 0; i < n; i++) {
		describe(name, sizeof name, "backward", &cases[i]);
		compare_backward(&cases[i], name);
	}
}

typedef struct conv_fd {
	ck_conv2d_dims d;
	float *out, *inp, *weight, *bias;
} conv_fd;

static void conv_fd_forward(void *ctx)
{
	conv_fd *c = ctx;
	ck_conv2d_forward_ref(c->out, c->inp, c->weight, c->bias, &c->d);
}

static void grad_check(const ck_conv2d_dims *d, const char *name)
{
	size_t ni = inp_len(d), nw = weight_len(d), no = out_len(d), nb = (size_t)d->OC;
	conv_fd c = {*d, floats(no), random_floats(ni), random_floats(nw), random_floats(nb)};
	float *R = random_floats(no);
	float *di = floats(ni), *dw = floats(nw), *db = floats(nb);
	memset(di, 0, sizeof(float) * ni);
	memset(dw, 0, sizeof(float) * nw);
	memset(db, 0, sizeof(float) * nb);
	ck_conv2d_backward_ref(di, dw, db, R, c.inp, c.weight, d);
	fd_loss loss = {conv_fd_forward, &c, c.out, R, no};
	char what[256];
	snprintf(what, sizeof what, "%s dinp", name);
	expect_grad(&loss, c.inp, ni, di, 1e-2f, what);
	snprintf(what, sizeof what, "%s dweight", name);
	expect_grad(&loss, c.weight, nw, dw, 1e-2f, what);
	snprintf(what, sizeof what, "%s dbias", name);
	expect_grad(&loss, c.bias, nb, db, 1e-2f, what);

	/* Backward adds: a second call doubles every gradient. */
	float *di1 = copy_floats(di, ni), *dw1 = copy_floats(dw, nw), *db1 = copy_floats(db, nb);
	ck_conv2d_backward_ref(di, dw, db, R, c.inp, c.weight, d);
	for (size_t i = 0; i < ni; i++)
		di1[i] *= 2;
	for (size_t i = 0; i < nw; i++)
		dw1[i] *= 2;
	for (size_t i = 0; i < nb; i++)
		db1[i] *= 2;
	snprintf(what, sizeof what, "%s: twice is double", name);
	expect_close(di, di1, ni, 1e-6, what);
	expect_close(dw, dw1, nw, 1e-6, what);
	expect_close(db, db1, nb, 1e-6, what);

	/* And so does the fast kernel's second call on top of the reference's. */
	size_t nws = ck_conv2d_workspace_size(d, 2);
	float *ws = nws ? floats(nws) : NULL; /* NULL is allowed for 0 */
	for (size_t i = 0; i < ni; i++)
		di1[i] *= 1.5f;
	for (size_t i = 0; i < nw; i++)
		dw1[i] *= 1.5f;
	for (size_t i = 0; i < nb; i++)
		db1[i] *= 1.5f;
	ck_conv2d_backward(di, dw, db, R, c.inp, c.weight, d, ws, 2);
	snprintf(what, sizeof what, "%s: fast adds a third", name);
	expect_close(di, di1, ni, 1e-5, what);
	expect_close(dw, dw1, nw, 1e-5, what);
	expect_close(db, db1, nb, 1e-5, what);

	free(ws), free(c.out), free(c.inp), free(c.weight), free(c.bias), free(R);
	free(di), free(dw), free(db), free(di1), free(dw1), free(db1);
}

static void test_gradients(void)
{
	ck_conv2d_dims cases[] = {
		conv_dims(2, 2, 5, 4, 3, 3, 2, 1, 1, 0),
		conv_dims(2, 2, 6, 5, 2, 3, 3, 2, 2, -1), /* asymmetric same, stride 2 */
		conv_dims(1, 3, 4, 4, 2, 4, 4, 2, 2, 1),  /* kernel > stride, padded */
		conv_dims(2, 3, 3, 2, 2, 1, 1, 1, 1, 0),  /* pointwise */
	};
	char name[128];
	test_seed(3);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		describe(name, sizeof name, "gradient", &cases[i]);
		grad_check(&cases[i], name);
	}
}

int main(void)
{
	RUN(test_output_sizes);
	RUN(test_hand_valid);
	RUN(test_hand_padded_stride);
	RUN(test_fast_forward);
	RUN(test_fast_backward);
	RUN(test_gradients);
	return check_summary();
}
