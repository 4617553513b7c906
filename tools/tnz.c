/* tnz: inspect and convert TNZ tensor files (formats/tnz.md, man/tnz.1).
 *
 * One function per subcommand (cmd_info, cmd_cat, ...), a table of them and
 * one option parser shared by all: each subcommand names the options it
 * takes. info, cat, head and meta stream through ck_tnz_reader and
 * ck_tnz_writer and hold one chunk at a time; split and shuffle load the
 * whole file. Every output goes through ck_tnz_writer (temporary file, then
 * rename), and every error path after it is opened calls
 * ck_tnz_writer_abort, so a failed run leaves no file behind. */
#include "cli/cli.h"
#include "cnnkit.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUF_BYTES ((size_t)CK_TNZ_DEFAULT_CHUNK) /* data read at a time */
#define SHORT_VALUE 60                            /* metadata shown in full */
#define KEEP_FILTER (-2)                          /* --shuffle not given */

/* ---- diagnostics (errmsg, die, usage_error: cli/cli.h) ------------------ */

static int quiet;

/* Reports a library error about what (a path) and returns exit status 1. */
static int fail(const char *what, const ck_err *err)
{
	errmsg("%s: %s", what, err->msg);
	return 1;
}

/* Names a path in messages. */
static const char *in_name(const char *path)
{
	return strcmp(path, "-") == 0 ? "standard input" : path;
}

static const char *out_name(const char *path)
{
	return strcmp(path, "-") == 0 ? "standard output" : path;
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		die("out of memory (%zu bytes)", n);
	return p;
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		die("out of memory (%zu bytes)", n);
	return p;
}

/* ---- options ----------------------------------------------------------- */

enum optid {
	OP_OUT, OP_LEVEL, OP_SHUFFLE, OP_THREADS, OP_SEED, OP_QUIET, OP_JSON, OP_ROWS,
	OP_RATIO, OP_COUNT, OP_STRATIFY, OP_SET, OP_DELETE, OP_INPLACE, OP_NAME,
	OP_TENSOR, OP_FORMAT, OP_LABEL, OP_HEADER, OP_COLS, OP_GAP, OP_RANGE, OP_INDEX,
	OP_HELP, OP_VERSION,
};

static const struct optdef {
	enum optid id;
	char shrt; /* 0: long only */
	const char *lng;
	int arg;
} optdefs[] = {
	{OP_OUT, 'o', "output", 1},     {OP_LEVEL, 'l', "level", 1},
	{OP_SHUFFLE, 0, "shuffle", 1},  {OP_THREADS, 0, "threads", 1},
	{OP_SEED, 0, "seed", 1},        {OP_QUIET, 'q', "quiet", 0},
	{OP_JSON, 0, "json", 0},        {OP_ROWS, 'n', "rows", 1},
	{OP_RATIO, 0, "ratio", 1},      {OP_COUNT, 0, "count", 1},
	{OP_STRATIFY, 0, "stratify", 1}, {OP_SET, 's', "set", 1},
	{OP_DELETE, 'd', "delete", 1},  {OP_INPLACE, 'i', "in-place", 0},
	{OP_NAME, 0, "name", 1},        {OP_TENSOR, 't', "tensor", 1},
	{OP_FORMAT, 'f', "format", 1},  {OP_LABEL, 0, "label", 1},
	{OP_HEADER, 0, "header", 1},    {OP_COLS, 0, "cols", 1},
	{OP_GAP, 0, "gap", 1},          {OP_RANGE, 0, "range", 1},
	{OP_INDEX, 0, "index", 1},
	{OP_HELP, 'h', "help", 0},      {OP_VERSION, 0, "version", 0},
};
#define NOPTS (sizeof optdefs / sizeof optdefs[0])

#define B(id) (1u << (id))
#define COMMON (B(OP_THREADS) | B(OP_QUIET) | B(OP_HELP) | B(OP_VERSION))
#define WRITES (B(OP_OUT) | B(OP_LEVEL) | B(OP_SHUFFLE))

/* A metadata change of tnz meta, in command-line order. */
struct edit {
	int del;           /* -d KEY; else -s KEY=VALUE */
	char *key;         /* owned copy */
	const char *value; /* the text after '=' ("@path" reads a file) */
};

struct opts {
	const char *out[2];
	int nout;
	int level;   /* -1: the writer's default */
	int shuffle; /* KEEP_FILTER, -1 auto, 0 off, 1 on */
	int threads; /* 0: every core */
	uint64_t seed;
	int json, in_place;
	int64_t rows;  /* head, png -n; -1 when not given */
	double ratio;  /* split: < 0 when not given */
	int64_t count; /* split: < 0 when not given */
	const char *stratify, *name;
	ck_io_format format; /* import/export -f; CK_IO_UNKNOWN: by name */
	const char *label;   /* import --label */
	int header;          /* import --header: -1 auto, 0 no, 1 yes */
	const char **tensors; /* export -t, in order */
	int ntensors;
	int cols, gap;     /* png --cols (0: about square), --gap */
	float lo, hi;      /* png --range; lo == hi when not given */
	int64_t index;     /* png --index; -1 when not given */
	struct edit *edits;
	int nedits;
};

struct command {
	const char *name;
	int (*run)(const struct opts *o, int argc, char **argv); /* operands */
	unsigned opts;                                           /* B(...) it takes */
	const char *synopsis; /* after "tnz "; lines joined by "\n" */
	const char *help;     /* description and options */
};

static const struct command *cmd_now; /* for usage messages */

static void print_synopsis(FILE *f, const struct command *c)
{
	const char *s = c->synopsis;
	const char *lead = "usage: ";
	while (*s) {
		size_t n = strcspn(s, "\n");
		fprintf(f, "%stnz %.*s\n", lead, (int)n, s);
		lead = "       ";
		s += n + (s[n] == '\n');
	}
}

/* The short usage after a usage error: the command's synopsis, or tnz's. */
static void short_usage(FILE *f)
{
	if (cmd_now) {
		print_synopsis(f, cmd_now);
		fprintf(f, "Try 'tnz %s --help' for more information.\n", cmd_now->name);
	} else {
		fputs("usage: tnz COMMAND [OPTION...] [ARG...]\n"
		      "Try 'tnz --help' for more information.\n",
		      f);
	}
}

/* Range-checked numbers: a whole string, no sign surprises, within bounds. */
static int64_t parse_int(const char *opt, const char *s, int64_t lo, int64_t hi)
{
	int64_t v;
	if (ck_parse_i64(s, lo, hi, &v) < 0)
		usage_error("%s: '%s' is not an integer from %" PRId64 " to %" PRId64, opt, s, lo, hi);
	return v;
}

static double parse_real(const char *opt, const char *s, double lo, double hi)
{
	double v;
	if (ck_parse_f64(s, lo, hi, &v) < 0)
		usage_error("%s: '%s' is not a number from %g to %g", opt, s, lo, hi);
	return v;
}

/* The index of arg in words (NULL-terminated), or a usage error. */
static int parse_word(const char *opt, const char *arg, const char *const *words)
{
	for (int i = 0; words[i]; i++)
		if (strcmp(arg, words[i]) == 0)
			return i;
	char list[128] = "";
	for (int i = 0; words[i]; i++)
		snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", words[i]);
	usage_error("%s: '%s' is not one of %s", opt, arg, list);
}

