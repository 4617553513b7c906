/* softmax.c: softmax over the rows of a (N,K) matrix. */
#include <math.h>

#include "cnnkit.h"

#define PARALLEL_MIN (1 << 15) /* elements */

/* inp (N,K) -> out (N,K); out may equal inp. */
void ck_softmax_forward(float *out, const float *inp, int N, int K)
{
#pragma omp parallel for if ((size_t)N * K >= PARALLEL_MIN) schedule(static)
	for (int n = 0; n < N; n++) {
		const float *x = inp + (size_t)n * K;
		float *y = out + (size_t)n * K;
		float max = -INFINITY;
		for (int k = 0; k < K; k++)
			max = fmaxf(max, x[k]);
		double sum = 0.0;
		for (int k = 0; k < K; k++) {
			y[k] = expf(x[k] - max);
			sum += y[k];
		}
		float scale = (float)(1.0 / sum);
		for (int k = 0; k < K; k++)
			y[k] *= scale;
	}
}

/* dout, out (N,K) -> dinp (N,K) += J^T dout. */
void ck_softmax_backward(float *dinp, const float *dout, const float *out,
                         int N, int K)
{
#pragma omp parallel for if ((size_t)N * K >= PARALLEL_MIN) schedule(static)
	for (int n = 0; n < N; n++) {
		size_t row = (size_t)n * K;
		const float *dy = dout + row, *y = out + row;
		float *dx = dinp + row;
		double dot = 0.0;
		for (int k = 0; k < K; k++)
			dot += (double)dy[k] * y[k];
		float fdot = (float)dot;
		for (int k = 0; k < K; k++)
			dx[k] += y[k] * (dy[k] - fdot);
	}
}
