/* embedding.c: token embedding lookup, out[n,t] = table[ids[n,t]].
 *
 * Id 0 is padding: its row is copied like any other in forward but never
 * receives a gradient. The backward scatter is a race when threads split the
 * positions (repeated ids), so threads split the D columns instead: each
 * thread walks every position in order and adds its own columns, which also
 * makes the sums independent of the thread count.
 */
#include <string.h>

#include "cnnkit.h"

void ck_embedding_forward_ref(float *out, const int32_t *ids,
                              const float *table, const ck_embedding_dims *d)
{
	size_t rows = (size_t)d->N * d->T;
	for (size_t r = 0; r < rows; r++)
		for (int j = 0; j < d->D; j++)
			out[r * d->D + j] = table[(size_t)ids[r] * d->D + j];
}

void ck_embedding_backward_ref(float *dtable, const float *dout,
                               const int32_t *ids, const ck_embedding_dims *d)
{
	size_t rows = (size_t)d->N * d->T;
	for (size_t r = 0; r < rows; r++) {
		if (ids[r] == 0)
			continue;
		for (int j = 0; j < d->D; j++)
			dtable[(size_t)ids[r] * d->D + j] += dout[r * d->D + j];
	}
}

void ck_embedding_forward(float *out, const int32_t *ids, const float *table,
                          const ck_embedding_dims *d)
{
	size_t rows = (size_t)d->N * d->T;
#pragma omp parallel for schedule(static) if (rows * d->D >= 65536)
	for (size_t r = 0; r < rows; r++)
		memcpy(out + r * d->D, table + (size_t)ids[r] * d->D, sizeof(float) * d->D);
}

/* Columns per thread task: wide enough that the cache lines shared by two
 * neighbouring blocks of a row are a small fraction of the writes. */
#define EMBEDDING_COLS 64

void ck_embedding_backward(float *dtable, const float *dout,
                           const int32_t *ids, const ck_embedding_dims *d)
{
	size_t rows = (size_t)d->N * d->T;
	int blocks = (d->D + EMBEDDING_COLS - 1) / EMBEDDING_COLS;
#pragma omp parallel for schedule(static) if (rows * d->D >= 65536)
	for (int b = 0; b < blocks; b++) {
		int j0 = b * EMBEDDING_COLS;
		int j1 = j0 + EMBEDDING_COLS < d->D ? j0 + EMBEDDING_COLS : d->D;
		for (size_t r = 0; r < rows; r++) {
			if (ids[r] == 0)
				continue;
			float *dst = dtable + (size_t)ids[r] * d->D;
			const float *src = dout + r * d->D;
			for (int j = j0; j < j1; j++)
				dst[j] += src[j];
		}
	}
}
