/* arch_print.c: a spec back to text: the canonical form and the summary table. */
#include "cnnkit.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A growing string; after a failed allocation every append is a no-op and
 * failed stays set. */
typedef struct strbuf {
	char *s;
	size_t len, cap;
	int failed;
} strbuf;

static void sb_printf(strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_printf(strbuf *b, const char *fmt, ...)
{
	if (b->failed)
		return;
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->failed = 1;
			return;
		}
		if (b->s && b->len + (size_t)n < b->cap) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = b->cap ? b->cap : 256;
		while (cap <= b->len + (size_t)n)
			cap *= 2;
		char *grown = realloc(b->s, cap);
		if (!grown) {
			b->failed = 1;
			return;
		}
		b->s = grown;
		b->cap = cap;
	}
}

static int sb_finish(strbuf *b, char **out)
{
	if (!b->s && !b->failed)
		sb_printf(b, "%s", "");
	if (b->failed) {
		free(b->s);
		*out = NULL;
		return -1;
	}
	*out = b->s;
	return 0;
}

/* The shortest decimal that reads back as exactly x. */
static const char *real_str(double x, char *buf, size_t size)
{
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, size, "%.*g", prec, x);
		if (strtod(buf, NULL) == x)
			break;
	}
	return buf;
}

#define REAL(x) real_str((x), (char[32]){0}, 32)

static void put_pair(strbuf *b, const char *prefix, int x, int y)
{
	if (x == y)
		sb_printf(b, "%s%d", prefix, x);
	else
		sb_printf(b, "%s%dx%d", prefix, x, y);
}

static void put_act(strbuf *b, const ck_arch_act *act)
{
	if (act->kind == CK_ARCH_ACT_LINEAR)
		return;
	sb_printf(b, " %s", ck_arch_act_name(act->kind));
	if (act->kind == CK_ARCH_ACT_LEAKYRELU && act->alpha != 0.01)
		sb_printf(b, "=%s", REAL(act->alpha));
}

/* One layer in canonical form: positional arguments, then the options that
 * differ from their defaults in a fixed order, then the activation. */
static void put_layer(strbuf *b, const ck_arch_layer *l)
{
	sb_printf(b, "%s", ck_arch_layer_word(l));
	switch (l->kind) {
	case CK_ARCH_CONV: {
		const ck_arch_conv *c = &l->conv;
		sb_printf(b, " %d", c->filters);
		put_pair(b, " ", c->kh, c->kw);
		if (c->sh != 1 || c->sw != 1)
			put_pair(b, " stride=", c->sh, c->sw);
		if (c->pad_mode == CK_ARCH_PAD_SAME)
			sb_printf(b, " pad=same");
		else if (c->pad_mode == CK_ARCH_PAD_EXPLICIT)
			put_pair(b, " pad=", c->ph, c->pw);
		if (!c->bias)
			sb_printf(b, " bias=no");
		put_act(b, &c->act);
		break;
	}
	case CK_ARCH_CONV1D: {
		const ck_arch_conv1d *c = &l->conv1d;
		sb_printf(b, " %d ", c->filters);
		for (int i = 0; i < c->nwidths; i++)
			sb_printf(b, "%s%d", i ? "," : "", c->widths[i]);
		if (!c->bias)
			sb_printf(b, " bias=no");
		put_act(b, &c->act);
		break;
	}
	case CK_ARCH_MAXPOOL:
	case CK_ARCH_AVGPOOL:
		put_pair(b, " ", l->pool.kh, l->pool.kw);
		if (l->pool.sh != l->pool.kh || l->pool.sw != l->pool.kw)
			put_pair(b, " stride=", l->pool.sh, l->pool.sw);
		break;
	case CK_ARCH_DENSE:
		sb_printf(b, " %d", l->dense.units);
		if (l->dense.maxnorm > 0)
			sb_printf(b, " maxnorm=%s", REAL(l->dense.maxnorm));
		if (!l->dense.bias)
			sb_printf(b, " bias=no");
		put_act(b, &l->dense.act);
		break;
	case CK_ARCH_EMBEDDING:
		sb_printf(b, " %d", l->embedding.dim);
		if (l->embedding.init)
			sb_printf(b, " init=%s", l->embedding.init);
		if (!l->embedding.trainable)
			sb_printf(b, " trainable=no");
		break;
	case CK_ARCH_BATCHNORM:
		if (l->batchnorm.eps != 1e-5)
			sb_printf(b, " eps=%s", REAL(l->batchnorm.eps));
		if (l->batchnorm.momentum != 0.1)
			sb_printf(b, " momentum=%s", REAL(l->batchnorm.momentum));
		break;
	case CK_ARCH_DROPOUT:
		sb_printf(b, " %s", REAL(l->dropout.p));
		break;
	case CK_ARCH_ACTIVATION:
		if (l->act.kind == CK_ARCH_ACT_LEAKYRELU && l->act.alpha != 0.01)
			sb_printf(b, " %s", REAL(l->act.alpha));
		break;
	case CK_ARCH_GLOBALMAXPOOL:
	case CK_ARCH_GLOBALAVGPOOL:
	case CK_ARCH_FLATTEN:
	case CK_ARCH_RESIDUAL:
	case CK_ARCH_END:
		break;
	}
}

