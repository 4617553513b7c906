/* cnnkit/arch.h: the architecture language (formats/arch.md).
 *
 * A spec such as "conv 32 3 pad=same relu; maxpool 2; dense 10" is parsed
 * into a ck_arch: an array of layers, each a small struct of its own kind.
 * ck_arch_infer then walks the layers from a given input shape, fills in each
 * layer's output shape, the exact geometry the kernels need (padding, output
 * sizes) and the table of parameter tensors the model must allocate:
 *
 *     ck_arch a;
 *     if (ck_arch_parse(spec, &a, &err) < 0 ||
 *         ck_arch_infer(&a, (int64_t[]){1, 28, 28}, 3, 0, &err) < 0) ...
 *     for (int i = 0; i < a.nparams; i++)  a.params[i].name, .shape, .count
 *     ck_arch_free(&a);
 *
 * Layers are numbered from 0 in parameter names ("0.conv.weight") and in the
 * summary, and from 1 in error messages ("layer 1 ...", the first layer).
 * Every message names the layer and quotes its text, e.g.
 *   layer 3 "conv 64 3 pad=sme": unknown padding "sme" (expected same, valid or a number)
 */
#ifndef CNNKIT_ARCH_H
#define CNNKIT_ARCH_H

#include <stdint.h>

#include "base.h"

#define CK_ARCH_MAX_LAYERS 1000
#define CK_ARCH_MAX_FILTERS 65536   /* conv, conv1d filters */
#define CK_ARCH_MAX_UNITS 1048576   /* dense units */
#define CK_ARCH_MAX_DIM 65536       /* embedding dimension */
#define CK_ARCH_MAX_KERNEL 1024     /* kernel, stride, pool and padding sizes */
#define CK_ARCH_MAX_WIDTHS 8        /* conv1d widths side by side */
#define CK_ARCH_MAX_DEPTH 16        /* nested residual blocks */
#define CK_ARCH_MAX_INPUT 16777216  /* each input dimension */
#define CK_ARCH_MAX_PARAMS 2147483648LL  /* total parameters, 2^31 */
#define CK_ARCH_MAX_ACTIVATION 2147483648LL /* values per example after a layer */

typedef enum ck_arch_kind {
	CK_ARCH_CONV = 1,
	CK_ARCH_CONV1D,
	CK_ARCH_MAXPOOL,
	CK_ARCH_AVGPOOL,
	CK_ARCH_GLOBALMAXPOOL,
	CK_ARCH_GLOBALAVGPOOL,
	CK_ARCH_FLATTEN,
	CK_ARCH_DENSE,
	CK_ARCH_EMBEDDING,
	CK_ARCH_BATCHNORM,
	CK_ARCH_DROPOUT,
	CK_ARCH_ACTIVATION, /* relu, leakyrelu, sigmoid, tanh, softmax as layers */
	CK_ARCH_RESIDUAL,   /* opens a block whose input is added to its output */
	CK_ARCH_END,        /* closes the innermost residual block: the add */
} ck_arch_kind;

/* Activation functions, as a layer of their own or as a word on conv,
 * conv1d and dense. Softmax normalises over the channel axis: the features
 * of (F), C of (T,C) at each time step, C of (C,H,W) at each pixel. */
typedef enum ck_arch_act_kind {
	CK_ARCH_ACT_LINEAR = 0, /* identity: the default on conv, conv1d, dense */
	CK_ARCH_ACT_RELU,
	CK_ARCH_ACT_LEAKYRELU, /* x > 0 ? x : alpha * x */
	CK_ARCH_ACT_SIGMOID,
	CK_ARCH_ACT_TANH,
	CK_ARCH_ACT_SOFTMAX,
} ck_arch_act_kind;

typedef struct ck_arch_act {
	ck_arch_act_kind kind;
	double alpha; /* leakyrelu slope for x < 0; default 0.01 */
} ck_arch_act;

typedef enum ck_arch_pad_mode {
	CK_ARCH_PAD_VALID = 0, /* no padding: the default */
	CK_ARCH_PAD_SAME,      /* TF/Keras "same": OH = ceil(H/S) */
	CK_ARCH_PAD_EXPLICIT,  /* pad=N or pad=NHxNW, symmetric */
} ck_arch_pad_mode;

/* A shape per example, without the batch dimension: (C,H,W) images,
 * (T,C) sequences channels-last, (F) features, or (T) token ids (input only). */
typedef struct ck_arch_shape {
	int rank;
	int64_t dim[3];
} ck_arch_shape;

