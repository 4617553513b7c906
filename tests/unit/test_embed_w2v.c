/* test_embed_w2v.c: word2vec training: the negative-sampling gradient
 * against finite differences, the unigram^0.75 noise table, subsampling,
 * corpora, determinism, and a corpus with planted structure. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cnnkit.h"

static void test_gradient(void)
{
	enum { D = 5, ROWS = 4, STRIDE = 8, N = 3 };
	const int32_t targets[N] = {1, 3, 0}; /* true word 1, noise words 3 and 0 */
	float h[D], out[ROWS * STRIDE] = {0};
	ck_rng rng;
	ck_rng_seed(&rng, 11);
	for (int i = 0; i < D; i++)
		h[i] = ck_rng_normal(&rng) * 0.8f;
	for (int r = 0; r < ROWS; r++)
		for (int i = 0; i < D; i++)
			out[r * STRIDE + i] = ck_rng_normal(&rng) * 0.8f;

	/* With lr 1, the reference step gives -dloss/dh in dh, and moves every
	 * target row by -dloss/drow (targets are distinct). */
	float dh[D] = {0}, out_ref[ROWS * STRIDE];
	memcpy(out_ref, out, sizeof out);
	ck_w2v_ns_update_ref(dh, out_ref, h, targets, N, D, STRIDE, 1.0f);
	const double eps = 1e-3;
	for (int i = 0; i < D; i++) {
		float hp[D], hm[D];
		memcpy(hp, h, sizeof h);
		memcpy(hm, h, sizeof h);
		hp[i] += (float)eps;
		hm[i] -= (float)eps;
		double num = (ck_w2v_ns_loss(hp, out, targets, N, D, STRIDE) -
		              ck_w2v_ns_loss(hm, out, targets, N, D, STRIDE)) / (2 * eps);
		CHECK_NEAR(-dh[i], num, 2e-3, "dloss/dh[%d]", i);
	}
	for (int k = 0; k < N; k++)
		for (int i = 0; i < D; i++) {
			float op[ROWS * STRIDE], om[ROWS * STRIDE];
			size_t at = (size_t)targets[k] * STRIDE + (size_t)i;
			memcpy(op, out, sizeof out);
			memcpy(om, out, sizeof out);
			op[at] += (float)eps;
			om[at] -= (float)eps;
			double num = (ck_w2v_ns_loss(h, op, targets, N, D, STRIDE) -
			              ck_w2v_ns_loss(h, om, targets, N, D, STRIDE)) / (2 * eps);
			CHECK_NEAR(out[at] - out_ref[at], num, 2e-3, "dloss/dout[%d][%d]", targets[k], i);
		}
	CHECK(memcmp(out + 2 * STRIDE, out_ref + 2 * STRIDE, STRIDE * sizeof(float)) == 0,
	      "a row that is no target is left alone");

	/* The trainer's step (sigmoid table, AVX2) agrees with the reference. */
	float dh_fast[D] = {0}, out_fast[ROWS * STRIDE];
	memcpy(out_fast, out, sizeof out);
	ck_w2v_ns_update(dh_fast, out_fast, h, targets, N, D, STRIDE, 1.0f);
	for (int i = 0; i < D; i++)
		CHECK_NEAR(dh_fast[i], dh[i], 3e-3, "fast dh[%d]", i);
	for (int i = 0; i < ROWS * STRIDE; i++)
		CHECK_NEAR(out_fast[i], out_ref[i], 3e-3, "fast out[%d]", i);

	/* One small step lowers the loss. */
	float dh2[D] = {0}, out2[ROWS * STRIDE], h2[D];
	memcpy(out2, out, sizeof out);
	ck_w2v_ns_update(dh2, out2, h, targets, N, D, STRIDE, 0.05f);
	for (int i = 0; i < D; i++)
		h2[i] = h[i] + dh2[i];
	CHECK(ck_w2v_ns_loss(h2, out2, targets, N, D, STRIDE) <
	      ck_w2v_ns_loss(h, out, targets, N, D, STRIDE), "a step descends");

	/* Long vectors take the vector path and its tail (D = 37). */
	enum { D2 = 37 };
	float a[D2], o1[2 * D2], o2[2 * D2], d1[D2] = {0}, d2[D2] = {0};
	for (int i = 0; i < D2; i++)
		a[i] = ck_rng_normal(&rng) * 0.3f;
	for (int i = 0; i < 2 * D2; i++)
		o1[i] = o2[i] = ck_rng_normal(&rng) * 0.3f;
	int32_t t2[2] = {0, 1};
	ck_w2v_ns_update(d1, o1, a, t2, 2, D2, D2, 0.5f);
	ck_w2v_ns_update_ref(d2, o2, a, t2, 2, D2, D2, 0.5f);
	for (int i = 0; i < D2; i++)
		CHECK_NEAR(d1[i], d2[i], 1e-3, "D=37 dh[%d]", i);
}

