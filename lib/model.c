/* model.c: a network built from an architecture: parameters in one block
 * carved by the arch's parameter table, buffers planned once per batch size,
 * forward and backward over the layers (the kinds live in lib/layer_*.c).
 *
 * Threads. When every layer treats the examples of a batch independently
 * (conv, dense, pooling, activations, dropout, flatten, embedding, text
 * pooling: ops->per_example) and there are several threads, the passes are
 * data-parallel up to the head (split_layers): one parallel region in
 * which the batch is dealt in pieces, contiguous runs of rows fixed by the
 * batch size and the thread count, large ones first (deal_pieces). A
 * thread takes the next piece when it comes free and runs every split
 * layer on it, single-threaded, through its own copy of the layers
 * (ops->slice moves their saved buffers to the piece's rows) and its own
 * workspace; in backward, each piece adds into its own block of parameter
 * gradients, and after one barrier the blocks are added to the model's in
 * piece order. So the bits depend on the thread count only, not on which
 * thread took which piece, and a thread that runs slower (a vCPU that
 * takes the interrupts, or that the host lends out) takes fewer pieces
 * instead of holding the others at the barrier. The head, from the first
 * large dense layer on, runs layer by layer over the whole batch, each
 * kernel threading itself: the dense weights are packed once, not once a
 * piece, and their gradient needs no blocks. Other models (batchnorm,
 * residual blocks) run layer by layer throughout. */
#include <assert.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "model_internal.h"

struct ck_model {
	ck_arch arch;
	ck_model_input input_kind;
	int64_t input_size, output_size;

	float *params, *grads; /* arch.total_params floats each */
	size_t *param_off;     /* (arch.nparams): where each parameter starts */

	ck_layer *layers;      /* (arch.nlayers) */
	int nrun;              /* layers run by forward: all but a final softmax/sigmoid layer */
	ck_arch_act final_act; /* applied by predict only */
	int64_t act_channels, act_inner; /* its layout over the output */

	/* Planned by ck_model_plan. */
	int max_batch, nthreads;
	int want_input_grad;
	void *arena;   /* every activation, gradient and saved buffer */
	int nsplit;    /* layers 0..nsplit-1 run data-parallel (see the top of
	                * this file); 0: every layer runs layer by layer */
	int pieces;    /* the most pieces a split pass deals a batch in */
	int *bounds;   /* (pieces + 1): where the pieces of the current pass start */
	double *split_time; /* (nlayers): thread 0's seconds in each split layer
	                     * this pass, kept apart from the layers, which the
	                     * threads copy meanwhile */
	size_t piece_floats; /* gradient floats of the split layers: a prefix of grads */
	ck_layer *tlayers; /* (nthreads + 1, nlayers): each thread's copy of the
	                    * layers, the first nsplit used, then piece 0's */
	float *pgrads; /* (pieces - 1, piece_floats): pieces 1.. gradient blocks */
	size_t ws_thread; /* floats of ws per thread when split */
	float *dx;     /* (max_batch, input size) input gradient, or NULL */
	float *ws;     /* kernel workspace */
	float *scratch;
	int64_t scratch_row; /* floats per row of scratch (see ck_pass) */
	float *probs;  /* (max_batch, K): predict's output */

	/* The last forward, for backward. */
	int last_n, last_training;
	const int32_t *last_lengths;
};

void *ck_arena_take(ck_arena *a, size_t bytes)
{
	size_t at = a->used;
	a->used += (bytes + 63) & ~(size_t)63;
	return a->base ? a->base + at : NULL;
}

static const ck_layer_ops *ops_for(ck_arch_kind kind)
{
	switch (kind) {
	case CK_ARCH_CONV: return &ck_layer_conv_ops;
	case CK_ARCH_CONV1D: return &ck_layer_conv1d_ops;
	case CK_ARCH_MAXPOOL: return &ck_layer_maxpool_ops;
	case CK_ARCH_AVGPOOL: return &ck_layer_avgpool_ops;
	case CK_ARCH_GLOBALMAXPOOL: return &ck_layer_globalmaxpool_ops;
	case CK_ARCH_GLOBALAVGPOOL: return &ck_layer_globalavgpool_ops;
	case CK_ARCH_FLATTEN: return &ck_layer_flatten_ops;
	case CK_ARCH_DENSE: return &ck_layer_dense_ops;
	case CK_ARCH_EMBEDDING: return &ck_layer_embedding_ops;
	case CK_ARCH_BATCHNORM: return &ck_layer_batchnorm_ops;
	case CK_ARCH_DROPOUT: return &ck_layer_dropout_ops;
	case CK_ARCH_ACTIVATION: return &ck_layer_activation_ops;
	case CK_ARCH_RESIDUAL: return &ck_layer_residual_ops;
	case CK_ARCH_END: return &ck_layer_end_ops;
	}
	return NULL;
}

static double now(void)
{
#ifdef _OPENMP
	return omp_get_wtime();
#else
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
#endif
}

