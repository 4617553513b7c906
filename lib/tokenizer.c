/* tokenizer.c: words, numbers, punctuation or characters of one UTF-8 line
 * (the rules are in cnnkit/text.h).
 *
 * The text is read as a stream of normalised code points (format characters
 * and, with strip_accents, nonspacing marks already deleted), each with the
 * class of the character it came from and whether it may join a word (an
 * apostrophe or hyphen) or a number ('.' or ','). A word is built in a buffer
 * as it is read; a joiner needs one code point of look-ahead. ASCII, most of
 * any English or Portuguese text, takes a table lookup per byte and no
 * decoding. */
#include <stdlib.h>
#include <string.h>

#include "cnnkit/text.h"

enum { J_NONE = 0, J_APOS, J_HYPHEN, J_NUM };

#define P CK_UC_PUNCT
#define L CK_UC_LETTER
#define D CK_UC_DIGIT
#define S CK_UC_SPACE
/* Classes of the ASCII characters (controls are spaces). */
static const uint8_t ascii_class[128] = {
	S, S, S, S, S, S, S, S, S, S, S, S, S, S, S, S, /* 00 */
	S, S, S, S, S, S, S, S, S, S, S, S, S, S, S, S, /* 10 */
	S, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, /* 20  !"#$%&'()*+,-./ */
	D, D, D, D, D, D, D, D, D, D, P, P, P, P, P, P, /* 30 0-9 :;<=>? */
	P, L, L, L, L, L, L, L, L, L, L, L, L, L, L, L, /* 40 @A-O */
	L, L, L, L, L, L, L, L, L, L, L, P, P, P, P, P, /* 50 P-Z [\]^_ */
	P, L, L, L, L, L, L, L, L, L, L, L, L, L, L, L, /* 60 `a-o */
	L, L, L, L, L, L, L, L, L, L, L, P, P, P, P, S, /* 70 p-z {|}~ DEL */
};
#undef P
#undef L
#undef D
#undef S

/* One code point after normalisation. */
typedef struct item {
	uint32_t cp;
	uint8_t cls;  /* ck_uclass of the original character */
	uint8_t join; /* J_... of the original character */
} item;

typedef struct cursor {
	const unsigned char *p, *end;
	size_t *invalid;
	int lower, strip;
} cursor;

static inline int is_word(unsigned cls) { return cls - CK_UC_LETTER <= CK_UC_NUMBER - CK_UC_LETTER; }

static inline unsigned ascii_join(unsigned b)
{
	return b == '\'' ? J_APOS : b == '-' ? J_HYPHEN : b == '.' || b == ',' ? J_NUM : J_NONE;
}

/* Reads the next code point that normalisation keeps; 0 at the end. */
static inline int next(cursor *c, item *it)
{
	while (c->p < c->end) {
		unsigned b = *c->p;
		if (b < 0x80) {
			c->p++;
			it->cls = ascii_class[b];
			it->cp = c->lower && b - 'A' < 26u ? b + 32 : b;
			it->join = (uint8_t)ascii_join(b);
			return 1;
		}
		uint32_t cp;
		c->p += ck_utf8_decode(c->p, (size_t)(c->end - c->p), &cp, c->invalid);
		ck_uclass cls = ck_unicode_class(cp);
		if (cls == CK_UC_FORMAT)
			continue;
		it->join = cp == 0x2019 ? J_APOS : cp == 0x2010 || cp == 0x2011 ? J_HYPHEN : J_NONE;
		if (c->lower)
			cp = ck_unicode_lower(cp);
		if (c->strip && (cp = ck_unicode_strip(cp)) == 0)
			continue;
		it->cp = cp;
		it->cls = (uint8_t)cls;
		return 1;
	}
	return 0;
}

/* A token being built: a stack buffer, moved to the heap if it outgrows it. */
typedef struct tokbuf {
	char *s;
	size_t n, cap;
	char local[256];
} tokbuf;

static int grow(tokbuf *t, size_t need)
{
	size_t cap = t->cap * 2 > t->n + need ? t->cap * 2 : t->n + need;
	char *s = t->s == t->local ? malloc(cap) : realloc(t->s, cap);
	if (!s)
		return -1;
	if (t->s == t->local)
		memcpy(s, t->local, t->n);
	t->s = s;
	t->cap = cap;
	return 0;
}