static void test_noise_table(void)
{
	const int64_t counts[] = {0, 0, 1, 10, 100, 1000, 5, 37};
	enum { V = sizeof counts / sizeof counts[0] };
	ck_w2v_noise t;
	ck_err err;
	CHECK(ck_w2v_noise_init(&t, counts, V, 0.75, &err) == 0, "%s", err.msg);
	double want[V], sum = 0, got[V] = {0};
	for (int i = 0; i < V; i++)
		sum += want[i] = pow((double)counts[i], 0.75) * (counts[i] > 0);
	/* The exact distribution the alias table encodes. */
	for (int i = 0; i < V; i++) {
		got[i] += t.prob[i] / (double)V;
		got[t.alias[i]] += (1.0 - t.prob[i]) / (double)V;
	}
	for (int i = 0; i < V; i++)
		CHECK_NEAR(got[i], want[i] / sum, 1e-6, "P(word %d)", i);
	/* And draws follow it. */
	enum { DRAWS = 400000 };
	int64_t hist[V] = {0};
	ck_rng rng;
	ck_rng_seed(&rng, 5);
	for (int k = 0; k < DRAWS; k++)
		hist[ck_w2v_noise_draw(&t, ck_rng_u64(&rng))]++;
	for (int i = 0; i < V; i++) {
		double p = want[i] / sum, sd = sqrt(p * (1 - p) / DRAWS);
		CHECK(fabs((double)hist[i] / DRAWS - p) <= 5 * sd + 1e-9, "word %d drawn %lld times, p %g",
		      i, (long long)hist[i], p);
	}
	CHECK(hist[0] == 0 && hist[1] == 0, "zero counts are never drawn");
	ck_w2v_noise_free(&t);
	const int64_t zeros[3] = {0};
	CHECK(ck_w2v_noise_init(&t, zeros, 3, 0.75, &err) < 0, "all zero");
}

static void test_subsampling(void)
{
	/* min(1, sqrt(t/f) + t/f), f = count/total. */
	CHECK_NEAR(ck_w2v_keep_prob(100000, 1000000, 1e-3), sqrt(0.01) + 0.01, 1e-12, "f = 0.1");
	CHECK_NEAR(ck_w2v_keep_prob(10000, 1000000, 1e-4), sqrt(0.01) + 0.01, 1e-12, "t = 1e-4");
	CHECK(ck_w2v_keep_prob(1000, 1000000, 1e-3) == 1.0, "f = t: kept");
	CHECK(ck_w2v_keep_prob(5, 1000000, 1e-3) == 1.0, "rare: kept");
	CHECK(ck_w2v_keep_prob(500000, 1000000, 0) == 1.0, "sample 0: off");
	CHECK(ck_w2v_keep_prob(999999, 1000000, 1e-5) < 0.004, "the commonest word is mostly dropped");
}

/* G groups of W words; each sentence is LEN words of one random group: a
 * word's contexts are its group, so its nearest words must be its group. */
