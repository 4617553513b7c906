/* embed_table.c: the word-vector table, its word index, and the embeddings
 * TNZ file (`vectors`, `counts`, metadata `vocab`). */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cnnkit.h"

static uint64_t hash_bytes(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
	return h ^ (h >> 29);
}

static int word_ok(const char *w, size_t len)
{
	if (len == 0 || len > CK_EMBED_MAX_WORD)
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)w[i];
		if (ch == 0 || ch == ' ' || (ch >= '\t' && ch <= '\r'))
			return 0;
	}
	return 1;
}

int64_t ck_embed_find(const ck_embed *e, const char *word, size_t len)
{
	if (!e->nslots)
		return -1;
	size_t mask = e->nslots - 1;
	for (size_t i = hash_bytes(word, len) & mask;; i = (i + 1) & mask) {
		int64_t r = e->slots[i];
		if (r < 0)
			return -1;
		if (strncmp(e->words[r], word, len) == 0 && e->words[r][len] == 0)
			return r;
	}
}

void ck_embed_free(ck_embed *e)
{
	free(e->vectors);
	free(e->counts);
	free(e->words);
	free(e->word_block);
	free(e->slots);
	memset(e, 0, sizeof *e);
}

int ck_embed_create(ck_embed *e, const char *const *words, int64_t V, int D, ck_err *err)
{
	memset(e, 0, sizeof *e);
	if (V < CK_EMBED_RESERVED || V > CK_EMBED_MAX_ROWS)
		return ck_err_set(err, "%" PRId64 " words: expected 2 to %d", V, CK_EMBED_MAX_ROWS);
	if (D < 1 || D > CK_EMBED_MAX_DIM)
		return ck_err_set(err, "dimension %d: expected 1 to %d", D, CK_EMBED_MAX_DIM);
	if (strcmp(words[0], CK_EMBED_PAD) || strcmp(words[1], CK_EMBED_UNK))
		return ck_err_set(err, "rows 0 and 1 are \"%.40s\" and \"%.40s\": expected \"" CK_EMBED_PAD
		                  "\" and \"" CK_EMBED_UNK "\"", words[0], words[1]);
	size_t bytes = 0;
	for (int64_t i = 0; i < V; i++) {
		size_t len = strlen(words[i]);
		if (!word_ok(words[i], len))
			return ck_err_set(err, "word %" PRId64 " (\"%.40s\"): empty, longer than %d bytes, "
			                  "or holding whitespace", i, words[i], CK_EMBED_MAX_WORD);
		bytes += len + 1;
	}
	size_t nslots = 16;
	while (nslots < (size_t)V * 2)
		nslots *= 2;
	e->vectors = calloc((size_t)V * (size_t)D, sizeof *e->vectors);
	e->counts = calloc((size_t)V, sizeof *e->counts);
	e->words = malloc((size_t)V * sizeof *e->words);
	e->word_block = malloc(bytes);
	e->slots = malloc(nslots * sizeof *e->slots);
	if (!e->vectors || !e->counts || !e->words || !e->word_block || !e->slots) {
		ck_embed_free(e);
		return ck_err_set(err, "out of memory for %" PRId64 " x %d vectors", V, D);
	}
	e->V = V;
	e->D = D;
	char *p = e->word_block;
	for (int64_t i = 0; i < V; i++) {
		size_t len = strlen(words[i]);
		memcpy(p, words[i], len + 1);
		e->words[i] = p;
		p += len + 1;
	}
	/* The index is filled word by word so that a duplicate is seen. */
	memset(e->slots, 0xff, nslots * sizeof *e->slots);
	e->nslots = nslots;
	for (int64_t i = 0; i < V; i++) {
		size_t len = strlen(e->words[i]);
		if (ck_embed_find(e, e->words[i], len) >= 0) {
			ck_err_set(err, "word %" PRId64 " (\"%.40s\") is a duplicate", i, e->words[i]);
			ck_embed_free(e);
			return -1;
		}
		size_t s = hash_bytes(e->words[i], len) & (nslots - 1);
		while (e->slots[s] >= 0)
			s = (s + 1) & (nslots - 1);
		e->slots[s] = i;
	}
	return 0;
}

