/* layer_norm.c: the batchnorm layer, per channel over the batch and the
 * positions. The kernels see (N,C,S): an image (C,H,W) is (N,C,H*W), features
 * (F) are (N,F,1), and a sequence (T,C), channels last, is (N*T,C,1). */
#include "model_internal.h"

typedef struct bn_view {
	int N, C, S;
} bn_view;

static bn_view bn_dims(const ck_arch_batchnorm *b, int n)
{
	if (b->channels_last)
		return (bn_view){n * (int)b->positions, (int)b->channels, 1};
	return (bn_view){n, (int)b->channels, (int)b->positions};
}

/* params: weight, bias, running_mean, running_var, all (C). */
static void bn_bind(ck_layer *L, float *const *p, float *const *g)
{
	L->bn.weight = p[0];
	L->bn.bias = p[1];
	L->bn.running_mean = p[2];
	L->bn.running_var = p[3];
	L->bn.dweight = g[0];
	L->bn.dbias = g[1];
}

static void bn_plan(ck_layer *L, ck_arena *a, int max_batch, int nthreads, size_t *ws)
{
	size_t c = (size_t)L->arch->batchnorm.channels;
	L->bn.mean = ck_arena_take(a, c * sizeof(float));
	L->bn.rstd = ck_arena_take(a, c * sizeof(float));
}

static void bn_forward(ck_layer *L, const ck_pass *p)
{
	const ck_arch_batchnorm *b = &L->arch->batchnorm;
	bn_view v = bn_dims(b, p->n);
	if (p->training)
		ck_batchnorm_forward_train(L->out, L->bn.mean, L->bn.rstd, L->bn.running_mean,
		                           L->bn.running_var, L->in, L->bn.weight, L->bn.bias, v.N,
		                           v.C, v.S, (float)b->momentum, (float)b->eps);
	else
		ck_batchnorm_forward_infer(L->out, L->in, L->bn.weight, L->bn.bias, L->bn.running_mean,
		                           L->bn.running_var, v.N, v.C, v.S, (float)b->eps);
}

static void bn_backward(ck_layer *L, const float *dout, const ck_pass *p)
{
	bn_view v = bn_dims(&L->arch->batchnorm, p->n);
	ck_batchnorm_backward(L->din, L->bn.dweight, L->bn.dbias, dout, L->in, L->bn.weight,
	                      L->bn.mean, L->bn.rstd, v.N, v.C, v.S);
}

const ck_layer_ops ck_layer_batchnorm_ops = {
	.bind = bn_bind,
	.plan = bn_plan,
	.forward = bn_forward,
	.backward = bn_backward,
};
