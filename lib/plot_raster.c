/* plot_raster.c: an RGB canvas with anti-aliased strokes and bitmap text,
 * and the PNG encoder that writes it (zlib for deflate and CRC-32).
 *
 * A stroke is drawn in two passes: the coverage of every pixel by the path,
 * a round-capped band of the given width around each segment (coverage is
 * the part of a pixel within the band, approximated from the distance of its
 * centre), kept as the maximum over the segments; then the colour blended
 * in by that coverage. The maximum makes joins and a path that turns back on
 * itself no darker than a single segment, which matters for faint lines. */
#include "plot_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

int plot_canvas_init(plot_canvas *c, int w, int h, const uint8_t bg[3], ck_err *err)
{
	memset(c, 0, sizeof *c);
	size_t n = (size_t)w * (size_t)h;
	c->rgb = malloc(n * 3);
	c->cover = calloc(n, sizeof *c->cover);
	if (!c->rgb || !c->cover) {
		plot_canvas_free(c);
		return ck_err_set(err, "out of memory (%dx%d picture)", w, h);
	}
	c->w = w;
	c->h = h;
	for (size_t i = 0; i < n; i++)
		memcpy(c->rgb + 3 * i, bg, 3);
	c->clip = (plot_rect){0, 0, w, h};
	return 0;
}

void plot_canvas_free(plot_canvas *c)
{
	free(c->rgb);
	free(c->cover);
	c->rgb = NULL;
	c->cover = NULL;
}

static void blend(uint8_t *px, const uint8_t rgb[3], double a)
{
	for (int k = 0; k < 3; k++)
		px[k] = (uint8_t)lround(px[k] + (rgb[k] - px[k]) * a);
}

/* Pixel bounds [*x0, *x1) x [*y0, *y1) of r within the canvas and its clip. */
static int pixel_bounds(const plot_canvas *c, plot_rect r, int *x0, int *y0, int *x1, int *y1)
{
	double lx = fmax(fmax(r.x0, c->clip.x0), 0), ly = fmax(fmax(r.y0, c->clip.y0), 0);
	double hx = fmin(fmin(r.x1, c->clip.x1), c->w), hy = fmin(fmin(r.y1, c->clip.y1), c->h);
	if (!(lx < hx && ly < hy))
		return 0;
	*x0 = (int)floor(lx);
	*y0 = (int)floor(ly);
	*x1 = (int)ceil(hx);
	*y1 = (int)ceil(hy);
	return 1;
}

void plot_canvas_fill(plot_canvas *c, plot_rect r, const uint8_t rgb[3], double alpha)
{
	int x0, y0, x1, y1;
	if (!pixel_bounds(c, r, &x0, &y0, &x1, &y1))
		return;
	for (int y = y0; y < y1; y++)
		for (int x = x0; x < x1; x++)
			blend(c->rgb + 3 * ((size_t)y * c->w + x), rgb, alpha);
}

/* ---- strokes ----------------------------------------------------------------- */

/* Liang-Barsky: cuts the segment to r; 0 if nothing of it is inside. */
static int clip_segment(plot_rect r, double *x0, double *y0, double *x1, double *y1)
{
	double t0 = 0, t1 = 1, dx = *x1 - *x0, dy = *y1 - *y0;
	double p[4] = {-dx, dx, -dy, dy};
	double q[4] = {*x0 - r.x0, r.x1 - *x0, *y0 - r.y0, r.y1 - *y0};
	for (int i = 0; i < 4; i++) {
		if (p[i] == 0) {
			if (q[i] < 0)
				return 0;
			continue;
		}
		double t = q[i] / p[i];
		if (p[i] < 0)
			t0 = fmax(t0, t);
		else
			t1 = fmin(t1, t);
	}
	if (t0 > t1)
		return 0;
	double ox = *x0, oy = *y0;
	*x0 = ox + t0 * dx;
	*y0 = oy + t0 * dy;
	*x1 = ox + t1 * dx;
	*y1 = oy + t1 * dy;
	return 1;
}

/* Coverage of the band of half-width hw around (ax,ay)-(bx,by), maxed into
 * c->cover; grows the dirty rectangle *d. */
