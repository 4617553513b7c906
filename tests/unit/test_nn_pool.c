/* test_nn_pool.c: maxpool2d, avgpool2d, global average and max pooling.
 * Hand-computed cases (ties, overlap, floor, NaN), finite-difference
 * gradients of the references, fast against reference on awkward shapes. */
#include "test_nn.h"

static int pool_oh(const ck_pool2d_dims *d)
{
	return ck_nn_valid_size(d->H, d->KH, d->SH);
}

static int pool_ow(const ck_pool2d_dims *d)
{
	return ck_nn_valid_size(d->W, d->KW, d->SW);
}

static size_t pool_in_len(const ck_pool2d_dims *d)
{
	return (size_t)d->N * d->C * d->H * d->W;
}

static size_t pool_out_len(const ck_pool2d_dims *d)
{
	return (size_t)d->N * d->C * pool_oh(d) * pool_ow(d);
}

/* ---- hand-computed -------------------------------------------------------- */

static void test_maxpool_ties(void)
{
	ck_pool2d_dims d = {.N = 1, .C = 2, .H = 2, .W = 2, .KH = 2, .KW = 2, .SH = 2, .SW = 2};
	/* Plane 0: all equal, the first wins. Plane 1: two 3s, the first in
	 * row-major order (index 1, not 2) wins. */
	float inp[8] = {5, 5, 5, 5, 1, 3, 3, 2};
	for (int fast = 0; fast < 2; fast++) {
		float out[2];
		int32_t arg[2];
		(fast ? ck_maxpool2d_forward : ck_maxpool2d_forward_ref)(out, arg, inp, &d);
		CHECK(out[0] == 5 && arg[0] == 0, "fast %d: all equal: %g at %d", fast, out[0], arg[0]);
		CHECK(out[1] == 3 && arg[1] == 1, "fast %d: first 3 wins: %g at %d", fast, out[1], arg[1]);
	}
}

/* Windows overlap (kernel 3, stride 2): the shared maximum collects the
 * gradient of both windows, added to what dinp held. */
static void test_maxpool_overlap(void)
{
	ck_pool2d_dims d = {.N = 1, .C = 1, .H = 1, .W = 5, .KH = 1, .KW = 3, .SH = 1, .SW = 2};
	float inp[5] = {1, 2, 9, 3, 4}, dout[2] = {1, 10};
	for (int fast = 0; fast < 2; fast++) {
		float out[2], dinp[5] = {0, 0, 100, 0, 0};
		int32_t arg[2];
		(fast ? ck_maxpool2d_forward : ck_maxpool2d_forward_ref)(out, arg, inp, &d);
		CHECK(out[0] == 9 && out[1] == 9 && arg[0] == 2 && arg[1] == 2, "fast %d: shared max", fast);
		(fast ? ck_maxpool2d_backward : ck_maxpool2d_backward_ref)(dinp, dout, arg, &d);
		float want[5] = {0, 0, 111, 0, 0};
		expect_close(dinp, want, 5, 0, fast ? "fast backward" : "ref backward");
	}
}

/* 5x5 pooled 2x2 stride 2 is 2x2: the last row and column are dropped, so a
 * maximum placed there is never seen. */
static void test_maxpool_floor(void)
{
	ck_pool2d_dims d = {.N = 1, .C = 1, .H = 5, .W = 5, .KH = 2, .KW = 2, .SH = 2, .SW = 2};
	float inp[25];
	for (int i = 0; i < 25; i++)
		inp[i] = (float)i;
	inp[24] = inp[4] = inp[20] = 1000;
	float want[4] = {6, 8, 16, 18};
	int32_t want_arg[4] = {6, 8, 16, 18};
	CHECK(pool_oh(&d) == 2 && pool_ow(&d) == 2, "floor size");
	for (int fast = 0; fast < 2; fast++) {
		float out[4];
		int32_t arg[4];
		(fast ? ck_maxpool2d_forward : ck_maxpool2d_forward_ref)(out, arg, inp, &d);
		expect_close(out, want, 4, 0, fast ? "fast" : "ref");
		CHECK(memcmp(arg, want_arg, sizeof arg) == 0, "fast %d: argmax", fast);
	}
}

