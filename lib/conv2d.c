/* conv2d.c: 2-D convolution over NCHW images, forward and backward.
 *
 * The fast path lowers each image to a GEMM. im2col copies the receptive
 * fields of one image into col (C*KH*KW, OH*OW): row r = (c,kh,kw), column
 * p = (oh,ow). Then
 *
 *   out_n (OC,P)      = weight (OC,CKK) x col (CKK,P)
 *   dweight (OC,CKK) += dout_n (OC,P) x col^T (P,CKK)
 *   dcol (CKK,P)      = weight^T (CKK,OC) x dout_n (OC,P), then col2im adds
 *                       dcol back into dinp_n (the adjoint of im2col).
 *
 * Parallelism is over images, not inside the GEMM: the GEMMs of one image are
 * small (OC of 8 to 128 rows), im2col and col2im are memory-bound loops that
 * would otherwise run on one core, and a chunk of images per thread needs no
 * synchronisation. The images are split into nchunks = min(nthreads, N)
 * contiguous chunks, chunk c using ws slice c; the weight gradient of a
 * chunk goes to its own partial buffer, and the partials are added to dweight
 * in chunk order, so the bits depend on nthreads only. With a single chunk
 * (one image, or nthreads == 1) no parallel region is opened and ck_sgemm is
 * free to thread on its own.
 */
#include <assert.h>
#include <string.h>

#include "cnnkit.h"

/* ---- reference: direct loops, sums in double --------------------------- */

void ck_conv2d_forward_ref(float *out, const float *inp, const float *weight,
                           const float *bias, const ck_conv2d_dims *d)
{
	for (int n = 0; n < d->N; n++)
		for (int oc = 0; oc < d->OC; oc++)
			for (int oh = 0; oh < d->OH; oh++)
				for (int ow = 0; ow < d->OW; ow++) {
					double acc = bias ? bias[oc] : 0.0;
					for (int c = 0; c < d->C; c++)
						for (int kh = 0; kh < d->KH; kh++) {
							int ih = oh * d->SH - d->PH + kh;
							if (ih < 0 || ih >= d->H)
								continue;
							for (int kw = 0; kw < d->KW; kw++) {
								int iw = ow * d->SW - d->PW + kw;
								if (iw < 0 || iw >= d->W)
									continue;
								size_t i = (((size_t)n * d->C + c) * d->H + ih) * d->W + iw;
								size_t w = (((size_t)oc * d->C + c) * d->KH + kh) * d->KW + kw;
								acc += (double)inp[i] * weight[w];
							}
						}
					out[(((size_t)n * d->OC + oc) * d->OH + oh) * d->OW + ow] = (float)acc;
				}
}

void ck_conv2d_backward_ref(float *dinp, float *dweight, float *dbias,
                            const float *dout, const float *inp,
                            const float *weight, const ck_conv2d_dims *d)
{
	size_t P = (size_t)d->OH * d->OW;
	if (dbias)
		for (int oc = 0; oc < d->OC; oc++) {
			double acc = 0.0;
			for (int n = 0; n < d->N; n++)
				for (size_t p = 0; p < P; p++)
					acc += dout[((size_t)n * d->OC + oc) * P + p];
			dbias[oc] += (float)acc;
		}
	if (dweight)
		for (int oc = 0; oc < d->OC; oc++)
			for (int c = 0; c < d->C; c++)
				for (int kh = 0; kh < d->KH; kh++)
					for (int kw = 0; kw < d->KW; kw++) {
						double acc = 0.0;
						for (int n = 0; n < d->N; n++)
							for (int oh = 0; oh < d->OH; oh++) {
								int ih = oh * d->SH - d->PH + kh;
								if (ih < 0 || ih >= d->H)
									continue;
								for (int ow = 0; ow < d->OW; ow++) {
									int iw = ow * d->SW - d->PW + kw;
									if (iw < 0 || iw >= d->W)
										continue;
									size_t i = (((size_t)n * d->C + c) * d->H + ih) * d->W + iw;
									size_t o = (((size_t)n * d->OC + oc) * d->OH + oh) * d->OW + ow;
									acc += (double)dout[o] * inp[i];
								}
							}
						dweight[(((size_t)oc * d->C + c) * d->KH + kh) * d->KW + kw] += (float)acc;
					}
	if (dinp)
		for (int n = 0; n < d->N; n++)
			for (int c = 0; c < d->C; c++)
				for (int ih = 0; ih < d->H; ih++)
					for (int iw = 0; iw < d->W; iw++) {
						/* Gather: every (oh,kh) with oh*SH-PH+kh == ih, and so for w. */
						double acc = 0.0;
						for (int kh = 0; kh < d->KH; kh++) {
							int sh = ih + d->PH - kh;
							if (sh < 0 || sh % d->SH)
								continue;
							int oh = sh / d->SH;
							if (oh >= d->OH)
								continue;
							for (int kw = 0; kw < d->KW; kw++) {
								int sw = iw + d->PW - kw;
								if (sw < 0 || sw % d->SW)
									continue;
								int ow = sw / d->SW;
								if (ow >= d->OW)
									continue;
								for (int oc = 0; oc < d->OC; oc++) {
									size_t o = (((size_t)n * d->OC + oc) * d->OH + oh) * d->OW + ow;
									size_t w = (((size_t)oc * d->C + c) * d->KH + kh) * d->KW + kw;
									acc += (double)dout[o] * weight[w];
								}
							}
						}
						dinp[(((size_t)n * d->C + c) * d->H + ih) * d->W + iw] += (float)acc;
					}
}

