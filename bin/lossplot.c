/* lossplot: draws training logs (cnn-train --log, or any TSV/CSV table with a
 * header) as a PNG or SVG picture, or in the terminal, and can follow a log
 * while it grows. Options, files and the terminal only; reading and drawing
 * are in lib/plot*.c. */
#include <errno.h>
#include <float.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cnnkit.h"

static const char usage_text[] =
	"usage: lossplot [-x COL] [-y COL,...] [--label NAME]... [--smooth A] [--logy]\n"
	"                [--xrange A:B] [--yrange A:B] [--title TEXT] [--size WxH]\n"
	"                [--format png|svg|text] [--follow] [-o FILE] [LOG...]\n";

static void usage(FILE *f)
{
	fputs(usage_text, f);
	if (f == stderr)
		fputs("Try 'lossplot --help' for more information.\n", f);
}

static void help(void)
{
	usage(stdout);
	fputs(
		"\n"
		"Draws the columns of training logs (cnn-train --log; any TSV or CSV table\n"
		"with a header line) against one of them: in the terminal, or as a PNG or SVG\n"
		"picture with -o. Several logs are overlaid. Loss columns and accuracy columns\n"
		"(names containing \"acc\") go on two panels, one above the other. Reads\n"
		"standard input when no LOG is given or LOG is -.\n"
		"\n"
		"  -x COL            the x column (default step, else epoch, else the first)\n"
		"  -y COL,...        the y columns (default: every column whose name contains\n"
		"                    \"loss\" or \"acc\"); may be repeated\n"
		"  --label NAME      the legend name of the next LOG, in order (default: its\n"
		"                    file name without directory and extension); repeatable\n"
		"  --smooth A        exponential moving average with weight A in [0, 1), the raw\n"
		"                    curve faint behind it (default 0: none)\n"
		"  --logy            logarithmic y axes (values <= 0 are left out)\n"
		"  --xrange A:B      the x range shown; either end may be left out (\"100:\")\n"
		"  --yrange A:B      the y range of every panel, likewise\n"
		"  --title TEXT      a title above the plot\n"
		"  --size WxH        pixels for PNG and SVG (default 800x500); character cells\n"
		"                    for the terminal (default: the terminal's size, else 80x24)\n"
		"  --format F        png, svg or text (terminal text without colour), instead\n"
		"                    of the extension of -o; needed for -o -\n"
		"  --follow          redraw whenever the logs grow (as tail -f reads) until\n"
		"                    interrupted; with -o, rewrite the file instead\n"
		"  -o FILE           write FILE.png or FILE.svg instead of drawing in the terminal\n"
		"  --help, --version\n"
		"\n"
		"The best validation point (least val_loss, greatest val_acc) is marked and\n"
		"its value given in the legend. Terminal colours follow NO_COLOR.\n"
		"\n"
		"Examples:\n"
		"  lossplot run.tsv                                  # in the terminal\n"
		"  lossplot --smooth 0.9 -o loss.png run1.tsv run2.tsv\n"
		"  lossplot -x epoch -y val_acc --label adam --label sgd a.tsv b.tsv -o acc.svg\n"
		"  cnn-train ... --log run.tsv & lossplot --follow run.tsv\n",
		stdout);
}

/* ---- options ------------------------------------------------------------------ */

typedef struct options {
	const char *x;
	char **y;              /* the -y names, split at commas */
	int ny;
	char **lists;          /* the -y arguments, copied to be split */
	int nlists;
	const char **labels;
	int nlabels;
	const char *output;
	ck_plot_format format;
	int format_given;
	int follow;
	int auto_size;         /* the terminal plot takes the terminal's size */
	ck_plot_opts plot;
} options;

static double parse_number(const char *opt, const char *s)
{
	double v;
	if (ck_parse_f64(s, -DBL_MAX, DBL_MAX, &v) < 0)
		usage_error("%s: \"%s\" is not a number", opt, s);
	return v;
}

