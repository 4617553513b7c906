/* test_model.c: the model runtime: the reference network, the model against
 * hand-composed kernel calls, the final softmax/sigmoid rule, lengths,
 * initialisation, constraints, determinism over seeds and threads. Save and
 * load are in test_model_io.c, gradients in test_model_grad.c. */
#include <string.h>

#include "check.h"
#include "cnnkit.h"

static float *random_floats(int64_t n, float lo, float hi, uint64_t seed)
{
	ck_rng rng;
	ck_rng_seed(&rng, seed);
	float *v = malloc((size_t)n * sizeof *v);
	for (int64_t i = 0; i < n; i++)
		v[i] = lo + (hi - lo) * ck_rng_uniform(&rng);
	return v;
}

static ck_model *make(const char *spec, const int64_t *shape, int rank, int64_t vocab,
                      int max_batch, int nthreads, uint64_t seed)
{
	ck_err err;
	ck_model *m = ck_model_create(spec, shape, rank, vocab, &err);
	CHECK(m != NULL, "%s: %s", spec, err.msg);
	if (!m)
		return NULL;
	ck_model_init(m, seed);
	CHECK(ck_model_plan(m, max_batch, nthreads, &err) == 0, "%s", err.msg);
	return m;
}

/* One SGD step on CCE; returns the loss before the step. */
static double sgd_step(ck_model *m, const float *x, const int32_t *y, int n, float lr,
                       uint64_t step)
{
	int K = (int)ck_model_output_size(m);
	float *probs = malloc((size_t)n * K * sizeof *probs);
	float *dlogits = malloc((size_t)n * K * sizeof *dlogits);
	const float *logits = ck_model_forward(m, x, NULL, n, 1, step);
	double loss = ck_cce_forward(probs, logits, y, n, K);
	ck_cce_backward(dlogits, probs, y, n, K);
	ck_model_zero_grad(m);
	ck_model_backward(m, dlogits, n);
	ck_optim_config cfg = ck_optim_defaults(CK_OPTIM_SGD);
	const ck_arch *a = ck_model_arch(m);
	for (int i = 0; i < a->nparams; i++)
		if (a->params[i].trainable)
			ck_optim_step(&cfg, lr, (int64_t)step, ck_model_param(m, i), ck_model_grad(m, i),
			              NULL, NULL, (size_t)a->params[i].count);
	ck_model_constrain(m);
	free(probs);
	free(dlogits);
	return loss;
}

#define REFERENCE "conv 32 3 pad=same relu; maxpool 2; conv 64 3 pad=same relu; maxpool 2; " \
                  "dense 128 relu; dense 10"

static void test_reference_network(void)
{
	ck_model *m = make(REFERENCE, (int64_t[]){1, 28, 28}, 3, 0, 8, 2, 1);
	if (!m)
		return;
	size_t count;
	ck_model_params(m, &count);
	CHECK(count == 421642, "%zu parameters", count);
	CHECK(ck_model_arch(m)->trainable_params == 421642, "all trainable");
	CHECK(ck_model_output_size(m) == 10, "K = %lld", (long long)ck_model_output_size(m));
	CHECK(ck_model_input_size(m) == 784, "input size");
	CHECK(ck_model_input_kind(m) == CK_INPUT_F32, "f32 input");
	CHECK(ck_model_final_act(m) == CK_ARCH_ACT_LINEAR, "no final activation");

	float *x = random_floats(8 * 784, 0, 1, 5);
	int32_t y[8] = {0, 1, 2, 3, 4, 5, 6, 7};
	double first = 0, last = 0;
	for (int step = 1; step <= 6; step++) {
		double l = sgd_step(m, x, y, 8, 0.1f, (uint64_t)step);
		CHECK(isfinite(l), "loss %g", l);
		if (step == 1)
			first = l;
		last = l;
	}
	CHECK(first > 2.0 && first < 2.6, "initial loss %g near ln 10", first);
	CHECK(last < first - 0.1, "loss %g -> %g", first, last);

	double fwd[8], bwd[8];
	CHECK(ck_model_layer_times(m, fwd, bwd, 8) == 6, "6 layers");
	CHECK(fwd[0] > 0 && bwd[0] > 0, "times measured");
	free(x);
	ck_model_free(m);
}

