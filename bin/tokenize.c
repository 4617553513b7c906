/* tokenize: UTF-8 text, one document a line, to token ids or normalised text.
 *
 *     tokenize -o train.tnz --label-field 1 --vocab-out vocab.txt train.tsv
 *     tokenize -o test.tnz --label-field 1 --vocab-from train.tnz test.tsv
 *     tokenize --text corpus.txt | fasttext skipgram -input /dev/stdin ...
 *
 * The input is read in blocks of whole lines that go through a pipeline:
 * each thread takes the next block, tokenises it into its own buffers (text,
 * or token ids against a thread-local vocabulary merged into the global one
 * afterwards), and waits for its turn to use the results, in input order, so
 * the output does not depend on the thread count.
 *
 * Memory: with a fixed vocabulary (--vocab-from) and a known row length
 * (--maxlen, or the x width or input shape of the --vocab-from file) x is
 * written row by row as blocks are read: memory is the vocabulary, one block
 * and 8 bytes a document (lengths and labels, written after x). Otherwise
 * the vocabulary or the row length is known only at the end: the first L ids
 * of each document are kept (4 bytes a token), then x is written. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "cli/cli.h"
#include "cnnkit.h"

#define PROG "tokenize"
#define DEFAULT_MAXLEN_CAP 1000 /* the default row length is the longest, at most this */
#define MAX_MAXLEN (1L << 24)
/* Output bytes of --text per input byte, at most: a one-byte token that
 * becomes "<unk>" and a space, or an invalid byte that becomes a three-byte
 * U+FFFD token and a space. */
#define TEXT_GROWTH 6
#define BLOCK_BYTES (1u << 18) /* input read at a time (fits in cache); grows for longer lines */
#define PARTS_PER_THREAD 4    /* blocks in flight: how far a thread may run ahead */

static const char usage_text[] =
	"usage: tokenize [--label-field N] [--text-field N] [--maxlen L] [--vocab-from FILE]\n"
	"                [--min-count N] [--max-vocab N] [--vocab-out FILE] [--punct] [--char]\n"
	"                [--no-lower] [--strip-accents] [--text] [--classes-from FILE]\n"
	"                [--threads N] [-q] [-o OUT] [FILE...]\n";

static void usage(FILE *f)
{
	fputs(usage_text, f);
	if (f == stderr) {
		fputs("Try 'tokenize --help' for more information.\n", f);
		return;
	}
	fputs("\n"
	      "Turns UTF-8 text, one document a line (the FILEs in turn, or standard input\n"
	      "when there are none or FILE is -), into a TNZ dataset: x (N,L) i32 token ids\n"
	      "padded with 0 (<pad>) or cut to L, lengths (N) i32, y (N) i32 with\n"
	      "--label-field, and the metadata vocab, classes and tokenizer. Or, with --text,\n"
	      "into the normalised tokens, space-separated, one document a line.\n"
	      "\n"
	      "Input:\n"
	      "  --label-field N    the class label is tab-separated field N (integer >= 1);\n"
	      "                     classes are the distinct labels in byte order, unless\n"
	      "                     --classes-from or the --vocab-from file gives them\n"
	      "  --text-field N     the text is field N (integer >= 1); default: the whole\n"
	      "                     line, less the label field\n"
	      "Tokens:\n"
	      "  --punct            keep punctuation and symbols, one character a token\n"
	      "  --char             every character is a token (not spaces)\n"
	      "  --no-lower         keep upper case (default: lower-case)\n"
	      "  --strip-accents    \"ação\" -> \"acao\" (default: keep accents)\n"
	      "Vocabulary (ids: 0 <pad>, 1 <unk>, then by count descending, then bytes):\n"
	      "  --min-count N      leave out tokens seen fewer than N times (integer, default 1)\n"
	      "  --max-vocab N      at most N ids, <pad> and <unk> included (integer >= 2,\n"
	      "                     default 0: no limit)\n"
	      "  --vocab-out FILE   also write the vocabulary as text, token<TAB>count a line\n"
	      "  --vocab-from FILE  use a fixed vocabulary: a vocab.txt, or a dataset, model or\n"
	      "                     embeddings file (its vocab metadata); unknown tokens are 1\n"
	      "  --classes-from FILE  the class names: a text file, one a line, or a TNZ file\n"
	      "                     with classes metadata\n"
	      "Output:\n"
	      "  --maxlen L         row length (integer, 1 to 16777216); default: the --vocab-from\n"
	      "                     file's, else the longest document, at most 1000\n"
	      "  --text             write text, not TNZ (with --label-field: label<TAB>tokens;\n"
	      "                     with --vocab-from: unknown tokens as <unk>)\n"
	      "  -o, --output FILE  write to FILE (default: standard output)\n"
	      "  --threads N        threads (integer, default 0 = every core)\n"
	      "  -q, --quiet        no warnings (invalid UTF-8, cut or empty documents) or\n"
	      "                     summary\n"
	      "  --help             print this help and exit\n"
	      "  --version          print the version and exit\n"
	      "\n"
	      "Words are runs of letters, marks and digits, with inner apostrophes and\n"
	      "hyphens (don't, guarda-chuva) and inner . and , between digits (3,5 1.000);\n"
	      "see tokenize(1). A document without tokens (an empty line, an empty text) is a\n"
	      "row of length 0, counted in a warning; with --label-field, a line without its\n"
	      "label (or without a tab) is an error naming the line. Invalid UTF-8 is\n"
	      "replaced with U+FFFD and counted. --vocab-from a dataset or model also takes\n"
	      "its tokenizer settings.\n"
	      "\n"
	      "Example:\n"
	      "  tokenize --label-field 1 --min-count 2 --maxlen 200 --vocab-out vocab.txt \\\n"
	      "           -o train.tnz train.tsv\n"
	      "  tokenize --label-field 1 --vocab-from train.tnz -o test.tnz test.tsv\n",
	      f);
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		die("out of memory");
	return p;
}

