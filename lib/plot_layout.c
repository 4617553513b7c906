/* plot_layout.c: what every format shares between the data and the drawing:
 * axis ranges and "nice" ticks, the panels of a picture, the paths in device
 * units (decimated to a few points per device column, which keeps a million
 * rows cheap) and the legend's corner. */
#include "plot_internal.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- ranges ----------------------------------------------------------------- */

static int in_x_range(const ck_plot *p, double x)
{
	return !(x < p->o.xmin) && !(x > p->o.xmax); /* NAN bounds let all in */
}

int plot_x_extent(const ck_plot *p, double *lo, double *hi)
{
	*lo = INFINITY;
	*hi = -INFINITY;
	for (size_t i = 0; i < p->ns; i++) {
		const plot_series *s = &p->s[i];
		for (size_t k = 0; k < s->np; k++)
			if (in_x_range(p, s->px[k])) {
				*lo = fmin(*lo, s->px[k]);
				*hi = fmax(*hi, s->px[k]);
			}
	}
	return *lo <= *hi ? 0 : -1;
}

int plot_y_extent(const ck_plot *p, int panel, double xlo, double xhi, double *lo,
                  double *hi)
{
	*lo = INFINITY;
	*hi = -INFINITY;
	for (size_t i = 0; i < p->ns; i++) {
		const plot_series *s = &p->s[i];
		if (s->panel != panel)
			continue;
		for (size_t k = 0; k < s->np; k++) {
			if (s->px[k] < xlo || s->px[k] > xhi)
				continue;
			*lo = fmin(*lo, s->py[k]);
			*hi = fmax(*hi, s->py[k]);
			if (s->sy) {
				*lo = fmin(*lo, s->sy[k]);
				*hi = fmax(*hi, s->sy[k]);
			}
		}
	}
	return *lo <= *hi ? 0 : -1;
}

void plot_axis_range(plot_axis *a, double lo, double hi, double fix_lo, double fix_hi,
                     double pad_frac)
{
	/* Work in the axis' own space: log10 of the values on a log axis. */
	double (*to)(double) = a->log ? log10 : NULL;
	if (!(lo <= hi)) {
		lo = a->log ? 1 : 0;
		hi = a->log ? 10 : 1;
	}
	if (to) {
		lo = to(lo);
		hi = to(hi);
	}
	if (lo == hi) {
		double d = a->log ? 0.5 : fabs(lo) > 0 ? fabs(lo) * 0.1 : 1;
		lo -= d;
		hi += d;
	}
	double span = hi - lo;
	lo -= span * pad_frac;
	hi += span * pad_frac;
	if (to) {
		lo = pow(10, lo);
		hi = pow(10, hi);
	}
	if (!isnan(fix_lo))
		lo = fix_lo;
	if (!isnan(fix_hi))
		hi = fix_hi;
	if (!(lo < hi)) { /* one end fixed beyond the data: keep the span */
		if (!isnan(fix_lo))
			hi = a->log ? lo * 10 : lo + (span > 0 ? span : 1);
		else
			lo = a->log ? hi / 10 : hi - (span > 0 ? span : 1);
	}
	a->lo = lo;
	a->hi = hi;
}

/* ---- ticks ------------------------------------------------------------------- */

/* "2e+08" -> "2e8", "1e-05" -> "1e-5". */
static void tidy_exponent(char *s)
{
	char *e = strchr(s, 'e');
	if (!e)
		return;
	char *d = e + 1, *r = e + 1;
	if (*r == '+')
		r++;
	else if (*r == '-')
		*d++ = *r++;
	while (*r == '0' && r[1])
		r++;
	memmove(d, r, strlen(r) + 1);
}

/* A tick label with as many decimals as the step needs. */
static void format_linear(char *buf, size_t size, double v, double step, double big)
{
	if (big >= 1e6 || step < 1e-4) {
		int digits = (int)floor(log10(big)) - (int)floor(log10(step)) + 1;
		digits = digits < 1 ? 1 : digits > 15 ? 15 : digits;
		snprintf(buf, size, "%.*g", digits, v);
		tidy_exponent(buf);
		return;
	}
	int decimals = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
	snprintf(buf, size, "%.*f", decimals, v);
}

/* The step of 1, 2 or 5 times a power of ten next above (up > 0) or below
 * (up < 0) step. */