int ck_embed_from_tnz(ck_embed *e, const ck_tnz *t, ck_err *err)
{
	memset(e, 0, sizeof *e);
	const ck_tensor *vec = ck_tnz_find(t, "vectors");
	const ck_tensor *cnt = ck_tnz_find(t, "counts");
	size_t vlen;
	const char *vocab = ck_meta_get(&t->meta, "vocab", &vlen);
	if (!vec)
		return ck_err_set(err, "no tensor \"vectors\": not an embeddings file");
	if (vec->dtype != CK_DTYPE_F32 || vec->rank != 2)
		return ck_err_set(err, "\"vectors\" is %s of rank %d: expected (V,D) f32",
		                  ck_dtype_name(vec->dtype), vec->rank);
	if (!vocab)
		return ck_err_set(err, "no metadata \"vocab\": the vectors have no words");
	int64_t V = vec->dims[0], D = vec->dims[1];
	if (D < 1 || D > CK_EMBED_MAX_DIM)
		return ck_err_set(err, "\"vectors\" has %" PRId64 " columns: expected 1 to %d", D,
		                  CK_EMBED_MAX_DIM);
	if (cnt && (cnt->dtype != CK_DTYPE_I64 || cnt->rank != 1 || cnt->dims[0] != V))
		return ck_err_set(err, "\"counts\" must be (%" PRId64 ") i64", V);
	char **lines;
	int64_t nlines;
	if (ck_lines_split(vocab, vlen, &lines, &nlines, err) < 0)
		return -1;
	int rc = -1;
	if (nlines != V)
		ck_err_set(err, "\"vocab\" has %" PRId64 " words, \"vectors\" %" PRId64 " rows", nlines, V);
	else if (ck_embed_create(e, (const char *const *)lines, V, (int)D, err) == 0)
		rc = 0;
	ck_lines_free(lines, nlines);
	if (rc < 0)
		return ck_err_prefix(err, "vocab");
	const float *v = vec->data;
	for (size_t i = 0; i < (size_t)V * (size_t)D; i++)
		if (!isfinite(v[i])) {
			ck_embed_free(e);
			return ck_err_set(err, "\"vectors\" row %zu is not finite", i / (size_t)D);
		}
	memcpy(e->vectors, v, (size_t)V * (size_t)D * sizeof(float));
	if (cnt)
		memcpy(e->counts, cnt->data, (size_t)V * sizeof(int64_t));
	return 0;
}

int ck_embed_load(ck_embed *e, const char *path, int threads, ck_err *err)
{
	ck_tnz t;
	memset(e, 0, sizeof *e);
	if (ck_tnz_load(&t, path, threads, err) < 0)
		return ck_err_prefix(err, "%s", path);
	int rc = ck_embed_from_tnz(e, &t, err);
	ck_tnz_free(&t);
	return rc < 0 ? ck_err_prefix(err, "%s", path) : 0;
}

int ck_embed_save(const ck_embed *e, const ck_meta *extra, const char *path,
                  const ck_tnz_opts *opts, ck_err *err)
{
	size_t bytes = 0;
	for (int64_t i = 0; i < e->V; i++)
		bytes += strlen(e->words[i]) + 1;
	char *vocab = malloc(bytes + 1);
	if (!vocab)
		return ck_err_set(err, "out of memory");
	char *p = vocab;
	for (int64_t i = 0; i < e->V; i++) {
		size_t len = strlen(e->words[i]);
		memcpy(p, e->words[i], len);
		p[len] = '\n';
		p += len + 1;
	}
	ck_tnz t = {0};
	int64_t vdims[2] = {e->V, e->D};
	int rc = -1;
	if ((!extra || ck_meta_merge(&t.meta, extra, err) == 0) &&
	    ck_meta_set(&t.meta, "vocab", vocab, bytes, err) == 0 &&
	    ck_tnz_add(&t, "vectors", CK_DTYPE_F32, 2, vdims, e->vectors, err) &&
	    ck_tnz_add(&t, "counts", CK_DTYPE_I64, 1, &e->V, e->counts, err))
		rc = ck_tnz_save(&t, path, opts, err);
	ck_tnz_free(&t);
	free(vocab);
	return rc;
}
