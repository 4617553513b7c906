/* cnn-eval: evaluate a trained model on a dataset, or write its predictions.
 *
 *     cnn-eval -m model.tnz test.tnz                  # readable report
 *     cnn-eval -m model.tnz --json test.tnz | jq .accuracy
 *     cnn-eval -m model.tnz --predict -o pred.tnz new.tnz
 *     cnn-eval -m model.tnz --predict --tsv new.tnz | sort -k3 -g
 *     echo "great phone" | cnn-eval -m model.tnz --predict --text -
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
#include <unistd.h>

#include "cli/cli.h"
#include "cnnkit.h"

#define PROG "cnn-eval"
#define NAME_WIDTH 16 /* characters of a class name in the tables */
#define CELL_WIDTH 8  /* characters of a class name heading a confusion column */

static const char usage_text[] =
	"usage: cnn-eval -m MODEL [--json] [--predict] [--tsv] [--top-k K] [--batch B]\n"
	"                [--threads N] [-o OUT] [DATA]\n"
	"       cnn-eval -m MODEL --predict [--tsv] --text FILE [--batch B] [--threads N]\n"
	"                [-o OUT]\n";

static void usage(FILE *f)
{
	fputs(usage_text, f);
	if (f == stderr) {
		fputs("Try 'cnn-eval --help' for more information.\n", f);
		return;
	}
	fputs("\n"
	      "Evaluates a model written by cnn-train on a labelled dataset (DATA, or\n"
	      "standard input when absent or -), or writes its predictions.\n"
	      "\n"
	      "  -m, --model FILE   the model (required)\n"
	      "      --json         print the metrics as one JSON object\n"
	      "      --predict      write predictions instead of metrics: a TNZ file with\n"
	      "                     pred (N) i32 and prob (N,K) f32 (regression: pred (N,K) f32);\n"
	      "                     works on data without labels\n"
	      "      --tsv          with --predict: text lines index<TAB>class<TAB>probability\n"
	      "                     (regression: index<TAB>value...)\n"
	      "      --text FILE    with --predict: read sentences, one a line (FILE, or - for\n"
	      "                     standard input), tokenise them as the model's training data\n"
	      "                     was, and write class<TAB>probability<TAB>sentence lines;\n"
	      "                     --batch lines at a time\n"
	      "      --top-k K      also report top-K accuracy (integer, 1 to the class count)\n"
	      "      --batch B      examples per forward pass (integer, default 256)\n"
	      "      --threads N    threads (integer, default 0 = every core)\n"
	      "  -o, --output FILE  write to FILE instead of standard output\n"
	      "      --help         print this help and exit\n"
	      "      --version      print the version and exit\n"
	      "\n"
	      "The loss is the model's (metadata \"loss\": cce, bce or mse), else implied by\n"
	      "its final activation. Inputs are normalised as the model's metadata\n"
	      "\"normalize\" says. Token ids must come from the model's vocabulary (tokenize\n"
	      "--vocab-from MODEL): data with another vocabulary is refused.\n"
	      "\n"
	      "Example:\n"
	      "  cnn-eval -m model.tnz --top-k 3 test.tnz\n"
	      "  echo \"great phone\" | cnn-eval -m model.tnz --predict --text -\n",
	      f);
}

/* ---- text output, atomically replaced ------------------------------------------ */

/* The report or the TSV predictions: written through a ck_outfile's stream. */
typedef struct text_out {
	ck_outfile *out;
	FILE *f;
	const char *name; /* the path, or "standard output" */
} text_out;

static void text_open(text_out *o, const char *path)
{
	ck_err err;
	o->name = !path || strcmp(path, "-") == 0 ? "standard output" : path;
	o->out = ck_outfile_open(path ? path : "-", 0, &err);
	if (!o->out || !(o->f = ck_outfile_stream(o->out, &err)))
		die("%s: %s", o->name, err.msg);
}

/* Flushes and checks; for a file, renames the temporary into place. */
static void text_close(text_out *o)
{
	if (ck_outfile_commit(o->out, NULL) < 0)
		die("write error on %s: %s", o->name, strerror(errno));
}