/* "A:B", "A:", ":B" -> lo, hi (NAN where left out). */
static void parse_range(const char *opt, const char *s, double *lo, double *hi)
{
	const char *colon = strchr(s, ':');
	if (!colon)
		usage_error("%s: \"%s\" is not a range A:B", opt, s);
	char a[128];
	size_t n = (size_t)(colon - s);
	if (n >= sizeof a)
		usage_error("%s: \"%s\" is too long", opt, s);
	memcpy(a, s, n);
	a[n] = '\0';
	*lo = n ? parse_number(opt, a) : NAN;
	*hi = colon[1] ? parse_number(opt, colon + 1) : NAN;
	if (!isnan(*lo) && !isnan(*hi) && !(*lo < *hi))
		usage_error("%s: \"%s\": A must be less than B", opt, s);
}

static int parse_int(const char *opt, const char *s, long lo, long hi)
{
	int64_t v;
	if (ck_parse_i64(s, lo, hi, &v) < 0)
		usage_error("%s: \"%s\" is not an integer from %ld to %ld", opt, s, lo, hi);
	return (int)v;
}

static void parse_size(const char *s, int *w, int *h)
{
	const char *x = strpbrk(s, "xX");
	char a[32];
	if (!x || (size_t)(x - s) >= sizeof a)
		usage_error("--size: \"%s\" is not WxH", s);
	memcpy(a, s, (size_t)(x - s));
	a[x - s] = '\0';
	*w = parse_int("--size", a, 16, 16384);
	*h = parse_int("--size", x + 1, 8, 16384);
}

static void add_y(options *o, const char *list)
{
	char *copy = strdup(list);
	char **lists = realloc(o->lists, (size_t)(o->nlists + 1) * sizeof *lists);
	if (!copy || !lists)
		die("out of memory");
	o->lists = lists;
	o->lists[o->nlists++] = copy;
	for (char *tok = strtok(copy, ","); tok; tok = strtok(NULL, ",")) {
		char **y = realloc(o->y, (size_t)(o->ny + 1) * sizeof *y);
		if (!y)
			die("out of memory");
		o->y = y;
		o->y[o->ny++] = tok;
	}
	if (!o->ny)
		usage_error("-y: no column named in \"%s\"", list);
}

static ck_plot_format format_of(const char *name, const char *what)
{
	const char *dot = strrchr(name, '.');
	if (strcasecmp(name, "png") == 0 || (dot && strcasecmp(dot, ".png") == 0))
		return CK_PLOT_PNG;
	if (strcasecmp(name, "svg") == 0 || (dot && strcasecmp(dot, ".svg") == 0))
		return CK_PLOT_SVG;
	if (strcasecmp(name, "text") == 0 || (dot && strcasecmp(dot, ".txt") == 0))
		return CK_PLOT_TERM;
	usage_error("%s \"%s\": unknown format (png, svg or text)", what, name);
}

enum { OPT_HELP = 256, OPT_VERSION, OPT_LABEL, OPT_SMOOTH, OPT_LOGY, OPT_XRANGE, OPT_YRANGE,
       OPT_TITLE, OPT_SIZE, OPT_FORMAT, OPT_FOLLOW };

static const struct option long_opts[] = {
	{"label", required_argument, NULL, OPT_LABEL},
	{"smooth", required_argument, NULL, OPT_SMOOTH},
	{"logy", no_argument, NULL, OPT_LOGY},
	{"xrange", required_argument, NULL, OPT_XRANGE},
	{"yrange", required_argument, NULL, OPT_YRANGE},
	{"title", required_argument, NULL, OPT_TITLE},
	{"size", required_argument, NULL, OPT_SIZE},
	{"format", required_argument, NULL, OPT_FORMAT},
	{"follow", no_argument, NULL, OPT_FOLLOW},
	{"output", required_argument, NULL, 'o'},
	{"help", no_argument, NULL, OPT_HELP},
	{"version", no_argument, NULL, OPT_VERSION},
	{NULL, 0, NULL, 0},
};

