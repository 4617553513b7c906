/* embed: train, import, export, apply and query word vectors.
 *
 *     embed train --dim 100 -o vectors.tnz corpus.txt
 *     embed nearest -m vectors.tnz king
 *     embed export --format binary -o vectors.bin vectors.tnz
 *     embed apply -m vectors.tnz --pool mean -o features.tnz tokens.tnz
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cnnkit.h"

#define PROG "embed"

static const char usage_text[] =
	"usage: embed train [OPTIONS] [-o OUT] [CORPUS...]\n"
	"       embed apply -m VECTORS [--pool mean|max] [-o OUT] [DATA]\n"
	"       embed import [--format FMT] [-o OUT] [FILE]\n"
	"       embed export [--format FMT] [-o OUT] [VECTORS]\n"
	"       embed nearest [-k K] -m VECTORS WORD...\n"
	"       embed analogy [-k K] -m VECTORS A B C\n";

static const char help_text[] =
	"\n"
	"Word vectors: word2vec training (skip-gram or CBOW with negative sampling),\n"
	"lookup of token ids, the word2vec/GloVe/fastText file formats, and queries.\n"
	"Vectors are kept in an embeddings file: vectors (V,D) f32, counts (V) i64 and\n"
	"metadata vocab, rows 0 and 1 being <pad> and <unk> (zero vectors).\n"
	"Inputs are files or standard input (none or -); outputs go to -o FILE or\n"
	"standard output.\n"
	"\n"
	"embed train: CORPUS is raw text, one sentence or document a line, tokenised as\n"
	"tokenize(1) does (lower-cased words), or a token dataset (x (N,L) i32, lengths,\n"
	"vocab) as tokenize writes it.\n"
	"      --dim D          vector size (integer, default 100)\n"
	"      --window W       max distance of a context word (integer, default 5);\n"
	"                       each position draws its window from 1..W\n"
	"      --neg K          negative samples per word (integer 1-64, default 5)\n"
	"      --epochs E       passes over the corpus (integer, default 5)\n"
	"      --min-count M    drop words seen fewer than M times (integer, default 5)\n"
	"      --sample T       subsampling threshold (real, default 1e-3; 0 = none):\n"
	"                       an occurrence of a word of frequency f is kept with\n"
	"                       probability sqrt(T/f) + T/f\n"
	"      --lr A           starting learning rate, decaying linearly to 0\n"
	"                       (real, default 0.025, 0.05 with --cbow)\n"
	"      --cbow           CBOW (mean of the context) instead of skip-gram\n"
	"      --punct          keep punctuation characters as tokens (raw text)\n"
	"      --strip-accents  strip accents (raw text)\n"
	"      --threads N      threads (integer, default 0 = every core); only\n"
	"                       --threads 1 gives the same file for the same seed\n"
	"      --seed S         random seed (integer, default 1)\n"
	"      --progress, -q   show or hide the progress line (default: shown when\n"
	"                       standard error is a terminal)\n"
	"\n"
	"embed apply: DATA is a token dataset; x becomes the words' vectors, (N,L,D)\n"
	"f32, zero for padding and for words without a vector; y and lengths are kept.\n"
	"Words are matched by string through DATA's vocab (by row without one).\n"
	"      --pool mean|max  (N,D) instead: the mean or maximum over the words\n"
	"                       that have a vector (zeros when none)\n"
	"\n"
	"embed import / export: FMT is text (word2vec text; fastText .vec), binary\n"
	"(word2vec binary) or glove (text without the header line). import detects\n"
	"it by default; export takes it from the extension of OUT (.bin: binary,\n"
	"else text). Duplicate words on import keep their first vector (warned).\n"
	"\n"
	"embed nearest / analogy: the K (default 10) words nearest by cosine to each\n"
	"WORD (excluding itself), or to B - A + C (excluding the three), one\n"
	"\"word<TAB>neighbour<TAB>cosine\" or \"neighbour<TAB>cosine\" a line.\n"
	"\n"
	"Common: -o, --output FILE; -m, --model FILE; --help; --version.\n"
	"\n"
	"Example:\n"
	"  tokenize --text corpus.txt > words.txt\n"
	"  embed train --dim 100 --window 5 --neg 5 --epochs 5 --min-count 5 \\\n"
	"      --sample 1e-3 --threads 2 -o vectors.tnz words.txt\n"
	"  embed nearest -k 5 -m vectors.tnz king\n"
	"  embed analogy -m vectors.tnz man king woman\n";

static void usage(FILE *f)
{
	fputs(usage_text, f);
	if (f == stderr)
		fputs("Try 'embed --help' for more information.\n", f);
	else
		fputs(help_text, f);
}

static const char *shown(const char *path)
{
	return !path || strcmp(path, "-") == 0 ? "standard input" : path;
}

/* Options every subcommand shares. */
enum { OPT_HELP = 256, OPT_VERSION, OPT_DIM, OPT_WINDOW, OPT_NEG, OPT_EPOCHS, OPT_MIN_COUNT,
       OPT_SAMPLE, OPT_LR, OPT_CBOW, OPT_PUNCT, OPT_STRIP, OPT_THREADS, OPT_SEED, OPT_PROGRESS,
       OPT_POOL, OPT_FORMAT };