static double next_step(double step, int up)
{
	double mag = pow(10, floor(log10(step) + 1e-9));
	double f = step / mag;
	if (up > 0)
		return (f < 1.5 ? 2 : f < 3.5 ? 5 : 10) * mag;
	return (f > 7 ? 5 : f > 3 ? 2 : f > 1.5 ? 1 : 0.5) * mag;
}

static int count_ticks(double lo, double hi, double step)
{
	return (int)(floor(hi / step + 1e-9) - ceil(lo / step - 1e-9)) + 1;
}

/* The largest 1-2-5 step giving no more than `target` intervals between
 * ticks, made smaller until there are at least two ticks. */
static void ticks_linear(plot_axis *a, double lo, double hi, int target)
{
	double raw = (hi - lo) / (target > 0 ? target : 1);
	double step = pow(10, floor(log10(raw)));
	while (count_ticks(lo, hi, step) > target + 1)
		step = next_step(step, 1);
	while (count_ticks(lo, hi, step) < 2)
		step = next_step(step, -1);
	double k0 = ceil(lo / step - 1e-9), k1 = floor(hi / step + 1e-9);
	double big = fmax(fabs(lo), fabs(hi));
	a->nticks = 0;
	for (double k = k0; k <= k1 && a->nticks < PLOT_MAX_TICKS; k++) {
		double v = k * step;
		if (fabs(v) < step * 1e-9)
			v = 0; /* never "-0.0" */
		a->tick[a->nticks] = v;
		format_linear(a->label[a->nticks], sizeof a->label[0], v, step, big);
		a->nticks++;
	}
}

/* Log axis: powers of ten (every kstep-th), or with their multiples 2 and 5
 * or 2..9 when the range holds few decades; linear ticks when even those give
 * fewer than two. At most target + 1 ticks. */
static void ticks_log(plot_axis *a, int target)
{
	static const int sets[3][10] = {{1}, {1, 2, 5}, {1, 2, 3, 4, 5, 6, 7, 8, 9}};
	static const int set_len[3] = {1, 3, 9};
	double llo = log10(a->lo), lhi = log10(a->hi);
	int e0 = (int)floor(llo), e1 = (int)ceil(lhi);
	int powers = (int)floor(lhi + 1e-9) - (int)ceil(llo - 1e-9) + 1; /* within the range */
	for (int si = 2; si >= 0; si--) {
		int kstep = 1;
		if (si == 0)
			while ((powers + kstep - 1) / kstep > target + 1 && kstep < 1000)
				kstep++;
		int n = 0;
		for (int e = e0; e <= e1; e++) {
			if (si == 0 && ((e % kstep) + kstep) % kstep)
				continue;
			for (int j = 0; j < set_len[si]; j++) {
				double v = sets[si][j] * pow(10, e);
				if (v < a->lo * (1 - 1e-9) || v > a->hi * (1 + 1e-9) || n >= PLOT_MAX_TICKS)
					continue;
				a->tick[n] = v;
				snprintf(a->label[n], sizeof a->label[0], "%g", v);
				tidy_exponent(a->label[n]);
				n++;
			}
		}
		if (n >= 2 && (n <= target + 1 || si == 0)) {
			a->nticks = n;
			return;
		}
	}
	ticks_linear(a, a->lo, a->hi, target);
}

void plot_axis_ticks(plot_axis *a, double length, double spacing, double char_w,
                     int horizontal)
{
	int target = (int)(length / spacing);
	target = target < 2 ? 2 : target > 20 ? 20 : target;
	for (;; target--) {
		if (a->log)
			ticks_log(a, target);
		else
			ticks_linear(a, a->lo, a->hi, target);
		a->label_len = 0;
		for (int i = 0; i < a->nticks; i++) {
			int len = (int)strlen(a->label[i]);
			a->label_len = len > a->label_len ? len : a->label_len;
		}
		if (!horizontal || target <= 2 || a->nticks < 2)
			break;
		/* Labels of neighbouring ticks keep two characters between them. */
		double gap = length;
		for (int i = 1; i < a->nticks; i++)
			gap = fmin(gap, plot_map(a, 0, length, a->tick[i]) -
			                    plot_map(a, 0, length, a->tick[i - 1]));
		if (gap >= (a->label_len + 2) * char_w)
			break;
	}
}

