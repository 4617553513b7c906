/* test_text.c: UTF-8 decoding, the Unicode tables, the tokenizer and
 * vocabularies (lib/utf8.c, lib/unicode_tables.c, lib/tokenizer.c,
 * lib/vocab.c). Expected tokens are written by hand, as a reader expects. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "cnnkit.h"

/* ---- helpers: tokens joined by '|' ---------------------------------------- */

typedef struct joined {
	char s[4096];
	size_t n;
	int stop_after; /* stop after this many tokens; 0: never */
	int seen;
} joined;

static int join_emit(const char *tok, size_t len, void *ctx)
{
	joined *j = ctx;
	if (j->n && j->n < sizeof j->s - 1)
		j->s[j->n++] = '|';
	for (size_t i = 0; i < len && j->n < sizeof j->s - 1; i++)
		j->s[j->n++] = tok[i];
	j->s[j->n] = '\0';
	return j->stop_after && ++j->seen >= j->stop_after;
}

/* The tokens of text under opts, '|'-joined; *count gets ck_tokenize's result. */
static const char *toks_n(ck_tok_opts opts, const char *text, size_t len, int64_t *count,
                          size_t *invalid)
{
	static joined j;
	memset(&j, 0, sizeof j);
	int64_t n = ck_tokenize(&opts, text, len, join_emit, &j, invalid, NULL);
	if (count)
		*count = n;
	return j.s;
}

static const char *toks(ck_tok_opts opts, const char *text)
{
	return toks_n(opts, text, strlen(text), NULL, NULL);
}

#define CHECK_TOKS(opts, text, want)                                                       \
	do {                                                                                   \
		const char *got_ = toks(opts, text);                                               \
		CHECK(strcmp(got_, want) == 0, "\"%s\": got \"%s\", want \"%s\"", text, got_, want); \
	} while (0)

static ck_tok_opts words(void) { return CK_TOK_OPTS_DEFAULT; }
static ck_tok_opts punct(void)
{
	ck_tok_opts o = CK_TOK_OPTS_DEFAULT;
	o.punct = 1;
	return o;
}
static ck_tok_opts strip(void)
{
	ck_tok_opts o = CK_TOK_OPTS_DEFAULT;
	o.strip_accents = 1;
	return o;
}
static ck_tok_opts chars(void)
{
	ck_tok_opts o = CK_TOK_OPTS_DEFAULT;
	o.mode = CK_TOK_CHAR;
	return o;
}

/* ---- UTF-8 ------------------------------------------------------------------ */

static void test_utf8_decode(void)
{
	struct {
		const char *bytes;
		uint32_t cp;
		size_t used, invalid;
	} cases[] = {
		{"A", 'A', 1, 0},
		{"\xC3\xA7", 0xE7, 2, 0},                   /* ç */
		{"\xE2\x80\x99", 0x2019, 3, 0},             /* ’ */
		{"\xF0\x9F\x98\x80", 0x1F600, 4, 0},        /* an emoji */
		{"\xF4\x8F\xBF\xBF", 0x10FFFF, 4, 0},       /* the last code point */
		{"\x80", 0xFFFD, 1, 1},                     /* stray continuation byte */
		{"\xC0\xAF", 0xFFFD, 1, 1},                 /* C0: never valid */
		{"\xC3", 0xFFFD, 1, 1},                     /* truncated */
		{"\xE0\x80\x80", 0xFFFD, 1, 1},             /* overlong: E0 needs A0..BF */
		{"\xED\xA0\x80", 0xFFFD, 1, 1},             /* a surrogate */
		{"\xE2\x80" "A", 0xFFFD, 2, 1},             /* maximal subpart: 2 bytes */
		{"\xF0\x9F\x98" "A", 0xFFFD, 3, 1},         /* maximal subpart: 3 bytes */
		{"\xF4\x90\x80\x80", 0xFFFD, 1, 1},         /* above U+10FFFF */
		{"\xFF", 0xFFFD, 1, 1},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		uint32_t cp = 0;
		size_t invalid = 0;
		size_t used = ck_utf8_decode((const unsigned char *)cases[i].bytes,
		                             strlen(cases[i].bytes), &cp, &invalid);
		CHECK(cp == cases[i].cp && used == cases[i].used && invalid == cases[i].invalid,
		      "case %zu: cp U+%04X used %zu invalid %zu", i, (unsigned)cp, used, invalid);
	}
	/* The counts Python's bytes.decode("utf-8", "replace") gives (one U+FFFD each). */
	static const char four[] = "ok \xE2\x80 \x80\x80 \xF0\x9F\x98\xC3\xA7";
	CHECK(ck_utf8_invalid(four, sizeof four - 1) == 4, "four");
	CHECK(ck_utf8_invalid("pré-só", strlen("pré-só")) == 0, "valid");

	char b[4];
	uint32_t cps[] = {0x24, 0xA2, 0x20AC, 0x10348, 0x7F, 0x80, 0x7FF, 0x800, 0xFFFF, 0x10000};
	for (size_t i = 0; i < sizeof cps / sizeof cps[0]; i++) {
		size_t n = ck_utf8_encode(cps[i], b);
		uint32_t back;
		CHECK(ck_utf8_decode((unsigned char *)b, n, &back, NULL) == n && back == cps[i],
		      "round trip U+%04X", (unsigned)cps[i]);
	}
}