static const struct option longopts[] = {
	{"output", required_argument, NULL, 'o'},  {"model", required_argument, NULL, 'm'},
	{"dim", required_argument, NULL, OPT_DIM}, {"window", required_argument, NULL, OPT_WINDOW},
	{"neg", required_argument, NULL, OPT_NEG}, {"epochs", required_argument, NULL, OPT_EPOCHS},
	{"min-count", required_argument, NULL, OPT_MIN_COUNT},
	{"sample", required_argument, NULL, OPT_SAMPLE}, {"lr", required_argument, NULL, OPT_LR},
	{"cbow", no_argument, NULL, OPT_CBOW},      {"punct", no_argument, NULL, OPT_PUNCT},
	{"strip-accents", no_argument, NULL, OPT_STRIP},
	{"threads", required_argument, NULL, OPT_THREADS},
	{"seed", required_argument, NULL, OPT_SEED},
	{"progress", no_argument, NULL, OPT_PROGRESS}, {"quiet", no_argument, NULL, 'q'},
	{"pool", required_argument, NULL, OPT_POOL}, {"format", required_argument, NULL, OPT_FORMAT},
	{"help", no_argument, NULL, OPT_HELP},      {"version", no_argument, NULL, OPT_VERSION},
	{NULL, 0, NULL, 0},
};

typedef struct args {
	const char *cmd, *out, *model;
	ck_w2v_opts w2v;
	ck_tok_opts tok;
	int progress; /* -1 auto */
	int k;
	ck_embed_pool pool;
	ck_embed_format format;
	int format_set, k_set, pool_set;
	char **rest;
	int nrest;
} args;

/* Parses the options of a subcommand; allowed lists the options it takes
 * (by the letter or the OPT_ value, in a zero-ended array). */
