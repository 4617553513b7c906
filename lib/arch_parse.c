/* arch_parse.c: the architecture language's parser (formats/arch.md).
 *
 * The text is cut into layers at ';' and newlines ('#' starts a comment that
 * runs to the end of the line), each layer into words at blanks. The first
 * word names the kind; the others are, in any order, positional arguments,
 * key=value options and (on conv, conv1d and dense) one activation word.
 * A table gives each kind its positional arguments, its options and a
 * function that turns them into the kind's struct. */
#include "cnnkit.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_WORDS 64      /* words in one layer */
#define MAX_WORD_LEN 4096 /* bytes in one word (a file name for init=) */
#define MAX_OPTIONS 4     /* options a kind accepts */

/* The words of one layer after the kind, sorted by role. */
typedef struct layer_args {
	int npos;
	const char *pos[2];          /* no kind takes more than two */
	const char *act;             /* the activation word, or NULL */
	const char *opt[MAX_OPTIONS]; /* value of the kind's i-th option, or NULL */
} layer_args;

typedef int (*parse_fn)(ck_arch_layer *l, const layer_args *a, ck_err *err);

typedef struct kind_def {
	const char *word;
	ck_arch_kind kind;
	ck_arch_act_kind act;       /* for the activation layers */
	int min_pos, max_pos;       /* positional arguments */
	int takes_act;              /* accepts an activation word */
	const char *options[MAX_OPTIONS]; /* option keys, NULL-terminated */
	const char *pos_names[2];   /* as in usage */
	const char *usage;
	parse_fn parse;
} kind_def;

/* ---- messages ---------------------------------------------------------- */

/* Copies s into buf in double quotes for a message: at most 60 bytes of it,
 * control bytes, quotes and backslashes escaped. */
static const char *quote(char *buf, size_t size, const char *s)
{
	size_t n = 0, limit = 60;
	buf[n++] = '"';
	for (size_t i = 0; s[i] && n + 8 < size; i++) {
		if (i == limit) {
			memcpy(buf + n, "...", 3);
			n += 3;
			break;
		}
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f)
			n += (size_t)snprintf(buf + n, size - n, "\\x%02x", c);
		else if (c == '"' || c == '\\')
			n += (size_t)snprintf(buf + n, size - n, "\\%c", c);
		else
			buf[n++] = (char)c;
	}
	buf[n++] = '"';
	buf[n] = '\0';
	return buf;
}

#define Q(s) quote((char[80]){0}, 80, (s))

int ck_arch_layer_err(ck_err *err, const ck_arch_layer *l, int index, const char *fmt, ...)
{
	if (err) {
		char msg[sizeof err->msg];
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(msg, sizeof msg, fmt, ap);
		va_end(ap);
		ck_err_set(err, "layer %d %s: %s", index + 1, Q(l->text ? l->text : ""), msg);
	}
	return -1;
}

/* Edit distance with adjacent transpositions (optimal string alignment),
 * ignoring case; large for long words, which get no suggestion. */
static int distance(const char *a, const char *b)
{
	enum { N = 24 };
	size_t la = strlen(a), lb = strlen(b);
	if (la >= N || lb >= N)
		return 100;
	int d[N][N];
	for (size_t i = 0; i <= la; i++)
		d[i][0] = (int)i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = (int)j;
	for (size_t i = 1; i <= la; i++)
		for (size_t j = 1; j <= lb; j++) {
			int ca = tolower((unsigned char)a[i - 1]), cb = tolower((unsigned char)b[j - 1]);
			int best = d[i - 1][j - 1] + (ca != cb);
			if (d[i - 1][j] + 1 < best)
				best = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < best)
				best = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
			    tolower((unsigned char)a[i - 2]) == cb && d[i - 2][j - 2] + 1 < best)
				best = d[i - 2][j - 2] + 1;
			d[i][j] = best;
		}
	return d[la][lb];
}

/* The candidate nearest to word if it is near enough to be a typo
 * (2 edits, 1 for short words), else NULL. */