/* ---- the Unicode tables ------------------------------------------------------- */

static void test_unicode_tables(void)
{
	CHECK(ck_unicode_class('a') == CK_UC_LETTER && ck_unicode_class('7') == CK_UC_DIGIT, "ascii");
	CHECK(ck_unicode_class(0xE7) == CK_UC_LETTER, "ç");
	CHECK(ck_unicode_class(0x0301) == CK_UC_MARK, "combining acute");
	CHECK(ck_unicode_class(0x0663) == CK_UC_DIGIT, "arabic-indic 3");
	CHECK(ck_unicode_class(0xB2) == CK_UC_NUMBER, "superscript two");
	CHECK(ck_unicode_class(0x00A0) == CK_UC_SPACE && ck_unicode_class(0x3000) == CK_UC_SPACE,
	      "no-break and ideographic spaces");
	CHECK(ck_unicode_class(0x00AD) == CK_UC_FORMAT && ck_unicode_class(0xFEFF) == CK_UC_FORMAT,
	      "soft hyphen, BOM");
	CHECK(ck_unicode_class(0x2014) == CK_UC_PUNCT && ck_unicode_class(0x20AC) == CK_UC_PUNCT,
	      "em dash, euro");
	CHECK(ck_unicode_class(0x4E2D) == CK_UC_LETTER, "CJK ideograph");
	CHECK(ck_unicode_class(0x1F600) == CK_UC_PUNCT, "emoji is a symbol");
	CHECK(ck_unicode_class(0x110000) == CK_UC_PUNCT, "beyond Unicode");

	CHECK(ck_unicode_lower('A') == 'a' && ck_unicode_lower('a') == 'a', "ascii lower");
	CHECK(ck_unicode_lower(0xC7) == 0xE7 && ck_unicode_lower(0xC3) == 0xE3, "Ç Ã");
	CHECK(ck_unicode_lower(0x0100) == 0x0101 && ck_unicode_lower(0x0101) == 0x0101,
	      "Latin Extended-A alternates");
	CHECK(ck_unicode_lower(0x0130) == 'i', "İ: the simple mapping");
	CHECK(ck_unicode_lower(0x03A3) == 0x03C3, "Σ");
	CHECK(ck_unicode_lower(0x0416) == 0x0436, "Ж");
	CHECK(ck_unicode_lower(0x1E9E) == 0xDF, "capital sharp s");
	CHECK(ck_unicode_lower(0x023A) == 0x2C65, "Ⱥ grows to three bytes");
	CHECK(ck_unicode_lower(0x10400) == 0x10428, "Deseret");
	CHECK(ck_unicode_lower(0x2160) == 0x2170, "roman numeral one");

	CHECK(ck_unicode_strip(0xE7) == 'c' && ck_unicode_strip(0xC3) == 'A', "ç Ã");
	CHECK(ck_unicode_strip(0x01FA) == 'A', "Ǻ: two marks");
	CHECK(ck_unicode_strip(0x1EC7) == 'e', "ệ (Vietnamese)");
	CHECK(ck_unicode_strip(0xF8) == 'o' && ck_unicode_strip(0x0141) == 'L', "ø Ł");
	CHECK(ck_unicode_strip(0x0301) == 0 && ck_unicode_strip(0x20D7) == 0, "marks are deleted");
	CHECK(ck_unicode_strip(0x0903) == 0x0903, "a spacing mark stays");
	CHECK(ck_unicode_strip(0xDF) == 0xDF && ck_unicode_strip(0xAC00) == 0xAC00, "ß, Hangul");
	CHECK(ck_unicode_strip(0x0419) == 0x0418, "Й: Cyrillic short i loses its breve");
	CHECK(strcmp(ck_unicode_version(), "14.0.0") == 0, "version %s", ck_unicode_version());
}