static int64_t shape_size(const ck_arch_shape *s)
{
	int64_t n = 1;
	for (int i = 0; i < s->rank; i++)
		n *= s->dim[i];
	return n;
}

/* Floats per example of a layer's output; a conv1d with several widths
 * holds all its branches. */
static int64_t out_size(const ck_arch_layer *l)
{
	if (l->kind == CK_ARCH_CONV1D) {
		int64_t steps = 0;
		for (int b = 0; b < l->conv1d.nwidths; b++)
			steps += l->conv1d.out_len[b];
		return steps * l->conv1d.filters;
	}
	return shape_size(&l->out);
}

static ck_arch_act fused_act(const ck_arch_layer *l)
{
	switch (l->kind) {
	case CK_ARCH_CONV: return l->conv.act;
	case CK_ARCH_CONV1D: return l->conv1d.act;
	case CK_ARCH_DENSE: return l->dense.act;
	default: return (ck_arch_act){CK_ARCH_ACT_LINEAR, 0};
	}
}

static int is_final_act(ck_arch_act_kind k)
{
	return k == CK_ARCH_ACT_SOFTMAX || k == CK_ARCH_ACT_SIGMOID;
}

static void setup_layers(ck_model *m)
{
	const ck_arch *a = &m->arch;
	float *p[2 * CK_ARCH_MAX_WIDTHS + 4], *g[2 * CK_ARCH_MAX_WIDTHS + 4];
	for (int i = 0; i < a->nlayers; i++) {
		ck_layer *L = &m->layers[i];
		const ck_arch_layer *l = &a->layers[i];
		L->ops = ops_for(l->kind);
		L->arch = l;
		L->index = i;
		L->in_size = i ? m->layers[i - 1].out_size : m->input_size;
		L->out_size = out_size(l);
		L->act = fused_act(l);
		ck_act_layout(&l->out, &L->act_channels, &L->act_inner);
		if (l->kind == CK_ARCH_CONV1D) { /* rows of F across the branches */
			L->act_channels = l->conv1d.filters;
			L->act_inner = 1;
		}
		if (l->kind == CK_ARCH_END)
			L->end.start = &m->layers[l->block.match];
		if (l->kind == CK_ARCH_CONV1D)
			L->conv1d.pooled = i + 1 < a->nlayers &&
			                   a->layers[i + 1].kind == CK_ARCH_GLOBALMAXPOOL;
		for (int k = 0; k < l->nparams; k++) {
			p[k] = m->params + m->param_off[l->first_param + k];
			g[k] = m->grads + m->param_off[l->first_param + k];
		}
		if (L->ops->bind)
			L->ops->bind(L, p, g);
	}

	/* The final softmax or sigmoid: a layer of its own is not run, a word on
	 * the last layer is not applied; predict applies either. */
	m->nrun = a->nlayers;
	m->final_act = (ck_arch_act){CK_ARCH_ACT_LINEAR, 0};
	const ck_arch_layer *last = &a->layers[a->nlayers - 1];
	ck_layer *Llast = &m->layers[a->nlayers - 1];
	if (last->kind == CK_ARCH_ACTIVATION && is_final_act(last->act.kind)) {
		m->final_act = last->act;
		m->nrun = a->nlayers - 1;
	} else if (is_final_act(Llast->act.kind)) {
		m->final_act = Llast->act;
		Llast->act = (ck_arch_act){CK_ARCH_ACT_LINEAR, 0};
	}
	m->act_channels = Llast->act_channels;
	m->act_inner = Llast->act_inner;
}

ck_model *ck_model_create(const char *arch, const int64_t *input_shape, int input_rank,
                          int64_t vocab_size, ck_err *err)
{
	ck_model *m = calloc(1, sizeof *m);
	if (!m) {
		ck_err_set(err, "out of memory");
		return NULL;
	}
	if (ck_arch_parse(arch, &m->arch, err) < 0 ||
	    ck_arch_infer(&m->arch, input_shape, input_rank, vocab_size, err) < 0)
		goto fail;
	if (m->arch.nlayers == 0) {
		ck_err_set(err, "the architecture has no layers");
		goto fail;
	}
	const ck_arch *a = &m->arch;
	m->input_kind = vocab_size > 0 ? CK_INPUT_TOKENS : CK_INPUT_F32;
	m->input_size = shape_size(&a->input);
	m->output_size = shape_size(&a->layers[a->nlayers - 1].out);

	size_t total = (size_t)a->total_params;
	m->params = calloc(total ? total : 1, sizeof(float));
	m->grads = calloc(total ? total : 1, sizeof(float));
	m->param_off = calloc((size_t)a->nparams + 1, sizeof(size_t));
	m->layers = calloc((size_t)a->nlayers, sizeof *m->layers);
	if (!m->params || !m->grads || !m->param_off || !m->layers) {
		ck_err_set(err, "out of memory for %lld parameters", (long long)a->total_params);
		goto fail;
	}
	size_t off = 0;
	for (int i = 0; i < a->nparams; i++) {
		m->param_off[i] = off;
		off += (size_t)a->params[i].count;
	}
	setup_layers(m);
	m->nthreads = 1;
	return m;
fail:
	ck_model_free(m);
	return NULL;
}