double plot_map(const plot_axis *a, double d0, double d1, double v)
{
	double lo = a->lo, hi = a->hi;
	if (a->log) {
		v = v > 0 ? log10(v) : log10(lo) - 1e6;
		lo = log10(lo);
		hi = log10(hi);
	}
	double t = (v - lo) / (hi - lo);
	/* Far outside the range the exact place does not matter, but a bounded
	 * coordinate keeps the clipping arithmetic finite. */
	t = t < -1e6 ? -1e6 : t > 1e6 ? 1e6 : t;
	return d0 + t * (d1 - d0);
}

/* ---- the picture: panels, margins, text lines ------------------------------- */

void plot_panel_label(const ck_plot *p, int panel, char *buf, size_t size)
{
	size_t len = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < p->ns; i++) {
		const plot_series *s = &p->s[i];
		if (s->panel != panel || !s->np)
			continue;
		int seen = 0;
		for (size_t j = 0; j < i && !seen; j++)
			seen = p->s[j].panel == panel && p->s[j].np &&
			       strcmp(p->s[j].yname, s->yname) == 0;
		if (seen)
			continue;
		size_t add = strlen(s->yname) + (len ? 2 : 0);
		if (len + add >= size || len + add > 40) {
			snprintf(buf, size, "%s", panel == PLOT_PANEL_ACC ? "accuracy" : "loss");
			return;
		}
		len += (size_t)snprintf(buf + len, size - len, "%s%s", len ? ", " : "", s->yname);
	}
}

int plot_layout_pixels(ck_plot *p, const plot_metrics *m, plot_layout *L, ck_err *err)
{
	double W = p->o.width ? p->o.width : 800, H = p->o.height ? p->o.height : 500;
	if (W < 16 || H < 16 || W > 16384 || H > 16384)
		return ck_err_set(err, "picture size %gx%g is not within 16x16 and 16384x16384", W, H);
	memset(L, 0, sizeof *L);
	L->width = W;
	L->height = H;
	int npanels = 0;
	for (size_t i = 0; i < p->ns; i++)
		if (p->s[i].np && !L->panel[p->s[i].panel].used) {
			L->panel[p->s[i].panel].used = 1;
			npanels++;
		}
	L->bottom = L->panel[PLOT_PANEL_ACC].used ? PLOT_PANEL_ACC : PLOT_PANEL_LOSS;

	/* Vertical: title, the panels, x tick labels, x label. */
	double top = m->pad;
	if (p->o.title) {
		L->title_y = top;
		top += m->line_h + m->pad * 0.5;
	} else {
		top += m->line_h * 0.5; /* room for the top tick label */
	}
	double bottom = H - m->pad;
	if (p->o.xlabel) {
		bottom -= m->line_h;
		L->xlabel_y = bottom;
		bottom -= m->pad * 0.25;
	}
	bottom -= m->line_h;
	L->xticks_y = bottom;
	bottom -= m->tick_len + m->pad * 0.25;
	double gap = npanels == 2 ? m->pad * 2 : 0;
	double avail = bottom - top - gap;
	if (avail < 8)
		return ck_err_set(err, "picture size %gx%g is too small for the text", W, H);
	double y = top;
	for (int k = 0; k < PLOT_NPANELS; k++) {
		plot_panel *pn = &L->panel[k];
		if (!pn->used)
			continue;
		double h = npanels == 2 ? avail * (k == PLOT_PANEL_LOSS ? 0.55 : 0.45) : avail;
		pn->area.y0 = y;
		pn->area.y1 = y + h;
		y += h + gap;
	}

	/* The x range, then each panel's y range and ticks. */
	double xlo, xhi;
	int have_x = plot_x_extent(p, &xlo, &xhi) == 0;
	plot_axis_range(&L->x, have_x ? xlo : NAN, have_x ? xhi : NAN, p->o.xmin, p->o.xmax, 0);
	int ylabel_len = 0;
	for (int k = 0; k < PLOT_NPANELS; k++) {
		plot_panel *pn = &L->panel[k];
		if (!pn->used)
			continue;
		double lo, hi;
		int have = plot_y_extent(p, k, L->x.lo, L->x.hi, &lo, &hi) == 0;
		pn->y.log = p->o.logy;
		plot_axis_range(&pn->y, have ? lo : NAN, have ? hi : NAN, p->o.ymin, p->o.ymax,
		                0.05);
		plot_axis_ticks(&pn->y, pn->area.y1 - pn->area.y0, m->y_spacing, m->char_w, 0);
		ylabel_len = pn->y.label_len > ylabel_len ? pn->y.label_len : ylabel_len;
		plot_panel_label(p, k, pn->ylabel, sizeof pn->ylabel);
	}

	/* Horizontal: the rotated y label, y tick labels, ticks, the area. */
	double left = m->pad + m->line_h + m->pad * 0.5 + ylabel_len * m->char_w +
	              m->pad * 0.5 + m->tick_len;
	double right = W - m->pad * 1.5;
	if (right - left < 8)
		return ck_err_set(err, "picture size %gx%g is too small for the text", W, H);
	for (int pass = 0; pass < 2; pass++) {
		plot_axis_ticks(&L->x, right - left, m->x_spacing, m->char_w, 1);
		/* The last x tick label must not run off the picture. */
		if (L->x.nticks < 1)
			break;
		int last = L->x.nticks - 1;
		double xt = plot_map(&L->x, left, right, L->x.tick[last]);
		double over = xt + strlen(L->x.label[last]) * m->char_w / 2 - (W - m->pad * 0.5);
		if (over <= 0)
			break;
		right -= over;
	}
	/* Whole pixels, so that the frame is crisp. */
	for (int k = 0; k < PLOT_NPANELS; k++) {
		plot_rect *a = &L->panel[k].area;
		a->x0 = round(left);
		a->x1 = round(right);
		a->y0 = round(a->y0);
		a->y1 = round(a->y1);
	}
	return 0;
}

