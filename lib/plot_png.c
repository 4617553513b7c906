/* plot_png.c: the plot as a picture on the raster canvas, then a PNG file.
 *
 * Sizes scale with the text: at the default 800x500 a font pixel is 2x2
 * device pixels, which gives text about as large as a 10-point font on a
 * screen. */
#include "plot_internal.h"

#include <math.h>
#include <string.h>

static const uint8_t white[3] = {255, 255, 255};
static const uint8_t ink[3] = {34, 34, 34};         /* text */
static const uint8_t frame[3] = {90, 90, 90};       /* axes and ticks */
static const uint8_t grid[3] = {226, 226, 226};
static const uint8_t legend_edge[3] = {200, 200, 200};

#define RAW_ALPHA 0.25 /* the raw series behind a smoothed one */

int plot_png_scale(int width, int height)
{
	double side = fmin(width, height * 1.6);
	int s = (int)lround(side / 400);
	return s < 1 ? 1 : s > 6 ? 6 : s;
}

static plot_metrics metrics(int s)
{
	return (plot_metrics){
		.char_w = PLOT_FONT_ADVANCE * s,
		.line_h = PLOT_FONT_LINE * s,
		.tick_len = 3 * s,
		.pad = 6 * s,
		.x_spacing = 50 * s,
		.y_spacing = 20 * s,
		.sample = 14 * s,
	};
}

static double text_width(const char *t, int s)
{
	return (double)plot_strlen(t) * PLOT_FONT_ADVANCE * s - s;
}

/* Lines one device unit `t` thick, on whole pixels so that they are crisp. */
static void hline(plot_canvas *c, double x0, double x1, double y, int t, const uint8_t rgb[3])
{
	double top = floor(y - t / 2.0 + 0.5);
	plot_canvas_fill(c, (plot_rect){floor(x0), top, ceil(x1), top + t}, rgb, 1);
}

static void vline(plot_canvas *c, double x, double y0, double y1, int t, const uint8_t rgb[3])
{
	double left = floor(x - t / 2.0 + 0.5);
	plot_canvas_fill(c, (plot_rect){left, floor(y0), left + t, ceil(y1)}, rgb, 1);
}

static void draw_grid(plot_canvas *c, const plot_layout *L, const plot_panel *pn, int s)
{
	plot_rect a = pn->area;
	int t = s > 1 ? s / 2 : 1;
	for (int i = 0; i < pn->y.nticks; i++) {
		double y = plot_map(&pn->y, a.y1, a.y0, pn->y.tick[i]);
		hline(c, a.x0, a.x1, y, t, grid);
	}
	for (int i = 0; i < L->x.nticks; i++) {
		double x = plot_map(&L->x, a.x0, a.x1, L->x.tick[i]);
		vline(c, x, a.y0, a.y1, t, grid);
	}
}

static void draw_frame(plot_canvas *c, const plot_layout *L, const plot_panel *pn, int s,
                       const plot_metrics *m, int xlabels)
{
	plot_rect a = pn->area;
	int t = s > 1 ? s / 2 : 1;
	hline(c, a.x0 - t / 2.0, a.x1 + t / 2.0, a.y0, t, frame);
	hline(c, a.x0 - t / 2.0, a.x1 + t / 2.0, a.y1, t, frame);
	vline(c, a.x0, a.y0, a.y1, t, frame);
	vline(c, a.x1, a.y0, a.y1, t, frame);
	double glyph_mid = PLOT_FONT_ASCENT * s / 2.0; /* half the height of a digit */
	for (int i = 0; i < pn->y.nticks; i++) {
		double y = plot_map(&pn->y, a.y1, a.y0, pn->y.tick[i]);
		hline(c, a.x0 - m->tick_len, a.x0, y, t, frame);
		double w = text_width(pn->y.label[i], s);
		plot_canvas_text(c, a.x0 - m->tick_len - m->pad * 0.5 - w, y - glyph_mid,
		                 pn->y.label[i], s, 0, ink);
	}
	for (int i = 0; i < L->x.nticks; i++) {
		double x = plot_map(&L->x, a.x0, a.x1, L->x.tick[i]);
		vline(c, x, a.y1, a.y1 + m->tick_len, t, frame);
		if (xlabels)
			plot_canvas_text(c, x - text_width(L->x.label[i], s) / 2, L->xticks_y,
			                 L->x.label[i], s, 0, ink);
	}
	/* The y label reads upwards, centred on the panel. */
	double w = text_width(pn->ylabel, s);
	plot_canvas_text(c, m->pad, (a.y0 + a.y1) / 2 + w / 2, pn->ylabel, s, 1, ink);
}

/* A small ring with a white centre at the best validation point. */
static void draw_mark(plot_canvas *c, double x, double y, int s, const uint8_t rgb[3])
{
	plot_path dot = {.x = &x, .y = &y, .n = 1};
	plot_canvas_stroke(c, &dot, 9.0 * s / 2, rgb, 1);
	plot_canvas_stroke(c, &dot, 4.5 * s / 2, white, 1);
}

