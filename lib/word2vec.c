/* word2vec.c: skip-gram and CBOW with negative sampling (Mikolov et al.
 * 2013), trained Hogwild over threads as word2vec.c and fastText do.
 *
 * Layout: the input vectors (syn0, the result) and the output vectors
 * (syn1) are (V, Dp) row-major, Dp = D rounded up to 16 floats so that every
 * row starts on a 64-byte cache line and the AVX2 loops need no tail; the
 * padding stays zero because every update is a combination of rows.
 *
 * The corpus is a stream of word ids in memory (4 bytes a token), -1 ending
 * each sentence. Thread t of T trains on the t-th share of the stream (cut
 * at sentence starts) for every epoch; the learning rate decays linearly
 * with the words processed by all threads together. */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#endif

#include "cnnkit.h"
#include "threads_internal.h"

#define EOS (-1)             /* sentence end in the token stream */
#define MAX_SENTENCE 1000    /* longer sentences are cut, as in word2vec.c */
#define LR_UPDATE_WORDS 10000 /* words between learning-rate updates */
#define PROGRESS_WORDS 65536
#define SIGMOID_MAX 8.0f      /* the table covers [-8, 8]; beyond, 0 or 1 */
#define SIGMOID_STEPS 256     /* table entries per unit of x */
#define SIGMOID_SIZE (2 * 8 * SIGMOID_STEPS + 1)

/* ---- the corpus ---------------------------------------------------------- */

struct ck_w2v_corpus {
	char *bytes;       /* the words, NUL-terminated, back to back */
	size_t nbytes, capbytes;
	int64_t *word_off; /* (nwords) offsets into bytes */
	int64_t *count;    /* (nwords) occurrences pushed */
	int32_t nwords;
	size_t capwords;
	int32_t *slots;    /* hash index of the words, -1 empty */
	size_t nslots;
	int32_t *tokens;   /* the stream: word ids and EOS */
	int64_t ntokens, captokens, nreal;
};

static uint64_t hash_word(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
	return h ^ (h >> 29);
}

static int grow(void **p, size_t elem, size_t need, size_t *cap)
{
	if (need <= *cap)
		return 0;
	size_t c = *cap ? *cap : 1024;
	while (c < need)
		c *= 2;
	void *q = realloc(*p, c * elem);
	if (!q)
		return -1;
	*p = q;
	*cap = c;
	return 0;
}

ck_w2v_corpus *ck_w2v_corpus_new(ck_err *err)
{
	ck_w2v_corpus *c = calloc(1, sizeof *c);
	if (!c)
		ck_err_set(err, "out of memory");
	return c;
}

void ck_w2v_corpus_free(ck_w2v_corpus *c)
{
	if (!c)
		return;
	free(c->bytes);
	free(c->word_off);
	free(c->count);
	free(c->slots);
	free(c->tokens);
	free(c);
}

static int rehash(ck_w2v_corpus *c)
{
	size_t n = c->nslots ? c->nslots * 2 : 1024;
	int32_t *s = malloc(n * sizeof *s);
	if (!s)
		return -1;
	memset(s, 0xff, n * sizeof *s);
	for (int32_t i = 0; i < c->nwords; i++) {
		const char *w = c->bytes + c->word_off[i];
		size_t k = hash_word(w, strlen(w)) & (n - 1);
		while (s[k] >= 0)
			k = (k + 1) & (n - 1);
		s[k] = i;
	}
	free(c->slots);
	c->slots = s;
	c->nslots = n;
	return 0;
}

