/* plot.c: the plot object (options, series), the preparation of the points
 * every renderer draws (smoothing, resumed steps, the best validation
 * point) and the dispatch to the PNG, SVG and terminal renderers. */
#include "plot_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void ck_plot_opts_init(ck_plot_opts *o)
{
	memset(o, 0, sizeof *o);
	o->xmin = o->xmax = o->ymin = o->ymax = NAN;
}

static char *dup_or_null(const char *s, int *failed)
{
	if (!s)
		return NULL;
	char *d = strdup(s);
	if (!d)
		*failed = 1;
	return d;
}

static int bad_range(double lo, double hi)
{
	return !isnan(lo) && !isnan(hi) && !(lo < hi);
}

ck_plot *ck_plot_new(const ck_plot_opts *opts, ck_err *err)
{
	if (!(opts->smooth >= 0 && opts->smooth < 1)) {
		ck_err_set(err, "smoothing weight %g is not in [0, 1)", opts->smooth);
		return NULL;
	}
	if (bad_range(opts->xmin, opts->xmax) || bad_range(opts->ymin, opts->ymax)) {
		ck_err_set(err, "empty range: the low end must be below the high end");
		return NULL;
	}
	if (opts->logy && ((!isnan(opts->ymin) && opts->ymin <= 0) ||
	                   (!isnan(opts->ymax) && opts->ymax <= 0))) {
		ck_err_set(err, "a logarithmic y range must be above 0");
		return NULL;
	}
	ck_plot *p = calloc(1, sizeof *p);
	if (!p) {
		ck_err_set(err, "out of memory");
		return NULL;
	}
	int failed = 0;
	p->o = *opts;
	p->o.title = dup_or_null(opts->title, &failed);
	p->o.xlabel = dup_or_null(opts->xlabel, &failed);
	if (failed) {
		ck_plot_free(p);
		ck_err_set(err, "out of memory");
		return NULL;
	}
	return p;
}

static void series_free_prepared(plot_series *s)
{
	free(s->px);
	free(s->py);
	free(s->sy);
	s->px = s->py = s->sy = NULL;
	s->np = 0;
	plot_path_free(&s->line);
	plot_path_free(&s->raw);
}

void ck_plot_free(ck_plot *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->ns; i++) {
		series_free_prepared(&p->s[i]);
		free(p->s[i].label);
		free(p->s[i].yname);
	}
	free(p->s);
	free((char *)p->o.title);
	free((char *)p->o.xlabel);
	free(p);
}

int ck_plot_add(ck_plot *p, const char *label, const char *yname, const double *x,
                const double *y, size_t n, ck_err *err)
{
	if (p->ns == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 8;
		plot_series *s = realloc(p->s, cap * sizeof *s);
		if (!s)
			return ck_err_set(err, "out of memory");
		p->s = s;
		p->cap = cap;
	}
	plot_series *s = &p->s[p->ns];
	memset(s, 0, sizeof *s);
	s->label = strdup(label);
	s->yname = strdup(yname);
	if (!s->label || !s->yname) {
		free(s->label);
		free(s->yname);
		return ck_err_set(err, "out of memory");
	}
	s->x = x;
	s->y = y;
	s->n = n;
	s->panel = strstr(yname, "acc") ? PLOT_PANEL_ACC : PLOT_PANEL_LOSS;
	if (strncmp(yname, "val", 3) == 0)
		s->best = s->panel == PLOT_PANEL_ACC ? 1 : strstr(yname, "loss") ? -1 : 0;
	s->color = 0;
	for (size_t i = 0; i < p->ns; i++)
		s->color += p->s[i].panel == s->panel;
	s->best_i = -1;
	p->ns++;
	return 0;
}

/* ---- preparation ------------------------------------------------------------ */

