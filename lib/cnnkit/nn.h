/* cnnkit/nn.h: layer kernels: convolution, dense, pooling, embedding, residual add.
 *
 * Every op is a pair of free functions in the order of llm.c:
 *
 *   ck_<op>_forward(out, saved..., inp..., weight, bias, dims)
 *   ck_<op>_backward(dinp, dweight, dbias, dout, saved..., inp, weight, dims)
 *
 * and has a plain twin ck_<op>_forward_ref / ck_<op>_backward_ref: direct
 * loops, no workspace, no threads, sums in double. The twins are the test
 * oracle and the fallback; the fast versions must agree with them to float
 * rounding.
 *
 * Conventions shared by every kernel:
 * - Tensors are f32 (ids and argmax int32), dense and row-major. Images are
 *   NCHW; text is channels-last (N,T,C).
 * - Shapes live in a small struct per op, passed by const pointer. Offsets
 *   are computed in size_t.
 * - Forward writes every element of its outputs (they may hold garbage).
 * - Backward ADDS into the gradient buffers; the caller zeroes them once per
 *   step. Any gradient pointer may be NULL when it is not wanted (e.g. dinp
 *   of the first layer); that part of the work is then skipped.
 * - Kernels never allocate, print or exit. Scratch comes from the caller as
 *   `float *ws` of ck_<op>_workspace_size(...) floats.
 * - Results are bit-identical from run to run for the same arguments
 *   (including nthreads where there is one): every sum has a fixed order.
 */
#ifndef CNNKIT_NN_H
#define CNNKIT_NN_H

#include <stddef.h>
#include <stdint.h>

/* Output size of a valid (unpadded) window of size k sliding by stride over n
 * elements, rounded down: pooling and valid convolution. 0 when n < k. */
static inline int ck_nn_valid_size(int n, int k, int stride)
{
	return n < k ? 0 : (n - k) / stride + 1;
}

/* Output size of TF/Keras "same" padding, ceil(n / stride), and the padding
 * before the first element (top or left) in *pad_before. The total padding is
 * whatever makes the last window fit; when it is odd the extra element goes
 * after (bottom or right), which the kernels imply from the output size. */
static inline int ck_nn_same_size(int n, int k, int stride, int *pad_before)
{
	int out = (n + stride - 1) / stride;
	int total = (out - 1) * stride + k - n;
	*pad_before = total > 0 ? total / 2 : 0;
	return out;
}

/* ---- conv2d ------------------------------------------------------------ */

/* inp (N,C,H,W), weight (OC,C,KH,KW), bias (OC) or NULL, out (N,OC,OH,OW).
 * Stride (SH,SW); zero padding PH rows on top and PW columns on the left.
 * OH and OW are the caller's: the padding at the bottom and right is whatever
 * they imply, so asymmetric "same" padding is expressible. Output (oh,ow)
 * reads input rows oh*SH-PH .. oh*SH-PH+KH-1, and columns likewise; any of
 * them outside the image reads zero. */
typedef struct ck_conv2d_dims {
	int N, C, H, W;
	int OC, KH, KW;
	int SH, SW, PH, PW;
	int OH, OW;
} ck_conv2d_dims;

/* Floats of ws for ck_conv2d_forward, ck_conv2d_forward_act and
 * ck_conv2d_backward with the same dims and nthreads, and for any smaller N:
 * per thread, an im2col buffer (C*KH*KW, g*OH*OW) and an output buffer
 * (OC, g*OH*OW) for a group of g images (about 2 MiB together), and one
 * partial weight gradient (OC, C*KH*KW) when nthreads > 1. */
size_t ck_conv2d_workspace_size(const ck_conv2d_dims *d, int nthreads);

/* im2col + one ck_sgemm per group of images. The images are split into
 * min(nthreads, N) contiguous chunks run in parallel, each with its own slice
 * of ws; the chunking, and so every bit of the result, depends on N and
 * nthreads only, never on how many threads OpenMP actually provides. With one
 * chunk the GEMM threads itself instead. nthreads >= 1. */
void ck_conv2d_forward(float *out, const float *inp, const float *weight,
                       const float *bias, const ck_conv2d_dims *d,
                       float *ws, int nthreads);

/* An activation a kernel can apply to its output on the way out. */
typedef enum ck_nn_act {
	CK_NN_ACT_NONE = 0,
	CK_NN_ACT_RELU = 1, /* max(0, x), as ck_relu_forward */
} ck_nn_act;

/* ck_conv2d_forward followed by act on out, in the same pass over out:
 * bit-identical to ck_conv2d_forward then ck_relu_forward. */
void ck_conv2d_forward_act(float *out, const float *inp, const float *weight,
                           const float *bias, const ck_conv2d_dims *d, ck_nn_act act,
                           float *ws, int nthreads);
/* dinp (N,C,H,W) += weight^T x dout, scattered back by col2im;
 * dweight (OC,C,KH,KW) += dout x col^T, summed per chunk then over the chunks
 * in order; dbias (OC) += dout summed over N,OH,OW. */
