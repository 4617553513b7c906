/* pool.c: pooling. maxpool2d and avgpool2d over (KH,KW) windows without
 * padding; global average and max over H,W; global max over time for text.
 *
 * The fast versions give each thread whole (n,c) planes (or whole sequences),
 * so every output and every scattered gradient has one writer, and sweep one
 * output row at a time with the window taps outside the inner loop over ow.
 * They visit the taps of each window in the same order as the references, so
 * argmax ties resolve identically: the first in row-major order wins.
 */
#include <assert.h>

#include "cnnkit.h"

/* Whether v replaces the current maximum best: when larger, or when v is NaN
 * and best is not (a NaN propagates rather than vanishing). */
static inline int beats(float v, float best)
{
	return v > best || (v != v && best == best);
}

/* ---- maxpool2d ---------------------------------------------------------- */

void ck_maxpool2d_forward_ref(float *out, int32_t *argmax, const float *inp,
                              const ck_pool2d_dims *d)
{
	int OH = ck_nn_valid_size(d->H, d->KH, d->SH);
	int OW = ck_nn_valid_size(d->W, d->KW, d->SW);
	for (size_t pl = 0; pl < (size_t)d->N * d->C; pl++)
		for (int oh = 0; oh < OH; oh++)
			for (int ow = 0; ow < OW; ow++) {
				const float *in = inp + pl * d->H * d->W;
				int best = (oh * d->SH) * d->W + ow * d->SW;
				for (int kh = 0; kh < d->KH; kh++)
					for (int kw = 0; kw < d->KW; kw++) {
						int i = (oh * d->SH + kh) * d->W + ow * d->SW + kw;
						if (beats(in[i], in[best]))
							best = i;
					}
				size_t o = (pl * OH + oh) * OW + ow;
				out[o] = in[best];
				argmax[o] = best;
			}
}

void ck_maxpool2d_backward_ref(float *dinp, const float *dout,
                               const int32_t *argmax, const ck_pool2d_dims *d)
{
	size_t P = (size_t)ck_nn_valid_size(d->H, d->KH, d->SH) *
	           ck_nn_valid_size(d->W, d->KW, d->SW);
	for (size_t pl = 0; pl < (size_t)d->N * d->C; pl++)
		for (size_t p = 0; p < P; p++)
			dinp[pl * d->H * d->W + argmax[pl * P + p]] += dout[pl * P + p];
}

/* Keeps (v, i) in (*best, *arg) when v beats *best; branch-free, so that
 * the loop over ow vectorises. */
static inline void take_if_beats(float v, int32_t i, float *best, int32_t *arg)
{
	int win = beats(v, *best);
	*best = win ? v : *best;
	*arg = win ? i : *arg;
}

/* The common 2x2 window with stride 2 (maxpool 2): one output row from two
 * input rows, the four taps in row-major order as in the reference. */
static void maxpool_row_2x2(float *restrict out, int32_t *restrict arg,
                            const float *restrict r0, const float *restrict r1, int32_t at,
                            int W, int OW)
{
#pragma omp simd
	for (int ow = 0; ow < OW; ow++) {
		int32_t i = at + 2 * ow;
		float best = r0[2 * ow];
		int32_t a = i;
		take_if_beats(r0[2 * ow + 1], i + 1, &best, &a);
		take_if_beats(r1[2 * ow], i + W, &best, &a);
		take_if_beats(r1[2 * ow + 1], i + W + 1, &best, &a);
		out[ow] = best;
		arg[ow] = a;
	}
}

