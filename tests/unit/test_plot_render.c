/* test_plot_render.c: layout, ticks, paths, the raster canvas, the PNG
 * encoder, SVG and terminal output (lib/plot.c, plot_layout.c,
 * plot_raster.c, plot_png.c, plot_svg.c, plot_term.c). */
#include "plot_internal.h"
#include "check.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static ck_plot *new_plot(int w, int h, ck_plot_opts *o)
{
	ck_plot_opts def;
	if (!o) {
		ck_plot_opts_init(&def);
		o = &def;
	}
	o->width = w;
	o->height = h;
	ck_err e = {{0}};
	ck_plot *p = ck_plot_new(o, &e);
	CHECK(p != NULL, "%s", e.msg);
	return p;
}

/* ---- ticks ---------------------------------------------------------------------- */

static int labels_are(const plot_axis *a, const char *want)
{
	char got[512] = "";
	for (int i = 0; i < a->nticks; i++) {
		strcat(got, i ? " " : "");
		strcat(got, a->label[i]);
	}
	if (strcmp(got, want) != 0) {
		printf("# ticks \"%s\", want \"%s\"\n", got, want);
		return 0;
	}
	return 1;
}

static void test_ticks(void)
{
	plot_axis a = {0};
	a.lo = 0;
	a.hi = 1;
	plot_axis_ticks(&a, 500, 100, 10, 1);
	CHECK(labels_are(&a, "0.0 0.2 0.4 0.6 0.8 1.0"), "0..1");
	a.lo = 0.123;
	a.hi = 0.917;
	plot_axis_ticks(&a, 100, 40, 10, 0);
	CHECK(labels_are(&a, "0.2 0.4 0.6 0.8"), "never fewer than two ticks");
	a.lo = -47;
	a.hi = 9400;
	plot_axis_ticks(&a, 700, 100, 12, 1);
	CHECK(labels_are(&a, "0 2000 4000 6000 8000"), "steps");
	a.lo = 0;
	a.hi = 1e6;
	plot_axis_ticks(&a, 700, 100, 12, 1);
	CHECK(labels_are(&a, "0 2e5 4e5 6e5 8e5 1e6"), "large values");
	a.lo = 1.00002;
	a.hi = 1.00008;
	plot_axis_ticks(&a, 300, 100, 10, 0);
	CHECK(labels_are(&a, "1.00002 1.00004 1.00006 1.00008"), "small steps keep their digits");
	/* Labels too wide for the room get fewer ticks. */
	a.lo = 0;
	a.hi = 1e5 + 0.5;
	plot_axis_ticks(&a, 200, 20, 10, 1);
	int ok = 1;
	for (int i = 1; i < a.nticks; i++)
		ok &= plot_map(&a, 0, 200, a.tick[i]) - plot_map(&a, 0, 200, a.tick[i - 1]) >=
		      (a.label_len + 2) * 10;
	CHECK(ok && a.nticks >= 2, "labels keep apart");

	plot_axis l = {0};
	l.log = 1;
	l.lo = 0.0009;
	l.hi = 2;
	plot_axis_ticks(&l, 300, 60, 10, 0);
	CHECK(labels_are(&l, "0.001 0.01 0.1 1"), "log decades");
	l.lo = 0.15;
	l.hi = 0.9;
	plot_axis_ticks(&l, 300, 60, 10, 0);
	CHECK(labels_are(&l, "0.2 0.5"), "log multiples in a decade");
	l.lo = 1e-9;
	l.hi = 1e3;
	plot_axis_ticks(&l, 200, 50, 10, 0);
	CHECK(labels_are(&l, "1e-9 1e-6 0.001 1 1000"), "every third decade");
	CHECK_NEAR(plot_map(&l, 0, 100, 1e-3), 50, 1e-9, "log map");
}