int ck_arch_format(const ck_arch *a, char **out)
{
	strbuf b = {0};
	for (int i = 0; i < a->nlayers; i++) {
		if (i)
			sb_printf(&b, "; ");
		put_layer(&b, &a->layers[i]);
	}
	return sb_finish(&b, out);
}

char *ck_arch_shape_str(const ck_arch_shape *s, char *buf, size_t size)
{
	size_t n = 0;
	if (size == 0)
		return buf;
	buf[0] = '\0';
	for (int i = 0; i < s->rank && i < 3; i++) {
		int m = s->dim[i] < 0 ? snprintf(buf + n, size - n, "%s?", i ? "," : "(")
		                      : snprintf(buf + n, size - n, "%s%lld", i ? "," : "(",
		                                 (long long)s->dim[i]);
		if (m < 0 || (size_t)m >= size - n)
			return buf;
		n += (size_t)m;
	}
	snprintf(buf + n, size - n, "%s", s->rank > 0 ? ")" : "()");
	return buf;
}

/* 421642 -> "421,642". */
static const char *grouped(int64_t v, char *buf, size_t size)
{
	char digits[24];
	int n = snprintf(digits, sizeof digits, "%lld", (long long)v);
	size_t j = 0;
	for (int i = 0; i < n && j + 2 < size; i++) {
		if (i > 0 && digits[i - 1] != '-' && (n - i) % 3 == 0)
			buf[j++] = ',';
		buf[j++] = digits[i];
	}
	buf[j] = '\0';
	return buf;
}

#define GROUPED(v) grouped((v), (char[32]){0}, 32)

/* A layer's output shape for the table; a conv1d with several widths shows
 * each branch's length: (48|47|46,100). */
static const char *out_str(const ck_arch_layer *l, char *buf, size_t size)
{
	if (l->kind != CK_ARCH_CONV1D || l->conv1d.nwidths == 1)
		return ck_arch_shape_str(&l->out, buf, size);
	size_t n = 0;
	for (int i = 0; i < l->conv1d.nwidths && n < size; i++)
		n += (size_t)snprintf(buf + n, size - n, "%s%lld", i ? "|" : "(",
		                      (long long)l->conv1d.out_len[i]);
	if (n < size)
		snprintf(buf + n, size - n, ",%d)", l->conv1d.filters);
	return buf;
}

#define TEXT_MAX 48 /* widest layer text in the table; longer ones end in "..." */

int ck_arch_summary(const ck_arch *a, char **out)
{
	*out = NULL;
	if (!a->inferred)
		return -1;
	char shape[160];
	const char *input_label = a->vocab_size > 0 ? "input (token ids)" : "input";
	int wi = snprintf(NULL, 0, "%d", a->nlayers - 1), wt = (int)strlen(input_label);
	int ws = (int)strlen("output shape"), wp = (int)strlen("params");
	if (wi < 1)
		wi = 1;
	int w = (int)strlen(ck_arch_shape_str(&a->input, shape, sizeof shape));
	if (w > ws)
		ws = w;
	for (int i = 0; i < a->nlayers; i++) {
		const ck_arch_layer *l = &a->layers[i];
		size_t len = strlen(l->text);
		if ((int)len > wt)
			wt = len > TEXT_MAX ? TEXT_MAX : (int)len;
		w = (int)strlen(out_str(l, shape, sizeof shape));
		if (w > ws)
			ws = w;
		w = (int)strlen(GROUPED(l->param_count));
		if (w > wp)
			wp = w;
	}

	strbuf b = {0};
	sb_printf(&b, "%*s  %-*s  %-*s  %*s\n", wi, "#", wt, "layer", ws, "output shape", wp,
	          "params");
	const int widths[4] = {wi, wt, ws, wp};
	for (int c = 0; c < 4; c++)
		for (int k = 0; k < widths[c] + (c < 3 ? 2 : 0); k++)
			sb_printf(&b, "%c", k < widths[c] ? '-' : ' ');
	sb_printf(&b, "\n");
	sb_printf(&b, "%*s  %-*s  %s\n", wi, "", wt, input_label,
	          ck_arch_shape_str(&a->input, shape, sizeof shape));
	for (int i = 0; i < a->nlayers; i++) {
		const ck_arch_layer *l = &a->layers[i];
		int len = (int)strlen(l->text);
		const char *dots = len > TEXT_MAX ? "..." : "";
		int shown = len > TEXT_MAX ? TEXT_MAX - 3 : len;
		sb_printf(&b, "%*d  %.*s%s%*s  %-*s  %*s\n", wi, i, shown, l->text, dots,
		          wt - shown - (int)strlen(dots), "", ws, out_str(l, shape, sizeof shape), wp,
		          GROUPED(l->param_count));
	}
	sb_printf(&b, "Total params: %s\n", GROUPED(a->total_params));
	sb_printf(&b, "Trainable params: %s\n", GROUPED(a->trainable_params));
	sb_printf(&b, "Non-trainable params: %s\n", GROUPED(a->total_params - a->trainable_params));
	return sb_finish(&b, out);
}