/* ---- paths ------------------------------------------------------------------ */

void plot_path_free(plot_path *path)
{
	free(path->x);
	free(path->y);
	memset(path, 0, sizeof *path);
}

static int path_put(plot_path *path, double x, double y)
{
	if (path->n && path->x[path->n - 1] == x && path->y[path->n - 1] == y)
		return 0;
	if (path->n == path->cap) {
		size_t cap = path->cap ? path->cap * 2 : 256;
		double *nx = realloc(path->x, cap * sizeof *nx);
		if (!nx)
			return -1;
		path->x = nx;
		double *ny = realloc(path->y, cap * sizeof *ny);
		if (!ny)
			return -1;
		path->y = ny;
		path->cap = cap;
	}
	path->x[path->n] = x;
	path->y[path->n] = y;
	path->n++;
	return 0;
}

/* The points of one device column: the first, the extremes in the order
 * they came, the last. */
typedef struct column_run {
	double fx, fy, lx, ly;  /* first, last */
	double ax, ay, bx, by;  /* the least and the greatest device y */
	size_t ai, bi;          /* their order */
} column_run;

static int run_flush(plot_path *path, const column_run *c)
{
	int rc = path_put(path, c->fx, c->fy);
	if (c->ai <= c->bi) {
		rc |= path_put(path, c->ax, c->ay);
		rc |= path_put(path, c->bx, c->by);
	} else {
		rc |= path_put(path, c->bx, c->by);
		rc |= path_put(path, c->ax, c->ay);
	}
	rc |= path_put(path, c->lx, c->ly);
	return rc;
}

static int path_build(plot_path *path, const double *x, const double *y, size_t n,
                      const plot_axis *ax, const plot_axis *ay, plot_rect r, double bucket)
{
	path->n = 0;
	column_run c = {0};
	long col = LONG_MIN;
	for (size_t i = 0; i < n; i++) {
		double dx = plot_map(ax, r.x0, r.x1, x[i]), dy = plot_map(ay, r.y1, r.y0, y[i]);
		long b = (long)floor(dx / bucket);
		if (b != col) {
			if (col != LONG_MIN && run_flush(path, &c) < 0)
				return -1;
			col = b;
			c = (column_run){dx, dy, dx, dy, dx, dy, dx, dy, i, i};
			continue;
		}
		c.lx = dx;
		c.ly = dy;
		if (dy < c.ay) {
			c.ax = dx;
			c.ay = dy;
			c.ai = i;
		}
		if (dy > c.by) {
			c.bx = dx;
			c.by = dy;
			c.bi = i;
		}
	}
	if (col != LONG_MIN && run_flush(path, &c) < 0)
		return -1;
	return 0;
}

