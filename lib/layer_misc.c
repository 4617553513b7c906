/* layer_misc.c: the layers without parameters that do not pool: activation
 * layers, dropout, flatten, residual ... end; and the activation helpers that
 * conv, conv1d and dense use for their fused activation word. */
#include <math.h>
#include <string.h>

#include "model_internal.h"

/* ---- activations ---------------------------------------------------------- */

void ck_act_layout(const ck_arch_shape *s, int64_t *channels, int64_t *inner)
{
	if (s->rank == 3) {
		*channels = s->dim[0];
		*inner = s->dim[1] * s->dim[2];
	} else {
		*channels = s->dim[s->rank - 1];
		*inner = 1;
	}
}

/* Softmax over the channels of (outer, channels, inner) with inner > 1: the
 * channel axis of NCHW images is strided. Same arithmetic as ck_softmax_forward. */
static void softmax_strided_forward(float *out, const float *inp, int64_t outer, int64_t channels,
                                    int64_t inner)
{
#pragma omp parallel for schedule(static) if (outer * channels * inner >= 32768)
	for (int64_t o = 0; o < outer; o++)
		for (int64_t i = 0; i < inner; i++) {
			size_t base = (size_t)o * channels * inner + i;
			const float *x = inp + base;
			float *y = out + base;
			float max = -INFINITY;
			for (int64_t c = 0; c < channels; c++)
				max = fmaxf(max, x[c * inner]);
			double sum = 0.0;
			for (int64_t c = 0; c < channels; c++) {
				y[c * inner] = expf(x[c * inner] - max);
				sum += y[c * inner];
			}
			float scale = (float)(1.0 / sum);
			for (int64_t c = 0; c < channels; c++)
				y[c * inner] *= scale;
		}
}

static void softmax_strided_backward(float *dinp, const float *dout, const float *out,
                                     int64_t outer, int64_t channels, int64_t inner)
{
#pragma omp parallel for schedule(static) if (outer * channels * inner >= 32768)
	for (int64_t o = 0; o < outer; o++)
		for (int64_t i = 0; i < inner; i++) {
			size_t base = (size_t)o * channels * inner + i;
			const float *dy = dout + base, *y = out + base;
			float *dx = dinp + base;
			double dot = 0.0;
			for (int64_t c = 0; c < channels; c++)
				dot += (double)dy[c * inner] * y[c * inner];
			float fdot = (float)dot;
			for (int64_t c = 0; c < channels; c++)
				dx[c * inner] += y[c * inner] * (dy[c * inner] - fdot);
		}
}

void ck_act_forward(const ck_arch_act *a, float *out, const float *in, int64_t outer,
                    int64_t channels, int64_t inner)
{
	size_t n = (size_t)(outer * channels * inner);
	switch (a->kind) {
	case CK_ARCH_ACT_LINEAR:
		if (out != in)
			memcpy(out, in, n * sizeof *out);
		break;
	case CK_ARCH_ACT_RELU: ck_relu_forward(out, in, n); break;
	case CK_ARCH_ACT_LEAKYRELU: ck_leaky_relu_forward(out, in, n, (float)a->alpha); break;
	case CK_ARCH_ACT_SIGMOID: ck_sigmoid_forward(out, in, n); break;
	case CK_ARCH_ACT_TANH: ck_tanh_forward(out, in, n); break;
	case CK_ARCH_ACT_SOFTMAX:
		if (inner == 1)
			ck_softmax_forward(out, in, (int)outer, (int)channels);
		else
			softmax_strided_forward(out, in, outer, channels, inner);
		break;
	}
}

void ck_act_backward(const ck_arch_act *a, float *dinp, const float *dout, const float *out,
                     int64_t outer, int64_t channels, int64_t inner)
{
	size_t n = (size_t)(outer * channels * inner);
	switch (a->kind) {
	case CK_ARCH_ACT_LINEAR: ck_add_backward(dinp, NULL, dout, n); break;
	case CK_ARCH_ACT_RELU: ck_relu_backward(dinp, dout, out, n); break;
	case CK_ARCH_ACT_LEAKYRELU:
		ck_leaky_relu_backward(dinp, dout, out, n, (float)a->alpha);
		break;
	case CK_ARCH_ACT_SIGMOID: ck_sigmoid_backward(dinp, dout, out, n); break;
	case CK_ARCH_ACT_TANH: ck_tanh_backward(dinp, dout, out, n); break;
	case CK_ARCH_ACT_SOFTMAX:
		if (inner == 1)
			ck_softmax_backward(dinp, dout, out, (int)outer, (int)channels);
		else
			softmax_strided_backward(dinp, dout, out, outer, channels, inner);
		break;
	}
}

