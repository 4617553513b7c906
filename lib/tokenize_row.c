/* tokenize_row.c: one document to a padded row of token ids in a fixed
 * vocabulary, as tokenize writes x (cnnkit/text.h). */
#include "cnnkit/text.h"

typedef struct row_ctx {
	const ck_vocab *v;
	int32_t *row;
	int64_t L, n; /* row length; tokens seen */
} row_ctx;

static int emit_id(const char *tok, size_t len, void *ctx)
{
	row_ctx *r = ctx;
	if (r->n < r->L) {
		int64_t id = ck_vocab_find(r->v, tok, len);
		r->row[r->n] = id < 0 ? CK_VOCAB_UNK : (int32_t)id;
	}
	r->n++;
	return 0;
}

int64_t ck_tokenize_row(const ck_tok_opts *opts, const ck_vocab *v, const char *text, size_t len,
                        int32_t *row, int64_t L, size_t *invalid, ck_err *err)
{
	row_ctx r = {.v = v, .row = row, .L = L};
	if (len && ck_tokenize(opts, text, len, emit_id, &r, invalid, err) < 0)
		return -1;
	for (int64_t i = r.n < L ? r.n : L; i < L; i++)
		row[i] = CK_VOCAB_PAD;
	return r.n;
}