void ck_model_free(ck_model *m)
{
	if (!m)
		return;
	ck_arch_free(&m->arch);
	free(m->params);
	free(m->grads);
	free(m->param_off);
	free(m->layers);
	free(m->arena);
	free(m->tlayers);
	free(m->bounds);
	free(m->split_time);
	free(m);
}

const ck_arch *ck_model_arch(const ck_model *m)
{
	return &m->arch;
}

ck_model_input ck_model_input_kind(const ck_model *m)
{
	return m->input_kind;
}

int64_t ck_model_input_size(const ck_model *m)
{
	return m->input_size;
}

int64_t ck_model_output_size(const ck_model *m)
{
	return m->output_size;
}

ck_arch_act_kind ck_model_final_act(const ck_model *m)
{
	return m->final_act.kind;
}

/* ---- parameters ----------------------------------------------------------------- */

/* Weight and bias of conv, conv1d and dense as PyTorch's reset_parameters:
 * both U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = the weight's size per
 * output unit. */
void ck_model_init(ck_model *m, uint64_t seed)
{
	const ck_arch *a = &m->arch;
	ck_rng rng;
	ck_rng_seed(&rng, seed);
	for (int i = 0; i < a->nparams; i++) {
		const ck_arch_param *prm = &a->params[i];
		const ck_arch_layer *l = &a->layers[prm->layer];
		float *w = m->params + m->param_off[i];
		size_t n = (size_t)prm->count;
		int k = i - l->first_param; /* which of the layer's parameters */
		switch (l->kind) {
		case CK_ARCH_CONV:
			ck_init_torch_default(w, n, l->conv.c * l->conv.kh * l->conv.kw, &rng);
			break;
		case CK_ARCH_CONV1D: {
			int b = l->conv1d.bias ? k / 2 : k; /* the branch */
			ck_init_torch_default(w, n, l->conv1d.widths[b] * l->conv1d.c, &rng);
			break;
		}
		case CK_ARCH_DENSE: ck_init_torch_default(w, n, l->dense.in, &rng); break;
		case CK_ARCH_EMBEDDING:
			ck_init_normal(w, n, 1.0f, &rng);
			memset(w, 0, (size_t)l->embedding.dim * sizeof *w); /* padding row 0 */
			break;
		case CK_ARCH_BATCHNORM: {
			/* weight 1, bias 0, running_mean 0, running_var 1 */
			float v = (k == 0 || k == 3) ? 1.0f : 0.0f;
			for (size_t j = 0; j < n; j++)
				w[j] = v;
			break;
		}
		default: break;
		}
	}
}

float *ck_model_params(ck_model *m, size_t *count)
{
	if (count)
		*count = (size_t)m->arch.total_params;
	return m->params;
}

float *ck_model_grads(ck_model *m)
{
	return m->grads;
}

float *ck_model_param(ck_model *m, int i)
{
	return m->params + m->param_off[i];
}

float *ck_model_grad(ck_model *m, int i)
{
	return m->grads + m->param_off[i];
}

size_t ck_model_param_offset(const ck_model *m, int i)
{
	return m->param_off[i];
}

void ck_model_constrain(ck_model *m)
{
	for (int i = 0; i < m->arch.nlayers; i++) {
		ck_layer *L = &m->layers[i];
		const ck_arch_layer *l = L->arch;
		if (l->kind == CK_ARCH_DENSE && l->dense.maxnorm > 0) {
			/* Each unit's incoming weights: a row of (UNITS,IN). */
			for (int u = 0; u < l->dense.units; u++) {
				float *row = L->dense.weight + (size_t)u * l->dense.in;
				double ss = 0.0;
				for (int64_t j = 0; j < l->dense.in; j++)
					ss += (double)row[j] * row[j];
				double norm = sqrt(ss);
				if (norm > l->dense.maxnorm) {
					float s = (float)(l->dense.maxnorm / norm);
					for (int64_t j = 0; j < l->dense.in; j++)
						row[j] *= s;
				}
			}
		} else if (l->kind == CK_ARCH_EMBEDDING) {
			memset(L->embedding.weight, 0, (size_t)l->embedding.dim * sizeof(float));
		}
	}
}

/* ---- planning ------------------------------------------------------------------- */

/* A dense layer with at least this many weights starts the head of a split
 * model (split_layers). */
#define HEAD_MIN_WEIGHTS 65536

/* The most pieces per thread a split pass deals a batch in (split_pieces). */
#define PIECES_PER_THREAD 8

/* The layers a split pass runs data-parallel: every layer, when each one
 * treats the examples of a batch independently (ops->per_example), up to
 * the first large dense layer, which starts the head that runs layer by
 * layer over the whole batch. A dense layer's kernels pack its weights once
 * a call, and its weight gradient wants a block per piece, to be summed:
 * for the first dense layer of a CNN, which holds most of its weights, a
 * call per piece costs more than the layer's own work. Over the whole
 * batch its GEMMs are packed once, threaded by ck_sgemm, and its weight
 * gradient has no blocks; the head's other layers are small. 0: none. */