static void apply_opt(struct opts *o, const struct optdef *d, const char *arg)
{
	char opt[32];
	if (d->shrt)
		snprintf(opt, sizeof opt, "-%c", d->shrt);
	else
		snprintf(opt, sizeof opt, "--%s", d->lng);
	switch (d->id) {
	case OP_OUT:
		if (o->nout == 2)
			usage_error("too many -o options");
		o->out[o->nout++] = arg;
		break;
	case OP_LEVEL: o->level = (int)parse_int(opt, arg, 0, 9); break;
	case OP_SHUFFLE: /* 0 off, 1 on, 2 -> -1 auto */
		o->shuffle = parse_word(opt, arg, (const char *const[]){"off", "on", "auto", NULL});
		o->shuffle = o->shuffle == 2 ? -1 : o->shuffle;
		break;
	case OP_THREADS: o->threads = (int)parse_int(opt, arg, 1, 1024); break;
	case OP_SEED: o->seed = (uint64_t)parse_int(opt, arg, 0, INT64_MAX); break;
	case OP_QUIET: quiet = 1; break;
	case OP_JSON: o->json = 1; break;
	case OP_ROWS: o->rows = parse_int(opt, arg, 0, INT64_MAX); break;
	case OP_RATIO: o->ratio = parse_real(opt, arg, 0, 1); break;
	case OP_COUNT: o->count = parse_int(opt, arg, 0, INT64_MAX); break;
	case OP_STRATIFY: o->stratify = arg; break;
	case OP_NAME: o->name = arg; break;
	case OP_INPLACE: o->in_place = 1; break;
	case OP_FORMAT: /* the words in ck_io_format order, after CK_IO_UNKNOWN */
		o->format = (ck_io_format)(CK_IO_NPY + parse_word(opt, arg,
		        (const char *const[]){"npy", "npz", "idx", "csv", "tsv", NULL}));
		break;
	case OP_LABEL: o->label = arg; break;
	case OP_HEADER: /* 0 no, 1 yes, 2 -> -1 auto */
		o->header = parse_word(opt, arg, (const char *const[]){"no", "yes", "auto", NULL});
		o->header = o->header == 2 ? -1 : o->header;
		break;
	case OP_TENSOR:
		o->tensors = xrealloc(o->tensors, (size_t)(o->ntensors + 1) * sizeof *o->tensors);
		o->tensors[o->ntensors++] = arg;
		break;
	case OP_SET:
	case OP_DELETE: {
		struct edit e = {d->id == OP_DELETE, NULL, NULL};
		size_t klen = strlen(arg);
		if (!e.del) {
			const char *eq = strchr(arg, '=');
			if (!eq)
				usage_error("-s: '%s' is not KEY=VALUE", arg);
			klen = (size_t)(eq - arg);
			e.value = eq + 1;
		}
		if (klen == 0 || klen > CK_TNZ_MAX_NAME)
			usage_error("%s: a key has 1 to %d bytes", opt, CK_TNZ_MAX_NAME);
		e.key = xmalloc(klen + 1);
		memcpy(e.key, arg, klen);
		e.key[klen] = '\0';
		o->edits = xrealloc(o->edits, (size_t)(o->nedits + 1) * sizeof *o->edits);
		o->edits[o->nedits++] = e;
		break;
	}
	case OP_COLS: o->cols = (int)parse_int(opt, arg, 1, CK_IMAGE_MAX_SIDE); break;
	case OP_GAP: o->gap = (int)parse_int(opt, arg, 0, 1000); break;
	case OP_INDEX: o->index = parse_int(opt, arg, 0, INT64_MAX); break;
	case OP_RANGE: {
		const char *colon = strchr(arg, ':');
		if (!colon || colon == arg)
			usage_error("--range: '%s' is not LO:HI", arg);
		char lo[64];
		snprintf(lo, sizeof lo, "%.*s", (int)(colon - arg), arg);
		o->lo = (float)parse_real(opt, lo, -3e38, 3e38);
		o->hi = (float)parse_real(opt, colon + 1, -3e38, 3e38);
		if (!(o->lo < o->hi))
			usage_error("--range: LO must be below HI in '%s'", arg);
		break;
	}
	case OP_HELP:
	case OP_VERSION: break; /* handled by the caller */
	}
}

static void print_version(void)
{
	printf("tnz (cnnkit) %s, TNZ format 1.0\n", ck_version());
}

static void print_help(const struct command *c)
{
	print_synopsis(stdout, c);
	fputs(c->help, stdout);
}

/* getopt_long over the options c takes; returns the index of the first
 * operand (getopt moves operands after the options). */
static int parse_opts(const struct command *c, int argc, char **argv, struct opts *o)
{
	struct option longs[NOPTS + 1];
	char shorts[2 * NOPTS + 2], *sp = shorts;
	size_t nl = 0;
	*sp++ = ':'; /* report a missing argument as ':' */
	for (size_t i = 0; i < NOPTS; i++) {
		const struct optdef *d = &optdefs[i];
		if (!(c->opts & B(d->id)))
			continue;
		int val = d->shrt ? d->shrt : 256 + (int)d->id;
		longs[nl++] = (struct option){d->lng, d->arg ? required_argument : no_argument, NULL, val};
		if (d->shrt) {
			*sp++ = d->shrt;
			if (d->arg)
				*sp++ = ':';
		}
	}
	longs[nl] = (struct option){0, 0, 0, 0};
	*sp = '\0';

	opterr = 0;
	int ch;
	while ((ch = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
		if (ch == '?' || ch == ':') {
			char bad[64];
			if (optopt > 0 && optopt < 256)
				snprintf(bad, sizeof bad, "-%c", optopt);
			else
				snprintf(bad, sizeof bad, "%s", argv[optind - 1]);
			if (ch == ':')
				usage_error("%s needs a value", bad);
			usage_error("%s is not an option of 'tnz %s'", bad, c->name);
		}
		const struct optdef *d = NULL;
		for (size_t i = 0; i < NOPTS && !d; i++)
			if ((c->opts & B(optdefs[i].id)) &&
			    (optdefs[i].shrt ? optdefs[i].shrt : 256 + (int)optdefs[i].id) == ch)
				d = &optdefs[i];
		if (d->id == OP_HELP) {
			print_help(c);
			return -1;
		}
		if (d->id == OP_VERSION) {
			print_version();
			return -1;
		}
		apply_opt(o, d, optarg);
	}
	return optind;
}

/* ---- shared pieces ------------------------------------------------------ */

static ck_tnz_writer *open_writer(const struct opts *o, const char *path, int shuffle_default,
                                  ck_err *err)
{
	ck_tnz_opts wo = CK_TNZ_OPTS_DEFAULT;
	if (o->level >= 0)
		wo.level = o->level;
	wo.shuffle = o->shuffle == KEEP_FILTER ? shuffle_default : o->shuffle;
	wo.threads = o->threads;
	return ck_tnz_writer_open(path, &wo, err);
}

/* Bytes of one row of a header's tensor (of the element for rank 0), or -1
 * when it does not fit in 63 bits (the reader rejects such files anyway). */
static int64_t header_row_bytes(const ck_tnz_header *h)
{
	int64_t r = (int64_t)ck_dtype_size(h->dtype);
	for (int i = 1; i < h->rank; i++) {
		if (h->dims[i] < 0 || (h->dims[i] && r > INT64_MAX / h->dims[i]))
			return -1;
		r *= h->dims[i];
	}
	return r;
}

/* "(60000, 1, 28, 28)", "(5,)": the library's shape format. */
static void shape_str(int rank, const int64_t *dims, char *buf, size_t cap)
{
	ck_tensor t = {.rank = rank};
	memcpy(t.dims, dims, sizeof t.dims);
	ck_tensor_shape_str(&t, buf, cap);
}

/* Lines of a metadata value: newlines, plus one for a last unterminated line. */
static size_t count_lines(const char *v, size_t len)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		n += v[i] == '\n';
	return n + (len && v[len - 1] != '\n');
}

/* A value shown in full by info: one short line of printable text. */
static int is_short(const char *v, size_t len)
{
	if (len > SHORT_VALUE)
		return 0;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
			return 0;
	return 1;
}

/* Tensor names and keys come from files: keep control bytes off the terminal. */
static void put_text(FILE *f, const char *s, size_t len, int width)
{
	for (size_t i = 0; i < len; i++)
		fputc((unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i], f);
	for (int i = (int)len; i < width; i++)
		fputc(' ', f);
}

static void put_json_string(FILE *f, const char *s, size_t len)
{
	fputc('"', f);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/* What has been seen of each tensor name in a stream, in order of first
 * appearance: the appended shape and sizes. */
struct tensor_sum {
	ck_tnz_header h;      /* of the first piece; dims[0] = rows so far */
	int64_t raw, stored;  /* bytes */
	int pieces, filters;  /* filters: bit f set for each filter seen */
};

struct sums {
	struct tensor_sum *v;
	size_t n, cap;
};

/* Whether a tensor (dtype, rank, dims) can append to an earlier one of the
 * same name (formats/tnz.md section 5); fills err if not. */
static int can_append(const char *name, int dtype0, int rank0, const int64_t *dims0, int dtype,
                      int rank, const int64_t *dims, ck_err *err)
{
	int same = dtype0 == dtype && rank0 == rank && rank > 0;
	for (int d = 1; same && d < rank; d++)
		same = dims0[d] == dims[d];
	if (!same)
		ck_err_set(err, "tensor \"%s\": cannot append: %s", name,
		           rank == 0 ? "it has rank 0" : "dtype or shape differs from the earlier one");
	return same;
}

/* The entry for h's name, added if new; NULL if h cannot append to it. */
static struct tensor_sum *sums_piece(struct sums *s, const ck_tnz_header *h, ck_err *err)
{
	for (size_t i = 0; i < s->n; i++) {
		struct tensor_sum *t = &s->v[i];
		if (strcmp(t->h.name, h->name) != 0)
			continue;
		if (!can_append(h->name, t->h.dtype, t->h.rank, t->h.dims, h->dtype, h->rank, h->dims,
		                err))
			return NULL;
		t->pieces++;
		t->filters |= 1 << (h->filter & 7);
		return t;
	}
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 16;
		s->v = xrealloc(s->v, s->cap * sizeof *s->v);
	}
	struct tensor_sum *t = &s->v[s->n++];
	memset(t, 0, sizeof *t);
	t->h = *h;
	t->h.dims[0] = 0;
	t->pieces = 1;
	t->filters = 1 << (h->filter & 7);
	return t;
}

/* ---- info --------------------------------------------------------------- */

struct info {
	struct sums sums;
	ck_meta meta;
	int files;
};

/* Reads a whole stream, decoding (and so verifying) every chunk into one
 * buffer that is reused: memory stays at one chunk whatever the file size. */
