/* layer_conv.c: the conv layer, 2-D convolution of (C,H,W) images through
 * ck_conv2d with the geometry ck_arch_infer computed (TF "same" padding may
 * put one more row or column at the bottom or right: the kernel infers it
 * from OH, OW). */
#include "model_internal.h"

static ck_conv2d_dims conv_dims(const ck_arch_conv *c, int n)
{
	return (ck_conv2d_dims){
		.N = n, .C = (int)c->c, .H = (int)c->h, .W = (int)c->w,
		.OC = c->filters, .KH = c->kh, .KW = c->kw,
		.SH = c->sh, .SW = c->sw, .PH = c->pad_top, .PW = c->pad_left,
		.OH = (int)c->oh, .OW = (int)c->ow,
	};
}

/* params: weight (F,C,KH,KW), then bias (F) unless bias=no. */
static void conv_bind(ck_layer *L, float *const *p, float *const *g)
{
	L->conv.weight = p[0];
	L->conv.dweight = g[0];
	L->conv.bias = L->arch->conv.bias ? p[1] : NULL;
	L->conv.dbias = L->arch->conv.bias ? g[1] : NULL;
}

static void conv_plan(ck_layer *L, ck_arena *a, int max_batch, int nthreads, size_t *ws)
{
	ck_conv2d_dims d = conv_dims(&L->arch->conv, max_batch);
	size_t need = ck_conv2d_workspace_size(&d, nthreads);
	if (need > *ws)
		*ws = need;
}

/* A relu word is fused into the kernels (see fuses_relu in model_internal.h). */
static ck_nn_act fused(const ck_layer *L)
{
	return L->act.kind == CK_ARCH_ACT_RELU ? CK_NN_ACT_RELU : CK_NN_ACT_NONE;
}

static void conv_forward(ck_layer *L, const ck_pass *p)
{
	ck_conv2d_dims d = conv_dims(&L->arch->conv, p->n);
	ck_conv2d_forward_act(L->out, L->in, L->conv.weight, L->conv.bias, &d, fused(L), p->ws,
	                      p->nthreads);
}

static void conv_backward(ck_layer *L, const float *dout, const ck_pass *p)
{
	ck_conv2d_dims d = conv_dims(&L->arch->conv, p->n);
	ck_conv2d_backward_act(L->din, L->conv.dweight, L->conv.dbias, dout, L->out, L->in,
	                       L->conv.weight, &d, fused(L), p->ws, p->nthreads);
}

static void conv_slice(ck_layer *L, int64_t row0, ptrdiff_t grad_shift)
{
	L->conv.dweight += grad_shift;
	if (L->conv.dbias)
		L->conv.dbias += grad_shift;
}

const ck_layer_ops ck_layer_conv_ops = {
	.bind = conv_bind,
	.plan = conv_plan,
	.forward = conv_forward,
	.backward = conv_backward,
	.fuses_relu = 1,
	.per_example = 1,
	.slice = conv_slice,
};