int plot_paths(ck_plot *p, const plot_layout *L, double bucket, ck_err *err)
{
	for (size_t i = 0; i < p->ns; i++) {
		plot_series *s = &p->s[i];
		const plot_panel *pn = &L->panel[s->panel];
		s->line.n = s->raw.n = 0;
		if (!s->np)
			continue;
		if (path_build(&s->line, s->px, s->sy ? s->sy : s->py, s->np, &L->x, &pn->y,
		               pn->area, bucket) < 0 ||
		    (s->sy && path_build(&s->raw, s->px, s->py, s->np, &L->x, &pn->y, pn->area,
		                         bucket) < 0))
			return ck_err_set(err, "out of memory");
	}
	return 0;
}

/* ---- legend ------------------------------------------------------------------ */

/* "%.4g" without an exponent for the usual values. */
static void format_value(char *buf, size_t size, double v)
{
	snprintf(buf, size, "%.4g", v);
	tidy_exponent(buf);
}

void plot_legend_text(const plot_series *s, char *buf, size_t size)
{
	if (s->best_i < 0) {
		snprintf(buf, size, "%s", s->label);
		return;
	}
	char v[32], at[32];
	format_value(v, sizeof v, s->py[s->best_i]);
	format_value(at, sizeof at, s->px[s->best_i]);
	snprintf(buf, size, "%s (%s %s at %s)", s->label, s->best < 0 ? "min" : "max", v, at);
}

static int inside(plot_rect r, double x, double y)
{
	return x >= r.x0 && x <= r.x1 && y >= r.y0 && y <= r.y1;
}

/* Points of the path inside r, sampling long segments every `step` units. */
static size_t count_hidden(const plot_path *path, plot_rect r, double step)
{
	size_t hits = 0;
	for (size_t i = 0; i < path->n; i++) {
		hits += (size_t)inside(r, path->x[i], path->y[i]);
		if (i + 1 == path->n)
			break;
		double dx = path->x[i + 1] - path->x[i], dy = path->y[i + 1] - path->y[i];
		double len = sqrt(dx * dx + dy * dy);
		int k = len > step ? (int)fmin(len / step, 1e5) : 0;
		for (int j = 1; j < k; j++)
			hits += (size_t)inside(r, path->x[i] + dx * j / k, path->y[i] + dy * j / k);
	}
	return hits;
}

void plot_legend_place(ck_plot *p, plot_layout *L, const plot_metrics *m)
{
	for (int k = 0; k < PLOT_NPANELS; k++) {
		plot_panel *pn = &L->panel[k];
		if (!pn->used)
			continue;
		pn->nlegend = 0;
		pn->legend_len = 0;
		for (size_t i = 0; i < p->ns; i++) {
			if (p->s[i].panel != k || !p->s[i].np)
				continue;
			char text[256];
			plot_legend_text(&p->s[i], text, sizeof text);
			int len = plot_strlen(text);
			pn->legend_len = len > pn->legend_len ? len : pn->legend_len;
			pn->nlegend++;
		}
		double w = m->pad + m->sample + m->pad * 0.5 + pn->legend_len * m->char_w + m->pad;
		double h = pn->nlegend * m->line_h + m->pad;
		plot_rect a = pn->area;
		double in = m->pad * 0.5;
		/* Upper right, upper left, lower left, lower right. */
		plot_rect cand[4] = {
			{a.x1 - in - w, a.y0 + in, a.x1 - in, a.y0 + in + h},
			{a.x0 + in, a.y0 + in, a.x0 + in + w, a.y0 + in + h},
			{a.x0 + in, a.y1 - in - h, a.x0 + in + w, a.y1 - in},
			{a.x1 - in - w, a.y1 - in - h, a.x1 - in, a.y1 - in},
		};
		size_t best = SIZE_MAX;
		for (int c = 0; c < 4; c++) {
			size_t hidden = 0;
			for (size_t i = 0; i < p->ns; i++)
				if (p->s[i].panel == k)
					hidden += count_hidden(&p->s[i].line, cand[c], m->line_h * 0.25) +
					          count_hidden(&p->s[i].raw, cand[c], m->line_h * 0.25);
			if (hidden < best) {
				best = hidden;
				pn->legend = cand[c];
				pn->corner = c;
			}
		}
	}
}
