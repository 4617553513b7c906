/* init.c: weight initialisers. Formulas in cnnkit/learn.h. */
#include <assert.h>
#include <math.h>

#include "cnnkit.h"

void ck_init_uniform(float *w, size_t n, float bound, ck_rng *rng)
{
	for (size_t i = 0; i < n; i++)
		w[i] = bound * (2.0f * ck_rng_uniform(rng) - 1.0f);
}

void ck_init_normal(float *w, size_t n, float sd, ck_rng *rng)
{
	for (size_t i = 0; i < n; i++)
		w[i] = sd * ck_rng_normal(rng);
}

void ck_init_torch_default(float *w, size_t n, int64_t fan_in, ck_rng *rng)
{
	assert(fan_in > 0);
	ck_init_uniform(w, n, (float)(1.0 / sqrt((double)fan_in)), rng);
}

void ck_init_kaiming_normal(float *w, size_t n, int64_t fan_in, ck_rng *rng)
{
	assert(fan_in > 0);
	ck_init_normal(w, n, (float)sqrt(2.0 / (double)fan_in), rng);
}

void ck_init_kaiming_uniform(float *w, size_t n, int64_t fan_in, ck_rng *rng)
{
	assert(fan_in > 0);
	ck_init_uniform(w, n, (float)sqrt(6.0 / (double)fan_in), rng);
}

void ck_init_glorot_uniform(float *w, size_t n, int64_t fan_in,
                            int64_t fan_out, ck_rng *rng)
{
	assert(fan_in > 0 && fan_out > 0);
	ck_init_uniform(w, n, (float)sqrt(6.0 / (double)(fan_in + fan_out)), rng);
}