int32_t ck_w2v_corpus_intern(ck_w2v_corpus *c, const char *word, size_t len, ck_err *err)
{
	if (len == 0 || len > CK_EMBED_MAX_WORD)
		return ck_err_set(err, "word of %zu bytes: expected 1 to %d", len, CK_EMBED_MAX_WORD);
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)word[i];
		if (ch == 0 || ch == ' ' || (ch >= '\t' && ch <= '\r'))
			return ck_err_set(err, "word \"%.*s\" holds whitespace or NUL",
			                  (int)(len < 40 ? len : 40), word);
	}
	if ((len == 5 && memcmp(word, CK_EMBED_PAD, 5) == 0) ||
	    (len == 5 && memcmp(word, CK_EMBED_UNK, 5) == 0))
		return ck_err_set(err, "\"%.5s\" is reserved, not a word", word);
	if (c->nslots == 0 || (size_t)c->nwords * 2 >= c->nslots)
		if (rehash(c) < 0)
			return ck_err_set(err, "out of memory");
	size_t mask = c->nslots - 1, k;
	for (k = hash_word(word, len) & mask; c->slots[k] >= 0; k = (k + 1) & mask) {
		const char *w = c->bytes + c->word_off[c->slots[k]];
		if (strncmp(w, word, len) == 0 && w[len] == 0)
			return c->slots[k];
	}
	if (c->nwords >= CK_EMBED_MAX_ROWS - CK_EMBED_RESERVED)
		return ck_err_set(err, "more than %d distinct words", CK_EMBED_MAX_ROWS - CK_EMBED_RESERVED);
	if (grow((void **)&c->bytes, 1, c->nbytes + len + 1, &c->capbytes) < 0)
		return ck_err_set(err, "out of memory");
	if ((size_t)c->nwords == c->capwords) {
		/* word_off and count grow together. */
		size_t cap = c->capwords ? c->capwords * 2 : 1024;
		int64_t *off = realloc(c->word_off, cap * sizeof *off);
		if (off)
			c->word_off = off;
		int64_t *cnt = off ? realloc(c->count, cap * sizeof *cnt) : NULL;
		if (!cnt)
			return ck_err_set(err, "out of memory");
		c->count = cnt;
		c->capwords = cap;
	}
	memcpy(c->bytes + c->nbytes, word, len);
	c->bytes[c->nbytes + len] = 0;
	c->word_off[c->nwords] = (int64_t)c->nbytes;
	c->count[c->nwords] = 0;
	c->nbytes += len + 1;
	c->slots[k] = c->nwords;
	return c->nwords++;
}

static int push_token(ck_w2v_corpus *c, int32_t t, ck_err *err)
{
	size_t cap = (size_t)c->captokens;
	if (grow((void **)&c->tokens, sizeof *c->tokens, (size_t)c->ntokens + 1, &cap) < 0)
		return ck_err_set(err, "out of memory for a corpus of %" PRId64 " tokens", c->ntokens);
	c->captokens = (int64_t)cap;
	c->tokens[c->ntokens++] = t;
	return 0;
}

int ck_w2v_corpus_push(ck_w2v_corpus *c, int32_t id, ck_err *err)
{
	if (id < 0 || id >= c->nwords)
		return ck_err_set(err, "word id %d: not interned", id);
	if (push_token(c, id, err) < 0)
		return -1;
	c->count[id]++;
	c->nreal++;
	return 0;
}

int ck_w2v_corpus_end_sentence(ck_w2v_corpus *c, ck_err *err)
{
	if (c->ntokens == 0 || c->tokens[c->ntokens - 1] == EOS)
		return 0;
	return push_token(c, EOS, err);
}

int64_t ck_w2v_corpus_tokens(const ck_w2v_corpus *c)
{
	return c->nreal;
}