static int split_layers(const ck_model *m, int max_batch, int nthreads)
{
	if (nthreads < 2 || max_batch < 2)
		return 0;
	for (int i = 0; i < m->nrun; i++)
		if (!m->layers[i].ops->per_example)
			return 0;
	int h = 0;
	while (h < m->nrun && !(m->layers[h].arch->kind == CK_ARCH_DENSE &&
	                        (int64_t)m->layers[h].arch->dense.units *
	                                m->layers[h].arch->dense.in >= HEAD_MIN_WEIGHTS))
		h++;
	return h;
}

/* The most pieces a split pass deals a batch in (see deal_pieces): up to
 * PIECES_PER_THREAD per thread, fewer when the gradient blocks, one per
 * piece after the first, would take more than 4 MiB, and never more blocks
 * than one per thread. */
static int split_pieces(int nthreads, size_t piece_floats)
{
	for (int per = PIECES_PER_THREAD; per > 1; per /= 2)
		if ((size_t)(per * nthreads - 1) * piece_floats <= ((size_t)1 << 20))
			return per * nthreads;
	return nthreads;
}

/* Deals n rows into guided pieces for T threads: each piece takes 1/(2T)
 * of the rows left, and at least least rows. The first pieces are large
 * (one GEMM over many rows packs its weights once), the last ones small,
 * so that the threads finish within a small piece of each other: a thread
 * that runs slower (a vCPU that takes the interrupts, or that the host
 * lends out for a while) takes fewer pieces instead of holding the others
 * at the end of the pass. Returns the count, or cap + 1 when there would be
 * more than cap; the pieces start at bounds[0..count) and the last ends at
 * bounds[count] = n (bounds may be NULL). */
static int guided_pieces(int n, int T, int least, int cap, int *bounds)
{
	int count = 0;
	for (int r = 0; r < n; count++) {
		if (count == cap)
			return cap + 1;
		int left = n - r, take = (left + 2 * T - 1) / (2 * T);
		take = take < least ? least : take;
		r += take < left ? take : left;
		if (bounds)
			bounds[count + 1] = r;
	}
	if (bounds)
		bounds[0] = 0;
	return count;
}

/* The pieces of a split pass over n rows into m->bounds: guided pieces with
 * the smallest least that keeps them within m->pieces (rows per piece never
 * need be more than ceil(n / pieces)). Fixed for a batch size and a thread
 * count, whichever thread takes which. */
static int deal_pieces(ck_model *m, int n)
{
	int cap = m->pieces, lo = 1, hi = (n + cap - 1) / cap;
	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;
		if (guided_pieces(n, m->nthreads, mid, cap, NULL) <= cap)
			hi = mid;
		else
			lo = mid + 1;
	}
	return guided_pieces(n, m->nthreads, lo, cap, m->bounds);
}

/* Hands out every buffer from the arena (counting only when a->base is
 * NULL); returns the workspace and scratch sizes in floats. */
