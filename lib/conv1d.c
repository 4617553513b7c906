/* conv1d.c: 1-D convolution over channels-last text, valid padding, stride 1.
 *
 * In (T,C) row-major memory a window of K consecutive rows is one contiguous
 * K*C block starting at row t, and a filter (K,C) is laid out the same way.
 * So the windows of a run of rows form a (rows-K+1, K*C) matrix with leading
 * dimension C (rows overlap), and each of the three products is one GEMM on
 * the tensors as they lie, with no im2col:
 *
 *   y (M,F)          = win (M,KC) x weight^T (KC,F)
 *   dweight (F,KC)  += g^T (F,M) x win (M,KC)
 *   dx[k:k+M] (M,C) += g (M,F) x weight[:,k,:] (F,C), k = 0..K-1
 *
 * The fast kernels make that run the whole batch: the sequences one after
 * the other, (N*T, C), so that each product is one GEMM of M = N*T-K+1 rows
 * instead of N small ones. The K-1 windows that start near the end of a
 * sequence straddle into the next: their outputs are dropped and their
 * gradient rows are zero. With valid lengths the run holds only the rows
 * each sequence's valid outputs read (valid[n]+K-1 of them), gathered into
 * the workspace, so that padding at the end of short sentences costs
 * nothing: for sentence data that is most of the work.
 *
 * The input gradient is split by filter tap k, because a GEMM writing
 * overlapping rows of its output is not well defined. ck_sgemm does the
 * threading and its sums have a fixed order.
 */
#include <string.h>

#include "cnnkit.h"

static int out_len(const ck_conv1d_dims *d)
{
	return d->T >= d->K ? d->T - d->K + 1 : 0;
}

/* Output steps computed for sequence n: valid[n] clipped to [1,TO], or TO. */
static int steps(const int32_t *valid, int n, int TO)
{
	if (!valid || valid[n] >= TO)
		return TO;
	return valid[n] < 1 ? 1 : valid[n];
}

void ck_conv1d_forward_ref(float *out, const float *inp, const int32_t *valid,
                           const float *weight, const float *bias, const ck_conv1d_dims *d)
{
	int TO = out_len(d);
	for (int n = 0; n < d->N; n++) {
		int S = steps(valid, n, TO);
		for (int t = 0; t < TO; t++)
			for (int f = 0; f < d->F; f++) {
				double acc = bias ? bias[f] : 0.0;
				for (int k = 0; k < d->K; k++)
					for (int c = 0; c < d->C; c++)
						acc += (double)inp[((size_t)n * d->T + t + k) * d->C + c] *
						       weight[((size_t)f * d->K + k) * d->C + c];
				out[((size_t)n * TO + t) * d->F + f] = t < S ? (float)acc : 0.0f;
			}
	}
}

void ck_conv1d_backward_ref(float *dinp, float *dweight, float *dbias,
                            const float *dout, const float *inp, const int32_t *valid,
                            const float *weight, const ck_conv1d_dims *d)
{
	int TO = out_len(d);
	if (dbias)
		for (int f = 0; f < d->F; f++) {
			double acc = 0.0;
			for (int n = 0; n < d->N; n++)
				for (int t = 0; t < steps(valid, n, TO); t++)
					acc += dout[((size_t)n * TO + t) * d->F + f];
			dbias[f] += (float)acc;
		}
	if (dweight)
		for (int f = 0; f < d->F; f++)
			for (int k = 0; k < d->K; k++)
				for (int c = 0; c < d->C; c++) {
					double acc = 0.0;
					for (int n = 0; n < d->N; n++)
						for (int t = 0; t < steps(valid, n, TO); t++)
							acc += (double)dout[((size_t)n * TO + t) * d->F + f] *
							       inp[((size_t)n * d->T + t + k) * d->C + c];
					dweight[((size_t)f * d->K + k) * d->C + c] += (float)acc;
				}
	if (dinp)
		for (int n = 0; n < d->N; n++) {
			int S = steps(valid, n, TO);
			for (int i = 0; i < d->T; i++)
				for (int c = 0; c < d->C; c++) {
					/* Input row i is tap k of output row t = i - k. */
					double acc = 0.0;
					for (int k = 0; k < d->K; k++) {
						int t = i - k;
						if (t < 0 || t >= S)
							continue;
						for (int f = 0; f < d->F; f++)
							acc += (double)dout[((size_t)n * TO + t) * d->F + f] *
							       weight[((size_t)f * d->K + k) * d->C + c];
					}
					dinp[((size_t)n * d->T + i) * d->C + c] += (float)acc;
				}
		}
}

/* ---- fast versions ---------------------------------------------------------- */

/* Workspace: the gathered rows x (N*T, C), the window rows y or g (N*T, F)
 * and the gathered input gradient dx (N*T, C). */
size_t ck_conv1d_workspace_size(const ck_conv1d_dims *d)
{
	return (size_t)d->N * d->T * (2 * (size_t)d->C + d->F);
}

/* The run of rows the windows slide over: the input itself when every
 * output is wanted, else each sequence's first steps+K-1 rows gathered into
 * x. Returns its row count R; the GEMMs then have M = R-K+1 window rows. */