int ck_w2v_corpus_add_tnz(ck_w2v_corpus *c, const ck_tnz *t, ck_err *err)
{
	const ck_tensor *x = ck_tnz_find(t, "x"), *len = ck_tnz_find(t, "lengths");
	size_t vlen;
	const char *vocab = ck_meta_get(&t->meta, "vocab", &vlen);
	if (!x || x->dtype != CK_DTYPE_I32 || x->rank != 2)
		return ck_err_set(err, "expected token ids x (N,L) i32");
	if (!vocab)
		return ck_err_set(err, "no metadata \"vocab\": token ids without their words");
	int64_t N = x->dims[0], L = x->dims[1];
	if (len && (len->dtype != CK_DTYPE_I32 || len->rank != 1 || len->dims[0] != N))
		return ck_err_set(err, "\"lengths\" must be (%" PRId64 ") i32", N);
	int64_t nv = 0;
	for (size_t i = 0; i < vlen; i++)
		nv += vocab[i] == '\n';
	nv += vlen > 0 && vocab[vlen - 1] != '\n';
	int32_t *map = malloc((size_t)nv * sizeof *map + 1);
	if (!map)
		return ck_err_set(err, "out of memory");
	const char *p = vocab, *end = vocab + vlen;
	for (int64_t i = 0; i < nv; i++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t wl = (size_t)((nl ? nl : end) - p);
		map[i] = -1;
		if (i >= CK_EMBED_RESERVED &&
		    (map[i] = ck_w2v_corpus_intern(c, p, wl, err)) < 0) {
			free(map);
			return ck_err_prefix(err, "vocab line %" PRId64, i + 1);
		}
		p = nl ? nl + 1 : end;
	}
	/* Everything is checked before the first token goes in. */
	const int32_t *ids = x->data, *lens = len ? len->data : NULL;
	for (int64_t n = 0; n < N; n++) {
		int64_t m = lens ? lens[n] : L;
		if (m < 0 || m > L) {
			free(map);
			return ck_err_set(err, "lengths[%" PRId64 "] = %" PRId64 ": expected 0 to %" PRId64,
			                  n, m, L);
		}
		for (int64_t k = 0; k < m; k++)
			if (ids[n * L + k] < 0 || ids[n * L + k] >= nv) {
				free(map);
				return ck_err_set(err, "x[%" PRId64 ",%" PRId64 "] = %d: not in the vocabulary "
				                  "of %" PRId64 " words", n, k, ids[n * L + k], nv);
			}
	}
	for (int64_t n = 0; n < N; n++) {
		int64_t m = lens ? lens[n] : L;
		for (int64_t k = 0; k < m; k++) {
			int32_t w = map[ids[n * L + k]];
			if (w >= 0 && ck_w2v_corpus_push(c, w, err) < 0) {
				free(map);
				return -1;
			}
		}
		if (ck_w2v_corpus_end_sentence(c, err) < 0) {
			free(map);
			return -1;
		}
	}
	free(map);
	return 0;
}

/* ---- pieces: subsampling, noise, the negative-sampling step -------------- */

double ck_w2v_keep_prob(int64_t count, int64_t total, double sample)
{
	if (sample <= 0 || count <= 0 || total <= 0)
		return 1.0;
	double r = sample * (double)total / (double)count; /* t / f */
	double p = sqrt(r) + r;
	return p < 1.0 ? p : 1.0;
}

void ck_w2v_noise_free(ck_w2v_noise *t)
{
	free(t->prob);
	free(t->alias);
	memset(t, 0, sizeof *t);
}

int ck_w2v_noise_init(ck_w2v_noise *t, const int64_t *counts, int64_t n, double power,
                      ck_err *err)
{
	memset(t, 0, sizeof *t);
	if (n < 1 || n > INT32_MAX)
		return ck_err_set(err, "noise table of %" PRId64 " words", n);
	double *w = malloc((size_t)n * sizeof *w);
	int32_t *small = malloc((size_t)n * sizeof *small), *large = malloc((size_t)n * sizeof *large);
	t->prob = malloc((size_t)n * sizeof *t->prob);
	t->alias = malloc((size_t)n * sizeof *t->alias);
	if (!w || !small || !large || !t->prob || !t->alias) {
		free(w), free(small), free(large);
		ck_w2v_noise_free(t);
		return ck_err_set(err, "out of memory");
	}
	double sum = 0;
	for (int64_t i = 0; i < n; i++)
		sum += w[i] = counts[i] > 0 ? pow((double)counts[i], power) : 0.0;
	int rc = 0;
	if (!(sum > 0)) {
		rc = ck_err_set(err, "noise distribution of zero counts");
	} else {
		/* Vose's alias method: each bucket holds its own word with
		 * probability prob[i], else alias[i]; scaled weights average 1. */
		int64_t ns = 0, nl = 0;
		for (int64_t i = 0; i < n; i++) {
			w[i] *= (double)n / sum;
			if (w[i] < 1.0)
				small[ns++] = (int32_t)i;
			else
				large[nl++] = (int32_t)i;
		}
		while (ns && nl) {
			int32_t s = small[--ns], l = large[nl - 1];
			t->prob[s] = (float)w[s];
			t->alias[s] = l;
			w[l] -= 1.0 - w[s];
			if (w[l] < 1.0) {
				nl--;
				small[ns++] = l;
			}
		}
		/* What is left is 1 up to rounding. */
		while (nl) {
			int32_t l = large[--nl];
			t->prob[l] = 1.0f;
			t->alias[l] = l;
		}
		while (ns) {
			int32_t s = small[--ns];
			t->prob[s] = 1.0f;
			t->alias[s] = s;
		}
		t->n = n;
	}
	free(w), free(small), free(large);
	if (rc < 0)
		ck_w2v_noise_free(t);
	return rc;
}

