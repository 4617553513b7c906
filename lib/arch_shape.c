/* arch_shape.c: shape inference and the parameter table of a parsed spec.
 *
 * ck_arch_infer walks the layers once from the input shape. Each layer
 * checks that its input has a rank it accepts, records the geometry its
 * kernel needs, sets its output shape and appends its parameters to one
 * table in layer order (the order the model allocates and saves them). */
#include "cnnkit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHAPE(s) ck_arch_shape_str((s), (char[96]){0}, 96)

/* a*b for sizes, saturating at INT64_MAX instead of overflowing. */
static int64_t mul(int64_t a, int64_t b)
{
	if (a != 0 && b > INT64_MAX / a)
		return INT64_MAX;
	return a * b;
}

static int64_t shape_size(const ck_arch_shape *s)
{
	int64_t n = 1;
	for (int i = 0; i < s->rank; i++)
		n = mul(n, s->dim[i]);
	return n;
}

static ck_arch_shape shape1(int64_t a)
{
	return (ck_arch_shape){1, {a, 0, 0}};
}

static ck_arch_shape shape2(int64_t a, int64_t b)
{
	return (ck_arch_shape){2, {a, b, 0}};
}

static ck_arch_shape shape3(int64_t a, int64_t b, int64_t c)
{
	return (ck_arch_shape){3, {a, b, c}};
}

static int same_shape(const ck_arch_shape *x, const ck_arch_shape *y)
{
	if (x->rank != y->rank)
		return 0;
	for (int i = 0; i < x->rank; i++)
		if (x->dim[i] != y->dim[i])
			return 0;
	return 1;
}

/* Appends parameter "<layer>.<kind>.<name>" of the given shape (rank <= 4;
 * unused trailing dims are 0). The table was sized by count_params. */
static void add_param(ck_arch *a, int layer, const char *name, int rank, const int64_t *shape,
                      int trainable, int buffer)
{
	ck_arch_param *p = &a->params[a->nparams++];
	memset(p, 0, sizeof *p);
	snprintf(p->name, sizeof p->name, "%d.%s.%s", layer, ck_arch_layer_word(&a->layers[layer]),
	         name);
	p->layer = layer;
	p->rank = rank;
	p->count = 1;
	for (int i = 0; i < rank; i++) {
		p->shape[i] = shape[i];
		p->count = mul(p->count, shape[i]);
	}
	p->trainable = trainable;
	p->buffer = buffer;
}

#define ADD(a, layer, name, trainable, buffer, ...)                                    \
	add_param((a), (layer), (name), (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), \
	          (int64_t[]){__VA_ARGS__}, (trainable), (buffer))

/* The most parameter tensors the layers can create. */
static int count_params(const ck_arch *a)
{
	int n = 0;
	for (int i = 0; i < a->nlayers; i++) {
		const ck_arch_layer *l = &a->layers[i];
		switch (l->kind) {
		case CK_ARCH_CONV:
		case CK_ARCH_DENSE: n += 2; break;
		case CK_ARCH_CONV1D: n += 2 * l->conv1d.nwidths; break;
		case CK_ARCH_EMBEDDING: n += 1; break;
		case CK_ARCH_BATCHNORM: n += 4; break;
		default: break;
		}
	}
	return n;
}

/* One axis of a convolution or pool: the output size (0 if empty) and the
 * padding before and after. "same" follows TF/Keras: out = ceil(n/s), the
 * total padding max((out-1)*s + k - n, 0), the smaller half before. */
static int64_t conv_axis(int64_t n, int k, int s, ck_arch_pad_mode mode, int pad, int *before,
                         int *after)
{
	if (mode == CK_ARCH_PAD_SAME) {
		int64_t out = (n + s - 1) / s;
		int64_t total = (out - 1) * s + k - n;
		if (total < 0)
			total = 0;
		*before = (int)(total / 2);
		*after = (int)(total - total / 2);
		return out;
	}
	if (mode == CK_ARCH_PAD_VALID)
		pad = 0;
	*before = *after = pad;
	if (n + 2 * (int64_t)pad < k)
		return 0;
	return (n + 2 * (int64_t)pad - k) / s + 1;
}

