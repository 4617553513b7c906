/* layer_conv1d.c: the conv1d layer over (T,C) sequences, channels last: one
 * branch per width w, each a ck_conv1d with weight (F,w,C), bias (F) and
 * output (N,T-w+1,F). The branches' outputs lie one after the other in the
 * layer's output buffer (see model_internal.h); with several widths the
 * globalmaxpool that must follow pools each branch. */
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

static void conv1d_forward(ck_layer *L, const ck_pass *p)
{
	const ck_arch_conv1d *c = &L->arch->conv1d;
	size_t at = 0;
	for (int b = 0; b < c->nwidths; b++) {
		ck_conv1d_dims d = branch_dims(c, b, p->n);
		ck_conv1d_forward(L->out + at, L->in, L->conv1d.weight[b], L->conv1d.bias[b], &d);
		at += (size_t)p->n * c->out_len[b] * c->filters;
	}
}

static void conv1d_backward(ck_layer *L, const float *dout, const ck_pass *p)
{
	const ck_arch_conv1d *c = &L->arch->conv1d;
	size_t at = 0;
	for (int b = 0; b < c->nwidths; b++) {
		ck_conv1d_dims d = branch_dims(c, b, p->n);
		ck_conv1d_backward(L->din, L->conv1d.dweight[b], L->conv1d.dbias[b], dout + at, L->in,
		                   L->conv1d.weight[b], &d);
		at += (size_t)p->n * c->out_len[b] * c->filters;
	}
}

const ck_layer_ops ck_layer_conv1d_ops = {
	.bind = conv1d_bind,
	.forward = conv1d_forward,
	.backward = conv1d_backward,
};