static inline int32_t noise_draw(const float *prob, const int32_t *alias, int64_t n,
                                 uint64_t bits)
{
	int32_t b = (int32_t)(((bits >> 32) * (uint64_t)n) >> 32);
	float u = (float)(uint32_t)bits * 0x1p-32f;
	return u < prob[b] ? b : alias[b];
}

int32_t ck_w2v_noise_draw(const ck_w2v_noise *t, uint64_t bits)
{
	return noise_draw(t->prob, t->alias, t->n, bits);
}

static void sigmoid_table(float *table)
{
	for (int i = 0; i < SIGMOID_SIZE; i++) {
		double x = (double)i / SIGMOID_STEPS - SIGMOID_MAX;
		table[i] = (float)(1.0 / (1.0 + exp(-x)));
	}
}

static inline float sigmoid_lookup(const float *table, float x)
{
	if (x <= -SIGMOID_MAX)
		return 0.0f;
	if (x >= SIGMOID_MAX)
		return 1.0f;
	return table[(int)((x + SIGMOID_MAX) * SIGMOID_STEPS + 0.5f)];
}

/* dot(a, b) over n floats. */
static inline float dot_f32(const float *a, const float *b, int n)
{
	int i = 0;
	float s = 0.0f;
#if defined(__AVX2__) && defined(__FMA__)
	__m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
	for (; i + 16 <= n; i += 16) {
		s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
		s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
	}
	for (; i + 8 <= n; i += 8)
		s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
	s0 = _mm256_add_ps(s0, s1);
	__m128 h = _mm_add_ps(_mm256_castps256_ps128(s0), _mm256_extractf128_ps(s0, 1));
	h = _mm_add_ps(h, _mm_movehl_ps(h, h));
	h = _mm_add_ss(h, _mm_movehdup_ps(h));
	s = _mm_cvtss_f32(h);
#else
	/* Eight independent sums: a reduction the compiler may vectorise
	 * without reassociating anything. */
	float acc[8] = {0};
	for (; i + 8 <= n; i += 8)
		for (int j = 0; j < 8; j++)
			acc[j] += a[i + j] * b[i + j];
	s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
#endif
	for (; i < n; i++)
		s += a[i] * b[i];
	return s;
}

/* y += g x over n floats. */
static inline void axpy_f32(float *restrict y, float g, const float *restrict x, int n)
{
	int i = 0;
#if defined(__AVX2__) && defined(__FMA__)
	__m256 vg = _mm256_set1_ps(g);
	for (; i + 8 <= n; i += 8)
		_mm256_storeu_ps(y + i, _mm256_fmadd_ps(vg, _mm256_loadu_ps(x + i),
		                                        _mm256_loadu_ps(y + i)));
#else
	/* Blocks of a fixed 8: vectorised even by -O2's cheapest cost model. */
	for (; i + 8 <= n; i += 8)
		for (int j = 0; j < 8; j++)
			y[i + j] += g * x[i + j];
#endif
	for (; i < n; i++)
		y[i] += g * x[i];
}

