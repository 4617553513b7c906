/* plot_term.c: the plot as lines of terminal text.
 *
 * Curves are drawn with braille characters (U+2800..U+28FF), each cell a
 * grid of 2x4 dots, so that a 60x15 terminal shows about 110x40 points.
 * Axes use box-drawing characters; colours are ANSI SGR codes, one per
 * series, when opts.color is set. Device units are dots: 2 per column, 4 per
 * row. Each panel is laid out as:
 *
 *   loss, val_loss                  <- the y columns
 *   2.0 ┤⠑⢄                         <- tick labels, the y axis, the area
 *       │  ⠑⠢⣀⣀⣀⣀⣀⠤⠤⠤⠤
 *   0.5 ┤
 *       └───┬──────┬──────┬
 *          2000   4000   6000      <- under the last panel only
 *                  step
 */
#include "plot_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MIN_COLS CK_PLOT_TERM_MIN_COLS
#define MIN_ROWS CK_PLOT_TERM_MIN_ROWS
#define MAX_CELLS CK_PLOT_TERM_MAX_CELLS

typedef struct term_cell {
	uint32_t cp;    /* a character, or 0 for braille of `dots` (blank when none) */
	uint8_t dots;   /* braille dot bits */
	int8_t color;   /* palette index, -1 = the terminal's colour */
} term_cell;

typedef struct screen {
	int w, h;
	term_cell *cell;
} screen;

static term_cell *at(screen *s, int row, int col)
{
	return row >= 0 && col >= 0 && row < s->h && col < s->w ? &s->cell[row * s->w + col]
	                                                         : NULL;
}

/* Decodes one UTF-8 character of s into *cp; returns its length (an invalid
 * byte is one '?'). */
static int utf8_next(const unsigned char *s, uint32_t *cp)
{
	int n = s[0] < 0x80 ? 1 : (s[0] & 0xE0) == 0xC0 ? 2 : (s[0] & 0xF0) == 0xE0 ? 3
	        : (s[0] & 0xF8) == 0xF0 ? 4 : 0;
	uint32_t v = n == 1 ? s[0] : n == 2 ? s[0] & 0x1Fu : n == 3 ? s[0] & 0x0Fu : s[0] & 0x07u;
	for (int i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80) {
			n = 0;
			break;
		}
		v = v << 6 | (s[i] & 0x3Fu);
	}
	if (n == 0 || v < 0x20 || (v >= 0x7F && v < 0xA0)) {
		*cp = '?';
		return 1;
	}
	*cp = v;
	return n;
}

/* Writes text from (row, col), at most max characters. */
static void put_text(screen *s, int row, int col, const char *text, int max, int color)
{
	const unsigned char *p = (const unsigned char *)text;
	for (int i = 0; *p && i < max; i++) {
		uint32_t cp;
		p += utf8_next(p, &cp);
		term_cell *c = at(s, row, col + i);
		if (c)
			*c = (term_cell){cp, 0, (int8_t)color};
	}
}

/* ---- dots -------------------------------------------------------------------- */

/* The bit of dot (dx, dy) of a cell, dx in 0..1, dy in 0..3 (Unicode braille
 * numbers the dots 1-2-3-7 down the left column and 4-5-6-8 down the right). */
static const uint8_t dot_bit[4][2] = {{0x01, 0x08}, {0x02, 0x10}, {0x04, 0x20}, {0x40, 0x80}};

typedef struct dot_area {
	screen *s;
	int row0, col0;   /* the cell of dot (0, 0) */
	int wd, hd;       /* size in dots */
} dot_area;

static void set_dot(const dot_area *d, long x, long y, int color)
{
	if (x < 0 || y < 0 || x >= d->wd || y >= d->hd)
		return;
	term_cell *c = at(d->s, d->row0 + (int)(y / 4), d->col0 + (int)(x / 2));
	if (!c || c->cp)
		return;
	c->dots |= dot_bit[y % 4][x % 2];
	c->color = (int8_t)color;
}

/* Bresenham from (x0, y0) to (x1, y1), cut to the area first so that far
 * points cost nothing. */
