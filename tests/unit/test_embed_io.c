/* test_embed_io.c: the word-vector table, the embeddings TNZ file, the
 * word2vec/GloVe/fastText formats (round trips and hostile input), nearest
 * words, analogies and embed apply's lookup. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "cnnkit.h"

/* A table of n words (plus the reserved rows) of dimension D with values
 * that need all 9 digits to print exactly. */
static void make_table(ck_embed *e, int64_t n, int D)
{
	const char **words = malloc((size_t)(n + 2) * sizeof *words);
	char (*buf)[32] = malloc((size_t)n * sizeof *buf);
	words[0] = "<pad>";
	words[1] = "<unk>";
	for (int64_t i = 0; i < n; i++) {
		snprintf(buf[i], sizeof buf[i], i == 0 ? "ação" : "w%lld", (long long)i);
		words[i + 2] = buf[i];
	}
	ck_err err;
	if (ck_embed_create(e, words, n + 2, D, &err) < 0) {
		printf("# %s\n", err.msg);
		exit(1);
	}
	ck_rng rng;
	ck_rng_seed(&rng, 7);
	for (int64_t i = 2 * D; i < e->V * D; i++)
		e->vectors[i] = ck_rng_normal(&rng) * 0.37f;
	e->vectors[2 * D] = 1e-30f; /* a tiny value and a large one print exactly too */
	e->vectors[2 * D + 1] = -3.4e38f;
	free(words);
	free(buf);
}

static int same_table(const ck_embed *a, const ck_embed *b)
{
	if (a->V != b->V || a->D != b->D)
		return 0;
	for (int64_t i = 0; i < a->V; i++)
		if (strcmp(a->words[i], b->words[i]))
			return 0;
	return memcmp(a->vectors, b->vectors, (size_t)a->V * (size_t)a->D * sizeof(float)) == 0;
}

static void test_create_find(void)
{
	ck_embed e;
	make_table(&e, 50, 3);
	CHECK(ck_embed_find(&e, "<pad>", 5) == 0, "pad");
	CHECK(ck_embed_find(&e, "<unk>", 5) == 1, "unk");
	CHECK(ck_embed_find(&e, "ação", strlen("ação")) == 2, "utf-8 word");
	CHECK(ck_embed_find(&e, "w49", 3) == 51, "last");
	CHECK(ck_embed_find(&e, "w4", 2) == 6, "prefix is another word");
	CHECK(ck_embed_find(&e, "w50", 3) == -1, "absent");
	ck_embed_free(&e);

	ck_err err;
	const char *dup[] = {"<pad>", "<unk>", "a", "b", "a"};
	CHECK(ck_embed_create(&e, dup, 5, 2, &err) < 0 && strstr(err.msg, "duplicate"), "%s", err.msg);
	const char *noreserved[] = {"a", "b"};
	CHECK(ck_embed_create(&e, noreserved, 2, 2, &err) < 0 && strstr(err.msg, "<pad>"), "%s",
	      err.msg);
	const char *space[] = {"<pad>", "<unk>", "a b"};
	CHECK(ck_embed_create(&e, space, 3, 2, &err) < 0, "a word with a space");
	CHECK(ck_embed_create(&e, dup, 3, 0, &err) < 0, "dimension 0");
}

static void test_tnz_round_trip(void)
{
	ck_embed e, back;
	make_table(&e, 20, 5);
	for (int64_t i = 0; i < e.V; i++)
		e.counts[i] = 100 - i;
	char path[] = "/tmp/test_embed_XXXXXX";
	int fd = mkstemp(path);
	close(fd);
	ck_err err;
	CHECK(ck_embed_save(&e, NULL, path, NULL, &err) == 0, "%s", err.msg);
	CHECK(ck_embed_load(&back, path, 1, &err) == 0, "%s", err.msg);
	CHECK(same_table(&e, &back), "vectors and words");
	CHECK(memcmp(e.counts, back.counts, (size_t)e.V * sizeof(int64_t)) == 0, "counts");
	ck_embed_free(&back);

	/* What a reader refuses. */
	ck_tnz t = {0};
	int64_t dims[2] = {3, 2};
	ck_tnz_add(&t, "vectors", CK_DTYPE_F32, 2, dims, NULL, &err);
	CHECK(ck_embed_from_tnz(&back, &t, &err) < 0 && strstr(err.msg, "vocab"), "%s", err.msg);
	ck_meta_set(&t.meta, "vocab", "<pad>\n<unk>\n", (size_t)-1, &err);
	CHECK(ck_embed_from_tnz(&back, &t, &err) < 0 && strstr(err.msg, "2 words"), "%s", err.msg);
	ck_meta_set(&t.meta, "vocab", "<pad>\n<unk>\nx\n", (size_t)-1, &err);
	CHECK(ck_embed_from_tnz(&back, &t, &err) == 0, "%s", err.msg);
	CHECK(back.counts[2] == 0, "counts absent: zeros");
	ck_embed_free(&back);
	ck_meta_set(&t.meta, "vocab", "a\nb\nc\n", (size_t)-1, &err);
	CHECK(ck_embed_from_tnz(&back, &t, &err) < 0 && strstr(err.msg, "<pad>"), "%s", err.msg);
	ck_tnz_free(&t);
	unlink(path);
	ck_embed_free(&e);
}