/* The step of ck_w2v_ns_update, with the sigmoid table passed in. */
static inline void ns_step(float *dh, float *out, const float *h, const int32_t *targets,
                           int n, int D, size_t stride, float lr, const float *sig)
{
	for (int k = 0; k < n; k++) {
		float *o = out + (size_t)targets[k] * stride;
		float f = dot_f32(h, o, D);
		float g = ((k == 0 ? 1.0f : 0.0f) - sigmoid_lookup(sig, f)) * lr;
		axpy_f32(dh, g, o, D);
		axpy_f32(o, g, h, D);
	}
}

void ck_w2v_ns_update(float *dh, float *out, const float *h, const int32_t *targets, int n,
                      int D, size_t stride, float lr)
{
	float sig[SIGMOID_SIZE];
	sigmoid_table(sig);
	ns_step(dh, out, h, targets, n, D, stride, lr, sig);
}

void ck_w2v_ns_update_ref(float *dh, float *out, const float *h, const int32_t *targets, int n,
                          int D, size_t stride, float lr)
{
	for (int k = 0; k < n; k++) {
		float *o = out + (size_t)targets[k] * stride;
		float f = 0.0f;
		for (int i = 0; i < D; i++)
			f += h[i] * o[i];
		float g = ((k == 0 ? 1.0f : 0.0f) - 1.0f / (1.0f + expf(-f))) * lr;
		for (int i = 0; i < D; i++)
			dh[i] += g * o[i];
		for (int i = 0; i < D; i++)
			o[i] += g * h[i];
	}
}

double ck_w2v_ns_loss(const float *h, const float *out, const int32_t *targets, int n, int D,
                      size_t stride)
{
	double loss = 0;
	for (int k = 0; k < n; k++) {
		const float *o = out + (size_t)targets[k] * stride;
		double f = 0;
		for (int i = 0; i < D; i++)
			f += (double)h[i] * o[i];
		/* -log s(f) = log(1 + e^-f), and -log s(-f) = log(1 + e^f). */
		double z = k == 0 ? -f : f;
		loss += z > 0 ? z + log1p(exp(-z)) : log1p(exp(z));
	}
	return loss;
}

/* ---- training ------------------------------------------------------------------ */

static inline uint64_t next_random(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull); /* splitmix64 */
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Everything the threads share. */
typedef struct trainer {
	const ck_w2v_opts *o;
	const int32_t *tokens;
	int64_t ntokens, train_words;
	int64_t V;
	int D, Dp;
	float *syn0, *syn1; /* (V,Dp) each */
	const uint32_t *keep; /* (V) keep an occurrence when 32 random bits <= keep[w] */
	ck_w2v_noise noise;
	float sig[SIGMOID_SIZE];
	int64_t words_done; /* over every thread; updated atomically */
	float lr0;
	int threads;
} trainer;

static float current_lr(const trainer *t, int64_t done)
{
	double total = (double)t->o->epochs * (double)t->train_words + 1.0;
	double f = 1.0 - (double)done / total;
	return t->lr0 * (float)(f > 1e-4 ? f : 1e-4);
}

/* Draws n-1 noise words different from targets[0] into targets[1..n). */
static inline void draw_negatives(const trainer *t, int32_t *targets, int n, uint64_t *rng)
{
	for (int k = 1; k < n; k++) {
		int32_t w;
		int tries = 0;
		do
			w = noise_draw(t->noise.prob, t->noise.alias, t->noise.n, next_random(rng));
		while (w == targets[0] && ++tries < 16);
		targets[k] = w;
	}
}