/* Grows *p (elements of size elem, capacity *cap) to hold need elements. */
static void reserve(void *p, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return;
	size_t c = *cap ? *cap : 1024;
	while (c < need)
		c *= 2;
	*(void **)p = xrealloc(*(void **)p, c * elem);
	*cap = c;
}

/* ---- options ----------------------------------------------------------------- */

typedef struct options {
	long label_field, text_field; /* 0: none */
	long maxlen;                  /* 0: default */
	long min_count, max_vocab;
	const char *vocab_from, *vocab_out, *classes_from, *output;
	int text, quiet, threads;
	ck_tok_opts tok;
} options;

/* ---- input: blocks of whole lines ---------------------------------------------- */

typedef struct reader {
	FILE *f;
	const char *name; /* for messages */
	char *buf;
	size_t cap, len, used; /* bytes held, bytes handed out by the last block */
	int eof;
} reader;

/* The last newline in s[0..n), or NULL (memrchr is a GNU extension). */
static char *last_newline(char *s, size_t n)
{
	while (n > 0)
		if (s[--n] == '\n')
			return s + n;
	return NULL;
}

/* The next block of whole lines, buf[0..n); 0 at the end. A last line
 * without a newline is a line. */
static size_t reader_next(reader *r)
{
	memmove(r->buf, r->buf + r->used, r->len - r->used);
	r->len -= r->used;
	r->used = 0;
	for (;;) {
		if (!r->eof && r->len < r->cap) {
			size_t n = fread(r->buf + r->len, 1, r->cap - r->len, r->f);
			r->len += n;
			if (n == 0) {
				if (ferror(r->f))
					die("%s: read error: %s", r->name, strerror(errno));
				r->eof = 1;
			}
		}
		char *nl = last_newline(r->buf, r->len);
		if (nl) {
			r->used = (size_t)(nl - r->buf) + 1;
			return r->used;
		}
		if (r->eof) {
			r->used = r->len;
			return r->len;
		}
		if (r->len == r->cap) { /* one line longer than the buffer */
			r->cap *= 2;
			r->buf = xrealloc(r->buf, r->cap);
		}
	}
}

/* Gives the block that reader_next just returned away without copying it:
 * *buf (capacity *cap) and r->buf trade places, the bytes after the block
 * (the start of the next line) moving into the reader's new buffer. */
static void reader_hand_over(reader *r, char **buf, size_t *cap)
{
	size_t rest = r->len - r->used;
	if (*cap < r->cap) {
		*buf = xrealloc(*buf, r->cap);
		*cap = r->cap;
	}
	memcpy(*buf, r->buf + r->used, rest);
	char *b = r->buf;
	size_t c = r->cap;
	r->buf = *buf;
	r->cap = *cap;
	*buf = b;
	*cap = c;
	r->len = rest;
	r->used = 0;
}

/* ---- documents ---------------------------------------------------------------- */

/* One line: up to two pieces of text (the line less its label field) and
 * the label. */
typedef struct doc {
	const char *text[2];
	size_t len[2];
	const char *label;
	size_t label_len;
	int32_t y; /* label id: a class id, or the label's first-seen index */
} doc;

/* Field n (from 1) of line[0..len): returns 0 if the line has fewer fields. */
static int field(const char *line, size_t len, long n, const char **start, size_t *flen)
{
	const char *p = line, *end = line + len;
	for (long i = 1; i < n; i++) {
		const char *tab = memchr(p, '\t', (size_t)(end - p));
		if (!tab)
			return 0;
		p = tab + 1;
	}
	const char *tab = memchr(p, '\t', (size_t)(end - p));
	*start = p;
	*flen = (size_t)((tab ? tab : end) - p);
	return 1;
}

/* ---- labels ------------------------------------------------------------------- */

typedef struct labels {
	ck_vocab *names; /* fixed classes (id = class id), or labels as first seen */
	int fixed;
	const char *fixed_from; /* where fixed classes came from, for messages */
} labels;

/* Reads class names: a TNZ file's `classes` metadata or a text file. */
static void classes_load(labels *lb, const char *path)
{
	ck_err err;
	char *text = NULL;
	size_t len = 0;
	FILE *f = fopen(path, "rb");
	if (!f)
		die("%s: %s", path, strerror(errno));
	unsigned char head[8] = {0};
	size_t got = fread(head, 1, 8, f);
	static const unsigned char magic[8] = {0x89, 'T', 'N', 'Z', '\r', '\n', 0x1A, '\n'};
	if (got == 8 && memcmp(head, magic, 8) == 0) {
		fclose(f);
		ck_tnz_reader *r = ck_tnz_reader_open(path, 1, &err);
		ck_tnz_header h;
		int rc = 0;
		while (r && (rc = ck_tnz_reader_next(r, &h, &err)) == 1)
			;
		if (!r || rc < 0)
			die("%s: %s", path, err.msg);
		const char *c = ck_meta_get(ck_tnz_reader_meta(r), "classes", &len);
		if (!c)
			die("%s: no \"classes\" metadata", path);
		text = xrealloc(NULL, len + 1);
		memcpy(text, c, len + 1);
		ck_tnz_reader_close(r);
	} else {
		size_t cap = 4096;
		text = xrealloc(NULL, cap);
		memcpy(text, head, got);
		len = got;
		size_t n;
		while ((n = fread(text + len, 1, cap - len, f)) > 0)
			if ((len += n) == cap)
				text = xrealloc(text, cap *= 2);
		if (ferror(f))
			die("%s: read error: %s", path, strerror(errno));
		fclose(f);
	}
	char **lines;
	int64_t count;
	if (ck_lines_split(text, len, &lines, &count, &err) < 0)
		die("%s: %s", path, err.msg);
	if (count == 0)
		die("%s: no class names", path);
	if (!(lb->names = ck_vocab_new(&err)))
		die("%s", err.msg);
	for (int64_t i = 0; i < count; i++) {
		size_t n = strlen(lines[i]);
		if (n && lines[i][n - 1] == '\r')
			lines[i][--n] = '\0';
		if (ck_vocab_find(lb->names, lines[i], n) >= 0)
			die("%s: class \"%s\" twice", path, lines[i]);
		if (ck_vocab_add(lb->names, lines[i], n, 0, &err) < 0)
			die("%s: line %" PRId64 ": %s", path, i + 1, err.msg);
	}
	ck_lines_free(lines, count);
	free(text);
	lb->fixed = 1;
	lb->fixed_from = path;
}

