/* conv2d.c: 2-D convolution over NCHW images, forward and backward.
 *
 * The fast path lowers a group of nb images to one GEMM. im2col copies the
 * receptive fields of each image of the group into its columns of col
 * (C*KH*KW, nb*OH*OW): row r = (c,kh,kw), column j*P + p = (image j, oh, ow).
 * With y (OC, nb*P) holding the group's outputs (or output gradients) side by
 * side,
 *
 *   y (OC, nb*P)      = weight (OC,CKK) x col (CKK, nb*P), then bias (and a
 *                       fused ReLU) on the way to each image's out_n (OC,P)
 *   dweight (OC,CKK) += y (OC, nb*P) x col^T (nb*P, CKK)
 *   dcol (CKK, nb*P)  = weight^T (CKK,OC) x y (OC, nb*P), then col2im adds
 *                       each image's columns back into dinp_n (the adjoint
 *                       of im2col).
 *
 * One GEMM per group rather than per image: the weights are packed once per
 * group, the long side (nb*P) fills the micro-kernel's tiles, and the weight
 * gradient sums over nb*P at once. A group holds as many images as 2 MiB of
 * col and y take (conv 64 3 on 14x14: 7 images), so both stay in the outer
 * caches between the copy and the GEMM.
 *
 * Parallelism is over images, not inside the GEMM: im2col, col2im and the
 * copies are memory-bound loops that would otherwise run on one core, and a
 * chunk of images per thread needs no synchronisation. The images are split
 * into nchunks = min(nthreads, N) contiguous chunks, chunk c using ws slice
 * c; the weight gradient of a chunk goes to its own partial buffer, and the
 * partials are added to dweight in chunk order, so the bits depend on N and
 * nthreads only. With a single chunk (one image, or nthreads == 1) no
 * parallel region is opened and ck_sgemm is free to thread on its own.
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

/* ---- fast: im2col + ck_sgemm over groups of images ---------------------- */

/* Floats of col and y per group (2 MiB): a group's buffers stay in the
 * outer caches between im2col and the GEMM that reads them. */
#define GROUP_FLOATS ((size_t)1 << 19)

static int chunk_count(const ck_conv2d_dims *d, int nthreads)
{
	assert(nthreads >= 1);
	return d->N < nthreads ? (d->N > 0 ? d->N : 1) : nthreads;
}

/* Images per group: as many as GROUP_FLOATS holds, at least 1, at most a
 * chunk. Grows with N for a given nthreads, so the workspace planned for the
 * largest batch serves every smaller one. */
static int group_size(const ck_conv2d_dims *d, int chunks)
{
	size_t per_image = ((size_t)d->C * d->KH * d->KW + (size_t)d->OC) * d->OH * d->OW;
	size_t fit = per_image ? GROUP_FLOATS / per_image : 1;
	size_t chunk = d->N > 0 ? ((size_t)d->N + chunks - 1) / chunks : 1;
	size_t g = fit < chunk ? fit : chunk;
	return g ? (int)g : 1;
}

/* Floats of one chunk's slice of ws: col (CKK, g*P), y (OC, g*P), and a
 * partial weight gradient (OC, CKK) when there are several chunks. */
static size_t chunk_floats(const ck_conv2d_dims *d, int chunks)
{
	size_t P = (size_t)d->OH * d->OW, CKK = (size_t)d->C * d->KH * d->KW;
	size_t partial = chunks > 1 ? (size_t)d->OC * CKK : 0;
	return (size_t)group_size(d, chunks) * (CKK + (size_t)d->OC) * P + partial;
}