/* conv FILTERS KERNEL: inp (C,H,W), weight (F,C,KH,KW), bias (F), out (F,OH,OW). */
typedef struct ck_arch_conv {
	int filters, kh, kw;
	int sh, sw;                /* stride; default 1 */
	ck_arch_pad_mode pad_mode;
	int ph, pw;                /* pad=NHxNW, CK_ARCH_PAD_EXPLICIT only */
	int bias;                  /* 1: has a bias (default), 0: bias=no */
	ck_arch_act act;
	/* Filled by ck_arch_infer: the geometry the kernels use. Input row
	 * oh*sh - pad_top + i for kernel row i; rows outside [0,H) read zero. */
	int64_t c, h, w, oh, ow;
	int pad_top, pad_left, pad_bottom, pad_right;
} ck_arch_conv;

/* conv1d FILTERS WIDTH[,WIDTH...]: inp (T,C) channels-last, one branch per
 * width w with weight (F,w,C) and bias (F), branch output (T-w+1,F) (valid
 * padding, stride 1). With several widths the layer must be followed by
 * globalmaxpool, which pools each branch over time and concatenates the
 * results to (nwidths*F) in the order the widths were written. */
typedef struct ck_arch_conv1d {
	int filters;
	int nwidths;
	int widths[CK_ARCH_MAX_WIDTHS];
	int bias;
	ck_arch_act act;
	/* Filled by ck_arch_infer. */
	int64_t t, c;                           /* input (T,C) */
	int64_t out_len[CK_ARCH_MAX_WIDTHS];    /* T - width + 1 per branch */
} ck_arch_conv1d;

/* maxpool K / avgpool K: inp (C,H,W), out (C,OH,OW), OH = floor((H-KH)/SH)+1.
 * No padding; stride defaults to the kernel size. */
typedef struct ck_arch_pool {
	int kh, kw, sh, sw;
	/* Filled by ck_arch_infer. */
	int64_t c, h, w, oh, ow;
} ck_arch_pool;

/* globalmaxpool / globalavgpool: (C,H,W) -> (C) over the H*W pixels,
 * (T,C) -> (C) over the T steps; after a conv1d with several widths,
 * branches of (T-w+1,F) -> (nwidths*F). */
typedef struct ck_arch_global_pool {
	/* Filled by ck_arch_infer. */
	int64_t channels;     /* C per branch */
	int64_t positions;    /* H*W or T (of the first branch when branched) */
	int channels_last;    /* 1 for (T,C), 0 for (C,H,W) */
	int branches;         /* > 1: pools the branches of the conv1d before it */
} ck_arch_global_pool;

/* flatten: any shape -> (product of dims), in row-major order. */
typedef struct ck_arch_flatten {
	int64_t size; /* filled by ck_arch_infer */
} ck_arch_flatten;

/* dense UNITS: inp (IN) (anything else is flattened first), weight (UNITS,IN),
 * bias (UNITS), out (UNITS). */
typedef struct ck_arch_dense {
	int units;
	int bias;
	ck_arch_act act;
	double maxnorm; /* > 0: after each update, rescale every row of weight
	                 * (one unit's incoming weights) to L2 norm <= maxnorm;
	                 * 0: no constraint (default) */
	int64_t in;     /* filled by ck_arch_infer */
} ck_arch_dense;

/* embedding DIM: inp (T) token ids in [0,V), weight (V,DIM), out (T,DIM). */
typedef struct ck_arch_embedding {
	int dim;
	char *init;     /* init=FILE.tnz: initial vectors (tensor "vectors"), or NULL */
	int trainable;  /* 1 (default) or 0: trainable=no freezes the weight */
	int64_t vocab, t; /* filled by ck_arch_infer: V from the dataset, T */
} ck_arch_embedding;

/* batchnorm: per channel over the batch and positions. weight, bias,
 * running_mean, running_var: (channels). */
typedef struct ck_arch_batchnorm {
	double eps;      /* added to the variance; default 1e-5 */
	double momentum; /* running = (1-momentum)*running + momentum*batch; default 0.1 */
	/* Filled by ck_arch_infer: (C,H,W): C channels, H*W positions;
	 * (F): F channels, 1 position; (T,C): C channels last, T positions. */
	int64_t channels, positions;
	int channels_last;
} ck_arch_batchnorm;

/* dropout P: zero each value with probability P while training, scale the
 * rest by 1/(1-P); identity at evaluation. */
typedef struct ck_arch_dropout {
	double p;
} ck_arch_dropout;

/* residual ... end: out = f(x) + x, f being the layers in between. */
typedef struct ck_arch_block {
	int match; /* index of the matching end (for residual) or residual (for end) */
} ck_arch_block;