static int info_read(const char *path, const struct opts *o, struct info *in, ck_err *err)
{
	ck_tnz_reader *r = ck_tnz_reader_open(path, o->threads, err);
	if (!r)
		return -1;
	void *buf = xmalloc(BUF_BYTES);
	ck_tnz_header h;
	int rc, status = -1;
	while ((rc = ck_tnz_reader_next(r, &h, err)) == 1) {
		struct tensor_sum *t = sums_piece(&in->sums, &h, err);
		if (!t)
			goto out;
		int64_t n;
		while ((n = ck_tnz_reader_read(r, buf, BUF_BYTES, err)) > 0)
			;
		if (n < 0)
			goto out;
		int64_t stored, raw;
		ck_tnz_reader_sizes(r, &stored, &raw);
		t->stored += stored;
		t->raw += raw;
		t->h.dims[0] += ck_tnz_reader_rows(r);
	}
	if (rc == 0 && ck_meta_merge(&in->meta, ck_tnz_reader_meta(r), err) == 0) {
		in->files = ck_tnz_reader_files(r);
		status = 0;
	}
out:
	free(buf);
	ck_tnz_reader_close(r);
	return status;
}

static const char *filter_name(int filters)
{
	return filters == 1 ? "none" : filters == 2 ? "shuffle" : "mixed";
}

static void info_text(const char *path, const struct info *in)
{
	const struct sums *s = &in->sums;
	/* Column widths from the content. */
	int wname = 6, wshape = 5, wrows = 4, wraw = 9, wstored = 12;
	char shape[256], num[32];
	for (size_t i = 0; i < s->n; i++) {
		const struct tensor_sum *t = &s->v[i];
		int w = (int)strlen(t->h.name);
		wname = w > wname ? w : wname;
		shape_str(t->h.rank, t->h.dims, shape, sizeof shape);
		w = (int)strlen(shape);
		wshape = w > wshape ? w : wshape;
		w = snprintf(num, sizeof num, "%" PRId64, t->h.dims[0]);
		wrows = w > wrows ? w : wrows;
		w = snprintf(num, sizeof num, "%" PRId64, t->raw);
		wraw = w > wraw ? w : wraw;
	}
	printf("%s: %zu tensor%s, %zu metadata key%s, %d file%s\n", in_name(path), s->n,
	       s->n == 1 ? "" : "s", in->meta.count, in->meta.count == 1 ? "" : "s", in->files,
	       in->files == 1 ? "" : "s");
	if (s->n) {
		printf("%-*s  dtype  %-*s  %*s  %*s  %*s  ratio  filter\n", wname, "tensor", wshape,
		       "shape", wrows, "rows", wraw, "raw bytes", wstored, "stored bytes");
		for (size_t i = 0; i < s->n; i++) {
			const struct tensor_sum *t = &s->v[i];
			put_text(stdout, t->h.name, strlen(t->h.name), wname);
			shape_str(t->h.rank, t->h.dims, shape, sizeof shape);
			if (t->h.rank)
				snprintf(num, sizeof num, "%" PRId64, t->h.dims[0]);
			else
				snprintf(num, sizeof num, "-");
			printf("  %-5s  %-*s  %*s  %*" PRId64 "  %*" PRId64, ck_dtype_name(t->h.dtype),
			       wshape, shape, wrows, num, wraw, t->raw, wstored, t->stored);
			if (t->stored)
				printf("  %5.2f", (double)t->raw / (double)t->stored);
			else
				printf("  %5s", "-");
			printf("  %s\n", filter_name(t->filters));
		}
	}
	if (in->meta.count) {
		int wkey = 8;
		for (size_t i = 0; i < in->meta.count; i++) {
			int w = (int)strlen(in->meta.items[i].key);
			wkey = w > wkey ? w : wkey;
		}
		printf("%-*s  %10s  value\n", wkey, "metadata", "bytes");
		for (size_t i = 0; i < in->meta.count; i++) {
			const ck_meta_entry *e = &in->meta.items[i];
			put_text(stdout, e->key, strlen(e->key), wkey);
			printf("  %10zu  ", e->len);
			if (is_short(e->value, e->len))
				put_text(stdout, e->value, e->len, 0);
			else
				printf("(%zu line%s, %zu bytes)", count_lines(e->value, e->len),
				       count_lines(e->value, e->len) == 1 ? "" : "s", e->len);
			putchar('\n');
		}
	}
}

/* One JSON object on one line per input. */
static void info_json(const char *path, const struct info *in)
{
	const struct sums *s = &in->sums;
	printf("{\"file\":");
	put_json_string(stdout, path, strlen(path));
	printf(",\"files\":%d,\"tensors\":[", in->files);
	for (size_t i = 0; i < s->n; i++) {
		const struct tensor_sum *t = &s->v[i];
		printf("%s{\"name\":", i ? "," : "");
		put_json_string(stdout, t->h.name, strlen(t->h.name));
		printf(",\"dtype\":\"%s\",\"shape\":[", ck_dtype_name(t->h.dtype));
		for (int d = 0; d < t->h.rank; d++)
			printf("%s%" PRId64, d ? "," : "", t->h.dims[d]);
		printf("],\"rows\":%" PRId64 ",\"raw_bytes\":%" PRId64 ",\"stored_bytes\":%" PRId64,
		       t->h.rank ? t->h.dims[0] : 1, t->raw, t->stored);
		if (t->stored)
			printf(",\"ratio\":%.4f", (double)t->raw / (double)t->stored);
		else
			printf(",\"ratio\":null");
		printf(",\"filter\":\"%s\",\"pieces\":%d}", filter_name(t->filters), t->pieces);
	}
	printf("],\"metadata\":[");
	for (size_t i = 0; i < in->meta.count; i++) {
		const ck_meta_entry *e = &in->meta.items[i];
		printf("%s{\"key\":", i ? "," : "");
		put_json_string(stdout, e->key, strlen(e->key));
		printf(",\"bytes\":%zu,\"lines\":%zu", e->len, count_lines(e->value, e->len));
		if (e->len <= SHORT_VALUE) {
			printf(",\"value\":");
			put_json_string(stdout, e->value, e->len);
		}
		putchar('}');
	}
	printf("]}\n");
}

static int cmd_info(const struct opts *o, int argc, char **argv)
{
	static char *stdin_only[] = {"-"};
	if (argc == 0) {
		argc = 1;
		argv = stdin_only;
	}
	int status = 0;
	for (int i = 0; i < argc; i++) {
		struct info in = {0};
		ck_err err = {{0}};
		if (info_read(argv[i], o, &in, &err) < 0) {
			status = fail(in_name(argv[i]), &err);
		} else if (o->json) {
			info_json(argv[i], &in);
		} else {
			if (i)
				putchar('\n');
			info_text(argv[i], &in);
		}
		free(in.sums.v);
		ck_meta_free(&in.meta);
	}
	return status;
}

/* ---- copying streams: cat, head, meta ----------------------------------- */

/* Copies tensors from readers to one writer, piece by piece. Metadata
 * records go out before the tensor that followed them in the input, so a
 * streaming reader of the output sees them as early as in the input; a key
 * is written again only when its value changes (the last one wins). */
struct copier {
	const struct opts *o;
	ck_tnz_writer *w;
	const char *out;    /* for messages */
	ck_meta written;    /* metadata as the output stands */
	const ck_meta *set; /* meta -s: written first, input values ignored */
	const ck_meta *del; /* meta -d: input values dropped */
	int64_t max_rows;   /* head: rows kept per tensor name; -1 all */
	struct sums sums;   /* rows written per name */
	void *buf;
};

/* Writes the reader's metadata that the output does not have yet. */
static int copy_meta(struct copier *c, const ck_meta *m, const char *path, ck_err *err)
{
	for (size_t i = 0; i < m->count; i++) {
		const ck_meta_entry *e = &m->items[i];
		if ((c->set && ck_meta_get(c->set, e->key, NULL)) ||
		    (c->del && ck_meta_get(c->del, e->key, NULL)))
			continue;
		size_t len;
		const char *old = ck_meta_get(&c->written, e->key, &len);
		if (old && len == e->len && memcmp(old, e->value, len) == 0)
			continue;
		if (old && strcmp(e->key, "classes") == 0 && !quiet)
			errmsg("%s: warning: \"classes\" differs from an earlier input; using this one",
			     in_name(path));
		if (ck_tnz_writer_meta(c->w, e->key, e->value, e->len, err) < 0 ||
		    ck_meta_set(&c->written, e->key, e->value, e->len, err) < 0)
			return -1;
	}
	return 0;
}

/* Copies the current tensor of r (header h): all of it, or what is left of
 * c->max_rows for its name. Errors about the output are prefixed with its
 * name; input errors come back unprefixed for the caller. */
