/* test_nn_text.c: the text kernels: conv1d over channels-last sequences,
 * global max pooling over time with valid lengths, and the embedding.
 * Hand-computed cases, finite-difference gradients of the references, fast
 * against reference on awkward shapes. */
#include "test_nn.h"

static int conv1d_out(const ck_conv1d_dims *d)
{
	return d->T >= d->K ? d->T - d->K + 1 : 0;
}

/* ---- conv1d ------------------------------------------------------------------ */

static float *conv1d_ws(const ck_conv1d_dims *d)
{
	return floats(ck_conv1d_workspace_size(d));
}

/* Rows [1,2] [3,4] [5,6]; one filter of two taps: tap 0 takes channel 0 of
 * row t, tap 1 channel 1 of row t+1; bias 0.5. */
static void test_conv1d_hand(void)
{
	ck_conv1d_dims d = {.N = 1, .T = 3, .C = 2, .F = 1, .K = 2};
	float inp[6] = {1, 2, 3, 4, 5, 6}, weight[4] = {1, 0, 0, 1}, bias = 0.5f;
	float want[2] = {5.5f, 9.5f}, dout[2] = {1, 10};
	float want_dinp[6] = {1, 0, 10, 1, 0, 10}, want_dw[4] = {31, 42, 53, 64};
	float *ws = conv1d_ws(&d);
	for (int fast = 0; fast < 2; fast++) {
		float out[2], dinp[6] = {0}, dw[4] = {0}, db = 0;
		if (fast)
			ck_conv1d_forward(out, inp, NULL, weight, &bias, &d, CK_NN_ACT_NONE, ws);
		else
			ck_conv1d_forward_ref(out, inp, NULL, weight, &bias, &d);
		expect_close(out, want, 2, 0, fast ? "fast forward" : "ref forward");
		if (fast)
			ck_conv1d_backward(dinp, dw, &db, dout, out, inp, NULL, weight, &d, CK_NN_ACT_NONE, ws);
		else
			ck_conv1d_backward_ref(dinp, dw, &db, dout, inp, NULL, weight, &d);
		expect_close(dinp, want_dinp, 6, 0, fast ? "fast dinp" : "ref dinp");
		expect_close(dw, want_dw, 4, 0, fast ? "fast dweight" : "ref dweight");
		CHECK(db == 11, "fast %d: dbias %g", fast, db);
	}

	/* valid 1: only output 0 is computed, output 1 is 0 and its dout
	 * ignored; row 2 (read only by output 1) gets no gradient. */
	int32_t valid = 1;
	float want1[2] = {5.5f, 0}, want_dinp1[6] = {1, 0, 0, 1, 0, 0}, want_dw1[4] = {1, 2, 3, 4};
	for (int fast = 0; fast < 2; fast++) {
		float out[2], dinp[6] = {0}, dw[4] = {0}, db = 0;
		if (fast)
			ck_conv1d_forward(out, inp, &valid, weight, &bias, &d, CK_NN_ACT_NONE, ws);
		else
			ck_conv1d_forward_ref(out, inp, &valid, weight, &bias, &d);
		expect_close(out, want1, 2, 0, fast ? "fast forward valid" : "ref forward valid");
		if (fast)
			ck_conv1d_backward(dinp, dw, &db, dout, out, inp, &valid, weight, &d, CK_NN_ACT_NONE,
			                   ws);
		else
			ck_conv1d_backward_ref(dinp, dw, &db, dout, inp, &valid, weight, &d);
		expect_close(dinp, want_dinp1, 6, 0, fast ? "fast dinp valid" : "ref dinp valid");
		expect_close(dw, want_dw1, 4, 0, fast ? "fast dweight valid" : "ref dweight valid");
		CHECK(db == 1, "fast %d: dbias valid %g", fast, db);
	}
	free(ws);
}