/* ---- class names ------------------------------------------------------------------ */

typedef struct names {
	char **lines;
	int64_t count;
	char **owned; /* lines allocated here (numbers), freed at the end */
} names;

/* Names for k classes: the data's `classes` (data_names[0..ndata), or
 * NULL), else the model's, else the class ids as numbers. */
static void names_pick(names *n, char **data_names, int64_t ndata, const ck_tnz *model_file,
                       int k)
{
	memset(n, 0, sizeof *n);
	size_t mlen;
	const char *mc = ck_meta_get(&model_file->meta, "classes", &mlen);
	char **ml = NULL;
	int64_t mcount = 0;
	if (mc && ck_lines_split(mc, mlen, &ml, &mcount, NULL) < 0)
		die("out of memory");
	if (data_names && ml && mcount == ndata) {
		for (int64_t i = 0; i < mcount; i++)
			if (strcmp(ml[i], data_names[i]) != 0) {
				fprintf(stderr, PROG ": warning: class %" PRId64 " is \"%s\" in the data, "
				        "\"%s\" in the model\n", i, data_names[i], ml[i]);
				break;
			}
	}
	if (data_names && ndata == k) {
		n->lines = data_names;
		n->count = k;
	} else if (ml && mcount == k) {
		n->lines = n->owned = ml;
		n->count = k;
		return;
	} else {
		n->owned = n->lines = calloc((size_t)k, sizeof *n->lines);
		if (!n->lines)
			die("out of memory");
		n->count = k;
		for (int i = 0; i < k; i++) {
			char buf[24];
			snprintf(buf, sizeof buf, "%d", i);
			if (!(n->lines[i] = strdup(buf)))
				die("out of memory");
		}
	}
	ck_lines_free(ml, mcount);
}

static void names_free(names *n)
{
	if (n->owned)
		ck_lines_free(n->owned, n->count);
}

/* ---- UTF-8 ---------------------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid. */
static int utf8_len(const unsigned char *s)
{
	unsigned c = s[0];
	int n = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3
	      : (c & 0xf8) == 0xf0 ? 4 : 0;
	if (n == 0 || (n == 2 && c < 0xc2) || (n == 4 && c > 0xf4))
		return 0;
	for (int i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if (n == 3 && ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] >= 0xa0)))
		return 0; /* overlong, surrogate */
	if (n == 4 && ((c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] >= 0x90)))
		return 0;
	return n;
}

/* Characters (code points; an invalid byte counts as one) in s. */
static size_t utf8_chars(const char *s)
{
	size_t n = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; n++) {
		int len = utf8_len(p);
		p += len ? len : 1;
	}
	return n;
}

/* Prints s in at most width characters (truncated with "~" when longer),
 * padded with spaces to width on the right (align 'l') or the left ('r'),
 * or not at all (0). Control characters and invalid bytes print as '?'. */
static void put_cell(FILE *f, const char *s, int width, int align)
{
	size_t total = utf8_chars(s);
	int shown = total > (size_t)width ? width : (int)total;
	for (int i = shown; align == 'r' && i < width; i++)
		fputc(' ', f);
	const unsigned char *p = (const unsigned char *)s;
	for (int chars = 0; chars < shown; chars++) {
		int n = utf8_len(p);
		if (chars == shown - 1 && total > (size_t)shown)
			fputc('~', f);
		else if (n == 0 || *p < 0x20 || *p == 0x7f)
			fputc('?', f);
		else
			fwrite(p, 1, (size_t)n, f);
		p += n ? n : 1;
	}
	for (int i = shown; align == 'l' && i < width; i++)
		fputc(' ', f);
}

/* s as a JSON string: quotes, backslashes and control characters escaped,
 * invalid UTF-8 replaced by U+FFFD. */
static void put_json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		int n = utf8_len(p);
		if (n == 0) {
			fputs("\\ufffd", f);
			p++;
			continue;
		}
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", f);
		else if (*p == '\t')
			fputs("\\t", f);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(f, "\\u%04x", *p);
		else
			fwrite(p, 1, (size_t)n, f);
		p += n;
	}
	fputc('"', f);
}