static int32_t label_id(labels *lb, const char *s, size_t len, const char *where)
{
	ck_err err;
	if (len == 0)
		die("%s: empty label", where);
	if (lb->fixed) {
		int64_t id = ck_vocab_find(lb->names, s, len);
		if (id < 0)
			die("%s: label \"%.*s\" is not one of the classes of %s", where,
			    (int)(len < 60 ? len : 60), s, lb->fixed_from);
		return (int32_t)id;
	}
	int64_t id = ck_vocab_add(lb->names, s, len, 1, &err);
	if (id < 0)
		die("%s: label: %s", where, err.msg);
	return (int32_t)id;
}

/* ---- per-thread work ---------------------------------------------------------- */

typedef struct part {
	const options *o;
	const ck_vocab *fixed; /* --vocab-from, or NULL */
	ck_vocab *local;       /* tokens counted here, ids local to the part */
	size_t keep;           /* ids kept per document (0 in text mode) */
	char *block;           /* its block of lines (docs point into it) */
	size_t block_cap;
	doc *docs;
	size_t count, docs_cap; /* docs of the block */
	enum { PART_FREE, PART_BUSY, PART_DONE } state; /* DONE: tokenised, not yet used */
	/* text mode */
	char *out;
	size_t out_len, out_cap;
	/* id mode: the first `keep` ids of each document, then each one's
	 * full token count */
	int32_t *ids;
	size_t nids, ids_cap;
	int64_t *ntok;
	size_t ntok_cap;
	int64_t doc_tokens; /* tokens of the document being tokenised */
	size_t invalid;
	int failed;
} part;

/* Copies 1 <= n <= 16 bytes (most words) without a loop, whose exit the
 * branch predictor keeps missing: 4 to 16 bytes as four 4-byte pieces at 0,
 * at1, at2 and n - 4, no gap between them (they overlap when n < 16), 1 to
 * 3 as three bytes. */
static inline void copy_short(char *o, const char *s, size_t n)
{
	if (n >= 4) {
		size_t at1 = n - 4 < 4 ? n - 4 : 4, at2 = n - 4 > at1 + 4 ? n - 8 : at1;
		uint32_t a, b, c, d;
		memcpy(&a, s, 4);
		memcpy(&b, s + at1, 4);
		memcpy(&c, s + at2, 4);
		memcpy(&d, s + n - 4, 4);
		memcpy(o, &a, 4);
		memcpy(o + at1, &b, 4);
		memcpy(o + at2, &c, 4);
		memcpy(o + n - 4, &d, 4);
	} else {
		o[0] = s[0];
		o[n / 2] = s[n / 2];
		o[n - 1] = s[n - 1];
	}
}

/* text_append of a token longer than copy_short takes; kept out of line so
 * that the common case needs no stack frame. */
static __attribute__((noinline)) void text_append_long(part *p, const char *tok, size_t len)
{
	char *o = p->out + p->out_len;
	memcpy(o, tok, len);
	o[len] = ' ';
	p->out_len += len + 1;
}

/* Appends a token and a space to the text of the document (room was
 * reserved for the whole document by part_run, which turns the last space
 * into the newline). */
static inline void text_append(part *p, const char *tok, size_t len)
{
	if (len > 16) {
		text_append_long(p, tok, len);
		return;
	}
	char *o = p->out + p->out_len;
	copy_short(o, tok, len);
	o[len] = ' ';
	p->out_len += len + 1;
}

static int emit_text(const char *tok, size_t len, void *ctx)
{
	text_append(ctx, tok, len);
	return 0;
}

/* --text --vocab-from: unknown tokens as <unk>. */
static int emit_text_unk(const char *tok, size_t len, void *ctx)
{
	part *p = ctx;
	if (ck_vocab_find(p->fixed, tok, len) < 0)
		text_append(p, "<unk>", 5);
	else
		text_append(p, tok, len);
	return 0;
}

/* --text --vocab-out: tokens counted too. */
static int emit_text_count(const char *tok, size_t len, void *ctx)
{
	part *p = ctx;
	if (ck_vocab_add(p->local, tok, len, 1, NULL) < 0)
		return p->failed = 1;
	text_append(p, tok, len);
	return 0;
}

static int emit_id(const char *tok, size_t len, void *ctx)
{
	part *p = ctx;
	int64_t id;
	if (p->fixed) {
		id = ck_vocab_find(p->fixed, tok, len);
		if (id < 0)
			id = CK_VOCAB_UNK;
	} else if ((id = ck_vocab_add(p->local, tok, len, 1, NULL)) < 0) {
		return p->failed = 1;
	}
	if ((size_t)p->doc_tokens++ < p->keep) {
		reserve(&p->ids, &p->ids_cap, p->nids + 1, sizeof *p->ids);
		p->ids[p->nids++] = (int32_t)id;
	}
	return 0;
}

