/* model_internal.h: the model runtime's private structures.
 *
 * A ck_model holds one ck_layer per layer of its architecture. What every
 * layer has (its arch entry, input and output pointers, gradient buffers, a
 * fused activation) is in ck_layer; what only one kind needs (its parameter
 * pointers, argmax, masks, batch statistics) is in that kind's small struct,
 * and the kind's behaviour is a ck_layer_ops table in its own file:
 *
 *   layer_conv.c       conv
 *   layer_conv1d.c     conv1d (one branch per width)
 *   layer_pool.c       maxpool, avgpool, globalmaxpool, globalavgpool
 *   layer_dense.c      dense
 *   layer_embedding.c  embedding
 *   layer_norm.c       batchnorm
 *   layer_misc.c       activation layers, dropout, flatten, residual ... end,
 *                      and the activation helpers shared by every kind
 *
 * Buffer layout: a layer's output is (max_batch, out_size) floats, row n at
 * n*out_size; a forward over n examples uses the first n rows. The output of
 * a conv1d with several widths is its branches one after the other, branch b
 * (n, T-w_b+1, F) starting at n*F*(sum of the earlier branch lengths). */
#ifndef CK_MODEL_INTERNAL_H
#define CK_MODEL_INTERNAL_H

#include "cnnkit.h"

/* Carves buffers out of one block in two passes: with base NULL it only
 * counts, then it hands out pointers into base in the same order. Every
 * piece starts on a 64-byte boundary. */
typedef struct ck_arena {
	char *base;
	size_t used;
} ck_arena;

void *ck_arena_take(ck_arena *a, size_t bytes);

/* What one forward or backward call shares with every layer. */
typedef struct ck_pass {
	int n;                   /* examples in the batch */
	int max_batch;           /* rows of every buffer */
	int training;
	uint64_t seed;           /* dropout seed of this step */
	const int32_t *lengths;  /* (n) real sequence lengths, or NULL */
	int64_t input_len;       /* T of a sequence input, 0 for others */
	int nthreads;            /* threads the kernels may use */
	int64_t row0;            /* the first row of the batch this pass covers (see model.c) */
	float *ws;               /* kernel workspace, shared by the layers in turn */
	float *scratch;          /* (max_batch, scratch_row), for fused activations;
	                          * a pass over rows from row0 uses its rows */
	int64_t scratch_row;     /* floats per row of scratch: the largest out_size of
	                          * a fused activation, whatever layer uses it, so
	                          * that the threads of a split pass never overlap */
} ck_pass;

typedef struct ck_layer ck_layer;

typedef struct ck_layer_ops {
	/* Points the kind's parameter and gradient pointers at its slice of the
	 * blocks: p[k] and g[k] for its k-th entry of ck_arch.params. */
	void (*bind)(ck_layer *L, float *const *p, float *const *g);
	/* Takes the kind's saved buffers from the arena for max_batch examples
	 * and raises *ws to the floats of workspace its kernels need. */
	void (*plan)(ck_layer *L, ck_arena *a, int max_batch, int nthreads, size_t *ws);
	/* L->out (n, out_size) from L->in (n, in_size). */
	void (*forward)(ck_layer *L, const ck_pass *p);
	/* Adds into L->din (when not NULL) and the parameter gradients, from
	 * dout, the gradient w.r.t. the output BEFORE the fused activation
	 * (L->dout itself when there is none, or when fuses_relu applies). */
	void (*backward)(ck_layer *L, const float *dout, const ck_pass *p);
	/* 1: out is a view of in and dout of din (flatten, residual). */
	int view;
	/* 1: a relu word (L->act) is applied by forward itself, and backward
	 * takes the gradient w.r.t. the activation's output (L->dout) and goes
	 * through the ReLU on its own: one pass over the output saved each way. */
	int fuses_relu;
	/* 1: forward and backward treat the examples of a batch independently
	 * (apart from summing parameter gradients), so that the threads can run
	 * the layer on pieces of the batch, rows of it (see model.c). */
	int per_example;
	/* For per_example kinds with saved buffers or parameter gradients:
	 * points L's copy at the rows from row0 on of its saved buffers, and its
	 * parameter gradients grad_shift floats further (a piece's own block). */
	void (*slice)(ck_layer *L, int64_t row0, ptrdiff_t grad_shift);
} ck_layer_ops;