void ck_maxpool2d_forward(float *out, int32_t *argmax, const float *inp,
                          const ck_pool2d_dims *d)
{
	int OH = ck_nn_valid_size(d->H, d->KH, d->SH);
	int OW = ck_nn_valid_size(d->W, d->KW, d->SW);
	int64_t planes = (int64_t)d->N * d->C;
	int two = d->KH == 2 && d->KW == 2 && d->SH == 2 && d->SW == 2;
#pragma omp parallel for schedule(static)
	for (int64_t pl = 0; pl < planes; pl++) {
		const float *in = inp + (size_t)pl * d->H * d->W;
		if (two) {
			for (int oh = 0; oh < OH; oh++) {
				size_t o = ((size_t)pl * OH + oh) * OW;
				const float *r0 = in + (size_t)2 * oh * d->W;
				maxpool_row_2x2(out + o, argmax + o, r0, r0 + d->W, 2 * oh * d->W, d->W, OW);
			}
			continue;
		}
		for (int oh = 0; oh < OH; oh++) {
			size_t o = ((size_t)pl * OH + oh) * OW;
			float *best = out + o;
			int32_t *arg = argmax + o;
			for (int kh = 0; kh < d->KH; kh++) {
				int row = (oh * d->SH + kh) * d->W;
				for (int kw = 0; kw < d->KW; kw++)
					for (int ow = 0; ow < OW; ow++) {
						int i = row + ow * d->SW + kw;
						if ((kh == 0 && kw == 0) || beats(in[i], best[ow])) {
							best[ow] = in[i];
							arg[ow] = i;
						}
					}
			}
		}
	}
}

void ck_maxpool2d_backward(float *dinp, const float *dout,
                           const int32_t *argmax, const ck_pool2d_dims *d)
{
	size_t P = (size_t)ck_nn_valid_size(d->H, d->KH, d->SH) *
	           ck_nn_valid_size(d->W, d->KW, d->SW);
	int64_t planes = (int64_t)d->N * d->C;
#pragma omp parallel for schedule(static)
	for (int64_t pl = 0; pl < planes; pl++) {
		float *di = dinp + (size_t)pl * d->H * d->W;
		const float *g = dout + (size_t)pl * P;
		const int32_t *arg = argmax + (size_t)pl * P;
		for (size_t p = 0; p < P; p++)
			di[arg[p]] += g[p];
	}
}

/* ---- avgpool2d ---------------------------------------------------------- */

void ck_avgpool2d_forward_ref(float *out, const float *inp,
                              const ck_pool2d_dims *d)
{
	int OH = ck_nn_valid_size(d->H, d->KH, d->SH);
	int OW = ck_nn_valid_size(d->W, d->KW, d->SW);
	for (size_t pl = 0; pl < (size_t)d->N * d->C; pl++)
		for (int oh = 0; oh < OH; oh++)
			for (int ow = 0; ow < OW; ow++) {
				const float *in = inp + pl * d->H * d->W;
				double acc = 0.0;
				for (int kh = 0; kh < d->KH; kh++)
					for (int kw = 0; kw < d->KW; kw++)
						acc += in[(oh * d->SH + kh) * d->W + ow * d->SW + kw];
				out[(pl * OH + oh) * OW + ow] = (float)(acc / (d->KH * d->KW));
			}
}

void ck_avgpool2d_backward_ref(float *dinp, const float *dout,
                               const ck_pool2d_dims *d)
{
	int OH = ck_nn_valid_size(d->H, d->KH, d->SH);
	int OW = ck_nn_valid_size(d->W, d->KW, d->SW);
	for (size_t pl = 0; pl < (size_t)d->N * d->C; pl++)
		for (int oh = 0; oh < OH; oh++)
			for (int ow = 0; ow < OW; ow++) {
				float g = dout[(pl * OH + oh) * OW + ow] / (float)(d->KH * d->KW);
				for (int kh = 0; kh < d->KH; kh++)
					for (int kw = 0; kw < d->KW; kw++)
						dinp[pl * d->H * d->W + (oh * d->SH + kh) * d->W + ow * d->SW + kw] += g;
			}
}

void ck_avgpool2d_forward(float *out, const float *inp, const ck_pool2d_dims *d)
{
	int OH = ck_nn_valid_size(d->H, d->KH, d->SH);
	int OW = ck_nn_valid_size(d->W, d->KW, d->SW);
	float scale = 1.0f / (float)(d->KH * d->KW);
	int64_t planes = (int64_t)d->N * d->C;
#pragma omp parallel for schedule(static)
	for (int64_t pl = 0; pl < planes; pl++) {
		const float *in = inp + (size_t)pl * d->H * d->W;
		for (int oh = 0; oh < OH; oh++) {
			float *o = out + ((size_t)pl * OH + oh) * OW;
			for (int ow = 0; ow < OW; ow++)
				o[ow] = 0.0f;
			for (int kh = 0; kh < d->KH; kh++) {
				const float *row = in + (size_t)(oh * d->SH + kh) * d->W;
				for (int kw = 0; kw < d->KW; kw++)
					for (int ow = 0; ow < OW; ow++)
						o[ow] += row[ow * d->SW + kw];
			}
			for (int ow = 0; ow < OW; ow++)
				o[ow] *= scale;
		}
	}
}