/* A kernel longer than the sequence has no output and touches nothing. */
static void test_conv1d_too_short(void)
{
	ck_conv1d_dims d = {.N = 2, .T = 2, .C = 3, .F = 2, .K = 3};
	float inp[12] = {0}, weight[18] = {0}, bias[2] = {0}, dinp[12], dw[18], db[2];
	int32_t valid[2] = {1, 2};
	float *ws = conv1d_ws(&d);
	fill_nan(dinp, 12), fill_nan(dw, 18), fill_nan(db, 2);
	for (int v = 0; v < 2; v++) {
		const int32_t *va = v ? valid : NULL;
		ck_conv1d_forward_ref(NULL, inp, va, weight, bias, &d);
		ck_conv1d_backward_ref(dinp, dw, db, NULL, inp, va, weight, &d);
		ck_conv1d_forward(NULL, inp, va, weight, bias, &d, CK_NN_ACT_RELU, ws);
		ck_conv1d_backward(dinp, dw, db, NULL, NULL, inp, va, weight, &d, CK_NN_ACT_RELU, ws);
	}
	CHECK(isnan(dinp[0]) && isnan(dw[0]) && isnan(db[0]), "gradients untouched");
	free(ws);
}

/* The fast kernels against the references: valid lengths (NULL, or drawn
 * from -1 to TO+1: 0 and below count as 1, TO and above as all), with and
 * without bias and ReLU, each gradient alone and all together. The fast
 * ReLU versions are compared with the reference followed by ck_relu_forward,
 * and backward with the reference fed dout masked by out > 0. */
static void compare_conv1d(const ck_conv1d_dims *d, const int32_t *valid, ck_nn_act act)
{
	int TO = conv1d_out(d);
	size_t ni = (size_t)d->N * d->T * d->C, nw = (size_t)d->F * d->K * d->C;
	size_t no = (size_t)d->N * TO * d->F, nb = (size_t)d->F;
	char what[128];
	snprintf(what, sizeof what, "conv1d N%d T%d C%d F%d K%d%s%s", d->N, d->T, d->C, d->F, d->K,
	         valid ? " valid" : "", act == CK_NN_ACT_RELU ? " relu" : "");
	float *ws = conv1d_ws(d);
	float *inp = random_floats(ni), *weight = random_floats(nw), *bias = random_floats(nb);
	float *out = floats(no), *want = floats(no), *dout = random_floats(no);
	float *masked = floats(no);
	float *di0 = random_floats(ni), *dw0 = random_floats(nw), *db0 = random_floats(nb);
	float *di = copy_floats(di0, ni), *dw = copy_floats(dw0, nw), *db = copy_floats(db0, nb);
	float *di_ref = copy_floats(di0, ni), *dw_ref = copy_floats(dw0, nw), *db_ref = copy_floats(db0, nb);
	double tol_out = sum_tol((size_t)d->K * d->C), tol_inp = sum_tol((size_t)d->K * d->F);
	double tol_w = sum_tol((size_t)d->N * TO);

	for (int with_bias = 0; with_bias < 2; with_bias++) {
		const float *b = with_bias ? bias : NULL;
		fill_nan(out, no);
		ck_conv1d_forward_ref(want, inp, valid, weight, b, d);
		if (act == CK_NN_ACT_RELU)
			ck_relu_forward(want, want, no);
		ck_conv1d_forward(out, inp, valid, weight, b, d, act, ws);
		expect_close(out, want, no, tol_out, what);
	}
	for (size_t i = 0; i < no; i++)
		masked[i] = act == CK_NN_ACT_RELU && !(out[i] > 0.0f) ? 0.0f : dout[i];
	ck_conv1d_backward_ref(di_ref, dw_ref, db_ref, masked, inp, valid, weight, d);
	fill_nan(ws, ck_conv1d_workspace_size(d));
	ck_conv1d_backward(di, dw, db, dout, out, inp, valid, weight, d, act, ws);
	expect_close(di, di_ref, ni, tol_inp, what);
	expect_close(dw, dw_ref, nw, tol_w, what);
	expect_close(db, db_ref, nb, tol_w, what);

	/* Gradients one at a time, the others NULL. */
	memcpy(di, di0, sizeof(float) * ni);
	ck_conv1d_backward(di, NULL, NULL, dout, out, inp, valid, weight, d, act, ws);
	expect_close(di, di_ref, ni, tol_inp, what);
	memcpy(dw, dw0, sizeof(float) * nw);
	ck_conv1d_backward(NULL, dw, NULL, dout, out, inp, valid, weight, d, act, ws);
	expect_close(dw, dw_ref, nw, tol_w, what);
	memcpy(db, db0, sizeof(float) * nb);
	ck_conv1d_backward(NULL, NULL, db, dout, out, inp, valid, weight, d, act, ws);
	expect_close(db, db_ref, nb, tol_w, what);

	free(ws), free(inp), free(weight), free(bias), free(out), free(want), free(dout), free(masked);
	free(di0), free(dw0), free(db0), free(di), free(dw), free(db);
	free(di_ref), free(dw_ref), free(db_ref);
}