static int copy_tensor(struct copier *c, ck_tnz_reader *r, const ck_tnz_header *h,
                       int *out_error, ck_err *err)
{
	size_t before = c->sums.n;
	struct tensor_sum *t = sums_piece(&c->sums, h, err);
	if (!t)
		return -1;
	int64_t row_bytes = header_row_bytes(h);
	if (row_bytes < 0)
		return ck_err_set(err, "tensor \"%s\": too large", h->name);

	/* Bytes to keep: everything, or the rows left of the budget. */
	ck_tnz_header oh = *h;
	int64_t keep = -1;
	if (c->max_rows >= 0 && h->rank >= 1) {
		int64_t left = c->max_rows - t->h.dims[0];
		if (h->dims[0] != CK_TNZ_ROWS_UNKNOWN && h->dims[0] < left)
			left = h->dims[0];
		if (left == 0 && c->sums.n == before)
			return 0; /* an appended piece after the budget: nothing to add */
		if (h->dims[0] != CK_TNZ_ROWS_UNKNOWN)
			oh.dims[0] = left;
		if (row_bytes == 0 || left <= INT64_MAX / row_bytes)
			keep = left * row_bytes;
	}
	if (oh.dims[0] == CK_TNZ_ROWS_UNKNOWN && row_bytes == 0) {
		/* Empty rows cannot be counted from bytes: learn the count first
		 * (there are no bytes to read, only the end of the tensor). */
		int64_t n;
		while ((n = ck_tnz_reader_read(r, c->buf, BUF_BYTES, err)) > 0)
			;
		if (n < 0)
			return -1;
		oh.dims[0] = ck_tnz_reader_rows(r);
		if (c->max_rows >= 0 && oh.dims[0] > c->max_rows - t->h.dims[0])
			oh.dims[0] = c->max_rows - t->h.dims[0];
	}
	int shuffle = c->o->shuffle == KEEP_FILTER ? h->filter : c->o->shuffle;
	*out_error = 1;
	if (ck_tnz_writer_begin(c->w, oh.name, oh.dtype, oh.rank, oh.dims, -1, shuffle, err) < 0)
		return -1;
	int64_t n, done = 0;
	*out_error = 0;
	while ((keep < 0 || done < keep) && (n = ck_tnz_reader_read(r, c->buf, BUF_BYTES, err))) {
		if (n < 0)
			return -1;
		if (keep >= 0 && n > keep - done)
			n = keep - done;
		*out_error = 1;
		if (ck_tnz_writer_data(c->w, c->buf, (size_t)n, err) < 0)
			return -1;
		*out_error = 0;
		done += n;
	}
	if (h->rank >= 1)
		t->h.dims[0] += row_bytes ? done / row_bytes : oh.dims[0];
	*out_error = 1;
	if (ck_tnz_writer_end(c->w, err) < 0)
		return -1;
	*out_error = 0;
	return 0;
}

/* Copies one input stream. Returns 0, or 1 after printing the error. */
static int copy_input(struct copier *c, const char *path)
{
	ck_err err = {{0}};
	int out_error = 0, rc;
	ck_tnz_reader *r = ck_tnz_reader_open(path, c->o->threads, &err);
	if (!r)
		return fail(in_name(path), &err);
	ck_tnz_header h;
	while ((rc = ck_tnz_reader_next(r, &h, &err)) == 1) {
		out_error = 1;
		if (copy_meta(c, ck_tnz_reader_meta(r), path, &err) < 0)
			break;
		out_error = 0;
		if (copy_tensor(c, r, &h, &out_error, &err) < 0) {
			rc = -1;
			break;
		}
	}
	if (rc == 0) {
		out_error = 1;
		if (copy_meta(c, ck_tnz_reader_meta(r), path, &err) < 0)
			rc = -1;
	}
	ck_tnz_reader_close(r);
	if (rc < 0)
		return fail(out_error ? out_name(c->out) : in_name(path), &err);
	return 0;
}

static void copier_free(struct copier *c)
{
	ck_meta_free(&c->written);
	free(c->sums.v);
	free(c->buf);
}

/* Copies the inputs (standard input when none) into c->out. */
static int copy_all(struct copier *c, int argc, char **argv)
{
	static char *stdin_only[] = {"-"};
	if (argc == 0) {
		argc = 1;
		argv = stdin_only;
	}
	ck_err err = {{0}};
	c->buf = xmalloc(BUF_BYTES);
	c->w = open_writer(c->o, c->out, -1, &err);
	if (!c->w) {
		copier_free(c);
		return fail(out_name(c->out), &err);
	}
	int status = 0;
	if (c->set)
		for (size_t i = 0; i < c->set->count && !status; i++) {
			const ck_meta_entry *e = &c->set->items[i];
			if (ck_tnz_writer_meta(c->w, e->key, e->value, e->len, &err) < 0)
				status = fail(out_name(c->out), &err);
		}
	for (int i = 0; i < argc && !status; i++)
		status = copy_input(c, argv[i]);
	if (status)
		ck_tnz_writer_abort(c->w);
	else if (ck_tnz_writer_close(c->w, &err) < 0)
		status = fail(out_name(c->out), &err);
	copier_free(c);
	return status;
}

static const char *one_output(const struct opts *o)
{
	if (o->nout > 1)
		usage_error("one -o only");
	return o->nout ? o->out[0] : "-";
}

static int cmd_cat(const struct opts *o, int argc, char **argv)
{
	struct copier c = {.o = o, .out = one_output(o), .max_rows = -1};
	return copy_all(&c, argc, argv);
}

static int cmd_head(const struct opts *o, int argc, char **argv)
{
	struct copier c = {.o = o, .out = one_output(o), .max_rows = o->rows < 0 ? 10 : o->rows};
	return copy_all(&c, argc, argv);
}

/* ---- meta --------------------------------------------------------------- */

/* Reads a whole file for -s KEY=@FILE; one final newline is dropped, so that
 * "tnz meta F KEY > v; tnz meta F -s KEY=@v" gives the value back. */
static char *read_value_file(const char *path, size_t *len)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	if (!f) {
		errmsg("%s:", path);
		return NULL;
	}
	size_t cap = 4096, n = 0;
	char *buf = xmalloc(cap);
	size_t got;
	while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
		n += got;
		if (n > CK_TNZ_MAX_META + 1)
			break;
		if (n == cap)
			buf = xrealloc(buf, cap *= 2);
	}
	int bad = ferror(f);
	if (f != stdin)
		fclose(f);
	if (bad) {
		errmsg("%s: read error", path);
		free(buf);
		return NULL;
	}
	if (n && buf[n - 1] == '\n')
		n--;
	*len = n;
	return buf;
}

/* Lists keys, or prints one value (with a newline after it). */
static int meta_show(const struct opts *o, const char *path, const char *key)
{
	ck_err err = {{0}};
	ck_tnz_reader *r = ck_tnz_reader_open(path, o->threads, &err);
	if (!r)
		return fail(in_name(path), &err);
	ck_tnz_header h;
	int rc;
	while ((rc = ck_tnz_reader_next(r, &h, &err)) == 1)
		;
	int status = 0;
	if (rc < 0) {
		status = fail(in_name(path), &err);
	} else if (key) {
		size_t len;
		const char *v = ck_meta_get(ck_tnz_reader_meta(r), key, &len);
		if (v) {
			fwrite(v, 1, len, stdout);
			putchar('\n');
		} else {
			errmsg("%s: no metadata key \"%s\"", in_name(path), key);
			status = 1;
		}
	} else {
		const ck_meta *m = ck_tnz_reader_meta(r);
		for (size_t i = 0; i < m->count; i++) {
			put_text(stdout, m->items[i].key, strlen(m->items[i].key), 0);
			putchar('\n');
		}
	}
	ck_tnz_reader_close(r);
	return status;
}

static int cmd_meta(const struct opts *o, int argc, char **argv)
{
	if (argc < 1 || argc > 2)
		usage_error(argc ? "too many operands" : "no FILE");
	if (o->nedits == 0) {
		if (o->nout || o->in_place)
			usage_error("-o and -i need -s or -d");
		return meta_show(o, argv[0], argc == 2 ? argv[1] : NULL);
	}
	if (argc == 2)
		usage_error("KEY and -s/-d do not go together");
	if (o->in_place == (o->nout > 0))
		usage_error("changing metadata needs either -o OUT or -i");
	if (o->in_place && strcmp(argv[0], "-") == 0)
		usage_error("-i needs a FILE, not standard input");

	/* The edits in order: the last one about a key decides. */
	ck_meta set = {0}, del = {0};
	ck_err err = {{0}};
	int status = 0;
	for (int i = 0; i < o->nedits && !status; i++) {
		const struct edit *e = &o->edits[i];
		if (e->del) {
			ck_meta_remove(&set, e->key);
			if (ck_meta_set(&del, e->key, "", 0, &err) < 0)
				status = fail(e->key, &err);
			continue;
		}
		ck_meta_remove(&del, e->key);
		size_t len = (size_t)-1;
		char *file = NULL;
		const char *v = e->value;
		if (v[0] == '@') {
			if (!(file = read_value_file(v + 1, &len))) {
				status = 1;
				break;
			}
			v = file;
		}
		if (ck_meta_set(&set, e->key, v, len, &err) < 0)
			status = fail(e->key, &err);
		free(file);
	}
	if (!status) {
		struct copier c = {.o = o, .out = o->in_place ? argv[0] : o->out[0], .set = &set,
		                   .del = &del, .max_rows = -1};
		status = copy_all(&c, 1, argv);
	}
	ck_meta_free(&set);
	ck_meta_free(&del);
	return status;
}

/* ---- split and shuffle: whole files in memory --------------------------- */

/* Loads path and finds its rows: every tensor of rank >= 1 is a row tensor
 * and they must all have the same dims[0]; rank-0 tensors are copied whole. */
