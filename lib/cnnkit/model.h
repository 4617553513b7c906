/* cnnkit/model.h: a network built from an architecture spec (cnnkit/arch.h):
 * its parameters in one block, buffers planned once per batch size, forward
 * and backward over a batch, saving to and loading from TNZ.
 *
 *     ck_model *m = ck_model_create("conv 32 3 pad=same relu; maxpool 2; dense 10",
 *                                   (int64_t[]){1, 28, 28}, 3, 0, &err);
 *     ck_model_init(m, seed);
 *     ck_model_plan(m, 64, nthreads, &err);
 *     const float *logits = ck_model_forward(m, x, NULL, n, 1, step_seed);  // (n, K)
 *     ... loss backward writes dlogits (n, K) ...
 *     ck_model_zero_grad(m);
 *     ck_model_backward(m, dlogits, n);
 *     ... optimiser over the trainable ck_model_param(m, i) ...
 *     ck_model_constrain(m);
 *
 * Memory: parameters, gradients and every activation buffer are allocated by
 * ck_model_create and ck_model_plan; forward and backward never allocate. */
#ifndef CNNKIT_MODEL_H
#define CNNKIT_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "arch.h"
#include "base.h"
#include "tnz.h"

typedef struct ck_model ck_model;

/* What the examples are: f32 values of the input shape ((C,H,W) images, (F)
 * features, (T,C) sequences), or token ids (T) when vocab_size > 0. */
typedef enum ck_model_input {
	CK_INPUT_F32 = 0,
	CK_INPUT_TOKENS = 1,
} ck_model_input;

/* Parses and infers arch for examples of input_shape (see ck_arch_infer).
 * Parameters start at zero: call ck_model_init or load them. */
ck_model *ck_model_create(const char *arch, const int64_t *input_shape, int input_rank,
                          int64_t vocab_size, ck_err *err);
void ck_model_free(ck_model *m);

const ck_arch *ck_model_arch(const ck_model *m);
ck_model_input ck_model_input_kind(const ck_model *m);
/* Values per example of the input (C*H*W, F, T*C or T). */
int64_t ck_model_input_size(const ck_model *m);
/* K: values per example of the output. */
int64_t ck_model_output_size(const ck_model *m);

/* The final activation when it is softmax or sigmoid (CK_ARCH_ACT_SOFTMAX,
 * CK_ARCH_ACT_SIGMOID), else CK_ARCH_ACT_LINEAR. ck_model_forward stops
 * before it and returns logits, so that the cross-entropy losses can fuse it
 * stably; ck_model_predict applies it. */
ck_arch_act_kind ck_model_final_act(const ck_model *m);

/* Initialises every parameter from seed as PyTorch 1.13 does by default
 * (conv, conv1d, dense: weight and bias U(-1/sqrt(fan_in), 1/sqrt(fan_in));
 * embedding N(0,1) with row 0 (padding) zero; batchnorm weight 1, bias 0,
 * running mean 0, running variance 1). Same seed, same values. */
void ck_model_init(ck_model *m, uint64_t seed);

/* Parameters: one block of floats in the order of ck_arch.params (buffers
 * such as batchnorm running statistics included); gradients: a block of the
 * same layout (zero where not trainable). */
float *ck_model_params(ck_model *m, size_t *count);
float *ck_model_grads(ck_model *m);
/* Pointer to parameter i of ck_arch.params inside the block, its gradient,
 * and its offset in floats from the start of either block (for optimiser
 * state laid out like the parameters). An optimiser steps only the
 * parameters with ck_arch.params[i].trainable set: buffers and frozen
 * embeddings must not see weight decay. */
float *ck_model_param(ck_model *m, int i);
float *ck_model_grad(ck_model *m, int i);
size_t ck_model_param_offset(const ck_model *m, int i);

/* Allocates the buffers for batches of up to max_batch examples and sets the
 * thread count the kernels use (their results depend on it, bit for bit).
 * Call again to change either; a call with the same two reuses the buffers. */
int ck_model_plan(ck_model *m, int max_batch, int nthreads, ck_err *err);

/* Forward over n <= max_batch examples. x: (n, input size) f32, or (n, T)
 * int32 token ids in [0, vocab) (the caller validates them). lengths: (n)
 * int32 real lengths of token rows, or NULL (all T); global max pooling over
 * time ignores positions past them. training: dropout on, batchnorm uses and
 * updates batch statistics; seed: the dropout masks of this step (e.g. a hash
 * of the run seed and the step number). Returns the output (n, K) as logits
 * (see ck_model_final_act), owned by the model, valid until the next call.
 * The model must be planned and 1 <= n <= max_batch (asserted). */
const float *ck_model_forward(ck_model *m, const void *x, const int32_t *lengths, int n,
                              int training, uint64_t seed);
/* Backward from dout (n, K), the gradient of the loss w.r.t. the logits
 * returned by the last forward (which must have had training = 1 and the same
 * n). Gradients ADD into ck_model_grads. */
void ck_model_backward(ck_model *m, const float *dout, int n);
void ck_model_zero_grad(ck_model *m);

/* Input gradients, for tests and saliency: with on = 1 before ck_model_plan,
 * each backward also writes the gradient w.r.t. the f32 input, (n, input
 * size), returned by ck_model_input_grad (NULL when off or for token ids). */
void ck_model_set_input_grad(ck_model *m, int on);
const float *ck_model_input_grad(const ck_model *m);
/* After an optimiser step: max-norm constraints (dense maxnorm=) and the
 * padding row 0 of embeddings kept at zero. */
void ck_model_constrain(ck_model *m);

/* Forward in inference mode plus the final softmax or sigmoid: probabilities
 * (or raw outputs for a linear final layer), (n, K), owned by the model. */
const float *ck_model_predict(ck_model *m, const void *x, const int32_t *lengths, int n);

/* Per-layer wall time of the last forward and backward, in seconds, for
 * benchmarks: fills up to cap entries, returns the number of layers. */
int ck_model_layer_times(const ck_model *m, double *fwd, double *bwd, int cap);

/* Adds the parameters (as f32 tensors named as in ck_arch.params) and the
 * metadata "arch" (canonical), "input_shape" ("1,28,28"), "input_kind"
 * ("f32" or "tokens") and "vocab_size" to out. */
int ck_model_to_tnz(const ck_model *m, ck_tnz *out, ck_err *err);
/* Builds a model from a TNZ written by ck_model_to_tnz (a model file or a
 * checkpoint): every parameter must be there with its exact shape; extra
 * tensors are ignored. */
ck_model *ck_model_from_tnz(const ck_tnz *in, ck_err *err);
/* Copies the parameters of in into m (same architecture): for --init. */
int ck_model_load_params(ck_model *m, const ck_tnz *in, ck_err *err);

#endif
