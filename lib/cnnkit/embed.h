/* cnnkit/embed.h: word vectors: the embeddings file, word2vec training
 * (skip-gram and CBOW with negative sampling), the word2vec, GloVe and
 * fastText exchange formats, nearest-word queries, and the vectors as the
 * initial weight of a model's embedding layer.
 *
 * The embeddings file (DESIGN.md) holds `vectors` (V,D) f32, `counts` (V)
 * i64 and metadata `vocab`, one word a line in row order. Rows 0 and 1 are
 * always "<pad>" and "<unk>", as in tokenize's vocabularies, so that
 * `tokenize --vocab-from vectors.tnz` gives ids that index the rows
 * directly. Files written by `embed train` leave both rows zero, with count
 * 0 for "<pad>" and, for "<unk>", the number of corpus tokens dropped by
 * --min-count. Every other row is a real word; rows are ordered by count
 * (descending), then by bytes. Anything that reads the file by word (the
 * model runtime, `embed apply`) matches words as byte strings. */
#ifndef CNNKIT_EMBED_H
#define CNNKIT_EMBED_H

#include <stddef.h>
#include <stdint.h>

#include "base.h"
#include "model.h"
#include "text.h"
#include "tnz.h"

#define CK_EMBED_PAD "<pad>"
#define CK_EMBED_UNK "<unk>"
#define CK_EMBED_RESERVED 2         /* rows 0 "<pad>" and 1 "<unk>" */
#define CK_EMBED_MAX_DIM 65536      /* as CK_ARCH_MAX_DIM */
#define CK_EMBED_MAX_WORD 4096      /* bytes of one word */
#define CK_EMBED_MAX_ROWS INT32_MAX /* token ids are i32 */

/* ---- the table ------------------------------------------------------------ */

/* V words with a D-dimensional vector and a corpus count each. Zero-initialise
 * ({0}) or fill with one of the loaders below; free with ck_embed_free. */
typedef struct ck_embed {
	int64_t V;       /* rows, the two reserved rows included */
	int D;           /* dimension, 1 .. CK_EMBED_MAX_DIM */
	float *vectors;  /* (V,D) row-major */
	int64_t *counts; /* (V) corpus counts; 0 where unknown (imported files) */
	char **words;    /* V NUL-terminated words, pointers into one block */
	/* private: the word block and a hash index of the words */
	char *word_block;
	int64_t *slots;
	size_t nslots;
} ck_embed;

/* Builds a table from V words (the first two must be "<pad>" and "<unk>",
 * every word non-empty, without whitespace or NUL, at most
 * CK_EMBED_MAX_WORD bytes, no duplicates) with zeroed vectors and counts.
 * *e need not be initialised; on failure it is left empty. */
int ck_embed_create(ck_embed *e, const char *const *words, int64_t V, int D, ck_err *err);
/* Row of a word (len bytes), or -1. */
int64_t ck_embed_find(const ck_embed *e, const char *word, size_t len);
void ck_embed_free(ck_embed *e);

/* From a loaded TNZ stream: `vectors` (V,D) f32 and metadata `vocab` (V
 * lines, rows 0 and 1 "<pad>" and "<unk>") required, `counts` (V) i64
 * optional (zeros when absent). Vectors must be finite. */
int ck_embed_from_tnz(ck_embed *e, const ck_tnz *t, ck_err *err);
/* ck_tnz_load + ck_embed_from_tnz; errors start with the path. */
int ck_embed_load(ck_embed *e, const char *path, int threads, ck_err *err);
/* Writes `vectors`, `counts`, metadata `vocab` and any entries of extra
 * (e.g. created_by; may be NULL) atomically to path ("-" = standard output,
 * refused on a terminal). opts may be NULL. */
int ck_embed_save(const ck_embed *e, const ck_meta *extra, const char *path,
                  const ck_tnz_opts *opts, ck_err *err);

/* ---- exchange formats ------------------------------------------------------ */

typedef enum ck_embed_format {
	CK_EMBED_AUTO = 0,
	/* word2vec text: a header line "V D", then V lines "word x1 ... xD".
	 * fastText's .vec files are this format. */
	CK_EMBED_TEXT,
	/* word2vec binary: a header line "V D", then V records: the word, one
	 * space, D little-endian f32, and a newline (optional when reading). */
	CK_EMBED_BINARY,
	/* GloVe: the text lines without the header. */
	CK_EMBED_GLOVE,
} ck_embed_format;

