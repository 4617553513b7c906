/* conv1d.c: 1-D convolution over channels-last text, valid padding, stride 1.
 *
 * In (T,C) row-major memory a window of K consecutive rows is one contiguous
 * K*C block starting at row t, and a filter (K,C) is laid out the same way.
 * So the windows of one sequence form a (TO, K*C) matrix with leading
 * dimension C (rows overlap), and each of the three products is one GEMM on
 * the tensors as they lie, with no im2col:
 *
 *   out_n (TO,F)      = win_n (TO,KC) x weight^T (KC,F)
 *   dweight (F,KC)   += dout_n^T (F,TO) x win_n (TO,KC)
 *   dinp_n[k:k+TO] (TO,C) += dout_n (TO,F) x weight[:,k,:] (F,C), k = 0..K-1
 *
 * The read-only operands with overlapping rows have a leading dimension C
 * smaller than their row length K*C, which ck_sgemm must accept (it only
 * reads them). The input gradient is split by filter tap k instead, because
 * a GEMM writing overlapping rows of its output is not well defined. Every
 * sum runs over images in order; ck_sgemm does the threading.
 */
#include "cnnkit.h"

static int out_len(const ck_conv1d_dims *d)
{
	return d->T >= d->K ? d->T - d->K + 1 : 0;
}

void ck_conv1d_forward_ref(float *out, const float *inp, const float *weight,
                           const float *bias, const ck_conv1d_dims *d)
{
	int TO = out_len(d);
	for (int n = 0; n < d->N; n++)
		for (int t = 0; t < TO; t++)
			for (int f = 0; f < d->F; f++) {
				double acc = bias ? bias[f] : 0.0;
				for (int k = 0; k < d->K; k++)
					for (int c = 0; c < d->C; c++)
						acc += (double)inp[((size_t)n * d->T + t + k) * d->C + c] *
						       weight[((size_t)f * d->K + k) * d->C + c];
				out[((size_t)n * TO + t) * d->F + f] = (float)acc;
			}
}

void ck_conv1d_backward_ref(float *dinp, float *dweight, float *dbias,
                            const float *dout, const float *inp,
                            const float *weight, const ck_conv1d_dims *d)
{
	int TO = out_len(d);
	if (dbias)
		for (int f = 0; f < d->F; f++) {
			double acc = 0.0;
			for (int n = 0; n < d->N; n++)
				for (int t = 0; t < TO; t++)
					acc += dout[((size_t)n * TO + t) * d->F + f];
			dbias[f] += (float)acc;
		}
	if (dweight)
		for (int f = 0; f < d->F; f++)
			for (int k = 0; k < d->K; k++)
				for (int c = 0; c < d->C; c++) {
					double acc = 0.0;
					for (int n = 0; n < d->N; n++)
						for (int t = 0; t < TO; t++)
							acc += (double)dout[((size_t)n * TO + t) * d->F + f] *
							       inp[((size_t)n * d->T + t + k) * d->C + c];
					dweight[((size_t)f * d->K + k) * d->C + c] += (float)acc;
				}
	if (dinp)
		for (int n = 0; n < d->N; n++)
			for (int i = 0; i < d->T; i++)
				for (int c = 0; c < d->C; c++) {
					/* Input row i is tap k of output row t = i - k. */
					double acc = 0.0;
					for (int k = 0; k < d->K; k++) {
						int t = i - k;
						if (t < 0 || t >= TO)
							continue;
						for (int f = 0; f < d->F; f++)
							acc += (double)dout[((size_t)n * TO + t) * d->F + f] *
							       weight[((size_t)f * d->K + k) * d->C + c];
					}
					dinp[((size_t)n * d->T + i) * d->C + c] += (float)acc;
				}
}

void ck_conv1d_forward(float *out, const float *inp, const float *weight,
                       const float *bias, const ck_conv1d_dims *d)
{
	int TO = out_len(d), KC = d->K * d->C;
	if (TO == 0)
		return;
	for (int n = 0; n < d->N; n++) {
		float *o = out + (size_t)n * TO * d->F;
		if (bias)
			for (int t = 0; t < TO; t++)
				for (int f = 0; f < d->F; f++)
					o[(size_t)t * d->F + f] = bias[f];
		ck_sgemm(0, 1, TO, d->F, KC, 1.0f, inp + (size_t)n * d->T * d->C, d->C,
		         weight, KC, bias ? 1.0f : 0.0f, o, d->F);
	}
}

void ck_conv1d_backward(float *dinp, float *dweight, float *dbias,
                        const float *dout, const float *inp,
                        const float *weight, const ck_conv1d_dims *d)
{
	int TO = out_len(d), KC = d->K * d->C;
	if (TO == 0)
		return;
	if (dbias) {
#pragma omp parallel for schedule(static)
		for (int f = 0; f < d->F; f++) {
			double acc = 0.0;
			for (size_t r = 0; r < (size_t)d->N * TO; r++)
				acc += dout[r * d->F + f];
			dbias[f] += (float)acc;
		}
	}
	for (int n = 0; n < d->N; n++) {
		const float *g = dout + (size_t)n * TO * d->F;
		if (dweight)
			ck_sgemm(1, 0, d->F, KC, TO, 1.0f, g, d->F,
			         inp + (size_t)n * d->T * d->C, d->C, 1.0f, dweight, KC);
		if (dinp)
			for (int k = 0; k < d->K; k++)
				ck_sgemm(0, 0, TO, d->C, d->F, 1.0f, g, d->F, weight + (size_t)k * d->C,
				         KC, 1.0f, dinp + ((size_t)n * d->T + k) * d->C, d->C);
	}
}