/* valid (N) drawn from [-1, TO+1], with the extremes (length 0, full)
 * forced into the first rows when there is room. */
static int32_t *random_valid(const ck_conv1d_dims *d)
{
	int TO = conv1d_out(d);
	int32_t *v = test_alloc((size_t)d->N, sizeof *v);
	for (int n = 0; n < d->N; n++)
		v[n] = test_int(-1, TO + 1);
	if (d->N > 1)
		v[0] = 0, v[1] = TO;
	return v;
}

static void compare_conv1d_all(const ck_conv1d_dims *d)
{
	int32_t *valid = random_valid(d);
	for (int v = 0; v < 2; v++)
		for (int relu = 0; relu < 2; relu++)
			compare_conv1d(d, v ? valid : NULL, relu ? CK_NN_ACT_RELU : CK_NN_ACT_NONE);
	free(valid);
}

static void test_conv1d_fast(void)
{
	ck_conv1d_dims cases[] = {
		{.N = 1, .T = 1, .C = 1, .F = 1, .K = 1},
		{.N = 2, .T = 5, .C = 3, .F = 2, .K = 5},  /* K = T: one output */
		{.N = 3, .T = 7, .C = 1, .F = 4, .K = 3},  /* one channel */
		{.N = 2, .T = 6, .C = 5, .F = 1, .K = 1},  /* pointwise, one filter */
		{.N = 4, .T = 37, .C = 16, .F = 10, .K = 5},
		{.N = 2, .T = 50, .C = 50, .F = 20, .K = 4},
		{.N = 7, .T = 23, .C = 33, .F = 13, .K = 4}, /* F, C not multiples of 8 */
		{.N = 9, .T = 40, .C = 24, .F = 100, .K = 3}, /* Kim's branch, smaller */
	};
	test_seed(30);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		compare_conv1d_all(&cases[i]);
	for (int i = 0; i < 20; i++) {
		ck_conv1d_dims d = {.N = test_int(1, 5), .T = test_int(1, 13), .C = test_int(1, 7),
		                    .F = test_int(1, 6)};
		d.K = test_int(1, d.T);
		compare_conv1d_all(&d);
	}
}

/* Outputs past valid[n] do not depend on the input; the others are those
 * computed without valid, to the bit (the same GEMM over the same rows). */