static void carve(ck_model *m, ck_arena *a, int max_batch, int nthreads, size_t *ws,
                  size_t *scratch)
{
	size_t rows = (size_t)max_batch;
	*ws = *scratch = 0;
	m->ws_thread = 0;
	m->nsplit = split_layers(m, max_batch, nthreads);
	m->piece_floats = m->nsplit == m->nrun ? (size_t)m->arch.total_params : 0;
	for (int k = 0; k < m->arch.nparams && m->nsplit < m->nrun; k++)
		if (m->arch.params[k].layer < m->nsplit)
			m->piece_floats = m->param_off[k] + (size_t)m->arch.params[k].count;
	m->pieces = m->nsplit ? split_pieces(nthreads, m->piece_floats) : 1;
	if (m->pieces > max_batch)
		m->pieces = max_batch;
	/* A piece of a split pass gets at most this many rows: the first
	 * guided piece, or pieces of the largest least (deal_pieces). */
	int piece_rows = (max_batch + 2 * nthreads - 1) / (2 * nthreads);
	if (piece_rows < (max_batch + m->pieces - 1) / m->pieces)
		piece_rows = (max_batch + m->pieces - 1) / m->pieces;
	m->dx = NULL;
	if (m->want_input_grad && m->input_kind == CK_INPUT_F32)
		m->dx = ck_arena_take(a, rows * (size_t)m->input_size * sizeof(float));
	m->probs = ck_arena_take(a, rows * (size_t)m->output_size * sizeof(float));
	for (int i = 0; i < m->nrun; i++) {
		ck_layer *L = &m->layers[i];
		size_t bytes = rows * (size_t)L->out_size * sizeof(float);
		L->din = i ? m->layers[i - 1].dout : m->dx;
		if (L->ops->view) {
			L->out_buf = NULL;
			L->dout = L->din ? L->din : ck_arena_take(a, bytes);
		} else {
			L->out_buf = ck_arena_take(a, bytes);
			L->dout = ck_arena_take(a, bytes);
		}
		L->out = L->out_buf;
		if (L->ops->plan && i < m->nsplit) {
			/* Only for the workspace of one piece's rows: this arena's
			 * pointers are dropped (the real plan below sets them). */
			ck_arena none = {NULL, 0};
			L->ops->plan(L, &none, piece_rows, 1, &m->ws_thread);
		}
		if (L->ops->plan)
			L->ops->plan(L, a, max_batch, nthreads, ws);
		/* The gradient through a fused activation goes to scratch. */
		if (L->act.kind != CK_ARCH_ACT_LINEAR && rows * (size_t)L->out_size > *scratch)
			*scratch = rows * (size_t)L->out_size;
	}
	/* Backward stops below the first layer that has a trainable parameter
	 * or passes a gradient to the input: nothing before it wants one. */
	int wanted = m->dx != NULL;
	for (int i = 0; i < m->nrun; i++) {
		const ck_arch_layer *l = m->layers[i].arch;
		for (int k = 0; k < l->nparams; k++)
			wanted |= m->arch.params[l->first_param + k].trainable;
		m->layers[i].needs_backward = wanted;
	}
	/* Nor does anything want the gradient of their outputs (a frozen
	 * embedding's, say): the layer above them computes none. */
	for (int i = 1; i < m->nrun; i++)
		if (!m->layers[i - 1].needs_backward && !m->layers[i].ops->view)
			m->layers[i].din = NULL;
	if (m->nsplit && m->ws_thread * nthreads > *ws)
		*ws = m->ws_thread * nthreads;
	m->ws = ck_arena_take(a, *ws * sizeof(float));
	m->scratch = ck_arena_take(a, *scratch * sizeof(float));
	m->scratch_row = (int64_t)(*scratch / rows);
	m->pgrads = m->nsplit ? ck_arena_take(a, (size_t)(m->pieces - 1) * m->piece_floats *
	                                        sizeof(float))
	                      : NULL;
}

int ck_model_plan(ck_model *m, int max_batch, int nthreads, ck_err *err)
{
	if (max_batch < 1)
		return ck_err_set(err, "batch size %d: expected at least 1", max_batch);
	if (nthreads < 1)
		return ck_err_set(err, "thread count %d: expected at least 1", nthreads);
	if (m->arena && m->max_batch == max_batch && m->nthreads == nthreads)
		return 0; /* planned so already: training and evaluation share the buffers */
	/* Every kernel indexes a batch with int: rows * values must fit. */
	for (int i = 0; i < m->arch.nlayers; i++)
		if ((double)max_batch * (double)m->layers[i].out_size > (double)INT32_MAX)
			return ck_err_set(err, "batch size %d is too large: layer %d would hold more "
			                  "than 2^31 values", max_batch, i + 1);
	size_t ws, scratch;
	ck_arena count = {NULL, 0};
	carve(m, &count, max_batch, nthreads, &ws, &scratch);
	void *block = aligned_alloc(64, count.used ? count.used : 64);
	ck_layer *tlayers = calloc((size_t)(nthreads + 1) * (size_t)m->arch.nlayers, sizeof *tlayers);
	int *bounds = malloc((size_t)(m->pieces + 1) * sizeof *bounds);
	double *split_time = calloc((size_t)m->arch.nlayers + 1, sizeof *split_time);
	if (!block || !tlayers || !bounds || !split_time) {
		free(block);
		free(tlayers);
		free(bounds);
		free(split_time);
		return ck_err_set(err, "out of memory for %zu bytes of buffers for batches of %d",
		                  count.used, max_batch);
	}
	free(m->arena);
	free(m->tlayers);
	free(m->bounds);
	free(m->split_time);
	m->arena = block;
	m->tlayers = tlayers;
	m->bounds = bounds;
	m->split_time = split_time;
	ck_arena take = {block, 0};
	carve(m, &take, max_batch, nthreads, &ws, &scratch);
	/* The pieces' gradient blocks start at zero, and backward_split leaves
	 * them so (it clears each value as it sums it). */
	if (m->pgrads)
		memset(m->pgrads, 0, (size_t)(m->pieces - 1) * m->piece_floats * sizeof(float));
	m->max_batch = max_batch;
	m->nthreads = nthreads;
	m->last_n = 0;
	return 0;
}

void ck_model_set_input_grad(ck_model *m, int on)
{
	m->want_input_grad = on;
}

const float *ck_model_input_grad(const ck_model *m)
{
	return m->dx;
}

/* ---- forward, backward ------------------------------------------------------------ */

/* The kernels that thread through OpenMP's default team use the planned
 * count; the caller's setting is restored after. */
static int threads_enter(const ck_model *m)
{
#ifdef _OPENMP
	int saved = omp_get_max_threads();
	omp_set_num_threads(m->nthreads);
	return saved;
#else
	return 1;
#endif
}