static inline int put(tokbuf *t, uint32_t cp)
{
	if (t->cap - t->n < 4 && grow(t, 4) < 0)
		return -1;
	if (cp < 0x80)
		t->s[t->n++] = (char)cp;
	else
		t->n += ck_utf8_encode(cp, t->s + t->n);
	return 0;
}

/* Copies the ASCII letters and digits at the cursor into the token (the hot
 * loop of English text); returns the class of the last one copied, or 0 if
 * none was. */
static inline unsigned put_ascii_run(tokbuf *t, cursor *c)
{
	unsigned last = 0;
	for (;;) {
		size_t room = t->cap - t->n, left = (size_t)(c->end - c->p);
		size_t n = room < left ? room : left, i = 0;
		const unsigned char *p = c->p;
		char *out = t->s + t->n;
		for (; i < n; i++) {
			unsigned b = p[i];
			if (b >= 0x80 || !is_word(ascii_class[b]))
				break;
			last = ascii_class[b];
			out[i] = (char)(c->lower && b - 'A' < 26u ? b + 32 : b);
		}
		t->n += i;
		c->p += i;
		if (i < n || i == left)
			return last;
		if (grow(t, 64) < 0) /* room ran out before the run ended */
			return last;
	}
}

typedef struct state {
	ck_tok_emit emit;
	void *ctx;
	int64_t count;
	int stopped;
} state;

static inline int out(state *st, const char *tok, size_t len)
{
	st->count++;
	if (st->emit(tok, len, st->ctx)) {
		st->stopped = 1;
		return -1;
	}
	return 0;
}

static inline int out_cp(state *st, uint32_t cp)
{
	char b[4];
	return out(st, b, ck_utf8_encode(cp, b));
}

static int tokenize_words(cursor *c, int punct, state *st, tokbuf *t)
{
	item cur;
	int have = next(c, &cur);
	while (have) {
		if (!is_word(cur.cls)) {
			if (cur.cls == CK_UC_PUNCT && punct && out_cp(st, cur.cp) < 0)
				return -1;
			have = next(c, &cur);
			continue;
		}
		t->n = 0;
		unsigned last = cur.cls; /* class of the word's last character */
		if (put(t, cur.cp) < 0)
			return -1;
		item joiner = {0, 0, J_NONE}; /* a joiner that turned out not to join */
		for (;;) {
			unsigned run = put_ascii_run(t, c);
			if (run)
				last = run;
			if (t->cap - t->n < 4 && grow(t, 4) < 0)
				return -1;
			if (!(have = next(c, &cur)))
				break;
			if (is_word(cur.cls)) {
				if (put(t, cur.cp) < 0)
					return -1;
				last = cur.cls;
				continue;
			}
			if (cur.join == J_NONE || (cur.join == J_NUM && last != CK_UC_DIGIT))
				break;
			item j = cur;
			have = next(c, &cur);
			if (have && (j.join == J_NUM ? cur.cls == CK_UC_DIGIT : is_word(cur.cls))) {
				uint32_t jc = j.join == J_APOS ? '\'' : j.join == J_HYPHEN ? '-' : j.cp;
				if (put(t, jc) < 0 || put(t, cur.cp) < 0)
					return -1;
				last = cur.cls;
				continue;
			}
			joiner = j;
			break;
		}
		if (out(st, t->s, t->n) < 0)
			return -1;
		if (joiner.join != J_NONE && punct && out_cp(st, joiner.cp) < 0)
			return -1;
	}
	return 0;
}

static int tokenize_chars(cursor *c, state *st)
{
	item cur;
	while (next(c, &cur))
		if (cur.cls != CK_UC_SPACE && out_cp(st, cur.cp) < 0)
			return -1;
	return 0;
}

int64_t ck_tokenize(const ck_tok_opts *opts, const char *text, size_t len, ck_tok_emit emit,
                    void *ctx, size_t *invalid, ck_err *err)
{
	cursor c = {(const unsigned char *)text, (const unsigned char *)text + len, invalid,
	            opts->lower, opts->strip_accents};
	state st = {emit, ctx, 0, 0};
	tokbuf t;
	t.s = t.local;
	t.n = 0;
	t.cap = sizeof t.local;
	int rc = opts->mode == CK_TOK_CHAR ? tokenize_chars(&c, &st)
	                                   : tokenize_words(&c, opts->punct, &st, &t);
	if (t.s != t.local)
		free(t.s);
	if (rc < 0)
		return ck_err_set(err, st.stopped ? "stopped" : "out of memory");
	return st.count;
}