static void test_conv1d_valid_matches_full(void)
{
	ck_conv1d_dims d = {.N = 6, .T = 12, .C = 9, .F = 11, .K = 3};
	int TO = conv1d_out(&d);
	int32_t valid[6] = {0, 1, 4, 10, 99, -3};
	size_t ni = (size_t)d.N * d.T * d.C, no = (size_t)d.N * TO * d.F;
	test_seed(36);
	float *inp = random_floats(ni), *weight = random_floats((size_t)d.F * d.K * d.C);
	float *bias = random_floats((size_t)d.F), *full = floats(no), *part = floats(no);
	float *ws = conv1d_ws(&d);
	ck_conv1d_forward(full, inp, NULL, weight, bias, &d, CK_NN_ACT_RELU, ws);
	ck_conv1d_forward(part, inp, valid, weight, bias, &d, CK_NN_ACT_RELU, ws);
	int bad = 0;
	for (int n = 0; n < d.N; n++) {
		int S = valid[n] < 1 ? 1 : valid[n] > TO ? TO : valid[n];
		for (int t = 0; t < TO; t++)
			for (int f = 0; f < d.F; f++) {
				size_t i = ((size_t)n * TO + t) * d.F + f;
				bad += t < S ? full[i] != part[i] : part[i] != 0.0f;
			}
	}
	CHECK(bad == 0, "%d outputs differ", bad);
	free(inp), free(weight), free(bias), free(full), free(part), free(ws);
}

typedef struct conv1d_fd {
	ck_conv1d_dims d;
	float *out, *inp, *weight, *bias, *ws;
	const int32_t *valid;
	int fast;
} conv1d_fd;

static void conv1d_fd_forward(void *ctx)
{
	conv1d_fd *c = ctx;
	if (c->fast)
		ck_conv1d_forward(c->out, c->inp, c->valid, c->weight, c->bias, &c->d, CK_NN_ACT_RELU,
		                  c->ws);
	else
		ck_conv1d_forward_ref(c->out, c->inp, c->valid, c->weight, c->bias, &c->d);
}

/* Central differences of the reference (linear) and of the fast kernels
 * with valid lengths and the fused ReLU (inputs spread so that a step of
 * 1e-3 flips no ReLU). */
static void test_conv1d_gradients(void)
{
	ck_conv1d_dims d = {.N = 3, .T = 6, .C = 3, .F = 2, .K = 3};
	int32_t valid[3] = {4, 2, 0};
	size_t ni = 54, nw = 18, no = 3 * 4 * 2, nb = 2;
	test_seed(31);
	for (int fast = 0; fast < 2; fast++) {
		conv1d_fd c = {d, floats(no), random_floats(ni), random_floats(nw), random_floats(nb),
		               conv1d_ws(&d), fast ? valid : NULL, fast};
		float *R = random_floats(no), *di = floats(ni), *dw = floats(nw), *db = floats(nb);
		memset(di, 0, sizeof(float) * ni);
		memset(dw, 0, sizeof(float) * nw);
		memset(db, 0, sizeof(float) * nb);
		conv1d_fd_forward(&c);
		int near_zero = 0;
		for (size_t i = 0; i < no; i++)
			near_zero += c.out[i] != 0.0f && fabsf(c.out[i]) < 0.05f;
		CHECK(near_zero == 0, "fast %d: %d outputs near the ReLU's kink", fast, near_zero);
		if (fast)
			ck_conv1d_backward(di, dw, db, R, c.out, c.inp, valid, c.weight, &d, CK_NN_ACT_RELU,
			                   c.ws);
		else
			ck_conv1d_backward_ref(di, dw, db, R, c.inp, NULL, c.weight, &d);
		fd_loss loss = {conv1d_fd_forward, &c, c.out, R, no};
		expect_grad(&loss, c.inp, ni, di, 1e-3f, fast ? "fast conv1d dinp" : "conv1d dinp");
		expect_grad(&loss, c.weight, nw, dw, 1e-3f, fast ? "fast conv1d dweight" : "conv1d dweight");
		expect_grad(&loss, c.bias, nb, db, 1e-3f, fast ? "fast conv1d dbias" : "conv1d dbias");

		/* Backward adds: a second call doubles. */
		float *di2 = copy_floats(di, ni), *dw2 = copy_floats(dw, nw), *db2 = copy_floats(db, nb);
		if (fast)
			ck_conv1d_backward(di2, dw2, db2, R, c.out, c.inp, valid, c.weight, &d,
			                   CK_NN_ACT_RELU, c.ws);
		else
			ck_conv1d_backward_ref(di2, dw2, db2, R, c.inp, NULL, c.weight, &d);
		for (size_t i = 0; i < ni; i++)
			CHECK_NEAR(di2[i], 2 * di[i], 1e-5, "dinp twice");
		for (size_t i = 0; i < nw; i++)
			CHECK_NEAR(dw2[i], 2 * dw[i], 1e-5, "dweight twice");
		for (size_t i = 0; i < nb; i++)
			CHECK_NEAR(db2[i], 2 * db[i], 1e-5, "dbias twice");
		free(c.out), free(c.inp), free(c.weight), free(c.bias), free(c.ws), free(R);
		free(di), free(dw), free(db), free(di2), free(dw2), free(db2);
	}
}