/* ---- fast: im2col + ck_sgemm ------------------------------------------- */

/* A 1x1 stride-1 unpadded convolution whose output covers the input: the
 * image plane (C, H*W) is already its own col matrix. */
static int is_pointwise(const ck_conv2d_dims *d)
{
	return d->KH == 1 && d->KW == 1 && d->SH == 1 && d->SW == 1 &&
	       d->PH == 0 && d->PW == 0 && d->OH == d->H && d->OW == d->W;
}

static int chunk_count(const ck_conv2d_dims *d, int nthreads)
{
	assert(nthreads >= 1);
	return d->N < nthreads ? (d->N > 0 ? d->N : 1) : nthreads;
}

static size_t col_size(const ck_conv2d_dims *d)
{
	if (is_pointwise(d))
		return 0;
	return (size_t)d->C * d->KH * d->KW * d->OH * d->OW;
}

/* Slice i of size floats of ws; NULL when there is nothing to carve (the
 * caller may pass ws = NULL when the workspace size is 0). */
static float *ws_slice(float *ws, size_t i, size_t size)
{
	return size ? ws + i * size : NULL;
}

size_t ck_conv2d_workspace_size(const ck_conv2d_dims *d, int nthreads)
{
	size_t chunks = (size_t)chunk_count(d, nthreads);
	size_t partial = chunks > 1 ? (size_t)d->OC * d->C * d->KH * d->KW : 0;
	return chunks * (col_size(d) + partial);
}

/* The range of output positions o in [0,nout) whose input index
 * o*stride - pad + k falls inside [0,n): [*lo,*hi), possibly empty. */
static void valid_range(int nout, int n, int stride, int pad, int k, int *lo, int *hi)
{
	int first = pad - k; /* o*stride >= first */
	int l = first <= 0 ? 0 : (first + stride - 1) / stride;
	int last = n - 1 + pad - k; /* o*stride <= last */
	int h = last < 0 ? 0 : last / stride + 1;
	*lo = l < nout ? l : nout;
	*hi = h < nout ? h : nout;
	if (*hi < *lo)
		*hi = *lo;
}

/* col (C*KH*KW, OH*OW) <- the receptive fields of img (C,H,W), zero outside. */
static void im2col(float *col, const float *img, const ck_conv2d_dims *d)
{
	int OH = d->OH, OW = d->OW;
	for (int c = 0; c < d->C; c++)
		for (int kh = 0; kh < d->KH; kh++)
			for (int kw = 0; kw < d->KW; kw++) {
				float *row = col + (((size_t)c * d->KH + kh) * d->KW + kw) * OH * OW;
				int ow_lo, ow_hi;
				valid_range(OW, d->W, d->SW, d->PW, kw, &ow_lo, &ow_hi);
				for (int oh = 0; oh < OH; oh++) {
					float *dst = row + (size_t)oh * OW;
					int ih = oh * d->SH - d->PH + kh;
					if (ih < 0 || ih >= d->H) {
						memset(dst, 0, sizeof(float) * OW);
						continue;
					}
					const float *src = img + ((size_t)c * d->H + ih) * d->W;
					int shift = kw - d->PW; /* iw = ow*SW + shift */
					for (int ow = 0; ow < ow_lo; ow++)
						dst[ow] = 0.0f;
					if (d->SW == 1 && ow_hi > ow_lo)
						memcpy(dst + ow_lo, src + ow_lo + shift, sizeof(float) * (ow_hi - ow_lo));
					else
						for (int ow = ow_lo; ow < ow_hi; ow++)
							dst[ow] = src[ow * d->SW + shift];
					for (int ow = ow_hi; ow < OW; ow++)
						dst[ow] = 0.0f;
				}
			}
}

/* img (C,H,W) += col (C*KH*KW, OH*OW) scattered back: the adjoint of im2col. */
static void col2im_add(float *img, const float *col, const ck_conv2d_dims *d)
{
	int OH = d->OH, OW = d->OW;
	for (int c = 0; c < d->C; c++)
		for (int kh = 0; kh < d->KH; kh++)
			for (int kw = 0; kw < d->KW; kw++) {
				const float *row = col + (((size_t)c * d->KH + kh) * d->KW + kw) * OH * OW;
				int ow_lo, ow_hi;
				valid_range(OW, d->W, d->SW, d->PW, kw, &ow_lo, &ow_hi);
				for (int oh = 0; oh < OH; oh++) {
					int ih = oh * d->SH - d->PH + kh;
					if (ih < 0 || ih >= d->H)
						continue;
					const float *src = row + (size_t)oh * OW;
					float *dst = img + ((size_t)c * d->H + ih) * d->W;
					int shift = kw - d->PW;
					for (int ow = ow_lo; ow < ow_hi; ow++)
						dst[ow * d->SW + shift] += src[ow];
				}
			}
}