/* conv -> relu -> maxpool -> dense as kernel calls must be the model, bit for bit. */
static void test_equals_hand_composed(void)
{
	ck_model *m = make("conv 4 3 stride=2 pad=same relu; maxpool 2; dense 5",
	                   (int64_t[]){2, 9, 9}, 3, 0, 3, 1, 3);
	if (!m)
		return;
	/* conv: 9 -> ceil(9/2) = 5, total pad (5-1)*2+3-9 = 2: 1 on top. */
	ck_conv2d_dims cd = {.N = 3, .C = 2, .H = 9, .W = 9, .OC = 4, .KH = 3, .KW = 3,
	                     .SH = 2, .SW = 2, .PH = 1, .PW = 1, .OH = 5, .OW = 5};
	ck_pool2d_dims pd = {.N = 3, .C = 4, .H = 5, .W = 5, .KH = 2, .KW = 2, .SH = 2, .SW = 2};
	ck_dense_dims dd = {.N = 3, .IN = 16, .OUT = 5};
	float *x = random_floats(3 * 162, -1, 1, 8);
	float conv[3 * 100], pool[3 * 16], out[15];
	int32_t argmax[3 * 16];
	float *ws = malloc(ck_conv2d_workspace_size(&cd, 1) * sizeof(float) + 1);
	ck_conv2d_forward(conv, x, ck_model_param(m, 0), ck_model_param(m, 1), &cd, ws, 1);
	ck_relu_forward(conv, conv, 300);
	ck_maxpool2d_forward(pool, argmax, conv, &pd);
	ck_dense_forward(out, pool, ck_model_param(m, 2), ck_model_param(m, 3), &dd);
	const float *got = ck_model_forward(m, x, NULL, 3, 0, 0);
	CHECK(memcmp(got, out, sizeof out) == 0, "forward equals the kernels");

	/* Backward: the same chain in reverse. */
	float *dout = random_floats(15, -1, 1, 9);
	float dpool[48] = {0}, dconv[300] = {0}, dpre[300] = {0};
	size_t count;
	ck_model_params(m, &count);
	float *g = calloc(count, sizeof *g);
	float *dw0 = g + ck_model_param_offset(m, 0), *db0 = g + ck_model_param_offset(m, 1);
	float *dw2 = g + ck_model_param_offset(m, 2), *db2 = g + ck_model_param_offset(m, 3);
	ck_dense_backward(dpool, dw2, db2, dout, pool, ck_model_param(m, 2), &dd);
	ck_maxpool2d_backward(dconv, dpool, argmax, &pd);
	ck_relu_backward(dpre, dconv, conv, 300);
	ck_conv2d_backward(NULL, dw0, db0, dpre, x, ck_model_param(m, 0), &cd, ws, 1);
	ck_model_forward(m, x, NULL, 3, 1, 0);
	ck_model_zero_grad(m);
	ck_model_backward(m, dout, 3);
	CHECK(memcmp(ck_model_grads(m), g, count * sizeof *g) == 0, "gradients equal the kernels");
	free(g);
	free(dout);
	free(ws);
	free(x);
	ck_model_free(m);
}