typedef struct ck_conv_layer {
	float *weight, *bias, *dweight, *dbias; /* bias, dbias NULL with bias=no */
	ck_conv2d_dims dims;                    /* N is set per call */
} ck_conv_layer;

typedef struct ck_conv1d_layer {
	float *weight[CK_ARCH_MAX_WIDTHS], *bias[CK_ARCH_MAX_WIDTHS];
	float *dweight[CK_ARCH_MAX_WIDTHS], *dbias[CK_ARCH_MAX_WIDTHS];
	int pooled;      /* 1: a globalmaxpool follows (set by the model) */
	int32_t *valid;  /* pooled: (max_batch) the valid steps of the branch at work */
} ck_conv1d_layer;

typedef struct ck_pool_layer {
	int32_t *argmax; /* maxpool: (max_batch, C, OH, OW) */
} ck_pool_layer;

typedef struct ck_global_pool_layer {
	int32_t *argmax; /* max: (max_batch, C) per branch, branch b at b*max_batch*C */
	int32_t *valid;  /* max over time: (max_batch) per branch, likewise */
} ck_global_pool_layer;

typedef struct ck_dense_layer {
	float *weight, *bias, *dweight, *dbias;
} ck_dense_layer;

typedef struct ck_embedding_layer {
	float *weight, *dweight; /* dweight NULL when frozen */
} ck_embedding_layer;

typedef struct ck_batchnorm_layer {
	float *weight, *bias, *running_mean, *running_var;
	float *dweight, *dbias;
	float *mean, *rstd; /* (channels): the batch statistics, saved for backward */
} ck_batchnorm_layer;

typedef struct ck_dropout_layer {
	float *mask; /* (max_batch, size) */
} ck_dropout_layer;

typedef struct ck_end_layer {
	ck_layer *start; /* the residual layer that opens the block */
} ck_end_layer;

struct ck_layer {
	const ck_layer_ops *ops;
	const ck_arch_layer *arch;
	int index;
	int64_t in_size, out_size; /* floats per example */
	/* The activation run in place on out after the kernel (the word on
	 * conv, conv1d, dense), LINEAR for none; how it sees out: outer blocks
	 * of channels x inner values, softmax normalising over the channels. */
	ck_arch_act act;
	int64_t act_channels, act_inner;
	const float *in;  /* set by each forward: the input, or the previous layer's out */
	float *din;       /* the previous layer's dout, the input gradient, or NULL */
	float *out;       /* usually out_buf; a view of in for view kinds (and dropout at inference) */
	float *out_buf;   /* (max_batch, out_size), NULL for view kinds */
	float *dout;      /* (max_batch, out_size) gradient w.r.t. out */
	int needs_backward;        /* 0: no gradient is wanted at or below this layer */
	double fwd_time, bwd_time; /* seconds in the last forward and backward */
	union {
		ck_conv_layer conv;
		ck_conv1d_layer conv1d;
		ck_pool_layer pool;
		ck_global_pool_layer gpool;
		ck_dense_layer dense;
		ck_embedding_layer embedding;
		ck_batchnorm_layer bn;
		ck_dropout_layer dropout;
		ck_end_layer end;
	};
};

extern const ck_layer_ops ck_layer_conv_ops, ck_layer_conv1d_ops, ck_layer_maxpool_ops,
	ck_layer_avgpool_ops, ck_layer_globalmaxpool_ops, ck_layer_globalavgpool_ops,
	ck_layer_dense_ops, ck_layer_embedding_ops, ck_layer_batchnorm_ops,
	ck_layer_activation_ops, ck_layer_dropout_ops, ck_layer_flatten_ops,
	ck_layer_residual_ops, ck_layer_end_ops;

/* How an activation sees a tensor of this shape per example: softmax runs
 * over the channels of (C,H,W) (inner = H*W), of (T,C) and of (F). */
void ck_act_layout(const ck_arch_shape *s, int64_t *channels, int64_t *inner);
/* out = act(in) over `outer` blocks of channels*inner floats; in place
 * allowed. LINEAR copies (or does nothing in place). */
void ck_act_forward(const ck_arch_act *a, float *out, const float *in, int64_t outer,
                    int64_t channels, int64_t inner);
/* dinp += the gradient through the activation, from its output. */
void ck_act_backward(const ck_arch_act *a, float *dinp, const float *dout, const float *out,
                     int64_t outer, int64_t channels, int64_t inner);

/* Runs L's fused activation (if any) in place on its output, n examples. */
void ck_layer_act_forward(ck_layer *L, int n);

#endif