static void draw_legend(plot_canvas *c, ck_plot *p, const plot_panel *pn, int k, int s,
                        const plot_metrics *m)
{
	plot_rect r = pn->legend;
	plot_canvas_fill(c, r, white, 0.85);
	hline(c, r.x0, r.x1, r.y0, 1, legend_edge);
	hline(c, r.x0, r.x1, r.y1, 1, legend_edge);
	vline(c, r.x0, r.y0, r.y1, 1, legend_edge);
	vline(c, r.x1, r.y0, r.y1, 1, legend_edge);
	double y = r.y0 + m->pad * 0.5;
	for (size_t i = 0; i < p->ns; i++) {
		const plot_series *se = &p->s[i];
		if (se->panel != k || !se->np)
			continue;
		uint8_t rgb[3];
		plot_color_rgb(se->color, rgb);
		double mid = y + PLOT_FONT_ASCENT * s / 2.0, x0 = r.x0 + m->pad;
		double xs[2] = {x0, x0 + m->sample}, ys[2] = {mid, mid};
		plot_path sample = {.x = xs, .y = ys, .n = 2};
		plot_canvas_stroke(c, &sample, 1.25 * s, rgb, 1);
		char text[256];
		plot_legend_text(se, text, sizeof text);
		plot_canvas_text(c, x0 + m->sample + m->pad * 0.5, y, text, s, 0, ink);
		y += m->line_h;
	}
}

int plot_draw(ck_plot *p, plot_canvas *c, plot_layout *L, ck_err *err)
{
	if (plot_prepare(p, err) < 0)
		return -1;
	int W = p->o.width ? p->o.width : 800, H = p->o.height ? p->o.height : 500;
	int s = plot_png_scale(W, H);
	plot_metrics m = metrics(s);
	if (plot_layout_pixels(p, &m, L, err) < 0 || plot_paths(p, L, 1, err) < 0)
		return -1;
	plot_legend_place(p, L, &m);
	if (plot_canvas_init(c, W, H, white, err) < 0)
		return -1;

	for (int k = 0; k < PLOT_NPANELS; k++) {
		const plot_panel *pn = &L->panel[k];
		if (!pn->used)
			continue;
		draw_grid(c, L, pn, s);
		c->clip = pn->area;
		double width = 1.25 * s;
		for (size_t i = 0; i < p->ns; i++) {
			const plot_series *se = &p->s[i];
			uint8_t rgb[3];
			plot_color_rgb(se->color, rgb);
			if (se->panel == k && se->raw.n)
				plot_canvas_stroke(c, &se->raw, width * 0.8, rgb, RAW_ALPHA);
		}
		for (size_t i = 0; i < p->ns; i++) {
			const plot_series *se = &p->s[i];
			uint8_t rgb[3];
			plot_color_rgb(se->color, rgb);
			if (se->panel == k && se->line.n)
				plot_canvas_stroke(c, &se->line, width, rgb, 1);
		}
		/* Marks stay whole at the edge of the area. */
		double r = 5 * s;
		c->clip = (plot_rect){pn->area.x0 - r, pn->area.y0 - r, pn->area.x1 + r, pn->area.y1 + r};
		for (size_t i = 0; i < p->ns; i++) {
			const plot_series *se = &p->s[i];
			if (se->panel != k || se->best_i < 0)
				continue;
			double x = plot_map(&L->x, pn->area.x0, pn->area.x1, se->px[se->best_i]);
			double y = plot_map(&pn->y, pn->area.y1, pn->area.y0, se->py[se->best_i]);
			plot_rect a = pn->area;
			if (x < a.x0 - 1 || x > a.x1 + 1 || y < a.y0 - 1 || y > a.y1 + 1)
				continue; /* outside the ranges shown */
			uint8_t rgb[3];
			plot_color_rgb(se->color, rgb);
			draw_mark(c, x, y, s, rgb);
		}
		c->clip = (plot_rect){0, 0, W, H};
		draw_frame(c, L, pn, s, &m, k == L->bottom);
		draw_legend(c, p, pn, k, s, &m);
	}
	const plot_panel *bottom = &L->panel[L->bottom];
	double mid = (bottom->area.x0 + bottom->area.x1) / 2;
	if (p->o.xlabel)
		plot_canvas_text(c, mid - text_width(p->o.xlabel, s) / 2, L->xlabel_y, p->o.xlabel,
		                 s, 0, ink);
	if (p->o.title) {
		/* Bold by drawing twice, one pixel apart. */
		double x = mid - text_width(p->o.title, s) / 2;
		plot_canvas_text(c, x, L->title_y, p->o.title, s, 0, ink);
		plot_canvas_text(c, x + 1, L->title_y, p->o.title, s, 0, ink);
	}
	return 0;
}

int plot_render_png(ck_plot *p, plot_buf *out, ck_err *err)
{
	plot_canvas c;
	plot_layout L;
	if (plot_draw(p, &c, &L, err) < 0)
		return -1;
	int rc = plot_png_encode(&c, out, err);
	plot_canvas_free(&c);
	return rc;
}