static void part_run(part *p)
{
	p->out_len = p->nids = 0;
	p->invalid = 0;
	/* Never NULL, even for a part without documents (pointer arithmetic). */
	reserve(&p->out, &p->out_cap, 1, 1);
	reserve(&p->ids, &p->ids_cap, 1, sizeof *p->ids);
	if (!p->o->text)
		reserve(&p->ntok, &p->ntok_cap, p->count, sizeof *p->ntok);
	ck_tok_emit emit = !p->o->text ? emit_id
	                   : p->fixed  ? emit_text_unk
	                   : p->local  ? emit_text_count
	                               : emit_text;
	for (size_t i = 0; i < p->count && !p->failed; i++) {
		const doc *d = &p->docs[i];
		p->doc_tokens = 0;
		if (p->o->text && p->o->label_field) {
			reserve(&p->out, &p->out_cap, p->out_len + d->label_len + 1, 1);
			memcpy(p->out + p->out_len, d->label, d->label_len);
			p->out_len += d->label_len;
			p->out[p->out_len++] = '\t';
		}
		if (p->o->text) /* the most a document's text can become (see below) */
			reserve(&p->out, &p->out_cap,
			        p->out_len + TEXT_GROWTH * (d->len[0] + d->len[1]) + 8, 1);
		size_t text_start = p->out_len;
		for (int k = 0; k < 2 && !p->failed; k++)
			if (d->len[k] &&
			    ck_tokenize(&p->o->tok, d->text[k], d->len[k], emit, p, &p->invalid, NULL) < 0)
				p->failed = 1;
		if (p->o->text) {
			/* The space after the last token, or a newline of its own. */
			if (p->out_len > text_start)
				p->out_len--;
			p->out[p->out_len++] = '\n';
		} else {
			p->ntok[i] = p->doc_tokens;
		}
	}
}

/* ---- the whole run -------------------------------------------------------------- */

typedef struct run {
	options o;
	ck_vocab *vocab;  /* the fixed vocabulary, or the one being counted */
	int fixed_vocab;
	int64_t L;        /* row length; 0 until known */
	int streaming;    /* x written block by block */
	labels lb;
	ck_meta from_meta; /* metadata of the --vocab-from file */
	int threads;
	part *parts;
	int nparts; /* PARTS_PER_THREAD a thread */
	/* The pipeline over the blocks of the input being read (process_file). */
	pthread_mutex_t lock; /* held to read a block, to use one, and for the fields below */
	pthread_cond_t freed; /* a part became free, or the input ended */
	uint64_t next_read, next_use; /* the next block to read, to use */
	int eof;
	reader *rd;
	int64_t line; /* lines read from it so far */
	size_t keep;  /* ids kept per document (0 in text mode) */
	/* outputs */
	FILE *text_out;          /* text_file's stream */
	ck_outfile *text_file;
	const char *text_name;   /* the path, or "standard output" */
	ck_tnz_writer *w;
	int32_t *row;       /* one row of x */
	/* what is kept until the end */
	int32_t *ids;       /* buffered mode: the first `keep` ids of each document */
	size_t nids, ids_cap;
	int32_t *lengths, *y; /* per document */
	int64_t *ntok;        /* buffered mode: full token count per document */
	size_t ndocs, docs_alloc, y_alloc, ntok_alloc;
	int64_t tokens, truncated, longest, empty;
	size_t invalid_total;
} run;

static void write_row(run *r, const int32_t *ids, size_t n, const int32_t *remap)
{
	ck_err err;
	size_t L = (size_t)r->L;
	for (size_t i = 0; i < L; i++)
		r->row[i] = i < n ? (remap ? remap[ids[i]] : ids[i]) : CK_VOCAB_PAD;
	if (ck_tnz_writer_data(r->w, r->row, L * sizeof *r->row, &err) < 0)
		die("%s: %s", r->o.output, err.msg);
}

/* Records one document of ntok tokens (lengths are final when streaming). */
static void note_doc(run *r, int64_t ntok)
{
	reserve(&r->lengths, &r->docs_alloc, r->ndocs + 1, sizeof *r->lengths);
	if (ntok > r->longest)
		r->longest = ntok;
	r->tokens += ntok;
	r->empty += ntok == 0;
	if (r->streaming) {
		r->lengths[r->ndocs] = (int32_t)(ntok < r->L ? ntok : r->L);
		r->truncated += ntok > r->L;
	}
}

/* Uses the results of a tokenised block, in input order: the vocabulary
 * merged, the text written or the ids kept. */
static void use_part(run *r, part *p, size_t keep)
{
	ck_err err;
	if (p->failed)
		die("out of memory");
	r->invalid_total += p->invalid;
	if (p->local) {
		/* Local ids to global ones; counts added. */
		size_t n = ck_vocab_size(p->local);
		int32_t *map = xrealloc(NULL, n * sizeof *map);
		for (size_t k = 0; k < n; k++) {
			size_t len;
			const char *tok = ck_vocab_token(p->local, (int64_t)k, &len);
			int64_t id = ck_vocab_add(r->vocab, tok, len, ck_vocab_count(p->local, (int64_t)k),
			                          &err);
			if (id < 0)
				die("%s", err.msg);
			map[k] = (int32_t)id;
		}
		for (size_t k = 0; k < p->nids; k++)
			p->ids[k] = map[p->ids[k]];
		free(map);
		ck_vocab_free(p->local);
		if (!(p->local = ck_vocab_new(&err)))
			die("%s", err.msg);
	}
	if (r->o.text) {
		if (fwrite(p->out, 1, p->out_len, r->text_out) != p->out_len)
			die("write error on %s: %s", r->o.output ? r->o.output : "standard output",
			    strerror(errno));
		return;
	}
	size_t id_at = 0;
	for (size_t i = 0; i < p->count; i++) {
		int64_t nt = p->ntok[i];
		size_t kept = (size_t)(nt < (int64_t)keep ? nt : (int64_t)keep);
		if (nt > INT32_MAX)
			die("a document of %" PRId64 " tokens: over the limit of %d", nt, INT32_MAX);
		note_doc(r, nt);
		reserve(&r->y, &r->y_alloc, r->ndocs + 1, sizeof *r->y);
		r->y[r->ndocs] = p->docs[i].y;
		if (r->streaming) {
			write_row(r, p->ids + id_at, kept, NULL);
		} else {
			reserve(&r->ids, &r->ids_cap, r->nids + kept + 1, sizeof *r->ids);
			memcpy(r->ids + r->nids, p->ids + id_at, kept * sizeof *r->ids);
			r->nids += kept;
			reserve(&r->ntok, &r->ntok_alloc, r->ndocs + 1, sizeof *r->ntok);
			r->ntok[r->ndocs] = nt;
		}
		id_at += kept;
		r->ndocs++;
	}
}