/* A JSON number; null for NaN and infinities. */
static void put_json_number(FILE *f, double v)
{
	if (isfinite(v))
		fprintf(f, "%.10g", v);
	else
		fputs("null", f);
}

/* ---- reports ----------------------------------------------------------------------------- */

static void report_text(FILE *f, const ck_eval *e, const names *nm)
{
	fprintf(f, "examples  %" PRId64 "\n", e->n);
	fprintf(f, "loss      %.6g (%s)\n", e->loss, ck_loss_name(e->loss_kind));
	if (e->task == CK_TASK_REGRESSION) {
		fprintf(f, "mse       %.6g\n", ck_regression_mse(&e->regression, -1));
		fprintf(f, "mae       %.6g\n", ck_regression_mae(&e->regression, -1));
		if (e->K > 1) {
			fprintf(f, "\noutput  mse         mae\n");
			for (int j = 0; j < e->K; j++)
				fprintf(f, "%-6d  %-10.6g  %.6g\n", j, ck_regression_mse(&e->regression, j),
				        ck_regression_mae(&e->regression, j));
		}
		return;
	}
	const ck_confusion *c = &e->confusion;
	fprintf(f, "accuracy  %.4f\n", ck_confusion_accuracy(c));
	if (e->topk > 0)
		fprintf(f, "top-%d     %.4f\n", e->topk,
		        e->n ? (double)e->topk_correct / (double)e->n : 0.0);

	fputc('\n', f);
	put_cell(f, "class", NAME_WIDTH, 'l');
	fprintf(f, "  precision  recall  f1      support\n");
	for (int k = 0; k < c->k; k++) {
		ck_class_metrics m;
		ck_confusion_class(c, k, &m);
		put_cell(f, nm->lines[k], NAME_WIDTH, 'l');
		fprintf(f, "  %-9.4f  %-6.4f  %-6.4f  %" PRId64 "\n", m.precision, m.recall, m.f1,
		        m.support);
	}
	ck_class_metrics avg[2];
	ck_confusion_average(c, &avg[0], &avg[1]);
	for (int i = 0; i < 2; i++) {
		put_cell(f, i == 0 ? "macro avg" : "weighted avg", NAME_WIDTH, 'l');
		fprintf(f, "  %-9.4f  %-6.4f  %-6.4f  %" PRId64 "\n", avg[i].precision, avg[i].recall,
		        avg[i].f1, avg[i].support);
	}

	/* The confusion matrix: columns as wide as the largest count or the
	 * (truncated) class names. */
	int width = 1;
	for (size_t i = 0; i < (size_t)c->k * (size_t)c->k; i++) {
		int digits = snprintf(NULL, 0, "%" PRId64, c->counts[i]);
		width = digits > width ? digits : width;
	}
	for (int k = 0; k < c->k; k++) {
		int len = (int)utf8_chars(nm->lines[k]);
		len = len < CELL_WIDTH ? len : CELL_WIDTH;
		width = len > width ? len : width;
	}
	fprintf(f, "\nconfusion matrix (rows: true class, columns: predicted class)\n");
	put_cell(f, "", NAME_WIDTH, 'l');
	for (int k = 0; k < c->k; k++) {
		fputs("  ", f);
		put_cell(f, nm->lines[k], width, 'r');
	}
	fputc('\n', f);
	for (int t = 0; t < c->k; t++) {
		put_cell(f, nm->lines[t], NAME_WIDTH, 'l');
		for (int p = 0; p < c->k; p++)
			fprintf(f, "  %*" PRId64, width, c->counts[(size_t)t * (size_t)c->k + (size_t)p]);
		fputc('\n', f);
	}
}

static void json_metrics(FILE *f, const ck_class_metrics *m)
{
	fputs("\"precision\": ", f);
	put_json_number(f, m->precision);
	fputs(", \"recall\": ", f);
	put_json_number(f, m->recall);
	fputs(", \"f1\": ", f);
	put_json_number(f, m->f1);
	fprintf(f, ", \"support\": %" PRId64, m->support);
}