static void threads_leave(int saved)
{
#ifdef _OPENMP
	omp_set_num_threads(saved);
#else
	(void)saved;
#endif
}

/* x[0..count) = 0, split over the threads when it is large. */
static void zero_floats(float *x, size_t count)
{
	const size_t piece = (size_t)1 << 16;
	size_t pieces = (count + piece - 1) / piece;
#pragma omp parallel for schedule(static) if (pieces > 1)
	for (size_t k = 0; k < pieces; k++) {
		size_t lo = k * piece, len = count - lo < piece ? count - lo : piece;
		memset(x + lo, 0, len * sizeof *x);
	}
}

void ck_model_zero_grad(ck_model *m)
{
	if (m->nthreads < 1) { /* not planned yet: no team to use */
		memset(m->grads, 0, (size_t)m->arch.total_params * sizeof(float));
		return;
	}
	int saved = threads_enter(m);
	zero_floats(m->grads, (size_t)m->arch.total_params);
	threads_leave(saved);
}

/* Whether L's kernels apply its relu word themselves. */
static int relu_fused(const ck_layer *L)
{
	return L->ops->fuses_relu && L->act.kind == CK_ARCH_ACT_RELU;
}

static ck_pass make_pass(const ck_model *m, int n, int training, uint64_t seed,
                         const int32_t *lengths)
{
	const ck_arch_shape *in = &m->arch.input;
	int sequence = m->input_kind == CK_INPUT_TOKENS || in->rank == 2;
	return (ck_pass){
		.n = n, .max_batch = m->max_batch, .training = training, .seed = seed,
		.lengths = lengths, .input_len = sequence ? in->dim[0] : 0,
		.nthreads = m->nthreads, .ws = m->ws, .scratch = m->scratch,
		.scratch_row = m->scratch_row,
	};
}

/* ---- data-parallel passes --------------------------------------------------------- */

static const float *through_act(ck_layer *L, const ck_pass *p);

/* The part [*a, *b) of parameter k's floats that lies in [lo, hi), when k
 * is trainable and the part not empty: the gradients of frozen parameters
 * (a static embedding table, say) are never made, zeroed or summed. */
static int trainable_part(const ck_model *m, int k, size_t lo, size_t hi, size_t *a, size_t *b)
{
	if (!m->arch.params[k].trainable)
		return 0;
	size_t begin = m->param_off[k], end = begin + (size_t)m->arch.params[k].count;
	*a = begin > lo ? begin : lo;
	*b = end < hi ? end : hi;
	return *a < *b;
}

/* Copies of the split layers in slot s of m->tlayers, sliced to the rows
 * from r0 and to piece k's gradient block (piece 0 adds into the model's
 * gradients), pointing at x's rows as the input. */
static ck_layer *piece_layers(ck_model *m, int s, int k, int r0, const void *x)
{
	ck_layer *TL = m->tlayers + (size_t)s * m->arch.nlayers;
	ptrdiff_t shift = k ? (m->pgrads + (size_t)(k - 1) * m->piece_floats) - m->grads : 0;
	const float *in = (const float *)x + (size_t)r0 * m->input_size;
	for (int i = 0; i < m->nsplit; i++) {
		ck_layer *L = &TL[i];
		*L = m->layers[i];
		if (L->ops->slice)
			L->ops->slice(L, r0, shift);
		L->in = in;
		L->out_buf = L->out_buf ? L->out_buf + (size_t)r0 * L->out_size : NULL;
		L->out = L->ops->view ? (float *)in : L->out_buf;
		L->dout += (size_t)r0 * L->out_size;
		if (L->din)
			L->din += (size_t)r0 * L->in_size;
		in = L->out;
	}
	return TL;
}

/* The pass for one piece: its rows, thread t's workspace, one thread. */
static ck_pass piece_pass(const ck_model *m, ck_pass p, int t, int r0, int rows)
{
	p.n = rows, p.row0 = r0, p.nthreads = 1;
	p.ws = m->ws + (size_t)t * m->ws_thread;
	p.lengths = p.lengths ? p.lengths + r0 : NULL;
	return p;
}

static int thread_id(void)
{
#ifdef _OPENMP
	return omp_get_thread_num();
#else
	return 0;
#endif
}

/* Takes the next of the P pieces for thread t, if one is left: its copies
 * of the split layers on x's rows, and its pass in *q; NULL when none is.
 * Piece 0 runs on copies of its own, slot nthreads, whose pointers
 * forward_split gives the model after the threads meet (the threads copy
 * m->layers meanwhile); the others on thread t's, slot t. */
static ck_layer *take_piece(ck_model *m, atomic_int *next, int P, int t, const void *x,
                            const ck_pass *p, ck_pass *q)
{
	int k = atomic_fetch_add_explicit(next, 1, memory_order_relaxed);
	if (k >= P)
		return NULL;
	int r0 = m->bounds[k], rows = m->bounds[k + 1] - r0;
	*q = piece_pass(m, *p, t, r0, rows);
	return piece_layers(m, k ? t : m->nthreads, k, r0, x);
}