enum { G = 5, W = 4, LEN = 8 };

static ck_w2v_corpus *planted_corpus(int sentences, uint64_t seed)
{
	ck_err err;
	ck_w2v_corpus *c = ck_w2v_corpus_new(&err);
	int32_t id[G * W];
	for (int i = 0; i < G * W; i++) {
		char name[16];
		snprintf(name, sizeof name, "g%d_%d", i / W, i % W);
		id[i] = ck_w2v_corpus_intern(c, name, strlen(name), &err);
	}
	ck_rng rng;
	ck_rng_seed(&rng, seed);
	for (int s = 0; s < sentences; s++) {
		int g = (int)ck_rng_below(&rng, G);
		for (int k = 0; k < LEN; k++)
			ck_w2v_corpus_push(c, id[g * W + (int)ck_rng_below(&rng, W)], &err);
		ck_w2v_corpus_end_sentence(c, &err);
	}
	return c;
}

static ck_w2v_opts small_opts(void)
{
	ck_w2v_opts o = CK_W2V_OPTS_DEFAULT;
	o.dim = 16;
	o.window = 3;
	o.epochs = 3;
	o.min_count = 1;
	o.sample = 0;
	o.threads = 1;
	o.seed = 3;
	return o;
}

/* Fraction of words whose W-1 nearest are all of their group. */
static double group_recall(const ck_embed *e)
{
	float *unit = ck_embed_unit(e);
	ck_embed_hit hits[W - 1];
	int good = 0;
	for (int64_t r = CK_EMBED_RESERVED; r < e->V; r++) {
		int n = ck_embed_nearest(unit, e->V, e->D, unit + (size_t)r * (size_t)e->D, &r, 1, hits,
		                         W - 1);
		int ok = n == W - 1;
		for (int j = 0; j < n; j++)
			ok &= e->words[hits[j].row][1] == e->words[r][1]; /* same group digit */
		good += ok;
	}
	free(unit);
	return (double)good / (double)(e->V - CK_EMBED_RESERVED);
}

static void test_planted_structure(void)
{
	for (int cbow = 0; cbow <= 1; cbow++)
		for (int threads = 1; threads <= 2; threads++) {
			ck_w2v_corpus *c = planted_corpus(3000, 1);
			ck_w2v_opts o = small_opts();
			o.cbow = cbow;
			o.threads = threads;
			ck_embed e;
			ck_err err;
			CHECK(ck_w2v_train(&e, c, &o, &err) == 0, "%s", err.msg);
			CHECK(e.V == G * W + 2 && e.D == 16, "V %lld", (long long)e.V);
			double recall = group_recall(&e);
			CHECK(recall == 1.0, "%s, %d threads: %.2f of the words have their group nearest",
			      cbow ? "cbow" : "skip-gram", threads, recall);
			CHECK(e.counts[2] >= e.counts[3] && e.counts[0] == 0, "rows by count");
			ck_embed_free(&e);
			ck_w2v_corpus_free(c);
		}
}

static void test_determinism(void)
{
	ck_embed a, b, d;
	ck_err err;
	ck_w2v_opts o = small_opts();
	ck_w2v_corpus *c = planted_corpus(500, 2);
	CHECK(ck_w2v_train(&a, c, &o, &err) == 0, "%s", err.msg);
	ck_w2v_corpus_free(c);
	c = planted_corpus(500, 2);
	CHECK(ck_w2v_train(&b, c, &o, &err) == 0, "%s", err.msg);
	ck_w2v_corpus_free(c);
	c = planted_corpus(500, 2);
	o.seed = 4;
	CHECK(ck_w2v_train(&d, c, &o, &err) == 0, "%s", err.msg);
	ck_w2v_corpus_free(c);
	size_t bytes = (size_t)a.V * (size_t)a.D * sizeof(float);
	CHECK(memcmp(a.vectors, b.vectors, bytes) == 0, "one thread, same seed: same vectors");
	CHECK(memcmp(a.vectors, d.vectors, bytes) != 0, "another seed: other vectors");
	ck_embed_free(&a);
	ck_embed_free(&b);
	ck_embed_free(&d);
}