static void dot_line(const dot_area *d, double fx0, double fy0, double fx1, double fy1,
                     int color)
{
	double lim = 4.0 * (d->wd + d->hd);
	if (fmax(fabs(fx0), fabs(fx1)) > lim || fmax(fabs(fy0), fabs(fy1)) > lim) {
		/* Shorten towards the area along the line: keep the part near it. */
		double t0 = 0, t1 = 1, dx = fx1 - fx0, dy = fy1 - fy0;
		double p[4] = {-dx, dx, -dy, dy};
		double q[4] = {fx0 + lim, lim - fx0, fy0 + lim, lim - fy0};
		for (int i = 0; i < 4; i++) {
			if (p[i] == 0) {
				if (q[i] < 0)
					return;
				continue;
			}
			double t = q[i] / p[i];
			if (p[i] < 0)
				t0 = fmax(t0, t);
			else
				t1 = fmin(t1, t);
		}
		if (t0 > t1)
			return;
		double ox = fx0, oy = fy0;
		fx0 = ox + t0 * dx;
		fy0 = oy + t0 * dy;
		fx1 = ox + t1 * dx;
		fy1 = oy + t1 * dy;
	}
	long x0 = lround(fx0), y0 = lround(fy0), x1 = lround(fx1), y1 = lround(fy1);
	long dx = labs(x1 - x0), dy = -labs(y1 - y0);
	long sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1, e = dx + dy;
	for (;;) {
		set_dot(d, x0, y0, color);
		if (x0 == x1 && y0 == y1)
			break;
		long e2 = 2 * e;
		if (e2 >= dy) {
			e += dy;
			x0 += sx;
		}
		if (e2 <= dx) {
			e += dx;
			y0 += sy;
		}
	}
}

/* ---- output -------------------------------------------------------------------- */

static void put_utf8(plot_buf *b, uint32_t cp)
{
	char u[4];
	int n;
	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xC0 | cp >> 6);
		u[1] = (char)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xE0 | cp >> 12);
		u[1] = (char)(0x80 | (cp >> 6 & 0x3F));
		u[2] = (char)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		u[0] = (char)(0xF0 | cp >> 18);
		u[1] = (char)(0x80 | (cp >> 12 & 0x3F));
		u[2] = (char)(0x80 | (cp >> 6 & 0x3F));
		u[3] = (char)(0x80 | (cp & 0x3F));
		n = 4;
	}
	plot_buf_put(b, u, (size_t)n);
}

/* ANSI foreground colours in the order of the palette: blue, yellow (for
 * orange), green, red, magenta, cyan, then their bright forms. */
static int ansi_color(int i)
{
	static const int codes[12] = {34, 33, 32, 31, 35, 36, 94, 93, 92, 91, 95, 96};
	return codes[i % 12];
}

static void screen_emit(const screen *s, int color, plot_buf *b)
{
	for (int r = 0; r < s->h; r++) {
		const term_cell *row = &s->cell[r * s->w];
		int end = s->w; /* no trailing blanks */
		while (end > 0 && (row[end - 1].cp == ' ' || (!row[end - 1].cp && !row[end - 1].dots)))
			end--;
		int cur = -1;
		for (int c = 0; c < end; c++) {
			const term_cell *t = &row[c];
			int want = color && (t->cp || t->dots) ? t->color : -1;
			if (want != cur) {
				if (want < 0)
					plot_buf_puts(b, "\033[0m");
				else
					plot_buf_printf(b, "\033[%dm", ansi_color(want));
				cur = want;
			}
			if (t->cp)
				put_utf8(b, t->cp);
			else if (t->dots)
				put_utf8(b, 0x2800u + t->dots);
			else
				plot_buf_puts(b, " ");
		}
		if (cur >= 0)
			plot_buf_puts(b, "\033[0m");
		plot_buf_puts(b, "\n");
	}
}

/* ---- layout and drawing ----------------------------------------------------------- */

typedef struct term_panel {
	int head;   /* row of the y label */
	int top;    /* first row of the area */
	int rows;   /* rows of the area; the axis is on row top + rows */
} term_panel;

/* One legend entry: a coloured "──" and the text, at most w cells. */
static int legend_entry(screen *s, ck_plot *p, const plot_series *se, int row, int col, int w)
{
	char text[256];
	plot_legend_text(se, text, sizeof text);
	for (int c = col; c < col + 2 && c < col + w; c++)
		*at(s, row, c) = (term_cell){0x2500, 0, (int8_t)se->color}; /* ── */
	put_text(s, row, col + 3, text, w - 3, -1);
	return plot_strlen(text) + 3;
}

/* The legend on the panel's label row when it fits there, which hides
 * nothing; else the y label goes there and the legend in the corner of the
 * area that plot_legend_place chose. */