static void train_sentence(trainer *t, const int32_t *sent, int len, float lr, uint64_t *rng,
                           float *neu1, float *neu1e, int32_t *targets)
{
	const int Dp = t->Dp, window = t->o->window, n = t->o->neg + 1;
	const size_t stride = (size_t)Dp;
	for (int i = 0; i < len; i++) {
		/* The effective window is drawn from 1..window, which weights
		 * near words more, as word2vec.c and fastText do. */
		int w = 1 + (int)(next_random(rng) % (uint64_t)window);
		int lo = i - w < 0 ? 0 : i - w, hi = i + w >= len ? len - 1 : i + w;
		if (!t->o->cbow) {
			const float *h = t->syn0 + (size_t)sent[i] * stride;
			for (int j = lo; j <= hi; j++) {
				if (j == i)
					continue;
				targets[0] = sent[j];
				draw_negatives(t, targets, n, rng);
				memset(neu1e, 0, stride * sizeof *neu1e);
				ns_step(neu1e, t->syn1, h, targets, n, Dp, stride, lr, t->sig);
				axpy_f32(t->syn0 + (size_t)sent[i] * stride, 1.0f, neu1e, Dp);
			}
			continue;
		}
		/* CBOW: the mean of the context predicts the centre; every context
		 * vector receives the whole gradient, as in word2vec.c. */
		if (hi == lo)
			continue;
		memset(neu1, 0, stride * sizeof *neu1);
		for (int j = lo; j <= hi; j++)
			if (j != i)
				axpy_f32(neu1, 1.0f, t->syn0 + (size_t)sent[j] * stride, Dp);
		float inv = 1.0f / (float)(hi - lo);
		for (int d = 0; d < Dp; d++)
			neu1[d] *= inv;
		targets[0] = sent[i];
		draw_negatives(t, targets, n, rng);
		memset(neu1e, 0, stride * sizeof *neu1e);
		ns_step(neu1e, t->syn1, neu1, targets, n, Dp, stride, lr, t->sig);
		for (int j = lo; j <= hi; j++)
			if (j != i)
				axpy_f32(t->syn0 + (size_t)sent[j] * stride, 1.0f, neu1e, Dp);
	}
}

/* First token of a sentence at or after pos. */
static int64_t sentence_start(const int32_t *tokens, int64_t n, int64_t pos)
{
	if (pos == 0)
		return 0;
	while (pos < n && tokens[pos - 1] != EOS)
		pos++;
	return pos;
}

static void train_thread(trainer *t, int tid, float *scratch)
{
	int64_t start = sentence_start(t->tokens, t->ntokens, t->ntokens * tid / t->threads);
	int64_t end = sentence_start(t->tokens, t->ntokens, t->ntokens * (tid + 1) / t->threads);
	float *neu1 = scratch, *neu1e = scratch + t->Dp;
	int32_t sent[MAX_SENTENCE];
	int32_t targets[1 + 64];
	uint64_t rng = t->o->seed ^ (0x9e3779b97f4a7c15ull * (uint64_t)(tid + 1));
	int64_t local = 0, last_report = 0, last_progress = 0;
	float lr = t->lr0;
	for (int epoch = 0; epoch < t->o->epochs; epoch++) {
		int64_t pos = start;
		while (pos < end) {
			int len = 0;
			while (pos < end && t->tokens[pos] != EOS && len < MAX_SENTENCE) {
				int32_t w = t->tokens[pos++];
				local++;
				if ((uint32_t)next_random(&rng) <= t->keep[w])
					sent[len++] = w;
			}
			if (pos < end && t->tokens[pos] == EOS)
				pos++;
			if (local - last_report >= LR_UPDATE_WORDS) {
				int64_t done = __atomic_add_fetch(&t->words_done, local - last_report,
				                                  __ATOMIC_RELAXED);
				last_report = local;
				lr = current_lr(t, done);
				if (tid == 0 && t->o->progress && done - last_progress >= PROGRESS_WORDS) {
					last_progress = done;
					ck_w2v_progress p = {done, (int64_t)t->o->epochs * t->train_words, lr};
					t->o->progress(t->o->progress_ctx, &p);
				}
			}
			train_sentence(t, sent, len, lr, &rng, neu1, neu1e, targets);
		}
	}
	__atomic_add_fetch(&t->words_done, local - last_report, __ATOMIC_RELAXED);
}

typedef struct vocab_entry {
	int64_t count;
	const char *word;
	int32_t id;
} vocab_entry;

static int by_count_then_bytes(const void *pa, const void *pb)
{
	const vocab_entry *a = pa, *b = pb;
	if (a->count != b->count)
		return a->count > b->count ? -1 : 1;
	return strcmp(a->word, b->word);
}