static void test_final_activation(void)
{
	float x[2 * 6];
	for (int i = 0; i < 12; i++)
		x[i] = (float)i / 6 - 1;

	/* softmax as a layer: forward stops before it; predict applies it. */
	ck_model *m = make("dense 4 tanh; dense 3; softmax", (int64_t[]){6}, 1, 0, 2, 1, 2);
	ck_model *w = make("dense 4 tanh; dense 3 softmax", (int64_t[]){6}, 1, 0, 2, 1, 2);
	ck_model *lin = make("dense 4 tanh; dense 3", (int64_t[]){6}, 1, 0, 2, 1, 2);
	if (!m || !w || !lin)
		return;
	CHECK(ck_model_final_act(m) == CK_ARCH_ACT_SOFTMAX, "layer softmax is final");
	CHECK(ck_model_final_act(w) == CK_ARCH_ACT_SOFTMAX, "word softmax is final");
	float ref[6], probs[6];
	memcpy(ref, ck_model_forward(lin, x, NULL, 2, 0, 0), sizeof ref);
	CHECK(memcmp(ck_model_forward(m, x, NULL, 2, 0, 0), ref, sizeof ref) == 0,
	      "forward returns logits (layer)");
	CHECK(memcmp(ck_model_forward(w, x, NULL, 2, 0, 0), ref, sizeof ref) == 0,
	      "forward returns logits (word)");
	ck_softmax_forward(probs, ref, 2, 3);
	CHECK(memcmp(ck_model_predict(m, x, NULL, 2), probs, sizeof probs) == 0, "predict: softmax");
	CHECK(memcmp(ck_model_predict(w, x, NULL, 2), probs, sizeof probs) == 0, "predict: softmax");
	CHECK(memcmp(ck_model_predict(lin, x, NULL, 2), ref, sizeof ref) == 0, "predict: linear");
	ck_model_free(m);
	ck_model_free(w);

	m = make("dense 4 tanh; dense 3 sigmoid", (int64_t[]){6}, 1, 0, 2, 1, 2);
	CHECK(ck_model_final_act(m) == CK_ARCH_ACT_SIGMOID, "sigmoid is final");
	ck_sigmoid_forward(probs, ref, 6);
	CHECK(memcmp(ck_model_predict(m, x, NULL, 2), probs, sizeof probs) == 0, "predict: sigmoid");
	ck_model_free(m);

	/* A softmax that is not last runs; a relu last is not final. */
	m = make("dense 3 softmax; dense 2 relu", (int64_t[]){6}, 1, 0, 2, 1, 2);
	CHECK(ck_model_final_act(m) == CK_ARCH_ACT_LINEAR, "relu is not final");
	const float *o = ck_model_forward(m, x, NULL, 2, 0, 0);
	CHECK(o[0] >= 0 && o[1] >= 0 && o[2] >= 0 && o[3] >= 0, "relu applied");
	ck_model_free(m);
	ck_model_free(lin);
}

/* Tokens past a row's length never change its output (global max pooling
 * skips them), however they are set; without lengths they do. */
static void test_lengths(void)
{
	ck_model *m = make("embedding 6; conv1d 5 2,3 relu; globalmaxpool; dense 3",
	                   (int64_t[]){8}, 1, 20, 2, 1, 4);
	if (!m)
		return;
	CHECK(ck_model_input_kind(m) == CK_INPUT_TOKENS, "tokens");
	int32_t a[16] = {3, 4, 5, 0, 0, 0, 0, 0, 7, 8, 9, 10, 11, 12, 13, 14};
	int32_t b[16] = {3, 4, 5, 17, 18, 19, 1, 2, 7, 8, 9, 10, 11, 12, 13, 14};
	int32_t len[2] = {3, 8};
	float out[6];
	memcpy(out, ck_model_forward(m, a, len, 2, 0, 0), sizeof out);
	CHECK(memcmp(ck_model_forward(m, b, len, 2, 0, 0), out, sizeof out) == 0,
	      "padding ignored with lengths");
	const float *o = ck_model_forward(m, b, NULL, 2, 0, 0);
	CHECK(memcmp(o + 3, out + 3, 3 * sizeof(float)) == 0, "full row unchanged");
	CHECK(memcmp(o, out, 3 * sizeof(float)) != 0, "padding counts without lengths");
	/* A length of 1 is shorter than every width: still one step pooled. */
	int32_t one[2] = {1, 0};
	o = ck_model_forward(m, b, one, 2, 0, 0);
	CHECK(isfinite(o[0]) && isfinite(o[3]), "length 1 and 0 are clipped");
	ck_model_free(m);
}

