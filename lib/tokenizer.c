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

#if defined(__AVX2__)
#include <immintrin.h>
#elif defined(__SSE2__)
#include <emmintrin.h>
#endif

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

/* Byte flags for the fast path of word mode, where ASCII words are found
 * 64 bytes at a time with bit masks: an ASCII letter or digit (F_WORD), an
 * upper-case one (F_UPPER), a byte that surely ends a word (F_END: a space,
 * or F_PUNCT, punctuation other than the joiners ' - . ,), a joiner (F_JOIN)
 * and a byte of a multi-byte character (F_HIGH). A joiner between word bytes
 * and a high byte leave the rest to the general path. */
enum { F_WORD = 1, F_UPPER = 2, F_END = 4, F_JOIN = 8, F_HIGH = 16, F_PUNCT = 32 };
static const uint8_t byte_flags[256] = {
	4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, /* 00 */
	4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, /* 10 */
	4, 36, 36, 36, 36, 36, 36, 8, 36, 36, 36, 36, 8, 8, 8, 36, /* 20 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 36, 36, 36, 36, 36, 36, /* 30 */
	36, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, /* 40 */
	3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 36, 36, 36, 36, 36, /* 50 */
	36, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 60 */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 36, 36, 36, 36, 4, /* 70 */
	16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, /* 80 */
	16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, /* 90 */
	16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, /* A0 */
	16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, /* B0 */
	16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, /* C0 */
	16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, /* D0 */
	16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, /* E0 */
	16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, /* F0 */
};

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

#if defined(__SSE2__) && !defined(__AVX2__)
/* Bytes of x in [lo, hi], as 0xFF lanes (unsigned compare via a bias). */
static inline __m128i in_range(__m128i x, unsigned char lo, unsigned char hi)
{
	__m128i y = _mm_xor_si128(_mm_sub_epi8(x, _mm_set1_epi8((char)lo)), _mm_set1_epi8((char)0x80));
	return _mm_cmplt_epi8(y, _mm_set1_epi8((char)((hi - lo + 1) ^ 0x80)));
}
#endif

#if defined(__AVX2__)
/* in_range on 32 bytes. */
static inline __m256i in_range32(__m256i x, unsigned char lo, unsigned char hi)
{
	__m256i y = _mm256_xor_si256(_mm256_sub_epi8(x, _mm256_set1_epi8((char)lo)),
	                             _mm256_set1_epi8((char)0x80));
	return _mm256_cmpgt_epi8(_mm256_set1_epi8((char)((hi - lo + 1) ^ 0x80)), y);
}
#endif