void ck_conv2d_backward(float *dinp, float *dweight, float *dbias,
                        const float *dout, const float *inp,
                        const float *weight, const ck_conv2d_dims *d,
                        float *ws, int nthreads);
/* ck_conv2d_backward from dout, the gradient w.r.t. act(conv), and out, the
 * output of ck_conv2d_forward_act (what act returned): the gradient through
 * act is taken on the way in (out is not read for CK_NN_ACT_NONE). The same
 * sums as ck_relu_backward into a zeroed buffer, then ck_conv2d_backward. */
void ck_conv2d_backward_act(float *dinp, float *dweight, float *dbias,
                            const float *dout, const float *out, const float *inp,
                            const float *weight, const ck_conv2d_dims *d, ck_nn_act act,
                            float *ws, int nthreads);
void ck_conv2d_forward_ref(float *out, const float *inp, const float *weight,
                           const float *bias, const ck_conv2d_dims *d);
void ck_conv2d_backward_ref(float *dinp, float *dweight, float *dbias,
                            const float *dout, const float *inp,
                            const float *weight, const ck_conv2d_dims *d);

/* ---- conv1d (text, channels-last) -------------------------------------- */

/* inp (N,T,C), weight (F,K,C), bias (F) or NULL, out (N,TO,F) with
 * TO = T-K+1 (0 when T < K: nothing is read or written): valid padding,
 * stride 1. valid (N) or NULL: the output steps wanted of each sequence,
 * clipped to [1,TO] as in ck_globalmaxpool1d (NULL: all TO). Steps past
 * valid[n] are written 0 by forward and their dout is ignored by backward,
 * so that the padding of short sentences costs nothing when a max over the
 * valid steps follows. */
typedef struct ck_conv1d_dims {
	int N, T, C;
	int F, K;
} ck_conv1d_dims;

/* Floats of ws for ck_conv1d_forward and ck_conv1d_backward with these dims
 * (and any smaller N): N*T*(2C+F). */
size_t ck_conv1d_workspace_size(const ck_conv1d_dims *d);
/* The sequences of the batch one after the other form one run of rows, and
 * its windows one GEMM with the weights (lda = C, no im2col); act
 * (CK_NN_ACT_RELU or NONE) is applied on the way out. The GEMMs thread
 * themselves. */
void ck_conv1d_forward(float *out, const float *inp, const int32_t *valid, const float *weight,
                       const float *bias, const ck_conv1d_dims *d, ck_nn_act act, float *ws);
/* dinp (N,T,C), dweight (F,K,C), dbias (F) += the gradients from dout, the
 * gradient w.r.t. act(conv); out, what forward returned, is read for the
 * ReLU only. */
void ck_conv1d_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                        const float *out, const float *inp, const int32_t *valid,
                        const float *weight, const ck_conv1d_dims *d, ck_nn_act act, float *ws);
/* The references have no activation (follow with ck_relu_forward). */
void ck_conv1d_forward_ref(float *out, const float *inp, const int32_t *valid,
                           const float *weight, const float *bias, const ck_conv1d_dims *d);
void ck_conv1d_backward_ref(float *dinp, float *dweight, float *dbias,
                            const float *dout, const float *inp, const int32_t *valid,
                            const float *weight, const ck_conv1d_dims *d);

/* ---- dense ------------------------------------------------------------- */

/* inp (N,IN), weight (OUT,IN) (PyTorch layout), bias (OUT) or NULL,
 * out (N,OUT) = inp x weight^T + bias. The fast version is ck_sgemm. */
typedef struct ck_dense_dims {
	int N, IN, OUT;
} ck_dense_dims;

void ck_dense_forward(float *out, const float *inp, const float *weight,
                      const float *bias, const ck_dense_dims *d);
void ck_dense_backward(float *dinp, float *dweight, float *dbias,
                       const float *dout, const float *inp,
                       const float *weight, const ck_dense_dims *d);
void ck_dense_forward_ref(float *out, const float *inp, const float *weight,
                          const float *bias, const ck_dense_dims *d);
void ck_dense_backward_ref(float *dinp, float *dweight, float *dbias,
                           const float *dout, const float *inp,
                           const float *weight, const ck_dense_dims *d);

/* ---- maxpool2d, avgpool2d ---------------------------------------------- */

/* inp (N,C,H,W), out (N,C,OH,OW) with OH = ck_nn_valid_size(H,KH,SH) and
 * OW = ck_nn_valid_size(W,KW,SW): window (KH,KW), stride (SH,SW), no padding.
 * maxpool saves argmax (N,C,OH,OW): the index ih*W+iw of the winner in its
 * input plane. Ties go to the first in row-major order of the window; a NaN
 * wins over numbers, so it propagates. avgpool divides by KH*KW. */
typedef struct ck_pool2d_dims {
	int N, C, H, W;
	int KH, KW, SH, SW;
} ck_pool2d_dims;

void ck_maxpool2d_forward(float *out, int32_t *argmax, const float *inp,
                          const ck_pool2d_dims *d);
void ck_maxpool2d_backward(float *dinp, const float *dout,
                           const int32_t *argmax, const ck_pool2d_dims *d);