static void draw_legend(screen *s, ck_plot *p, const plot_layout *L, int k,
                        const term_panel *tp, int col0, int cols)
{
	const plot_panel *pn = &L->panel[k];
	int inline_w = 0;
	for (size_t i = 0; i < p->ns; i++)
		if (p->s[i].panel == k && p->s[i].np) {
			char text[256];
			plot_legend_text(&p->s[i], text, sizeof text);
			inline_w += (inline_w ? 2 : 0) + 3 + plot_strlen(text);
		}
	if (inline_w <= s->w) {
		int col = 0;
		for (size_t i = 0; i < p->ns; i++)
			if (p->s[i].panel == k && p->s[i].np)
				col += legend_entry(s, p, &p->s[i], tp->head, col, s->w - col) + 2;
		return;
	}
	char ylabel[160];
	plot_panel_label(p, k, ylabel, sizeof ylabel);
	put_text(s, tp->head, 0, ylabel, s->w, -1);
	int w = pn->legend_len + 3, h = pn->nlegend;
	w = w > cols ? cols : w;
	h = h > tp->rows ? tp->rows : h;
	int right = pn->corner == 0 || pn->corner == 3, lower = pn->corner >= 2;
	int c0 = right ? col0 + cols - w : col0, r0 = lower ? tp->top + tp->rows - h : tp->top;
	int row = r0;
	for (size_t i = 0; i < p->ns && row < r0 + h; i++) {
		const plot_series *se = &p->s[i];
		if (se->panel != k || !se->np)
			continue;
		for (int c = c0; c < c0 + w; c++)
			*at(s, row, c) = (term_cell){' ', 0, -1};
		legend_entry(s, p, se, row, c0, w);
		row++;
	}
}

