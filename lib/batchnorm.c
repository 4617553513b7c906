/* batchnorm.c: batch normalisation over the channels of (N,C,S) tensors.
 *
 * Each channel is one independent job: its statistics are summed in double,
 * serially and in memory order, so the results do not depend on the thread
 * count. The threads split the channels. */
#include <assert.h>
#include <math.h>

#include "cnnkit.h"

#define PARALLEL_MIN (1 << 15) /* elements of the whole tensor */

/* Offset of (n, c, 0) in a (N,C,S) tensor. */
static inline size_t row_at(int n, int c, int C, int S)
{
	return ((size_t)n * C + c) * S;
}

void ck_batchnorm_forward_train(float *out, float *mean, float *rstd,
                                float *running_mean, float *running_var,
                                const float *inp, const float *gamma,
                                const float *beta, int N, int C, int S,
                                float momentum, float eps)
{
	assert(N > 0 && S > 0);
	assert((running_mean == NULL) == (running_var == NULL));
	double M = (double)N * S;
#pragma omp parallel for if ((double)C * M >= PARALLEL_MIN) schedule(static)
	for (int c = 0; c < C; c++) {
		/* Two passes: the mean, then squared deviations from it, which
		 * keeps the variance accurate when |mean| >> sd. */
		double sum = 0.0;
		for (int n = 0; n < N; n++) {
			const float *x = inp + row_at(n, c, C, S);
			for (int s = 0; s < S; s++)
				sum += x[s];
		}
		double mu = sum / M;
		double ssd = 0.0;
		for (int n = 0; n < N; n++) {
			const float *x = inp + row_at(n, c, C, S);
			for (int s = 0; s < S; s++) {
				double d = x[s] - mu;
				ssd += d * d;
			}
		}
		double var = ssd / M;
		float fmu = (float)mu;
		float frstd = (float)(1.0 / sqrt(var + eps));
		mean[c] = fmu;
		rstd[c] = frstd;

		/* The mean as a float pair hi + lo: x - hi is exact for x near the
		 * mean (Sterbenz), so a channel whose mean is large next to its
		 * spread still comes out centred to float precision. */
		float mu_lo = (float)(mu - fmu);
		float scale = gamma ? gamma[c] * frstd : frstd;
		float shift = beta ? beta[c] : 0.0f;
		for (int n = 0; n < N; n++) {
			size_t at = row_at(n, c, C, S);
			const float *x = inp + at;
			float *y = out + at;
			for (int s = 0; s < S; s++)
				y[s] = ((x[s] - fmu) - mu_lo) * scale + shift;
		}

		if (running_mean) {
			double unbiased = M > 1 ? ssd / (M - 1) : var;
			running_mean[c] = (float)((1.0 - momentum) * running_mean[c] + momentum * mu);
			running_var[c] = (float)((1.0 - momentum) * running_var[c] + momentum * unbiased);
		}
	}
}

void ck_batchnorm_forward_infer(float *out, const float *inp, const float *gamma,
                                const float *beta, const float *running_mean,
                                const float *running_var, int N, int C, int S,
                                float eps)
{
#pragma omp parallel for if ((size_t)N * C * S >= PARALLEL_MIN) schedule(static)
	for (int c = 0; c < C; c++) {
		float r = (float)(1.0 / sqrt((double)running_var[c] + eps));
		float scale = gamma ? gamma[c] * r : r;
		float shift = beta ? beta[c] : 0.0f;
		float mu = running_mean[c];
		for (int n = 0; n < N; n++) {
			size_t at = row_at(n, c, C, S);
			for (int s = 0; s < S; s++)
				out[at + s] = (inp[at + s] - mu) * scale + shift;
		}
	}
}

void ck_batchnorm_backward(float *dinp, float *dgamma, float *dbeta,
                           const float *dout, const float *inp,
                           const float *gamma, const float *mean,
                           const float *rstd, int N, int C, int S)
{
	double M = (double)N * S;
#pragma omp parallel for if ((double)C * M >= PARALLEL_MIN) schedule(static)
	for (int c = 0; c < C; c++) {
		float mu = mean[c], r = rstd[c];
		double sum_dy = 0.0, sum_dy_xhat = 0.0;
		for (int n = 0; n < N; n++) {
			size_t at = row_at(n, c, C, S);
			for (int s = 0; s < S; s++) {
				float xhat = (inp[at + s] - mu) * r;
				sum_dy += dout[at + s];
				sum_dy_xhat += (double)dout[at + s] * xhat;
			}
		}
		if (dbeta)
			dbeta[c] += (float)sum_dy;
		if (dgamma)
			dgamma[c] += (float)sum_dy_xhat;

		if (!dinp)
			continue;
		float g = gamma ? gamma[c] : 1.0f;
		float scale = g * r;
		float mean_dy = (float)(sum_dy / M);
		float mean_dy_xhat = (float)(sum_dy_xhat / M);
		for (int n = 0; n < N; n++) {
			size_t at = row_at(n, c, C, S);
			for (int s = 0; s < S; s++) {
				float xhat = (inp[at + s] - mu) * r;
				dinp[at + s] += scale * (dout[at + s] - mean_dy - xhat * mean_dy_xhat);
			}
		}
	}
}