static int infer_conv(ck_arch *a, int i, ck_err *err)
{
	ck_arch_layer *l = &a->layers[i];
	ck_arch_conv *c = &l->conv;
	if (l->in.rank != 3)
		return ck_arch_layer_err(err, l, i, "conv needs an image input (C,H,W), got %s",
		                         SHAPE(&l->in));
	c->c = l->in.dim[0];
	c->h = l->in.dim[1];
	c->w = l->in.dim[2];
	c->oh = conv_axis(c->h, c->kh, c->sh, c->pad_mode, c->ph, &c->pad_top, &c->pad_bottom);
	c->ow = conv_axis(c->w, c->kw, c->sw, c->pad_mode, c->pw, &c->pad_left, &c->pad_right);
	if (c->oh == 0 || c->ow == 0)
		return ck_arch_layer_err(err, l, i, "input %s is too small for kernel %dx%d with "
		                         "padding %dx%d: the output would be empty", SHAPE(&l->in),
		                         c->kh, c->kw, c->pad_top, c->pad_left);
	l->out = shape3(c->filters, c->oh, c->ow);
	ADD(a, i, "weight", 1, 0, c->filters, c->c, c->kh, c->kw);
	if (c->bias)
		ADD(a, i, "bias", 1, 0, c->filters);
	return 0;
}

static int infer_conv1d(ck_arch *a, int i, ck_err *err)
{
	ck_arch_layer *l = &a->layers[i];
	ck_arch_conv1d *c = &l->conv1d;
	if (l->in.rank != 2)
		return ck_arch_layer_err(err, l, i, "conv1d needs a sequence input (T,C), got %s",
		                         SHAPE(&l->in));
	c->t = l->in.dim[0];
	c->c = l->in.dim[1];
	for (int b = 0; b < c->nwidths; b++) {
		int w = c->widths[b];
		if (w > c->t)
			return ck_arch_layer_err(err, l, i, "width %d is longer than the sequence %s: "
			                         "the output would be empty", w, SHAPE(&l->in));
		c->out_len[b] = c->t - w + 1;
		if (mul(c->out_len[b], c->filters) > CK_ARCH_MAX_ACTIVATION)
			return ck_arch_layer_err(err, l, i, "width %d gives more than %lld values", w,
			                         (long long)CK_ARCH_MAX_ACTIVATION);
		char weight[24] = "weight", bias[24] = "bias";
		if (c->nwidths > 1) {
			snprintf(weight, sizeof weight, "weight_w%d", w);
			snprintf(bias, sizeof bias, "bias_w%d", w);
		}
		ADD(a, i, weight, 1, 0, c->filters, w, c->c);
		if (c->bias)
			ADD(a, i, bias, 1, 0, c->filters);
	}
	/* Branches of different lengths: only globalmaxpool (checked by the
	 * parser to come next) can combine them. */
	if (c->nwidths == 1)
		l->out = shape2(c->out_len[0], c->filters);
	else
		l->out = shape2(-1, (int64_t)c->nwidths * c->filters);
	return 0;
}

static int infer_pool(ck_arch *a, int i, ck_err *err)
{
	ck_arch_layer *l = &a->layers[i];
	ck_arch_pool *p = &l->pool;
	const char *word = ck_arch_layer_word(l);
	if (l->in.rank != 3)
		return ck_arch_layer_err(err, l, i, "%s needs an image input (C,H,W), got %s%s", word,
		                         SHAPE(&l->in), l->in.rank == 2 ? " (for sequences use "
		                                                          "globalmaxpool)" : "");
	int unused;
	p->c = l->in.dim[0];
	p->h = l->in.dim[1];
	p->w = l->in.dim[2];
	p->oh = conv_axis(p->h, p->kh, p->sh, CK_ARCH_PAD_VALID, 0, &unused, &unused);
	p->ow = conv_axis(p->w, p->kw, p->sw, CK_ARCH_PAD_VALID, 0, &unused, &unused);
	if (p->oh == 0 || p->ow == 0)
		return ck_arch_layer_err(err, l, i, "input %s is too small for pool %dx%d: the "
		                         "output would be empty", SHAPE(&l->in), p->kh, p->kw);
	l->out = shape3(p->c, p->oh, p->ow);
	return 0;
}