static void parse_options(int argc, char **argv, options *o)
{
	memset(o, 0, sizeof *o);
	ck_plot_opts_init(&o->plot);
	o->labels = calloc((size_t)argc, sizeof *o->labels);
	if (!o->labels)
		die("out of memory");
	int c;
	while ((c = getopt_long(argc, argv, "x:y:o:", long_opts, NULL)) != -1) {
		switch (c) {
		case 'x':
			o->x = optarg;
			break;
		case 'y':
			add_y(o, optarg);
			break;
		case 'o':
			o->output = optarg;
			break;
		case OPT_LABEL:
			o->labels[o->nlabels++] = optarg;
			break;
		case OPT_SMOOTH:
			o->plot.smooth = parse_number("--smooth", optarg);
			if (!(o->plot.smooth >= 0 && o->plot.smooth < 1))
				usage_error("--smooth: %s is not in [0, 1)", optarg);
			break;
		case OPT_LOGY:
			o->plot.logy = 1;
			break;
		case OPT_XRANGE:
			parse_range("--xrange", optarg, &o->plot.xmin, &o->plot.xmax);
			break;
		case OPT_YRANGE:
			parse_range("--yrange", optarg, &o->plot.ymin, &o->plot.ymax);
			break;
		case OPT_TITLE:
			o->plot.title = optarg;
			break;
		case OPT_SIZE:
			parse_size(optarg, &o->plot.width, &o->plot.height);
			break;
		case OPT_FORMAT:
			o->format = format_of(optarg, "--format");
			o->format_given = 1;
			break;
		case OPT_FOLLOW:
			o->follow = 1;
			break;
		case OPT_HELP:
			help();
			exit(cli_close_stdout(0));
		case OPT_VERSION:
			printf("lossplot (cnnkit) %s\n", ck_version());
			exit(cli_close_stdout(0));
		default:
			usage(stderr);
			exit(2);
		}
	}
	if (o->plot.logy && ((!isnan(o->plot.ymin) && o->plot.ymin <= 0) ||
	                     (!isnan(o->plot.ymax) && o->plot.ymax <= 0)))
		usage_error("--yrange: a logarithmic axis needs values above 0");
	if (o->output && !o->format_given) {
		if (strcmp(o->output, "-") == 0)
			usage_error("-o -: say which format with --format png|svg|text");
		o->format = format_of(o->output, "-o");
	}
	if (!o->output)
		o->format = CK_PLOT_TERM;
	if (o->format == CK_PLOT_TERM && o->plot.width &&
	    (o->plot.width < CK_PLOT_TERM_MIN_COLS || o->plot.width > CK_PLOT_TERM_MAX_CELLS ||
	     o->plot.height < CK_PLOT_TERM_MIN_ROWS || o->plot.height > CK_PLOT_TERM_MAX_CELLS))
		usage_error("--size %dx%d: a terminal plot takes %dx%d to %dx%d characters",
		            o->plot.width, o->plot.height, CK_PLOT_TERM_MIN_COLS, CK_PLOT_TERM_MIN_ROWS,
		            CK_PLOT_TERM_MAX_CELLS, CK_PLOT_TERM_MAX_CELLS);
	int nlogs = argc - optind > 0 ? argc - optind : 1;
	if (o->nlabels > nlogs)
		usage_error("%d --label for %d log%s", o->nlabels, nlogs, nlogs > 1 ? "s" : "");
}

/* ---- logs ---------------------------------------------------------------------- */

typedef struct log_file {
	const char *path;      /* "-" = standard input */
	char name[256];        /* the legend name */
	FILE *f;
	ck_plot_table *t;
	/* --follow: */
	char *pending;         /* bytes read after the last complete line */
	size_t npending, cap;
	off_t offset;          /* bytes read from the file */
	ino_t ino;
	int eof;               /* standard input ended */
	size_t shown_rows, shown_ragged;
} log_file;