/* The byte_flags of p[0..64) as bit masks: bit i is byte i. */
static inline void window_masks(const unsigned char *p, uint64_t *w, uint64_t *up, uint64_t *pu,
                                uint64_t *jn, uint64_t *hi)
{
#if defined(__AVX2__)
	uint64_t mw = 0, mu = 0, mp = 0, mj = 0, mh = 0;
	for (int k = 0; k < 2; k++) {
		__m256i x = _mm256_loadu_si256((const __m256i *)(p + 32 * k));
		__m256i upper = in_range32(x, 'A', 'Z');
		__m256i word = _mm256_or_si256(_mm256_or_si256(upper, in_range32(x, 'a', 'z')),
		                               in_range32(x, '0', '9'));
		__m256i join = _mm256_or_si256(
			_mm256_or_si256(_mm256_cmpeq_epi8(x, _mm256_set1_epi8('\'')),
			                _mm256_cmpeq_epi8(x, _mm256_set1_epi8('-'))),
			_mm256_or_si256(_mm256_cmpeq_epi8(x, _mm256_set1_epi8('.')),
			                _mm256_cmpeq_epi8(x, _mm256_set1_epi8(','))));
		__m256i space = _mm256_or_si256(in_range32(x, 0, 0x20),
		                                _mm256_cmpeq_epi8(x, _mm256_set1_epi8(0x7F)));
		uint64_t bw = (uint32_t)_mm256_movemask_epi8(word);
		uint64_t bj = (uint32_t)_mm256_movemask_epi8(join);
		uint64_t bh = (uint32_t)_mm256_movemask_epi8(x);
		uint64_t bs = (uint32_t)_mm256_movemask_epi8(space);
		mw |= bw << 32 * k;
		mu |= (uint64_t)(uint32_t)_mm256_movemask_epi8(upper) << 32 * k;
		mj |= bj << 32 * k;
		mh |= bh << 32 * k;
		mp |= (~(bw | bj | bh | bs) & 0xFFFFFFFFu) << 32 * k;
	}
	*w = mw, *up = mu, *pu = mp, *jn = mj, *hi = mh;
#elif defined(__SSE2__)
	uint64_t mw = 0, mu = 0, mp = 0, mj = 0, mh = 0;
	for (int k = 0; k < 4; k++) {
		__m128i x = _mm_loadu_si128((const __m128i *)(p + 16 * k));
		__m128i upper = in_range(x, 'A', 'Z');
		__m128i word = _mm_or_si128(_mm_or_si128(upper, in_range(x, 'a', 'z')),
		                            in_range(x, '0', '9'));
		__m128i join = _mm_or_si128(
			_mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('\'')), _mm_cmpeq_epi8(x, _mm_set1_epi8('-'))),
			_mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('.')), _mm_cmpeq_epi8(x, _mm_set1_epi8(','))));
		__m128i space = _mm_or_si128(in_range(x, 0, 0x20), _mm_cmpeq_epi8(x, _mm_set1_epi8(0x7F)));
		uint64_t bw = (uint64_t)_mm_movemask_epi8(word), bj = (uint64_t)_mm_movemask_epi8(join);
		uint64_t bh = (uint64_t)_mm_movemask_epi8(x), bs = (uint64_t)_mm_movemask_epi8(space);
		mw |= bw << 16 * k;
		mu |= (uint64_t)_mm_movemask_epi8(upper) << 16 * k;
		mj |= bj << 16 * k;
		mh |= bh << 16 * k;
		mp |= (~(bw | bj | bh | bs) & 0xFFFF) << 16 * k;
	}
	*w = mw, *up = mu, *pu = mp, *jn = mj, *hi = mh;
#else
	uint64_t mw = 0, mu = 0, mp = 0, mj = 0, mh = 0;
	for (int i = 0; i < 64; i++) {
		uint64_t f = byte_flags[p[i]];
		mw |= (f & F_WORD) << i;
		mu |= (f >> 1 & 1) << i;
		mj |= (f >> 3 & 1) << i;
		mh |= (f >> 4 & 1) << i;
		mp |= (f >> 5 & 1) << i;
	}
	*w = mw, *up = mu, *pu = mp, *jn = mj, *hi = mh;
#endif
}

/* dst[0..64) = p[0..64) with ASCII upper-case letters lowered. */
static inline void lower_window(unsigned char *dst, const unsigned char *p)
{
#if defined(__AVX2__)
	for (int k = 0; k < 2; k++) {
		__m256i x = _mm256_loadu_si256((const __m256i *)(p + 32 * k));
		__m256i to = _mm256_and_si256(in_range32(x, 'A', 'Z'), _mm256_set1_epi8(0x20));
		_mm256_storeu_si256((__m256i *)(dst + 32 * k), _mm256_add_epi8(x, to));
	}
#elif defined(__SSE2__)
	for (int k = 0; k < 4; k++) {
		__m128i x = _mm_loadu_si128((const __m128i *)(p + 16 * k));
		__m128i to = _mm_and_si128(in_range(x, 'A', 'Z'), _mm_set1_epi8(0x20));
		_mm_storeu_si128((__m128i *)(dst + 16 * k), _mm_add_epi8(x, to));
	}
#else
	for (int i = 0; i < 64; i++)
		dst[i] = (unsigned char)((unsigned)p[i] - 'A' < 26u ? p[i] + 32 : p[i]);
#endif
}

/* An ASCII word of n bytes found byte by byte (a word as long as a window,
 * or one at a joiner): emitted from the input, or lower-cased into t. */
static inline int emit_ascii_word(state *st, tokbuf *t, const unsigned char *w, size_t n,
                                  int lower_it)
{
	if (!lower_it)
		return out(st, (const char *)w, n);
	for (size_t i = 0; i < n; i++)
		t->s[i] = (char)((unsigned)w[i] - 'A' < 26u ? w[i] + 32 : w[i]);
	return out(st, t->s, n);
}