static void report_json(FILE *f, const ck_eval *e, const names *nm)
{
	fprintf(f, "{\"n\": %" PRId64 ", \"loss\": ", e->n);
	put_json_number(f, e->loss);
	fprintf(f, ", \"loss_kind\": \"%s\"", ck_loss_name(e->loss_kind));
	if (e->task == CK_TASK_REGRESSION) {
		fputs(", \"mse\": ", f);
		put_json_number(f, ck_regression_mse(&e->regression, -1));
		fputs(", \"mae\": ", f);
		put_json_number(f, ck_regression_mae(&e->regression, -1));
		fputs(", \"per_output\": [", f);
		for (int j = 0; j < e->K; j++) {
			fprintf(f, "%s{\"output\": %d, \"mse\": ", j ? ", " : "", j);
			put_json_number(f, ck_regression_mse(&e->regression, j));
			fputs(", \"mae\": ", f);
			put_json_number(f, ck_regression_mae(&e->regression, j));
			fputc('}', f);
		}
		fputs("]}\n", f);
		return;
	}
	const ck_confusion *c = &e->confusion;
	fputs(", \"accuracy\": ", f);
	put_json_number(f, ck_confusion_accuracy(c));
	if (e->topk > 0) {
		fprintf(f, ", \"top_k\": {\"k\": %d, \"accuracy\": ", e->topk);
		put_json_number(f, e->n ? (double)e->topk_correct / (double)e->n : 0.0);
		fputc('}', f);
	}
	fputs(", \"per_class\": [", f);
	for (int k = 0; k < c->k; k++) {
		ck_class_metrics m;
		ck_confusion_class(c, k, &m);
		fprintf(f, "%s{\"id\": %d, \"class\": ", k ? ", " : "", k);
		put_json_string(f, nm->lines[k]);
		fputs(", ", f);
		json_metrics(f, &m);
		fputc('}', f);
	}
	ck_class_metrics macro, weighted;
	ck_confusion_average(c, &macro, &weighted);
	fputs("], \"macro_avg\": {", f);
	json_metrics(f, &macro);
	fputs("}, \"weighted_avg\": {", f);
	json_metrics(f, &weighted);
	fputs("}, \"confusion\": [", f);
	for (int t = 0; t < c->k; t++) {
		fputs(t ? ", [" : "[", f);
		for (int p = 0; p < c->k; p++)
			fprintf(f, "%s%" PRId64, p ? ", " : "", c->counts[(size_t)t * (size_t)c->k + (size_t)p]);
		fputc(']', f);
	}
	fputs("]}\n", f);
}

/* ---- predictions ---------------------------------------------------------------------- */

/* One example's prediction: class<TAB>probability of that class, or the
 * values<TAB>separated for regression. row: its K outputs; pred: its
 * class (unused for regression). */
static void put_prediction(FILE *f, const ck_eval *e, const names *nm, const float *row,
                           int32_t pred)
{
	if (e->task == CK_TASK_REGRESSION) {
		for (int j = 0; j < e->K; j++)
			fprintf(f, "%s%.9g", j ? "\t" : "", (double)row[j]);
		return;
	}
	double p = e->task == CK_TASK_BINARY ? (pred ? row[0] : 1.0 - row[0]) : row[pred];
	put_cell(f, nm->lines[pred], INT_MAX, 0);
	fprintf(f, "\t%.6f", p);
}

static void predictions_tsv(FILE *f, const ck_eval *e, const names *nm, const float *prob,
                            const int32_t *pred)
{
	for (int64_t i = 0; i < e->n; i++) {
		fprintf(f, "%" PRId64 "\t", i);
		put_prediction(f, e, nm, prob + (size_t)i * (size_t)e->K,
		               e->task == CK_TASK_REGRESSION ? 0 : pred[i]);
		fputc('\n', f);
	}
}