/* The table's words and counts: reserved rows, then words reaching
 * min_count by count. remap[corpus id] = row, or -1 for a dropped word. */
static int build_vocab(ck_embed *out, ck_w2v_corpus *c, const ck_w2v_opts *o, int32_t *remap,
                       ck_err *err)
{
	vocab_entry *v = malloc(((size_t)c->nwords + 1) * sizeof *v);
	const char **words = malloc(((size_t)c->nwords + CK_EMBED_RESERVED) * sizeof *words);
	if (!v || !words) {
		free(v), free(words);
		return ck_err_set(err, "out of memory");
	}
	int64_t kept = 0, dropped_tokens = 0;
	for (int32_t i = 0; i < c->nwords; i++) {
		remap[i] = -1;
		if (c->count[i] >= o->min_count)
			v[kept++] = (vocab_entry){c->count[i], c->bytes + c->word_off[i], i};
		else
			dropped_tokens += c->count[i];
	}
	qsort(v, (size_t)kept, sizeof *v, by_count_then_bytes);
	words[0] = CK_EMBED_PAD;
	words[1] = CK_EMBED_UNK;
	for (int64_t r = 0; r < kept; r++) {
		words[r + CK_EMBED_RESERVED] = v[r].word;
		remap[v[r].id] = (int32_t)(r + CK_EMBED_RESERVED);
	}
	int rc = 0;
	if (kept == 0)
		rc = ck_err_set(err, "no word occurs %" PRId64 " times or more (--min-count)",
		                o->min_count);
	else if (ck_embed_create(out, words, kept + CK_EMBED_RESERVED, o->dim, err) < 0)
		rc = -1;
	if (rc == 0) {
		out->counts[1] = dropped_tokens;
		for (int64_t r = 0; r < kept; r++)
			out->counts[r + CK_EMBED_RESERVED] = v[r].count;
	}
	free(v), free(words);
	return rc;
}

static int check_opts(const ck_w2v_opts *o, ck_err *err)
{
	if (o->dim < 1 || o->dim > CK_EMBED_MAX_DIM)
		return ck_err_set(err, "dimension %d: expected 1 to %d", o->dim, CK_EMBED_MAX_DIM);
	if (o->window < 1 || o->window > 1000)
		return ck_err_set(err, "window %d: expected 1 to 1000", o->window);
	if (o->neg < 1 || o->neg > 64)
		return ck_err_set(err, "negatives %d: expected 1 to 64", o->neg);
	if (o->epochs < 1 || o->epochs > 100000)
		return ck_err_set(err, "epochs %d: expected 1 to 100000", o->epochs);
	if (o->min_count < 1)
		return ck_err_set(err, "min count %" PRId64 ": expected 1 or more", o->min_count);
	if (!(o->sample >= 0 && o->sample <= 1))
		return ck_err_set(err, "sample %g: expected 0 to 1", o->sample);
	if (!(o->lr >= 0 && o->lr <= 10))
		return ck_err_set(err, "learning rate %g: expected 0 to 10", (double)o->lr);
	if (o->threads < 0)
		return ck_err_set(err, "threads %d: expected 0 or more", o->threads);
	return 0;
}