static void test_corpus(void)
{
	ck_err err;
	ck_w2v_corpus *c = ck_w2v_corpus_new(&err);
	CHECK(ck_w2v_corpus_intern(c, "", 0, &err) < 0, "empty word");
	CHECK(ck_w2v_corpus_intern(c, "a b", 3, &err) < 0, "space in a word");
	CHECK(ck_w2v_corpus_intern(c, "<unk>", 5, &err) < 0, "reserved");
	CHECK(ck_w2v_corpus_push(c, 0, &err) < 0, "id not interned");

	/* A token dataset: ids 0 and 1 are left out, lengths respected. */
	ck_tnz t = {0};
	int32_t x[] = {2, 3, 1, 4, 3, 2, 0, 0, 0, 0, 0, 0};
	int32_t len[] = {3, 2, 0};
	ck_tnz_add(&t, "x", CK_DTYPE_I32, 2, (int64_t[]){3, 4}, x, &err);
	ck_tnz_add(&t, "lengths", CK_DTYPE_I32, 1, (int64_t[]){3}, len, &err);
	ck_meta_set(&t.meta, "vocab", "<pad>\n<unk>\nthe\ncat\n", (size_t)-1, &err);
	CHECK(ck_w2v_corpus_add_tnz(c, &t, &err) == 0, "%s", err.msg);
	CHECK(ck_w2v_corpus_tokens(c) == 4, "the cat | cat the: %lld",
	      (long long)ck_w2v_corpus_tokens(c));
	x[3] = 9;
	len[0] = 4;
	ck_tensor *tx = ck_tnz_find(&t, "x");
	memcpy(tx->data, x, sizeof x);
	memcpy(ck_tnz_find(&t, "lengths")->data, len, sizeof len);
	CHECK(ck_w2v_corpus_add_tnz(c, &t, &err) < 0 && strstr(err.msg, "not in the vocabulary"),
	      "%s", err.msg);
	ck_tnz_free(&t);

	/* Raw text through the tokenizer. */
	ck_tok_opts tok = CK_TOK_OPTS_DEFAULT;
	const char *line = "The CAT, the cat!";
	CHECK(ck_w2v_corpus_add_text(c, &tok, line, strlen(line), NULL, &err) == 0, "%s", err.msg);
	int64_t before = ck_w2v_corpus_tokens(c);
	ck_w2v_opts o = small_opts();
	o.min_count = 4;
	ck_embed e;
	CHECK(ck_w2v_train(&e, c, &o, &err) == 0, "%s", err.msg);
	CHECK(before == 8, "tokens %lld", (long long)before);
	CHECK(e.V == 4 && strcmp(e.words[2], "cat") == 0 && strcmp(e.words[3], "the") == 0 &&
	      e.counts[2] == 4 && e.counts[3] == 4, "cat and the 4 times, tie by bytes: V %lld",
	      (long long)e.V);
	ck_embed_free(&e);
	ck_w2v_corpus_free(c);

	c = planted_corpus(10, 1);
	o.min_count = 1000;
	CHECK(ck_w2v_train(&e, c, &o, &err) < 0 && strstr(err.msg, "min-count"), "%s", err.msg);
	ck_w2v_corpus_free(c);
	c = planted_corpus(10, 1);
	o.min_count = 1;
	o.neg = 0;
	CHECK(ck_w2v_train(&e, c, &o, &err) < 0 && strstr(err.msg, "negatives"), "%s", err.msg);
	ck_w2v_corpus_free(c);
}

int main(void)
{
	RUN(test_gradient);
	RUN(test_noise_table);
	RUN(test_subsampling);
	RUN(test_corpus);
	RUN(test_determinism);
	RUN(test_planted_structure);
	return check_summary();
}