static void parse_args(args *a, int argc, char **argv, const int *allowed)
{
	opterr = 0;
	optind = 1;
	int c, idx = -1;
	while ((c = getopt_long(argc, argv, ":o:m:k:q", longopts, &idx)) != -1) {
		int ok = c == OPT_HELP || c == OPT_VERSION || c == ':' || c == '?';
		for (const int *p = allowed; *p; p++)
			ok |= *p == c;
		if (!ok && idx >= 0)
			usage_error("%s does not take --%s", a->cmd, longopts[idx].name);
		if (!ok)
			usage_error("%s does not take -%c", a->cmd, c);
		idx = -1;
		switch (c) {
		case 'o': a->out = optarg; break;
		case 'm': a->model = optarg; break;
		case 'k': a->k = (int)cli_int("-k", optarg, 1, 1000000); a->k_set = 1; break;
		case 'q': a->progress = 0; break;
		case OPT_PROGRESS: a->progress = 1; break;
		case OPT_DIM: a->w2v.dim = (int)cli_int("--dim", optarg, 1, CK_EMBED_MAX_DIM); break;
		case OPT_WINDOW: a->w2v.window = (int)cli_int("--window", optarg, 1, 1000); break;
		case OPT_NEG: a->w2v.neg = (int)cli_int("--neg", optarg, 1, 64); break;
		case OPT_EPOCHS: a->w2v.epochs = (int)cli_int("--epochs", optarg, 1, 100000); break;
		case OPT_MIN_COUNT:
			a->w2v.min_count = cli_int("--min-count", optarg, 1, LONG_MAX);
			break;
		case OPT_SAMPLE: a->w2v.sample = cli_real("--sample", optarg, 0, 1); break;
		case OPT_LR: a->w2v.lr = (float)cli_real("--lr", optarg, 1e-9, 10); break;
		case OPT_CBOW: a->w2v.cbow = 1; break;
		case OPT_PUNCT: a->tok.punct = 1; break;
		case OPT_STRIP: a->tok.strip_accents = 1; break;
		case OPT_THREADS: a->w2v.threads = (int)cli_int("--threads", optarg, 0, 1024); break;
		case OPT_SEED:
			a->w2v.seed = (uint64_t)cli_int("--seed", optarg, 0, LONG_MAX);
			break;
		case OPT_POOL:
			if (strcmp(optarg, "mean") == 0)
				a->pool = CK_EMBED_POOL_MEAN;
			else if (strcmp(optarg, "max") == 0)
				a->pool = CK_EMBED_POOL_MAX;
			else
				usage_error("--pool \"%s\": expected mean or max", optarg);
			break;
		case OPT_FORMAT:
			if (ck_embed_format_parse(optarg, &a->format) < 0)
				usage_error("--format \"%s\": expected text, binary or glove", optarg);
			a->format_set = 1;
			break;
		case OPT_HELP: usage(stdout); exit(cli_close_stdout(0));
		case OPT_VERSION:
			printf("embed (cnnkit) %s\n", ck_version());
			exit(cli_close_stdout(0));
		case ':': usage_error("option %s needs a value", argv[optind - 1]);
		default: usage_error("unknown option %s", argv[optind - 1]);
		}
	}
	a->rest = argv + optind;
	a->nrest = argc - optind;
}

static ck_embed load_vectors(const char *path)
{
	if (!path)
		usage_error("no vectors: use -m VECTORS");
	ck_embed e;
	ck_err err;
	if (ck_embed_load(&e, path, 0, &err) < 0)
		die("%s", err.msg);
	return e;
}

static void save_vectors(const ck_embed *e, const char *out, const char *cmdline)
{
	ck_meta extra = {0};
	ck_err err;
	if (ck_meta_set(&extra, "created_by", cmdline, (size_t)-1, &err) < 0 ||
	    ck_embed_save(e, &extra, out ? out : "-", NULL, &err) < 0)
		die("%s: %s", out && strcmp(out, "-") ? out : "standard output", err.msg);
	ck_meta_free(&extra);
}

/* ---- train ----------------------------------------------------------------- */

typedef struct progress_state {
	struct timespec start;
	int threads;
} progress_state;

static double seconds_since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + 1e-9 * (double)(t.tv_nsec - t0->tv_nsec);
}

static void show_progress(void *ctx, const ck_w2v_progress *p)
{
	progress_state *s = ctx;
	double secs = seconds_since(&s->start);
	double rate = secs > 0 ? (double)p->words_done / secs : 0;
	int end = p->words_done >= p->words_total;
	fprintf(stderr, "\r" PROG ": %5.1f%%  %.0f words/s (%.0f/thread)  lr %.6f%s",
	        p->words_total ? 100.0 * (double)p->words_done / (double)p->words_total : 100.0,
	        rate, rate / s->threads, (double)p->lr, end ? "\n" : "  ");
}