static void test_format_round_trips(void)
{
	ck_embed e;
	make_table(&e, 30, 7);
	/* A vector for <unk> is written and read back into row 1. */
	e.vectors[7] = 0.5f;
	ck_embed_format fmts[] = {CK_EMBED_TEXT, CK_EMBED_BINARY, CK_EMBED_GLOVE};
	for (int f = 0; f < 3; f++) {
		char *buf;
		size_t len;
		ck_err err;
		ck_embed back;
		CHECK(ck_embed_export_mem(&e, fmts[f], &buf, &len, &err) == 0, "%s", err.msg);
		CHECK(ck_embed_detect_mem(buf, len) == fmts[f], "detect %s", ck_embed_format_name(fmts[f]));
		ck_embed_import_stats st;
		CHECK(ck_embed_import_mem(&back, buf, len, CK_EMBED_AUTO, &st, &err) == 0, "%s: %s",
		      ck_embed_format_name(fmts[f]), err.msg);
		CHECK(same_table(&e, &back), "%s round trip is bit-exact", ck_embed_format_name(fmts[f]));
		CHECK(st.words == 31 && st.duplicates == 0, "stats %lld", (long long)st.words);
		if (fmts[f] == CK_EMBED_TEXT)
			CHECK(strncmp(buf, "31 7\n<unk> 0.5 ", 15) == 0, "header and <unk> first");
		ck_embed_free(&back);
		free(buf);
	}
	/* Zero reserved rows are not written. */
	e.vectors[7] = 0.0f;
	char *buf;
	size_t len;
	ck_err err;
	CHECK(ck_embed_export_mem(&e, CK_EMBED_TEXT, &buf, &len, &err) == 0, "%s", err.msg);
	CHECK(strncmp(buf, "30 7\nação ", strlen("30 7\nação ")) == 0, "no reserved rows");
	free(buf);
	ck_embed_free(&e);
}

static int import_str(ck_embed *e, const char *s, ck_embed_format f, ck_embed_import_stats *st,
                      ck_err *err)
{
	return ck_embed_import_mem(e, s, strlen(s), f, st, err);
}

static void test_fasttext_vec(void)
{
	/* As fastText writes .vec: a header, trailing spaces; here CRLF too. */
	const char *vec = "3 4\r\n</s> 0.1 0.2 0.3 0.4 \r\nthe -1 -2 -3 -4 \r\nand 1e-3 2E2 .5 -0 \r\n";
	ck_embed e;
	ck_err err;
	CHECK(ck_embed_detect_mem(vec, strlen(vec)) == CK_EMBED_TEXT, "detected as text");
	CHECK(import_str(&e, vec, CK_EMBED_AUTO, NULL, &err) == 0, "%s", err.msg);
	CHECK(e.V == 5 && e.D == 4, "V %lld D %d", (long long)e.V, e.D);
	CHECK(strcmp(e.words[2], "</s>") == 0 && strcmp(e.words[4], "and") == 0, "words");
	CHECK(e.vectors[4 * 4 + 1] == 2e2f && e.vectors[3 * 4 + 3] == -4.0f, "values");
	CHECK(e.vectors[0] == 0 && e.vectors[4] == 0, "reserved rows zero");
	ck_embed_free(&e);

	/* GloVe: no header, and a first line of two numbers is a header. */
	const char *glove = "cat 1 2 3\ndog 4 5 6\n\n";
	CHECK(ck_embed_detect_mem(glove, strlen(glove)) == CK_EMBED_GLOVE, "glove");
	CHECK(import_str(&e, glove, CK_EMBED_AUTO, NULL, &err) == 0, "%s", err.msg);
	CHECK(e.V == 4 && e.D == 3 && e.vectors[3 * 3 + 2] == 6.0f, "glove values");
	ck_embed_free(&e);

	const char *dups = "a 1 2\nb 3 4\na 5 6\n";
	ck_embed_import_stats st;
	CHECK(import_str(&e, dups, CK_EMBED_GLOVE, &st, &err) == 0, "%s", err.msg);
	CHECK(e.V == 4 && st.duplicates == 1 && strcmp(st.first_duplicate, "a") == 0 &&
	      e.vectors[2 * 2] == 1.0f, "the first of duplicates is kept");
	ck_embed_free(&e);
}

