/* dropout.c: inverted dropout with a counter-based mask, so the mask is the
 * same for any thread count and any split of the work. */
#include <assert.h>

#include "cnnkit.h"

#define PARALLEL_MIN (1 << 15)

/* inp, out, mask (n); out may equal inp. */
void ck_dropout_forward(float *out, float *mask, const float *inp, size_t n,
                        float p, uint64_t seed, uint64_t counter_base)
{
	assert(p >= 0.0f && p <= 1.0f);
	/* At p == 1 every element is dropped, and the scale is never used. */
	float keep_scale = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
#pragma omp parallel for if (n >= PARALLEL_MIN) schedule(static)
	for (size_t i = 0; i < n; i++) {
		float m = ck_hash_uniform(seed, counter_base + i) < p ? 0.0f : keep_scale;
		mask[i] = m;
		out[i] = inp[i] * m;
	}
}

void ck_dropout_backward(float *dinp, const float *dout, const float *mask,
                         size_t n)
{
#pragma omp parallel for if (n >= PARALLEL_MIN) schedule(static)
	for (size_t i = 0; i < n; i++)
		dinp[i] += dout[i] * mask[i];
}
