/* cnnkit/plot.h: training logs read as tables and drawn as PNG, SVG or
 * terminal text (the library half of lossplot).
 *
 * A log is any table of numbers with a header line: TSV, or CSV when the
 * header holds no TAB (cnn-train's log is described in formats/log.md). The
 * reader takes bytes from memory, as a whole or piece by piece (so that a
 * growing file can be followed), and keeps going past bad lines, counting
 * them for the caller to report.
 *
 * A plot is a set of series, each a pair of x and y arrays that the caller
 * keeps alive until the plot is freed. Series whose y column name contains
 * "acc" go on an accuracy panel below the loss panel (everything else), since
 * the two differ in scale. Rendering gives the bytes of a PNG file, an SVG
 * document or UTF-8 terminal text in a malloc'ed buffer. */
#ifndef CNNKIT_PLOT_H
#define CNNKIT_PLOT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base.h"

/* ---- tables --------------------------------------------------------------- */

/* Line numbers reported for skipped lines (the count is always exact). */
#define CK_PLOT_MAX_REPORTED 8

typedef struct ck_plot_column {
	char *name;         /* from the header, quotes and surrounding blanks removed */
	double *v;          /* nrows values; NAN where a cell is empty, not finite or not a number */
	size_t nonfinite;   /* cells that held nan or +-inf */
	size_t nonnumeric;  /* cells that held something other than a number */
	long first_nonnumeric; /* line number of the first of them (1-based), 0 if none */
} ck_plot_column;

typedef struct ck_plot_table {
	size_t ncols, nrows;
	ck_plot_column *cols;
	char delim;         /* '\t' or ',', from the header line; 0 before it */
	/* Lines skipped because their cell count differs from the header's: a
	 * warning, not an error, so that the log of a run killed in the middle of
	 * a line still plots. */
	size_t ragged;
	long ragged_lines[CK_PLOT_MAX_REPORTED];
	/* Reader state (private). */
	long line;          /* lines read so far */
	size_t cap;         /* rows allocated per column */
	char *header;       /* the header line, to skip it where it repeats */
	size_t header_len;
	double *row;        /* ncols values of the row being read */
	uint8_t *kind;      /* and what each cell held */
} ck_plot_table;

/* An empty table that takes its header from the first line fed to it. */
ck_plot_table *ck_plot_table_new(void);
void ck_plot_table_free(ck_plot_table *t);

/* Reads the complete lines at the start of buf[0, len): those that end in
 * '\n', and also a last one without it when final is non-zero. Returns the
 * number of bytes used (the caller keeps the rest and feeds it again with
 * what follows), or -1 on a fatal error (out of memory). Blank lines, lines
 * starting with '#', a UTF-8 byte order mark and repeats of the header (a
 * resumed run) are skipped; a CR before the newline is ignored. Cells may be
 * quoted ("...", with "" for a quote) in CSV. */
int64_t ck_plot_table_feed(ck_plot_table *t, const char *buf, size_t len, int final,
                           ck_err *err);

/* Whether the table has a header and at least one row; -1 with "empty log
 * (no header line)" or "no data rows after the header" otherwise. */
int ck_plot_table_check(const ck_plot_table *t, ck_err *err);

/* A whole log in memory (the fuzzing entry point) and a whole stream: feed
 * with final set, then check. */
ck_plot_table *ck_plot_table_parse(const char *buf, size_t len, ck_err *err);
ck_plot_table *ck_plot_table_load(FILE *f, ck_err *err);

/* The index of the first column called name, or -1. */
int ck_plot_table_find(const ck_plot_table *t, const char *name);

/* Formats "epoch, step, loss" (every column name) into buf; returns buf. */
char *ck_plot_table_names(const ck_plot_table *t, char *buf, size_t size);

/* Whether lossplot plots a column by default: its name contains "loss" or "acc". */
int ck_plot_default_y(const char *name);

/* ---- plots ---------------------------------------------------------------- */

typedef enum ck_plot_format {
	CK_PLOT_PNG,
	CK_PLOT_SVG,
	CK_PLOT_TERM, /* Unicode braille and box drawing, ANSI colours if asked */
} ck_plot_format;

typedef struct ck_plot_opts {
	int width, height;   /* pixels (PNG, SVG) or character cells (terminal);
	                        0 = the default: 800x500, or 80x24 */
	double smooth;       /* weight A of the exponential moving average in [0, 1):
	                        s = A s + (1 - A) y, bias-corrected; 0 = none. The raw
	                        series stays behind it, faint (PNG, SVG). */
	int logy;            /* logarithmic y axes; points with y <= 0 are left out */
	double xmin, xmax;   /* the x range shown; NAN = from the data */
	double ymin, ymax;   /* the y range of every panel; NAN = from the data */
	const char *title;   /* NULL = none */
	const char *xlabel;  /* NULL = none */
	int color;           /* terminal: ANSI colours, one per series */
	int keep_last;       /* where x goes back (a resumed run repeating steps),
	                        the later points replace the earlier ones */
} ck_plot_opts;

/* Fills o with the defaults: everything automatic, no smoothing. */
void ck_plot_opts_init(ck_plot_opts *o);

typedef struct ck_plot ck_plot;

/* A plot with a copy of opts (strings included); NULL with err set when
 * smooth is outside [0, 1) or a range is empty (or not above 0 with logy).
 * The size is checked when rendering: 16x16 to 16384x16384 pixels, or
 * 20x5 to 1000x1000 cells. */
ck_plot *ck_plot_new(const ck_plot_opts *opts, ck_err *err);
void ck_plot_free(ck_plot *p);

/* Adds a series drawn through (x[i], y[i]), i < n, in order; a point where
 * either is NaN is left out. label is the legend text (copied); yname, the y
 * column's name, chooses the panel (accuracy if it contains "acc") and marks
 * the best validation point when it starts with "val": the least value of a
 * loss, the greatest of an accuracy. x and y are not copied. */
int ck_plot_add(ck_plot *p, const char *label, const char *yname, const double *x,
                const double *y, size_t n, ck_err *err);

/* Draws the plot into a malloc'ed buffer (*out, *len; free it with free()).
 * Fails on a plot without any point to draw. */
int ck_plot_render(ck_plot *p, ck_plot_format fmt, char **out, size_t *len, ck_err *err);

/* A terminal plot's size in character cells: columns and rows each within
 * these bounds (ck_plot_render fails outside them). */
#define CK_PLOT_TERM_MIN_COLS 20
#define CK_PLOT_TERM_MIN_ROWS 5
#define CK_PLOT_TERM_MAX_CELLS 1000

#endif