static void predictions_tnz(const char *path, const ck_eval *e, const names *nm,
                            const float *prob, const int32_t *pred, const char *cmdline)
{
	ck_tnz out = {0};
	ck_err err = {{0}};
	int64_t n = e->n, K = e->K;
	int ok;
	if (e->task == CK_TASK_REGRESSION) {
		ok = ck_tnz_add(&out, "pred", CK_DTYPE_F32, 2, (int64_t[]){n, K}, prob, &err) != NULL;
	} else {
		ok = ck_tnz_add(&out, "pred", CK_DTYPE_I32, 1, (int64_t[]){n}, pred, &err) &&
		     ck_tnz_add(&out, "prob", CK_DTYPE_F32, 2, (int64_t[]){n, K}, prob, &err);
		size_t len = 0;
		for (int64_t k = 0; k < nm->count; k++)
			len += strlen(nm->lines[k]) + 1;
		char *text = malloc(len + 1), *p = text;
		if (!text)
			die("out of memory");
		for (int64_t k = 0; k < nm->count; k++)
			p += sprintf(p, "%s\n", nm->lines[k]);
		ok = ok && ck_meta_set(&out.meta, "classes", text, len, &err) == 0;
		free(text);
	}
	ok = ok && ck_meta_set(&out.meta, "created_by", cmdline, (size_t)-1, &err) == 0;
	ok = ok && ck_tnz_save(&out, path ? path : "-", NULL, &err) == 0;
	ck_tnz_free(&out);
	if (!ok)
		die("%s: %s", path && strcmp(path, "-") ? path : "standard output", err.msg);
}

/* ---- sentences (--text) ---------------------------------------------------------------- */

/* How the model's training data was tokenised: its vocabulary, the settings
 * and the row length, so that a sentence gets the ids it would have had. */
typedef struct text_model {
	ck_vocab *vocab;
	ck_tok_opts tok;
	int64_t L;
} text_model;

static void text_model_load(text_model *t, const ck_model *m, const ck_tnz *mfile,
                            const char *path)
{
	const ck_arch *a = ck_model_arch(m);
	ck_err err;
	size_t len;
	if (ck_model_input_kind(m) != CK_INPUT_TOKENS)
		die("%s: --text needs a model of token ids (this one takes f32 values)", path);
	const char *v = ck_meta_get(&mfile->meta, "vocab", &len);
	if (!v)
		die("%s: no vocabulary (metadata \"vocab\"): --text needs a model trained on "
		    "tokenize's output", path);
	if (!(t->vocab = ck_vocab_parse(v, len, &err)))
		die("%s: metadata \"vocab\": %s", path, err.msg);
	if ((int64_t)ck_vocab_size(t->vocab) != a->vocab_size)
		die("%s: metadata \"vocab\" has %zu tokens, the model %" PRId64, path,
		    ck_vocab_size(t->vocab), a->vocab_size);
	t->tok = CK_TOK_OPTS_DEFAULT;
	const char *settings = ck_meta_get(&mfile->meta, "tokenizer", NULL);
	if (!settings)
		fprintf(stderr, PROG ": warning: %s: no tokenizer settings (metadata \"tokenizer\"): "
		        "tokenize's defaults are used\n", path);
	else if (ck_tok_opts_parse(&t->tok, settings, &err) < 0)
		die("%s: metadata \"tokenizer\": %s", path, err.msg);
	t->L = a->input.dim[0];
}

/* A batch of input lines, each kept (without its line end) until its
 * prediction is written. */
typedef struct line_batch {
	char **text;
	size_t *cap, *len;
	int n;
} line_batch;

/* Reads up to max lines; returns how many (fewer only at the end). */
static int read_lines(line_batch *b, int max, FILE *in, const char *name)
{
	b->n = 0;
	while (b->n < max) {
		ssize_t got = getline(&b->text[b->n], &b->cap[b->n], in);
		if (got < 0)
			break;
		size_t len = (size_t)got;
		if (len && b->text[b->n][len - 1] == '\n')
			len--;
		if (len && b->text[b->n][len - 1] == '\r')
			len--;
		b->len[b->n++] = len;
	}
	if (ferror(in))
		die("%s: read error: %s", name, strerror(errno));
	return b->n;
}

