/* test_model_grad.c: whole-model gradients against central finite
 * differences, for small networks that together cover every layer kind.
 *
 * The scalar loss is L = sum(out * R) over the logits of a training-mode
 * forward, R fixed and random, summed in double; so dL/dout = R is what the
 * backward starts from. For each parameter tensor (every element, or 24
 * spread over a large one) and for the f32 input,
 *     num = (L(v + h) - L(v - h)) / ((v + h) - (v - h))   (the floats' difference)
 * is compared with the analytic gradient: |num - ana| <= ATOL + RTOL * |num|.
 * h = 1e-3 keeps the float32 rounding of L (~6e-8 * sum|out*R| / h) near
 * 1e-4 for these sizes, and the h^2 curvature error of the smooth layers
 * smaller still. A ReLU or max pooling kink crossed by +-h would make single
 * elements fail (h = 1e-2 does cross some): the inputs are random, the seeds
 * fixed, and with 1e-3 none is crossed. Parameters that are not trainable
 * (batchnorm running statistics, a frozen embedding) must get exactly 0, and
 * so must an embedding's padding row 0.
 * Dropout keeps its mask fixed for a given step seed, so the function is
 * differentiable; batchnorm is in train mode (batch statistics). */
#include <string.h>

#include "check.h"
#include "cnnkit.h"

#define H 1e-3f
#define ATOL 2e-3
#define RTOL 2e-2
#define SAMPLES 24 /* elements checked per tensor when it has more */

typedef struct net {
	ck_model *m;
	const void *x;
	const int32_t *lengths;
	int n;
	const float *R;
	uint64_t seed;
} net;

static double loss(net *t)
{
	const float *out = ck_model_forward(t->m, t->x, t->lengths, t->n, 1, t->seed);
	double s = 0;
	for (int64_t i = 0; i < t->n * ck_model_output_size(t->m); i++)
		s += (double)out[i] * t->R[i];
	return s;
}

/* Checks n values of v against grad; returns how many failed. */
static int check_values(net *t, const char *what, float *v, const float *grad, int64_t n)
{
	int bad = 0;
	int64_t step = n > SAMPLES ? n / SAMPLES : 1;
	for (int64_t i = 0; i < n; i += step) {
		float v0 = v[i], up = v0 + H, down = v0 - H;
		v[i] = up;
		double lp = loss(t);
		v[i] = down;
		double lm = loss(t);
		v[i] = v0;
		double num = (lp - lm) / ((double)up - (double)down);
		if (!(fabs(num - grad[i]) <= ATOL + RTOL * fabs(num))) {
			if (bad++ < 3)
				printf("# %s[%lld]: analytic %.6g, numeric %.6g\n", what, (long long)i,
				       (double)grad[i], num);
		}
	}
	return bad;
}

static float *random_floats(int64_t n, float lo, float hi, uint64_t seed)
{
	ck_rng rng;
	ck_rng_seed(&rng, seed);
	float *v = malloc((size_t)n * sizeof *v);
	for (int64_t i = 0; i < n; i++)
		v[i] = lo + (hi - lo) * ck_rng_uniform(&rng);
	return v;
}

/* Builds spec for input shape, checks every parameter and (for f32) the
 * input. x: the batch, or NULL for a random one in [-1,1). */
