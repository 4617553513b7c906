/* dense.c: fully connected layer, out = inp x weight^T + bias.
 *
 * The weight is (OUT,IN) as in PyTorch, so a row of it is one output's
 * filter over the input. The fast version is three ck_sgemm calls:
 *
 *   out (N,OUT)      = inp (N,IN) x weight^T (IN,OUT)
 *   dinp (N,IN)     += dout (N,OUT) x weight (OUT,IN)
 *   dweight (OUT,IN) += dout^T (OUT,N) x inp (N,IN)
 */
#include "cnnkit.h"

void ck_dense_forward_ref(float *out, const float *inp, const float *weight,
                          const float *bias, const ck_dense_dims *d)
{
	for (int n = 0; n < d->N; n++)
		for (int o = 0; o < d->OUT; o++) {
			double acc = bias ? bias[o] : 0.0;
			for (int i = 0; i < d->IN; i++)
				acc += (double)inp[(size_t)n * d->IN + i] * weight[(size_t)o * d->IN + i];
			out[(size_t)n * d->OUT + o] = (float)acc;
		}
}

void ck_dense_backward_ref(float *dinp, float *dweight, float *dbias,
                           const float *dout, const float *inp,
                           const float *weight, const ck_dense_dims *d)
{
	if (dbias)
		for (int o = 0; o < d->OUT; o++) {
			double acc = 0.0;
			for (int n = 0; n < d->N; n++)
				acc += dout[(size_t)n * d->OUT + o];
			dbias[o] += (float)acc;
		}
	if (dweight)
		for (int o = 0; o < d->OUT; o++)
			for (int i = 0; i < d->IN; i++) {
				double acc = 0.0;
				for (int n = 0; n < d->N; n++)
					acc += (double)dout[(size_t)n * d->OUT + o] * inp[(size_t)n * d->IN + i];
				dweight[(size_t)o * d->IN + i] += (float)acc;
			}
	if (dinp)
		for (int n = 0; n < d->N; n++)
			for (int i = 0; i < d->IN; i++) {
				double acc = 0.0;
				for (int o = 0; o < d->OUT; o++)
					acc += (double)dout[(size_t)n * d->OUT + o] * weight[(size_t)o * d->IN + i];
				dinp[(size_t)n * d->IN + i] += (float)acc;
			}
}

void ck_dense_forward(float *out, const float *inp, const float *weight,
                      const float *bias, const ck_dense_dims *d)
{
	if (bias)
		for (int n = 0; n < d->N; n++)
			for (int o = 0; o < d->OUT; o++)
				out[(size_t)n * d->OUT + o] = bias[o];
	ck_sgemm(0, 1, d->N, d->OUT, d->IN, 1.0f, inp, d->IN, weight, d->IN,
	         bias ? 1.0f : 0.0f, out, d->OUT);
}

void ck_dense_backward(float *dinp, float *dweight, float *dbias,
                       const float *dout, const float *inp,
                       const float *weight, const ck_dense_dims *d)
{
	if (dbias) {
#pragma omp parallel for schedule(static)
		for (int o = 0; o < d->OUT; o++) {
			double acc = 0.0;
			for (int n = 0; n < d->N; n++)
				acc += dout[(size_t)n * d->OUT + o];
			dbias[o] += (float)acc;
		}
	}
	if (dweight)
		ck_sgemm(1, 0, d->OUT, d->IN, d->N, 1.0f, dout, d->OUT, inp, d->IN,
		         1.0f, dweight, d->IN);
	if (dinp)
		ck_sgemm(0, 0, d->N, d->IN, d->OUT, 1.0f, dout, d->OUT, weight, d->IN,
		         1.0f, dinp, d->IN);
}