int plot_render_term(ck_plot *p, plot_buf *b, ck_err *err)
{
	int W = p->o.width ? p->o.width : 80, H = p->o.height ? p->o.height : 24;
	if (W < MIN_COLS || H < MIN_ROWS || W > MAX_CELLS || H > MAX_CELLS)
		return ck_err_set(err, "terminal size %dx%d is not within %dx%d and %dx%d", W, H,
		                  MIN_COLS, MIN_ROWS, MAX_CELLS, MAX_CELLS);
	if (plot_prepare(p, err) < 0)
		return -1;
	plot_layout L;
	memset(&L, 0, sizeof L);
	int npanels = 0;
	for (size_t i = 0; i < p->ns; i++)
		if (p->s[i].np && !L.panel[p->s[i].panel].used) {
			L.panel[p->s[i].panel].used = 1;
			npanels++;
		}
	L.bottom = L.panel[PLOT_PANEL_ACC].used ? PLOT_PANEL_ACC : PLOT_PANEL_LOSS;

	/* Rows: the title, each panel's label, area and axis, the x ticks and label. */
	int row = p->o.title ? 1 : 0;
	int area_rows = H - row - 1 - (p->o.xlabel ? 1 : 0) - 2 * npanels;
	if (area_rows < 2 * npanels)
		return ck_err_set(err, "terminal size %dx%d is too small for %d panel%s", W, H,
		                  npanels, npanels > 1 ? "s" : "");
	term_panel tp[PLOT_NPANELS] = {{0}};
	for (int k = 0; k < PLOT_NPANELS; k++) {
		if (!L.panel[k].used)
			continue;
		int rows = npanels == 2 && k == PLOT_PANEL_LOSS ? (area_rows * 11 + 19) / 20
		           : npanels == 2 ? area_rows - (area_rows * 11 + 19) / 20 : area_rows;
		tp[k] = (term_panel){row, row + 1, rows};
		row += rows + 2;
	}
	int xticks_row = row, xlabel_row = row + 1;

	/* Ranges and ticks, in dots. */
	double xlo, xhi;
	int have_x = plot_x_extent(p, &xlo, &xhi) == 0;
	plot_axis_range(&L.x, have_x ? xlo : NAN, have_x ? xhi : NAN, p->o.xmin, p->o.xmax, 0);
	int label_w = 0;
	for (int k = 0; k < PLOT_NPANELS; k++) {
		plot_panel *pn = &L.panel[k];
		if (!pn->used)
			continue;
		double lo, hi;
		int have = plot_y_extent(p, k, L.x.lo, L.x.hi, &lo, &hi) == 0;
		pn->y.log = p->o.logy;
		plot_axis_range(&pn->y, have ? lo : NAN, have ? hi : NAN, p->o.ymin, p->o.ymax, 0.05);
		plot_axis_ticks(&pn->y, tp[k].rows * 4, 8, 2, 0);
		label_w = pn->y.label_len > label_w ? pn->y.label_len : label_w;
	}
	int col0 = label_w + 1, cols = W - col0;
	if (cols < 10)
		return ck_err_set(err, "terminal size %dx%d is too narrow", W, H);
	plot_axis_ticks(&L.x, cols * 2, 16, 2, 1);
	for (int k = 0; k < PLOT_NPANELS; k++)
		L.panel[k].area = (plot_rect){0, 0, cols * 2 - 1, tp[k].rows * 4 - 1};
	if (plot_paths(p, &L, 1, err) < 0)
		return -1;
	const plot_metrics dots = {.char_w = 2, .line_h = 4, .sample = 6};
	plot_legend_place(p, &L, &dots);

	screen s = {W, H, calloc((size_t)W * (size_t)H, sizeof(term_cell))};
	if (!s.cell)
		return ck_err_set(err, "out of memory");
	for (int i = 0; i < W * H; i++)
		s.cell[i].color = -1;

	if (p->o.title) {
		int len = plot_strlen(p->o.title);
		put_text(&s, 0, len < W ? (W - len) / 2 : 0, p->o.title, W, -1);
	}
	for (int k = 0; k < PLOT_NPANELS; k++) {
		plot_panel *pn = &L.panel[k];
		if (!pn->used)
			continue;

		/* The y axis and its ticks. */
		for (int r = 0; r < tp[k].rows; r++)
			at(&s, tp[k].top + r, label_w)->cp = 0x2502; /* │ */
		for (int i = 0; i < pn->y.nticks; i++) {
			int r = (int)lround(plot_map(&pn->y, tp[k].rows * 4 - 1, 0, pn->y.tick[i])) / 4;
			int lw = (int)strlen(pn->y.label[i]);
			at(&s, tp[k].top + r, label_w)->cp = 0x2524; /* ┤ */
			put_text(&s, tp[k].top + r, label_w - lw, pn->y.label[i], lw, -1);
		}
		/* The x axis, with ticks. */
		int axis = tp[k].top + tp[k].rows;
		at(&s, axis, label_w)->cp = 0x2514; /* └ */
		for (int c = col0; c < W; c++)
			at(&s, axis, c)->cp = 0x2500; /* ─ */
		int prev_end = -1;
		for (int i = 0; i < L.x.nticks; i++) {
			int c = col0 + (int)lround(plot_map(&L.x, 0, cols * 2 - 1, L.x.tick[i])) / 2;
			at(&s, axis, c)->cp = 0x252C; /* ┬ */
			if (k != L.bottom)
				continue;
			int lw = (int)strlen(L.x.label[i]), start = c - lw / 2;
			if (start + lw > W)
				start = W - lw;
			if (start <= prev_end)
				continue;
			put_text(&s, xticks_row, start, L.x.label[i], lw, -1);
			prev_end = start + lw;
		}

		/* The series, then the best points, then the legend over them. */
		dot_area d = {&s, tp[k].top, col0, cols * 2, tp[k].rows * 4};
		for (size_t i = 0; i < p->ns; i++) {
			const plot_series *se = &p->s[i];
			if (se->panel != k)
				continue;
			const plot_path *path = &se->line;
			if (path->n == 1)
				dot_line(&d, path->x[0], path->y[0], path->x[0], path->y[0], se->color);
			for (size_t j = 0; j + 1 < path->n; j++)
				dot_line(&d, path->x[j], path->y[j], path->x[j + 1], path->y[j + 1], se->color);
		}
		for (size_t i = 0; i < p->ns; i++) {
			const plot_series *se = &p->s[i];
			if (se->panel != k || se->best_i < 0)
				continue;
			double x = plot_map(&L.x, 0, cols * 2 - 1, se->px[se->best_i]);
			double y = plot_map(&pn->y, tp[k].rows * 4 - 1, 0, se->py[se->best_i]);
			term_cell *c = at(&s, tp[k].top + (int)lround(y) / 4, col0 + (int)lround(x) / 2);
			if (c && x >= 0 && y >= 0 && x < cols * 2 && y < tp[k].rows * 4)
				*c = (term_cell){'*', 0, (int8_t)se->color};
		}
		draw_legend(&s, p, &L, k, &tp[k], col0, cols);
	}
	if (p->o.xlabel) {
		int len = plot_strlen(p->o.xlabel);
		put_text(&s, xlabel_row, col0 + (cols - len > 0 ? (cols - len) / 2 : 0), p->o.xlabel,
		         W, -1);
	}
	screen_emit(&s, p->o.color, b);
	free(s.cell);
	return 0;
}