static void gradcheck_net(const char *spec, const int64_t *shape, int rank, int64_t vocab,
                          int n, const void *x, const int32_t *lengths)
{
	ck_err err;
	ck_model *m = ck_model_create(spec, shape, rank, vocab, &err);
	CHECK(m != NULL, "%s: %s", spec, err.msg);
	if (!m)
		return;
	ck_model_init(m, 7);
	ck_model_set_input_grad(m, vocab == 0);
	CHECK(ck_model_plan(m, n, 1, &err) == 0, "%s", err.msg);

	float *own_x = NULL;
	if (!x)
		x = own_x = random_floats(n * ck_model_input_size(m), -1, 1, 11);
	float *R = random_floats(n * ck_model_output_size(m), -1, 1, 13);
	net t = {m, x, lengths, n, R, 99};

	loss(&t);
	ck_model_zero_grad(m);
	ck_model_backward(m, R, n);
	const ck_arch *a = ck_model_arch(m);
	size_t count;
	ck_model_params(m, &count);
	float *grads = malloc(count * sizeof *grads);
	memcpy(grads, ck_model_grads(m), count * sizeof *grads);
	float *dx = NULL;
	if (vocab == 0) {
		size_t nx = (size_t)n * ck_model_input_size(m);
		dx = malloc(nx * sizeof *dx);
		memcpy(dx, ck_model_input_grad(m), nx * sizeof *dx);
	}

	int bad = 0;
	for (int i = 0; i < a->nparams; i++) {
		const ck_arch_param *p = &a->params[i];
		const float *g = grads + ck_model_param_offset(m, i);
		if (!p->trainable) { /* buffers, frozen embeddings: no gradient */
			for (int64_t j = 0; j < p->count; j++)
				bad += g[j] != 0;
			continue;
		}
		if (a->layers[p->layer].kind == CK_ARCH_EMBEDDING) {
			/* Row 0 is padding (PyTorch's padding_idx): its gradient is 0
			 * even where a padded step reaches the output (a row shorter
			 * than a filter), and it is never trained. */
			int64_t D = p->shape[1];
			for (int64_t j = 0; j < D; j++)
				bad += g[j] != 0;
			bad += check_values(&t, p->name, ck_model_param(m, i) + D, g + D, p->count - D);
			continue;
		}
		bad += check_values(&t, p->name, ck_model_param(m, i), g, p->count);
	}
	if (dx)
		bad += check_values(&t, "input", own_x ? own_x : (float *)x, dx,
		                    n * ck_model_input_size(m));
	CHECK(bad == 0, "%s: %d gradient values disagree", spec, bad);
	free(dx);
	free(grads);
	free(R);
	free(own_x);
	ck_model_free(m);
}

static void test_conv_strides_and_padding(void)
{
	gradcheck_net("conv 3 3 stride=2 pad=same relu; conv 4 3 pad=1 bias=no tanh; "
	              "conv 2 2 stride=2 pad=valid; flatten; dense 3",
	              (int64_t[]){2, 9, 8}, 3, 0, 2, NULL, NULL);
	gradcheck_net("conv 3 3x2 stride=1x2 pad=1x0 leakyrelu; conv 2 1 sigmoid; dense 2",
	              (int64_t[]){1, 5, 6}, 3, 0, 2, NULL, NULL);
}

static void test_pools(void)
{
	gradcheck_net("conv 3 3 pad=same; maxpool 2; avgpool 2 stride=1; globalavgpool; dense 2",
	              (int64_t[]){2, 8, 8}, 3, 0, 2, NULL, NULL);
	gradcheck_net("conv 4 3 relu; globalmaxpool; dense 3", (int64_t[]){2, 6, 6}, 3, 0, 3,
	              NULL, NULL);
}

static void test_dense_activations(void)
{
	gradcheck_net("dense 6 relu; dense 6 leakyrelu; dense 6 sigmoid; dense 6 tanh; "
	              "dense 5 softmax; dense 4 bias=no; dense 3 softmax",
	              (int64_t[]){5}, 1, 0, 3, NULL, NULL);
	gradcheck_net("dense 4; relu; dense 4; leakyrelu 0.2; dense 4; tanh; dense 4; sigmoid; "
	              "dense 3; softmax; dense 2; sigmoid",
	              (int64_t[]){4}, 1, 0, 3, NULL, NULL);
}

static void test_softmax_over_channels(void)
{
	gradcheck_net("conv 3 3 pad=same; softmax; conv 2 1 pad=valid softmax; flatten; dense 2",
	              (int64_t[]){2, 4, 4}, 3, 0, 2, NULL, NULL);
}