/* The fast path of word mode: consumes what it can of the ASCII text at the
 * cursor (words that no joiner or non-ASCII byte touches, spaces, and
 * punctuation) and stops where the general path must take over. */
static int fast_ascii(cursor *c, int punct, state *st, tokbuf *t)
{
	const unsigned char *p = c->p, *end = c->end;
	unsigned char pad[64]; /* the last bytes of the text, then spaces */
	for (;;) {
		while (p < end) {
			/* Fewer than 64 bytes left (the end of every line): a copy
			 * padded with spaces, which end a word and are no token. */
			const unsigned char *win = p;
			size_t left = (size_t)(end - p);
			if (left < 64) {
				memcpy(pad, p, left);
				memset(pad + left, ' ', 64 - left);
				win = pad;
			}
			uint64_t w, up, pu, jn, hi;
			window_masks(win, &w, &up, &pu, &jn, &hi);
			/* Words come from the window, or from a lowered copy of it
			 * made at once (lowering word by word cost more). */
			unsigned char low[64];
			const unsigned char *src = win;
			if (c->lower && up) {
				lower_window(low, win);
				src = low;
			}
			/* A joiner after a word byte and before one, a high byte or the window's
			 * end) may join: hard, like a high byte. */
			uint64_t hard = hi | (jn & w << 1 & ((w | hi) >> 1 | 1ull << 63));
			unsigned lim = hard ? (unsigned)__builtin_ctzll(hard) : 64;
			/* Leave out the word that ends at lim (it may go on). */
			if (lim > 0 && (w >> (lim - 1) & 1)) {
				uint64_t before = ~w & (lim == 64 ? ~0ull : (1ull << lim) - 1);
				lim = before ? 64 - (unsigned)__builtin_clzll(before) : 0;
			}
			if (lim == 0)
				break;
			uint64_t keep = lim == 64 ? ~0ull : (1ull << lim) - 1;
			uint64_t todo = (w & ~(w << 1)) & keep;
			if (punct)
				todo |= (pu | jn) & keep; /* joiners before lim join nothing */
			while (todo) {
				unsigned i = (unsigned)__builtin_ctzll(todo);
				todo &= todo - 1;
				if (!(w >> i & 1)) {
					if (out(st, (const char *)win + i, 1) < 0)
						return -1;
					continue;
				}
				unsigned n = (unsigned)__builtin_ctzll(~(w >> i));
				if (out(st, (const char *)src + i, n) < 0)
					return -1;
			}
			p += lim < left ? lim : left;
		}
		/* One step byte by byte: a word as long as a window, or one that
		 * ends at a joiner or a non-ASCII character. */
		if (p >= end)
			break;
		unsigned f = byte_flags[*p];
		if (f & F_END) {
			if (punct && (f & F_PUNCT) && out(st, (const char *)p, 1) < 0)
				return -1;
			p++;
			continue;
		}
		if (!(f & F_WORD))
			break;
		const unsigned char *q = p;
		unsigned up = 0;
		while (q < end && ((f = byte_flags[*q]) & F_WORD)) {
			up |= f;
			q++;
		}
		if (q < end && !(byte_flags[*q] & F_END))
			break; /* a joiner or a non-ASCII character follows */
		size_t n = (size_t)(q - p);
		if (t->cap < n && grow(t, n) < 0)
			return -1;
		if (emit_ascii_word(st, t, p, n, c->lower && (up & F_UPPER)) < 0)
			return -1;
		p = q;
	}
	c->p = p;
	return 0;
}

static int tokenize_words(cursor *c, int punct, state *st, tokbuf *t)
{
	item cur;
	int have, pending = 0; /* pending: cur, read by the last word, is still to handle */
	for (;;) {
		if (pending)
			goto general;
		if (fast_ascii(c, punct, st, t) < 0)
			return -1;
		if (!next(c, &cur))
			return 0;
	general:
		pending = 0;
		if (!is_word(cur.cls)) {
			if (cur.cls == CK_UC_PUNCT && punct && out_cp(st, cur.cp) < 0)
				return -1;
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
		pending = have;
	}
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
