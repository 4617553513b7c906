/* layer_dense.c: the dense layer, out (N,UNITS) = inp (N,IN) x weight^T + bias,
 * whatever the input's shape (a row-major (C,H,W) or (T,C) is already flat). */
#include "model_internal.h"

static ck_dense_dims dense_dims(const ck_arch_dense *dn, int n)
{
	return (ck_dense_dims){.N = n, .IN = (int)dn->in, .OUT = dn->units};
}

/* params: weight (UNITS,IN), then bias (UNITS) unless bias=no. */
static void dense_bind(ck_layer *L, float *const *p, float *const *g)
{
	L->dense.weight = p[0];
	L->dense.dweight = g[0];
	L->dense.bias = L->arch->dense.bias ? p[1] : NULL;
	L->dense.dbias = L->arch->dense.bias ? g[1] : NULL;
}

static void dense_forward(ck_layer *L, const ck_pass *p)
{
	ck_dense_dims d = dense_dims(&L->arch->dense, p->n);
	ck_dense_forward(L->out, L->in, L->dense.weight, L->dense.bias, &d);
}

static void dense_backward(ck_layer *L, const float *dout, const ck_pass *p)
{
	ck_dense_dims d = dense_dims(&L->arch->dense, p->n);
	ck_dense_backward(L->din, L->dense.dweight, L->dense.dbias, dout, L->in, L->dense.weight, &d);
}

static void dense_slice(ck_layer *L, int64_t row0, ptrdiff_t grad_shift)
{
	L->dense.dweight += grad_shift;
	if (L->dense.dbias)
		L->dense.dbias += grad_shift;
}

const ck_layer_ops ck_layer_dense_ops = {
	.bind = dense_bind,
	.forward = dense_forward,
	.backward = dense_backward,
	.per_example = 1,
	.slice = dense_slice,
};