typedef struct ck_arch_layer {
	ck_arch_kind kind;
	char *text; /* the layer's words from the source, joined by one space */
	union {
		ck_arch_conv conv;
		ck_arch_conv1d conv1d;
		ck_arch_pool pool;               /* maxpool, avgpool */
		ck_arch_global_pool global_pool; /* globalmaxpool, globalavgpool */
		ck_arch_flatten flatten;
		ck_arch_dense dense;
		ck_arch_embedding embedding;
		ck_arch_batchnorm batchnorm;
		ck_arch_dropout dropout;
		ck_arch_act act;                 /* activation layers */
		ck_arch_block block;             /* residual, end */
	};
	/* Filled by ck_arch_infer. */
	ck_arch_shape in, out; /* out.dim[0] is -1 for a conv1d with several
	                        * widths: the branch lengths differ (out_len) */
	int first_param, nparams; /* this layer's slice of ck_arch.params */
	int64_t param_count;
} ck_arch_layer;

/* One tensor the model holds, named "<layer index>.<kind>.<param>":
 *   conv, dense, conv1d (one width)   weight, bias
 *   conv1d with several widths         weight_w3, bias_w3, weight_w4, ...
 *   embedding                          weight
 *   batchnorm                          weight, bias, running_mean, running_var */
typedef struct ck_arch_param {
	char name[48];
	int layer;       /* index of the layer that owns it */
	int rank;
	int64_t shape[4];
	int64_t count;   /* product of shape */
	int trainable;   /* 0 for a frozen embedding and for buffers */
	int buffer;      /* batchnorm running statistics: saved, updated by the
	                  * forward pass in training, never by the optimiser */
} ck_arch_param;

typedef struct ck_arch {
	int nlayers;
	ck_arch_layer *layers;
	/* Filled by ck_arch_infer. */
	int inferred;
	ck_arch_shape input;
	int64_t vocab_size;        /* 0 unless the input is token ids */
	int nparams;
	ck_arch_param *params;     /* in layer order */
	int64_t total_params;      /* every value in params */
	int64_t trainable_params;  /* those with trainable = 1 */
} ck_arch;

/* Parses a spec: layers separated by newlines or ';', '#' comments to the
 * end of a line, blank layers ignored. On success fills *out (free it with
 * ck_arch_free) and returns 0; on failure leaves *out empty, returns -1 and
 * puts "layer N \"TEXT\": what is wrong" in err. */
int ck_arch_parse(const char *text, ck_arch *out, ck_err *err);

/* Frees what ck_arch_parse allocated and empties *a. Safe on an empty or
 * zeroed ck_arch and twice in a row. */
void ck_arch_free(ck_arch *a);

/* Computes every layer's shapes, geometry and parameters for one example of
 * input_shape: (C,H,W) images, (T,C) sequences, (F) features, or (T) token
 * ids when vocab_size > 0 (the vocabulary size of the dataset, needed by
 * embedding; 0 otherwise). May be called again with another input shape. */
int ck_arch_infer(ck_arch *a, const int64_t *input_shape, int input_rank,
                  int64_t vocab_size, ck_err *err);

/* The spec in canonical form: layers joined by "; ", words in a fixed
 * order, options at their default left out, numbers in their shortest exact
 * form. Parsing it gives the same layers. *out is malloc'd; the caller frees
 * it. Returns 0, or -1 when out of memory. */
int ck_arch_format(const ck_arch *a, char **out);

/* A Keras-like table of an inferred spec: index, layer text, output shape,
 * parameter count, then the total, trainable and non-trainable counts; one
 * '\n'-terminated line per row. *out is malloc'd; the caller frees it.
 * Returns 0, or -1 when out of memory or if a is not inferred. */
int ck_arch_summary(const ck_arch *a, char **out);

/* Writes "(32,28,28)" into buf (always terminated); returns buf. A -1
 * dimension prints as "?". */
char *ck_arch_shape_str(const ck_arch_shape *s, char *buf, size_t size);

/* The layer kind's word ("conv", "relu", ...), as used in parameter names. */
const char *ck_arch_layer_word(const ck_arch_layer *l);

/* "relu", "leakyrelu", ...; "linear" for CK_ARCH_ACT_LINEAR. */
const char *ck_arch_act_name(ck_arch_act_kind k);

/* Sets err to "layer <index+1> \"<layer text>\": <message>" and returns -1: for
 * callers that find a problem with a layer later (e.g. its init= file). */
int ck_arch_layer_err(ck_err *err, const ck_arch_layer *l, int index, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