/* Stripping reaches a fixed point in one call, for every code point: Ǿ is Ø
 * plus an acute, and Ø strips again to O, so one decomposition step is not
 * enough. A stripped character also keeps its class (0 = deleted). */
static void test_unicode_strip_idempotent(void)
{
	CHECK(ck_unicode_strip(0x01FE) == 'O' && ck_unicode_strip(0x01FF) == 'o', "Ǿ ǿ");
	unsigned long bad = 0;
	for (uint32_t cp = 0; cp <= 0x10FFFF; cp++) {
		uint32_t s = ck_unicode_strip(cp);
		if (s != 0 && (ck_unicode_strip(s) != s || ck_unicode_class(s) != ck_unicode_class(cp))) {
			if (bad++ < 5)
				CHECK(0, "U+%04X (class %d) strips to U+%04X (class %d), which strips to U+%04X",
				      (unsigned)cp, (int)ck_unicode_class(cp), (unsigned)s,
				      (int)ck_unicode_class(s), (unsigned)ck_unicode_strip(s));
		}
	}
	CHECK(bad == 0, "%lu code points are not at a fixed point after one strip", bad);
}

/* ---- the tokenizer ---------------------------------------------------------- */

static void test_tokenize_portuguese(void)
{
	const char *s = "A AÇÃO da Petrobras subiu 3,5% em 2023 — não é pouco!";
	CHECK_TOKS(words(), s, "a|ação|da|petrobras|subiu|3,5|em|2023|não|é|pouco");
	CHECK_TOKS(punct(), s, "a|ação|da|petrobras|subiu|3,5|%|em|2023|—|não|é|pouco|!");
	CHECK_TOKS(strip(), s, "a|acao|da|petrobras|subiu|3,5|em|2023|nao|e|pouco");
	ck_tok_opts keep = CK_TOK_OPTS_DEFAULT;
	keep.lower = 0;
	CHECK_TOKS(keep, s, "A|AÇÃO|da|Petrobras|subiu|3,5|em|2023|não|é|pouco");
	keep.strip_accents = 1;
	CHECK_TOKS(keep, "ÉPOCA Ação", "EPOCA|Acao");

	CHECK_TOKS(words(), "ÉPOCA, CORAÇÃO e ÍNDIO; Ñandú, ÜBER.", "época|coração|e|índio|ñandú|über");
	CHECK_TOKS(words(),
	           "O guarda-chuva d'água: \"Não sei\", disse ele — e saiu às 14h30 (R$ 1.250,00).",
	           "o|guarda-chuva|d'água|não|sei|disse|ele|e|saiu|às|14h30|r|1.250,00");
	CHECK_TOKS(punct(), "(R$ 1.250,00).", "(|r|$|1.250,00|)|.");
	CHECK_TOKS(words(), "Vende-se casa: 3 quartos, 2 banheiros.",
	           "vende-se|casa|3|quartos|2|banheiros");
	CHECK_TOKS(words(), "Dá-lho-ei amanhã, pô!", "dá-lho-ei|amanhã|pô");
}