static void test_maxpool_nan(void)
{
	ck_pool2d_dims d = {.N = 1, .C = 1, .H = 2, .W = 2, .KH = 2, .KW = 2, .SH = 1, .SW = 1};
	float inp[4] = {1, NAN, 3, 2};
	ck_globalpool2d_dims g = {1, 1, 2, 2};
	for (int fast = 0; fast < 2; fast++) {
		float out;
		int32_t arg;
		(fast ? ck_maxpool2d_forward : ck_maxpool2d_forward_ref)(&out, &arg, inp, &d);
		CHECK(isnan(out) && arg == 1, "fast %d: NaN propagates through maxpool", fast);
		(fast ? ck_globalmaxpool2d_forward : ck_globalmaxpool2d_forward_ref)(&out, &arg, inp, &g);
		CHECK(isnan(out) && arg == 1, "fast %d: NaN propagates through global max", fast);
	}
}

static void test_avgpool_hand(void)
{
	ck_pool2d_dims d = {.N = 1, .C = 1, .H = 2, .W = 3, .KH = 2, .KW = 2, .SH = 1, .SW = 1};
	float inp[6] = {1, 2, 3, 4, 5, 6}, dout[2] = {1, 2};
	float want[2] = {3, 4}, want_dinp[6] = {0.25f, 0.75f, 0.5f, 0.25f, 0.75f, 0.5f};
	for (int fast = 0; fast < 2; fast++) {
		float out[2], dinp[6] = {0};
		(fast ? ck_avgpool2d_forward : ck_avgpool2d_forward_ref)(out, inp, &d);
		expect_close(out, want, 2, 0, fast ? "fast forward" : "ref forward");
		(fast ? ck_avgpool2d_backward : ck_avgpool2d_backward_ref)(dinp, dout, &d);
		expect_close(dinp, want_dinp, 6, 0, fast ? "fast backward" : "ref backward");
	}
}

static void test_global_hand(void)
{
	ck_globalpool2d_dims d = {.N = 1, .C = 2, .H = 2, .W = 3};
	float inp[12] = {1, 2, 3, 4, 5, 6, /* plane 1: a tie for the maximum */ 0, 7, 1, 7, 2, 3};
	float dout[2] = {6, 10};
	for (int fast = 0; fast < 2; fast++) {
		float out[2], dinp[12] = {0};
		int32_t arg[2];
		(fast ? ck_globalavgpool2d_forward : ck_globalavgpool2d_forward_ref)(out, inp, &d);
		CHECK(out[0] == 3.5f && out[1] == 20.0f / 6, "fast %d: mean %g %g", fast, out[0], out[1]);
		(fast ? ck_globalavgpool2d_backward : ck_globalavgpool2d_backward_ref)(dinp, dout, &d);
		CHECK(dinp[0] == 1 && dinp[5] == 1 && dinp[6] == 10.0f / 6, "fast %d: mean backward", fast);

		memset(dinp, 0, sizeof dinp);
		(fast ? ck_globalmaxpool2d_forward : ck_globalmaxpool2d_forward_ref)(out, arg, inp, &d);
		CHECK(out[0] == 6 && arg[0] == 5 && out[1] == 7 && arg[1] == 1, "fast %d: max", fast);
		(fast ? ck_globalmaxpool2d_backward : ck_globalmaxpool2d_backward_ref)(dinp, dout, arg, &d);
		float want[12] = {0, 0, 0, 0, 0, 6, 0, 10, 0, 0, 0, 0};
		expect_close(dinp, want, 12, 0, fast ? "fast max backward" : "ref max backward");
	}
}

/* ---- fast against reference ------------------------------------------------- */

