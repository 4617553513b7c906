/* cnnkit.h: the public API of libcnnkit.
 *
 * Conventions: every symbol is prefixed ck_; functions that can fail return 0
 * (or a valid pointer) on success and -1 (or NULL) on failure with a message
 * in a caller-provided ck_err; the library never prints, never exits and never
 * aborts on bad input. Sizes and offsets are size_t or int64_t. */
#ifndef CNNKIT_H
#define CNNKIT_H

#ifdef __cplusplus
extern "C" {
#endif

#include "cnnkit/base.h" /* errors, dtypes */
#include "cnnkit/file.h" /* output files replaced atomically */
#include "cnnkit/tnz.h"  /* the TNZ tensor file format: reader, writer, metadata */
#include "cnnkit/io.h"   /* NumPy .npy/.npz, IDX, CSV import and export */
#include "cnnkit/gemm.h" /* SGEMM: reference and optimised */
#include "cnnkit/nn.h"   /* layer kernels: convolution, dense, pooling, embedding */
#include "cnnkit/learn.h" /* activations, normalisation, dropout, losses, optimisers, rng */
#include "cnnkit/arch.h" /* the architecture language and model shapes */
#include "cnnkit/model.h" /* a network: parameters, forward, backward, save, load */
#include "cnnkit/data.h" /* datasets, batches, augmentation, metrics */
#include "cnnkit/train.h" /* the training loop, checkpoints, logs */
#include "cnnkit/dist.h"  /* data-parallel communication: MPI, or one process */
#include "cnnkit/image.h" /* image decoding (PNG, JPEG, PNM), resizing, PNG writing */
#include "cnnkit/plot.h" /* training logs read and drawn: PNG, SVG, terminal */
#include "cnnkit/text.h" /* UTF-8 tokenizer and vocabularies */
#include "cnnkit/embed.h" /* word2vec training and word-vector files */

#ifdef __cplusplus
}
#endif
#endif