static void default_name(log_file *lf, const char *label)
{
	if (label) {
		snprintf(lf->name, sizeof lf->name, "%s", label);
		return;
	}
	if (strcmp(lf->path, "-") == 0) {
		snprintf(lf->name, sizeof lf->name, "stdin");
		return;
	}
	const char *base = strrchr(lf->path, '/');
	base = base && base[1] ? base + 1 : lf->path;
	snprintf(lf->name, sizeof lf->name, "%s", base);
	char *dot = strrchr(lf->name, '.');
	if (dot && dot != lf->name && (strcasecmp(dot, ".tsv") == 0 ||
	                               strcasecmp(dot, ".csv") == 0 || strcasecmp(dot, ".txt") == 0 ||
	                               strcasecmp(dot, ".log") == 0 || strcasecmp(dot, ".tab") == 0))
		*dot = '\0';
}

static void load_whole(log_file *lf)
{
	ck_err err = {{0}};
	FILE *f = strcmp(lf->path, "-") == 0 ? stdin : fopen(lf->path, "rb");
	if (!f)
		die("%s: %s", lf->path, strerror(errno));
	lf->t = ck_plot_table_load(f, &err);
	if (f != stdin)
		fclose(f);
	if (!lf->t)
		die("%s: %s", lf->path, err.msg);
}

/* The column that -x names, or step, epoch, the first. */
static int x_column(const options *o, const log_file *lf)
{
	const ck_plot_table *t = lf->t;
	if (o->x) {
		int c = ck_plot_table_find(t, o->x);
		if (c < 0) {
			char names[1024];
			die("%s: no column \"%s\" (columns: %s)", lf->path, o->x,
			    ck_plot_table_names(t, names, sizeof names));
		}
		return c;
	}
	int c = ck_plot_table_find(t, "step");
	if (c < 0)
		c = ck_plot_table_find(t, "epoch");
	return c < 0 ? 0 : c;
}

static void warn_column(const log_file *lf, const ck_plot_column *col)
{
	if (col->nonfinite)
		warn("%s: column \"%s\": %zu nan or inf value%s left out", lf->path, col->name,
		     col->nonfinite, col->nonfinite > 1 ? "s" : "");
	if (col->nonnumeric)
		warn("%s: column \"%s\": %zu cell%s not a number (first on line %ld), left out",
		     lf->path, col->name, col->nonnumeric, col->nonnumeric > 1 ? "s are" : " is",
		     col->first_nonnumeric);
}

static void warn_ragged(const log_file *lf)
{
	const ck_plot_table *t = lf->t;
	if (!t->ragged)
		return;
	char lines[256] = "";
	size_t n = 0, shown = t->ragged < CK_PLOT_MAX_REPORTED ? t->ragged : CK_PLOT_MAX_REPORTED;
	for (size_t i = 0; i < shown && n < sizeof lines; i++)
		n += (size_t)snprintf(lines + n, sizeof lines - n, "%s%ld", i ? ", " : "",
		                      t->ragged_lines[i]);
	warn("%s: %zu line%s with a number of cells other than the header's %zu, skipped: "
	     "line%s %s%s", lf->path, t->ragged, t->ragged > 1 ? "s" : "", t->ncols,
	     shown > 1 ? "s" : "", lines, t->ragged > shown ? ", ..." : "");
}

/* Adds the series of every log to p. Complains (once, when `loud`) about
 * what is missing or skipped; with `lenient` (--follow) a log without
 * rows yet is passed over. Returns the number of series. */