static ck_pool2d_dims random_pool(void)
{
	ck_pool2d_dims d = {.N = test_int(1, 3), .C = test_int(1, 5), .H = test_int(1, 11),
	                    .W = test_int(1, 11), .SH = test_int(1, 3), .SW = test_int(1, 3)};
	d.KH = test_int(1, d.H < 4 ? d.H : 4);
	d.KW = test_int(1, d.W < 4 ? d.W : 4);
	return d;
}

static void test_fast_pool(void)
{
	test_seed(10);
	for (int iter = 0; iter < 40; iter++) {
		ck_pool2d_dims d = random_pool();
		if (iter == 0) /* a global window as a pool */
			d = (ck_pool2d_dims){.N = 2, .C = 3, .H = 7, .W = 5, .KH = 7, .KW = 5, .SH = 1, .SW = 1};
		if (iter == 1) /* 1x1 image */
			d = (ck_pool2d_dims){.N = 1, .C = 1, .H = 1, .W = 1, .KH = 1, .KW = 1, .SH = 2, .SW = 2};
		size_t ni = pool_in_len(&d), no = pool_out_len(&d);
		char what[160];
		snprintf(what, sizeof what, "N%d C%d %dx%d k%dx%d s%dx%d", d.N, d.C, d.H, d.W,
		         d.KH, d.KW, d.SH, d.SW);
		float *inp = random_floats(ni), *dout = random_floats(no), *di0 = random_floats(ni);
		float *out = floats(no), *want = floats(no);
		float *di = copy_floats(di0, ni), *di_ref = copy_floats(di0, ni);
		int32_t *arg = test_alloc(no, sizeof *arg), *arg_ref = test_alloc(no, sizeof *arg);

		/* Max is exact and the scan orders agree: bit-identical. */
		fill_nan(out, no);
		ck_maxpool2d_forward_ref(want, arg_ref, inp, &d);
		ck_maxpool2d_forward(out, arg, inp, &d);
		EXPECT_SAME_BITS(out, want, no, what);
		EXPECT_SAME_BITS(arg, arg_ref, no, what);
		ck_maxpool2d_backward_ref(di_ref, dout, arg_ref, &d);
		ck_maxpool2d_backward(di, dout, arg, &d);
		EXPECT_SAME_BITS(di, di_ref, ni, what);

		fill_nan(out, no);
		ck_avgpool2d_forward_ref(want, inp, &d);
		ck_avgpool2d_forward(out, inp, &d);
		expect_close(out, want, no, sum_tol((size_t)d.KH * d.KW), what);
		memcpy(di, di0, sizeof(float) * ni);
		memcpy(di_ref, di0, sizeof(float) * ni);
		ck_avgpool2d_backward_ref(di_ref, dout, &d);
		ck_avgpool2d_backward(di, dout, &d);
		expect_close(di, di_ref, ni, sum_tol((size_t)d.KH * d.KW), what);

		ck_globalpool2d_dims g = {d.N, d.C, d.H, d.W};
		size_t np = (size_t)d.N * d.C;
		fill_nan(out, np);
		ck_globalavgpool2d_forward_ref(want, inp, &g);
		ck_globalavgpool2d_forward(out, inp, &g);
		expect_close(out, want, np, 1e-6, what);
		memcpy(di, di0, sizeof(float) * ni);
		memcpy(di_ref, di0, sizeof(float) * ni);
		ck_globalavgpool2d_backward_ref(di_ref, dout, &g);
		ck_globalavgpool2d_backward(di, dout, &g);
		expect_close(di, di_ref, ni, 1e-6, what);

		fill_nan(out, np);
		ck_globalmaxpool2d_forward_ref(want, arg_ref, inp, &g);
		ck_globalmaxpool2d_forward(out, arg, inp, &g);
		EXPECT_SAME_BITS(out, want, np, what);
		EXPECT_SAME_BITS(arg, arg_ref, np, what);
		memcpy(di, di0, sizeof(float) * ni);
		memcpy(di_ref, di0, sizeof(float) * ni);
		ck_globalmaxpool2d_backward_ref(di_ref, dout, arg_ref, &g);
		ck_globalmaxpool2d_backward(di, dout, arg, &g);
		EXPECT_SAME_BITS(di, di_ref, ni, what);

		free(inp), free(dout), free(di0), free(out), free(want), free(di), free(di_ref);
		free(arg), free(arg_ref);
	}
}