/* ---- global max pool over time ----------------------------------------------- */

static void test_globalmaxpool1d_hand(void)
{
	ck_globalmaxpool1d_dims d = {.N = 3, .T = 4, .C = 2};
	float inp[24] = {
		/* valid 2: the 9s past the end never win */
		1, 5, 3, 2, 9, 9, 9, 9,
		/* valid 0, clipped to 1: only t = 0 counts */
		4, 1, 4, 0, 7, 8, 1, 1,
		/* valid 99, clipped to T: ties go to the earliest step */
		2, 2, 2, 3, 1, 3, 0, 0,
	};
	int32_t valid[3] = {2, 0, 99};
	float want[6] = {3, 5, 4, 1, 2, 3};
	int32_t want_arg[6] = {1, 0, 0, 0, 0, 1};
	float dout[6] = {1, 2, 3, 4, 5, 6};
	for (int fast = 0; fast < 2; fast++) {
		float out[6], dinp[24] = {0};
		int32_t arg[6];
		(fast ? ck_globalmaxpool1d_forward : ck_globalmaxpool1d_forward_ref)(out, arg, inp, valid, &d);
		expect_close(out, want, 6, 0, fast ? "fast forward" : "ref forward");
		CHECK(memcmp(arg, want_arg, sizeof arg) == 0, "fast %d: argmax", fast);
		(fast ? ck_globalmaxpool1d_backward : ck_globalmaxpool1d_backward_ref)(dinp, dout, arg, &d);
		float want_dinp[24] = {0, 2, 1, 0, 0, 0, 0, 0, 3, 4, 0, 0, 0, 0, 0, 0, 5, 0, 0, 6, 0, 0, 0, 0};
		expect_close(dinp, want_dinp, 24, 0, fast ? "fast backward" : "ref backward");

		/* No valid lengths: every step counts. */
		(fast ? ck_globalmaxpool1d_forward : ck_globalmaxpool1d_forward_ref)(out, arg, inp, NULL, &d);
		CHECK(out[0] == 9 && arg[0] == 2 && out[3] == 8 && arg[3] == 2, "fast %d: NULL valid", fast);
	}
}

