/* layer_embedding.c: the embedding layer, token ids (N,T) -> rows of its
 * table (N,T,DIM). Always the first layer: its input is the int32 ids the
 * caller passed to ck_model_forward, validated by the caller. */
#include "model_internal.h"

static ck_embedding_dims embedding_dims(const ck_arch_embedding *e, int n)
{
	return (ck_embedding_dims){.N = n, .T = (int)e->t, .V = (int)e->vocab, .D = e->dim};
}

/* params: weight (V,DIM); no gradient when trainable=no. */
static void embedding_bind(ck_layer *L, float *const *p, float *const *g)
{
	L->embedding.weight = p[0];
	L->embedding.dweight = L->arch->embedding.trainable ? g[0] : NULL;
}

static void embedding_forward(ck_layer *L, const ck_pass *p)
{
	ck_embedding_dims d = embedding_dims(&L->arch->embedding, p->n);
	ck_embedding_forward(L->out, (const int32_t *)(const void *)L->in, L->embedding.weight, &d);
}

static void embedding_backward(ck_layer *L, const float *dout, const ck_pass *p)
{
	if (!L->embedding.dweight)
		return;
	ck_embedding_dims d = embedding_dims(&L->arch->embedding, p->n);
	ck_embedding_backward(L->embedding.dweight, dout, (const int32_t *)(const void *)L->in, &d);
}

static void embedding_slice(ck_layer *L, int64_t row0, ptrdiff_t grad_shift)
{
	if (L->embedding.dweight)
		L->embedding.dweight += grad_shift;
}

const ck_layer_ops ck_layer_embedding_ops = {
	.bind = embedding_bind,
	.forward = embedding_forward,
	.backward = embedding_backward,
	.per_example = 1,
	.slice = embedding_slice,
};