void ck_avgpool2d_backward(float *dinp, const float *dout,
                           const ck_pool2d_dims *d)
{
	int OH = ck_nn_valid_size(d->H, d->KH, d->SH);
	int OW = ck_nn_valid_size(d->W, d->KW, d->SW);
	float scale = 1.0f / (float)(d->KH * d->KW);
	int64_t planes = (int64_t)d->N * d->C;
#pragma omp parallel for schedule(static)
	for (int64_t pl = 0; pl < planes; pl++) {
		float *di = dinp + (size_t)pl * d->H * d->W;
		for (int oh = 0; oh < OH; oh++) {
			const float *g = dout + ((size_t)pl * OH + oh) * OW;
			for (int kh = 0; kh < d->KH; kh++) {
				float *row = di + (size_t)(oh * d->SH + kh) * d->W;
				for (int kw = 0; kw < d->KW; kw++)
					for (int ow = 0; ow < OW; ow++)
						row[ow * d->SW + kw] += g[ow] * scale;
			}
		}
	}
}

/* ---- global pooling over H,W ------------------------------------------- */

void ck_globalavgpool2d_forward_ref(float *out, const float *inp,
                                    const ck_globalpool2d_dims *d)
{
	size_t HW = (size_t)d->H * d->W;
	for (size_t pl = 0; pl < (size_t)d->N * d->C; pl++) {
		double acc = 0.0;
		for (size_t i = 0; i < HW; i++)
			acc += inp[pl * HW + i];
		out[pl] = (float)(acc / (double)HW);
	}
}

void ck_globalavgpool2d_backward_ref(float *dinp, const float *dout,
                                     const ck_globalpool2d_dims *d)
{
	size_t HW = (size_t)d->H * d->W;
	for (size_t pl = 0; pl < (size_t)d->N * d->C; pl++)
		for (size_t i = 0; i < HW; i++)
			dinp[pl * HW + i] += dout[pl] / (float)HW;
}

void ck_globalavgpool2d_forward(float *out, const float *inp,
                                const ck_globalpool2d_dims *d)
{
	size_t HW = (size_t)d->H * d->W;
	int64_t planes = (int64_t)d->N * d->C;
#pragma omp parallel for schedule(static)
	for (int64_t pl = 0; pl < planes; pl++) {
		const float *in = inp + (size_t)pl * HW;
		double acc = 0.0;
		for (size_t i = 0; i < HW; i++)
			acc += in[i];
		out[pl] = (float)(acc / (double)HW);
	}
}

void ck_globalavgpool2d_backward(float *dinp, const float *dout,
                                 const ck_globalpool2d_dims *d)
{
	size_t HW = (size_t)d->H * d->W;
	int64_t planes = (int64_t)d->N * d->C;
#pragma omp parallel for schedule(static)
	for (int64_t pl = 0; pl < planes; pl++) {
		float g = dout[pl] / (float)HW;
		float *di = dinp + (size_t)pl * HW;
		for (size_t i = 0; i < HW; i++)
			di[i] += g;
	}
}

void ck_globalmaxpool2d_forward_ref(float *out, int32_t *argmax,
                                    const float *inp,
                                    const ck_globalpool2d_dims *d)
{
	size_t HW = (size_t)d->H * d->W;
	for (size_t pl = 0; pl < (size_t)d->N * d->C; pl++) {
		const float *in = inp + pl * HW;
		size_t best = 0;
		for (size_t i = 1; i < HW; i++)
			if (beats(in[i], in[best]))
				best = i;
		out[pl] = in[best];
		argmax[pl] = (int32_t)best;
	}
}

void ck_globalmaxpool2d_backward_ref(float *dinp, const float *dout,
                                     const int32_t *argmax,
                                     const ck_globalpool2d_dims *d)
{
	size_t HW = (size_t)d->H * d->W;
	for (size_t pl = 0; pl < (size_t)d->N * d->C; pl++)
		dinp[pl * HW + argmax[pl]] += dout[pl];
}

