/* plot_svg.c: the plot as an SVG document: the same layout as the PNG, with
 * real text (so it scales and can be searched) and polylines.
 *
 * Text widths are estimated at 0.6 em per character, a little wide for
 * sans-serif fonts, so that labels never overrun the room kept for them. */
#include "plot_internal.h"

#include <math.h>
#include <string.h>

#define FONT_SIZE 13.0

static const plot_metrics svg_metrics = {
	.char_w = FONT_SIZE * 0.6,
	.line_h = FONT_SIZE * 1.3,
	.tick_len = 4,
	.pad = 8,
	.x_spacing = 70,
	.y_spacing = 34,
	.sample = 22,
};

/* The length of the UTF-8 sequence starting at s, 0 if it is not valid. */
static int utf8_len(const unsigned char *s)
{
	int n = s[0] < 0x80 ? 1 : (s[0] & 0xE0) == 0xC0 ? 2 : (s[0] & 0xF0) == 0xE0 ? 3
	        : (s[0] & 0xF8) == 0xF0 ? 4 : 0;
	if (n == 2 && s[0] < 0xC2)
		return 0; /* overlong */
	for (int i = 1; i < n; i++)
		if ((s[i] & 0xC0) != 0x80)
			return 0;
	return n;
}

/* Text as XML character data: markup characters escaped, control characters
 * (not allowed in XML 1.0) and invalid UTF-8 replaced by '?'. */
static void put_escaped(plot_buf *b, const char *text)
{
	for (const unsigned char *s = (const unsigned char *)text; *s;) {
		int n = utf8_len(s);
		if (n == 0 || (n == 1 && *s < 0x20)) {
			plot_buf_puts(b, "?");
			s++;
			continue;
		}
		switch (*s) {
		case '&': plot_buf_puts(b, "&amp;"); break;
		case '<': plot_buf_puts(b, "&lt;"); break;
		case '>': plot_buf_puts(b, "&gt;"); break;
		case '"': plot_buf_puts(b, "&quot;"); break;
		case '\'': plot_buf_puts(b, "&apos;"); break;
		default: plot_buf_put(b, s, (size_t)n); break;
		}
		s += n;
	}
}

static void text(plot_buf *b, double x, double y, const char *anchor, const char *extra,
                 const char *t)
{
	plot_buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\"%s%s%s%s>", x, y,
	                anchor ? " text-anchor=\"" : "", anchor ? anchor : "", anchor ? "\"" : "",
	                extra ? extra : "");
	put_escaped(b, t);
	plot_buf_puts(b, "</text>\n");
}

static void hex(char out[8], const uint8_t rgb[3])
{
	snprintf(out, 8, "#%02x%02x%02x", rgb[0], rgb[1], rgb[2]);
}

static void polyline(plot_buf *b, const plot_path *path, const char *color, double width,
                     double opacity)
{
	plot_buf_printf(b, "<polyline stroke=\"%s\" stroke-width=\"%.2f\"", color, width);
	if (opacity < 1)
		plot_buf_printf(b, " stroke-opacity=\"%.2f\"", opacity);
	plot_buf_puts(b, " points=\"");
	for (size_t i = 0; i < path->n; i++)
		plot_buf_printf(b, "%s%.1f,%.1f", i ? " " : "", path->x[i], path->y[i]);
	plot_buf_puts(b, "\"/>\n");
}

/* Baseline of a line of text whose box starts at top. */
static double baseline(double top)
{
	return top + FONT_SIZE;
}

