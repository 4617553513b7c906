/* layer_pool.c: maxpool and avgpool over (C,H,W) windows, and globalmaxpool,
 * globalavgpool over the positions of (C,H,W) or the time steps of (T,C).
 *
 * Global max pooling over time skips the padding at the end of each token
 * row: with real lengths given to the forward, row n has
 *   valid = length[n] - (T_input - L)   clipped to [1, L]
 * real steps among the L of its input, each valid convolution before having
 * shortened the sequence by its width - 1. After a conv1d with several
 * widths each branch is pooled on its own and the results concatenated. */
#include <string.h>

#include "model_internal.h"

/* ---- maxpool, avgpool ------------------------------------------------------- */

static ck_pool2d_dims pool_dims(const ck_arch_pool *q, int n)
{
	return (ck_pool2d_dims){.N = n, .C = (int)q->c, .H = (int)q->h, .W = (int)q->w,
	                        .KH = q->kh, .KW = q->kw, .SH = q->sh, .SW = q->sw};
}

static void maxpool_plan(ck_layer *L, ck_arena *a, int max_batch, int nthreads, size_t *ws)
{
	L->pool.argmax = ck_arena_take(a, (size_t)max_batch * L->out_size * sizeof(int32_t));
}

static void maxpool_forward(ck_layer *L, const ck_pass *p)
{
	ck_pool2d_dims d = pool_dims(&L->arch->pool, p->n);
	ck_maxpool2d_forward(L->out, L->pool.argmax, L->in, &d);
}

static void maxpool_backward(ck_layer *L, const float *dout, const ck_pass *p)
{
	ck_pool2d_dims d = pool_dims(&L->arch->pool, p->n);
	if (L->din)
		ck_maxpool2d_backward(L->din, dout, L->pool.argmax, &d);
}

static void maxpool_slice(ck_layer *L, int64_t row0, ptrdiff_t grad_shift)
{
	L->pool.argmax += row0 * L->out_size;
}

const ck_layer_ops ck_layer_maxpool_ops = {
	.plan = maxpool_plan,
	.forward = maxpool_forward,
	.backward = maxpool_backward,
	.per_example = 1,
	.slice = maxpool_slice,
};

static void avgpool_forward(ck_layer *L, const ck_pass *p)
{
	ck_pool2d_dims d = pool_dims(&L->arch->pool, p->n);
	ck_avgpool2d_forward(L->out, L->in, &d);
}

static void avgpool_backward(ck_layer *L, const float *dout, const ck_pass *p)
{
	ck_pool2d_dims d = pool_dims(&L->arch->pool, p->n);
	if (L->din)
		ck_avgpool2d_backward(L->din, dout, &d);
}

const ck_layer_ops ck_layer_avgpool_ops = {
	.forward = avgpool_forward,
	.backward = avgpool_backward,
	.per_example = 1,
};

/* ---- globalmaxpool ------------------------------------------------------------ */

static ck_globalpool2d_dims image_dims(const ck_layer *L, int n)
{
	const ck_arch_shape *in = &L->arch->in;
	return (ck_globalpool2d_dims){.N = n, .C = (int)in->dim[0], .H = (int)in->dim[1],
	                              .W = (int)in->dim[2]};
}

/* Steps of branch b: the conv1d's output length, or the sequence's T. */
static int64_t branch_len(const ck_layer *L, int b)
{
	const ck_arch_global_pool *g = &L->arch->global_pool;
	if (g->branches > 1)
		return (L - 1)->arch->conv1d.out_len[b];
	return g->positions;
}

static void globalmax_plan(ck_layer *L, ck_arena *a, int max_batch, int nthreads, size_t *ws)
{
	const ck_arch_global_pool *g = &L->arch->global_pool;
	size_t per_branch = (size_t)max_batch * g->channels;
	L->gpool.argmax = ck_arena_take(a, per_branch * g->branches * sizeof(int32_t));
	L->gpool.valid = g->channels_last
	                 ? ck_arena_take(a, (size_t)max_batch * g->branches * sizeof(int32_t))
	                 : NULL;
	/* Branches pool into (N,F) in ws, then go to their columns of out. */
	if (g->branches > 1 && per_branch > *ws)
		*ws = per_branch;
}

/* valid (n) for branch b, or NULL when every step is real. */
static const int32_t *branch_valid(ck_layer *L, int b, const ck_pass *p)
{
	if (!p->lengths || p->input_len <= 0)
		return NULL;
	int64_t len = branch_len(L, b), lost = p->input_len - len;
	int32_t *valid = L->gpool.valid + (size_t)b * p->max_batch;
	for (int i = 0; i < p->n; i++) {
		int64_t v = (int64_t)p->lengths[i] - lost;
		valid[i] = (int32_t)(v < 1 ? 1 : v > len ? len : v);
	}
	return valid;
}