static void test_batchnorm(void)
{
	gradcheck_net("conv 4 3 pad=same bias=no; batchnorm; relu; maxpool 2; dense 5; "
	              "batchnorm; tanh; dense 3",
	              (int64_t[]){2, 6, 6}, 3, 0, 4, NULL, NULL);
	gradcheck_net("batchnorm; dense 3", (int64_t[]){4}, 1, 0, 5, NULL, NULL);
}

static void test_dropout(void)
{
	gradcheck_net("dense 8 relu; dropout 0.4; dense 6 tanh; dropout 0.2; dense 3",
	              (int64_t[]){5}, 1, 0, 4, NULL, NULL);
	gradcheck_net("conv 3 3 pad=same tanh; dropout 0.5; globalavgpool; dense 2",
	              (int64_t[]){1, 5, 5}, 3, 0, 2, NULL, NULL);
}

static void test_residual(void)
{
	gradcheck_net("conv 4 3 pad=same tanh; residual; conv 4 3 pad=same relu; "
	              "conv 4 3 pad=same; end; tanh; residual; batchnorm; end; globalavgpool; "
	              "dense 3",
	              (int64_t[]){2, 5, 5}, 3, 0, 2, NULL, NULL);
	gradcheck_net("residual; dense 4 tanh; residual; dense 4; end; end; residual; end; dense 2",
	              (int64_t[]){4}, 1, 0, 3, NULL, NULL);
}

static void test_text(void)
{
	/* ids (3,9) with lengths: padding (0) past each length. */
	int32_t ids[27] = {4, 7, 1, 9, 2, 3, 0, 0, 0,
	                   5, 5, 8, 2, 0, 0, 0, 0, 0,
	                   1, 2, 3, 4, 5, 6, 7, 8, 9};
	int32_t lengths[3] = {6, 4, 9};
	gradcheck_net("embedding 5; conv1d 4 2,3,5 relu; globalmaxpool; dropout 0.3; dense 3",
	              (int64_t[]){9}, 1, 10, 3, ids, lengths);
	gradcheck_net("embedding 4; conv1d 3 3 tanh; globalmaxpool; dense 2",
	              (int64_t[]){9}, 1, 10, 3, ids, lengths);
	gradcheck_net("embedding 4 trainable=no; conv1d 3 2 bias=no; batchnorm; globalavgpool; "
	              "dense 2", (int64_t[]){9}, 1, 10, 3, ids, NULL);
	/* An f32 sequence (T,C): input gradients through conv1d. */
	gradcheck_net("conv1d 3 2,3 sigmoid; globalmaxpool; dense 2", (int64_t[]){6, 3}, 2, 0, 2,
	              NULL, (int32_t[]){4, 6});
	gradcheck_net("conv1d 4 2 softmax; tanh; globalmaxpool; dense 2", (int64_t[]){5, 2}, 2, 0, 2,
	              NULL, NULL);
}

/* Kim's network with BCE's one output, on rows that are empty (length 0:
 * all padding) or shorter than the widest filter: pooling then sees the
 * first step only, and gradients must still agree (and be finite). */
static void test_text_short_rows(void)
{
	int32_t ids[27] = {0, 0, 0, 0, 0, 0, 0, 0, 0,
	                   6, 3, 0, 0, 0, 0, 0, 0, 0,
	                   1, 2, 3, 4, 5, 6, 7, 8, 9};
	int32_t lengths[3] = {0, 2, 9};
	gradcheck_net("embedding 5; conv1d 3 3,4,5 relu; globalmaxpool; dropout 0.5; dense 1 sigmoid",
	              (int64_t[]){9}, 1, 10, 3, ids, lengths);
	gradcheck_net("embedding 4; conv1d 3 2,5 tanh; globalmaxpool; dense 2 softmax",
	              (int64_t[]){9}, 1, 10, 3, ids, lengths);
}

int main(void)
{
	RUN(test_conv_strides_and_padding);
	RUN(test_pools);
	RUN(test_dense_activations);
	RUN(test_softmax_over_channels);
	RUN(test_batchnorm);
	RUN(test_dropout);
	RUN(test_residual);
	RUN(test_text);
	RUN(test_text_short_rows);
	return check_summary();
}