/* Splits the n bytes of whole lines in p->block into its documents. */
static void split_block(run *r, part *p, size_t n)
{
	const options *o = &r->o;
	char where[PATH_MAX + 64];
	const char *s = p->block, *end = p->block + n;
	p->count = 0;
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *eol = nl ? nl : end;
		const char *next = nl ? nl + 1 : end;
		r->line++;
		if (eol > s && eol[-1] == '\r')
			eol--;
		reserve(&p->docs, &p->docs_cap, p->count + 1, sizeof *p->docs);
		doc *d = &p->docs[p->count++];
		memset(d, 0, sizeof *d);
		size_t len = (size_t)(eol - s);
		if (o->label_field || o->text_field)
			snprintf(where, sizeof where, "%s: line %" PRId64, r->rd->name, r->line);
		if (o->label_field) {
			if (!field(s, len, o->label_field, &d->label, &d->label_len))
				die("%s: no label: fewer than %ld tab-separated fields", where, o->label_field);
			/* Field 1 of a line without a tab is the whole line: a
			 * sentence whose label is missing, not a label. */
			if (!o->text_field && d->label_len == len)
				die("%s: %s: expected a label and a text, tab-separated", where,
				    len ? "no tab" : "empty line");
			d->y = label_id(&r->lb, d->label, d->label_len, where);
		}
		if (o->text_field) {
			if (!field(s, len, o->text_field, &d->text[0], &d->len[0]))
				die("%s: no text: fewer than %ld tab-separated fields", where, o->text_field);
		} else if (o->label_field) {
			/* The line less the label field: before it and after it. */
			d->text[0] = s;
			d->len[0] = (size_t)(d->label - s);
			d->text[1] = d->label + d->label_len;
			d->len[1] = (size_t)(eol - d->text[1]);
		} else {
			d->text[0] = s;
			d->len[0] = len;
		}
		s = next;
	}
}

/* One thread of the pipeline over the input's blocks. Block seq (in input
 * order, from 0) goes to part seq % nparts. A thread takes the next block
 * (read into its part and split into documents, one thread at a time),
 * tokenises it, then uses, in input order, every tokenised block
 * whose turn has come. A thread never waits for a slower one unless it is
 * nparts blocks ahead, and then it sleeps (an OpenMP barrier per block spun
 * away as much CPU time as the tokenising took, on a busy machine). */
static void pipeline(run *r)
{
	size_t keep = r->keep;
	pthread_mutex_lock(&r->lock);
	for (;;) {
		part *u;
		while (r->next_use < r->next_read &&
		       (u = &r->parts[r->next_use % (uint64_t)r->nparts])->state == PART_DONE) {
			use_part(r, u, keep);
			u->state = PART_FREE;
			r->next_use++;
			pthread_cond_broadcast(&r->freed);
		}
		if (r->eof)
			break;
		part *p = &r->parts[r->next_read % (uint64_t)r->nparts];
		if (p->state != PART_FREE) {
			pthread_cond_wait(&r->freed, &r->lock);
			continue;
		}
		size_t n = reader_next(r->rd);
		if (n == 0) {
			r->eof = 1;
			pthread_cond_broadcast(&r->freed);
			break;
		}
		reader_hand_over(r->rd, &p->block, &p->block_cap);
		split_block(r, p, n);
		p->keep = keep;
		p->state = PART_BUSY;
		r->next_read++;
		pthread_mutex_unlock(&r->lock);
		part_run(p);
		pthread_mutex_lock(&r->lock);
		p->state = PART_DONE;
	}
	pthread_mutex_unlock(&r->lock);
}

static void *pipeline_thread(void *arg)
{
	pipeline(arg);
	return NULL;
}

/* Reads one input file (or standard input) to the end. */
static void process_file(run *r, const char *path, size_t keep)
{
	int is_stdin = strcmp(path, "-") == 0;
	reader rd = {0};
	rd.name = is_stdin ? "standard input" : path;
	rd.f = is_stdin ? stdin : fopen(path, "rb");
	if (!rd.f)
		die("%s: %s", path, strerror(errno));
	rd.cap = BLOCK_BYTES;
	rd.buf = xrealloc(NULL, rd.cap);
	size_t invalid_before = r->invalid_total;
	r->rd = &rd;
	r->line = 0;
	r->next_read = r->next_use = 0;
	r->eof = 0;
	/* Threads of our own: an OpenMP team would spin at its closing barrier. */
	pthread_t *tids = xrealloc(NULL, (size_t)r->threads * sizeof *tids);
	int started = 0;
	r->keep = keep;
	while (started + 1 < r->threads &&
	       pthread_create(&tids[started], NULL, pipeline_thread, r) == 0)
		started++;
	pipeline(r);
	for (int t = 0; t < started; t++)
		pthread_join(tids[t], NULL);
	free(tids);
	if (!is_stdin)
		fclose(rd.f);
	free(rd.buf);
	size_t bad = r->invalid_total - invalid_before;
	if (bad && !r->o.quiet)
		fprintf(stderr, PROG ": warning: %s: %zu invalid UTF-8 sequence%s replaced by U+FFFD\n",
		        rd.name, bad, bad == 1 ? "" : "s");
}

/* ---- output ------------------------------------------------------------------- */

static void text_open(run *r)
{
	const char *path = r->o.output ? r->o.output : "-";
	ck_err err;
	r->text_name = strcmp(path, "-") == 0 ? "standard output" : path;
	r->text_file = ck_outfile_open(path, 0, &err);
	if (!r->text_file || !(r->text_out = ck_outfile_stream(r->text_file, &err)))
		die("%s: %s", r->text_name, err.msg);
	static char buf[1 << 20];
	setvbuf(r->text_out, buf, _IOFBF, sizeof buf);
}