static int is_tnz(FILE *f, unsigned char head[8], size_t *got)
{
	static const unsigned char magic[8] = {0x89, 'T', 'N', 'Z', '\r', '\n', 0x1a, '\n'};
	*got = fread(head, 1, 8, f);
	return *got == 8 && memcmp(head, magic, 8) == 0;
}

/* Adds a token dataset. From standard input, the bytes go through an
 * unlinked temporary file, since the magic has been read already. */
static void add_tnz_input(ck_w2v_corpus *c, const char *path, FILE *f,
                          const unsigned char head[8], int threads)
{
	ck_tnz t;
	ck_err err;
	char name[64];
	FILE *tmp = NULL;
	const char *load_path = path;
	if (f == stdin) {
		tmp = tmpfile();
		if (!tmp || fwrite(head, 1, 8, tmp) != 8)
			die("cannot make a temporary file: %s", strerror(errno));
		char buf[1 << 16];
		size_t n;
		while ((n = fread(buf, 1, sizeof buf, f)) > 0)
			if (fwrite(buf, 1, n, tmp) != n)
				die("temporary file: %s", strerror(errno));
		if (ferror(f) || fflush(tmp))
			die("standard input: %s", strerror(errno));
		snprintf(name, sizeof name, "/dev/fd/%d", fileno(tmp));
		load_path = name;
	}
	if (ck_tnz_load(&t, load_path, threads, &err) < 0 || ck_w2v_corpus_add_tnz(c, &t, &err) < 0)
		die("%s: %s", shown(path), err.msg);
	ck_tnz_free(&t);
	if (tmp)
		fclose(tmp);
}

static void add_text_input(ck_w2v_corpus *c, const char *path, FILE *f,
                           const unsigned char *head, size_t nhead, const ck_tok_opts *tok)
{
	char *line = NULL;
	size_t cap = 0, invalid = 0;
	ssize_t len;
	ck_err err;
	int64_t lineno = 0;
	/* The first bytes, read to look for the TNZ magic, start the first line. */
	char *first = NULL;
	size_t nfirst = 0;
	if (nhead) {
		if ((len = getline(&line, &cap, f)) < 0)
			len = 0;
		first = malloc(nhead + (size_t)len + 1);
		if (!first)
			die("out of memory");
		memcpy(first, head, nhead);
		memcpy(first + nhead, line, (size_t)len);
		nfirst = nhead + (size_t)len;
	}
	for (;;) {
		char *text;
		size_t n;
		if (first) {
			text = first;
			n = nfirst;
		} else {
			if ((len = getline(&line, &cap, f)) < 0)
				break;
			text = line;
			n = (size_t)len;
		}
		lineno++;
		/* A newline inside the first chunk (lines shorter than 8 bytes) splits it. */
		char *p = text, *end = text + n;
		while (p < end) {
			char *nl = memchr(p, '\n', (size_t)(end - p));
			size_t m = (size_t)((nl ? nl : end) - p);
			if (m && p[m - 1] == '\r')
				m--;
			if (ck_w2v_corpus_add_text(c, tok, p, m, &invalid, &err) < 0)
				die("%s: line %" PRId64 ": %s", shown(path), lineno, err.msg);
			p = nl ? nl + 1 : end;
		}
		if (first) {
			free(first);
			first = NULL;
		}
	}
	if (ferror(f))
		die("%s: %s", shown(path), strerror(errno));
	if (invalid)
		fprintf(stderr, PROG ": warning: %s: %zu invalid UTF-8 sequences replaced by U+FFFD\n",
		        shown(path), invalid);
	free(line);
}

