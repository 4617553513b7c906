/* embed_text.c: raw text into a word2vec corpus, through the tokenizer. */
#include "cnnkit.h"

typedef struct add_ctx {
	ck_w2v_corpus *c;
	ck_err *err;
	int failed;
} add_ctx;

static int add_token(const char *tok, size_t len, void *arg)
{
	add_ctx *a = arg;
	int32_t id = ck_w2v_corpus_intern(a->c, tok, len, a->err);
	if (id < 0 || ck_w2v_corpus_push(a->c, id, a->err) < 0) {
		a->failed = 1;
		return 1;
	}
	return 0;
}

int ck_w2v_corpus_add_text(ck_w2v_corpus *c, const ck_tok_opts *opts, const char *text,
                           size_t len, size_t *invalid, ck_err *err)
{
	add_ctx a = {c, err, 0};
	ck_err tok_err;
	if (ck_tokenize(opts, text, len, add_token, &a, invalid, &tok_err) < 0) {
		/* A failure of ours is in err already; else the tokenizer's. */
		if (!a.failed)
			return ck_err_set(err, "%s", tok_err.msg);
		return -1;
	}
	return ck_w2v_corpus_end_sentence(c, err);
}