/* Flushes and checks; for a file, renames the temporary into place. */
static void text_close(run *r)
{
	if (ck_outfile_commit(r->text_file, NULL) < 0)
		die("write error on %s: %s", r->text_name, strerror(errno));
}

static void meta_out(run *r, const char *key, const char *value, size_t len)
{
	ck_err err;
	if (ck_tnz_writer_meta(r->w, key, value, len, &err) < 0) {
		ck_tnz_writer_abort(r->w);
		die("%s: %s", r->o.output ? r->o.output : "standard output", err.msg);
	}
}

/* The `classes` text of the labels: names in id order, one a line. */
static char *classes_text(const ck_vocab *names, size_t *len)
{
	size_t total = 0;
	for (size_t i = 0; i < ck_vocab_size(names); i++) {
		size_t n;
		ck_vocab_token(names, (int64_t)i, &n);
		total += n + 1;
	}
	char *s = xrealloc(NULL, total + 1), *p = s;
	for (size_t i = 0; i < ck_vocab_size(names); i++) {
		size_t n;
		const char *t = ck_vocab_token(names, (int64_t)i, &n);
		memcpy(p, t, n);
		p += n;
		*p++ = '\n';
	}
	*p = '\0';
	*len = total;
	return s;
}

typedef struct label_sort {
	const char *s;
	size_t len;
	int32_t id;
} label_sort;

static int by_bytes(const void *pa, const void *pb)
{
	const label_sort *a = pa, *b = pb;
	int c = memcmp(a->s, b->s, a->len < b->len ? a->len : b->len);
	return c ? c : (a->len > b->len) - (a->len < b->len);
}

/* Labels as first seen -> classes in byte order; y renumbered. */
static void labels_sort(run *r)
{
	size_t n = ck_vocab_size(r->lb.names);
	label_sort *ls = xrealloc(NULL, n * sizeof *ls);
	for (size_t i = 0; i < n; i++) {
		ls[i].s = ck_vocab_token(r->lb.names, (int64_t)i, &ls[i].len);
		ls[i].id = (int32_t)i;
	}
	qsort(ls, n, sizeof *ls, by_bytes);
	int32_t *map = xrealloc(NULL, n * sizeof *map);
	ck_err err;
	ck_vocab *sorted = ck_vocab_new(&err);
	if (!sorted)
		die("%s", err.msg);
	for (size_t i = 0; i < n; i++) {
		map[ls[i].id] = (int32_t)i;
		if (ck_vocab_add(sorted, ls[i].s, ls[i].len, 0, &err) < 0)
			die("%s", err.msg);
	}
	for (size_t i = 0; i < r->ndocs; i++)
		r->y[i] = map[r->y[i]];
	free(map);
	free(ls);
	ck_vocab_free(r->lb.names);
	r->lb.names = sorted;
}

static void tensor_out(run *r, const char *name, const int32_t *data, size_t n)
{
	ck_err err;
	int64_t dims[1] = {(int64_t)n};
	if (ck_tnz_writer_begin(r->w, name, CK_DTYPE_I32, 1, dims, -1, -1, &err) < 0 ||
	    ck_tnz_writer_data(r->w, data, n * sizeof *data, &err) < 0 ||
	    ck_tnz_writer_end(r->w, &err) < 0) {
		ck_tnz_writer_abort(r->w);
		die("%s: %s", r->o.output ? r->o.output : "standard output", err.msg);
	}
}

/* Opens the TNZ output and writes what metadata is known. */
static void tnz_open(run *r, const char *cmdline)
{
	ck_err err;
	ck_tnz_opts topts = CK_TNZ_OPTS_DEFAULT;
	topts.threads = r->o.threads;
	const char *path = r->o.output ? r->o.output : "-";
	if (!(r->w = ck_tnz_writer_open(path, &topts, &err)))
		die("%s: %s", strcmp(path, "-") ? path : "standard output", err.msg);
	size_t len;
	char *v = ck_vocab_to_meta(r->vocab, &len, &err);
	if (!v)
		die("%s", err.msg);
	meta_out(r, "vocab", v, len);
	free(v);
	char t[CK_TOK_META_MAX];
	ck_tok_opts_format(&r->o.tok, t, sizeof t);
	meta_out(r, "tokenizer", t, (size_t)-1);
	meta_out(r, "created_by", cmdline, (size_t)-1);
	if (r->o.label_field && r->lb.fixed) {
		char *c = classes_text(r->lb.names, &len);
		meta_out(r, "classes", c, len);
		free(c);
	}
}

static void x_begin(run *r)
{
	ck_err err;
	int64_t dims[2] = {r->streaming ? CK_TNZ_ROWS_UNKNOWN : (int64_t)r->ndocs, r->L};
	if (ck_tnz_writer_begin(r->w, "x", CK_DTYPE_I32, 2, dims, -1, -1, &err) < 0) {
		ck_tnz_writer_abort(r->w);
		die("%s: %s", r->o.output ? r->o.output : "standard output", err.msg);
	}
	r->row = xrealloc(NULL, (size_t)r->L * sizeof *r->row);
}

static void tnz_finish(run *r)
{
	ck_err err;
	const char *name = r->o.output ? r->o.output : "standard output";
	if (ck_tnz_writer_end(r->w, &err) < 0) {
		ck_tnz_writer_abort(r->w);
		die("%s: %s", name, err.msg);
	}
	reserve(&r->lengths, &r->docs_alloc, 1, sizeof *r->lengths); /* not NULL: no input */
	reserve(&r->y, &r->y_alloc, 1, sizeof *r->y);
	tensor_out(r, "lengths", r->lengths, r->ndocs);
	if (r->o.label_field) {
		tensor_out(r, "y", r->y, r->ndocs);
		if (!r->lb.fixed) {
			size_t len;
			char *c = classes_text(r->lb.names, &len);
			meta_out(r, "classes", c, len);
			free(c);
		}
	}
	if (ck_tnz_writer_close(r->w, &err) < 0)
		die("%s: %s", name, err.msg);
}