static int build_plot(const options *o, log_file *logs, int nlogs, ck_plot *p, int loud,
                      int lenient)
{
	ck_err err = {{0}};
	int nseries = 0;
	for (int i = 0; i < nlogs; i++) {
		log_file *lf = &logs[i];
		const ck_plot_table *t = lf->t;
		if (ck_plot_table_check(t, &err) < 0) {
			if (lenient)
				continue;
			die("%s: %s", lf->path, err.msg);
		}
		int xc = x_column(o, lf);
		char names[1024];
		if (loud) {
			warn_ragged(lf);
			warn_column(lf, &t->cols[xc]);
		}
		int found = 0;
		for (size_t c = 0; c < t->ncols; c++) {
			const ck_plot_column *col = &t->cols[c];
			int wanted = 0;
			if (o->ny) {
				for (int k = 0; k < o->ny && !wanted; k++)
					wanted = strcmp(o->y[k], col->name) == 0;
			} else {
				wanted = (int)c != xc && ck_plot_default_y(col->name);
			}
			if (!wanted)
				continue;
			found++;
			if (loud) {
				warn_column(lf, col);
				if (o->plot.logy) {
					size_t bad = 0;
					for (size_t r = 0; r < t->nrows; r++)
						bad += col->v[r] <= 0;
					if (bad)
						warn("%s: column \"%s\": %zu value%s <= 0 left out of the log "
						     "axis", lf->path, col->name, bad, bad > 1 ? "s" : "");
				}
			}
			char label[600];
			if (nlogs > 1)
				snprintf(label, sizeof label, "%s: %s", lf->name, col->name);
			else
				snprintf(label, sizeof label, "%s", col->name);
			if (ck_plot_add(p, label, col->name, t->cols[xc].v, col->v, t->nrows, &err) < 0)
				die("%s", err.msg);
			nseries++;
		}
		for (int k = 0; k < o->ny; k++)
			if (ck_plot_table_find(t, o->y[k]) < 0)
				die("%s: no column \"%s\" (columns: %s)", lf->path, o->y[k],
				    ck_plot_table_names(t, names, sizeof names));
		if (!found && !o->ny)
			die("%s: no column named like a loss or an accuracy (columns: %s); choose "
			    "some with -y", lf->path, ck_plot_table_names(t, names, sizeof names));
	}
	return nseries;
}

static ck_plot *new_plot(const options *o, log_file *logs, int nlogs)
{
	ck_plot_opts po = o->plot;
	/* The x label: the x column of the first log that has one. */
	for (int i = 0; i < nlogs && !po.xlabel; i++)
		if (logs[i].t && logs[i].t->ncols)
			po.xlabel = logs[i].t->cols[x_column(o, &logs[i])].name;
	/* Steps and time only grow: where they go back, a resumed run repeats
	 * steps and its later rows count (formats/log.md). */
	po.keep_last = po.xlabel && (strcmp(po.xlabel, "step") == 0 ||
	                             strcmp(po.xlabel, "epoch") == 0 ||
	                             strcmp(po.xlabel, "seconds") == 0);
	ck_err err = {{0}};
	ck_plot *p = ck_plot_new(&po, &err);
	if (!p)
		die("%s", err.msg);
	return p;
}

/* ---- output ---------------------------------------------------------------------- */

static void write_all(FILE *f, const char *data, size_t len, const char *what)
{
	if (fwrite(data, 1, len, f) != len)
		die("%s: %s", what, strerror(errno));
}

/* Writes data to path atomically (ck_outfile_save): a file appears whole or
 * not at all; a device or "-" is written in place. */
static void write_file(const char *path, const char *data, size_t len)
{
	ck_err err;
	if (ck_outfile_save(path, 0, data, len, &err) < 0)
		die("%s: %s", strcmp(path, "-") == 0 ? "standard output" : path, err.msg);
}

/* ---- the terminal ------------------------------------------------------------------ */

/* A positive integer from the environment, else 0. */
static int env_int(const char *name)
{
	int64_t v;
	return ck_parse_i64(getenv(name), 1, 100000, &v) == 0 ? (int)v : 0;
}