static const char *nearest(const char *word, const char *const *cands, int n)
{
	const char *best = NULL;
	int best_d = strlen(word) <= 3 ? 2 : 3;
	for (int i = 0; i < n; i++) {
		if (!cands[i])
			break;
		int d = distance(word, cands[i]);
		if (d < best_d) {
			best_d = d;
			best = cands[i];
		}
	}
	return best;
}

/* ---- numbers ----------------------------------------------------------- */

/* A decimal integer in [min,max]: digits only, no sign, no blanks. */
static int parse_int(const char *s, long min, long max, int *out)
{
	if (!isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	char *end;
	long v = strtol(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = (int)v;
	return 0;
}

/* N or NxM, each an integer in [min,max]. */
static int parse_pair(const char *s, long min, long max, int *a, int *b)
{
	char buf[32];
	size_t len = strlen(s);
	if (len >= sizeof buf)
		return -1;
	memcpy(buf, s, len + 1);
	char *x = strchr(buf, 'x');
	if (!x)
		return parse_int(buf, min, max, a) < 0 ? -1 : (*b = *a, 0);
	*x = '\0';
	return parse_int(buf, min, max, a) < 0 || parse_int(x + 1, min, max, b) < 0 ? -1 : 0;
}

/* A finite decimal number in [min,max] ("0.5", ".5", "1e-5"); no sign, no
 * hexadecimal, no inf or nan. strtod follows LC_NUMERIC, which stays "C"
 * unless a program calls setlocale; cnnkit's programs do not. */
static int parse_real(const char *s, double min, double max, double *out)
{
	if (!isdigit((unsigned char)s[0]) && s[0] != '.')
		return -1;
	errno = 0;
	char *end;
	double v = strtod(s, &end);
	if (errno || *end || !isfinite(v) || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static int parse_yes_no(const char *key, const char *s, int *out, ck_err *err)
{
	if (strcmp(s, "yes") == 0)
		*out = 1;
	else if (strcmp(s, "no") == 0)
		*out = 0;
	else
		return ck_err_set(err, "bad %s %s (expected yes or no)", key, Q(s));
	return 0;
}

/* ---- activations ------------------------------------------------------- */

static const char *const act_names[] = {
	[CK_ARCH_ACT_LINEAR] = "linear", [CK_ARCH_ACT_RELU] = "relu",
	[CK_ARCH_ACT_LEAKYRELU] = "leakyrelu", [CK_ARCH_ACT_SIGMOID] = "sigmoid",
	[CK_ARCH_ACT_TANH] = "tanh", [CK_ARCH_ACT_SOFTMAX] = "softmax",
};
#define NACT ((int)(sizeof act_names / sizeof act_names[0]))

#define LEAKYRELU_ALPHA 0.01

const char *ck_arch_act_name(ck_arch_act_kind k)
{
	return (int)k >= 0 && (int)k < NACT ? act_names[k] : "?";
}

/* "relu", "leakyrelu" or "leakyrelu=ALPHA", ... -> act; 1 if the word is
 * not an activation, -1 with a message if its alpha is bad. */
static int parse_act(const char *word, ck_arch_act *act, ck_err *err)
{
	const char *eq = strchr(word, '=');
	size_t len = eq ? (size_t)(eq - word) : strlen(word);
	for (int k = 0; k < NACT; k++) {
		if (strlen(act_names[k]) != len || strncmp(word, act_names[k], len) != 0)
			continue;
		act->kind = (ck_arch_act_kind)k;
		act->alpha = LEAKYRELU_ALPHA;
		if (!eq)
			return 0;
		if (k != CK_ARCH_ACT_LEAKYRELU)
			return 1;
		if (parse_real(eq + 1, 0, 1, &act->alpha) < 0)
			return ck_err_set(err, "bad leakyrelu alpha %s (expected a number from 0 to 1)",
			                  Q(eq + 1));
		return 0;
	}
	return 1;
}

/* ---- one function per kind --------------------------------------------- */

/* Option values, by the index of the key in the kind's options list. */
enum { OPT_STRIDE = 0, OPT_PAD = 1, OPT_BIAS = 2 };             /* conv */
enum { OPT_POOL_STRIDE = 0 };                                   /* pools */
enum { OPT_DENSE_BIAS = 0, OPT_MAXNORM = 1 };                   /* dense */
enum { OPT_CONV1D_BIAS = 0 };                                   /* conv1d */
enum { OPT_INIT = 0, OPT_TRAINABLE = 1 };                       /* embedding */
enum { OPT_EPS = 0, OPT_MOMENTUM = 1 };                         /* batchnorm */

static int parse_act_arg(const layer_args *a, ck_arch_act *act, ck_err *err)
{
	act->kind = CK_ARCH_ACT_LINEAR;
	act->alpha = LEAKYRELU_ALPHA;
	return a->act ? parse_act(a->act, act, err) : 0;
}

static int parse_filters(const char *s, int *out, ck_err *err)
{
	if (parse_int(s, 1, CK_ARCH_MAX_FILTERS, out) < 0)
		return ck_err_set(err, "bad filter count %s (expected an integer from 1 to %d)", Q(s),
		                  CK_ARCH_MAX_FILTERS);
	return 0;
}

static int parse_size(const char *what, const char *letter, const char *s, long min,
                      int *a, int *b, ck_err *err)
{
	if (parse_pair(s, min, CK_ARCH_MAX_KERNEL, a, b) < 0)
		return ck_err_set(err, "bad %s %s (expected %s or %sHx%sW, integers from %ld to %d)",
		                  what, Q(s), letter, letter, letter, min, CK_ARCH_MAX_KERNEL);
	return 0;
}

static int parse_conv(ck_arch_layer *l, const layer_args *a, ck_err *err)
{
	ck_arch_conv *c = &l->conv;
	c->sh = c->sw = 1;
	c->bias = 1;
	c->pad_mode = CK_ARCH_PAD_VALID;
	if (parse_filters(a->pos[0], &c->filters, err) < 0 ||
	    parse_size("kernel size", "K", a->pos[1], 1, &c->kh, &c->kw, err) < 0)
		return -1;
	if (a->opt[OPT_STRIDE] &&
	    parse_size("stride", "S", a->opt[OPT_STRIDE], 1, &c->sh, &c->sw, err) < 0)
		return -1;
	const char *pad = a->opt[OPT_PAD];
	if (pad && strcmp(pad, "same") == 0) {
		c->pad_mode = CK_ARCH_PAD_SAME;
	} else if (pad && strcmp(pad, "valid") != 0) {
		if (parse_pair(pad, 0, CK_ARCH_MAX_KERNEL, &c->ph, &c->pw) < 0) {
			if (isdigit((unsigned char)pad[0]))
				return ck_err_set(err, "bad padding %s (expected N or NHxNW, integers "
				                       "from 0 to %d)", Q(pad), CK_ARCH_MAX_KERNEL);
			return ck_err_set(err, "unknown padding %s (expected same, valid or a number)",
			                  Q(pad));
		}
		/* pad=0 is valid padding: one spelling per meaning. */
		c->pad_mode = c->ph || c->pw ? CK_ARCH_PAD_EXPLICIT : CK_ARCH_PAD_VALID;
	}
	if (a->opt[OPT_BIAS] && parse_yes_no("bias", a->opt[OPT_BIAS], &c->bias, err) < 0)
		return -1;
	return parse_act_arg(a, &c->act, err);
}

static int parse_conv1d(ck_arch_layer *l, const layer_args *a, ck_err *err)
{
	ck_arch_conv1d *c = &l->conv1d;
	c->bias = 1;
	if (parse_filters(a->pos[0], &c->filters, err) < 0)
		return -1;
	/* WIDTH[,WIDTH...]: split a copy at the commas. */
	const char *s = a->pos[1];
	size_t len = strlen(s);
	char buf[128];
	if (len >= sizeof buf || len == 0 || s[len - 1] == ',')
		goto bad;
	memcpy(buf, s, len + 1);
	for (char *w = buf, *next; w; w = next) {
		next = strchr(w, ',');
		if (next)
			*next++ = '\0';
		if (c->nwidths == CK_ARCH_MAX_WIDTHS)
			return ck_err_set(err, "too many widths in %s (at most %d)", Q(s),
			                  CK_ARCH_MAX_WIDTHS);
		int width;
		if (parse_int(w, 1, CK_ARCH_MAX_KERNEL, &width) < 0)
			goto bad;
		for (int i = 0; i < c->nwidths; i++)
			if (c->widths[i] == width)
				return ck_err_set(err, "width %d given twice in %s", width, Q(s));
		c->widths[c->nwidths++] = width;
	}
	if (a->opt[OPT_CONV1D_BIAS] && parse_yes_no("bias", a->opt[OPT_CONV1D_BIAS], &c->bias, err) < 0)
		return -1;
	return parse_act_arg(a, &c->act, err);
bad:
	return ck_err_set(err, "bad width list %s (expected WIDTH[,WIDTH...], integers from 1 "
	                       "to %d)", Q(s), CK_ARCH_MAX_KERNEL);
}

static int parse_pool(ck_arch_layer *l, const layer_args *a, ck_err *err)
{
	ck_arch_pool *p = &l->pool;
	if (parse_size("pool size", "K", a->pos[0], 1, &p->kh, &p->kw, err) < 0)
		return -1;
	p->sh = p->kh;
	p->sw = p->kw;
	if (a->opt[OPT_POOL_STRIDE] &&
	    parse_size("stride", "S", a->opt[OPT_POOL_STRIDE], 1, &p->sh, &p->sw, err) < 0)
		return -1;
	return 0;
}

static int parse_dense(ck_arch_layer *l, const layer_args *a, ck_err *err)
{
	ck_arch_dense *d = &l->dense;
	d->bias = 1;
	if (parse_int(a->pos[0], 1, CK_ARCH_MAX_UNITS, &d->units) < 0)
		return ck_err_set(err, "bad unit count %s (expected an integer from 1 to %d)",
		                  Q(a->pos[0]), CK_ARCH_MAX_UNITS);
	if (a->opt[OPT_DENSE_BIAS] && parse_yes_no("bias", a->opt[OPT_DENSE_BIAS], &d->bias, err) < 0)
		return -1;
	if (a->opt[OPT_MAXNORM] && (parse_real(a->opt[OPT_MAXNORM], 0, 1e6, &d->maxnorm) < 0 ||
	                            d->maxnorm == 0))
		return ck_err_set(err, "bad maxnorm %s (expected a number above 0, at most 1e6)",
		                  Q(a->opt[OPT_MAXNORM]));
	return parse_act_arg(a, &d->act, err);
}

static int parse_embedding(ck_arch_layer *l, const layer_args *a, ck_err *err)
{
	ck_arch_embedding *e = &l->embedding;
	e->trainable = 1;
	if (parse_int(a->pos[0], 1, CK_ARCH_MAX_DIM, &e->dim) < 0)
		return ck_err_set(err, "bad embedding dimension %s (expected an integer from 1 to %d)",
		                  Q(a->pos[0]), CK_ARCH_MAX_DIM);
	if (a->opt[OPT_TRAINABLE] &&
	    parse_yes_no("trainable", a->opt[OPT_TRAINABLE], &e->trainable, err) < 0)
		return -1;
	if (a->opt[OPT_INIT]) {
		e->init = strdup(a->opt[OPT_INIT]);
		if (!e->init)
			return ck_err_set(err, "out of memory");
	}
	return 0;
}

static int parse_batchnorm(ck_arch_layer *l, const layer_args *a, ck_err *err)
{
	ck_arch_batchnorm *b = &l->batchnorm;
	b->eps = 1e-5;
	b->momentum = 0.1;
	if (a->opt[OPT_EPS] && (parse_real(a->opt[OPT_EPS], 0, 1, &b->eps) < 0 || b->eps == 0))
		return ck_err_set(err, "bad eps %s (expected a number above 0, at most 1)",
		                  Q(a->opt[OPT_EPS]));
	if (a->opt[OPT_MOMENTUM] && parse_real(a->opt[OPT_MOMENTUM], 0, 1, &b->momentum) < 0)
		return ck_err_set(err, "bad momentum %s (expected a number from 0 to 1)",
		                  Q(a->opt[OPT_MOMENTUM]));
	return 0;
}

static int parse_dropout(ck_arch_layer *l, const layer_args *a, ck_err *err)
{
	double p;
	if (parse_real(a->pos[0], 0, 1, &p) < 0 || p >= 1)
		return ck_err_set(err, "bad dropout rate %s (expected a number from 0 to below 1)",
		                  Q(a->pos[0]));
	l->dropout.p = p;
	return 0;
}

static int parse_act_layer(ck_arch_layer *l, const layer_args *a, ck_err *err)
{
	l->act.alpha = LEAKYRELU_ALPHA;
	if (a->npos > 0 && parse_real(a->pos[0], 0, 1, &l->act.alpha) < 0)
		return ck_err_set(err, "bad leakyrelu alpha %s (expected a number from 0 to 1)",
		                  Q(a->pos[0]));
	return 0;
}

static int parse_nothing(ck_arch_layer *l, const layer_args *a, ck_err *err)
{
	return 0;
}

/* Positional arguments come first in usage; options and the activation
 * word may follow in any order. */
static const kind_def kinds[] = {
	{.word = "conv", .kind = CK_ARCH_CONV, .min_pos = 2, .max_pos = 2, .takes_act = 1,
	 .options = {"stride", "pad", "bias"}, .pos_names = {"FILTERS", "KERNEL"},
	 .usage = "conv FILTERS KERNEL [stride=S] [pad=same|valid|N] [bias=yes|no] [ACTIVATION]",
	 .parse = parse_conv},
	{.word = "conv1d", .kind = CK_ARCH_CONV1D, .min_pos = 2, .max_pos = 2, .takes_act = 1,
	 .options = {"bias"}, .pos_names = {"FILTERS", "WIDTH"},
	 .usage = "conv1d FILTERS WIDTH[,WIDTH...] [bias=yes|no] [ACTIVATION]",
	 .parse = parse_conv1d},
	{.word = "maxpool", .kind = CK_ARCH_MAXPOOL, .min_pos = 1, .max_pos = 1,
	 .options = {"stride"}, .pos_names = {"K"}, .usage = "maxpool K [stride=S]",
	 .parse = parse_pool},
	{.word = "avgpool", .kind = CK_ARCH_AVGPOOL, .min_pos = 1, .max_pos = 1,
	 .options = {"stride"}, .pos_names = {"K"}, .usage = "avgpool K [stride=S]",
	 .parse = parse_pool},
	{.word = "globalmaxpool", .kind = CK_ARCH_GLOBALMAXPOOL, .usage = "globalmaxpool",
	 .parse = parse_nothing},
	{.word = "globalavgpool", .kind = CK_ARCH_GLOBALAVGPOOL, .usage = "globalavgpool",
	 .parse = parse_nothing},
	{.word = "flatten", .kind = CK_ARCH_FLATTEN, .usage = "flatten", .parse = parse_nothing},
	{.word = "dense", .kind = CK_ARCH_DENSE, .min_pos = 1, .max_pos = 1, .takes_act = 1,
	 .options = {"bias", "maxnorm"}, .pos_names = {"UNITS"},
	 .usage = "dense UNITS [maxnorm=X] [bias=yes|no] [ACTIVATION]", .parse = parse_dense},
	{.word = "embedding", .kind = CK_ARCH_EMBEDDING, .min_pos = 1, .max_pos = 1,
	 .options = {"init", "trainable"}, .pos_names = {"DIM"},
	 .usage = "embedding DIM [init=FILE.tnz] [trainable=yes|no]", .parse = parse_embedding},
	{.word = "batchnorm", .kind = CK_ARCH_BATCHNORM, .options = {"eps", "momentum"},
	 .usage = "batchnorm [eps=X] [momentum=X]", .parse = parse_batchnorm},
	{.word = "dropout", .kind = CK_ARCH_DROPOUT, .min_pos = 1, .max_pos = 1,
	 .pos_names = {"P"}, .usage = "dropout P", .parse = parse_dropout},
	{.word = "relu", .kind = CK_ARCH_ACTIVATION, .act = CK_ARCH_ACT_RELU, .usage = "relu",
	 .parse = parse_act_layer},
	{.word = "leakyrelu", .kind = CK_ARCH_ACTIVATION, .act = CK_ARCH_ACT_LEAKYRELU,
	 .max_pos = 1, .pos_names = {"ALPHA"}, .usage = "leakyrelu [ALPHA]",
	 .parse = parse_act_layer},
	{.word = "sigmoid", .kind = CK_ARCH_ACTIVATION, .act = CK_ARCH_ACT_SIGMOID,
	 .usage = "sigmoid", .parse = parse_act_layer},
	{.word = "tanh", .kind = CK_ARCH_ACTIVATION, .act = CK_ARCH_ACT_TANH, .usage = "tanh",
	 .parse = parse_act_layer},
	{.word = "softmax", .kind = CK_ARCH_ACTIVATION, .act = CK_ARCH_ACT_SOFTMAX,
	 .usage = "softmax", .parse = parse_act_layer},
	{.word = "residual", .kind = CK_ARCH_RESIDUAL, .usage = "residual", .parse = parse_nothing},
	{.word = "end", .kind = CK_ARCH_END, .usage = "end", .parse = parse_nothing},
};
#define NKINDS ((int)(sizeof kinds / sizeof kinds[0]))

const char *ck_arch_layer_word(const ck_arch_layer *l)
{
	for (int i = 0; i < NKINDS; i++)
		if (kinds[i].kind == l->kind &&
		    (l->kind != CK_ARCH_ACTIVATION || kinds[i].act == l->act.kind))
			return kinds[i].word;
	return "?";
}

/* ---- one layer --------------------------------------------------------- */

/* Sorts the words after the kind into positional arguments, options and the
 * activation, checking each against the kind's table entry. */
static int sort_words(const kind_def *k, char **w, int n, layer_args *a, ck_err *err)
{
	memset(a, 0, sizeof *a);
	for (int i = 0; i < n; i++) {
		char *eq = strchr(w[i], '=');
		ck_arch_act act;
		if (k->takes_act && parse_act(w[i], &act, NULL) != 1) {
			if (a->act)
				return ck_err_set(err, "two activations, %s and %s", Q(a->act), Q(w[i]));
			a->act = w[i];
			continue;
		}
		if (eq) {
			*eq = '\0'; /* w[i] is now the key, eq + 1 the value */
			int o = 0;
			while (o < MAX_OPTIONS && k->options[o] && strcmp(k->options[o], w[i]) != 0)
				o++;
			if (o == MAX_OPTIONS || !k->options[o]) {
				const char *near = nearest(w[i], k->options, MAX_OPTIONS);
				if (near)
					return ck_err_set(err, "unknown option %s for %s (did you mean %s?)",
					                  Q(w[i]), k->word, near);
				if (!k->options[0])
					return ck_err_set(err, "unknown option %s (%s takes no options)", Q(w[i]),
					                  k->word);
				return ck_err_set(err, "unknown option %s (usage: %s)", Q(w[i]), k->usage);
			}
			if (a->opt[o])
				return ck_err_set(err, "option %s given twice", Q(w[i]));
			if (!eq[1])
				return ck_err_set(err, "option %s has no value", Q(w[i]));
			a->opt[o] = eq + 1;
			continue;
		}
		if (a->npos < k->max_pos) {
			a->pos[a->npos++] = w[i];
			continue;
		}
		const char *near = k->takes_act ? nearest(w[i], act_names, NACT) : NULL;
		if (near)
			return ck_err_set(err, "unexpected word %s (did you mean %s?)", Q(w[i]), near);
		return ck_err_set(err, "unexpected word %s (usage: %s)", Q(w[i]), k->usage);
	}
	if (a->npos < k->min_pos)
		return ck_err_set(err, "missing %s (usage: %s)", k->pos_names[a->npos], k->usage);
	return 0;
}

static int parse_layer(ck_arch_layer *l, char **w, int n, ck_err *err)
{
	const kind_def *k = NULL;
	for (int i = 0; i < NKINDS && !k; i++)
		if (strcmp(w[0], kinds[i].word) == 0)
			k = &kinds[i];
	if (!k) {
		const char *names[NKINDS];
		for (int i = 0; i < NKINDS; i++)
			names[i] = kinds[i].word;
		const char *near = nearest(w[0], names, NKINDS);
		if (near)
			return ck_err_set(err, "unknown layer kind %s (did you mean %s?)", Q(w[0]), near);
		char list[256];
		size_t len = 0;
		for (int i = 0; i < NKINDS && len < sizeof list; i++)
			len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "",
			                        names[i]);
		return ck_err_set(err, "unknown layer kind %s (expected one of: %s)", Q(w[0]), list);
	}
	l->kind = k->kind;
	if (k->kind == CK_ARCH_ACTIVATION)
		l->act.kind = k->act;
	layer_args a;
	if (sort_words(k, w + 1, n - 1, &a, err) < 0)
		return -1;
	return k->parse(l, &a, err);
}

/* ---- the whole text ---------------------------------------------------- */

/* Checks what needs more than one layer: residual/end pairs, and a conv1d
 * with several widths followed by globalmaxpool. */
static int check_structure(ck_arch *a, ck_err *err)
{
	int stack[CK_ARCH_MAX_DEPTH], depth = 0;
	for (int i = 0; i < a->nlayers; i++) {
		ck_arch_layer *l = &a->layers[i];
		if (l->kind == CK_ARCH_RESIDUAL) {
			if (depth == CK_ARCH_MAX_DEPTH)
				return ck_arch_layer_err(err, l, i, "residual blocks nested too deep (at "
				                                    "most %d)", CK_ARCH_MAX_DEPTH);
			stack[depth++] = i;
		} else if (l->kind == CK_ARCH_END) {
			if (depth == 0)
				return ck_arch_layer_err(err, l, i, "\"end\" without a \"residual\" to close");
			int open = stack[--depth];
			a->layers[open].block.match = i;
			l->block.match = open;
		} else if (l->kind == CK_ARCH_CONV1D && l->conv1d.nwidths > 1 &&
		           (i + 1 == a->nlayers || a->layers[i + 1].kind != CK_ARCH_GLOBALMAXPOOL)) {
			return ck_arch_layer_err(err, l, i, "a conv1d with several widths must be "
			                                    "followed by globalmaxpool");
		}
	}
	if (depth > 0)
		return ck_arch_layer_err(err, &a->layers[stack[depth - 1]], stack[depth - 1],
		                         "residual block not closed (add a layer \"end\")");
	return 0;
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* Cuts [s,e) into words and builds the layer's text (its words joined by
 * one space) and a copy with a NUL after each word, which w points into. */
static int split_layer(const char *s, const char *e, int number, ck_arch_layer *l,
                       char **scratch, char **w, int *nw, ck_err *err)
{
	const char *start[MAX_WORDS];
	size_t len[MAX_WORDS], total = 0;
	int n = 0;
	*nw = 0;
	for (const char *p = s; p < e;) {
		while (p < e && is_blank(*p))
			p++;
		if (p == e)
			break;
		const char *q = p;
		while (q < e && !is_blank(*q))
			q++;
		if (n == MAX_WORDS)
			return ck_err_set(err, "layer %d: too many words (at most %d)", number, MAX_WORDS);
		if ((size_t)(q - p) > MAX_WORD_LEN)
			return ck_err_set(err, "layer %d: word of %zu bytes is too long (at most %d)",
			                  number, (size_t)(q - p), MAX_WORD_LEN);
		start[n] = p;
		len[n] = (size_t)(q - p);
		total += len[n] + 1;
		n++;
		p = q;
	}
	if (n == 0)
		return 0;
	l->text = malloc(total);
	*scratch = malloc(total);
	if (!l->text || !*scratch)
		return ck_err_set(err, "out of memory");
	char *t = l->text, *c = *scratch;
	for (int i = 0; i < n; i++) {
		memcpy(t, start[i], len[i]);
		memcpy(c, start[i], len[i]);
		w[i] = c;
		t += len[i];
		c += len[i];
		*t++ = i + 1 < n ? ' ' : '\0';
		*c++ = '\0';
	}
	*nw = n;
	/* Control bytes cannot be part of any word; say where one is. */
	for (const char *p = l->text; *p; p++) {
		unsigned char b = (unsigned char)*p;
		if (b < 0x20 || b == 0x7f)
			return ck_err_set(err, "layer %d %s: unexpected control byte 0x%02x", number,
			                  Q(l->text), b);
	}
	return 0;
}

int ck_arch_parse(const char *text, ck_arch *out, ck_err *err)
{
	memset(out, 0, sizeof *out);
	int cap = 0;
	const char *p = text;
	while (*p) {
		/* One layer: up to ';', a newline or a comment. */
		const char *s = p;
		while (*p && *p != ';' && *p != '\n' && *p != '#')
			p++;
		const char *e = p;
		if (*p == '#')
			while (*p && *p != '\n')
				p++;
		if (*p)
			p++;

		ck_arch_layer l = {0};
		char *scratch = NULL, *w[MAX_WORDS];
		int nw;
		int number = out->nlayers + 1;
		if (split_layer(s, e, number, &l, &scratch, w, &nw, err) < 0)
			goto fail_layer;
		if (nw == 0)
			continue;
		if (number > CK_ARCH_MAX_LAYERS) {
			ck_err_set(err, "layer %d %s: too many layers (at most %d)", number, Q(l.text),
			           CK_ARCH_MAX_LAYERS);
			goto fail_layer;
		}
		if (out->nlayers == cap) {
			int ncap = cap ? 2 * cap : 16;
			ck_arch_layer *grown = realloc(out->layers, (size_t)ncap * sizeof *grown);
			if (!grown) {
				ck_err_set(err, "out of memory");
				goto fail_layer;
			}
			out->layers = grown;
			cap = ncap;
		}
		if (parse_layer(&l, w, nw, err) < 0) {
			char msg[sizeof err->msg];
			if (err) {
				memcpy(msg, err->msg, sizeof msg);
				ck_arch_layer_err(err, &l, number - 1, "%s", msg);
			}
			goto fail_layer;
		}
		free(scratch);
		out->layers[out->nlayers++] = l;
		continue;
fail_layer:
		free(scratch);
		free(l.text);
		if (l.kind == CK_ARCH_EMBEDDING)
			free(l.embedding.init);
		ck_arch_free(out);
		return -1;
	}
	if (out->nlayers == 0)
		return ck_err_set(err, "no layers (an architecture needs at least one)");
	if (check_structure(out, err) < 0) {
		ck_arch_free(out);
		return -1;
	}
	return 0;
}

void ck_arch_free(ck_arch *a)
{
	for (int i = 0; i < a->nlayers; i++) {
		free(a->layers[i].text);
		if (a->layers[i].kind == CK_ARCH_EMBEDDING)
			free(a->layers[i].embedding.init);
	}
	free(a->layers);
	free(a->params);
	memset(a, 0, sizeof *a);
}