static void test_globalmaxpool1d_fast(void)
{
	test_seed(32);
	for (int iter = 0; iter < 20; iter++) {
		ck_globalmaxpool1d_dims d = {.N = test_int(1, 5), .T = test_int(1, 30), .C = test_int(1, 40)};
		size_t ni = (size_t)d.N * d.T * d.C, no = (size_t)d.N * d.C;
		int32_t *valid = test_alloc(d.N, sizeof *valid);
		for (int n = 0; n < d.N; n++)
			valid[n] = test_int(-1, d.T + 1);
		float *inp = random_floats(ni), *dout = random_floats(no), *di0 = random_floats(ni);
		float *out = floats(no), *want = floats(no);
		float *di = copy_floats(di0, ni), *di_ref = copy_floats(di0, ni);
		int32_t *arg = test_alloc(no, sizeof *arg), *arg_ref = test_alloc(no, sizeof *arg);
		const int32_t *v = iter % 4 == 3 ? NULL : valid;
		char what[64];
		snprintf(what, sizeof what, "N%d T%d C%d%s", d.N, d.T, d.C, v ? "" : " no valid");
		fill_nan(out, no);
		ck_globalmaxpool1d_forward_ref(want, arg_ref, inp, v, &d);
		ck_globalmaxpool1d_forward(out, arg, inp, v, &d);
		EXPECT_SAME_BITS(out, want, no, what);
		EXPECT_SAME_BITS(arg, arg_ref, no, what);
		for (size_t i = 0; i < no; i++) {
			int n = (int)(i / d.C), steps = v ? v[n] : d.T;
			steps = steps < 1 ? 1 : steps > d.T ? d.T : steps;
			CHECK(arg[i] >= 0 && arg[i] < steps, "%s: argmax %d of %d steps", what, arg[i], steps);
		}
		ck_globalmaxpool1d_backward_ref(di_ref, dout, arg_ref, &d);
		ck_globalmaxpool1d_backward(di, dout, arg, &d);
		EXPECT_SAME_BITS(di, di_ref, ni, what);
		free(valid), free(inp), free(dout), free(di0), free(out), free(want);
		free(di), free(di_ref), free(arg), free(arg_ref);
	}
}

typedef struct gmp1d_fd {
	ck_globalmaxpool1d_dims d;
	float *out, *inp;
	int32_t *arg;
	const int32_t *valid;
} gmp1d_fd;

static void gmp1d_fd_forward(void *ctx)
{
	gmp1d_fd *c = ctx;
	ck_globalmaxpool1d_forward_ref(c->out, c->arg, c->inp, c->valid, &c->d);
}

static void test_globalmaxpool1d_gradients(void)
{
	ck_globalmaxpool1d_dims d = {.N = 3, .T = 5, .C = 4};
	int32_t valid[3] = {5, 2, 3};
	size_t ni = 60, no = 12;
	test_seed(33);
	/* Distinct values 0.01 apart: a 1e-3 step never changes a winner. */
	gmp1d_fd c = {d, floats(no), distinct_floats(ni, 0.01f), test_alloc(no, sizeof(int32_t)), valid};
	float *R = random_floats(no), *di = floats(ni);
	memset(di, 0, sizeof(float) * ni);
	gmp1d_fd_forward(&c);
	ck_globalmaxpool1d_backward_ref(di, R, c.arg, &d);
	fd_loss loss = {gmp1d_fd_forward, &c, c.out, R, no};
	expect_grad(&loss, c.inp, ni, di, 1e-3f, "globalmaxpool1d dinp");
	free(c.out), free(c.inp), free(c.arg), free(R), free(di);
}

/* ---- embedding ------------------------------------------------------------------ */

static void test_embedding_hand(void)
{
	ck_embedding_dims d = {.N = 1, .T = 4, .V = 4, .D = 2};
	float table[8] = {0, 0, 1, 2, 3, 4, 5, 6};
	int32_t ids[4] = {2, 0, 2, 3};
	float want[8] = {3, 4, 0, 0, 3, 4, 5, 6};
	float dout[8] = {1, 1, 100, 100, 2, 3, 4, 5};
	/* Row 0 (padding) keeps its 7s although id 0 occurs; row 2 sums two. */
	float want_dt[8] = {7, 7, 7, 7, 10, 11, 11, 12};
	for (int fast = 0; fast < 2; fast++) {
		float out[8], dt[8] = {7, 7, 7, 7, 7, 7, 7, 7};
		(fast ? ck_embedding_forward : ck_embedding_forward_ref)(out, ids, table, &d);
		expect_close(out, want, 8, 0, fast ? "fast forward" : "ref forward");
		(fast ? ck_embedding_backward : ck_embedding_backward_ref)(dt, dout, ids, &d);
		expect_close(dt, want_dt, 8, 0, fast ? "fast backward" : "ref backward");
	}
}