static void test_range(void)
{
	plot_axis a = {0};
	plot_axis_range(&a, 0, 10, NAN, NAN, 0.05);
	CHECK(a.lo == -0.5 && a.hi == 10.5, "padded: %g %g", a.lo, a.hi);
	plot_axis_range(&a, 3, 3, NAN, NAN, 0);
	CHECK(a.lo < 3 && a.hi > 3, "a point is widened");
	plot_axis_range(&a, 0, 10, 20, NAN, 0);
	CHECK(a.lo == 20 && a.hi > 20, "a fixed end beyond the data: %g %g", a.lo, a.hi);
	plot_axis_range(&a, NAN, NAN, NAN, NAN, 0);
	CHECK(a.lo == 0 && a.hi == 1, "no data");
	a.log = 1;
	plot_axis_range(&a, 0.01, 1, NAN, NAN, 0);
	CHECK_NEAR(a.lo, 0.01, 1e-12, "log lo");
	CHECK_NEAR(a.hi, 1, 1e-12, "log hi");
}

/* ---- series ------------------------------------------------------------------------- */

static void test_prepare(void)
{
	ck_plot_opts o;
	ck_plot_opts_init(&o);
	o.keep_last = 1;
	o.smooth = 0.5;
	ck_plot *p = new_plot(0, 0, &o);
	/* A run that died after step 3 and resumed from step 1. */
	double x[] = {1, 2, 3, 2, 3, 4, NAN, 5};
	double y[] = {9, 9, 9, 4, 4, 4, 1, NAN};
	double vy[] = {NAN, 3, NAN, 2, 1, 5, NAN, 0.5};
	ck_err e = {{0}};
	CHECK(ck_plot_add(p, "loss", "loss", x, y, 8, &e) == 0, "%s", e.msg);
	CHECK(ck_plot_add(p, "val", "val_loss", x, vy, 8, &e) == 0, "%s", e.msg);
	CHECK(plot_prepare(p, &e) == 0, "%s", e.msg);
	const plot_series *s = &p->s[0];
	CHECK(s->np == 4 && s->px[0] == 1 && s->px[1] == 2 && s->px[3] == 4 && s->py[1] == 4,
	      "later rows replace the repeated steps (%zu points)", s->np);
	CHECK(s->sy && s->sy[0] == 9 && s->sy[1] == (0.25 * 9 + 0.5 * 4) / 0.75,
	      "bias-corrected moving average: %g", s->sy ? s->sy[1] : 0);
	const plot_series *v = &p->s[1];
	CHECK(v->np == 4 && v->best == -1 && v->best_i >= 0 && v->py[v->best_i] == 0.5,
	      "least val_loss");
	CHECK(p->s[0].best == 0 && p->s[0].best_i == -1, "no mark on a training series");
	char text[128];
	plot_legend_text(v, text, sizeof text);
	CHECK(strcmp(text, "val (min 0.5 at 5)") == 0, "legend: %s", text);
	ck_plot_free(p);

	/* A plot without a finite point is an error. */
	p = new_plot(0, 0, NULL);
	double nan2[] = {NAN, NAN};
	ck_plot_add(p, "loss", "loss", nan2, nan2, 2, &e);
	char *out = NULL;
	size_t len;
	CHECK(ck_plot_render(p, CK_PLOT_PNG, &out, &len, &e) < 0 && strstr(e.msg, "nothing to plot"),
	      "%s", e.msg);
	ck_plot_free(p);
	ck_plot_opts_init(&o);
	o.smooth = 1;
	CHECK(ck_plot_new(&o, &e) == NULL, "smoothing 1 refused");
	ck_plot_opts_init(&o);
	o.xmin = 2;
	o.xmax = 1;
	CHECK(ck_plot_new(&o, &e) == NULL, "an empty range refused");
}

/* A million noisy points become a few per column, and keep their extremes. */
static void test_decimate(void)
{
	size_t n = 1000000;
	double *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
	uint32_t st = 1;
	for (size_t i = 0; i < n; i++) {
		st = st * 1664525u + 1013904223u;
		x[i] = (double)i;
		y[i] = (double)(st >> 8) / (1 << 24);
	}
	y[123456] = 5;
	y[654321] = -5;
	ck_plot *p = new_plot(800, 500, NULL);
	ck_err e = {{0}};
	ck_plot_add(p, "loss", "loss", x, y, n, &e);
	plot_layout L;
	plot_metrics m = {.char_w = 12, .line_h = 24, .tick_len = 6, .pad = 12, .x_spacing = 100,
	                  .y_spacing = 40, .sample = 28};
	CHECK(plot_prepare(p, &e) == 0 && plot_layout_pixels(p, &m, &L, &e) == 0 &&
	      plot_paths(p, &L, 1, &e) == 0, "%s", e.msg);
	const plot_path *path = &p->s[0].line;
	const plot_rect a = L.panel[0].area;
	CHECK(path->n <= 4 * (size_t)(a.x1 - a.x0 + 2), "%zu points for %g columns", path->n,
	      a.x1 - a.x0);
	double lo = 1e9, hi = -1e9;
	for (size_t i = 0; i < path->n; i++) {
		lo = fmin(lo, path->y[i]);
		hi = fmax(hi, path->y[i]);
	}
	CHECK_NEAR(lo, plot_map(&L.panel[0].y, a.y1, a.y0, 5), 1e-9, "the peak is kept");
	CHECK_NEAR(hi, plot_map(&L.panel[0].y, a.y1, a.y0, -5), 1e-9, "the trough is kept");
	ck_plot_free(p);
	free(x);
	free(y);
}