static void test_tokenize_joiners(void)
{
	CHECK_TOKS(words(), "don't", "don't");
	CHECK_TOKS(words(), "don\xE2\x80\x99t", "don't"); /* ’ becomes ' */
	CHECK_TOKS(words(), "well\xE2\x80\x90known", "well-known"); /* U+2010 becomes - */
	CHECK_TOKS(words(), "'quoted' -dash- end-", "quoted|dash|end");
	CHECK_TOKS(punct(), "'quoted' -dash- end-", "'|quoted|'|-|dash|-|end|-");
	CHECK_TOKS(punct(), "a--b a-'b", "a|-|-|b|a|-|'|b");
	CHECK_TOKS(words(), "rock-'n'-roll", "rock|n|roll");
	CHECK_TOKS(words(), "3.14 1,000,000 v1.2 a.b 1. .5 1.a", "3.14|1,000,000|v1.2|a|b|1|5|1|a");
	CHECK_TOKS(punct(), "1.a", "1|.|a");
	CHECK_TOKS(words(), "x2,5y", "x2,5y");
	CHECK_TOKS(words(), "snake_case e-mail@host.com", "snake|case|e-mail|host|com");
	CHECK_TOKS(words(), "2-3 o'4", "2-3|o'4");
}

static void test_tokenize_unicode(void)
{
	/* Format characters vanish without splitting a word; a BOM too. */
	CHECK_TOKS(words(), "\xEF\xBB\xBF" "exam\xC2\xAD" "ple", "example");
	CHECK_TOKS(words(), "a\xC2\xAD-b", "a-b");
	/* Decomposed accents stay in the word; strip deletes them. */
	CHECK_TOKS(words(), "Cafe\xCC\x81!", "cafe\xCC\x81");
	CHECK_TOKS(strip(), "Cafe\xCC\x81!", "cafe");
	CHECK_TOKS(strip(), "Łódź Ørsted Straße", "lodz|orsted|straße");
	CHECK_TOKS(words(), "ΟΔΥΣΣΕΥΣ Москва", "οδυσσευσ|москва"); /* simple mapping: no final ς */
	CHECK_TOKS(words(), "İstanbul", "istanbul");
	CHECK_TOKS(words(), "中文 text ١٢٣ x²", "中文|text|١٢٣|x²");
	CHECK_TOKS(words(), "tab\there\r\nnbsp\xC2\xA0word", "tab|here|nbsp|word");
	CHECK_TOKS(punct(), "ok 👍🏽!", "ok|👍|🏽|!");
	CHECK_TOKS(words(), "", "");
	CHECK_TOKS(words(), " \t ", "");

	/* Invalid bytes become U+FFFD, which separates words and is counted. */
	size_t invalid = 0;
	int64_t n;
	const char *got = toks_n(words(), "ab\xFF" "cd\xE2\x80", 7, &n, &invalid);
	CHECK(strcmp(got, "ab|cd") == 0 && n == 2 && invalid == 2, "got %s n %lld invalid %zu", got,
	      (long long)n, invalid);
	got = toks_n(chars(), "a\xFF", 2, &n, &invalid);
	CHECK(strcmp(got, "a|\xEF\xBF\xBD") == 0 && invalid == 3, "char mode shows U+FFFD");
	/* A NUL byte is a space. */
	got = toks_n(words(), "a\0b", 3, &n, NULL);
	CHECK(strcmp(got, "a|b") == 0, "NUL: %s", got);
}

static void test_tokenize_chars(void)
{
	CHECK_TOKS(chars(), "Não é!", "n|ã|o|é|!");
	ck_tok_opts o = chars();
	o.strip_accents = 1;
	o.lower = 0;
	CHECK_TOKS(o, "Não é", "N|a|o|e");
	CHECK_TOKS(chars(), "e\xCC\x81", "e|\xCC\x81"); /* a mark is a character of its own */
}

static int count_emit(const char *tok, size_t len, void *ctx)
{
	size_t *total = ctx;
	*total += len;
	return 0;
}