static void globalmax_forward(ck_layer *L, const ck_pass *p)
{
	const ck_arch_global_pool *g = &L->arch->global_pool;
	if (!g->channels_last) {
		ck_globalpool2d_dims d = image_dims(L, p->n);
		ck_globalmaxpool2d_forward(L->out, L->gpool.argmax, L->in, &d);
		return;
	}
	int F = (int)g->channels;
	size_t at = 0;
	for (int b = 0; b < g->branches; b++) {
		ck_globalmaxpool1d_dims d = {.N = p->n, .T = (int)branch_len(L, b), .C = F};
		int32_t *argmax = L->gpool.argmax + (size_t)b * p->max_batch * F;
		const int32_t *valid = branch_valid(L, b, p);
		if (g->branches == 1) {
			ck_globalmaxpool1d_forward(L->out, argmax, L->in + at, valid, &d);
			break;
		}
		ck_globalmaxpool1d_forward(p->ws, argmax, L->in + at, valid, &d);
		for (int i = 0; i < p->n; i++)
			memcpy(L->out + ((size_t)i * g->branches + b) * F, p->ws + (size_t)i * F,
			       (size_t)F * sizeof(float));
		at += (size_t)p->n * d.T * F;
	}
}

static void globalmax_backward(ck_layer *L, const float *dout, const ck_pass *p)
{
	const ck_arch_global_pool *g = &L->arch->global_pool;
	if (!L->din)
		return;
	if (!g->channels_last) {
		ck_globalpool2d_dims d = image_dims(L, p->n);
		ck_globalmaxpool2d_backward(L->din, dout, L->gpool.argmax, &d);
		return;
	}
	int F = (int)g->channels;
	size_t at = 0;
	for (int b = 0; b < g->branches; b++) {
		ck_globalmaxpool1d_dims d = {.N = p->n, .T = (int)branch_len(L, b), .C = F};
		const int32_t *argmax = L->gpool.argmax + (size_t)b * p->max_batch * F;
		if (g->branches == 1) {
			ck_globalmaxpool1d_backward(L->din, dout, argmax, &d);
			break;
		}
		for (int i = 0; i < p->n; i++)
			memcpy(p->ws + (size_t)i * F, dout + ((size_t)i * g->branches + b) * F,
			       (size_t)F * sizeof(float));
		ck_globalmaxpool1d_backward(L->din + at, p->ws, argmax, &d);
		at += (size_t)p->n * d.T * F;
	}
}

/* argmax and valid hold each branch's (max_batch) rows side by side. */
static void globalmax_slice(ck_layer *L, int64_t row0, ptrdiff_t grad_shift)
{
	L->gpool.argmax += row0 * L->arch->global_pool.channels;
	if (L->gpool.valid)
		L->gpool.valid += row0;
}

const ck_layer_ops ck_layer_globalmaxpool_ops = {
	.plan = globalmax_plan,
	.forward = globalmax_forward,
	.backward = globalmax_backward,
	.per_example = 1,
	.slice = globalmax_slice,
};

/* ---- globalavgpool ------------------------------------------------------------ */

/* (N,T,C) -> (N,C): the mean over all T steps (lengths are not used: the
 * padding counts, as in Keras' GlobalAveragePooling1D without a mask). */
static void avg_time_forward(float *out, const float *inp, int N, int T, int C)
{
#pragma omp parallel for schedule(static) if ((size_t)N * T * C >= 32768)
	for (int n = 0; n < N; n++)
		for (int c = 0; c < C; c++) {
			double sum = 0.0;
			for (int t = 0; t < T; t++)
				sum += inp[((size_t)n * T + t) * C + c];
			out[(size_t)n * C + c] = (float)(sum / T);
		}
}

static void avg_time_backward(float *dinp, const float *dout, int N, int T, int C)
{
	float scale = 1.0f / (float)T;
#pragma omp parallel for schedule(static) if ((size_t)N * T * C >= 32768)
	for (int n = 0; n < N; n++)
		for (int t = 0; t < T; t++)
			for (int c = 0; c < C; c++)
				dinp[((size_t)n * T + t) * C + c] += dout[(size_t)n * C + c] * scale;
}

static void globalavg_forward(ck_layer *L, const ck_pass *p)
{
	const ck_arch_global_pool *g = &L->arch->global_pool;
	if (g->channels_last) {
		avg_time_forward(L->out, L->in, p->n, (int)g->positions, (int)g->channels);
		return;
	}
	ck_globalpool2d_dims d = image_dims(L, p->n);
	ck_globalavgpool2d_forward(L->out, L->in, &d);
}

static void globalavg_backward(ck_layer *L, const float *dout, const ck_pass *p)
{
	const ck_arch_global_pool *g = &L->arch->global_pool;
	if (!L->din)
		return;
	if (g->channels_last) {
		avg_time_backward(L->din, dout, p->n, (int)g->positions, (int)g->channels);
		return;
	}
	ck_globalpool2d_dims d = image_dims(L, p->n);
	ck_globalavgpool2d_backward(L->din, dout, &d);
}

const ck_layer_ops ck_layer_globalavgpool_ops = {
	.forward = globalavg_forward,
	.backward = globalavg_backward,
	.per_example = 1,
};