/* "text" (also "word2vec", "vec", "fasttext"), "binary" (also "bin"),
 * "glove", "auto". Returns -1 for anything else. */
int ck_embed_format_parse(const char *name, ck_embed_format *out);
const char *ck_embed_format_name(ck_embed_format f);

/* The format of a file's bytes: a first line of exactly two integers is a
 * header (so a GloVe file whose first line is a one-number vector of a word
 * that is a number reads as a header: a documented ambiguity); after a
 * header, a first record that reads as D numbers on one line is text, else
 * binary; no header is GloVe. Never fails (CK_EMBED_GLOVE for anything
 * unrecognisable, which the reader then rejects with a message). */
ck_embed_format ck_embed_detect_mem(const void *buf, size_t len);

/* What an import met that is not an error. */
typedef struct ck_embed_import_stats {
	int64_t words;      /* records read */
	int64_t duplicates; /* records whose word came earlier: skipped, the first kept */
	char first_duplicate[64];
} ck_embed_import_stats;

/* Reads vectors in format fmt (CK_EMBED_AUTO: detected) into a new table:
 * rows 0 and 1 are "<pad>" and "<unk>" (zero unless the file has words with
 * those names, whose vectors go there), then the file's words in file order,
 * counts 0. Hostile input is expected: a header's V and D are checked
 * against limits and against the bytes present before anything is
 * allocated; a short or long record, a non-number, a non-finite value, more
 * or fewer records than the header says and a truncated binary record are
 * errors naming the line (text) or record (binary). CRLF line ends and
 * trailing spaces are accepted. A duplicate word keeps its first vector and
 * is counted in stats (which may be NULL). The `_mem` form is the fuzzing
 * entry point; the path form ("-" = standard input) maps or reads the file
 * and prefixes errors with the path. */
int ck_embed_import_mem(ck_embed *e, const void *buf, size_t len, ck_embed_format fmt,
                        ck_embed_import_stats *stats, ck_err *err);
int ck_embed_import(ck_embed *e, const char *path, ck_embed_format fmt,
                    ck_embed_import_stats *stats, ck_err *err);

/* Writes every row but the reserved ones (which are written too when their
 * vector is not zero, so imports round-trip) in format fmt (not AUTO).
 * Text numbers print with "%.9g": they read back bit-exactly. The path form
 * writes atomically ("-" = standard output; binary refused on a terminal). */
int ck_embed_export_mem(const ck_embed *e, ck_embed_format fmt, char **buf, size_t *len,
                        ck_err *err);
int ck_embed_export(const ck_embed *e, const char *path, ck_embed_format fmt, ck_err *err);

/* ---- queries ------------------------------------------------------------- */

/* Unit-length copies of the rows, (V,D) malloc'ed; zero rows stay zero.
 * NULL when out of memory. */
float *ck_embed_unit(const ck_embed *e);

typedef struct ck_embed_hit {
	int64_t row;
	float cosine;
} ck_embed_hit;

/* The k rows of unit (V,D) with the highest cosine to query (D, any
 * length), best first (ties: lower row first), skipping the reserved rows,
 * zero rows and the rows listed in exclude[0..nexclude). Returns the number
 * of hits (< k when too few rows). hits has room for k. */
int ck_embed_nearest(const float *unit, int64_t V, int D, const float *query,
                     const int64_t *exclude, int nexclude, ck_embed_hit *hits, int k);
/* Analogy a : b :: c : ?, by 3CosAdd as word2vec and gensim do:
 * query = unit(b) - unit(a) + unit(c), then ck_embed_nearest excluding a, b
 * and c. rows are rows of unit. */
int ck_embed_analogy(const float *unit, int64_t V, int D, int64_t a, int64_t b, int64_t c,
                     ck_embed_hit *hits, int k);

/* ---- applying vectors to token ids ------------------------------------------ */

/* The row of e for each id of a token vocabulary (vocab text, one token a
 * line, as tokenize writes it): map[i] = row, or -1 for a word e lacks and
 * for ids 0 and 1 (padding and unknown words). vocab NULL: ids are rows of
 * e (ids 0, 1 and ids >= e->V map to -1); *n is then e->V. *map is malloc'ed. */