static void panel(plot_buf *b, ck_plot *p, const plot_layout *L, int k)
{
	const plot_metrics *m = &svg_metrics;
	const plot_panel *pn = &L->panel[k];
	plot_rect a = pn->area;
	plot_buf_printf(b, "<g id=\"panel%d\">\n", k);
	plot_buf_printf(b, "<clipPath id=\"clip%d\"><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
	                "height=\"%.1f\"/></clipPath>\n", k, a.x0, a.y0, a.x1 - a.x0, a.y1 - a.y0);

	/* Grid. */
	plot_buf_puts(b, "<path stroke=\"#e2e2e2\" stroke-width=\"1\" d=\"");
	for (int i = 0; i < pn->y.nticks; i++)
		plot_buf_printf(b, "M%.1f %.1fH%.1f", a.x0, plot_map(&pn->y, a.y1, a.y0, pn->y.tick[i]),
		                a.x1);
	for (int i = 0; i < L->x.nticks; i++)
		plot_buf_printf(b, "M%.1f %.1fV%.1f", plot_map(&L->x, a.x0, a.x1, L->x.tick[i]), a.y0,
		                a.y1);
	plot_buf_puts(b, "\"/>\n");

	/* Series: the faint raw curves first, then the lines, then the marks. */
	plot_buf_printf(b, "<g clip-path=\"url(#clip%d)\" fill=\"none\" stroke-linejoin=\"round\" "
	                "stroke-linecap=\"round\">\n", k);
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < p->ns; i++) {
			const plot_series *se = &p->s[i];
			const plot_path *path = pass == 0 ? &se->raw : &se->line;
			if (se->panel != k || !path->n)
				continue;
			uint8_t rgb[3];
			char color[8];
			plot_color_rgb(se->color, rgb);
			hex(color, rgb);
			polyline(b, path, color, pass == 0 ? 1.5 : 2, pass == 0 ? 0.3 : 1);
		}
	plot_buf_puts(b, "</g>\n");
	/* Marks outside the clip, so that they stay whole at the edge. */
	for (size_t i = 0; i < p->ns; i++) {
		const plot_series *se = &p->s[i];
		if (se->panel != k || se->best_i < 0)
			continue;
		double x = plot_map(&L->x, a.x0, a.x1, se->px[se->best_i]);
		double y = plot_map(&pn->y, a.y1, a.y0, se->py[se->best_i]);
		if (x < a.x0 - 1 || x > a.x1 + 1 || y < a.y0 - 1 || y > a.y1 + 1)
			continue;
		uint8_t rgb[3];
		char color[8];
		plot_color_rgb(se->color, rgb);
		hex(color, rgb);
		plot_buf_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"#fff\" "
		                "stroke=\"%s\" stroke-width=\"2\"/>\n", x, y, color);
	}

	/* Frame, ticks, tick labels, y label. */
	plot_buf_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
	                "stroke=\"#5a5a5a\"/>\n", a.x0, a.y0, a.x1 - a.x0, a.y1 - a.y0);
	plot_buf_puts(b, "<path stroke=\"#5a5a5a\" d=\"");
	for (int i = 0; i < pn->y.nticks; i++)
		plot_buf_printf(b, "M%.1f %.1fh%.1f", a.x0 - m->tick_len,
		                plot_map(&pn->y, a.y1, a.y0, pn->y.tick[i]), m->tick_len);
	for (int i = 0; i < L->x.nticks; i++)
		plot_buf_printf(b, "M%.1f %.1fv%.1f", plot_map(&L->x, a.x0, a.x1, L->x.tick[i]), a.y1,
		                m->tick_len);
	plot_buf_puts(b, "\"/>\n");
	for (int i = 0; i < pn->y.nticks; i++)
		text(b, a.x0 - m->tick_len - m->pad * 0.5,
		     plot_map(&pn->y, a.y1, a.y0, pn->y.tick[i]) + FONT_SIZE * 0.35, "end", NULL,
		     pn->y.label[i]);
	if (k == L->bottom)
		for (int i = 0; i < L->x.nticks; i++)
			text(b, plot_map(&L->x, a.x0, a.x1, L->x.tick[i]), baseline(L->xticks_y),
			     "middle", NULL, L->x.label[i]);
	char rotate[96];
	double yx = m->pad + FONT_SIZE, yy = (a.y0 + a.y1) / 2;
	snprintf(rotate, sizeof rotate, " transform=\"rotate(-90 %.1f %.1f)\"", yx, yy);
	text(b, yx, yy, "middle", rotate, pn->ylabel);

	/* Legend. */
	plot_rect r = pn->legend;
	plot_buf_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#fff\" "
	                "fill-opacity=\"0.85\" stroke=\"#c8c8c8\"/>\n",
	                r.x0, r.y0, r.x1 - r.x0, r.y1 - r.y0);
	double top = r.y0 + m->pad * 0.5;
	for (size_t i = 0; i < p->ns; i++) {
		const plot_series *se = &p->s[i];
		if (se->panel != k || !se->np)
			continue;
		uint8_t rgb[3];
		char color[8], label[256];
		plot_color_rgb(se->color, rgb);
		hex(color, rgb);
		double mid = top + m->line_h / 2, x0 = r.x0 + m->pad;
		plot_buf_printf(b, "<path stroke=\"%s\" stroke-width=\"2\" d=\"M%.1f %.1fh%.1f\"/>\n",
		                color, x0, mid, m->sample);
		plot_legend_text(se, label, sizeof label);
		text(b, x0 + m->sample + m->pad * 0.5, mid + FONT_SIZE * 0.35, NULL, NULL, label);
		top += m->line_h;
	}
	plot_buf_puts(b, "</g>\n");
}

int plot_render_svg(ck_plot *p, plot_buf *b, ck_err *err)
{
	plot_layout L;
	if (plot_prepare(p, err) < 0 || plot_layout_pixels(p, &svg_metrics, &L, err) < 0 ||
	    plot_paths(p, &L, 0.5, err) < 0)
		return -1;
	plot_legend_place(p, &L, &svg_metrics);
	plot_buf_printf(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%g\" height=\"%g\" "
	                "viewBox=\"0 0 %g %g\" font-family=\"DejaVu Sans, Helvetica, Arial, "
	                "sans-serif\" font-size=\"%g\" fill=\"#222\">\n",
	                L.width, L.height, L.width, L.height, FONT_SIZE);
	if (p->o.title) {
		plot_buf_puts(b, "<title>");
		put_escaped(b, p->o.title);
		plot_buf_puts(b, "</title>\n");
	}
	plot_buf_puts(b, "<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n");
	for (int k = 0; k < PLOT_NPANELS; k++)
		if (L.panel[k].used)
			panel(b, p, &L, k);
	const plot_panel *bottom = &L.panel[L.bottom];
	double mid = (bottom->area.x0 + bottom->area.x1) / 2;
	if (p->o.xlabel)
		text(b, mid, baseline(L.xlabel_y), "middle", NULL, p->o.xlabel);
	if (p->o.title)
		text(b, mid, baseline(L.title_y), "middle", " font-weight=\"bold\"", p->o.title);
	plot_buf_puts(b, "</svg>\n");
	return 0;
}