/* ---- the canvas ---------------------------------------------------------------------------- */

static const uint8_t *pixel(const plot_canvas *c, int x, int y)
{
	return c->rgb + 3 * ((size_t)y * c->w + x);
}

/* The blue of the first series, told from the greys of everything else. */
static int is_blue(const uint8_t *px)
{
	return px[2] - px[0] > 60;
}

static int is_grey(const uint8_t *px)
{
	return abs(px[2] - px[0]) < 8 && abs(px[1] - px[0]) < 8;
}

static int in_rect(plot_rect r, double x, double y, double margin)
{
	return x >= r.x0 - margin && x <= r.x1 + margin && y >= r.y0 - margin && y <= r.y1 + margin;
}

/* A two-row log draws one straight line: the pixels along it are inked and
 * the rest of the area is not. */
static void test_straight_line(void)
{
	double x[] = {0, 1}, y[] = {0, 1};
	ck_plot *p = new_plot(400, 300, NULL);
	ck_err e = {{0}};
	ck_plot_add(p, "loss", "loss", x, y, 2, &e);
	plot_canvas c;
	plot_layout L;
	CHECK(plot_draw(p, &c, &L, &e) == 0, "%s", e.msg);
	if (!c.rgb)
		return;
	const plot_panel *pn = &L.panel[PLOT_PANEL_LOSS];
	plot_rect a = pn->area;
	CHECK(pn->used && !L.panel[PLOT_PANEL_ACC].used, "one panel");
	double x0 = plot_map(&L.x, a.x0, a.x1, 0), y0 = plot_map(&pn->y, a.y1, a.y0, 0);
	double x1 = plot_map(&L.x, a.x0, a.x1, 1), y1 = plot_map(&pn->y, a.y1, a.y0, 1);
	CHECK(x0 == a.x0 && x1 == a.x1, "the x range is the data's");
	int inked = 0, along = 0;
	for (double t = 0.02; t <= 0.98; t += 0.01) {
		double px = x0 + t * (x1 - x0), py = y0 + t * (y1 - y0);
		if (in_rect(pn->legend, px, py, 3))
			continue;
		along++;
		inked += is_blue(pixel(&c, (int)px, (int)py));
	}
	CHECK(along > 50 && inked == along, "%d of %d pixels on the line inked", inked, along);
	/* Away from the line (more than 4 pixels), inside or outside the area,
	 * nothing is blue, except the legend's sample line. */
	double len = hypot(x1 - x0, y1 - y0);
	int stray = 0, grey = 0;
	for (int py = 0; py < c.h; py++)
		for (int px = 0; px < c.w; px++) {
			double cx = px + 0.5, cy = py + 0.5;
			double d = fabs((cx - x0) * (y1 - y0) - (cy - y0) * (x1 - x0)) / len;
			int on_line = d <= 4 && in_rect(a, cx, cy, 4);
			if (on_line || in_rect(pn->legend, cx, cy, 0))
				continue;
			stray += !is_grey(pixel(&c, px, py));
			grey++;
		}
	CHECK(stray == 0, "%d of %d pixels off the line are coloured", stray, grey);
	/* The background of the area, between grid lines, is white. */
	const uint8_t *bg = pixel(&c, (int)(a.x0 + 3), (int)(a.y1 - 3));
	CHECK(bg[0] == 255 && bg[1] == 255 && bg[2] == 255, "white background");
	plot_canvas_free(&c);
	ck_plot_free(p);
}