static void run_free(run *r)
{
	for (int t = 0; t < r->nparts; t++) {
		part *p = &r->parts[t];
		ck_vocab_free(p->local);
		free(p->out);
		free(p->ids);
		free(p->ntok);
		free(p->block);
		free(p->docs);
	}
	free(r->parts);
	pthread_mutex_destroy(&r->lock);
	pthread_cond_destroy(&r->freed);
	ck_vocab_free(r->vocab);
	ck_vocab_free(r->lb.names);
	ck_meta_free(&r->from_meta);
	free(r->row);
	free(r->ids);
	free(r->lengths);
	free(r->y);
	free(r->ntok);
}

static int same_tokenizer(const ck_tok_opts *a, const ck_tok_opts *b)
{
	return a->mode == b->mode && !a->punct == !b->punct && !a->lower == !b->lower &&
	       !a->strip_accents == !b->strip_accents;
}

/* The default row length from the --vocab-from file: its x width, or a
 * token model's input shape. */
static int64_t maxlen_from(const ck_meta *meta, int64_t x_width)
{
	if (x_width > 0)
		return x_width;
	const char *kind = ck_meta_get(meta, "input_kind", NULL);
	const char *shape = ck_meta_get(meta, "input_shape", NULL);
	if (!kind || !shape || strcmp(kind, "tokens") != 0)
		return 0;
	int64_t v;
	return ck_parse_i64(shape, 1, MAX_MAXLEN, &v) == 0 ? v : 0;
}

int main(int argc, char **argv)
{
	/* A closed pipe downstream ends the program quietly, as it does cat. */
	signal(SIGPIPE, SIG_DFL);
	cli_init(PROG, usage);
	run r;
	memset(&r, 0, sizeof r);
	pthread_mutex_init(&r.lock, NULL);
	pthread_cond_init(&r.freed, NULL);
	options *o = &r.o;
	o->tok = CK_TOK_OPTS_DEFAULT;
	o->min_count = 1;
	int min_count_set = 0, max_vocab_set = 0;
	const char *tok_option = NULL; /* the last tokenizer option given */
	enum { OPT_LABEL = 256, OPT_TEXTF, OPT_MAXLEN, OPT_VFROM, OPT_MINC, OPT_MAXV, OPT_VOUT,
	       OPT_PUNCT, OPT_CHAR, OPT_NOLOWER, OPT_STRIP, OPT_TEXT, OPT_CFROM, OPT_THREADS,
	       OPT_HELP, OPT_VERSION };
	static const struct option longopts[] = {
		{"label-field", required_argument, NULL, OPT_LABEL},
		{"text-field", required_argument, NULL, OPT_TEXTF},
		{"maxlen", required_argument, NULL, OPT_MAXLEN},
		{"vocab-from", required_argument, NULL, OPT_VFROM},
		{"min-count", required_argument, NULL, OPT_MINC},
		{"max-vocab", required_argument, NULL, OPT_MAXV},
		{"vocab-out", required_argument, NULL, OPT_VOUT},
		{"punct", no_argument, NULL, OPT_PUNCT},
		{"char", no_argument, NULL, OPT_CHAR},
		{"no-lower", no_argument, NULL, OPT_NOLOWER},
		{"strip-accents", no_argument, NULL, OPT_STRIP},
		{"text", no_argument, NULL, OPT_TEXT},
		{"classes-from", required_argument, NULL, OPT_CFROM},
		{"threads", required_argument, NULL, OPT_THREADS},
		{"output", required_argument, NULL, 'o'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, OPT_HELP},
		{"version", no_argument, NULL, OPT_VERSION},
		{NULL, 0, NULL, 0},
	};
	char *cmdline = cli_command_line(argc, argv); /* before getopt_long permutes argv */
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, ":o:q", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_LABEL: o->label_field = cli_int("--label-field", optarg, 1, INT_MAX); break;
		case OPT_TEXTF: o->text_field = cli_int("--text-field", optarg, 1, INT_MAX); break;
		case OPT_MAXLEN: o->maxlen = cli_int("--maxlen", optarg, 1, MAX_MAXLEN); break;
		case OPT_VFROM: o->vocab_from = optarg; break;
		case OPT_MINC:
			o->min_count = cli_int("--min-count", optarg, 1, LONG_MAX);
			min_count_set = 1;
			break;
		case OPT_MAXV:
			o->max_vocab = cli_int("--max-vocab", optarg, 2, INT32_MAX);
			max_vocab_set = 1;
			break;
		case OPT_VOUT: o->vocab_out = optarg; break;
		case OPT_PUNCT: o->tok.punct = 1; tok_option = "--punct"; break;
		case OPT_CHAR: o->tok.mode = CK_TOK_CHAR; tok_option = "--char"; break;
		case OPT_NOLOWER: o->tok.lower = 0; tok_option = "--no-lower"; break;
		case OPT_STRIP: o->tok.strip_accents = 1; tok_option = "--strip-accents"; break;
		case OPT_TEXT: o->text = 1; break;
		case OPT_CFROM: o->classes_from = optarg; break;
		case OPT_THREADS: o->threads = (int)cli_int("--threads", optarg, 0, 1024); break;
		case 'o': o->output = optarg; break;
		case 'q': o->quiet = 1; break;
		case OPT_HELP: usage(stdout); goto done;
		case OPT_VERSION: printf("tokenize (cnnkit) %s\n", ck_version()); goto done;
		case ':': usage_error("option %s needs a value", argv[optind - 1]);
		default: usage_error("unknown option %s", argv[optind - 1]);
		}
	}
	if (o->label_field && o->label_field == o->text_field)
		usage_error("--label-field and --text-field are both %ld", o->label_field);
	if (o->classes_from && !o->label_field)
		usage_error("--classes-from goes with --label-field");
	if (o->vocab_from && (min_count_set || max_vocab_set || o->vocab_out))
		usage_error("--vocab-from fixes the vocabulary: no --min-count, --max-vocab or "
		            "--vocab-out");
	if (o->text && !o->vocab_out && (min_count_set || max_vocab_set))
		usage_error("with --text, --min-count and --max-vocab only shape --vocab-out");
	if (o->text && o->maxlen)
		usage_error("--maxlen does not apply to --text");
	if (o->tok.punct && o->tok.mode == CK_TOK_CHAR)
		usage_error("--punct is for words: --char keeps every character");