static void test_tokenize_long(void)
{
	/* A word longer than the stack buffer, with a non-ASCII letter across
	 * each growth, and one of a megabyte. */
	size_t n = 1 << 20;
	char *s = malloc(n + 1);
	for (size_t i = 0; i < n; i++)
		s[i] = "ABCdef"[i % 6];
	memcpy(s + 255, "\xC3\x87", 2); /* Ç across the 256-byte stack buffer */
	s[n] = '\0';
	size_t total = 0;
	ck_tok_opts o = CK_TOK_OPTS_DEFAULT;
	int64_t count = ck_tokenize(&o, s, n, count_emit, &total, NULL, NULL);
	CHECK(count == 1 && total == n, "one token of %zu bytes: %lld tokens, %zu bytes", n,
	      (long long)count, total);
	/* And the same with 'Ⱥ' (2 bytes) that lower-cases to 3 bytes. */
	for (size_t i = 0; i + 1 < n; i += 2)
		memcpy(s + i, "\xC8\xBA", 2);
	total = 0;
	count = ck_tokenize(&o, s, n, count_emit, &total, NULL, NULL);
	CHECK(count == 1 && total == n / 2 * 3, "grows by half: %zu", total);
	free(s);

	/* A token of exactly the buffer size and one byte more. */
	for (size_t len = 250; len < 262; len++) {
		char buf[300];
		memset(buf, 'a', len);
		buf[len] = '!';
		total = 0;
		count = ck_tokenize(&o, buf, len + 1, count_emit, &total, NULL, NULL);
		CHECK(count == 1 && total == len, "length %zu", len);
	}
}

static void test_tokenize_stop(void)
{
	joined j;
	memset(&j, 0, sizeof j);
	j.stop_after = 2;
	ck_tok_opts o = CK_TOK_OPTS_DEFAULT;
	ck_err err;
	int64_t n = ck_tokenize(&o, "one two three", 13, join_emit, &j, NULL, &err);
	CHECK(n == -1 && strcmp(j.s, "one|two") == 0 && strstr(err.msg, "stopped"), "%s", j.s);
}

/* The ASCII fast path reads 64-byte windows, the end of a text through a
 * padded copy, and hands joiners and non-ASCII characters to the general
 * path. Every alignment of the same text must give the same tokens: text
 * shifted by 0..70 leading spaces crosses each window and tail boundary at
 * every byte, on random mixtures of words, joiners, accents, invalid bytes
 * and words longer than a window. */
static void test_tokenize_alignment(void)
{
	static const char *pieces[] = {
		"the", "LORD", "Beginning", "x2,5y", "3.14", "1,000", "don't", "well-known", "a--b",
		"end-", "'q'", ".", ",", "!", "(R$", "AÇÃO", "não", "é", "don\xE2\x80\x99t",
		"exam\xC2\xADple", "\xFF", "\xE2\x80", "\t", "\r", "👍🏽", "Москва", "_", "-",
		"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijkl", /* 64 */
		"ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLM", /* 65 */
	};
	size_t npieces = sizeof pieces / sizeof *pieces;
	ck_tok_opts opts[3] = {words(), punct(), CK_TOK_OPTS_DEFAULT};
	opts[2].lower = 0;
	uint64_t s = 42;
	char text[600], shifted[700];
	static char want[4096];
	for (int round = 0; round < 40; round++) {
		size_t n = 0;
		while (n < 400) {
			s = s * 6364136223846793005ull + 1442695040888963407ull;
			const char *pc = pieces[(s >> 33) % npieces];
			size_t len = strlen(pc);
			memcpy(text + n, pc, len);
			n += len;
			text[n++] = (s >> 20) % 5 ? ' ' : (s >> 24) % 2 ? ',' : '\'';
		}
		for (int o = 0; o < 3; o++) {
			snprintf(want, sizeof want, "%s", toks_n(opts[o], text, n, NULL, NULL));
			for (size_t k = 1; k <= 70; k++) {
				memset(shifted, ' ', k);
				memcpy(shifted + k, text, n);
				const char *got = toks_n(opts[o], shifted, k + n, NULL, NULL);
				CHECK(strcmp(got, want) == 0, "round %d, options %d, shift %zu: \"%s\" != \"%s\"",
				      round, o, k, got, want);
			}
		}
	}
}

/* ---- vocabularies ---------------------------------------------------------- */