int ck_embed_vocab_map(const ck_embed *e, const char *vocab, size_t len, int32_t **map,
                       int64_t *n, ck_err *err);

typedef enum ck_embed_pool {
	CK_EMBED_POOL_NONE = 0, /* out (N,L,D) */
	CK_EMBED_POOL_MEAN,     /* out (N,D) */
	CK_EMBED_POOL_MAX,      /* out (N,D) */
} ck_embed_pool;

/* ids (N,L) with ids in [0, nmap) (checked by the caller), lengths (N) or
 * NULL (every position counts), map (nmap) from ck_embed_vocab_map, vectors
 * (V,D). NONE: out[n,t] = the vector of ids[n,t], zeros for padding (t >=
 * lengths[n]) and for ids mapped to -1. MEAN and MAX pool over the tokens
 * that have a vector (known words before lengths[n]) only; a row without
 * any gets zeros. Threads split n. */
void ck_embed_apply(float *out, const int32_t *ids, const int32_t *lengths, const int32_t *map,
                    const float *vectors, int64_t N, int L, int D, ck_embed_pool pool);

/* ---- initialising a model's embedding layer (lib/embedding_init.c) ---------- */

/* Copies into weight (V,D), the table of an embedding layer over a token
 * vocabulary (vocab: its `vocab` metadata, V lines, line i the token of id
 * i), the vector of e of every word e holds, matched by bytes
 * (ck_embed_vocab_map), never by id. Rows of words e lacks keep their values
 * (the layer's random init), and so does row 1, "<unk>", which is not a
 * word; row 0, padding, is set to zero. Returns the number of rows copied,
 * or -1 when D is not e->D or vocab has not V lines. */
int64_t ck_embed_init_rows(float *weight, int64_t V, int D, const ck_embed *e, const char *vocab,
                           size_t len, ck_err *err);

typedef struct ck_embed_init_report {
	int layer;        /* the embedding layer with init= (from 0); -1: none */
	const char *path; /* its init= file as the spec gives it (owned by the model) */
	int64_t found;    /* words whose vector was copied */
	int64_t words;    /* words in the vocabulary: V - 2 ("<pad>", "<unk>" left out) */
} ck_embed_init_report;

/* The `init=FILE` of m's embedding layer: loads FILE (an embeddings file as
 * `embed train` and `embed import` write it; a relative path is relative to
 * the working directory) and copies its vectors into the layer's weight with
 * ck_embed_init_rows. vocab[0..len) is the training data's `vocab` metadata
 * (NULL when it has none: an error when there is an init=). Without init=
 * nothing changes and report->layer is -1. Messages name the layer:
 *   layer 1 "embedding 64 init=v.tnz": v.tnz: vectors of dimension 50, the layer's is 64 */
int ck_embed_init_model(ck_model *m, const char *vocab, size_t len, int threads,
                        ck_embed_init_report *report, ck_err *err);

/* ---- word2vec training ------------------------------------------------------- */

/* A training corpus: word strings interned to ids and the token stream. */
typedef struct ck_w2v_corpus ck_w2v_corpus;

ck_w2v_corpus *ck_w2v_corpus_new(ck_err *err);
void ck_w2v_corpus_free(ck_w2v_corpus *c);
/* The id of a word (len bytes; added when new), or -1 (err set) for a word
 * that is empty, too long, holds whitespace or NUL, or when out of memory.
 * Words "<pad>" and "<unk>" are refused too: they are not words. */
int32_t ck_w2v_corpus_intern(ck_w2v_corpus *c, const char *word, size_t len, ck_err *err);
/* Appends one occurrence of an interned word. */
int ck_w2v_corpus_push(ck_w2v_corpus *c, int32_t id, ck_err *err);
/* Ends a sentence: context windows never cross it. */
int ck_w2v_corpus_end_sentence(ck_w2v_corpus *c, ck_err *err);
/* Appends every document of a token dataset (`x` (N,L) integer ids,
 * `lengths` (N) optional, metadata `vocab` required), one sentence each,
 * by word: padding (id 0) and unknown words (id 1) are left out. Ids and
 * lengths are checked before any token is added. */
int ck_w2v_corpus_add_tnz(ck_w2v_corpus *c, const ck_tnz *t, ck_err *err);
/* Appends one document of raw text (a line without its line end) as one
 * sentence, tokenised by ck_tokenize with opts, as `tokenize` does.
 * *invalid (if not NULL) counts invalid UTF-8 sequences (see text.h). */
