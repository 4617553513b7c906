/* embedding_init.c: `embedding DIM init=VECTORS.tnz`, word vectors as the
 * initial weight of a model's embedding layer (cnnkit/embed.h).
 *
 * The dataset's ids and the vectors file's rows number their words
 * differently (each by its own corpus counts), so rows are matched through
 * the words themselves: row i of the weight takes the vector of the word on
 * line i of the dataset's `vocab`, wherever the vectors file has it. */
#include <stdlib.h>
#include <string.h>

#include "cnnkit.h"

int64_t ck_embed_init_rows(float *weight, int64_t V, int D, const ck_embed *e, const char *vocab,
                           size_t len, ck_err *err)
{
	if (D != e->D)
		return ck_err_set(err, "vectors of dimension %d, the layer's is %d", e->D, D);
	int32_t *map;
	int64_t lines;
	if (ck_embed_vocab_map(e, vocab, len, &map, &lines, err) < 0)
		return -1;
	if (lines != V) {
		free(map);
		return ck_err_set(err, "the vocabulary has %lld tokens, the layer %lld", (long long)lines,
		                  (long long)V);
	}
	size_t d = (size_t)D;
	int64_t found = 0;
	for (int64_t i = 0; i < V; i++) /* map is -1 for rows 0 and 1 */
		if (map[i] >= 0) {
			memcpy(weight + (size_t)i * d, e->vectors + (size_t)map[i] * d, d * sizeof *weight);
			found++;
		}
	memset(weight, 0, d * sizeof *weight);
	free(map);
	return found;
}

int ck_embed_init_model(ck_model *m, const char *vocab, size_t len, int threads,
                        ck_embed_init_report *report, ck_err *err)
{
	const ck_arch *a = ck_model_arch(m);
	memset(report, 0, sizeof *report);
	report->layer = -1;
	for (int i = 0; i < a->nlayers; i++) {
		const ck_arch_layer *l = &a->layers[i];
		if (l->kind != CK_ARCH_EMBEDDING || !l->embedding.init)
			continue;
		const char *path = l->embedding.init;
		if (!vocab)
			return ck_arch_layer_err(err, l, i, "the data has no vocabulary (metadata vocab) "
			                         "to match the words of %s with", path);
		ck_embed e = {0};
		ck_err why;
		if (ck_embed_load(&e, path, threads, &why) < 0) /* the message starts with path */
			return ck_arch_layer_err(err, l, i, "%s", why.msg);
		float *weight = ck_model_param(m, l->first_param);
		int64_t found = ck_embed_init_rows(weight, l->embedding.vocab, l->embedding.dim, &e,
		                                   vocab, len, &why);
		ck_embed_free(&e);
		if (found < 0)
			return ck_arch_layer_err(err, l, i, "%s: %s", path, why.msg);
		report->layer = i;
		report->path = path;
		report->found = found;
		report->words = l->embedding.vocab - CK_EMBED_RESERVED;
		break; /* an embedding is always the first layer, so there is one */
	}
	return 0;
}