void ck_maxpool2d_forward_ref(float *out, int32_t *argmax, const float *inp,
                              const ck_pool2d_dims *d);
void ck_maxpool2d_backward_ref(float *dinp, const float *dout,
                               const int32_t *argmax, const ck_pool2d_dims *d);

void ck_avgpool2d_forward(float *out, const float *inp, const ck_pool2d_dims *d);
void ck_avgpool2d_backward(float *dinp, const float *dout,
                           const ck_pool2d_dims *d);
void ck_avgpool2d_forward_ref(float *out, const float *inp,
                              const ck_pool2d_dims *d);
void ck_avgpool2d_backward_ref(float *dinp, const float *dout,
                               const ck_pool2d_dims *d);

/* ---- global pooling over H,W ------------------------------------------- */

/* inp (N,C,H,W), out (N,C): the mean or the maximum of each plane.
 * The max saves argmax (N,C) = ih*W+iw, ties and NaN as in maxpool2d. */
typedef struct ck_globalpool2d_dims {
	int N, C, H, W;
} ck_globalpool2d_dims;

void ck_globalavgpool2d_forward(float *out, const float *inp,
                                const ck_globalpool2d_dims *d);
void ck_globalavgpool2d_backward(float *dinp, const float *dout,
                                 const ck_globalpool2d_dims *d);
void ck_globalavgpool2d_forward_ref(float *out, const float *inp,
                                    const ck_globalpool2d_dims *d);
void ck_globalavgpool2d_backward_ref(float *dinp, const float *dout,
                                     const ck_globalpool2d_dims *d);

void ck_globalmaxpool2d_forward(float *out, int32_t *argmax, const float *inp,
                                const ck_globalpool2d_dims *d);
void ck_globalmaxpool2d_backward(float *dinp, const float *dout,
                                 const int32_t *argmax,
                                 const ck_globalpool2d_dims *d);
void ck_globalmaxpool2d_forward_ref(float *out, int32_t *argmax,
                                    const float *inp,
                                    const ck_globalpool2d_dims *d);
void ck_globalmaxpool2d_backward_ref(float *dinp, const float *dout,
                                     const int32_t *argmax,
                                     const ck_globalpool2d_dims *d);

/* ---- global max pooling over time (text) -------------------------------- */

/* inp (N,T,C), valid (N) or NULL, out (N,C), argmax (N,C) = the time step t
 * of the winner. valid[n] is the number of real time steps of row n, clipped
 * to [1,T]; NULL means all T. Positions t >= valid[n] never win, whatever
 * they hold. Ties and NaN as in maxpool2d (the earliest t wins a tie). */
typedef struct ck_globalmaxpool1d_dims {
	int N, T, C;
} ck_globalmaxpool1d_dims;

void ck_globalmaxpool1d_forward(float *out, int32_t *argmax, const float *inp,
                                const int32_t *valid,
                                const ck_globalmaxpool1d_dims *d);
void ck_globalmaxpool1d_backward(float *dinp, const float *dout,
                                 const int32_t *argmax,
                                 const ck_globalmaxpool1d_dims *d);
void ck_globalmaxpool1d_forward_ref(float *out, int32_t *argmax,
                                    const float *inp, const int32_t *valid,
                                    const ck_globalmaxpool1d_dims *d);
void ck_globalmaxpool1d_backward_ref(float *dinp, const float *dout,
                                     const int32_t *argmax,
                                     const ck_globalmaxpool1d_dims *d);

/* ---- embedding ---------------------------------------------------------- */

/* ids (N,T) in [0,V), table (V,D), out (N,T,D): out[n,t] = table[ids[n,t]].
 * Id 0 is padding: forward copies row 0 like any other (keep it zero), and
 * backward never adds to dtable row 0, so it stays as initialised. The
 * caller validates ids; the kernels trust them. */
typedef struct ck_embedding_dims {
	int N, T, V, D;
} ck_embedding_dims;

void ck_embedding_forward(float *out, const int32_t *ids, const float *table,
                          const ck_embedding_dims *d);
/* dtable (V,D) += dout (N,T,D) rows, scattered by id. Threads split the D
 * columns, so repeated ids are summed in position order with no race. */
void ck_embedding_backward(float *dtable, const float *dout,
                           const int32_t *ids, const ck_embedding_dims *d);
void ck_embedding_forward_ref(float *out, const int32_t *ids,
                              const float *table, const ck_embedding_dims *d);
void ck_embedding_backward_ref(float *dtable, const float *dout,
                               const int32_t *ids, const ck_embedding_dims *d);

/* ---- residual add -------------------------------------------------------- */

/* out (n) = a + b; backward adds dout into da and db (either may be NULL).
 * out may alias a or b. */
void ck_add_forward(float *out, const float *a, const float *b, size_t n);
void ck_add_backward(float *da, float *db, const float *dout, size_t n);
void ck_add_forward_ref(float *out, const float *a, const float *b, size_t n);
void ck_add_backward_ref(float *da, float *db, const float *dout, size_t n);

#endif