int ck_w2v_corpus_add_text(ck_w2v_corpus *c, const ck_tok_opts *opts, const char *text,
                           size_t len, size_t *invalid, ck_err *err);
/* Tokens pushed so far (sentence ends not counted). */
int64_t ck_w2v_corpus_tokens(const ck_w2v_corpus *c);

typedef struct ck_w2v_progress {
	int64_t words_done;  /* corpus tokens processed, over every epoch and thread */
	int64_t words_total; /* epochs x training tokens */
	float lr;            /* the current learning rate */
} ck_w2v_progress;

typedef struct ck_w2v_opts {
	int dim;        /* vector size, default 100 */
	int window;     /* max context distance; each position draws 1..window */
	int neg;        /* negative samples per positive, default 5 */
	int epochs;     /* default 5 */
	int64_t min_count; /* words seen fewer times are dropped, default 5 */
	double sample;  /* subsampling threshold t, default 1e-3; 0 = off */
	float lr;       /* starting learning rate; 0 = 0.025 skip-gram, 0.05 CBOW */
	int threads;    /* 0 = every core */
	uint64_t seed;
	int cbow;       /* 0 skip-gram, 1 CBOW (mean of the context) */
	/* Called by one thread about every 64k words, and once at the end. */
	void (*progress)(void *ctx, const ck_w2v_progress *p);
	void *progress_ctx;
} ck_w2v_opts;
#define CK_W2V_OPTS_DEFAULT \
	((ck_w2v_opts){100, 5, 5, 5, 5, 1e-3, 0.0f, 0, 1, 0, NULL, NULL})

/* Trains vectors on the corpus and returns them as a new table (see the top
 * of this file for its rows). The corpus's token stream is rewritten in
 * place (rare words removed), so a corpus trains once. Threads work on their
 * share of the corpus and update the shared vectors without locks
 * (Hogwild, as word2vec does): the result depends on the thread count, and
 * with threads = 1 only on the seed. Fails on bad options or when no word
 * reaches min_count. */
int ck_w2v_train(ck_embed *out, ck_w2v_corpus *c, const ck_w2v_opts *o, ck_err *err);

/* -- the pieces of training, exposed for tests -- */

/* Probability of keeping one occurrence of a word seen count times among
 * total tokens, with threshold sample (Mikolov et al. 2013, in the form of
 * word2vec.c and fastText): min(1, sqrt(t/f) + t/f), f = count/total. */
double ck_w2v_keep_prob(int64_t count, int64_t total, double sample);

/* Walker's alias table for drawing word ids with probability proportional
 * to counts[i]^power (word2vec: 0.75), exact, in O(1) per draw. */
typedef struct ck_w2v_noise {
	float *prob;    /* (n) acceptance threshold of each bucket */
	int32_t *alias; /* (n) the other word of each bucket */
	int64_t n;
} ck_w2v_noise;
int ck_w2v_noise_init(ck_w2v_noise *t, const int64_t *counts, int64_t n, double power,
                      ck_err *err);
/* One draw from 64 random bits. */
int32_t ck_w2v_noise_draw(const ck_w2v_noise *t, uint64_t bits);
void ck_w2v_noise_free(ck_w2v_noise *t);

/* Negative-sampling loss of one input vector h (D) against the rows of out
 * (rows of stride floats) listed in targets[0..n): targets[0] is the true
 * word, the rest are noise words:
 *   loss = -log s(h.out[t0]) - sum_{k>=1} log s(-h.out[tk]),  s = sigmoid. */
double ck_w2v_ns_loss(const float *h, const float *out, const int32_t *targets, int n, int D,
                      size_t stride);
/* One SGD step of that loss at rate lr: dh (D) += -lr dloss/dh and each
 * target row of out -= lr dloss/drow (rows updated in turn, as word2vec
 * does). The trainer's step: sigmoid from a table (|error| < 5e-4) and
 * AVX2 dot products where available. */
void ck_w2v_ns_update(float *dh, float *out, const float *h, const int32_t *targets, int n,
                      int D, size_t stride, float lr);
/* The same with the exact sigmoid and plain loops: the reference. */
void ck_w2v_ns_update_ref(float *dh, float *out, const float *h, const int32_t *targets, int n,
                          int D, size_t stride, float lr);

#endif