static void test_vocab_table(void)
{
	ck_vocab *v = ck_vocab_new(NULL);
	char tok[32];
	for (int i = 0; i < 100000; i++) {
		int len = snprintf(tok, sizeof tok, "w%d", i);
		CHECK(ck_vocab_add(v, tok, (size_t)len, i % 7, NULL) == i, "add %d", i);
	}
	CHECK(ck_vocab_size(v) == 100000, "size");
	int bad = 0;
	for (int i = 0; i < 100000; i++) {
		int len = snprintf(tok, sizeof tok, "w%d", i);
		bad += ck_vocab_find(v, tok, (size_t)len) != i;
		bad += ck_vocab_add(v, tok, (size_t)len, 1, NULL) != i;
		bad += ck_vocab_count(v, i) != i % 7 + 1;
	}
	CHECK(bad == 0, "%d lookups wrong", bad);
	CHECK(ck_vocab_find(v, "w100000", 7) == -1 && ck_vocab_find(v, "w1", 1) == -1, "absent");
	size_t len;
	CHECK(strcmp(ck_vocab_token(v, 123, &len), "w123") == 0 && len == 4, "token");
	ck_err err;
	CHECK(ck_vocab_add(v, "a\tb", 3, 1, &err) == -1 && strstr(err.msg, "tab"), "%s", err.msg);
	CHECK(ck_vocab_add(v, "", 0, 1, &err) == -1, "empty");
	ck_vocab_free(v);
}

static void test_vocab_finalize(void)
{
	ck_vocab *v = ck_vocab_new(NULL);
	const char *words_[] = {"b", "a", "c", "ab", "d", "e"};
	int64_t counts[] = {3, 3, 5, 3, 1, 2};
	for (int i = 0; i < 6; i++)
		ck_vocab_add(v, words_[i], strlen(words_[i]), counts[i], NULL);
	int32_t *remap = NULL;
	ck_err err;
	CHECK(ck_vocab_finalize(v, 2, 5, &remap, &err) == 0, "%s", err.msg);
	size_t len;
	char *meta = ck_vocab_to_meta(v, &len, NULL);
	/* c (5), then the threes by bytes: a, ab, b; cut at 5 ids; e (2), d (1) out. */
	CHECK(strcmp(meta, "<pad>\n<unk>\nc\na\nab\n") == 0 && len == strlen(meta), "%s", meta);
	CHECK(ck_vocab_count(v, CK_VOCAB_UNK) == 3 + 2 + 1 && ck_vocab_count(v, 0) == 0,
	      "unk counts what was left out: %lld", (long long)ck_vocab_count(v, 1));
	int32_t want[] = {1, 3, 2, 4, 1, 1};
	CHECK(remap && memcmp(remap, want, sizeof want) == 0, "remap");
	free(remap);
	free(meta);

	/* Parse the metadata back; write and load vocab.txt. */
	char path[] = "/tmp/test_text_vocab_XXXXXX";
	int fd = mkstemp(path);
	close(fd);
	CHECK(ck_vocab_write_txt(v, path, &err) == 0, "%s", err.msg);
	FILE *f = fopen(path, "r");
	char text[256] = {0};
	CHECK(f && fread(text, 1, sizeof text - 1, f) > 0, "read back");
	if (f)
		fclose(f);
	CHECK(strcmp(text, "<pad>\t0\n<unk>\t6\nc\t5\na\t3\nab\t3\n") == 0, "%s", text);
	ck_vocab *w = ck_vocab_load(path, NULL, NULL, &err);
	CHECK(w && ck_vocab_size(w) == 5 && ck_vocab_find(w, "ab", 2) == 4 &&
	      ck_vocab_count(w, 2) == 5, "load");
	ck_vocab_free(w);
	unlink(path);
	ck_vocab_free(v);

	/* A finalized empty vocabulary is <pad> and <unk>. */
	v = ck_vocab_new(NULL);
	CHECK(ck_vocab_finalize(v, 1, 0, NULL, &err) == 0 && ck_vocab_size(v) == 2, "empty");
	ck_vocab_free(v);
}