void ck_layer_act_forward(ck_layer *L, int n)
{
	if (L->act.kind == CK_ARCH_ACT_LINEAR)
		return;
	int64_t outer = (int64_t)n * L->out_size / (L->act_channels * L->act_inner);
	ck_act_forward(&L->act, L->out, L->out, outer, L->act_channels, L->act_inner);
}

/* ---- activation layers ------------------------------------------------------ */

/* relu, sigmoid, ... as layers of their own (the final softmax or sigmoid
 * of a model is not run by forward: see ck_model_final_act). They use the
 * layout in act_channels, act_inner but leave L->act LINEAR: nothing fused. */
static void activation_forward(ck_layer *L, const ck_pass *p)
{
	int64_t outer = (int64_t)p->n * L->out_size / (L->act_channels * L->act_inner);
	ck_act_forward(&L->arch->act, L->out, L->in, outer, L->act_channels, L->act_inner);
}

static void activation_backward(ck_layer *L, const float *dout, const ck_pass *p)
{
	int64_t outer = (int64_t)p->n * L->out_size / (L->act_channels * L->act_inner);
	if (L->din)
		ck_act_backward(&L->arch->act, L->din, dout, L->out, outer, L->act_channels,
		                L->act_inner);
}

const ck_layer_ops ck_layer_activation_ops = {
	.forward = activation_forward,
	.backward = activation_backward,
	.per_example = 1,
};

/* ---- dropout ---------------------------------------------------------------- */

static void dropout_plan(ck_layer *L, ck_arena *a, int max_batch, int nthreads, size_t *ws)
{
	L->dropout.mask = ck_arena_take(a, (size_t)max_batch * L->out_size * sizeof(float));
}

/* The mask of layer i in a step depends on (step seed, i) and the position
 * in the batch only: the same for any thread count. At inference the layer
 * is the identity and its output a view of its input. */
static void dropout_forward(ck_layer *L, const ck_pass *p)
{
	if (!p->training) {
		L->out = (float *)L->in;
		return;
	}
	L->out = L->out_buf;
	ck_dropout_forward(L->out, L->dropout.mask, L->in, (size_t)p->n * L->out_size,
	                   (float)L->arch->dropout.p, ck_hash_u64(p->seed, (uint64_t)L->index),
	                   (uint64_t)(p->row0 * L->out_size));
}

static void dropout_backward(ck_layer *L, const float *dout, const ck_pass *p)
{
	if (L->din)
		ck_dropout_backward(L->din, dout, L->dropout.mask, (size_t)p->n * L->out_size);
}

static void dropout_slice(ck_layer *L, int64_t row0, ptrdiff_t grad_shift)
{
	L->dropout.mask += row0 * L->out_size;
}

const ck_layer_ops ck_layer_dropout_ops = {
	.plan = dropout_plan,
	.forward = dropout_forward,
	.backward = dropout_backward,
	.per_example = 1,
	.slice = dropout_slice,
};

/* ---- flatten, residual, end --------------------------------------------------- */

/* flatten and residual are views: out is in, dout is din, so neither has any
 * work to do. The gradient of a residual block's input is then the sum of
 * what the first layer of the block and the end's skip path add into it. */
const ck_layer_ops ck_layer_flatten_ops = {.view = 1, .per_example = 1};
const ck_layer_ops ck_layer_residual_ops = {.view = 1};

/* end: out = f(x) + x with x the block's input (the residual layer's view). */
static void end_forward(ck_layer *L, const ck_pass *p)
{
	ck_add_forward(L->out, L->in, L->end.start->out, (size_t)p->n * L->out_size);
}

static void end_backward(ck_layer *L, const float *dout, const ck_pass *p)
{
	size_t n = (size_t)p->n * L->out_size;
	/* An empty block (residual; end) has din == dskip: add twice, in turn. */
	ck_add_backward(L->din, NULL, dout, n);
	ck_add_backward(L->end.start->dout, NULL, dout, n);
}

const ck_layer_ops ck_layer_end_ops = {
	.forward = end_forward,
	.backward = end_backward,
};