static void test_bad_files(void)
{
	#define LIT(s) s, sizeof(s) - 1 /* the bytes of a literal, NULs included */
	static const struct {
		const char *data;
		size_t len;
		ck_embed_format fmt;
		const char *msg;
	} bad[] = {
		{LIT(""), CK_EMBED_AUTO, "no vectors"},
		{LIT("\n\n"), CK_EMBED_AUTO, "no vectors"},
		{LIT("2 3\na 1 2 3\n"), CK_EMBED_TEXT, "1 records, the header says 2"},
		{LIT("1 3\na 1 2 3\nb 1 2 3\n"), CK_EMBED_TEXT, "line 3: more records"},
		{LIT("1 3\na 1 2\n"), CK_EMBED_TEXT, "line 2: 2 numbers after the word, expected 3"},
		{LIT("1 3\na 1 2 3 4\n"), CK_EMBED_TEXT, "line 2: more than 3 numbers"},
		{LIT("1 3\na 1 x 3\n"), CK_EMBED_TEXT, "line 2: \"x\" is not a finite number"},
		{LIT("1 3\na 1 nan 3\n"), CK_EMBED_TEXT, "not a finite number"},
		{LIT("1 3\na 1 1e99 3\n"), CK_EMBED_TEXT, "not a finite number"},
		{LIT("1 100000000\na 1\n"), CK_EMBED_TEXT, "dimension 100000000"},
		{LIT("1 0\na\n"), CK_EMBED_TEXT, "dimension 0"},
		{LIT("999999999 300\na 1\n"), CK_EMBED_TEXT, "cannot fit"},
		{LIT("5000000000000 2\n"), CK_EMBED_BINARY, "cannot fit"},
		{LIT("a b\n"), CK_EMBED_TEXT, "expected a header"},
		{LIT("x 1 2\ny 1\n"), CK_EMBED_GLOVE, "line 2: 1 numbers"},
		{LIT("2 1\na \x01\x02\x03\x04\nb "), CK_EMBED_BINARY, "record 2 of 2: truncated"},
		{LIT("1 2\na \x00\x00\x80\x3f"), CK_EMBED_BINARY, "record 1 of 1: truncated"},
		{LIT("1 1\na \x00\x00\xc0\x7f\n"), CK_EMBED_BINARY, "not finite"},
		{LIT("1 1\na \x00\x00\x80\x3f\nextra"), CK_EMBED_BINARY, "bytes after"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ck_embed e;
		ck_err err = {{0}};
		int rc = ck_embed_import_mem(&e, bad[i].data, bad[i].len, bad[i].fmt, NULL, &err);
		CHECK(rc < 0 && strstr(err.msg, bad[i].msg), "case %zu: got \"%s\", want \"%s\"", i,
		      rc < 0 ? err.msg : "success", bad[i].msg);
		CHECK(e.V == 0 && e.vectors == NULL, "case %zu leaves the table empty", i);
	}
	/* A word over the limit. */
	size_t n = CK_EMBED_MAX_WORD + 20;
	char *big = malloc(n + 16);
	memset(big, 'a', n);
	strcpy(big + n, " 1 2\n");
	ck_embed e;
	ck_err err;
	CHECK(ck_embed_import_mem(&e, big, strlen(big), CK_EMBED_GLOVE, NULL, &err) < 0 &&
	      strstr(err.msg, "longer than"), "%s", err.msg);
	free(big);
	/* Every truncation of a valid binary file fails cleanly or reads it whole. */
	ck_embed t;
	make_table(&t, 4, 3);
	char *buf;
	size_t len;
	ck_embed_export_mem(&t, CK_EMBED_BINARY, &buf, &len, &err);
	int wrong = 0;
	for (size_t cut = 0; cut < len - 1; cut++) {
		if (ck_embed_import_mem(&e, buf, cut, CK_EMBED_BINARY, NULL, &err) == 0) {
			wrong++;
			ck_embed_free(&e);
		}
	}
	CHECK(wrong == 0, "%d truncations read as valid", wrong);
	CHECK(ck_embed_import_mem(&e, buf, len - 1, CK_EMBED_BINARY, NULL, &err) == 0,
	      "the final newline is optional: %s", err.msg);
	ck_embed_free(&e);
	free(buf);
	ck_embed_free(&t);
}

static void test_nearest_analogy(void)
{
	/* man (1,0,0), woman (1,1,0), king (1,0,1), queen (1,1,1), apple (0,0,-1) */
	const char *w[] = {"<pad>", "<unk>", "man", "woman", "king", "queen", "apple"};
	ck_embed e;
	ck_err err;
	CHECK(ck_embed_create(&e, w, 7, 3, &err) == 0, "%s", err.msg);
	float v[] = {0, 0, 0, 0, 0, 0, 1, 0, 0, 1, 1, 0, 1, 0, 1, 1, 1, 1, 0, 0, -1};
	memcpy(e.vectors, v, sizeof v);
	float *unit = ck_embed_unit(&e);
	ck_embed_hit hits[10];
	int64_t self = 4;
	int n = ck_embed_nearest(unit, e.V, e.D, unit + 4 * 3, &self, 1, hits, 10);
	CHECK(n == 4, "every real row but itself: %d", n);
	CHECK(hits[0].row == 5 && hits[1].row == 2, "king: queen, then man: %lld %lld",
	      (long long)hits[0].row, (long long)hits[1].row);
	CHECK_NEAR(hits[0].cosine, 0.8164966, 1e-6, "cosine 2/sqrt(6)");
	CHECK(hits[3].row == 6 && hits[3].cosine < 0, "apple last");
	n = ck_embed_analogy(unit, e.V, e.D, 2, 4, 3, hits, 1);
	CHECK(n == 1 && hits[0].row == 5, "man : king :: woman : queen");
	/* Equal scores keep row order: woman and king are both at 1/sqrt(2)
	 * from man... and queen at 1/sqrt(3). */
	self = 2;
	n = ck_embed_nearest(unit, e.V, e.D, unit + 2 * 3, &self, 1, hits, 2);
	CHECK(n == 2 && hits[0].row == 3 && hits[1].row == 4, "ties in row order");
	free(unit);
	ck_embed_free(&e);
}

static void test_apply(void)
{
	const char *w[] = {"<pad>", "<unk>", "b", "a"};
	ck_embed e;
	ck_err err;
	CHECK(ck_embed_create(&e, w, 4, 2, &err) == 0, "%s", err.msg);
	float v[] = {0, 0, 0, 0, 1, 2, 3, -4};
	memcpy(e.vectors, v, sizeof v);
	/* The data's vocabulary: a, b, zzz (no vector). */
	const char *vocab = "<pad>\n<unk>\na\nb\nzzz\n";
	int32_t *map;
	int64_t nmap;
	CHECK(ck_embed_vocab_map(&e, vocab, strlen(vocab), &map, &nmap, &err) == 0, "%s", err.msg);
	CHECK(nmap == 5 && map[0] == -1 && map[1] == -1 && map[2] == 3 && map[3] == 2 && map[4] == -1,
	      "map by string");
	/* rows: [a b zzz pad] length 3; [b unk pad pad] length 2; [zzz pad..] length 1 */
	int32_t ids[] = {2, 3, 4, 0, 3, 1, 0, 0, 4, 0, 0, 0};
	int32_t lengths[] = {3, 2, 1};
	float seq[3 * 4 * 2], pooled[3 * 2];
	ck_embed_apply(seq, ids, lengths, map, e.vectors, 3, 4, 2, CK_EMBED_POOL_NONE);
	float want_seq[] = {3, -4, 1, 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
	CHECK(memcmp(seq, want_seq, sizeof seq) == 0, "sequence");
	ck_embed_apply(pooled, ids, lengths, map, e.vectors, 3, 4, 2, CK_EMBED_POOL_MEAN);
	float want_mean[] = {2, -1, 1, 2, 0, 0};
	CHECK(memcmp(pooled, want_mean, sizeof pooled) == 0, "mean over known words only");
	ck_embed_apply(pooled, ids, lengths, map, e.vectors, 3, 4, 2, CK_EMBED_POOL_MAX);
	float want_max[] = {3, 2, 1, 2, 0, 0};
	CHECK(memcmp(pooled, want_max, sizeof pooled) == 0, "max over known words only");
	free(map);
	CHECK(ck_embed_vocab_map(&e, NULL, 0, &map, &nmap, &err) == 0 && nmap == 4 && map[1] == -1 &&
	      map[3] == 3, "without a vocabulary ids are rows");
	free(map);
	ck_embed_free(&e);
}

int main(void)
{
	RUN(test_create_find);
	RUN(test_tnz_round_trip);
	RUN(test_format_round_trips);
	RUN(test_fasttext_vec);
	RUN(test_bad_files);
	RUN(test_nearest_analogy);
	RUN(test_apply);
	return check_summary();
}