static void test_init(void)
{
	ck_model *m = make("conv 8 3 pad=same; batchnorm; dense 7", (int64_t[]){2, 5, 5}, 3, 0, 1, 1, 1);
	if (!m)
		return;
	const ck_arch *a = ck_model_arch(m);
	/* bound 1/sqrt(fan_in): conv 2*3*3 = 18, dense 8*25 = 200 */
	double bounds[] = {1 / sqrt(18.0), 1 / sqrt(18.0), 0, 0, 0, 0, 1 / sqrt(200.0),
	                   1 / sqrt(200.0)};
	for (int i = 0; i < a->nparams; i++) {
		const float *p = ck_model_param(m, i);
		double lo = 1e9, hi = -1e9;
		for (int64_t j = 0; j < a->params[i].count; j++) {
			lo = fmin(lo, p[j]);
			hi = fmax(hi, p[j]);
		}
		if (bounds[i] > 0)
			CHECK(lo >= -bounds[i] && hi <= bounds[i] && hi - lo > bounds[i],
			      "%s in [%g,%g]", a->params[i].name, lo, hi);
	}
	const float *bn = ck_model_param(m, 2);
	CHECK(bn[0] == 1 && bn[7] == 1, "bn weight 1");
	CHECK(ck_model_param(m, 3)[0] == 0 && ck_model_param(m, 4)[5] == 0, "bias, mean 0");
	CHECK(ck_model_param(m, 5)[3] == 1, "running_var 1");

	/* Same seed, same values; another seed, others. */
	ck_model *same = make("conv 8 3 pad=same; batchnorm; dense 7", (int64_t[]){2, 5, 5}, 3, 0,
	                      1, 1, 1);
	ck_model *other = make("conv 8 3 pad=same; batchnorm; dense 7", (int64_t[]){2, 5, 5}, 3,
	                       0, 1, 1, 2);
	size_t n;
	const float *p = ck_model_params(m, &n);
	CHECK(memcmp(p, ck_model_params(same, NULL), n * sizeof(float)) == 0, "same seed");
	CHECK(memcmp(p, ck_model_params(other, NULL), n * sizeof(float)) != 0, "other seed");
	ck_model_free(same);
	ck_model_free(other);
	ck_model_free(m);

	m = make("embedding 4; globalavgpool; dense 2", (int64_t[]){5}, 1, 50, 1, 1, 3);
	const float *e = ck_model_param(m, 0);
	double ss = 0;
	for (int j = 4; j < 200; j++)
		ss += (double)e[j] * e[j];
	CHECK(e[0] == 0 && e[1] == 0 && e[2] == 0 && e[3] == 0, "padding row zero");
	CHECK(ss / 196 > 0.7 && ss / 196 < 1.3, "N(0,1): mean square %g", ss / 196);
	ck_model_free(m);
}

static void test_constrain(void)
{
	ck_model *m = make("embedding 3; globalmaxpool; dense 4 maxnorm=0.5; dense 2",
	                   (int64_t[]){4}, 1, 10, 1, 1, 1);
	if (!m)
		return;
	float *w = ck_model_param(m, 1); /* (4,3) */
	for (int j = 0; j < 12; j++)
		w[j] = (float)(j + 1);
	w[3] = 0.1f, w[4] = 0.1f, w[5] = 0.1f; /* row 1 already inside */
	float *e = ck_model_param(m, 0);
	e[1] = 5;
	float *d2 = ck_model_param(m, 3);
	d2[0] = 100;
	ck_model_constrain(m);
	for (int u = 0; u < 4; u++) {
		double ss = 0;
		for (int j = 0; j < 3; j++)
			ss += (double)w[u * 3 + j] * w[u * 3 + j];
		CHECK(sqrt(ss) <= 0.5 + 1e-6, "row %d norm %g", u, sqrt(ss));
	}
	CHECK(w[3] == 0.1f && w[5] == 0.1f, "row inside the ball untouched");
	CHECK(fabsf(w[0] / w[2] - 1.0f / 3.0f) < 1e-6, "direction kept");
	CHECK(e[1] == 0, "embedding padding row reset");
	CHECK(d2[0] == 100, "no maxnorm, no change");
	ck_model_free(m);
}

/* Two models from one seed train to the same bits; another thread count
 * agrees to rounding. */
