/* plot_internal.h: what the plot modules share: the series, the layout of
 * panels and axes, the paths in device units and the raster canvas.
 *
 * Rendering goes in three steps, the first two shared by every format:
 *   1. plot_prepare: each series' points (NaN left out, resumed steps
 *      replaced, smoothing, best validation point);
 *   2. plot_layout_pixels (PNG, SVG) or the terminal's own: panel rectangles,
 *      ranges and ticks; plot_paths: the points mapped to device units,
 *      decimated to a few per device column; plot_legend_place;
 *   3. drawing, in plot_raster.c, plot_svg.c or plot_term.c.
 * Device units are pixels (PNG, SVG) or braille dots (terminal), with y
 * growing downwards. */
#ifndef CK_PLOT_INTERNAL_H
#define CK_PLOT_INTERNAL_H

#include "cnnkit.h"

#include <stdint.h>

/* ---- font (plot_font.c) --------------------------------------------------- */

#define PLOT_FONT_COLS 5     /* glyph width in font pixels */
#define PLOT_FONT_ROWS 9     /* glyph height: 7 above the baseline, 2 below */
#define PLOT_FONT_ASCENT 7   /* rows from the top to the baseline */
#define PLOT_FONT_ADVANCE 6  /* font pixels from one glyph to the next */
#define PLOT_FONT_LINE 12    /* font pixels from one text line to the next */
extern const uint8_t plot_font[95][PLOT_FONT_ROWS];

/* ---- the plot and its series (plot_layout.c) ------------------------------ */

#define PLOT_PANEL_LOSS 0
#define PLOT_PANEL_ACC 1
#define PLOT_NPANELS 2

typedef struct plot_path {
	double *x, *y; /* device units */
	size_t n, cap;
} plot_path;

typedef struct plot_series {
	char *label;
	char *yname;         /* the y column's name */
	const double *x, *y; /* the caller's arrays, n points */
	size_t n;
	int panel;           /* PLOT_PANEL_* */
	int best;            /* -1: mark the least y, +1: the greatest, 0: none */
	int color;           /* palette index: the series' rank in its panel */
	/* Made by plot_prepare: */
	double *px, *py;     /* the points drawn, np of them */
	double *sy;          /* smoothed py, or NULL without smoothing */
	size_t np;
	long best_i;         /* index into px of the best point, -1 if none */
	/* Made by plot_paths: */
	plot_path line;      /* the series (smoothed when asked) */
	plot_path raw;       /* the raw series behind a smoothed one */
} plot_series;

struct ck_plot {
	ck_plot_opts o;      /* title and xlabel point to copies */
	plot_series *s;
	size_t ns, cap;
};

/* Fills each series' points; -1 (err set) when no series has any. */
int plot_prepare(ck_plot *p, ck_err *err);

/* ---- layout (plot_layout.c) ----------------------------------------------- */

typedef struct plot_rect {
	double x0, y0, x1, y1; /* x0 < x1, y0 < y1 */
} plot_rect;

#define PLOT_MAX_TICKS 32

typedef struct plot_axis {
	double lo, hi; /* the range shown, lo < hi (both > 0 on a log axis) */
	int log;
	int nticks;
	double tick[PLOT_MAX_TICKS];
	char label[PLOT_MAX_TICKS][24];
	int label_len; /* characters in the longest tick label */
} plot_axis;

typedef struct plot_panel {
	int used;          /* has at least one series */
	plot_rect area;    /* the data area */
	plot_axis y;
	char ylabel[160];  /* the y column names, ", "-separated */
	plot_rect legend;  /* placed by plot_legend_place */
	int corner;        /* of the legend: 0 upper right, 1 upper left,
	                      2 lower left, 3 lower right */
	int nlegend;       /* series in the legend */
	int legend_len;    /* characters in its longest entry */
} plot_panel;

/* Text and spacing in device units: what a format's text looks like. */
typedef struct plot_metrics {
	double char_w;     /* advance of one character */
	double line_h;     /* distance between lines of text */
	double tick_len;   /* tick marks outside the area */
	double pad;        /* the space between things */
	double x_spacing;  /* the least distance wanted between x ticks */
	double y_spacing;  /* and between y ticks */
	double sample;     /* length of the line drawn in a legend entry */
} plot_metrics;

typedef struct plot_layout {
	double width, height;
	plot_axis x;
	plot_panel panel[PLOT_NPANELS];
	int bottom;        /* the panel that carries the x tick labels */
	double title_y;    /* baseline of the title */
	double xlabel_y;   /* baseline of the x label */
	double xticks_y;   /* baseline of the x tick labels */
} plot_layout;