static int infer_global_pool(ck_arch *a, int i, ck_err *err)
{
	ck_arch_layer *l = &a->layers[i];
	ck_arch_global_pool *g = &l->global_pool;
	g->branches = 1;
	if (l->in.rank == 3) {
		g->channels = l->in.dim[0];
		g->positions = mul(l->in.dim[1], l->in.dim[2]);
		g->channels_last = 0;
	} else if (l->in.rank == 2 && l->in.dim[0] < 0) {
		/* After a conv1d with several widths: pool each branch. */
		const ck_arch_conv1d *c = i > 0 ? &a->layers[i - 1].conv1d : NULL;
		if (!c || a->layers[i - 1].kind != CK_ARCH_CONV1D)
			return ck_arch_layer_err(err, l, i, "input %s has no known length",
			                         SHAPE(&l->in));
		g->branches = c->nwidths;
		g->channels = c->filters;
		g->positions = c->out_len[0];
		g->channels_last = 1;
	} else if (l->in.rank == 2) {
		g->channels = l->in.dim[1];
		g->positions = l->in.dim[0];
		g->channels_last = 1;
	} else {
		return ck_arch_layer_err(err, l, i, "%s needs an image (C,H,W) or a sequence (T,C), "
		                         "got %s", ck_arch_layer_word(l), SHAPE(&l->in));
	}
	l->out = shape1((int64_t)g->branches * g->channels);
	return 0;
}

static int infer_dense(ck_arch *a, int i, ck_err *err)
{
	ck_arch_layer *l = &a->layers[i];
	ck_arch_dense *d = &l->dense;
	d->in = shape_size(&l->in); /* anything not flat is flattened first */
	l->out = shape1(d->units);
	ADD(a, i, "weight", 1, 0, d->units, d->in);
	if (d->bias)
		ADD(a, i, "bias", 1, 0, d->units);
	return 0;
}

static int infer_embedding(ck_arch *a, int i, ck_err *err)
{
	ck_arch_layer *l = &a->layers[i];
	ck_arch_embedding *e = &l->embedding;
	if (i != 0)
		return ck_arch_layer_err(err, l, i, "embedding must be the first layer (its input is "
		                         "token ids)");
	if (a->vocab_size == 0 || l->in.rank != 1)
		return ck_arch_layer_err(err, l, i, "embedding needs token ids (T) from a dataset "
		                         "with a vocabulary, got %s", SHAPE(&l->in));
	e->vocab = a->vocab_size;
	e->t = l->in.dim[0];
	l->out = shape2(e->t, e->dim);
	ADD(a, i, "weight", e->trainable, 0, e->vocab, e->dim);
	return 0;
}

static int infer_batchnorm(ck_arch *a, int i, ck_err *err)
{
	ck_arch_layer *l = &a->layers[i];
	ck_arch_batchnorm *b = &l->batchnorm;
	const ck_arch_shape *in = &l->in;
	if (in->rank == 3) {
		b->channels = in->dim[0];
		b->positions = mul(in->dim[1], in->dim[2]);
		b->channels_last = 0;
	} else if (in->rank == 2) {
		b->channels = in->dim[1];
		b->positions = in->dim[0];
		b->channels_last = 1;
	} else {
		b->channels = in->dim[0];
		b->positions = 1;
		b->channels_last = 0;
	}
	l->out = *in;
	ADD(a, i, "weight", 1, 0, b->channels);
	ADD(a, i, "bias", 1, 0, b->channels);
	ADD(a, i, "running_mean", 0, 1, b->channels);
	ADD(a, i, "running_var", 0, 1, b->channels);
	return 0;
}

static int infer_layer(ck_arch *a, int i, ck_err *err)
{
	ck_arch_layer *l = &a->layers[i];
	if (i == 0 && a->vocab_size > 0 && l->kind != CK_ARCH_EMBEDDING)
		return ck_arch_layer_err(err, l, i, "the input %s is token ids: the first layer must "
		                         "be embedding", SHAPE(&l->in));
	if (l->in.rank == 2 && l->in.dim[0] < 0 && l->kind != CK_ARCH_GLOBALMAXPOOL)
		return ck_arch_layer_err(err, l, i, "a conv1d with several widths must be followed "
		                         "by globalmaxpool");
	switch (l->kind) {
	case CK_ARCH_CONV: return infer_conv(a, i, err);
	case CK_ARCH_CONV1D: return infer_conv1d(a, i, err);
	case CK_ARCH_MAXPOOL:
	case CK_ARCH_AVGPOOL: return infer_pool(a, i, err);
	case CK_ARCH_GLOBALMAXPOOL:
	case CK_ARCH_GLOBALAVGPOOL: return infer_global_pool(a, i, err);
	case CK_ARCH_FLATTEN:
		l->flatten.size = shape_size(&l->in);
		l->out = shape1(l->flatten.size);
		return 0;
	case CK_ARCH_DENSE: return infer_dense(a, i, err);
	case CK_ARCH_EMBEDDING: return infer_embedding(a, i, err);
	case CK_ARCH_BATCHNORM: return infer_batchnorm(a, i, err);
	case CK_ARCH_DROPOUT:
	case CK_ARCH_ACTIVATION:
	case CK_ARCH_RESIDUAL:
		l->out = l->in;
		return 0;
	case CK_ARCH_END: {
		const ck_arch_shape *start = &a->layers[l->block.match].in;
		if (!same_shape(start, &l->in))
			return ck_arch_layer_err(err, l, i, "residual add needs equal shapes: block "
			                         "input %s (layer %d), block output %s", SHAPE(start),
			                         l->block.match + 1, SHAPE(&l->in));
		l->out = l->in;
		return 0;
	}
	}
	return ck_arch_layer_err(err, l, i, "unknown layer kind %d", (int)l->kind);
}