static void test_embedding_fast(void)
{
	/* Small, and large enough to thread with D spanning several column
	 * blocks; few distinct ids, so rows repeat a lot. */
	ck_embedding_dims cases[] = {{1, 1, 1, 1}, {2, 3, 5, 7}, {8, 70, 13, 130}, {3, 9, 50, 64}};
	test_seed(34);
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		ck_embedding_dims *d = &cases[k];
		size_t rows = (size_t)d->N * d->T, nt = (size_t)d->V * d->D, no = rows * d->D;
		int32_t *ids = test_alloc(rows, sizeof *ids);
		for (size_t r = 0; r < rows; r++)
			ids[r] = test_int(0, d->V - 1);
		float *table = random_floats(nt), *out = floats(no), *want = floats(no);
		float *dout = random_floats(no), *dt = random_floats(nt), *dt_ref = copy_floats(dt, nt);
		float *row0 = copy_floats(dt, d->D);
		char what[64];
		snprintf(what, sizeof what, "embedding N%d T%d V%d D%d", d->N, d->T, d->V, d->D);
		fill_nan(out, no);
		ck_embedding_forward_ref(want, ids, table, d);
		ck_embedding_forward(out, ids, table, d);
		EXPECT_SAME_BITS(out, want, no, what);
		ck_embedding_backward_ref(dt_ref, dout, ids, d);
		ck_embedding_backward(dt, dout, ids, d);
		EXPECT_SAME_BITS(dt, dt_ref, nt, what);
		EXPECT_SAME_BITS(dt, row0, (size_t)d->D, "padding row untouched");
		free(ids), free(table), free(out), free(want), free(dout), free(dt), free(dt_ref), free(row0);
	}
}

typedef struct embedding_fd {
	ck_embedding_dims d;
	float *out, *table;
	const int32_t *ids;
} embedding_fd;

static void embedding_fd_forward(void *ctx)
{
	embedding_fd *c = ctx;
	ck_embedding_forward_ref(c->out, c->ids, c->table, &c->d);
}

static void test_embedding_gradients(void)
{
	ck_embedding_dims d = {.N = 2, .T = 5, .V = 4, .D = 3};
	int32_t ids[10] = {1, 2, 2, 0, 0, 3, 1, 1, 1, 0};
	size_t nt = 12, no = 30;
	test_seed(35);
	embedding_fd c = {d, floats(no), random_floats(nt), ids};
	float *R = random_floats(no), *dt = floats(nt);
	memset(dt, 0, sizeof(float) * nt);
	ck_embedding_backward_ref(dt, R, ids, &d);
	fd_loss loss = {embedding_fd_forward, &c, c.out, R, no};
	/* Rows 1..V-1 only: the padding row is frozen by design, so its true
	 * derivative (nonzero, id 0 is looked up) is deliberately not applied. */
	expect_grad(&loss, c.table + d.D, nt - d.D, dt + d.D, 1e-2f, "embedding dtable");
	CHECK(dt[0] == 0 && dt[1] == 0 && dt[2] == 0, "padding row gets no gradient");
	free(c.out), free(c.table), free(R), free(dt);
}

int main(void)
{
	RUN(test_conv1d_hand);
	RUN(test_conv1d_too_short);
	RUN(test_conv1d_fast);
	RUN(test_conv1d_valid_matches_full);
	RUN(test_conv1d_gradients);
	RUN(test_globalmaxpool1d_hand);
	RUN(test_globalmaxpool1d_fast);
	RUN(test_globalmaxpool1d_gradients);
	RUN(test_embedding_hand);
	RUN(test_embedding_fast);
	RUN(test_embedding_gradients);
	return check_summary();
}