static void cover_segment(plot_canvas *c, double ax, double ay, double bx, double by,
                          double hw, plot_rect *d)
{
	double m = hw + 1;
	plot_rect grown = {c->clip.x0 - m, c->clip.y0 - m, c->clip.x1 + m, c->clip.y1 + m};
	if (!clip_segment(grown, &ax, &ay, &bx, &by))
		return;
	plot_rect box = {fmin(ax, bx) - m, fmin(ay, by) - m, fmax(ax, bx) + m, fmax(ay, by) + m};
	int x0, y0, x1, y1;
	if (!pixel_bounds(c, box, &x0, &y0, &x1, &y1))
		return;
	d->x0 = fmin(d->x0, x0);
	d->y0 = fmin(d->y0, y0);
	d->x1 = fmax(d->x1, x1);
	d->y1 = fmax(d->y1, y1);
	double dx = bx - ax, dy = by - ay, len2 = dx * dx + dy * dy;
	for (int y = y0; y < y1; y++) {
		float *row = c->cover + (size_t)y * c->w;
		double py = y + 0.5 - ay;
		for (int x = x0; x < x1; x++) {
			double px = x + 0.5 - ax;
			double t = len2 > 0 ? (px * dx + py * dy) / len2 : 0;
			t = t < 0 ? 0 : t > 1 ? 1 : t;
			double ex = px - t * dx, ey = py - t * dy;
			double cov = hw + 0.5 - sqrt(ex * ex + ey * ey);
			if (cov <= 0)
				continue;
			if (cov > 1)
				cov = 1;
			if (cov > row[x])
				row[x] = (float)cov;
		}
	}
}

void plot_canvas_stroke(plot_canvas *c, const plot_path *path, double width,
                        const uint8_t rgb[3], double alpha)
{
	if (!path->n)
		return;
	plot_rect d = {c->w, c->h, 0, 0};
	double hw = width / 2;
	if (path->n == 1)
		cover_segment(c, path->x[0], path->y[0], path->x[0], path->y[0], hw, &d);
	for (size_t i = 0; i + 1 < path->n; i++)
		cover_segment(c, path->x[i], path->y[i], path->x[i + 1], path->y[i + 1], hw, &d);
	for (int y = (int)d.y0; y < (int)d.y1; y++) {
		float *row = c->cover + (size_t)y * c->w;
		for (int x = (int)d.x0; x < (int)d.x1; x++)
			if (row[x] > 0) {
				blend(c->rgb + 3 * ((size_t)y * c->w + x), rgb, row[x] * alpha);
				row[x] = 0;
			}
	}
}

/* ---- text --------------------------------------------------------------------- */

/* A glyph's pixel (gx, gy), outside the glyph = 0. */
static int glyph_at(const uint8_t *g, int gx, int gy)
{
	if (gx < 0 || gx >= PLOT_FONT_COLS || gy < 0 || gy >= PLOT_FONT_ROWS)
		return 0;
	return (g[gy] >> (PLOT_FONT_COLS - 1 - gx)) & 1;
}

/* The glyph doubled with Scale2x (EPX), which rounds the staircases of the
 * diagonals instead of making them coarser: out is 2*COLS x 2*ROWS. */
static void glyph_scale2x(const uint8_t *g, uint8_t out[2 * PLOT_FONT_ROWS][2 * PLOT_FONT_COLS])
{
	for (int y = 0; y < PLOT_FONT_ROWS; y++)
		for (int x = 0; x < PLOT_FONT_COLS; x++) {
			int e = glyph_at(g, x, y), b = glyph_at(g, x, y - 1), h = glyph_at(g, x, y + 1);
			int d = glyph_at(g, x - 1, y), f = glyph_at(g, x + 1, y);
			int e0 = e, e1 = e, e2 = e, e3 = e;
			if (b != h && d != f) {
				e0 = d == b ? d : e;
				e1 = b == f ? f : e;
				e2 = d == h ? d : e;
				e3 = h == f ? f : e;
			}
			out[2 * y][2 * x] = (uint8_t)e0;
			out[2 * y][2 * x + 1] = (uint8_t)e1;
			out[2 * y + 1][2 * x] = (uint8_t)e2;
			out[2 * y + 1][2 * x + 1] = (uint8_t)e3;
		}
}

static void put_pixel(plot_canvas *c, int x, int y, const uint8_t rgb[3])
{
	if (x >= 0 && y >= 0 && x < c->w && y < c->h)
		memcpy(c->rgb + 3 * ((size_t)y * c->w + x), rgb, 3);
}