int ck_arch_infer(ck_arch *a, const int64_t *input_shape, int input_rank, int64_t vocab_size,
                  ck_err *err)
{
	free(a->params);
	a->params = NULL;
	a->nparams = 0;
	a->inferred = 0;
	a->total_params = a->trainable_params = 0;

	if (input_rank < 1 || input_rank > 3)
		return ck_err_set(err, "input rank %d: expected (C,H,W), (T,C), (F) or (T)",
		                  input_rank);
	ck_arch_shape in = {input_rank, {0, 0, 0}};
	for (int d = 0; d < input_rank; d++) {
		if (input_shape[d] < 1 || input_shape[d] > CK_ARCH_MAX_INPUT)
			return ck_err_set(err, "input dimension %d is %lld: expected 1 to %d", d + 1,
			                  (long long)input_shape[d], CK_ARCH_MAX_INPUT);
		in.dim[d] = input_shape[d];
	}
	if (shape_size(&in) > CK_ARCH_MAX_ACTIVATION)
		return ck_err_set(err, "input %s has more than %lld values", SHAPE(&in),
		                  (long long)CK_ARCH_MAX_ACTIVATION);
	if (vocab_size < 0 || vocab_size > INT32_MAX)
		return ck_err_set(err, "vocabulary size %lld: expected 0 to %d", (long long)vocab_size,
		                  INT32_MAX);
	if (vocab_size > 0 && input_rank != 1)
		return ck_err_set(err, "token ids must have shape (T), got %s", SHAPE(&in));
	a->input = in;
	a->vocab_size = vocab_size;

	int cap = count_params(a);
	if (cap > 0) {
		a->params = calloc((size_t)cap, sizeof *a->params);
		if (!a->params)
			return ck_err_set(err, "out of memory");
	}
	for (int i = 0; i < a->nlayers; i++) {
		ck_arch_layer *l = &a->layers[i];
		l->in = in;
		l->first_param = a->nparams;
		if (infer_layer(a, i, err) < 0)
			goto fail;
		l->nparams = a->nparams - l->first_param;
		l->param_count = 0;
		for (int p = l->first_param; p < a->nparams; p++) {
			const ck_arch_param *prm = &a->params[p];
			l->param_count += prm->count;
			a->total_params += prm->count;
			if (prm->trainable)
				a->trainable_params += prm->count;
			if (prm->count > CK_ARCH_MAX_PARAMS || a->total_params > CK_ARCH_MAX_PARAMS) {
				ck_arch_layer_err(err, l, i, "too many parameters: more than %lld (2^31) "
				                  "with this layer", (long long)CK_ARCH_MAX_PARAMS);
				goto fail;
			}
		}
		/* (-1,F) after a conv1d with several widths: checked per branch. */
		if (l->out.dim[0] >= 0 && shape_size(&l->out) > CK_ARCH_MAX_ACTIVATION) {
			ck_arch_layer_err(err, l, i, "output %s has more than %lld values",
			                  SHAPE(&l->out), (long long)CK_ARCH_MAX_ACTIVATION);
			goto fail;
		}
		in = l->out;
	}
	a->inferred = 1;
	return 0;
fail:
	free(a->params);
	a->params = NULL;
	a->nparams = 0;
	a->total_params = a->trainable_params = 0;
	return -1;
}
