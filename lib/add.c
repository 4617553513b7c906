/* add.c: residual add, out = a + b, and its backward, which routes dout to
 * both summands. Element-wise, so threads split the range with no effect on
 * the result. */
#include "cnnkit.h"

void ck_add_forward_ref(float *out, const float *a, const float *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = a[i] + b[i];
}

void ck_add_backward_ref(float *da, float *db, const float *dout, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (da)
			da[i] += dout[i];
		if (db)
			db[i] += dout[i];
	}
}

void ck_add_forward(float *out, const float *a, const float *b, size_t n)
{
#pragma omp parallel for simd schedule(static) if (n >= 65536)
	for (size_t i = 0; i < n; i++)
		out[i] = a[i] + b[i];
}

static void add_into(float *dst, const float *src, size_t n)
{
#pragma omp parallel for simd schedule(static) if (n >= 65536)
	for (size_t i = 0; i < n; i++)
		dst[i] += src[i];
}

void ck_add_backward(float *da, float *db, const float *dout, size_t n)
{
	if (da)
		add_into(da, dout, n);
	if (db)
		add_into(db, dout, n);
}