static void test_vocab_parse(void)
{
	ck_err err;
	const char *ok = "<pad>\n<unk>\r\nthe\t12\nof\n";
	ck_vocab *v = ck_vocab_parse(ok, strlen(ok), &err);
	CHECK(v && ck_vocab_size(v) == 4 && ck_vocab_count(v, 2) == 12 &&
	      ck_vocab_find(v, "of", 2) == 3 && ck_vocab_find(v, "<unk>", 5) == 1, "parse");
	ck_vocab_free(v);
	struct {
		const char *text, *msg;
	} bad[] = {
		{"", "empty"},
		{"<pad>\n", "only <pad>"},
		{"the\n<unk>\n", "line 1: expected \"<pad>\""},
		{"<pad>\nthe\n", "line 2: expected \"<unk>\""},
		{"<pad>\n<unk>\nthe\nthe\n", "line 4: token \"the\" again"},
		{"<pad>\n<unk>\n\nthe\n", "line 3: empty token"},
		{"<pad>\n<unk>\nthe\tmany\n", "line 3: the count"},
		{"<pad>\n<unk>\nthe\t-1\n", "line 3: the count"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		v = ck_vocab_parse(bad[i].text, strlen(bad[i].text), &err);
		CHECK(!v && strstr(err.msg, bad[i].msg), "case %zu: %s", i, v ? "(parsed)" : err.msg);
		ck_vocab_free(v);
	}
}

static void test_vocab_load_tnz(void)
{
	ck_tnz t = {0};
	int64_t dims[2] = {2, 3};
	int32_t x[6] = {2, 3, 0, 1, 0, 0};
	ck_tnz_add(&t, "x", CK_DTYPE_I32, 2, dims, x, NULL);
	ck_meta_set(&t.meta, "vocab", "<pad>\n<unk>\nola\nmundo\n", (size_t)-1, NULL);
	ck_meta_set(&t.meta, "classes", "neg\npos\n", (size_t)-1, NULL);
	char path[] = "/tmp/test_text_tnz_XXXXXX";
	int fd = mkstemp(path);
	close(fd);
	ck_err err;
	CHECK(ck_tnz_save(&t, path, NULL, &err) == 0, "%s", err.msg);
	ck_meta meta = {0};
	int64_t width = -1;
	ck_vocab *v = ck_vocab_load(path, &meta, &width, &err);
	CHECK(v && ck_vocab_size(v) == 4 && ck_vocab_find(v, "mundo", 5) == 3, "vocab from TNZ");
	CHECK(width == 3, "x width %lld", (long long)width);
	CHECK(ck_meta_get(&meta, "classes", NULL) != NULL, "classes passed on");
	ck_vocab_free(v);
	ck_meta_free(&meta);

	ck_meta_remove(&t.meta, "vocab");
	ck_tnz_save(&t, path, NULL, NULL);
	v = ck_vocab_load(path, NULL, NULL, &err);
	CHECK(!v && strstr(err.msg, "no \"vocab\" metadata") && strstr(err.msg, path), "%s",
	      err.msg);
	unlink(path);
	v = ck_vocab_load(path, NULL, NULL, &err);
	CHECK(!v && strstr(err.msg, "No such file"), "%s", err.msg);
	ck_tnz_free(&t);
}

static void test_tok_opts_meta(void)
{
	ck_err err;
	char buf[CK_TOK_META_MAX];
	ck_tok_opts o = CK_TOK_OPTS_DEFAULT, back;
	ck_tok_opts_format(&o, buf, sizeof buf);
	char want[CK_TOK_META_MAX];
	snprintf(want, sizeof want, "mode=word punct=0 lower=1 strip_accents=0 unicode=%s",
	         ck_unicode_version());
	CHECK(strcmp(buf, want) == 0, "%s", buf);
	/* Every combination reads back. */
	for (int bits = 0; bits < 16; bits++) {
		o = (ck_tok_opts){bits & 1 ? CK_TOK_CHAR : CK_TOK_WORD, bits >> 1 & 1, bits >> 2 & 1,
		                  bits >> 3 & 1};
		ck_tok_opts_format(&o, buf, sizeof buf);
		memset(&back, 0x55, sizeof back);
		CHECK(ck_tok_opts_parse(&back, buf, &err) == 0, "%s: %s", buf, err.msg);
		CHECK(back.mode == o.mode && back.punct == o.punct && back.lower == o.lower &&
		      back.strip_accents == o.strip_accents, "%s", buf);
	}
	/* Keys left out keep the defaults; the unicode version is not checked. */
	CHECK(ck_tok_opts_parse(&back, "  mode=char  unicode=99.0 ", &err) == 0, "%s", err.msg);
	CHECK(back.mode == CK_TOK_CHAR && back.lower == 1 && back.punct == 0, "defaults");
	CHECK(ck_tok_opts_parse(&back, "", &err) == 0 && back.mode == CK_TOK_WORD, "empty");
	static const struct { const char *text, *msg; } bad[] = {
		{"mode=chars", "tokenizer setting \"mode=chars\": expected word or char"},
		{"lower=yes", "tokenizer setting \"lower=yes\": expected 0 or 1"},
		{"punct=", "tokenizer setting \"punct=\": expected 0 or 1"},
		{"stem=1", "unknown tokenizer setting \"stem\""},
		{"mode", "tokenizer setting \"mode\": expected KEY=VALUE"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		o = CK_TOK_OPTS_DEFAULT;
		back = (ck_tok_opts){CK_TOK_CHAR, 1, 0, 1};
		CHECK(ck_tok_opts_parse(&back, bad[i].text, &err) < 0 && strcmp(err.msg, bad[i].msg) == 0,
		      "%s: %s", bad[i].text, err.msg);
		CHECK(back.mode == CK_TOK_CHAR && back.punct == 1, "%s: *o unchanged", bad[i].text);
	}
}

static void test_tokenize_row(void)
{
	ck_err err;
	const char *meta = "<pad>\n<unk>\nbom\nfilme\nação\n";
	ck_vocab *v = ck_vocab_parse(meta, strlen(meta), &err);
	CHECK(v != NULL, "%s", err.msg);
	ck_tok_opts o = CK_TOK_OPTS_DEFAULT;
	int32_t row[5];
	const char *text = "Bom FILME, muito bom! AÇÃO filme";
	int64_t n = ck_tokenize_row(&o, v, text, strlen(text), row, 5, NULL, &err);
	CHECK(n == 6, "6 tokens, got %lld", (long long)n);
	int32_t want[5] = {2, 3, 1, 2, 4}; /* cut at 5: the last "filme" is left out */
	CHECK(memcmp(row, want, sizeof row) == 0, "ids %d %d %d %d %d", row[0], row[1], row[2],
	      row[3], row[4]);
	memset(row, 0x55, sizeof row);
	n = ck_tokenize_row(&o, v, "filme", 5, row, 5, NULL, &err);
	CHECK(n == 1 && row[0] == 3 && row[1] == 0 && row[4] == 0, "padded");
	memset(row, 0x55, sizeof row);
	n = ck_tokenize_row(&o, v, "", 0, row, 5, NULL, &err);
	CHECK(n == 0 && row[0] == 0 && row[4] == 0, "an empty line is all padding");
	n = ck_tokenize_row(&o, v, "!!! ...", 7, row, 5, NULL, &err);
	CHECK(n == 0 && row[0] == 0, "punctuation only: no tokens");
	/* Invalid UTF-8 is counted; characters mode. */
	size_t invalid = 0;
	o.mode = CK_TOK_CHAR;
	n = ck_tokenize_row(&o, v, "b\xffo", 3, row, 5, &invalid, &err);
	CHECK(n == 3 && invalid == 1 && row[0] == 1 && row[3] == 0, "char mode, %lld", (long long)n);
	ck_vocab_free(v);
}

int main(void)
{
	RUN(test_utf8_decode);
	RUN(test_unicode_tables);
	RUN(test_unicode_strip_idempotent);
	RUN(test_tokenize_portuguese);
	RUN(test_tokenize_joiners);
	RUN(test_tokenize_unicode);
	RUN(test_tokenize_chars);
	RUN(test_tokenize_long);
	RUN(test_tokenize_stop);
	RUN(test_tokenize_alignment);
	RUN(test_vocab_table);
	RUN(test_vocab_finalize);
	RUN(test_vocab_parse);
	RUN(test_vocab_load_tnz);
	RUN(test_tok_opts_meta);
	RUN(test_tokenize_row);
	return check_summary();
}