static int load_rows(const struct opts *o, const char *path, ck_tnz *t, int64_t *rows)
{
	ck_err err = {{0}};
	if (ck_tnz_load(t, path, o->threads, &err) < 0)
		return fail(in_name(path), &err);
	const ck_tensor *first = NULL;
	for (size_t i = 0; i < t->count; i++) {
		const ck_tensor *x = &t->tensors[i];
		if (x->rank == 0)
			continue;
		if (!first) {
			first = x;
		} else if (x->dims[0] != first->dims[0]) {
			errmsg("%s: tensor \"%s\" has %" PRId64 " rows and \"%s\" %" PRId64
			     ": rows must go together",
			     in_name(path), first->name, first->dims[0], x->name, x->dims[0]);
			return 1;
		}
	}
	*rows = first ? first->dims[0] : 0;
	return 0;
}

/* Writes t to path keeping the rows idx[0..n) of every row tensor, in that
 * order. Returns 0 or 1 after printing the error. */
static int write_rows(const struct opts *o, const char *path, const ck_tnz *t,
                      const int64_t *idx, int64_t n)
{
	ck_err err = {{0}};
	ck_tnz_writer *w = open_writer(o, path, -1, &err);
	if (!w)
		return fail(out_name(path), &err);
	for (size_t i = 0; i < t->meta.count; i++) {
		const ck_meta_entry *e = &t->meta.items[i];
		if (ck_tnz_writer_meta(w, e->key, e->value, e->len, &err) < 0)
			goto fail;
	}
	for (size_t i = 0; i < t->count; i++) {
		const ck_tensor *x = &t->tensors[i];
		if (x->rank == 0) {
			if (ck_tnz_writer_tensor(w, x, &err) < 0)
				goto fail;
			continue;
		}
		int64_t dims[CK_TNZ_MAX_RANK];
		memcpy(dims, x->dims, sizeof dims);
		dims[0] = n;
		size_t rb = ck_tensor_row_bytes(x);
		if (ck_tnz_writer_begin(w, x->name, x->dtype, x->rank, dims, -1, -1, &err) < 0)
			goto fail;
		for (int64_t k = 0; k < n; k++)
			if (ck_tnz_writer_data(w, (const char *)x->data + (size_t)idx[k] * rb, rb,
			                       &err) < 0)
				goto fail;
		if (ck_tnz_writer_end(w, &err) < 0)
			goto fail;
	}
	if (ck_tnz_writer_close(w, &err) < 0)
		return fail(out_name(path), &err);
	return 0;
fail:
	ck_tnz_writer_abort(w);
	return fail(out_name(path), &err);
}

static int cmd_shuffle(const struct opts *o, int argc, char **argv)
{
	if (argc > 1)
		usage_error("one FILE only");
	const char *in = argc ? argv[0] : "-", *out = one_output(o);
	ck_tnz t = {0};
	int64_t n;
	int status = load_rows(o, in, &t, &n);
	if (!status) {
		int64_t *idx = xmalloc((size_t)n * sizeof *idx);
		for (int64_t i = 0; i < n; i++)
			idx[i] = i;
		ck_rng rng;
		ck_rng_seed(&rng, o->seed);
		ck_rng_shuffle(&rng, idx, n);
		status = write_rows(o, out, &t, idx, n);
		free(idx);
	}
	ck_tnz_free(&t);
	return status;
}

/* Class ids of a stratify tensor: rank 1, an integer or bool dtype. */
static int read_labels(const ck_tensor *y, int64_t *lab, ck_err *err)
{
	if (y->rank != 1)
		return ck_err_set(err, "tensor \"%s\": --stratify needs rank 1, not %d", y->name,
		                  y->rank);
	for (int64_t i = 0; i < y->dims[0]; i++) {
		const void *p = (const char *)y->data + (size_t)i * ck_dtype_size(y->dtype);
		switch (y->dtype) {
		case CK_DTYPE_U8:
		case CK_DTYPE_BOOL: lab[i] = *(const uint8_t *)p; break;
		case CK_DTYPE_I8: lab[i] = *(const int8_t *)p; break;
		case CK_DTYPE_U16: lab[i] = *(const uint16_t *)p; break;
		case CK_DTYPE_I16: lab[i] = *(const int16_t *)p; break;
		case CK_DTYPE_U32: lab[i] = *(const uint32_t *)p; break;
		case CK_DTYPE_I32: lab[i] = *(const int32_t *)p; break;
		case CK_DTYPE_U64: lab[i] = (int64_t) * (const uint64_t *)p; break;
		case CK_DTYPE_I64: lab[i] = *(const int64_t *)p; break;
		default:
			return ck_err_set(err, "tensor \"%s\": --stratify needs integer classes, not %s",
			                  y->name, ck_dtype_name(y->dtype));
		}
	}
	return 0;
}

/* Sorting rows by (class, row) makes each class a run in row order. */
struct labeled {
	int64_t label, row;
};

static int by_label(const void *a, const void *b)
{
	const struct labeled *x = a, *y = b;
	if (x->label != y->label)
		return x->label < y->label ? -1 : 1;
	return (x->row > y->row) - (x->row < y->row);
}

/* Marks in_first[i] for the rows that go to the first output: `take` of the
 * n rows, chosen at random within each group (a class, or all rows). Each
 * group of size g gets floor(g*take/n) rows, and the rows left over go one
 * each to the groups with the largest remainders (Hamilton's method), so
 * the total is exactly `take` and every class is split in proportion. */
static void choose_first(struct labeled *rows, int64_t n, int64_t take, ck_rng *rng,
                         unsigned char *in_first)
{
	size_t ngroups = 0;
	for (int64_t i = 0; i < n; i++)
		ngroups += i == 0 || rows[i].label != rows[i - 1].label;
	struct group {
		int64_t start, size, quota;
		uint64_t rem;
	} *g = xmalloc(ngroups * sizeof *g);
	size_t k = 0;
	int64_t given = 0;
	for (int64_t i = 0; i < n; i++) {
		if (i == 0 || rows[i].label != rows[i - 1].label)
			g[k++] = (struct group){i, 0, 0, 0};
		g[k - 1].size++;
	}
	for (k = 0; k < ngroups; k++) {
		uint64_t p = (uint64_t)g[k].size * (uint64_t)take; /* n < 2^32: no overflow */
		g[k].quota = (int64_t)(p / (uint64_t)n);
		g[k].rem = p % (uint64_t)n;
		given += g[k].quota;
	}
	while (given < take) {
		size_t best = 0;
		for (k = 1; k < ngroups; k++)
			if (g[k].rem > g[best].rem)
				best = k;
		g[best].quota++;
		g[best].rem = 0;
		given++;
	}
	int64_t *idx = xmalloc((size_t)n * sizeof *idx);
	for (k = 0; k < ngroups; k++) {
		for (int64_t i = 0; i < g[k].size; i++)
			idx[i] = rows[g[k].start + i].row;
		ck_rng_shuffle(rng, idx, g[k].size);
		for (int64_t i = 0; i < g[k].quota; i++)
			in_first[idx[i]] = 1;
	}
	free(idx);
	free(g);
}

static int cmd_split(const struct opts *o, int argc, char **argv)
{
	if (argc > 1)
		usage_error("one FILE only");
	if (o->nout != 2)
		usage_error("split needs two outputs: -o FIRST -o SECOND");
	if ((o->ratio >= 0) == (o->count >= 0))
		usage_error("give one of --ratio F and --count N");
	if (strcmp(o->out[0], o->out[1]) == 0)
		usage_error("the two outputs are the same file");
	const char *in = argc ? argv[0] : "-";
	ck_tnz t = {0};
	int64_t n;
	int status = load_rows(o, in, &t, &n);
	if (status)
		goto out;
	if (n > (int64_t)UINT32_MAX) {
		errmsg("%s: %" PRId64 " rows: split handles at most 2^32", in_name(in), n);
		status = 1;
		goto out;
	}
	int64_t take = o->count >= 0 ? o->count : llround(o->ratio * (double)n);
	if (take > n) {
		errmsg("%s: --count %" PRId64 " is more than the %" PRId64 " rows", in_name(in), take, n);
		status = 1;
		goto out;
	}
	struct labeled *rows = xmalloc((size_t)n * sizeof *rows);
	int64_t *lab = xmalloc((size_t)n * sizeof *lab);
	for (int64_t i = 0; i < n; i++)
		rows[i] = (struct labeled){0, i};
	if (o->stratify) {
		ck_err err = {{0}};
		const ck_tensor *y = ck_tnz_find(&t, o->stratify);
		if (!y) {
			errmsg("%s: no tensor \"%s\" to stratify by", in_name(in), o->stratify);
			status = 1;
		} else if (read_labels(y, lab, &err) < 0) {
			status = fail(in_name(in), &err);
		} else {
			for (int64_t i = 0; i < n; i++)
				rows[i].label = lab[i];
			qsort(rows, (size_t)n, sizeof *rows, by_label);
		}
	}
	if (!status) {
		unsigned char *in_first = calloc((size_t)n + 1, 1);
		if (!in_first) {
			errmsg("out of memory");
			exit(1);
		}
		ck_rng rng;
		ck_rng_seed(&rng, o->seed);
		choose_first(rows, n, take, &rng, in_first);
		/* Both outputs keep the input's row order; lab is free for the indices. */
		int64_t *idx = lab, a = 0, b = take;
		for (int64_t i = 0; i < n; i++)
			idx[in_first[i] ? a++ : b++] = i;
		status = write_rows(o, o->out[0], &t, idx, take);
		if (!status && (status = write_rows(o, o->out[1], &t, idx + take, n - take)) &&
		    strcmp(o->out[0], "-") != 0)
			remove(o->out[0]); /* never one output without the other */
		free(in_first);
	}
	free(rows);
	free(lab);
out:
	ck_tnz_free(&t);
	return status;
}