/* Layers 0..nsplit-1 forward over the pieces of the batch, which the
 * threads take one at a time as they come free. */
static void forward_split(ck_model *m, const void *x, ck_pass p)
{
	int P = deal_pieces(m, p.n);
	atomic_int next = 0;
	memset(m->split_time, 0, (size_t)m->nsplit * sizeof *m->split_time);
#pragma omp parallel num_threads(m->nthreads)
	{
		int t = thread_id();
		ck_pass q;
		for (ck_layer *TL; (TL = take_piece(m, &next, P, t, x, &p, &q));) {
			const float *in = TL[0].in;
			for (int i = 0; i < m->nsplit; i++) {
				ck_layer *L = &TL[i];
				double t0 = now();
				L->in = in;
				L->out = L->ops->view ? (float *)in : L->out_buf;
				if (L->ops->forward)
					L->ops->forward(L, &q);
				if (!relu_fused(L))
					ck_layer_act_forward(L, q.n);
				in = L->out;
				if (t == 0)
					m->split_time[i] += now() - t0;
			}
		}
	}
	/* Piece 0 starts at row 0: its pointers are the model's. */
	const ck_layer *first = m->tlayers + (size_t)m->nthreads * m->arch.nlayers;
	for (int i = 0; i < m->nsplit; i++) {
		m->layers[i].in = first[i].in;
		m->layers[i].out = first[i].out;
		m->layers[i].fwd_time = m->split_time[i];
	}
}

/* Layers nsplit-1..0 backward over the pieces of the batch, taken as in
 * forward_split, each into its own gradient block; then, after the
 * threads meet, the blocks of pieces 1.. are added to the model's
 * gradients in piece order, so the bits depend on the piece count (the
 * thread count) only, never on which thread did what. The gradient at
 * layer nsplit-1's output is dout's rows when every layer is split, else
 * already there, from the head (ck_model_backward). */
static void backward_split(ck_model *m, const float *dout, ck_pass p)
{
	int P = deal_pieces(m, p.n), top = m->nsplit - 1;
	size_t floats = m->piece_floats;
	atomic_int next = 0;
	memset(m->split_time, 0, (size_t)m->nsplit * sizeof *m->split_time);
#pragma omp parallel num_threads(m->nthreads)
	{
		int t = thread_id();
		ck_pass q;
		/* The layers' pointers as a training forward of the piece set them. */
		for (ck_layer *TL; (TL = take_piece(m, &next, P, t, m->layers[0].in, &p, &q));) {
			size_t r0 = (size_t)q.row0, rows = (size_t)q.n;
			if (m->nsplit == m->nrun)
				memcpy(TL[top].dout, dout + r0 * TL[top].out_size,
				       rows * TL[top].out_size * sizeof(float));
			for (int i = top; i >= 0; i--) {
				ck_layer *L = &TL[i];
				if (!L->needs_backward)
					continue;
				double t0 = now();
				if (L->din && !L->ops->view)
					memset(L->din, 0, rows * L->in_size * sizeof(float));
				if (L->ops->backward)
					L->ops->backward(L, through_act(L, &q), &q);
				if (t == 0)
					m->split_time[i] += now() - t0;
			}
		}
#pragma omp barrier
		/* The blocks of pieces 1.. into the model's gradients, in order,
		 * each value cleared as it is taken: the blocks are zero for the
		 * next pass without a pass of their own, and this work is split
		 * evenly over the threads. Block by block, so that the loop runs
		 * over two contiguous arrays; each value still gets its pieces in
		 * piece order. */
#ifdef _OPENMP
		int nt = omp_get_num_threads();
#else
		int nt = 1;
#endif
		size_t lo = floats * (size_t)t / (size_t)nt, hi = floats * (size_t)(t + 1) / (size_t)nt;
		for (int j = 0; j < m->arch.nparams; j++) {
			size_t a, b;
			if (!trainable_part(m, j, lo, hi, &a, &b))
				continue;
			for (int u = 1; u < P; u++) {
				float *restrict g = m->grads, *restrict pg = m->pgrads + (size_t)(u - 1) * floats;
				for (size_t v = a; v < b; v++) {
					g[v] += pg[v];
					pg[v] = 0.0f;
				}
			}
		}
	}
	for (int i = 0; i < m->nsplit; i++)
		m->layers[i].bwd_time = m->split_time[i];
}

/* ---- forward, backward (layer by layer) -------------------------------------------- */

/* Layers lo..nrun-1 forward over the whole batch from in, each kernel
 * threading itself; returns the last output. */
static const float *forward_layers(ck_model *m, int lo, const float *in, const ck_pass *p)
{
	for (int i = lo; i < m->nrun; i++) {
		ck_layer *L = &m->layers[i];
		double t0 = now();
		L->in = in;
		if (L->ops->view)
			L->out = (float *)in;
		else
			L->out = L->out_buf;
		if (L->ops->forward)
			L->ops->forward(L, p);
		if (!relu_fused(L))
			ck_layer_act_forward(L, p->n);
		L->fwd_time = now() - t0;
		in = L->out;
	}
	return in;
}