#ifdef _OPENMP
	r.threads = o->threads ? o->threads : omp_get_max_threads();
#else
	r.threads = 1;
#endif
	r.nparts = PARTS_PER_THREAD * r.threads;
	ck_err err;

	/* The vocabulary, the classes, the row length. */
	int64_t x_width = 0;
	if (o->vocab_from) {
		if (!(r.vocab = ck_vocab_load(o->vocab_from, &r.from_meta, &x_width, &err)))
			die("%s", err.msg);
		r.fixed_vocab = 1;
		/* The ids of a dataset or model came from its tokenizer settings:
		 * new text is tokenised the same way. */
		const char *stored = ck_meta_get(&r.from_meta, "tokenizer", NULL);
		ck_tok_opts from;
		if (stored) {
			if (ck_tok_opts_parse(&from, stored, &err) < 0)
				die("%s: metadata \"tokenizer\": %s", o->vocab_from, err.msg);
			if (tok_option && !same_tokenizer(&from, &o->tok))
				die("%s does not match the tokenizer of %s (%s), whose ids --vocab-from "
				    "gives: leave it out", tok_option, o->vocab_from, stored);
			o->tok = from;
		}
	} else if (!(r.vocab = ck_vocab_new(&err))) {
		die("%s", err.msg);
	}
	if (o->label_field) {
		size_t clen;
		const char *ctext = ck_meta_get(&r.from_meta, "classes", &clen);
		if (o->classes_from) {
			classes_load(&r.lb, o->classes_from);
		} else if (ctext) {
			/* Test data gets the training ids even if it lacks a class. */
			classes_load(&r.lb, o->vocab_from);
		} else if (!(r.lb.names = ck_vocab_new(&err))) {
			die("%s", err.msg);
		}
	}
	r.L = o->maxlen ? o->maxlen : r.fixed_vocab ? maxlen_from(&r.from_meta, x_width) : 0;
	r.streaming = !o->text && r.fixed_vocab && r.L > 0;
	size_t keep = o->text ? 0 : (size_t)(r.L ? r.L : DEFAULT_MAXLEN_CAP);

	r.parts = calloc((size_t)r.nparts, sizeof *r.parts);
	if (!r.parts)
		die("out of memory");
	for (int t = 0; t < r.nparts; t++) {
		r.parts[t].o = o;
		r.parts[t].fixed = r.fixed_vocab ? r.vocab : NULL;
		if (!r.fixed_vocab && (!o->text || o->vocab_out) &&
		    !(r.parts[t].local = ck_vocab_new(&err)))
			die("%s", err.msg);
	}

	if (o->text) {
		text_open(&r);
	} else if (r.streaming) {
		tnz_open(&r, cmdline);
		x_begin(&r);
	} else if (isatty(STDOUT_FILENO) && (!o->output || strcmp(o->output, "-") == 0)) {
		die("standard output is a terminal: use -o FILE or a pipe for TNZ output");
	}

	if (optind == argc)
		process_file(&r, "-", keep);
	for (int i = optind; i < argc; i++)
		process_file(&r, argv[i], keep);

	int32_t *remap = NULL;
	if (!r.fixed_vocab && (!o->text || o->vocab_out) &&
	    ck_vocab_finalize(r.vocab, o->min_count, (size_t)o->max_vocab, &remap, &err) < 0)
		die("%s", err.msg);
	if (o->label_field && !r.lb.fixed)
		labels_sort(&r);

	if (o->text) {
		text_close(&r);
	} else {
		if (!r.streaming) {
			reserve(&r.ids, &r.ids_cap, 1, sizeof *r.ids);
			reserve(&r.lengths, &r.docs_alloc, 1, sizeof *r.lengths);
			reserve(&r.ntok, &r.ntok_alloc, 1, sizeof *r.ntok);
			if (!r.L)
				r.L = r.longest < 1 ? 1 : r.longest < DEFAULT_MAXLEN_CAP ? r.longest
				                                                        : DEFAULT_MAXLEN_CAP;
			tnz_open(&r, cmdline);
			x_begin(&r);
			size_t at = 0;
			for (size_t i = 0; i < r.ndocs; i++) {
				size_t kept = (size_t)(r.ntok[i] < (int64_t)keep ? r.ntok[i] : (int64_t)keep);
				write_row(&r, r.ids + at, kept, remap);
				at += kept;
				r.lengths[i] = (int32_t)(r.ntok[i] < r.L ? r.ntok[i] : r.L);
				r.truncated += r.ntok[i] > r.L;
			}
		}
		tnz_finish(&r);
	}
	if (o->vocab_out && ck_vocab_write_txt(r.vocab, o->vocab_out, &err) < 0)
		die("%s", err.msg);
	if (r.truncated && !o->quiet)
		fprintf(stderr, PROG ": warning: %" PRId64 " of %zu documents cut to %" PRId64
		        " tokens (the longest has %" PRId64 "; see --maxlen)\n", r.truncated, r.ndocs,
		        r.L, r.longest);
	if (r.empty && !o->text && !o->quiet)
		fprintf(stderr, PROG ": warning: %" PRId64 " of %zu documents have no tokens: rows of "
		        "length 0, all padding\n", r.empty, r.ndocs);
	if (!o->quiet && isatty(STDERR_FILENO))
		fprintf(stderr, PROG ": %zu documents, %" PRId64 " tokens, vocabulary of %zu\n",
		        r.ndocs, r.tokens, ck_vocab_size(r.vocab));
	free(remap);
	run_free(&r);
done:
	free(cmdline);
	return cli_close_stdout(0);
}