/* --predict --text: sentences in, class<TAB>probability<TAB>sentence out,
 * batch lines at a time, so that memory does not grow with the input. */
static void predict_text(const char *in_path, ck_model *m, const ck_tnz *mfile,
                         const char *model_path, const char *out_path, ck_loss_kind loss,
                         int batch, int threads)
{
	text_model tm;
	text_model_load(&tm, m, mfile, model_path);
	int is_stdin = strcmp(in_path, "-") == 0;
	const char *in_name = is_stdin ? "standard input" : in_path;
	FILE *in = is_stdin ? stdin : fopen(in_path, "rb");
	if (!in)
		die("%s: %s", in_path, strerror(errno));
	size_t B = (size_t)batch, L = (size_t)tm.L, K = (size_t)ck_model_output_size(m);
	int32_t *x = malloc(B * L * sizeof *x), *lengths = malloc(B * sizeof *lengths);
	int32_t *pred = malloc(B * sizeof *pred);
	float *prob = malloc(B * K * sizeof *prob);
	line_batch lb = {.text = calloc(B, sizeof(char *)), .cap = calloc(B, sizeof(size_t)),
	                 .len = calloc(B, sizeof(size_t))};
	if (!x || !lengths || !pred || !prob || !lb.text || !lb.cap || !lb.len)
		die("out of memory for a batch of %d lines", batch);

	text_out o;
	text_open(&o, out_path);
	names nm = {0};
	int named = 0;
	int64_t lines = 0, cut = 0;
	size_t invalid = 0;
	ck_err err;
	while (read_lines(&lb, batch, in, in_name) > 0) {
		for (int i = 0; i < lb.n; i++) {
			int64_t ntok = ck_tokenize_row(&tm.tok, tm.vocab, lb.text[i], lb.len[i],
			                               x + (size_t)i * L, tm.L, &invalid, &err);
			if (ntok < 0)
				die("%s", err.msg);
			lengths[i] = (int32_t)(ntok < tm.L ? ntok : tm.L);
			cut += ntok > tm.L;
		}
		/* The batch as a dataset, for the loss, task and final activation
		 * logic of ck_evaluate. */
		ck_tnz t = {0};
		ck_dataset d;
		ck_eval e;
		if (!ck_tnz_add(&t, "x", CK_DTYPE_I32, 2, (int64_t[]){lb.n, tm.L}, x, &err) ||
		    !ck_tnz_add(&t, "lengths", CK_DTYPE_I32, 1, (int64_t[]){lb.n}, lengths, &err) ||
		    ck_dataset_from_tnz(&d, &t, threads, &err) < 0)
			die("%s", err.msg);
		if (ck_dataset_check_model(&d, m, &err) < 0 ||
		    ck_evaluate(&e, m, &d, NULL, 0, batch, NULL, loss, 0, prob, pred, &err) < 0)
			die("%s: %s", model_path, err.msg);
		if (!named && e.task != CK_TASK_REGRESSION) {
			names_pick(&nm, NULL, 0, mfile, e.task == CK_TASK_BINARY ? 2 : (int)K);
			named = 1;
		}
		for (int i = 0; i < lb.n; i++) {
			put_prediction(o.f, &e, &nm, prob + (size_t)i * K,
			               e.task == CK_TASK_REGRESSION ? 0 : pred[i]);
			fputc('\t', o.f);
			fwrite(lb.text[i], 1, lb.len[i], o.f);
			fputc('\n', o.f);
		}
		fflush(o.f); /* a reader in a pipe sees each batch as it is done */
		lines += lb.n;
		ck_eval_free(&e);
		ck_dataset_free(&d);
		if (lb.n < batch)
			break;
	}
	text_close(&o);
	if (!is_stdin)
		fclose(in);
	if (invalid)
		fprintf(stderr, PROG ": warning: %s: %zu invalid UTF-8 sequence%s replaced by U+FFFD\n",
		        in_name, invalid, invalid == 1 ? "" : "s");
	if (cut)
		fprintf(stderr, PROG ": warning: %" PRId64 " of %" PRId64 " lines cut to the model's "
		        "%" PRId64 " tokens\n", cut, lines, tm.L);
	names_free(&nm);
	for (size_t i = 0; i < B; i++)
		free(lb.text[i]);
	free(lb.text);
	free(lb.cap);
	free(lb.len);
	free(x);
	free(lengths);
	free(pred);
	free(prob);
	ck_vocab_free(tm.vocab);
}