int ck_w2v_train(ck_embed *out, ck_w2v_corpus *c, const ck_w2v_opts *o, ck_err *err)
{
	memset(out, 0, sizeof *out);
	if (check_opts(o, err) < 0)
		return -1;
	int32_t *remap = malloc(((size_t)c->nwords + 1) * sizeof *remap);
	if (!remap)
		return ck_err_set(err, "out of memory");
	if (build_vocab(out, c, o, remap, err) < 0) {
		free(remap);
		return -1;
	}
	/* The stream in rows, rare words removed, empty sentences dropped. */
	int64_t n = 0, train_words = 0;
	for (int64_t i = 0; i < c->ntokens; i++) {
		int32_t w = c->tokens[i];
		if (w == EOS) {
			if (n > 0 && c->tokens[n - 1] != EOS)
				c->tokens[n++] = EOS;
		} else if (remap[w] >= 0) {
			c->tokens[n++] = remap[w];
			train_words++;
		}
	}
	free(remap);
	/* The corpus now holds rows, not word ids: it cannot be added to. */
	c->ntokens = n;
	c->nwords = 0;
	c->nslots = 0;

	trainer *t = calloc(1, sizeof *t);
	uint32_t *keep = malloc((size_t)out->V * sizeof *keep);
	int rc = -1;
	if (!t || !keep) {
		ck_err_set(err, "out of memory");
		goto done;
	}
	t->o = o;
	t->tokens = c->tokens;
	t->ntokens = n;
	t->train_words = train_words;
	t->V = out->V;
	t->D = o->dim;
	t->Dp = (o->dim + 15) / 16 * 16;
	t->lr0 = o->lr > 0 ? o->lr : o->cbow ? 0.05f : 0.025f;
	t->threads = ck_threads_or_default(o->threads);
	size_t bytes = (size_t)out->V * (size_t)t->Dp * sizeof(float);
	if (posix_memalign((void **)&t->syn0, 64, bytes) || posix_memalign((void **)&t->syn1, 64, bytes)) {
		ck_err_set(err, "out of memory for %" PRId64 " x %d vectors", out->V, o->dim);
		goto done;
	}
	/* The noise words: every row but the reserved ones (counts[1] holds
	 * the dropped rare words, which are no word to draw). */
	int64_t unk = out->counts[1];
	out->counts[1] = 0;
	int bad = ck_w2v_noise_init(&t->noise, out->counts, out->V, 0.75, err);
	out->counts[1] = unk;
	if (bad < 0)
		goto done;
	for (int64_t w = 0; w < out->V; w++) {
		double p = w < CK_EMBED_RESERVED ? 0.0
		                                 : ck_w2v_keep_prob(out->counts[w], train_words, o->sample);
		keep[w] = p >= 1.0 ? UINT32_MAX : (uint32_t)(p * 4294967296.0);
	}
	t->keep = keep;
	sigmoid_table(t->sig);
	/* word2vec.c's initialisation: inputs uniform in [-0.5/D, 0.5/D),
	 * outputs zero; the reserved rows and the padding columns zero. */
	memset(t->syn0, 0, bytes);
	memset(t->syn1, 0, bytes);
	ck_rng rng;
	ck_rng_seed(&rng, o->seed);
	for (int64_t w = CK_EMBED_RESERVED; w < out->V; w++)
		for (int d = 0; d < o->dim; d++)
			t->syn0[(size_t)w * (size_t)t->Dp + (size_t)d] = (ck_rng_uniform(&rng) - 0.5f) / (float)o->dim;

	float *scratch = malloc((size_t)t->threads * 2 * (size_t)t->Dp * sizeof *scratch);
	if (!scratch) {
		ck_err_set(err, "out of memory");
		goto done;
	}
#ifdef _OPENMP
	#pragma omp parallel num_threads(t->threads)
	{
		int tid = omp_get_thread_num();
		train_thread(t, tid, scratch + (size_t)tid * 2 * (size_t)t->Dp);
	}
#else
	for (int tid = 0; tid < t->threads; tid++)
		train_thread(t, tid, scratch + (size_t)tid * 2 * (size_t)t->Dp);
#endif
	free(scratch);
	if (o->progress) {
		ck_w2v_progress p = {t->words_done, (int64_t)o->epochs * train_words, current_lr(t, t->words_done)};
		o->progress(o->progress_ctx, &p);
	}
	for (int64_t w = 0; w < out->V; w++)
		memcpy(out->vectors + (size_t)w * (size_t)o->dim, t->syn0 + (size_t)w * (size_t)t->Dp,
		       (size_t)o->dim * sizeof(float));
	rc = 0;
done:
	if (t) {
		free(t->syn0);
		free(t->syn1);
		ck_w2v_noise_free(&t->noise);
	}
	free(t);
	free(keep);
	if (rc < 0)
		ck_embed_free(out);
	return rc;
}