size_t ck_conv2d_workspace_size(const ck_conv2d_dims *d, int nthreads)
{
	int chunks = chunk_count(d, nthreads);
	return (size_t)chunks * chunk_floats(d, chunks);
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

/* Whether the output plane has the input's geometry (stride 1, OW == W):
 * then a tap's valid rows are one contiguous run of the input plane, and
 * im2col and col2im move each (c,kh,kw) row as one block, fixing up the few
 * columns that fall off the left and right edges after. */
static int same_plane(const ck_conv2d_dims *d)
{
	return d->SH == 1 && d->SW == 1 && d->OW == d->W;
}

/* Zeroes columns [0, ow_lo) and [ow_hi, OW) of rows [oh_lo, oh_hi) of a
 * plane of OW columns: a column at a time, as they are one or two wide (a
 * loop along a row would become a memset call per row). */
static void zero_columns(float *plane, int OW, int oh_lo, int oh_hi, int ow_lo, int ow_hi)
{
	for (int ow = 0; ow < OW; ow++) {
		if (ow == ow_lo)
			ow = ow_hi;
		if (ow >= OW)
			break;
		for (int oh = oh_lo; oh < oh_hi; oh++)
			plane[(size_t)oh * OW + ow] = 0.0f;
	}
}

/* col (C*KH*KW, OH*OW), rows ld floats apart, <- the receptive fields of
 * img (C,H,W), zero outside. */
static void im2col(float *col, size_t ld, const float *img, const ck_conv2d_dims *d)
{
	int OH = d->OH, OW = d->OW;
	int plane = same_plane(d);
	for (int c = 0; c < d->C; c++)
		for (int kh = 0; kh < d->KH; kh++) {
			int oh_lo, oh_hi;
			valid_range(OH, d->H, d->SH, d->PH, kh, &oh_lo, &oh_hi);
			for (int kw = 0; kw < d->KW; kw++) {
				float *row = col + (((size_t)c * d->KH + kh) * d->KW + kw) * ld;
				const float *src = img + (size_t)c * d->H * d->W;
				int shift = kw - d->PW; /* iw = ow*SW + shift */
				int ow_lo, ow_hi;
				valid_range(OW, d->W, d->SW, d->PW, kw, &ow_lo, &ow_hi);
				memset(row, 0, sizeof(float) * (size_t)oh_lo * OW);
				memset(row + (size_t)oh_hi * OW, 0, sizeof(float) * (size_t)(OH - oh_hi) * OW);
				if (plane && oh_hi > oh_lo && ow_hi > ow_lo) {
					/* Rows oh_lo..oh_hi-1 are input rows ih_lo.. shifted by
					 * `shift`: one copy from the first valid element to the
					 * last, then zeros where a row wrapped into its neighbour. */
					int ih_lo = oh_lo - d->PH + kh;
					size_t first = (size_t)oh_lo * OW + ow_lo;
					size_t last = (size_t)(oh_hi - 1) * OW + ow_hi; /* one past */
					memcpy(row + first, src + (size_t)ih_lo * d->W + ow_lo + shift,
					       sizeof(float) * (last - first));
					zero_columns(row, OW, oh_lo, oh_hi, ow_lo, ow_hi);
					continue;
				}
				for (int oh = oh_lo; oh < oh_hi; oh++) {
					float *dst = row + (size_t)oh * OW;
					const float *in = src + (size_t)(oh * d->SH - d->PH + kh) * d->W;
					for (int ow = 0; ow < ow_lo; ow++)
						dst[ow] = 0.0f;
					if (d->SW == 1 && ow_hi > ow_lo)
						memcpy(dst + ow_lo, in + ow_lo + shift, sizeof(float) * (ow_hi - ow_lo));
					else
						for (int ow = ow_lo; ow < ow_hi; ow++)
							dst[ow] = in[ow * d->SW + shift];
					for (int ow = ow_hi; ow < OW; ow++)
						dst[ow] = 0.0f;
				}
			}
		}
}

/* img (C,H,W) += col (C*KH*KW, OH*OW), rows ld floats apart, scattered
 * back: the adjoint of im2col. col is scratch: the plane path zeroes the
 * entries that fall outside the image so that it can add whole blocks. */
static void col2im_add(float *restrict img, float *restrict col, size_t ld,
                       const ck_conv2d_dims *d)
{
	int OH = d->OH, OW = d->OW;
	int plane = same_plane(d);
	for (int c = 0; c < d->C; c++)
		for (int kh = 0; kh < d->KH; kh++) {
			int oh_lo, oh_hi;
			valid_range(OH, d->H, d->SH, d->PH, kh, &oh_lo, &oh_hi);
			for (int kw = 0; kw < d->KW; kw++) {
				float *row = col + (((size_t)c * d->KH + kh) * d->KW + kw) * ld;
				float *dst = img + (size_t)c * d->H * d->W;
				int shift = kw - d->PW;
				int ow_lo, ow_hi;
				valid_range(OW, d->W, d->SW, d->PW, kw, &ow_lo, &ow_hi);
				if (plane && oh_hi > oh_lo && ow_hi > ow_lo) {
					zero_columns(row, OW, oh_lo, oh_hi, ow_lo, ow_hi);
					int ih_lo = oh_lo - d->PH + kh;
					size_t first = (size_t)oh_lo * OW + ow_lo;
					size_t count = (size_t)(oh_hi - 1) * OW + ow_hi - first;
					const float *from = row + first;
					float *to = dst + (size_t)ih_lo * d->W + ow_lo + shift;
#pragma omp simd
					for (size_t i = 0; i < count; i++)
						to[i] += from[i];
					continue;
				}
				for (int oh = oh_lo; oh < oh_hi; oh++) {
					const float *src = row + (size_t)oh * OW;
					float *out = dst + (size_t)(oh * d->SH - d->PH + kh) * d->W;
					for (int ow = ow_lo; ow < ow_hi; ow++)
						out[ow * d->SW + shift] += src[ow];
				}
			}
		}
}

static void chunk_range(const ck_conv2d_dims *d, int ch, int chunks, int *begin, int *end)
{
	*begin = (int)((int64_t)d->N * ch / chunks);
	*end = (int)((int64_t)d->N * (ch + 1) / chunks);
}

void ck_conv2d_forward(float *out, const float *inp, const float *weight,
                       const float *bias, const ck_conv2d_dims *d,
                       float *ws, int nthreads)
{
	ck_conv2d_forward_act(out, inp, weight, bias, d, CK_NN_ACT_NONE, ws, nthreads);
}

void ck_conv2d_forward_act(float *out, const float *inp, const float *weight,
                           const float *bias, const ck_conv2d_dims *d, ck_nn_act act,
                           float *ws, int nthreads)
{
	int chunks = chunk_count(d, nthreads);
	int g = group_size(d, chunks);
	int CKK = d->C * d->KH * d->KW;
	int P = d->OH * d->OW;
	size_t in_plane = (size_t)d->C * d->H * d->W, out_plane = (size_t)d->OC * P;
	size_t slice = chunk_floats(d, chunks);

#pragma omp parallel for schedule(static) num_threads(chunks) if (chunks > 1)
	for (int ch = 0; ch < chunks; ch++) {
		float *col = ws + (size_t)ch * slice;
		float *y = col + (size_t)g * CKK * P;
		int begin, end;
		chunk_range(d, ch, chunks, &begin, &end);
		for (int n0 = begin; n0 < end; n0 += g) {
			int nb = end - n0 < g ? end - n0 : g;
			size_t ld = (size_t)nb * P;
			for (int j = 0; j < nb; j++)
				im2col(col + (size_t)j * P, ld, inp + (n0 + j) * in_plane, d);
			/* y (OC, nb*P) = weight (OC, CKK) x col (CKK, nb*P) */
			ck_sgemm(0, 0, d->OC, (int)ld, CKK, 1.0f, weight, CKK, col, (int)ld, 0.0f, y,
			         (int)ld);
			/* out_n (OC, P) = y's columns of image n, plus bias, through act. */
			for (int j = 0; j < nb; j++)
				for (int oc = 0; oc < d->OC; oc++) {
					const float *src = y + (size_t)oc * ld + (size_t)j * P;
					float *dst = out + (n0 + j) * out_plane + (size_t)oc * P;
					float b = bias ? bias[oc] : 0.0f;
					if (act == CK_NN_ACT_RELU)
#pragma omp simd
						for (int p = 0; p < P; p++) {
							float v = src[p] + b;
							dst[p] = v > 0.0f ? v : 0.0f;
						}
					else
#pragma omp simd
						for (int p = 0; p < P; p++)
							dst[p] = src[p] + b;
				}
		}
	}
}

/* dbias (OC) += dout summed over N, OH, OW (where out > 0 when out is not
 * NULL: the gradient through a ReLU): each plane in float (vector lanes),
 * the planes in double. */
static void bias_backward(float *dbias, const float *dout, const float *out,
                          const ck_conv2d_dims *d, int nthreads)
{
	size_t P = (size_t)d->OH * d->OW, out_plane = (size_t)d->OC * P;
#pragma omp parallel for schedule(static) num_threads(nthreads) if (d->N * out_plane >= 65536)
	for (int oc = 0; oc < d->OC; oc++) {
		double acc = 0.0;
		for (int n = 0; n < d->N; n++) {
			size_t at = n * out_plane + (size_t)oc * P;
			const float *g = dout + at;
			float s = 0.0f;
			if (out) {
				const float *y = out + at;
#pragma omp simd reduction(+ : s)
				for (size_t p = 0; p < P; p++)
					s += y[p] > 0.0f ? g[p] : 0.0f;
			} else {
#pragma omp simd reduction(+ : s)
				for (size_t p = 0; p < P; p++)
					s += g[p];
			}
			acc += s;
		}
		dbias[oc] += (float)acc;
	}
}

void ck_conv2d_backward(float *dinp, float *dweight, float *dbias,
                        const float *dout, const float *inp,
                        const float *weight, const ck_conv2d_dims *d,
                        float *ws, int nthreads)
{
	ck_conv2d_backward_act(dinp, dweight, dbias, dout, NULL, inp, weight, d, CK_NN_ACT_NONE,
	                       ws, nthreads);
}

void ck_conv2d_backward_act(float *dinp, float *dweight, float *dbias,
                            const float *dout, const float *out, const float *inp,
                            const float *weight, const ck_conv2d_dims *d, ck_nn_act act,
                            float *ws, int nthreads)
{
	const float *mask = act == CK_NN_ACT_RELU ? out : NULL;
	int chunks = chunk_count(d, nthreads);
	int g = group_size(d, chunks);
	int CKK = d->C * d->KH * d->KW;
	int P = d->OH * d->OW;
	size_t in_plane = (size_t)d->C * d->H * d->W, out_plane = (size_t)d->OC * P;
	size_t wsize = (size_t)d->OC * CKK;
	size_t slice = chunk_floats(d, chunks);

	if (dbias)
		bias_backward(dbias, dout, mask, d, nthreads);
	if (!dinp && !dweight)
		return;

#pragma omp parallel for schedule(static) num_threads(chunks) if (chunks > 1)
	for (int ch = 0; ch < chunks; ch++) {
		float *col = ws + (size_t)ch * slice;
		float *y = col + (size_t)g * CKK * P;
		/* One chunk accumulates straight into dweight; several each start a
		 * fresh partial (beta 0 on their first group), after their y. */
		float *dw = chunks > 1 ? y + (size_t)g * d->OC * P : dweight;
		int begin, end;
		chunk_range(d, ch, chunks, &begin, &end);
		for (int n0 = begin; n0 < end; n0 += g) {
			int nb = end - n0 < g ? end - n0 : g;
			size_t ld = (size_t)nb * P;
			/* y (OC, nb*P) <- the gradients of the group's images side by
			 * side, through the ReLU. */
			for (int j = 0; j < nb; j++)
				for (int oc = 0; oc < d->OC; oc++) {
					size_t at = (n0 + j) * out_plane + (size_t)oc * P;
					float *dst = y + (size_t)oc * ld + (size_t)j * P;
					if (mask)
#pragma omp simd
						for (int p = 0; p < P; p++)
							dst[p] = mask[at + p] > 0.0f ? dout[at + p] : 0.0f;
					else
						memcpy(dst, dout + at, sizeof(float) * P);
				}
			if (dweight) {
				for (int j = 0; j < nb; j++)
					im2col(col + (size_t)j * P, ld, inp + (n0 + j) * in_plane, d);
				float beta = chunks > 1 && n0 == begin ? 0.0f : 1.0f;
				/* dw (OC, CKK) += y (OC, nb*P) x col^T (nb*P, CKK) */
				ck_sgemm(0, 1, d->OC, CKK, (int)ld, 1.0f, y, (int)ld, col, (int)ld, beta, dw,
				         CKK);
			}
			if (dinp) {
				/* col (CKK, nb*P) = weight^T (CKK, OC) x y (OC, nb*P) */
				ck_sgemm(1, 0, CKK, (int)ld, d->OC, 1.0f, weight, CKK, y, (int)ld, 0.0f, col,
				         (int)ld);
				for (int j = 0; j < nb; j++)
					col2im_add(dinp + (n0 + j) * in_plane, col + (size_t)j * P, ld, d);
			}
		}
	}

	if (dweight && chunks > 1) {
#pragma omp parallel for schedule(static) num_threads(nthreads) if (wsize >= 16384)
		for (size_t i = 0; i < wsize; i++) {
			float acc = dweight[i];
			for (int ch = 0; ch < chunks; ch++)
				acc += ws[(size_t)ch * slice + slice - wsize + i];
			dweight[i] = acc;
		}
	}
}