/* The data range of the x values (within opts' x range) and of the y values
 * of a panel, before padding: -1 when there is none. */
int plot_x_extent(const ck_plot *p, double *lo, double *hi);
int plot_y_extent(const ck_plot *p, int panel, double xlo, double xhi, double *lo,
                  double *hi);

/* Sets a->lo, a->hi from the extent (padding a y axis by pad_frac of the
 * span; a point range is widened) unless fixed by opts (NAN = not fixed). */
void plot_axis_range(plot_axis *a, double lo, double hi, double fix_lo, double fix_hi,
                     double pad_frac);

/* Ticks at "nice" values (1, 2, 5 times a power of ten; decades and their
 * multiples on a log axis) at least `spacing` device units apart on an axis
 * `length` long, and their labels. On a `horizontal` axis, labels (char_w
 * device units a character) keep two characters apart, with fewer ticks
 * if need be. */
void plot_axis_ticks(plot_axis *a, double length, double spacing, double char_w,
                     int horizontal);

/* Where v falls on [d0, d1] (device units) for axis a; d1 < d0 for y. */
double plot_map(const plot_axis *a, double d0, double d1, double v);

/* The panel's distinct y column names, ", "-separated ("loss, val_loss"),
 * or what the panel holds ("loss", "accuracy") when they are too long. */
void plot_panel_label(const ck_plot *p, int panel, char *buf, size_t size);

/* The whole layout of a PNG or SVG picture. */
int plot_layout_pixels(ck_plot *p, const plot_metrics *m, plot_layout *L, ck_err *err);

/* Fills every series' paths for layout L, decimated to `bucket` device units
 * (min and max of each column keep the shape). */
int plot_paths(ck_plot *p, const plot_layout *L, double bucket, ck_err *err);
void plot_path_free(plot_path *path);

/* Sizes each panel's legend and puts it in the corner of the area that hides
 * the fewest path points (upper right wins ties). */
void plot_legend_place(ck_plot *p, plot_layout *L, const plot_metrics *m);

/* A legend entry's text: the label, with the best value for validation series. */
void plot_legend_text(const plot_series *s, char *buf, size_t size);

/* Palette: RGB of colour i (cycled). */
void plot_color_rgb(int i, uint8_t rgb[3]);

/* A growing byte buffer, NUL-terminated; `failed` is set when memory ran out
 * and every later append is dropped. */
typedef struct plot_buf {
	char *data;
	size_t len, cap;
	int failed;
} plot_buf;
void plot_buf_put(plot_buf *b, const void *data, size_t n);
void plot_buf_puts(plot_buf *b, const char *s);
void plot_buf_printf(plot_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- raster (plot_raster.c) ----------------------------------------------- */

typedef struct plot_canvas {
	int w, h;
	uint8_t *rgb;   /* h rows of w RGB pixels */
	float *cover;   /* w*h coverage of the path being drawn, 0..1 */
	plot_rect clip; /* strokes are cut to this rectangle */
} plot_canvas;

int plot_canvas_init(plot_canvas *c, int w, int h, const uint8_t bg[3], ck_err *err);
void plot_canvas_free(plot_canvas *c);
void plot_canvas_fill(plot_canvas *c, plot_rect r, const uint8_t rgb[3], double alpha);
/* Strokes the path (width in pixels, anti-aliased, round joins) with colour
 * rgb at opacity alpha; where the path crosses itself it is not darker. */
void plot_canvas_stroke(plot_canvas *c, const plot_path *path, double width,
                        const uint8_t rgb[3], double alpha);
/* Text whose line box has its top-left corner at (x, y), font pixels `scale`
 * device pixels wide; vertical text reads upwards and (x, y) is then the
 * bottom-left corner of its box. */
void plot_canvas_text(plot_canvas *c, double x, double y, const char *text, int scale,
                      int vertical, const uint8_t rgb[3]);
/* The PNG file (8-bit RGB) of the canvas into b. */
int plot_png_encode(const plot_canvas *c, plot_buf *b, ck_err *err);

/* The picture of the plot on a new canvas (plot_png.c), and its layout. */
int plot_draw(ck_plot *p, plot_canvas *c, plot_layout *L, ck_err *err);
/* The text scale of a PNG picture: font pixels per device pixel. */
int plot_png_scale(int width, int height);

/* Renderers, in their own files. */
int plot_render_png(ck_plot *p, plot_buf *out, ck_err *err);
int plot_render_svg(ck_plot *p, plot_buf *out, ck_err *err);
int plot_render_term(ck_plot *p, plot_buf *out, ck_err *err);

/* Number of characters (UTF-8 code points) in s. */
int plot_strlen(const char *s);

#endif
