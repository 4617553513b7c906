/* embed_query.c: nearest words by cosine, analogies, and vectors looked up
 * for token ids (embed apply). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cnnkit.h"

static double dot(const float *a, const float *b, int D)
{
	double s = 0;
	for (int i = 0; i < D; i++)
		s += (double)a[i] * b[i];
	return s;
}

float *ck_embed_unit(const ck_embed *e)
{
	size_t D = (size_t)e->D;
	float *u = malloc((size_t)e->V * D * sizeof *u + 1);
	if (!u)
		return NULL;
	for (int64_t r = 0; r < e->V; r++) {
		const float *v = e->vectors + (size_t)r * D;
		double n = sqrt(dot(v, v, e->D));
		float scale = n > 0 ? (float)(1.0 / n) : 0.0f;
		for (size_t i = 0; i < D; i++)
			u[(size_t)r * D + i] = v[i] * scale;
	}
	return u;
}

int ck_embed_nearest(const float *unit, int64_t V, int D, const float *query,
                     const int64_t *exclude, int nexclude, ck_embed_hit *hits, int k)
{
	double qn = sqrt(dot(query, query, D));
	int found = 0;
	if (k <= 0)
		return 0;
	for (int64_t r = CK_EMBED_RESERVED; r < V; r++) {
		const float *u = unit + (size_t)r * (size_t)D;
		int skip = 0;
		for (int j = 0; j < nexclude; j++)
			skip |= exclude[j] == r;
		if (skip)
			continue;
		double d = dot(u, u, D);
		if (d == 0)
			continue;
		float c = qn > 0 ? (float)(dot(u, query, D) / qn) : 0.0f;
		if (found == k && !(c > hits[k - 1].cosine))
			continue;
		/* Insertion into the sorted list; equal scores keep row order. */
		int i = found < k ? found++ : k - 1;
		while (i > 0 && hits[i - 1].cosine < c) {
			hits[i] = hits[i - 1];
			i--;
		}
		hits[i] = (ck_embed_hit){r, c};
	}
	return found;
}

int ck_embed_analogy(const float *unit, int64_t V, int D, int64_t a, int64_t b, int64_t c,
                     ck_embed_hit *hits, int k)
{
	float *q = malloc((size_t)D * sizeof *q);
	if (!q)
		return -1;
	const float *ua = unit + (size_t)a * (size_t)D, *ub = unit + (size_t)b * (size_t)D,
	            *uc = unit + (size_t)c * (size_t)D;
	for (int i = 0; i < D; i++)
		q[i] = ub[i] - ua[i] + uc[i];
	int64_t ex[3] = {a, b, c};
	int n = ck_embed_nearest(unit, V, D, q, ex, 3, hits, k);
	free(q);
	return n;
}

int ck_embed_vocab_map(const ck_embed *e, const char *vocab, size_t len, int32_t **map,
                       int64_t *n, ck_err *err)
{
	if (!vocab) {
		int32_t *m = malloc((size_t)e->V * sizeof *m);
		if (!m)
			return ck_err_set(err, "out of memory");
		for (int64_t i = 0; i < e->V; i++)
			m[i] = i < CK_EMBED_RESERVED ? -1 : (int32_t)i;
		*map = m;
		*n = e->V;
		return 0;
	}
	int64_t lines = 0;
	for (size_t i = 0; i < len; i++)
		lines += vocab[i] == '\n';
	lines += len > 0 && vocab[len - 1] != '\n';
	int32_t *m = malloc((size_t)lines * sizeof *m + 1);
	if (!m)
		return ck_err_set(err, "out of memory");
	const char *p = vocab, *end = vocab + len;
	for (int64_t i = 0; i < lines; i++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t wl = (size_t)((nl ? nl : end) - p);
		int64_t r = i < CK_EMBED_RESERVED ? -1 : ck_embed_find(e, p, wl);
		m[i] = r < CK_EMBED_RESERVED ? -1 : (int32_t)r;
		p = nl ? nl + 1 : end;
	}
	*map = m;
	*n = lines;
	return 0;
}

void ck_embed_apply(float *out, const int32_t *ids, const int32_t *lengths, const int32_t *map,
                    const float *vectors, int64_t N, int L, int D, ck_embed_pool pool)
{
	size_t d = (size_t)D;
	#pragma omp parallel for schedule(static)
	for (int64_t n = 0; n < N; n++) {
		const int32_t *row = ids + (size_t)n * (size_t)L;
		int len = lengths ? lengths[n] : L;
		len = len < 0 ? 0 : len > L ? L : len;
		if (pool == CK_EMBED_POOL_NONE) {
			float *o = out + (size_t)n * (size_t)L * d;
			memset(o, 0, (size_t)L * d * sizeof *o);
			for (int t = 0; t < len; t++)
				if (map[row[t]] >= 0)
					memcpy(o + (size_t)t * d, vectors + (size_t)map[row[t]] * d, d * sizeof *o);
			continue;
		}
		float *o = out + (size_t)n * d;
		int known = 0;
		for (int t = 0; t < len; t++) {
			int32_t r = map[row[t]];
			if (r < 0)
				continue;
			const float *v = vectors + (size_t)r * d;
			if (known == 0)
				memcpy(o, v, d * sizeof *o);
			else if (pool == CK_EMBED_POOL_MEAN)
				for (size_t i = 0; i < d; i++)
					o[i] += v[i];
			else
				for (size_t i = 0; i < d; i++)
					o[i] = v[i] > o[i] ? v[i] : o[i];
			known++;
		}
		if (known == 0)
			memset(o, 0, d * sizeof *o);
		else if (pool == CK_EMBED_POOL_MEAN)
			for (size_t i = 0; i < d; i++)
				o[i] /= (float)known;
	}
}