static int prepare_series(const ck_plot *p, plot_series *s, ck_err *err)
{
	series_free_prepared(s);
	s->best_i = -1;
	size_t n = s->n ? s->n : 1;
	s->px = malloc(n * sizeof *s->px);
	s->py = malloc(n * sizeof *s->py);
	if (!s->px || !s->py)
		return ck_err_set(err, "out of memory");
	size_t np = 0;
	for (size_t i = 0; i < s->n; i++) {
		double x = s->x[i], y = s->y[i];
		if (!isfinite(x) || !isfinite(y) || (p->o.logy && y <= 0))
			continue;
		/* A resumed run repeats the steps logged after its last checkpoint:
		 * the later rows are the ones that count (formats/log.md). */
		if (p->o.keep_last)
			while (np > 0 && s->px[np - 1] >= x)
				np--;
		s->px[np] = x;
		s->py[np] = y;
		np++;
	}
	s->np = np;
	if (p->o.smooth > 0 && np > 0) {
		s->sy = malloc(np * sizeof *s->sy);
		if (!s->sy)
			return ck_err_set(err, "out of memory");
		/* Exponential moving average, divided by 1 - A^k so that the first
		 * points are not pulled towards zero (as TensorBoard does). */
		double a = p->o.smooth, acc = 0, weight = 1;
		for (size_t i = 0; i < np; i++) {
			acc = a * acc + (1 - a) * s->py[i];
			weight *= a;
			s->sy[i] = acc / (1 - weight);
		}
	}
	if (s->best)
		for (size_t i = 0; i < np; i++)
			if (s->best_i < 0 || (s->best < 0 ? s->py[i] < s->py[s->best_i]
			                                  : s->py[i] > s->py[s->best_i]))
				s->best_i = (long)i;
	return 0;
}

int plot_prepare(ck_plot *p, ck_err *err)
{
	size_t total = 0;
	for (size_t i = 0; i < p->ns; i++) {
		if (prepare_series(p, &p->s[i], err) < 0)
			return -1;
		total += p->s[i].np;
	}
	if (!total)
		return ck_err_set(err, "nothing to plot: no series has a finite point%s",
		                  p->o.logy ? " above 0" : "");
	return 0;
}

/* ---- small shared helpers ----------------------------------------------------- */

void plot_color_rgb(int i, uint8_t rgb[3])
{
	/* Distinct on white and for the common colour blindnesses first:
	 * blue, orange, green, red, purple, brown, pink, grey, olive, cyan. */
	static const uint8_t palette[10][3] = {
		{31, 119, 180}, {255, 127, 14}, {44, 160, 44},  {214, 39, 40},
		{148, 103, 189}, {140, 86, 75}, {227, 119, 194}, {127, 127, 127},
		{188, 189, 34}, {23, 190, 207},
	};
	memcpy(rgb, palette[i % 10], 3);
}

void plot_buf_put(plot_buf *b, const void *data, size_t n)
{
	if (b->failed || (n == 0 && b->data))
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *d = realloc(b->data, cap);
		if (!d) {
			b->failed = 1;
			return;
		}
		b->data = d;
		b->cap = cap;
	}
	if (n)
		memcpy(b->data + b->len, data, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void plot_buf_puts(plot_buf *b, const char *s)
{
	plot_buf_put(b, s, strlen(s));
}

void plot_buf_printf(plot_buf *b, const char *fmt, ...)
{
	char small[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof small, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->failed = 1;
		return;
	}
	if ((size_t)n < sizeof small) {
		plot_buf_put(b, small, (size_t)n);
		return;
	}
	char *big = malloc((size_t)n + 1);
	if (!big) {
		b->failed = 1;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	plot_buf_put(b, big, (size_t)n);
	free(big);
}

int plot_strlen(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

/* ---- rendering ------------------------------------------------------------------ */

int ck_plot_render(ck_plot *p, ck_plot_format fmt, char **out, size_t *len, ck_err *err)
{
	plot_buf b = {0};
	int rc;
	switch (fmt) {
	case CK_PLOT_PNG:
		rc = plot_render_png(p, &b, err);
		break;
	case CK_PLOT_SVG:
		rc = plot_render_svg(p, &b, err);
		break;
	case CK_PLOT_TERM:
		rc = plot_render_term(p, &b, err);
		break;
	default:
		rc = ck_err_set(err, "unknown plot format %d", (int)fmt);
		break;
	}
	if (rc == 0 && b.failed)
		rc = ck_err_set(err, "out of memory");
	if (rc < 0) {
		free(b.data);
		return -1;
	}
	*out = b.data;
	*len = b.len;
	return 0;
}