static void test_determinism(void)
{
	const char *spec = "conv 6 3 pad=same relu; batchnorm; maxpool 2; conv 8 3 relu; "
	                   "dropout 0.3; flatten; dense 16 relu; dense 4";
	int64_t shape[3] = {3, 12, 12};
	ck_model *a = make(spec, shape, 3, 0, 6, 2, 42);
	ck_model *b = make(spec, shape, 3, 0, 6, 2, 42);
	ck_model *c = make(spec, shape, 3, 0, 6, 1, 42);
	if (!a || !b || !c)
		return;
	size_t n;
	const float *pa = ck_model_params(a, &n), *pc = ck_model_params(c, NULL);
	CHECK(memcmp(pa, ck_model_params(b, NULL), n * 4) == 0, "same init");
	float *x = random_floats(6 * 432, -1, 1, 1);
	int32_t y[6] = {0, 1, 2, 3, 0, 1};
	for (int step = 1; step <= 3; step++) {
		sgd_step(a, x, y, 6, 0.1f, (uint64_t)step);
		sgd_step(b, x, y, 6, 0.1f, (uint64_t)step);
		sgd_step(c, x, y, 6, 0.1f, (uint64_t)step);
	}
	CHECK(memcmp(pa, ck_model_params(b, NULL), n * 4) == 0, "same params after SGD");
	float oa[24];
	memcpy(oa, ck_model_forward(a, x, NULL, 6, 0, 0), sizeof oa);
	CHECK(memcmp(oa, ck_model_forward(b, x, NULL, 6, 0, 0), sizeof oa) == 0, "same outputs");
	double worst = 0;
	for (size_t i = 0; i < n; i++)
		worst = fmax(worst, fabs((double)pa[i] - pc[i]));
	CHECK(worst < 1e-5, "1 vs 2 threads: params differ by %g", worst);
	const float *oc = ck_model_forward(c, x, NULL, 6, 0, 0);
	for (int i = 0; i < 24; i++)
		CHECK_NEAR(oa[i], oc[i], 1e-5, "output %d, 1 vs 2 threads", i);
	free(x);
	ck_model_free(a);
	ck_model_free(b);
	ck_model_free(c);
}

/* Dropout masks depend on the step seed, not on the batch split or threads;
 * at inference dropout is the identity. */
static void test_dropout_masks(void)
{
	ck_model *m = make("dropout 0.5", (int64_t[]){64}, 1, 0, 2, 1, 1);
	if (!m)
		return;
	float x[128];
	for (int i = 0; i < 128; i++)
		x[i] = 1;
	float o1[128];
	memcpy(o1, ck_model_forward(m, x, NULL, 2, 1, 5), sizeof o1);
	int zeros = 0;
	for (int i = 0; i < 128; i++) {
		zeros += o1[i] == 0;
		CHECK(o1[i] == 0 || o1[i] == 2, "kept values scaled by 2");
	}
	CHECK(zeros > 40 && zeros < 88, "%d of 128 dropped", zeros);
	CHECK(memcmp(ck_model_forward(m, x, NULL, 2, 1, 5), o1, sizeof o1) == 0, "same seed");
	CHECK(memcmp(ck_model_forward(m, x, NULL, 2, 1, 6), o1, sizeof o1) != 0, "other seed");
	CHECK(memcmp(ck_model_forward(m, x, NULL, 2, 0, 5), x, sizeof x) == 0, "identity at eval");
	ck_model_free(m);
}

static void test_plan_and_create_errors(void)
{
	ck_err err;
	ck_model *m = ck_model_create("conv 8 3; dense 2", (int64_t[]){8}, 1, 0, &err);
	CHECK(m == NULL && strstr(err.msg, "conv needs an image"), "%s", err.msg);
	m = ck_model_create("dense 2; conv 3 3", (int64_t[]){4}, 1, 0, &err);
	CHECK(m == NULL && strstr(err.msg, "layer 2"), "%s", err.msg);
	m = ck_model_create("", (int64_t[]){4}, 1, 0, &err);
	CHECK(m == NULL, "an empty spec has no layers");
	m = ck_model_create("dense 2", (int64_t[]){4}, 1, 0, &err);
	CHECK(ck_model_plan(m, 0, 1, &err) < 0 && strstr(err.msg, "batch size 0"), "%s", err.msg);
	CHECK(ck_model_plan(m, 4, 0, &err) < 0 && strstr(err.msg, "thread count"), "%s", err.msg);
	CHECK(ck_model_plan(m, 1 << 30, 1, &err) < 0, "too large a batch");
	/* Re-planning with another size keeps working. */
	CHECK(ck_model_plan(m, 2, 1, &err) == 0 && ck_model_plan(m, 5, 2, &err) == 0, "replan");
	float x[20] = {1};
	CHECK(ck_model_forward(m, x, NULL, 5, 0, 0) != NULL, "forward after replan");
	ck_model_free(m);
	ck_model_free(NULL);
}

int main(void)
{
	RUN(test_reference_network);
	RUN(test_equals_hand_composed);
	RUN(test_final_activation);
	RUN(test_lengths);
	RUN(test_init);
	RUN(test_constrain);
	RUN(test_determinism);
	RUN(test_dropout_masks);
	RUN(test_plan_and_create_errors);
	return check_summary();
}