/* ---- finite differences ------------------------------------------------------ */

typedef struct pool_fd {
	ck_pool2d_dims d;
	float *out, *inp;
	int32_t *arg;
	int op; /* 0 maxpool, 1 avgpool, 2 global max, 3 global average */
} pool_fd;

static void pool_fd_forward(void *ctx)
{
	pool_fd *p = ctx;
	ck_globalpool2d_dims g = {p->d.N, p->d.C, p->d.H, p->d.W};
	switch (p->op) {
	case 0: ck_maxpool2d_forward_ref(p->out, p->arg, p->inp, &p->d); break;
	case 1: ck_avgpool2d_forward_ref(p->out, p->inp, &p->d); break;
	case 2: ck_globalmaxpool2d_forward_ref(p->out, p->arg, p->inp, &g); break;
	default: ck_globalavgpool2d_forward_ref(p->out, p->inp, &g); break;
	}
}

static void pool_fd_backward(pool_fd *p, float *dinp, const float *dout)
{
	ck_globalpool2d_dims g = {p->d.N, p->d.C, p->d.H, p->d.W};
	switch (p->op) {
	case 0: ck_maxpool2d_backward_ref(dinp, dout, p->arg, &p->d); break;
	case 1: ck_avgpool2d_backward_ref(dinp, dout, &p->d); break;
	case 2: ck_globalmaxpool2d_backward_ref(dinp, dout, p->arg, &g); break;
	default: ck_globalavgpool2d_backward_ref(dinp, dout, &g); break;
	}
}

static void test_gradients(void)
{
	static const char *names[] = {"maxpool2d", "avgpool2d", "globalmaxpool2d", "globalavgpool2d"};
	ck_pool2d_dims shapes[] = {
		{.N = 2, .C = 2, .H = 5, .W = 6, .KH = 2, .KW = 3, .SH = 2, .SW = 1},
		{.N = 1, .C = 3, .H = 7, .W = 7, .KH = 3, .KW = 3, .SH = 2, .SW = 2}, /* overlap */
	};
	test_seed(11);
	for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
		for (int op = 0; op < 4; op++) {
			ck_pool2d_dims *d = &shapes[s];
			size_t ni = pool_in_len(d);
			size_t no = op < 2 ? pool_out_len(d) : (size_t)d->N * d->C;
			/* Distinct inputs 0.01 apart: a 1e-3 step never changes a winner. */
			pool_fd p = {*d, floats(no), distinct_floats(ni, 0.01f),
			             test_alloc(no, sizeof(int32_t)), op};
			float *R = random_floats(no), *dinp = floats(ni);
			memset(dinp, 0, sizeof(float) * ni);
			pool_fd_forward(&p);
			pool_fd_backward(&p, dinp, R);
			fd_loss loss = {pool_fd_forward, &p, p.out, R, no};
			char what[64];
			snprintf(what, sizeof what, "%s shape %zu", names[op], s);
			expect_grad(&loss, p.inp, ni, dinp, 1e-3f, what);

			/* Backward adds: a second call doubles the gradient. */
			float *twice = copy_floats(dinp, ni);
			for (size_t i = 0; i < ni; i++)
				twice[i] *= 2;
			pool_fd_backward(&p, dinp, R);
			expect_close(dinp, twice, ni, 1e-6, what);
			free(p.out), free(p.inp), free(p.arg), free(R), free(dinp), free(twice);
		}
}

int main(void)
{
	RUN(test_maxpool_ties);
	RUN(test_maxpool_overlap);
	RUN(test_maxpool_floor);
	RUN(test_maxpool_nan);
	RUN(test_avgpool_hand);
	RUN(test_global_hand);
	RUN(test_fast_pool);
	RUN(test_gradients);
	return check_summary();
}