void plot_canvas_text(plot_canvas *c, double x, double y, const char *text, int scale,
                      int vertical, const uint8_t rgb[3])
{
	int ox = (int)lround(x), oy = (int)lround(y);
	/* Even scales draw the Scale2x glyph with blocks of scale/2 pixels. */
	int sub = scale % 2 == 0 ? 2 : 1, block = scale / sub;
	int u = 0; /* along the text, in device pixels */
	for (const unsigned char *s = (const unsigned char *)text; *s; s++) {
		if ((*s & 0xC0) == 0x80)
			continue; /* one '?' per UTF-8 character */
		int ch = *s >= 32 && *s < 127 ? *s : '?';
		const uint8_t *g = plot_font[ch - 32];
		uint8_t big[2 * PLOT_FONT_ROWS][2 * PLOT_FONT_COLS];
		if (sub == 2)
			glyph_scale2x(g, big);
		for (int gy = 0; gy < PLOT_FONT_ROWS * sub; gy++)
			for (int gx = 0; gx < PLOT_FONT_COLS * sub; gx++) {
				if (!(sub == 2 ? big[gy][gx] : glyph_at(g, gx, gy)))
					continue;
				for (int by = 0; by < block; by++)
					for (int bx = 0; bx < block; bx++) {
						int tu = u + gx * block + bx, tv = gy * block + by;
						if (vertical)
							put_pixel(c, ox + tv, oy - 1 - tu, rgb);
						else
							put_pixel(c, ox + tu, oy + tv, rgb);
					}
			}
		u += PLOT_FONT_ADVANCE * scale;
	}
}

/* ---- PNG ----------------------------------------------------------------------- */

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void put_chunk(plot_buf *b, const char type[4], const uint8_t *data, size_t len)
{
	uint8_t head[8];
	put_be32(head, (uint32_t)len);
	memcpy(head + 4, type, 4);
	plot_buf_put(b, head, 8);
	plot_buf_put(b, data, len);
	uLong crc = crc32(0, (const Bytef *)type, 4);
	/* crc32 takes a uInt length: feed large chunks in pieces. */
	for (size_t off = 0; off < len;) {
		size_t n = len - off > (1u << 30) ? (1u << 30) : len - off;
		crc = crc32(crc, data + off, (uInt)n);
		off += n;
	}
	uint8_t tail[4];
	put_be32(tail, (uint32_t)crc);
	plot_buf_put(b, tail, 4);
}

static int paeth(int a, int b, int c)
{
	int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
	return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/* One filtered scanline: the filter type byte, then the bytes. Each row
 * takes the filter whose output has the least sum of absolute values (as
 * signed bytes), the heuristic of the PNG specification. */
static void filter_row(const uint8_t *row, const uint8_t *prev, size_t n, uint8_t *out,
                       uint8_t *trial)
{
	const int bpp = 3;
	unsigned long best_sum = ~0ul;
	for (int f = 0; f <= 4; f++) {
		unsigned long sum = 0;
		for (size_t i = 0; i < n; i++) {
			int a = i >= (size_t)bpp ? row[i - bpp] : 0, b = prev ? prev[i] : 0;
			int c = prev && i >= (size_t)bpp ? prev[i - bpp] : 0;
			int pred = f == 0 ? 0 : f == 1 ? a : f == 2 ? b : f == 3 ? (a + b) / 2 : paeth(a, b, c);
			uint8_t v = (uint8_t)(row[i] - pred);
			trial[i] = v;
			sum += (unsigned long)(v < 128 ? v : 256 - v);
		}
		if (sum < best_sum) {
			best_sum = sum;
			out[0] = (uint8_t)f;
			memcpy(out + 1, trial, n);
		}
	}
}

int plot_png_encode(const plot_canvas *c, plot_buf *b, ck_err *err)
{
	size_t stride = (size_t)c->w * 3, raw_len = (stride + 1) * (size_t)c->h;
	uint8_t *raw = malloc(raw_len), *trial = malloc(stride);
	uLongf zlen = compressBound((uLong)raw_len);
	uint8_t *z = malloc(zlen);
	if (!raw || !trial || !z) {
		free(raw);
		free(trial);
		free(z);
		return ck_err_set(err, "out of memory");
	}
	for (int y = 0; y < c->h; y++)
		filter_row(c->rgb + (size_t)y * stride, y ? c->rgb + (size_t)(y - 1) * stride : NULL,
		           stride, raw + (size_t)y * (stride + 1), trial);
	int zrc = compress2(z, &zlen, raw, (uLong)raw_len, 6);
	free(raw);
	free(trial);
	if (zrc != Z_OK) {
		free(z);
		return ck_err_set(err, "deflate failed (zlib error %d)", zrc);
	}
	static const uint8_t signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
	plot_buf_put(b, signature, 8);
	uint8_t ihdr[13];
	put_be32(ihdr, (uint32_t)c->w);
	put_be32(ihdr + 4, (uint32_t)c->h);
	ihdr[8] = 8;  /* bits per sample */
	ihdr[9] = 2;  /* colour type: RGB */
	ihdr[10] = 0; /* deflate */
	ihdr[11] = 0; /* adaptive filtering */
	ihdr[12] = 0; /* no interlace */
	put_chunk(b, "IHDR", ihdr, sizeof ihdr);
	put_chunk(b, "IDAT", z, zlen);
	put_chunk(b, "IEND", NULL, 0);
	free(z);
	return 0;
}