static size_t gather_rows(float *x, const float **run, const float *inp, const int32_t *valid,
                          const ck_conv1d_dims *d)
{
	if (!valid) {
		*run = inp;
		return (size_t)d->N * d->T;
	}
	int TO = out_len(d);
	size_t R = 0;
	for (int n = 0; n < d->N; n++) {
		size_t rows = (size_t)steps(valid, n, TO) + d->K - 1;
		memcpy(x + R * d->C, inp + (size_t)n * d->T * d->C, rows * d->C * sizeof(float));
		R += rows;
	}
	*run = x;
	return R;
}

void ck_conv1d_forward(float *out, const float *inp, const int32_t *valid, const float *weight,
                       const float *bias, const ck_conv1d_dims *d, ck_nn_act act, float *ws)
{
	int TO = out_len(d), KC = d->K * d->C, F = d->F;
	if (TO == 0 || d->N == 0)
		return;
	const float *run;
	float *x = ws, *y = ws + (size_t)d->N * d->T * d->C;
	size_t R = gather_rows(x, &run, inp, valid, d);
	int M = (int)(R - (size_t)d->K + 1);
	/* y (M,F) = windows of the run x weight^T */
	ck_sgemm(0, 1, M, F, KC, 1.0f, run, d->C, weight, KC, 0.0f, y, F);

	/* Each sequence's valid rows of y, plus bias, through act, into out;
	 * the rest of its outputs 0. Sequence n's windows start at row `at` of
	 * the run, which holds steps + K-1 rows of each (T without valid). */
	size_t at = 0;
	for (int n = 0; n < d->N; n++) {
		int S = steps(valid, n, TO);
		const float *src = y + at * F;
		float *dst = out + (size_t)n * TO * F;
		for (int t = 0; t < S; t++)
#pragma omp simd
			for (int f = 0; f < F; f++) {
				float v = src[(size_t)t * F + f] + (bias ? bias[f] : 0.0f);
				dst[(size_t)t * F + f] = act == CK_NN_ACT_RELU && !(v > 0.0f) ? 0.0f : v;
			}
		memset(dst + (size_t)S * F, 0, (size_t)(TO - S) * F * sizeof(float));
		at += (size_t)S + d->K - 1;
	}
}

void ck_conv1d_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                        const float *out, const float *inp, const int32_t *valid,
                        const float *weight, const ck_conv1d_dims *d, ck_nn_act act, float *ws)
{
	int TO = out_len(d), KC = d->K * d->C, F = d->F, C = d->C;
	if (TO == 0 || d->N == 0 || (!dinp && !dweight && !dbias))
		return;
	const float *mask = act == CK_NN_ACT_RELU ? out : NULL;
	size_t NTC = (size_t)d->N * d->T * C;
	float *x = ws, *g = ws + NTC, *dx = g + (size_t)d->N * d->T * F;

	/* g (M,F): the gradient of each window row, through the ReLU; zero for
	 * the K-1 windows after each sequence's valid ones, which straddle it
	 * and the next (the last sequence has none: the run ends there). */
	size_t at = 0;
	for (int n = 0; n < d->N; n++) {
		int S = steps(valid, n, TO), zero = n + 1 < d->N ? d->K - 1 : 0;
		const float *src = dout + (size_t)n * TO * F;
		const float *m = mask ? mask + (size_t)n * TO * F : NULL;
		float *dst = g + at * F;
		for (int t = 0; t < S; t++)
#pragma omp simd
			for (int f = 0; f < F; f++) {
				size_t i = (size_t)t * F + f;
				dst[i] = m && !(m[i] > 0.0f) ? 0.0f : src[i];
			}
		memset(dst + (size_t)S * F, 0, (size_t)zero * F * sizeof(float));
		at += (size_t)S + zero;
	}
	size_t M = at;

	if (dbias) {
		/* Columns of g summed in row order, in double, 64 at a time. */
		for (int f0 = 0; f0 < F; f0 += 64) {
			int nf = F - f0 < 64 ? F - f0 : 64;
			double acc[64] = {0};
			for (size_t j = 0; j < M; j++)
				for (int f = 0; f < nf; f++)
					acc[f] += g[j * F + f0 + f];
			for (int f = 0; f < nf; f++)
				dbias[f0 + f] += (float)acc[f];
		}
	}
	if (!dinp && !dweight)
		return;

	const float *run;
	size_t R = gather_rows(x, &run, inp, valid, d);
	if (dweight) /* dweight (F,KC) += g^T (F,M) x windows (M,KC) */
		ck_sgemm(1, 0, F, KC, (int)M, 1.0f, g, F, run, C, 1.0f, dweight, KC);
	if (!dinp)
		return;
	/* Without valid lengths the run is the input, and its gradient dinp. */
	float *drun = valid ? dx : dinp;
	float beta = valid ? 0.0f : 1.0f;
	if (valid) /* rows M..R-1 are reached only by taps k >= 1 */
		memset(dx + M * C, 0, (R - M) * C * sizeof(float));
	for (int k = 0; k < d->K; k++)
		ck_sgemm(0, 0, (int)M, C, F, 1.0f, g, F, weight + (size_t)k * C, KC,
		         k == 0 ? beta : 1.0f, drun + (size_t)k * C, C);
	if (!valid)
		return;
	at = 0;
	for (int n = 0; n < d->N; n++) {
		size_t rows = (size_t)steps(valid, n, TO) + d->K - 1;
		float *dst = dinp + (size_t)n * d->T * C;
		const float *src = dx + at * C;
#pragma omp simd
		for (size_t i = 0; i < rows * C; i++)
			dst[i] += src[i];
		at += rows;
	}
}
