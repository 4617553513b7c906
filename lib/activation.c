/* activation.c: elementwise activations. Every backward reads the forward
 * output, so forwards may run in place. Shapes: n floats everywhere. */
#include <math.h>

#include "cnnkit.h"

/* Below this many elements a parallel region costs more than it saves. */
#define PARALLEL_MIN (1 << 16)

void ck_relu_forward(float *out, const float *inp, size_t n)
{
#pragma omp parallel for if (n >= PARALLEL_MIN) schedule(static)
	for (size_t i = 0; i < n; i++)
		out[i] = inp[i] > 0.0f ? inp[i] : 0.0f;
}

void ck_relu_backward(float *dinp, const float *dout, const float *out, size_t n)
{
#pragma omp parallel for if (n >= PARALLEL_MIN) schedule(static)
	for (size_t i = 0; i < n; i++)
		dinp[i] += out[i] > 0.0f ? dout[i] : 0.0f;
}

void ck_leaky_relu_forward(float *out, const float *inp, size_t n, float alpha)
{
#pragma omp parallel for if (n >= PARALLEL_MIN) schedule(static)
	for (size_t i = 0; i < n; i++)
		out[i] = inp[i] > 0.0f ? inp[i] : alpha * inp[i];
}

void ck_leaky_relu_backward(float *dinp, const float *dout, const float *out,
                            size_t n, float alpha)
{
#pragma omp parallel for if (n >= PARALLEL_MIN) schedule(static)
	for (size_t i = 0; i < n; i++)
		dinp[i] += out[i] > 0.0f ? dout[i] : alpha * dout[i];
}

/* exp of a non-positive argument only, so neither branch can overflow;
 * for x < 0 the form e/(1+e) keeps the relative precision of tiny values. */
static inline float sigmoid(float x)
{
	float e = expf(-fabsf(x));
	return x >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);
}

void ck_sigmoid_forward(float *out, const float *inp, size_t n)
{
#pragma omp parallel for if (n >= PARALLEL_MIN) schedule(static)
	for (size_t i = 0; i < n; i++)
		out[i] = sigmoid(inp[i]);
}

void ck_sigmoid_backward(float *dinp, const float *dout, const float *out, size_t n)
{
#pragma omp parallel for if (n >= PARALLEL_MIN) schedule(static)
	for (size_t i = 0; i < n; i++)
		dinp[i] += dout[i] * out[i] * (1.0f - out[i]);
}

void ck_tanh_forward(float *out, const float *inp, size_t n)
{
#pragma omp parallel for if (n >= PARALLEL_MIN) schedule(static)
	for (size_t i = 0; i < n; i++)
		out[i] = tanhf(inp[i]);
}

void ck_tanh_backward(float *dinp, const float *dout, const float *out, size_t n)
{
#pragma omp parallel for if (n >= PARALLEL_MIN) schedule(static)
	for (size_t i = 0; i < n; i++)
		dinp[i] += dout[i] * (1.0f - out[i] * out[i]);
}