static int cmd_train(args *a, int argc, char **argv, const char *cmdline)
{
	static const int allowed[] = {'o', 'q', OPT_DIM, OPT_WINDOW, OPT_NEG, OPT_EPOCHS,
	                              OPT_MIN_COUNT, OPT_SAMPLE, OPT_LR, OPT_CBOW, OPT_PUNCT,
	                              OPT_STRIP, OPT_THREADS, OPT_SEED, OPT_PROGRESS, 0};
	parse_args(a, argc, argv, allowed);
	if (!a->out && isatty(1))
		die("refusing to write binary vectors to a terminal: use -o FILE");
	ck_err err;
	ck_w2v_corpus *c = ck_w2v_corpus_new(&err);
	if (!c)
		die("%s", err.msg);
	int nin = a->nrest ? a->nrest : 1;
	for (int i = 0; i < nin; i++) {
		const char *path = a->nrest ? a->rest[i] : "-";
		FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
		if (!f)
			die("%s: %s", path, strerror(errno));
		unsigned char head[8];
		size_t got;
		if (is_tnz(f, head, &got))
			add_tnz_input(c, path, f, head, a->w2v.threads);
		else
			add_text_input(c, path, f, head, got, &a->tok);
		if (f != stdin)
			fclose(f);
	}
	progress_state ps;
	clock_gettime(CLOCK_MONOTONIC, &ps.start);
	ps.threads = a->w2v.threads;
	if (ps.threads == 0)
		ps.threads = (int)sysconf(_SC_NPROCESSORS_ONLN) > 0 ? (int)sysconf(_SC_NPROCESSORS_ONLN) : 1;
	if (a->progress == 1 || (a->progress < 0 && isatty(2))) {
		a->w2v.progress = show_progress;
		a->w2v.progress_ctx = &ps;
	}
	ck_embed e;
	if (ck_w2v_train(&e, c, &a->w2v, &err) < 0)
		die("%s", err.msg);
	ck_w2v_corpus_free(c);
	save_vectors(&e, a->out, cmdline);
	ck_embed_free(&e);
	return 0;
}

/* ---- apply ------------------------------------------------------------------- */

static int cmd_apply(args *a, int argc, char **argv, const char *cmdline)
{
	static const int allowed[] = {'o', 'm', OPT_POOL, OPT_THREADS, 0};
	parse_args(a, argc, argv, allowed);
	if (a->nrest > 1)
		usage_error("one data file at most (got \"%s\" too)", a->rest[1]);
	ck_embed e = load_vectors(a->model);
	const char *path = a->nrest ? a->rest[0] : "-";
	ck_tnz in, out = {0};
	ck_err err;
	if (ck_tnz_load(&in, path, a->w2v.threads, &err) < 0)
		die("%s: %s", shown(path), err.msg);
	ck_tensor *x = ck_tnz_find(&in, "x"), *len = ck_tnz_find(&in, "lengths");
	if (!x || x->dtype != CK_DTYPE_I32 || x->rank != 2)
		die("%s: expected token ids x (N,L) i32", shown(path));
	int64_t N = x->dims[0], L = x->dims[1];
	if (len && (len->dtype != CK_DTYPE_I32 || len->rank != 1 || len->dims[0] != N))
		die("%s: lengths must be (%" PRId64 ") i32", shown(path), N);
	if (L > INT_MAX)
		die("%s: rows of %" PRId64 " tokens are too long", shown(path), L);
	size_t vlen;
	const char *vocab = ck_meta_get(&in.meta, "vocab", &vlen);
	int32_t *map;
	int64_t nmap;
	if (ck_embed_vocab_map(&e, vocab, vlen, &map, &nmap, &err) < 0)
		die("%s", err.msg);
	const int32_t *ids = x->data;
	for (int64_t i = 0; i < N * L; i++)
		if (ids[i] < 0 || ids[i] >= nmap)
			die("%s: x[%" PRId64 ",%" PRId64 "] = %d: not a token id (0 to %" PRId64 ")",
			    shown(path), i / L, i % L, ids[i], nmap - 1);
	int64_t known = 0;
	for (int64_t i = CK_EMBED_RESERVED; i < nmap; i++)
		known += map[i] >= 0;
	if (vocab && known == 0)
		fprintf(stderr, PROG ": warning: no word of %s has a vector in %s\n", shown(path),
		        a->model);
	int64_t dims[3] = {N, L, e.D};
	int rank = 3;
	if (a->pool != CK_EMBED_POOL_NONE) {
		dims[1] = e.D;
		rank = 2;
	}
	ck_tensor *o = ck_tnz_add(&out, "x", CK_DTYPE_F32, rank, dims, NULL, &err);
	if (!o)
		die("%s", err.msg);
	ck_embed_apply(o->data, ids, len ? len->data : NULL, map, e.vectors, N, (int)L, e.D, a->pool);
	int ok = ck_meta_merge(&out.meta, &in.meta, &err) == 0;
	ck_meta_remove(&out.meta, "vocab");
	ok = ok && ck_meta_set(&out.meta, "created_by", cmdline, (size_t)-1, &err) == 0;
	const ck_tensor *y = ck_tnz_find(&in, "y");
	if (ok && y)
		ok = ck_tnz_add(&out, "y", y->dtype, y->rank, y->dims, y->data, &err) != NULL;
	if (ok && len && a->pool == CK_EMBED_POOL_NONE)
		ok = ck_tnz_add(&out, "lengths", len->dtype, 1, len->dims, len->data, &err) != NULL;
	ok = ok && ck_tnz_save(&out, a->out ? a->out : "-", NULL, &err) == 0;
	if (!ok)
		die("%s: %s", a->out && strcmp(a->out, "-") ? a->out : "standard output", err.msg);
	free(map);
	ck_tnz_free(&out);
	ck_tnz_free(&in);
	ck_embed_free(&e);
	return 0;
}