/* ---- import and export: NumPy, IDX, CSV (lib/cnnkit/io.h) -------------- */

/* A tensor's name from its file: no directories, no ".gz", no last
 * extension ("data/train.npy" -> "train"). */
static void file_stem(const char *path, char *buf, size_t cap)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	size_t n = strlen(base);
	if (n > 3 && strcmp(base + n - 3, ".gz") == 0)
		n -= 3;
	for (size_t i = n; i > 1; i--)
		if (base[i - 1] == '.') {
			n = i - 1;
			break;
		}
	snprintf(buf, cap, "%.*s", (int)n, base);
}

static int ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), t = strlen(tail);
	return n >= t && strcmp(s + n - t, tail) == 0;
}

/* Standard input into memory, for the io.h readers' _mem entry points;
 * NULL on a read error. */
static unsigned char *slurp_stdin(size_t *len)
{
	size_t cap = 1 << 16, n = 0, got;
	unsigned char *buf = xmalloc(cap);
	while ((got = fread(buf + n, 1, cap - n, stdin)) > 0)
		if ((n += got) == cap)
			buf = xrealloc(buf, cap *= 2);
	if (ferror(stdin)) {
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}

/* Appends the rows of t to the tensor of the same name in all (formats/tnz.md
 * section 5), or moves t into all when the name is new. t->data is taken. */
static int take_tensor(ck_tnz *all, ck_tensor *t, ck_err *err)
{
	ck_tensor *d = ck_tnz_find(all, t->name);
	if (!d) {
		d = ck_tnz_add(all, t->name, t->dtype, t->rank, t->dims, NULL, err);
		if (!d)
			return -1;
		free(d->data);
		d->data = t->data;
		d->nbytes = t->nbytes;
		t->data = NULL;
		return 0;
	}
	if (!can_append(t->name, d->dtype, d->rank, d->dims, t->dtype, t->rank, t->dims, err))
		return -1;
	d->data = xrealloc(d->data, d->nbytes + t->nbytes);
	memcpy((char *)d->data + d->nbytes, t->data, t->nbytes);
	d->nbytes += t->nbytes;
	d->dims[0] += t->dims[0];
	free(t->data);
	t->data = NULL;
	return 0;
}

/* Moves every tensor and metadata entry of one input into all. */
static int take_all(ck_tnz *all, ck_tnz *one, const char *path, ck_err *err)
{
	for (size_t i = 0; i < one->meta.count; i++) {
		const ck_meta_entry *e = &one->meta.items[i];
		size_t len;
		const char *old = ck_meta_get(&all->meta, e->key, &len);
		if (old && strcmp(e->key, "classes") == 0 && (len != e->len || memcmp(old, e->value, len)) &&
		    !quiet)
			errmsg("%s: warning: \"classes\" differs from an earlier input; using this one",
			     in_name(path));
		if (ck_meta_set(&all->meta, e->key, e->value, e->len, err) < 0)
			return -1;
	}
	for (size_t i = 0; i < one->count; i++)
		if (take_tensor(all, &one->tensors[i], err) < 0)
			return -1;
	return 0;
}

/* The command line, for metadata created_by. */
static char *command_line(int argc, char **argv)
{
	size_t n = 1;
	for (int i = 0; i < argc; i++)
		n += strlen(argv[i]) + 1;
	char *s = xmalloc(n), *p = s;
	for (int i = 0; i < argc; i++)
		p += sprintf(p, "%s%s", i ? " " : "", argv[i]);
	*p = '\0';
	return s;
}

/* The command line as typed (getopt_long reorders argv). */
static char *typed_command;

/* Reads one input into one (a tensor, or several for .npz and CSV). IDX
 * files go to idx[] instead, to be paired at the end. Errors of io.h's path
 * functions already start with the path. */
static int import_one(const struct opts *o, const char *path, ck_tnz *one,
                      ck_tensor *idx, int *nidx, ck_err *err)
{
	int is_stdin = strcmp(path, "-") == 0;
	unsigned char *buf = NULL;
	size_t len = 0;
	ck_io_format f = o->format;
	if (is_stdin) {
		if (!(buf = slurp_stdin(&len)))
			return ck_err_set(err, "standard input: read error: %s", strerror(errno));
		if (f == CK_IO_UNKNOWN)
			f = ck_io_detect_mem(buf, len, NULL);
	} else if (f == CK_IO_UNKNOWN && ck_io_detect(path, &f, err) < 0) {
		return -1;
	}
	ck_tensor t = {0};
	ck_csv_opts copts = {o->label, o->header};
	int rc = -1;
	switch (f) {
	case CK_IO_NPY:
		rc = is_stdin ? ck_npy_read_mem(buf, len, &t, err) : ck_npy_read(path, &t, err);
		if (rc == 0) {
			char name[CK_TNZ_MAX_NAME + 1];
			if (o->name || is_stdin)
				snprintf(name, sizeof name, "%s", o->name ? o->name : "x");
			else
				file_stem(path, name, sizeof name);
			snprintf(t.name, sizeof t.name, "%s", name);
			rc = take_tensor(one, &t, err);
		}
		break;
	case CK_IO_NPZ:
		rc = is_stdin ? ck_npz_read_mem(buf, len, one, err) : ck_npz_read(path, one, err);
		break;
	case CK_IO_IDX:
		rc = is_stdin ? ck_idx_read_mem(buf, len, &t, err) : ck_idx_read(path, &t, err);
		if (rc == 0) {
			if (o->name || is_stdin)
				snprintf(t.name, sizeof t.name, "%s", o->name ? o->name : "x");
			else
				file_stem(path, t.name, sizeof t.name);
			idx[(*nidx)++] = t;
			t.data = NULL;
		}
		break;
	case CK_IO_CSV:
	case CK_IO_TSV: {
		char delim = f == CK_IO_TSV ? '\t' : ',';
		rc = is_stdin ? ck_csv_read_mem(buf, len, delim, &copts, one, err)
		              : ck_csv_read(path, delim, &copts, one, err);
		break;
	}
	default:
		rc = ck_err_set(err, "%s: not a .npy, .npz, IDX, CSV or TSV file (try -f)",
		                in_name(path));
	}
	if (rc < 0 && is_stdin && f != CK_IO_UNKNOWN)
		ck_err_prefix(err, "standard input");
	free(t.data);
	free(buf);
	return rc;
}

static int cmd_import(const struct opts *o, int argc, char **argv)
{
	if (argc == 0)
		usage_error("no FILE to import");
	if (o->name && argc != 1)
		usage_error("--name takes a single FILE");
	int nstdin = 0;
	for (int i = 0; i < argc; i++)
		nstdin += strcmp(argv[i], "-") == 0;
	if (nstdin > 1)
		usage_error("standard input can be read once");
	const char *out = one_output(o);
	ck_tnz all = {0};
	ck_tensor *idx = xmalloc((size_t)argc * sizeof *idx);
	const char **idx_path = calloc((size_t)argc, sizeof *idx_path);
	int nidx = 0, status = 0;
	if (!idx_path) {
		errmsg("out of memory");
		exit(1);
	}
	ck_err err = {{0}};
	for (int i = 0; i < argc && !status; i++) {
		ck_tnz one = {0};
		if (import_one(o, argv[i], &one, idx, &nidx, &err) < 0) {
			errmsg("%s", err.msg);
			status = 1;
		} else if (take_all(&all, &one, argv[i], &err) < 0) {
			status = fail(in_name(argv[i]), &err);
		}
		if (nidx && !idx_path[nidx - 1])
			idx_path[nidx - 1] = argv[i];
		ck_tnz_free(&one);
	}
	if (!status && nidx == 2) {
		/* An images file and a labels file: x (N,1,H,W) u8 and y (N) i32. */
		ck_tnz pair = {0};
		if (ck_idx_pair(&idx[0], &idx[1], &pair, &err) < 0 ||
		    take_all(&all, &pair, idx_path[1], &err) < 0) {
			errmsg("%s and %s: %s", in_name(idx_path[0]), in_name(idx_path[1]), err.msg);
			status = 1;
		}
		ck_tnz_free(&pair);
	} else {
		for (int i = 0; i < nidx && !status; i++)
			if (take_tensor(&all, &idx[i], &err) < 0)
				status = fail(in_name(idx_path[i]), &err);
	}
	for (int i = 0; i < nidx; i++)
		free(idx[i].data);
	free(idx);
	free(idx_path);
	if (!status) {
		if (ck_meta_set(&all.meta, "created_by", typed_command, (size_t)-1, &err) < 0)
			status = fail("created_by", &err);
	}
	if (!status) {
		ck_tnz_opts wo = CK_TNZ_OPTS_DEFAULT;
		if (o->level >= 0)
			wo.level = o->level;
		if (o->shuffle != KEEP_FILTER)
			wo.shuffle = o->shuffle;
		wo.threads = o->threads;
		if (ck_tnz_save(&all, out, &wo, &err) < 0)
			status = fail(out_name(out), &err);
	}
	ck_tnz_free(&all);
	return status;
}

static int cmd_export(const struct opts *o, int argc, char **argv)
{
	if (argc > 1)
		usage_error("one FILE only");
	const char *in = argc ? argv[0] : "-", *out = one_output(o);
	ck_io_format f = o->format;
	if (f == CK_IO_UNKNOWN)
		f = ends_with(out, ".npy")                          ? CK_IO_NPY
		    : ends_with(out, ".npz")                        ? CK_IO_NPZ
		    : ends_with(out, ".tsv") || ends_with(out, ".tab") ? CK_IO_TSV
		    : ends_with(out, ".csv") || ends_with(out, ".txt") ? CK_IO_CSV
		                                                    : CK_IO_UNKNOWN;
	if (f == CK_IO_UNKNOWN)
		usage_error("give -o with .npy, .npz, .csv or .tsv, or -f");
	if (f == CK_IO_IDX)
		usage_error("IDX can be imported, not exported");
	if (f == CK_IO_NPZ && strcmp(out, "-") == 0)
		usage_error(".npz needs -o FILE (a zip archive cannot go to a pipe)");

	ck_tnz t = {0};
	ck_err err = {{0}};
	if (ck_tnz_load(&t, in, o->threads, &err) < 0)
		return fail(in_name(in), &err);
	/* The chosen tensors (struct copies sharing t's data), in -t order. */
	size_t n = o->ntensors ? (size_t)o->ntensors : t.count;
	ck_tnz pick = {.tensors = xmalloc((n ? n : 1) * sizeof *pick.tensors), .count = n, .cap = n};
	int status = 0;
	for (size_t i = 0; i < n && !status; i++) {
		const ck_tensor *x = o->ntensors ? ck_tnz_find(&t, o->tensors[i]) : &t.tensors[i];
		if (!x) {
			errmsg("%s: no tensor \"%s\"", in_name(in), o->tensors[i]);
			status = 1;
		} else {
			pick.tensors[i] = *x;
		}
	}
	if (!status && f != CK_IO_NPZ && n != 1) {
		errmsg("%s: %zu tensors: choose one with -t NAME (or export to .npz)", in_name(in), n);
		status = 1;
	}
	if (!status) {
		int rc;
		if (f == CK_IO_NPY)
			rc = ck_npy_write(out, &pick.tensors[0], &err);
		else if (f == CK_IO_NPZ)
			rc = ck_npz_write(out, &pick, o->level >= 0 ? o->level : 0, &err);
		else
			rc = ck_csv_write(out, &pick.tensors[0], f == CK_IO_TSV ? '\t' : ',', &err);
		if (rc < 0) {
			errmsg("%s", err.msg);
			status = 1;
		}
	}
	free(pick.tensors);
	ck_tnz_free(&t);
	return status;
}

/* ---- png ---------------------------------------------------------------- */

#define PNG_IMAGES 64 /* images in a contact sheet without -n */

/* The tensor png shows: -t NAME, else the only tensor, else "x". */
static const ck_tensor *png_tensor(const struct opts *o, const ck_tnz *t, const char *in)
{
	const char *name = o->ntensors ? o->tensors[0] : t->count == 1 ? t->tensors[0].name : "x";
	const ck_tensor *x = ck_tnz_find(t, name);
	if (!x && !o->ntensors && t->count != 1)
		errmsg("%s: %zu tensors and none called \"x\": choose one with -t NAME", in_name(in),
		     t->count);
	else if (!x)
		errmsg("%s: no tensor \"%s\"", in_name(in), name);
	return x;
}

static int cmd_png(const struct opts *o, int argc, char **argv)
{
	if (argc > 1)
		usage_error("one FILE only");
	if (o->ntensors > 1)
		usage_error("one -t only");
	if (o->nout != 1)
		usage_error("give -o OUT.png (- for standard output)");
	if (o->rows == 0)
		usage_error("-n: at least 1 image");
	if (o->index >= 0 && o->rows > 0)
		usage_error("--index shows one image: no -n with it");
	const char *in = argc ? argv[0] : "-", *out = o->out[0];

	ck_tnz t = {0};
	ck_err err = {{0}};
	if (ck_tnz_load(&t, in, o->threads, &err) < 0)
		return fail(in_name(in), &err);
	const ck_tensor *x = png_tensor(o, &t, in);
	int status = x ? 0 : 1;
	char shape[160];
	if (x)
		ck_tensor_shape_str(x, shape, sizeof shape);
	if (x && (x->rank != 4 || (x->dims[1] != 1 && x->dims[1] != 3))) {
		errmsg("%s: tensor \"%s\" has shape %s, not (N, C, H, W) with C 1 or 3", in_name(in),
		     x->name, shape);
		status = 1;
	} else if (x && x->dtype != CK_DTYPE_U8 && x->dtype != CK_DTYPE_F32) {
		errmsg("%s: tensor \"%s\" is %s, not u8 or f32", in_name(in), x->name,
		     ck_dtype_name(x->dtype));
		status = 1;
	} else if (x && o->index >= x->dims[0]) {
		errmsg("%s: --index %" PRId64 ": tensor \"%s\" has %" PRId64 " images", in_name(in),
		     o->index, x->name, x->dims[0]);
		status = 1;
	} else if (x && x->dims[0] == 0) {
		errmsg("%s: tensor \"%s\" has no images", in_name(in), x->name);
		status = 1;
	}
	if (!status && x->dtype == CK_DTYPE_U8 && o->lo != o->hi && !quiet)
		errmsg("--range applies to f32 tensors; u8 values are shown as they are");
	if (!status) {
		const unsigned char *data = x->data;
		int64_t n = o->rows > 0 ? o->rows : PNG_IMAGES;
		int cols = o->cols, gap = o->gap;
		if (o->index >= 0) { /* one image: a grid of one, no border */
			data += (size_t)o->index * ck_tensor_row_bytes(x);
			n = 1;
			cols = 1;
			gap = 0;
		}
		ck_image img = {0};
		if (ck_image_grid(&img, data, x->dtype, x->dims, n, cols, gap, o->lo, o->hi, &err) < 0 ||
		    ck_image_write_png(&img, out, &err) < 0)
			status = fail(out_name(out), &err);
		ck_image_free(&img);
	}
	ck_tnz_free(&t);
	return status;
}

/* ---- the command table -------------------------------------------------- */

#define COMMON_HELP                                                              \
	"  --threads N          threads for compression (default: every core)\n"        \
	"  -q, --quiet          no warnings\n"                       \
	"  -h, --help           this help; --version: the version\n"
#define WRITE_HELP                                                               \
	"  -o, --output OUT     output file (default: standard output, never a terminal)\n" \
	"  -l, --level L        zlib level 0-9, 0 stores (default 1)\n"                       \
	"  --shuffle on|off|auto\n"                       \
	"                       byte-shuffle filter; auto: on for float dtypes\n"

static const struct command commands[] = {
	{"info", cmd_info, COMMON | B(OP_JSON), "info [--json] [FILE...]",
	 "Describe TNZ streams: per tensor name its dtype, shape, rows, raw and\n"
	 "stored bytes, compression ratio and filter; per metadata key its length\n"
	 "and, when it is one short line, its value. Pieces of a tensor that appear\n"
	 "several times (concatenated files) are summed. Reads standard input when\n"
	 "no FILE is given or FILE is -. Every chunk is decoded and checked.\n\n"
	 "  --json               one JSON object per FILE, on one line\n" COMMON_HELP
	 "\nExample: cat a.tnz b.tnz | tnz info\n"},
	{"cat", cmd_cat, COMMON | WRITES, "cat [-l L] [--shuffle on|off|auto] [-o OUT] [FILE...]",
	 "Concatenate TNZ streams into one file, streaming: tensors of the same name\n"
	 "append along their first dimension (they must agree in dtype and in the\n"
	 "other dimensions). Metadata is merged, the later value winning, with a\n"
	 "warning when \"classes\" differ. Recompresses with -l and --shuffle; each\n"
	 "tensor keeps its filter unless --shuffle is given.\n\n" WRITE_HELP COMMON_HELP
	 "\nExample: tnz cat -l 6 shard-*.tnz -o all.tnz\n"},
	{"head", cmd_head, COMMON | WRITES | B(OP_ROWS),
	 "head [-n ROWS] [-l L] [--shuffle on|off|auto] [-o OUT] [FILE...]",
	 "Keep the first ROWS rows of every tensor of rank 1 or more (all of them\n"
	 "when it has fewer); rank-0 tensors and metadata are copied whole. Streaming.\n\n"
	 "  -n, --rows ROWS      rows to keep (default 10)\n" WRITE_HELP COMMON_HELP
	 "\nExample: tnz head -n 100 train.tnz -o small.tnz\n"},
	{"split", cmd_split,
	 COMMON | WRITES | B(OP_SEED) | B(OP_RATIO) | B(OP_COUNT) | B(OP_STRATIFY),
	 "split (--ratio F | --count N) [--seed S] [--stratify NAME] -o FIRST -o SECOND [FILE]",
	 "Split the rows at random into two files. Every tensor of rank 1 or more\n"
	 "is a row tensor (all must have the same number of rows) and row i of each\n"
	 "goes to the same output; rank-0 tensors and metadata go to both. Rows keep\n"
	 "their input order. Loads the whole file into memory.\n\n"
	 "  --ratio F            fraction of the rows for FIRST, 0 to 1 (rounded)\n"
	 "  --count N            number of rows for FIRST\n"
	 "  --seed S             random seed (default 0): the same seed, the same split\n"
	 "  --stratify NAME      split each class of the rank-1 integer tensor NAME in the\n"
	 "                       same proportion (rows left over by rounding go to the\n"
	 "                       classes with the largest remainders)\n" WRITE_HELP COMMON_HELP
	 "\nExample: tnz split --ratio 0.9 --stratify y train.tnz -o tr.tnz -o val.tnz\n"},
	{"shuffle", cmd_shuffle, COMMON | WRITES | B(OP_SEED),
	 "shuffle [--seed S] [-l L] [--shuffle on|off|auto] [-o OUT] [FILE]",
	 "Permute the rows at random, the same permutation for every tensor of rank\n"
	 "1 or more (all must have the same number of rows). Loads the whole file.\n\n"
	 "  --seed S             random seed (default 0): the same seed, the same order\n" WRITE_HELP
	 COMMON_HELP "\nExample: tnz shuffle --seed 7 train.tnz -o shuffled.tnz\n"},
	{"meta", cmd_meta, COMMON | WRITES | B(OP_SET) | B(OP_DELETE) | B(OP_INPLACE),
	 "meta FILE [KEY]\n"
	 "meta (-s KEY=VALUE | -s KEY=@VFILE | -d KEY)... (-o OUT | -i) FILE",
	 "Without -s or -d: list the metadata keys of FILE, one a line, or print the\n"
	 "value of KEY followed by a newline (exit 1 if there is no such key).\n"
	 "With them: write a copy of FILE with the metadata changed, streaming; the\n"
	 "tensors are recompressed (-l) and keep their filters.\n\n"
	 "  -s, --set KEY=VALUE  set KEY; KEY=@VFILE takes the contents of VFILE\n"
	 "                       without one final newline (- is standard input)\n"
	 "  -d, --delete KEY     remove KEY\n"
	 "  -i, --in-place       replace FILE (atomically) instead of -o\n" WRITE_HELP COMMON_HELP
	 "\nExample: tnz meta -s classes=@classes.txt -i train.tnz\n"},
	{"import", cmd_import,
	 COMMON | WRITES | B(OP_NAME) | B(OP_FORMAT) | B(OP_LABEL) | B(OP_HEADER),
	 "import [-f FORMAT] [--name NAME] [--label COL] [--header yes|no|auto] [-o OUT] FILE...",
	 "Convert NumPy, IDX and CSV/TSV files into one TNZ file. The format comes\n"
	 "from the first bytes (NumPy and IDX magic numbers, gzip looked into), else\n"
	 "from the name (.csv, .txt, .tsv, .tab), else from -f:\n"
	 "  .npy      one tensor named after the file (data/w.npy -> w) or --name\n"
	 "  .npz      one tensor per member, named after the member\n"
	 "  IDX       (.gz too) two files: an images (N,H,W) u8 and a labels (N) file\n"
	 "            become x (N,1,H,W) u8 and y (N) i32; otherwise one tensor per\n"
	 "            file named as for .npy, without .gz (labels.idx.gz -> labels)\n"
	 "            or --name\n"
	 "  CSV, TSV  x (N,columns) f32, the header in metadata \"columns\"; --label\n"
	 "            moves a column to y (N) i32 (names become ids, in metadata\n"
	 "            \"classes\")\n"
	 "Tensors of the same name from several files append; metadata is merged and\n"
	 "created_by set to the command line. Standard input (-) needs -f unless it\n"
	 "starts with a magic number; a tensor from it is called x.\n\n"
	 "  -f, --format F       npy, npz, idx, csv or tsv, instead of detecting it\n"
	 "  --name NAME          the tensor name for a single .npy or IDX FILE\n"
	 "  --label COL          CSV/TSV label column: a number from 1 or a header name\n"
	 "  --header yes|no|auto\n"
	 "                       CSV/TSV first row is a header (auto: when a cell of it\n"
	 "                       is not a number; default)\n" WRITE_HELP COMMON_HELP
	 "\nExample: tnz import train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz -o train.tnz\n"},
	{"export", cmd_export, COMMON | B(OP_OUT) | B(OP_LEVEL) | B(OP_TENSOR) | B(OP_FORMAT),
	 "export [-t NAME]... [-f FORMAT] [-l L] [-o OUT] [FILE]",
	 "Convert tensors of a TNZ file to NumPy or text; the format comes from the\n"
	 "name of OUT (.npy, .npz, .csv or .txt, .tsv or .tab) or from -f. .npy, .csv\n"
	 "and .tsv take one tensor: the only one, or the one named by -t. .npz takes\n"
	 "every tensor, or those named by -t (metadata has no place in it). Text has\n"
	 "one line per row; rank 3 or more is flattened after the first dimension;\n"
	 "floats print with enough digits to read back exactly. bf16 is written to\n"
	 ".npy as f4. Loads the whole file.\n\n"
	 "  -t, --tensor NAME    a tensor to export (repeat for .npz)\n"
	 "  -f, --format F       npy, npz, csv or tsv, instead of OUT's name\n"
	 "  -l, --level L        .npz: 0 stores the members (default), 1-9 deflates\n"
	 "  -o, --output OUT     output file (default: standard output; not .npz)\n" COMMON_HELP
	 "\nExample: tnz export -t x -o x.npy train.tnz\n"},
	{"png", cmd_png,
	 COMMON | B(OP_OUT) | B(OP_TENSOR) | B(OP_ROWS) | B(OP_COLS) | B(OP_GAP) | B(OP_RANGE) |
	         B(OP_INDEX),
	 "png [-t NAME] [-n N] [--cols C] [--gap G] [--range LO:HI] [--index I] -o OUT FILE",
	 "Draw a tensor of images (N, C, H, W), u8 or f32, C 1 (gray) or 3 (RGB), as\n"
	 "a PNG: a contact sheet of the first N images, row by row, separated by\n"
	 "gray (128) lines, or the single image I. f32 values map LO..HI to 0..255,\n"
	 "clamped; without --range, 0..1 when every value shown lies in it, else the\n"
	 "min..max of the values shown. u8 values are written as they are. Loads the\n"
	 "whole file.\n\n"
	 "  -t, --tensor NAME    the tensor (default: the only one, else x)\n"
	 "  -n, --rows N         images in the sheet (default 64, or all if fewer)\n"
	 "  --cols C             columns of the sheet (default: about square)\n"
	 "  --gap G              pixels between images, 0-1000 (default 1)\n"
	 "  --range LO:HI        f32 values shown as 0 and 255\n"
	 "  --index I            only image I (from 0), at its size\n"
	 "  -o, --output OUT     the PNG file (- for standard output, never a terminal)\n"
	 COMMON_HELP
	 "\nExample: tnz png -n 100 --cols 10 --gap 2 -o sheet.png train.tnz\n"},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void main_help(FILE *f)
{
	fputs("usage: tnz COMMAND [OPTION...] [ARG...]\n"
	      "Inspect and convert TNZ tensor files (tnz(5)).\n\n",
	      f);
	for (size_t i = 0; i < NCOMMANDS; i++) {
		const char *s = commands[i].synopsis;
		while (*s) {
			size_t n = strcspn(s, "\n");
			fprintf(f, "  tnz %.*s\n", (int)n, s);
			s += n + (s[n] == '\n');
		}
	}
	fputs("\nEvery command takes --threads N, -q, --help and --version; see\n"
	      "'tnz COMMAND --help' and tnz(1). Exit status: 0 success, 1 failure,\n"
	      "2 usage error.\n",
	      f);
}

int main(int argc, char **argv)
{
	/* A closed pipe is a write error with a message and exit 1, not a signal. */
	signal(SIGPIPE, SIG_IGN);
	cli_init("tnz", short_usage);
	if (argc < 2)
		usage_error("no command");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		main_help(stdout);
		return cli_close_stdout(0);
	}
	if (strcmp(argv[1], "--version") == 0) {
		print_version();
		return cli_close_stdout(0);
	}
	for (size_t i = 0; i < NCOMMANDS; i++) {
		if (strcmp(argv[1], commands[i].name) != 0)
			continue;
		cmd_now = &commands[i];
		typed_command = command_line(argc, argv);
		struct opts o = {.level = -1, .shuffle = KEEP_FILTER, .ratio = -1, .count = -1,
		                 .rows = -1, .header = -1, .index = -1, .gap = 1};
		int first = parse_opts(cmd_now, argc - 1, argv + 1, &o);
		int status = 0;
		if (first >= 0)
			status = cmd_now->run(&o, argc - 1 - first, argv + 1 + first);
		for (int k = 0; k < o.nedits; k++)
			free(o.edits[k].key);
		free(o.edits);
		free(o.tensors);
		free(typed_command);
		return cli_close_stdout(status);
	}
	usage_error("'%s' is not a command", argv[1]);
}