void ck_conv2d_forward(float *out, const float *inp, const float *weight,
                       const float *bias, const ck_conv2d_dims *d,
                       float *ws, int nthreads)
{
	int chunks = chunk_count(d, nthreads);
	int pointwise = is_pointwise(d);
	int CKK = d->C * d->KH * d->KW;
	int P = d->OH * d->OW;
	size_t in_plane = (size_t)d->C * d->H * d->W, out_plane = (size_t)d->OC * P;

#pragma omp parallel for schedule(static) num_threads(chunks) if (chunks > 1)
	for (int ch = 0; ch < chunks; ch++) {
		float *col = ws_slice(ws, (size_t)ch, col_size(d));
		int n_end = (int)((int64_t)d->N * (ch + 1) / chunks);
		for (int n = (int)((int64_t)d->N * ch / chunks); n < n_end; n++) {
			const float *img = inp + n * in_plane;
			float *o = out + n * out_plane;
			if (!pointwise) {
				im2col(col, img, d);
				img = col;
			}
			if (bias)
				for (int oc = 0; oc < d->OC; oc++)
					for (int p = 0; p < P; p++)
						o[(size_t)oc * P + p] = bias[oc];
			ck_sgemm(0, 0, d->OC, P, CKK, 1.0f, weight, CKK, img, P,
			         bias ? 1.0f : 0.0f, o, P);
		}
	}
}

void ck_conv2d_backward(float *dinp, float *dweight, float *dbias,
                        const float *dout, const float *inp,
                        const float *weight, const ck_conv2d_dims *d,
                        float *ws, int nthreads)
{
	int chunks = chunk_count(d, nthreads);
	int pointwise = is_pointwise(d);
	int CKK = d->C * d->KH * d->KW;
	int P = d->OH * d->OW;
	size_t in_plane = (size_t)d->C * d->H * d->W, out_plane = (size_t)d->OC * P;
	size_t wsize = (size_t)d->OC * CKK;
	/* The partial weight gradients follow the chunks' col buffers. */
	float *partials = chunks > 1 && dweight ? ws + (size_t)chunks * col_size(d) : NULL;

	/* The two cheap loops (bias sums, partial reduction) thread only when
	 * they are worth a parallel region. */
	if (dbias) {
#pragma omp parallel for schedule(static) num_threads(nthreads) if (d->N * out_plane >= 65536)
		for (int oc = 0; oc < d->OC; oc++) {
			double acc = 0.0;
			for (int n = 0; n < d->N; n++) {
				const float *g = dout + n * out_plane + (size_t)oc * P;
				for (int p = 0; p < P; p++)
					acc += g[p];
			}
			dbias[oc] += (float)acc;
		}
	}
	if (!dinp && !dweight)
		return;

#pragma omp parallel for schedule(static) num_threads(chunks) if (chunks > 1)
	for (int ch = 0; ch < chunks; ch++) {
		float *col = ws_slice(ws, (size_t)ch, col_size(d));
		/* One chunk accumulates straight into dweight; several each start a
		 * fresh partial (beta 0 on their first image). */
		float *dw = partials ? partials + (size_t)ch * wsize : dweight;
		int n_begin = (int)((int64_t)d->N * ch / chunks);
		int n_end = (int)((int64_t)d->N * (ch + 1) / chunks);
		for (int n = n_begin; n < n_end; n++) {
			const float *g = dout + n * out_plane;
			if (dweight) {
				const float *img = inp + n * in_plane;
				if (!pointwise) {
					im2col(col, img, d);
					img = col;
				}
				float beta = chunks > 1 && n == n_begin ? 0.0f : 1.0f;
				ck_sgemm(0, 1, d->OC, CKK, P, 1.0f, g, P, img, P, beta, dw, CKK);
			}
			if (dinp) {
				float *di = dinp + n * in_plane;
				if (pointwise) {
					ck_sgemm(1, 0, d->C, P, d->OC, 1.0f, weight, CKK, g, P, 1.0f, di, P);
				} else {
					ck_sgemm(1, 0, CKK, P, d->OC, 1.0f, weight, CKK, g, P, 0.0f, col, P);
					col2im_add(di, col, d);
				}
			}
		}
	}

	if (dweight && chunks > 1) {
#pragma omp parallel for schedule(static) num_threads(nthreads) if (wsize >= 16384)
		for (size_t i = 0; i < wsize; i++) {
			float acc = dweight[i];
			for (int ch = 0; ch < chunks; ch++)
				acc += partials[(size_t)ch * wsize + i];
			dweight[i] = acc;
		}
	}
}