/* ---- import, export --------------------------------------------------------------- */

static int cmd_import(args *a, int argc, char **argv, const char *cmdline)
{
	static const int allowed[] = {'o', OPT_FORMAT, 0};
	parse_args(a, argc, argv, allowed);
	if (a->nrest > 1)
		usage_error("one file at most (got \"%s\" too)", a->rest[1]);
	const char *path = a->nrest ? a->rest[0] : "-";
	if (!a->out && isatty(1))
		die("refusing to write binary vectors to a terminal: use -o FILE");
	ck_embed e;
	ck_embed_import_stats st;
	ck_err err;
	if (ck_embed_import(&e, path, a->format, &st, &err) < 0)
		die("%s", err.msg);
	if (st.duplicates)
		fprintf(stderr, PROG ": warning: %s: %" PRId64 " duplicate words kept their first "
		        "vector (the first: \"%s\")\n", shown(path), st.duplicates, st.first_duplicate);
	save_vectors(&e, a->out, cmdline);
	ck_embed_free(&e);
	return 0;
}

static int cmd_export(args *a, int argc, char **argv)
{
	static const int allowed[] = {'o', OPT_FORMAT, 0};
	parse_args(a, argc, argv, allowed);
	if (a->nrest > 1)
		usage_error("one file at most (got \"%s\" too)", a->rest[1]);
	ck_embed_format fmt = a->format;
	if (fmt == CK_EMBED_AUTO) {
		const char *dot = a->out ? strrchr(a->out, '.') : NULL;
		fmt = dot && strcmp(dot, ".bin") == 0 ? CK_EMBED_BINARY : CK_EMBED_TEXT;
	}
	ck_embed e;
	ck_err err;
	if (ck_embed_load(&e, a->nrest ? a->rest[0] : "-", 0, &err) < 0)
		die("%s", err.msg);
	if (fflush(stdout) || ck_embed_export(&e, a->out ? a->out : "-", fmt, &err) < 0)
		die("%s", err.msg);
	ck_embed_free(&e);
	return 0;
}

/* ---- nearest, analogy ---------------------------------------------------------- */

typedef struct one_token {
	char buf[CK_EMBED_MAX_WORD + 1];
	size_t len;
	int count;
} one_token;

static int keep_token(const char *tok, size_t len, void *ctx)
{
	one_token *t = ctx;
	if (t->count++ == 0 && len <= CK_EMBED_MAX_WORD) {
		memcpy(t->buf, tok, len);
		t->len = len;
	}
	return 0;
}

/* The row of a word typed by a person: as is, else as the tokenizer
 * normalises it ("King" is "king"), since that is how the vectors were made. */