static void terminal_size(int *w, int *h)
{
	struct winsize ws;
	if (isatty(1) && ioctl(1, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 && ws.ws_row > 0) {
		*w = ws.ws_col;
		*h = ws.ws_row - 1; /* a line for the prompt */
		return;
	}
	int c = env_int("COLUMNS"), l = env_int("LINES");
	*w = c ? c : 80;
	*h = l > 1 ? l - 1 : 24;
}

static int use_color(void)
{
	const char *nc = getenv("NO_COLOR"), *term = getenv("TERM");
	return isatty(1) && !(nc && *nc) && !(term && strcmp(term, "dumb") == 0);
}

/* Renders once: to the -o file, or to standard output as terminal text. */
static int render(const options *o, log_file *logs, int nlogs, int loud, int lenient,
                  char **out, size_t *len)
{
	ck_plot *p = new_plot(o, logs, nlogs);
	int n = build_plot(o, logs, nlogs, p, loud, lenient);
	if (!n) {
		ck_plot_free(p);
		return 0;
	}
	ck_err err = {{0}};
	int rc = ck_plot_render(p, o->format, out, len, &err);
	ck_plot_free(p);
	if (rc < 0) {
		if (lenient)
			return 0;
		die("%s", err.msg);
	}
	return 1;
}

/* ---- --follow -------------------------------------------------------------------------- */

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* Reads what was appended to the log since the last call (the way tail -f
 * does: a file that shrank or was replaced is read again from the start).
 * Returns 1 if the table changed. */
static int poll_log(log_file *lf)
{
	ck_err err = {{0}};
	int is_stdin = strcmp(lf->path, "-") == 0;
	if (!is_stdin) {
		struct stat st;
		if (stat(lf->path, &st) != 0)
			return 0; /* not there (yet, or being replaced) */
		if (lf->f && (st.st_ino != lf->ino || st.st_size < lf->offset)) {
			fclose(lf->f);
			lf->f = NULL;
		}
		if (!lf->f) {
			lf->f = fopen(lf->path, "rb");
			if (!lf->f)
				return 0;
			lf->ino = st.st_ino;
			lf->offset = 0;
			lf->npending = 0;
			ck_plot_table_free(lf->t);
			lf->t = ck_plot_table_new();
			if (!lf->t)
				die("out of memory");
		}
	} else if (lf->eof) {
		return 0;
	}
	size_t before_rows = lf->t->nrows, before_ragged = lf->t->ragged;
	int had_header = lf->t->delim != 0;
	for (;;) {
		if (lf->cap - lf->npending < 65536) {
			size_t cap = lf->cap ? lf->cap * 2 : 1 << 17;
			char *b = realloc(lf->pending, cap);
			if (!b)
				die("out of memory");
			lf->pending = b;
			lf->cap = cap;
		}
		ssize_t got = read(fileno(is_stdin ? stdin : lf->f), lf->pending + lf->npending,
		                   lf->cap - lf->npending);
		if (got < 0) {
			if (errno == EINTR)
				break;
			die("%s: %s", lf->path, strerror(errno));
		}
		if (got == 0) {
			lf->eof = is_stdin;
			break;
		}
		lf->offset += got;
		lf->npending += (size_t)got;
		int64_t used = ck_plot_table_feed(lf->t, lf->pending, lf->npending, lf->eof, &err);
		if (used < 0)
			die("%s: %s", lf->path, err.msg);
		memmove(lf->pending, lf->pending + used, lf->npending - (size_t)used);
		lf->npending -= (size_t)used;
		if (is_stdin)
			break; /* redraw between the pieces of a pipe */
	}
	if (lf->eof && lf->npending) { /* the last line of standard input */
		if (ck_plot_table_feed(lf->t, lf->pending, lf->npending, 1, &err) < 0)
			die("%s: %s", lf->path, err.msg);
		lf->npending = 0;
	}
	return lf->t->nrows != before_rows || lf->t->ragged != before_ragged ||
	       (lf->t->delim != 0) != had_header;
}

/* The frame in place of the previous one: each line cleared to its end, and
 * the rest of the screen cleared below the last. */
static void show_frame(const char *text, size_t len)
{
	fputs("\033[H", stdout);
	for (size_t i = 0; i < len; i++) {
		if (text[i] == '\n')
			fputs("\033[K", stdout);
		putchar(text[i]);
	}
	fputs("\033[J", stdout);
	if (fflush(stdout) != 0)
		die("standard output: %s", strerror(errno));
}

static void follow(const options *o, log_file *logs, int nlogs)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal; /* no SA_RESTART: the sleep ends at once */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	int tty = !o->output && isatty(1);
	if (tty)
		fputs("\033[?25l\033[2J", stdout); /* hide the cursor, clear */
	int last_w = 0, last_h = 0, first = 1;
	while (!stop) {
		int changed = 0;
		for (int i = 0; i < nlogs; i++)
			changed |= poll_log(&logs[i]);
		options frame = *o;
		if (o->auto_size) {
			terminal_size(&frame.plot.width, &frame.plot.height);
			changed |= frame.plot.width != last_w || frame.plot.height != last_h;
			last_w = frame.plot.width;
			last_h = frame.plot.height;
		}
		if (changed || first) {
			char *out = NULL;
			size_t len = 0;
			if (render(&frame, logs, nlogs, 0, 1, &out, &len)) {
				if (o->output)
					write_file(o->output, out, len);
				else if (tty)
					show_frame(out, len);
				else
					write_all(stdout, out, len, "standard output");
				if (fflush(stdout) != 0)
					die("standard output: %s", strerror(errno));
			} else if (tty) {
				char msg[512];
				int n = snprintf(msg, sizeof msg, "lossplot: waiting for rows in %s\n",
				                 logs[0].path);
				show_frame(msg, (size_t)n);
			}
			free(out);
			first = 0;
		}
		int all_done = 1;
		for (int i = 0; i < nlogs; i++)
			all_done &= strcmp(logs[i].path, "-") == 0 && logs[i].eof;
		if (all_done)
			break;
		struct timespec ts = {0, 250 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	if (tty)
		fputs("\033[?25h", stdout); /* the cursor back */
	if (fflush(stdout) != 0)
		die("standard output: %s", strerror(errno));
	/* The warnings about the logs as they are now, kept off the screen
	 * while it was redrawn. */
	ck_plot *p = new_plot(o, logs, nlogs);
	build_plot(o, logs, nlogs, p, 1, 1);
	ck_plot_free(p);
}

/* ---- main ----------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
	cli_init("lossplot", usage);
	options o;
	parse_options(argc, argv, &o);
	int nlogs = argc - optind > 0 ? argc - optind : 1;
	log_file *logs = calloc((size_t)nlogs, sizeof *logs);
	if (!logs)
		die("out of memory");
	int nstdin = 0;
	for (int i = 0; i < nlogs; i++) {
		logs[i].path = optind < argc ? argv[optind + i] : "-";
		nstdin += strcmp(logs[i].path, "-") == 0;
		default_name(&logs[i], i < o.nlabels ? o.labels[i] : NULL);
	}
	if (nstdin > 1)
		usage_error("standard input (-) can be read only once");
	if (o.output && strcmp(o.output, "-") == 0 && o.format == CK_PLOT_PNG && isatty(1))
		die("will not write a PNG to a terminal");
	o.auto_size = o.format == CK_PLOT_TERM && !o.plot.width && !o.output;
	o.plot.color = !o.output && use_color();

	if (o.follow) {
		for (int i = 0; i < nlogs; i++) {
			logs[i].t = ck_plot_table_new();
			if (!logs[i].t)
				die("out of memory");
		}
		follow(&o, logs, nlogs);
	} else {
		if (o.auto_size)
			terminal_size(&o.plot.width, &o.plot.height);
		for (int i = 0; i < nlogs; i++)
			load_whole(&logs[i]);
		char *out = NULL;
		size_t len = 0;
		render(&o, logs, nlogs, 1, 0, &out, &len);
		if (o.output)
			write_file(o.output, out, len);
		else
			write_all(stdout, out, len, "standard output");
		if (fflush(stdout) != 0)
			die("standard output: %s", strerror(errno));
		free(out);
	}
	for (int i = 0; i < nlogs; i++) {
		ck_plot_table_free(logs[i].t);
		if (logs[i].f)
			fclose(logs[i].f);
		free(logs[i].pending);
	}
	free(logs);
	free(o.labels);
	for (int i = 0; i < o.nlists; i++)
		free(o.lists[i]);
	free(o.lists);
	free(o.y);
	return cli_close_stdout(0);
}