const float *ck_model_forward(ck_model *m, const void *x, const int32_t *lengths, int n,
                              int training, uint64_t seed)
{
	assert(m->arena && "ck_model_plan first");
	assert(n >= 1 && n <= m->max_batch);
	int saved = threads_enter(m);
	ck_pass p = make_pass(m, n, training, seed, lengths);
	const float *in = x;
	int lo = 0;
	if (m->nsplit && n > 1) {
		forward_split(m, x, p);
		lo = m->nsplit;
		in = m->layers[lo - 1].out;
	}
	in = forward_layers(m, lo, in, &p);
	threads_leave(saved);
	m->last_n = n;
	m->last_training = training;
	m->last_lengths = lengths;
	return in;
}

/* The gradient w.r.t. the kernel's output: dout itself, or through the
 * fused activation into scratch (a ReLU the layer's kernels take care of
 * passes dout as it is). */
static const float *through_act(ck_layer *L, const ck_pass *p)
{
	if (L->act.kind == CK_ARCH_ACT_LINEAR || relu_fused(L))
		return L->dout;
	size_t count = (size_t)p->n * L->out_size;
	float *g = p->scratch + (size_t)p->row0 * (size_t)p->scratch_row;
	if (L->act.kind == CK_ARCH_ACT_RELU) {
		/* Written rather than zeroed then added: ck_relu_backward's values. */
		const float *dout = L->dout, *out = L->out;
#pragma omp parallel for schedule(static) if (count >= 65536)
		for (size_t i = 0; i < count; i++)
			g[i] = out[i] > 0.0f ? dout[i] : 0.0f;
		return g;
	}
	memset(g, 0, count * sizeof(float));
	int64_t outer = (int64_t)p->n * L->out_size / (L->act_channels * L->act_inner);
	ck_act_backward(&L->act, g, L->dout, L->out, outer, L->act_channels, L->act_inner);
	return g;
}

/* Layers nrun-1..lo backward over the whole batch from dout, each kernel
 * threading itself. */
static void backward_layers(ck_model *m, int lo, const float *dout, const ck_pass *p)
{
	int n = p->n;
	/* A residual block's end adds into the gradient of the block's input
	 * before the block's layers run: then every buffer is zeroed first. */
	int skips = 0;
	for (int i = lo; i < m->nrun; i++)
		skips |= m->layers[i].arch->kind == CK_ARCH_END;
	if (skips) {
		if (m->dx)
			zero_floats(m->dx, (size_t)n * m->input_size);
		for (int i = 0; i < m->nrun; i++)
			zero_floats(m->layers[i].dout, (size_t)n * m->layers[i].out_size);
	}
	ck_layer *last = &m->layers[m->nrun - 1];
	memcpy(last->dout, dout, (size_t)n * last->out_size * sizeof(float));
	for (int i = m->nrun - 1; i >= lo; i--) {
		ck_layer *L = &m->layers[i];
		if (!L->needs_backward) {
			L->bwd_time = 0;
			continue;
		}
		double t0 = now();
		/* The kernels add into din: zeroed just before, so that it is still
		 * in cache when they do (a view layer's din is its own dout, which
		 * the layer above has filled). */
		if (!skips && L->din && !L->ops->view)
			zero_floats(L->din, (size_t)n * L->in_size);
		if (L->ops->backward)
			L->ops->backward(L, through_act(L, p), p);
		L->bwd_time = now() - t0;
	}
}

void ck_model_backward(ck_model *m, const float *dout, int n)
{
	assert(m->last_training && m->last_n == n && "backward needs a training forward of n");
	if (m->nrun == 0)
		return;
	int saved = threads_enter(m);
	ck_pass p = make_pass(m, n, 1, 0, m->last_lengths);
	if (m->nsplit && n > 1) {
		/* The head over the whole batch, then the split layers. */
		if (m->nsplit < m->nrun)
			backward_layers(m, m->nsplit, dout, &p);
		backward_split(m, dout, p);
	} else {
		backward_layers(m, 0, dout, &p);
	}
	threads_leave(saved);
}

const float *ck_model_predict(ck_model *m, const void *x, const int32_t *lengths, int n)
{
	const float *logits = ck_model_forward(m, x, lengths, n, 0, 0);
	if (m->final_act.kind == CK_ARCH_ACT_LINEAR)
		return logits;
	int64_t outer = (int64_t)n * m->output_size / (m->act_channels * m->act_inner);
	ck_act_forward(&m->final_act, m->probs, logits, outer, m->act_channels, m->act_inner);
	return m->probs;
}

int ck_model_layer_times(const ck_model *m, double *fwd, double *bwd, int cap)
{
	for (int i = 0; i < m->arch.nlayers && i < cap; i++) {
		if (fwd)
			fwd[i] = m->layers[i].fwd_time;
		if (bwd)
			bwd[i] = m->layers[i].bwd_time;
	}
	return m->arch.nlayers;
}