/* ---- main ------------------------------------------------------------------------------- */

/* Token ids must be the model's: the same vocabulary, token for token. Data
 * without a vocabulary is let through (its ids are below the model's size,
 * which ck_dataset_check_model checks) with a warning. */
static void check_vocab(const ck_dataset *d, const char *data_name, const ck_tnz *mfile,
                        const char *model_path)
{
	ck_err err;
	switch (ck_dataset_check_vocab(d, &mfile->meta, "model", &err)) {
	case -1:
		die("%s: %s: tokenize the text with --vocab-from %s", data_name, err.msg, model_path);
	case 1:
		fprintf(stderr, PROG ": warning: %s has no vocabulary (metadata \"vocab\"): its token "
		        "ids are taken to be the model's\n", data_name);
		break;
	case 2:
		fprintf(stderr, PROG ": warning: %s has no vocabulary (metadata \"vocab\") to check "
		        "the data's ids against\n", model_path);
		break;
	}
}

int main(int argc, char **argv)
{
	/* A closed pipe downstream ends the program quietly, as it does cat. */
	signal(SIGPIPE, SIG_DFL);
	cli_init(PROG, usage);

	const char *model_path = NULL, *out_path = NULL, *data_path = "-", *text_path = NULL;
	int json = 0, predict = 0, tsv = 0, topk = 0, batch = 256, threads = 0;
	enum { OPT_JSON = 256, OPT_PREDICT, OPT_TSV, OPT_TEXT, OPT_TOPK, OPT_BATCH, OPT_THREADS,
	       OPT_HELP, OPT_VERSION };
	static const struct option longopts[] = {
		{"model", required_argument, NULL, 'm'},
		{"output", required_argument, NULL, 'o'},
		{"json", no_argument, NULL, OPT_JSON},
		{"predict", no_argument, NULL, OPT_PREDICT},
		{"tsv", no_argument, NULL, OPT_TSV},
		{"text", required_argument, NULL, OPT_TEXT},
		{"top-k", required_argument, NULL, OPT_TOPK},
		{"batch", required_argument, NULL, OPT_BATCH},
		{"threads", required_argument, NULL, OPT_THREADS},
		{"help", no_argument, NULL, OPT_HELP},
		{"version", no_argument, NULL, OPT_VERSION},
		{NULL, 0, NULL, 0},
	};
	opterr = 0;
	int c;
	while ((c = getopt_long(argc, argv, ":m:o:", longopts, NULL)) != -1) {
		switch (c) {
		case 'm': model_path = optarg; break;
		case 'o': out_path = optarg; break;
		case OPT_JSON: json = 1; break;
		case OPT_PREDICT: predict = 1; break;
		case OPT_TSV: tsv = 1; break;
		case OPT_TEXT: text_path = optarg; break;
		case OPT_TOPK: topk = (int)cli_int("--top-k", optarg, 1, INT_MAX); break;
		case OPT_BATCH: batch = (int)cli_int("--batch", optarg, 1, 1 << 20); break;
		case OPT_THREADS: threads = (int)cli_int("--threads", optarg, 0, 1024); break;
		case OPT_HELP: usage(stdout); goto done;
		case OPT_VERSION: printf("cnn-eval (cnnkit) %s\n", ck_version()); goto done;
		case ':': usage_error("option %s needs a value", argv[optind - 1]);
		default:
			usage_error("unknown option %s", argv[optind - 1]);
		}
	}
	if (optind < argc && text_path)
		usage_error("--text reads the sentences: no DATA file (got \"%s\")", argv[optind]);
	if (optind < argc)
		data_path = argv[optind++];
	if (optind < argc)
		usage_error("one data file at most (got \"%s\" too)", argv[optind]);
	if (!model_path)
		usage_error("no model: use -m MODEL");
	if (tsv && !predict)
		usage_error("--tsv goes with --predict");
	if (json && predict)
		usage_error("--json and --predict exclude each other");
	if (text_path && !predict)
		usage_error("--text goes with --predict");

	ck_err err = {{0}};
	ck_tnz mfile = {0};
	if (ck_tnz_load(&mfile, model_path, threads, &err) < 0)
		die("%s: %s", model_path, err.msg);
	if (!ck_meta_get(&mfile.meta, "arch", NULL))
		die("%s: not a model (no \"arch\" metadata)", model_path);
	ck_model *model = ck_model_from_tnz(&mfile, &err);
	if (!model)
		die("%s: %s", model_path, err.msg);
	ck_normalize norm = {0};
	const char *v = ck_meta_get(&mfile.meta, "normalize", NULL);
	if (v && ck_normalize_parse(&norm, v, &err) < 0)
		die("%s: metadata \"normalize\": %s", model_path, err.msg);
	const char *loss_meta = ck_meta_get(&mfile.meta, "loss", NULL);
	ck_loss_kind loss;
	if (loss_meta && ck_loss_parse(loss_meta, &loss) < 0)
		die("%s: metadata \"loss\" is \"%.40s\": expected cce, bce or mse", model_path,
		    loss_meta);

	if (text_path) {
		if (!loss_meta)
			loss = ck_loss_default(model, CK_LABELS_NONE);
		predict_text(text_path, model, &mfile, model_path, out_path, loss, batch, threads);
		ck_model_free(model);
		ck_tnz_free(&mfile);
		goto done;
	}

	const char *data_name = strcmp(data_path, "-") ? data_path : "standard input";
	ck_dataset data;
	if (ck_dataset_load(&data, data_path, threads, &err) < 0)
		die("%s: %s", data_name, err.msg);
	if (data.input_kind == CK_INPUT_TOKENS && ck_model_input_kind(model) == CK_INPUT_TOKENS)
		check_vocab(&data, data_name, &mfile, model_path);
	if (ck_dataset_check_model(&data, model, &err) < 0 ||
	    ck_normalize_check(&norm, &data, &err) < 0)
		die("%s: %s", data_name, err.msg);
	if (data.label_kind == CK_LABELS_NONE && !predict)
		die("%s: data has no labels (y): use --predict", data_name);
	if (!loss_meta)
		loss = ck_loss_default(model, data.label_kind);

	int64_t K = ck_model_output_size(model);
	float *prob = NULL;
	int32_t *pred = NULL;
	if (predict) {
		prob = malloc((size_t)data.n * (size_t)K * sizeof *prob);
		pred = malloc((size_t)data.n * sizeof *pred);
		if (!prob || !pred)
			die("out of memory for %" PRId64 " predictions", data.n);
	}
	if (topk > K && !predict)
		die("--top-k %d is more than the %" PRId64 " outputs of the model", topk, K);
	ck_eval e;
	if (ck_evaluate(&e, model, &data, NULL, 0, batch, &norm, loss, predict ? 0 : topk, prob,
	                pred, &err) < 0)
		die("%s", err.msg);
	names nm = {0};
	if (e.task != CK_TASK_REGRESSION)
		names_pick(&nm, data.class_names, data.nclass_names, &mfile, e.task == CK_TASK_BINARY ? 2 : (int)K);

	if (predict && !tsv) {
		char *cmdline = cli_command_line(argc, argv);
		predictions_tnz(out_path, &e, &nm, prob, pred, cmdline);
		free(cmdline);
	} else {
		text_out o;
		text_open(&o, out_path);
		if (predict)
			predictions_tsv(o.f, &e, &nm, prob, pred);
		else if (json)
			report_json(o.f, &e, &nm);
		else
			report_text(o.f, &e, &nm);
		text_close(&o);
	}
	names_free(&nm);
	ck_eval_free(&e);
	free(prob);
	free(pred);
	ck_dataset_free(&data);
	ck_model_free(model);
	ck_tnz_free(&mfile);
done:
	return cli_close_stdout(0);
}