static int64_t find_word(const ck_embed *e, const char *word)
{
	int64_t r = ck_embed_find(e, word, strlen(word));
	if (r >= 0)
		return r;
	one_token t = {.count = 0};
	ck_tok_opts opts = CK_TOK_OPTS_DEFAULT;
	if (ck_tokenize(&opts, word, strlen(word), keep_token, &t, NULL, NULL) != 1)
		return -1;
	return ck_embed_find(e, t.buf, t.len);
}

static int cmd_nearest(args *a, int argc, char **argv, int analogy)
{
	static const int allowed[] = {'m', 'k', 0};
	parse_args(a, argc, argv, allowed);
	if (analogy && a->nrest != 3)
		usage_error("analogy takes three words: A B C (A is to B as C is to ?)");
	if (!analogy && a->nrest == 0)
		usage_error("no word to look up");
	ck_embed e = load_vectors(a->model);
	float *unit = ck_embed_unit(&e);
	ck_embed_hit *hits = malloc((size_t)a->k * sizeof *hits);
	if (!unit || !hits)
		die("out of memory");
	int64_t rows[3];
	int failed = 0;
	for (int i = 0; i < a->nrest; i++) {
		rows[i < 3 ? i : 2] = find_word(&e, a->rest[i]);
		if (rows[i < 3 ? i : 2] < CK_EMBED_RESERVED) {
			fprintf(stderr, PROG ": \"%s\" is not in %s\n", a->rest[i], a->model);
			failed = 1;
			if (analogy)
				die("cannot complete the analogy");
			continue;
		}
		if (analogy)
			continue;
		int64_t r = rows[i < 3 ? i : 2];
		int n = ck_embed_nearest(unit, e.V, e.D, unit + (size_t)r * (size_t)e.D, &r, 1, hits,
		                         a->k);
		for (int j = 0; j < n; j++)
			printf("%s\t%s\t%.4f\n", e.words[r], e.words[hits[j].row], (double)hits[j].cosine);
	}
	if (analogy) {
		int n = ck_embed_analogy(unit, e.V, e.D, rows[0], rows[1], rows[2], hits, a->k);
		if (n < 0)
			die("out of memory");
		for (int j = 0; j < n; j++)
			printf("%s\t%.4f\n", e.words[hits[j].row], (double)hits[j].cosine);
	}
	free(hits);
	free(unit);
	ck_embed_free(&e);
	return failed;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_DFL);
	cli_init(PROG, usage);
	if (argc < 2)
		usage_error("no command: train, apply, import, export, nearest or analogy");
	const char *cmd = argv[1];
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
		usage(stdout);
		return cli_close_stdout(0);
	}
	if (strcmp(cmd, "--version") == 0) {
		printf("embed (cnnkit) %s\n", ck_version());
		return cli_close_stdout(0);
	}
	args a = {.cmd = cmd, .w2v = CK_W2V_OPTS_DEFAULT, .tok = CK_TOK_OPTS_DEFAULT,
	          .progress = -1, .k = 10};
	char *cmdline = cli_command_line(argc, argv);
	int rc;
	if (strcmp(cmd, "train") == 0)
		rc = cmd_train(&a, argc - 1, argv + 1, cmdline);
	else if (strcmp(cmd, "apply") == 0)
		rc = cmd_apply(&a, argc - 1, argv + 1, cmdline);
	else if (strcmp(cmd, "import") == 0)
		rc = cmd_import(&a, argc - 1, argv + 1, cmdline);
	else if (strcmp(cmd, "export") == 0)
		rc = cmd_export(&a, argc - 1, argv + 1);
	else if (strcmp(cmd, "nearest") == 0)
		rc = cmd_nearest(&a, argc - 1, argv + 1, 0);
	else if (strcmp(cmd, "analogy") == 0)
		rc = cmd_nearest(&a, argc - 1, argv + 1, 1);
	else
		usage_error("unknown command \"%s\": train, apply, import, export, nearest or analogy",
		            cmd);
	free(cmdline);
	return cli_close_stdout(rc);
}
