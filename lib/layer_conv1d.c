/* layer_conv1d.c: the conv1d layer over (T,C) sequences, channels last: one
 * branch per width w, each a ck_conv1d with weight (F,w,C), bias (F) and
 * output (N,T-w+1,F). The branches' outputs lie one after the other in the
 * layer's output buffer (see model_internal.h); with several widths the
 * globalmaxpool that must follow pools each branch.
 *
 * When a globalmaxpool follows and the batch has real lengths, only the
 * outputs that pooling can pick are computed: per row, the windows that lie
 * within its real tokens (at least one, as the pooling counts them; see
 * layer_pool.c). The others are written 0 and get no gradient, since the
 * pooling never passes one to them. A relu word is fused into the kernels. */
#include "model_internal.h"

static ck_conv1d_dims branch_dims(const ck_arch_conv1d *c, int b, int n)
{
	return (ck_conv1d_dims){.N = n, .T = (int)c->t, .C = (int)c->c, .F = c->filters,
	                        .K = c->widths[b]};
}

/* params: per width in the written order, weight (F,w,C) then bias (F)
 * unless bias=no. */
static void conv1d_bind(ck_layer *L, float *const *p, float *const *g)
{
	const ck_arch_conv1d *c = &L->arch->conv1d;
	int k = 0;
	for (int b = 0; b < c->nwidths; b++) {
		L->conv1d.weight[b] = p[k];
		L->conv1d.dweight[b] = g[k++];
		L->conv1d.bias[b] = c->bias ? p[k] : NULL;
		L->conv1d.dbias[b] = c->bias ? g[k] : NULL;
		k += c->bias;
	}
}

static void conv1d_plan(ck_layer *L, ck_arena *a, int max_batch, int nthreads, size_t *ws)
{
	const ck_arch_conv1d *c = &L->arch->conv1d;
	/* Every branch needs the same: the workspace does not depend on K. */
	ck_conv1d_dims d = branch_dims(c, 0, max_batch);
	size_t need = ck_conv1d_workspace_size(&d);
	if (need > *ws)
		*ws = need;
	L->conv1d.valid = L->conv1d.pooled ? ck_arena_take(a, (size_t)max_batch * sizeof(int32_t))
	                                   : NULL;
}

static ck_nn_act fused(const ck_layer *L)
{
	return L->act.kind == CK_ARCH_ACT_RELU ? CK_NN_ACT_RELU : CK_NN_ACT_NONE;
}

/* The valid output steps (n) of branch b, or NULL for all of them. Row i
 * has lengths[i] real tokens of the model's input; each valid convolution
 * before this layer took width - 1 of them. */
static const int32_t *branch_valid(ck_layer *L, int b, const ck_pass *p)
{
	const ck_arch_conv1d *c = &L->arch->conv1d;
	if (!L->conv1d.valid || !p->lengths || p->input_len <= 0)
		return NULL;
	int64_t len = c->out_len[b], lost = p->input_len - len;
	for (int i = 0; i < p->n; i++) {
		int64_t v = (int64_t)p->lengths[i] - lost;
		L->conv1d.valid[i] = (int32_t)(v < 1 ? 1 : v > len ? len : v);
	}
	return L->conv1d.valid;
}

static void conv1d_forward(ck_layer *L, const ck_pass *p)
{
	const ck_arch_conv1d *c = &L->arch->conv1d;
	size_t at = 0;
	for (int b = 0; b < c->nwidths; b++) {
		ck_conv1d_dims d = branch_dims(c, b, p->n);
		ck_conv1d_forward(L->out + at, L->in, branch_valid(L, b, p), L->conv1d.weight[b],
		                  L->conv1d.bias[b], &d, fused(L), p->ws);
		at += (size_t)p->n * c->out_len[b] * c->filters;
	}
}

static void conv1d_backward(ck_layer *L, const float *dout, const ck_pass *p)
{
	const ck_arch_conv1d *c = &L->arch->conv1d;
	size_t at = 0;
	for (int b = 0; b < c->nwidths; b++) {
		ck_conv1d_dims d = branch_dims(c, b, p->n);
		ck_conv1d_backward(L->din, L->conv1d.dweight[b], L->conv1d.dbias[b], dout + at,
		                   L->out + at, L->in, branch_valid(L, b, p), L->conv1d.weight[b], &d,
		                   fused(L), p->ws);
		at += (size_t)p->n * c->out_len[b] * c->filters;
	}
}

static void conv1d_slice(ck_layer *L, int64_t row0, ptrdiff_t grad_shift)
{
	for (int b = 0; b < L->arch->conv1d.nwidths; b++) {
		L->conv1d.dweight[b] += grad_shift;
		if (L->conv1d.dbias[b])
			L->conv1d.dbias[b] += grad_shift;
	}
	if (L->conv1d.valid)
		L->conv1d.valid += row0;
}

const ck_layer_ops ck_layer_conv1d_ops = {
	.bind = conv1d_bind,
	.plan = conv1d_plan,
	.forward = conv1d_forward,
	.backward = conv1d_backward,
	.fuses_relu = 1,
	.per_example = 1,
	.slice = conv1d_slice,
};
