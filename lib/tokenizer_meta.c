/* tokenizer_meta.c: the tokenizer settings as the metadata `tokenizer` of
 * datasets and models, "mode=word punct=0 lower=1 strip_accents=0
 * unicode=14.0.0" (cnnkit/text.h). */
#include <stdio.h>
#include <string.h>

#include "cnnkit/text.h"

int ck_tok_opts_format(const ck_tok_opts *o, char *buf, size_t cap)
{
	return snprintf(buf, cap, "mode=%s punct=%d lower=%d strip_accents=%d unicode=%s",
	                o->mode == CK_TOK_CHAR ? "char" : "word", o->punct ? 1 : 0,
	                o->lower ? 1 : 0, o->strip_accents ? 1 : 0, ck_unicode_version());
}

/* "0" or "1" into *out. */
static int parse_flag(const char *v, size_t len, int *out)
{
	if (len != 1 || (v[0] != '0' && v[0] != '1'))
		return -1;
	*out = v[0] == '1';
	return 0;
}

int ck_tok_opts_parse(ck_tok_opts *o, const char *text, ck_err *err)
{
	ck_tok_opts r = CK_TOK_OPTS_DEFAULT;
	for (const char *p = text; *p;) {
		if (*p == ' ') {
			p++;
			continue;
		}
		size_t wlen = strcspn(p, " ");
		const char *eq = memchr(p, '=', wlen);
		if (!eq)
			return ck_err_set(err, "tokenizer setting \"%.*s\": expected KEY=VALUE",
			                  (int)(wlen < 60 ? wlen : 60), p);
		size_t klen = (size_t)(eq - p), vlen = wlen - klen - 1;
		const char *v = eq + 1;
		int bad = 0;
		const char *expect = "0 or 1";
		if (klen == 4 && memcmp(p, "mode", 4) == 0) {
			expect = "word or char";
			if (vlen == 4 && memcmp(v, "word", 4) == 0)
				r.mode = CK_TOK_WORD;
			else if (vlen == 4 && memcmp(v, "char", 4) == 0)
				r.mode = CK_TOK_CHAR;
			else
				bad = 1;
		} else if (klen == 5 && memcmp(p, "punct", 5) == 0) {
			bad = parse_flag(v, vlen, &r.punct);
		} else if (klen == 5 && memcmp(p, "lower", 5) == 0) {
			bad = parse_flag(v, vlen, &r.lower);
		} else if (klen == 13 && memcmp(p, "strip_accents", 13) == 0) {
			bad = parse_flag(v, vlen, &r.strip_accents);
		} else if (!(klen == 7 && memcmp(p, "unicode", 7) == 0)) {
			return ck_err_set(err, "unknown tokenizer setting \"%.*s\"",
			                  (int)(klen < 60 ? klen : 60), p);
		}
		if (bad)
			return ck_err_set(err, "tokenizer setting \"%.*s\": expected %s",
			                  (int)(wlen < 60 ? wlen : 60), p, expect);
		p += wlen;
	}
	*o = r;
	return 0;
}