static void test_stroke(void)
{
	static const uint8_t white[3] = {255, 255, 255}, black[3] = {0, 0, 0};
	plot_canvas c;
	CHECK(plot_canvas_init(&c, 40, 20, white, NULL) == 0, "canvas");
	double xs[] = {5, 35, 5}, ys[] = {10.5, 10.5, 10.5};
	plot_path path = {.x = xs, .y = ys, .n = 3};
	plot_canvas_stroke(&c, &path, 3, black, 0.5);
	/* Drawn there and back at half opacity: still half, not three quarters. */
	const uint8_t *mid = pixel(&c, 20, 10);
	CHECK(mid[0] == 128, "a path over itself is no darker: %d", mid[0]);
	CHECK(pixel(&c, 20, 13)[0] == 255 && pixel(&c, 2, 10)[0] == 255, "nothing outside");
	/* Anti-aliasing: the edge pixel of a 2-wide line centred between pixels. */
	plot_canvas_fill(&c, (plot_rect){0, 0, 40, 20}, white, 1);
	double ys2[] = {10, 10};
	plot_path edge = {.x = xs, .y = ys2, .n = 2};
	plot_canvas_stroke(&c, &edge, 2, black, 1);
	CHECK(pixel(&c, 20, 9)[0] == 0 && pixel(&c, 20, 10)[0] == 0, "core inked");
	CHECK(pixel(&c, 20, 8)[0] == 255, "beyond the edge blank: %d", pixel(&c, 20, 8)[0]);
	/* Clipping. */
	plot_canvas_fill(&c, (plot_rect){0, 0, 40, 20}, white, 1);
	c.clip = (plot_rect){10, 0, 20, 20};
	plot_canvas_stroke(&c, &edge, 2, black, 1);
	CHECK(pixel(&c, 15, 10)[0] == 0 && pixel(&c, 25, 10)[0] == 255 && pixel(&c, 9, 10)[0] == 255,
	      "cut to the clip rectangle");
	plot_canvas_free(&c);
}

static void test_text(void)
{
	static const uint8_t white[3] = {255, 255, 255}, black[3] = {0, 0, 0};
	plot_canvas c;
	plot_canvas_init(&c, 40, 30, white, NULL);
	plot_canvas_text(&c, 1, 1, "|", 1, 0, black);
	/* '|' is the middle column of the 5x9 cell, rows 0..6. */
	CHECK(pixel(&c, 3, 1)[0] == 0 && pixel(&c, 3, 7)[0] == 0 && pixel(&c, 3, 8)[0] == 255 &&
	      pixel(&c, 2, 4)[0] == 255, "a glyph at scale 1");
	plot_canvas_fill(&c, (plot_rect){0, 0, 40, 30}, white, 1);
	plot_canvas_text(&c, 0, 0, "-", 2, 0, black);
	/* '-' is row 3, all five columns: rows 6..7 and columns 0..9 at scale 2. */
	CHECK(pixel(&c, 0, 6)[0] == 0 && pixel(&c, 9, 7)[0] == 0 && pixel(&c, 10, 6)[0] == 255 &&
	      pixel(&c, 5, 5)[0] == 255, "a glyph at scale 2");
	plot_canvas_fill(&c, (plot_rect){0, 0, 40, 30}, white, 1);
	plot_canvas_text(&c, 10, 20, "-", 1, 1, black);
	/* Vertical: the bar becomes a column 3 pixels right of x, 5 tall above y. */
	CHECK(pixel(&c, 13, 19)[0] == 0 && pixel(&c, 13, 15)[0] == 0 && pixel(&c, 13, 14)[0] == 255 &&
	      pixel(&c, 12, 17)[0] == 255, "vertical text");
	int glyphs_nonempty = 0;
	for (int ch = 33; ch < 127; ch++) {
		int any = 0;
		for (int r = 0; r < PLOT_FONT_ROWS; r++)
			any |= plot_font[ch - 32][r];
		glyphs_nonempty += any != 0;
	}
	CHECK(glyphs_nonempty == 94, "every printable character has a glyph");
	plot_canvas_free(&c);
}