void ck_globalmaxpool2d_forward(float *out, int32_t *argmax, const float *inp,
                                const ck_globalpool2d_dims *d)
{
	size_t HW = (size_t)d->H * d->W;
	int64_t planes = (int64_t)d->N * d->C;
#pragma omp parallel for schedule(static)
	for (int64_t pl = 0; pl < planes; pl++) {
		const float *in = inp + (size_t)pl * HW;
		float best = in[0];
		int32_t arg = 0;
		for (size_t i = 1; i < HW; i++)
			if (beats(in[i], best)) {
				best = in[i];
				arg = (int32_t)i;
			}
		out[pl] = best;
		argmax[pl] = arg;
	}
}

void ck_globalmaxpool2d_backward(float *dinp, const float *dout,
                                 const int32_t *argmax,
                                 const ck_globalpool2d_dims *d)
{
	size_t HW = (size_t)d->H * d->W;
	int64_t planes = (int64_t)d->N * d->C;
#pragma omp parallel for schedule(static)
	for (int64_t pl = 0; pl < planes; pl++)
		dinp[(size_t)pl * HW + argmax[pl]] += dout[pl];
}

/* ---- global max over time (text) ---------------------------------------- */

/* Time steps of sequence n that take part: valid[n] clipped to [1,T]. */
static int valid_steps(const int32_t *valid, int n, int T)
{
	if (!valid || valid[n] >= T)
		return T;
	return valid[n] < 1 ? 1 : valid[n];
}

void ck_globalmaxpool1d_forward_ref(float *out, int32_t *argmax,
                                    const float *inp, const int32_t *valid,
                                    const ck_globalmaxpool1d_dims *d)
{
	assert(d->T >= 1);
	for (int n = 0; n < d->N; n++) {
		int steps = valid_steps(valid, n, d->T);
		const float *seq = inp + (size_t)n * d->T * d->C;
		for (int c = 0; c < d->C; c++) {
			int best = 0;
			for (int t = 1; t < steps; t++)
				if (beats(seq[(size_t)t * d->C + c], seq[(size_t)best * d->C + c]))
					best = t;
			out[(size_t)n * d->C + c] = seq[(size_t)best * d->C + c];
			argmax[(size_t)n * d->C + c] = best;
		}
	}
}

void ck_globalmaxpool1d_backward_ref(float *dinp, const float *dout,
                                     const int32_t *argmax,
                                     const ck_globalmaxpool1d_dims *d)
{
	for (int n = 0; n < d->N; n++)
		for (int c = 0; c < d->C; c++) {
			size_t o = (size_t)n * d->C + c;
			dinp[((size_t)n * d->T + argmax[o]) * d->C + c] += dout[o];
		}
}

void ck_globalmaxpool1d_forward(float *out, int32_t *argmax, const float *inp,
                                const int32_t *valid,
                                const ck_globalmaxpool1d_dims *d)
{
	assert(d->T >= 1);
#pragma omp parallel for schedule(static)
	for (int n = 0; n < d->N; n++) {
		int steps = valid_steps(valid, n, d->T);
		const float *seq = inp + (size_t)n * d->T * d->C;
		float *best = out + (size_t)n * d->C;
		int32_t *arg = argmax + (size_t)n * d->C;
		for (int c = 0; c < d->C; c++) {
			best[c] = seq[c];
			arg[c] = 0;
		}
		for (int t = 1; t < steps; t++) {
			const float *row = seq + (size_t)t * d->C;
			for (int c = 0; c < d->C; c++)
				if (beats(row[c], best[c])) {
					best[c] = row[c];
					arg[c] = t;
				}
		}
	}
}

void ck_globalmaxpool1d_backward(float *dinp, const float *dout,
                                 const int32_t *argmax,
                                 const ck_globalmaxpool1d_dims *d)
{
#pragma omp parallel for schedule(static)
	for (int n = 0; n < d->N; n++) {
		float *di = dinp + (size_t)n * d->T * d->C;
		const float *g = dout + (size_t)n * d->C;
		const int32_t *arg = argmax + (size_t)n * d->C;
		for (int c = 0; c < d->C; c++)
			di[(size_t)arg[c] * d->C + c] += g[c];
	}
}