/* ---- PNG ------------------------------------------------------------------------------------ */

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int paeth(int a, int b, int c)
{
	int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
	return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/* Decodes an 8-bit RGB PNG (one IDAT or several) into rgb; checks CRCs. */
static int png_decode(const uint8_t *d, size_t n, int *w, int *h, uint8_t **rgb)
{
	static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
	if (n < 8 || memcmp(d, sig, 8) != 0)
		return -1;
	uint8_t *z = NULL;
	size_t zn = 0, off = 8;
	int seen_end = 0;
	while (off + 12 <= n && !seen_end) {
		uint32_t len = be32(d + off);
		if (off + 12 + len > n)
			return -2;
		const uint8_t *type = d + off + 4, *data = d + off + 8;
		if (crc32(crc32(0, NULL, 0), type, 4 + len) != be32(data + len))
			return -3;
		if (!memcmp(type, "IHDR", 4)) {
			*w = (int)be32(data);
			*h = (int)be32(data + 4);
			if (data[8] != 8 || data[9] != 2 || data[12] != 0)
				return -4;
		} else if (!memcmp(type, "IDAT", 4)) {
			z = realloc(z, zn + len);
			memcpy(z + zn, data, len);
			zn += len;
		} else if (!memcmp(type, "IEND", 4)) {
			seen_end = 1;
		}
		off += 12 + len;
	}
	if (!seen_end || off != n)
		return -5;
	size_t stride = (size_t)*w * 3;
	uLongf rawn = (stride + 1) * (size_t)*h;
	uint8_t *raw = malloc(rawn);
	if (uncompress(raw, &rawn, z, zn) != Z_OK || rawn != (stride + 1) * (size_t)*h)
		return -6;
	free(z);
	*rgb = malloc(stride * (size_t)*h);
	for (int y = 0; y < *h; y++) {
		const uint8_t *f = raw + (size_t)y * (stride + 1);
		uint8_t *row = *rgb + (size_t)y * stride, *prev = y ? row - stride : NULL;
		for (size_t i = 0; i < stride; i++) {
			int a = i >= 3 ? row[i - 3] : 0, b = prev ? prev[i] : 0;
			int c = prev && i >= 3 ? prev[i - 3] : 0;
			int pred = f[0] == 0 ? 0 : f[0] == 1 ? a : f[0] == 2 ? b : f[0] == 3 ? (a + b) / 2
			           : paeth(a, b, c);
			row[i] = (uint8_t)(f[1 + i] + pred);
		}
	}
	free(raw);
	return 0;
}

static void test_png(void)
{
	static const uint8_t white[3] = {255, 255, 255}, red[3] = {200, 30, 10};
	plot_canvas c;
	plot_canvas_init(&c, 37, 23, white, NULL);
	double xs[] = {2, 30, 10}, ys[] = {3, 20, 5};
	plot_path path = {.x = xs, .y = ys, .n = 3};
	plot_canvas_stroke(&c, &path, 2.5, red, 0.7);
	plot_canvas_text(&c, 1, 10, "Ag", 1, 0, red);
	plot_buf b = {0};
	CHECK(plot_png_encode(&c, &b, NULL) == 0 && !b.failed, "encode");
	int w = 0, h = 0;
	uint8_t *rgb = NULL;
	int rc = png_decode((const uint8_t *)b.data, b.len, &w, &h, &rgb);
	CHECK(rc == 0 && w == 37 && h == 23, "decode: %d", rc);
	CHECK(rc == 0 && memcmp(rgb, c.rgb, (size_t)w * h * 3) == 0, "pixels round-trip");
	free(rgb);
	free(b.data);
	plot_canvas_free(&c);
}

/* ---- SVG and terminal -------------------------------------------------------------------------- */

static void test_svg(void)
{
	ck_plot_opts o;
	ck_plot_opts_init(&o);
	o.title = "a<b & \"c\" \x01 \xff";
	o.xlabel = "step";
	ck_plot *p = new_plot(0, 0, &o);
	double x[] = {1, 2, 3}, y[] = {0.5, 0.25, 0.3}, acc[] = {0.1, 0.5, 0.9};
	ck_err e = {{0}};
	ck_plot_add(p, "val_loss", "val_loss", x, y, 3, &e);
	ck_plot_add(p, "acc", "acc", x, acc, 3, &e);
	char *out = NULL;
	size_t len = 0;
	CHECK(ck_plot_render(p, CK_PLOT_SVG, &out, &len, &e) == 0, "%s", e.msg);
	if (out) {
		CHECK(strncmp(out, "<?xml", 5) == 0 && strstr(out, "</svg>\n") == out + len - 7,
		      "a whole document");
		CHECK(strstr(out, "a&lt;b &amp; &quot;c&quot; ? ?") != NULL, "escaped title");
		CHECK(strstr(out, "val_loss (min 0.25 at 2)") != NULL, "legend with the best value");
		CHECK(strstr(out, "id=\"panel1\"") != NULL, "an accuracy panel");
		CHECK(strstr(out, "<circle") != NULL, "the best point marked");
	}
	free(out);
	ck_plot_free(p);
}

static int count_lines(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void test_term(void)
{
	ck_plot_opts o;
	ck_plot_opts_init(&o);
	o.xlabel = "step";
	ck_plot *p = new_plot(60, 15, &o);
	double x[] = {0, 1, 2, 3, 4}, y[] = {2, 1, 0.6, 0.5, 0.45}, v[] = {NAN, 1.2, NAN, 0.7, NAN};
	ck_err e = {{0}};
	ck_plot_add(p, "loss", "loss", x, y, 5, &e);
	ck_plot_add(p, "val_loss", "val_loss", x, v, 5, &e);
	char *out = NULL;
	size_t len = 0;
	CHECK(ck_plot_render(p, CK_PLOT_TERM, &out, &len, &e) == 0, "%s", e.msg);
	if (out) {
		CHECK(count_lines(out) == 15, "15 lines: %d", count_lines(out));
		CHECK(!strchr(out, '\033'), "no colour unless asked");
		CHECK(strstr(out, "\xe2\xa0") || strstr(out, "\xe2\xa1") || strstr(out, "\xe2\xa2") ||
		      strstr(out, "\xe2\xa3"), "braille");
		int widest = 0, col = 0;
		for (const char *s = out; *s; s++) {
			if (*s == '\n') {
				widest = col > widest ? col : widest;
				col = 0;
			} else {
				col += ((unsigned char)*s & 0xC0) != 0x80;
			}
		}
		CHECK(widest <= 60, "no line wider than 60: %d", widest);
	}
	free(out);
	ck_plot_free(p);

	o.color = 1;
	p = new_plot(60, 15, &o);
	ck_plot_add(p, "loss", "loss", x, y, 5, &e);
	ck_plot_add(p, "val_loss", "val_loss", x, v, 5, &e);
	CHECK(ck_plot_render(p, CK_PLOT_TERM, &out, &len, &e) == 0, "%s", e.msg);
	CHECK(out && strstr(out, "\033[34m") && strstr(out, "\033[33m") && strstr(out, "\033[0m"),
	      "a colour per series");
	free(out);
	ck_plot_free(p);

	p = new_plot(10, 3, &o);
	ck_plot_add(p, "loss", "loss", x, y, 5, &e);
	CHECK(ck_plot_render(p, CK_PLOT_TERM, &out, &len, &e) < 0 && strstr(e.msg, "terminal size"),
	      "too small: %s", e.msg);
	ck_plot_free(p);
}

static void test_legend_place(void)
{
	/* Points only in the upper right: the legend goes to another corner. */
	double x[] = {0, 9, 9.5, 10}, y[] = {0, 9, 9.5, 10};
	ck_plot *p = new_plot(600, 400, NULL);
	ck_err e = {{0}};
	ck_plot_add(p, "loss", "loss", x, y, 4, &e);
	plot_canvas c;
	plot_layout L;
	CHECK(plot_draw(p, &c, &L, &e) == 0, "%s", e.msg);
	CHECK(L.panel[0].corner != 0, "not upper right: corner %d", L.panel[0].corner);
	plot_canvas_free(&c);
	ck_plot_free(p);
}

int main(void)
{
	RUN(test_ticks);
	RUN(test_range);
	RUN(test_prepare);
	RUN(test_decimate);
	RUN(test_straight_line);
	RUN(test_stroke);
	RUN(test_text);
	RUN(test_png);
	RUN(test_svg);
	RUN(test_term);
	RUN(test_legend_place);
	return check_summary();
}
