/* plot_log.c: the table reader of lossplot: a header line of column names,
 * then rows of numbers, TAB- or comma-separated.
 *
 * Fed whole or piece by piece (ck_plot_table_feed), so that a log still
 * being written can be followed. Bad lines never stop the reading: a row
 * with the wrong number of cells is skipped and its line number kept; a cell
 * that is not a number becomes NAN and is counted against its column, so
 * that the caller warns only about the columns it plots. */
#include "plot_internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Longest cell handed to strtod; a longer one is not a number we accept. */
#define MAX_NUMBER_LEN 128

ck_plot_table *ck_plot_table_new(void)
{
	return calloc(1, sizeof(ck_plot_table));
}

void ck_plot_table_free(ck_plot_table *t)
{
	if (!t)
		return;
	for (size_t c = 0; c < t->ncols; c++) {
		free(t->cols[c].name);
		free(t->cols[c].v);
	}
	free(t->cols);
	free(t->header);
	free(t->row);
	free(t->kind);
	free(t);
}

/* ---- cells ---------------------------------------------------------------- */

static int is_blank(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r';
}

/* Trims blanks (but not the delimiter itself) around [*s, *e). */
static void trim(const char **s, const char **e, char delim)
{
	while (*s < *e && is_blank(**s) && **s != delim)
		(*s)++;
	while (*e > *s && is_blank((*e)[-1]) && (*e)[-1] != delim)
		(*e)--;
}

/* The end of the cell that starts at s (at the delimiter or e). In CSV a
 * quoted cell may hold the delimiter. */
static const char *cell_end(const char *s, const char *e, char delim)
{
	if (delim == ',') {
		const char *q = s;
		while (q < e && is_blank(*q))
			q++;
		if (q < e && *q == '"') {
			for (q++; q < e; q++)
				if (*q == '"') {
					if (q + 1 < e && q[1] == '"')
						q++;
					else
						break;
				}
			if (q < e)
				q++;
			const char *d = memchr(q, delim, (size_t)(e - q));
			return d ? d : e;
		}
	}
	const char *d = memchr(s, delim, (size_t)(e - s));
	return d ? d : e;
}

/* Removes the quotes of a CSV cell: the text into dst (size cap, NUL-ended),
 * returning its length, or -1 if it does not fit. */
static long unquote(const char *s, const char *e, char *dst, size_t cap)
{
	size_t n = 0;
	int quoted = s < e && *s == '"' && e - s >= 2 && e[-1] == '"';
	if (quoted) {
		s++;
		e--;
	}
	for (; s < e; s++) {
		if (quoted && *s == '"' && s + 1 < e && s[1] == '"')
			s++;
		if (n + 1 >= cap)
			return -1;
		dst[n++] = *s;
	}
	dst[n] = '\0';
	return (long)n;
}

static const double pow10_exact[] = {
	1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

/* Plain decimals ("-12.5", "3e-4") whose digits fit in 2^53 and whose power
 * of ten is exact in a double: one correctly rounded multiply or divide
 * gives the same double as strtod (Clinger's fast path). Returns 0 when the
 * text takes the slow path. */
static int parse_fast(const char *s, const char *e, double *out)
{
	int neg = 0;
	if (s < e && (*s == '-' || *s == '+'))
		neg = *s++ == '-';
	uint64_t m = 0;
	int digits = 0, frac = 0, any = 0;
	for (; s < e && *s >= '0' && *s <= '9'; s++, any = 1)
		if (m || *s != '0') {
			if (++digits > 18)
				return 0;
			m = m * 10 + (uint64_t)(*s - '0');
		}
	if (s < e && *s == '.')
		for (s++; s < e && *s >= '0' && *s <= '9'; s++, any = 1) {
			if (m || *s != '0') {
				if (++digits > 18)
					return 0;
				m = m * 10 + (uint64_t)(*s - '0');
			}
			frac++;
		}
	if (!any)
		return 0;
	int ex = 0;
	if (s < e && (*s == 'e' || *s == 'E')) {
		s++;
		int eneg = 0;
		if (s < e && (*s == '-' || *s == '+'))
			eneg = *s++ == '-';
		if (s == e)
			return 0;
		for (; s < e && *s >= '0' && *s <= '9'; s++)
			if ((ex = ex * 10 + (*s - '0')) > 1000)
				return 0;
		if (eneg)
			ex = -ex;
	}
	if (s != e || m > (1ull << 53))
		return 0;
	ex -= frac;
	if (ex < -22 || ex > 22)
		return 0;
	double v = (double)m;
	v = ex < 0 ? v / pow10_exact[-ex] : v * pow10_exact[ex];
	*out = neg ? -v : v;
	return 1;
}

enum { CELL_NUMBER, CELL_EMPTY, CELL_NONFINITE, CELL_NONNUMERIC };

/* Reads one cell [s, e) as a number. */
static int parse_cell(const char *s, const char *e, char delim, double *out)
{
	trim(&s, &e, delim);
	*out = NAN;
	if (s == e)
		return CELL_EMPTY;
	if (parse_fast(s, e, out))
		return CELL_NUMBER;
	char text[MAX_NUMBER_LEN];
	long n = unquote(s, e, text, sizeof text);
	if (n < 0)
		return CELL_NONNUMERIC;
	char *p = text, *q = text + n;
	while (p < q && is_blank(*p))
		p++;
	while (q > p && is_blank(q[-1]))
		q--;
	if (p == q)
		return CELL_EMPTY;
	*q = '\0';
	char *end;
	errno = 0;
	double v = strtod(p, &end);
	if (end != q)
		return CELL_NONNUMERIC;
	if (!isfinite(v))
		return CELL_NONFINITE;
	*out = v; /* an underflow to 0 or denormal is still the best reading */
	return CELL_NUMBER;
}

/* ---- lines ---------------------------------------------------------------- */

static int read_header(ck_plot_table *t, const char *s, const char *e, ck_err *err)
{
	t->delim = memchr(s, '\t', (size_t)(e - s)) ? '\t' : ',';
	size_t n = 1;
	for (const char *p = s; (p = cell_end(p, e, t->delim)) < e; p++)
		n++;
	t->cols = calloc(n, sizeof *t->cols);
	t->row = malloc(n * sizeof *t->row);
	t->kind = malloc(n);
	t->header = malloc((size_t)(e - s) + 1);
	if (!t->cols || !t->row || !t->kind || !t->header)
		return ck_err_set(err, "out of memory");
	memcpy(t->header, s, (size_t)(e - s));
	t->header[e - s] = '\0';
	t->header_len = (size_t)(e - s);
	const char *p = s;
	for (size_t c = 0; c < n; c++) {
		const char *ce = cell_end(p, e, t->delim), *cs = p;
		trim(&cs, &ce, t->delim);
		size_t cap = (size_t)(ce - cs) + 16;
		char *name = malloc(cap);
		if (!name)
			return ck_err_set(err, "out of memory");
		long len = unquote(cs, ce, name, cap);
		if (len <= 0)
			snprintf(name, cap, "column %zu", c + 1);
		t->cols[c].name = name;
		t->ncols = c + 1;
		p = cell_end(p, e, t->delim) + 1;
	}
	return 0;
}

static int grow(ck_plot_table *t, ck_err *err)
{
	size_t cap = t->cap ? t->cap * 2 : 1024;
	for (size_t c = 0; c < t->ncols; c++) {
		double *v = realloc(t->cols[c].v, cap * sizeof *v);
		if (!v)
			return ck_err_set(err, "out of memory (%zu rows)", t->nrows);
		t->cols[c].v = v;
	}
	t->cap = cap;
	return 0;
}

/* The end of a TSV cell: a byte loop, quicker than memchr on cells of a few
 * characters. */
static const char *tab_end(const char *p, const char *e)
{
	while (p < e && *p != '\t')
		p++;
	return p;
}

static int read_row(ck_plot_table *t, const char *s, const char *e, ck_err *err)
{
	/* Cells are read into t->row first: a row with the wrong number of
	 * cells leaves no trace in the columns. */
	size_t n = 0;
	for (const char *p = s;; p++) {
		const char *ce = t->delim == '\t' ? tab_end(p, e) : cell_end(p, e, t->delim);
		if (n < t->ncols)
			t->kind[n] = (uint8_t)parse_cell(p, ce, t->delim, &t->row[n]);
		n++;
		if (ce == e)
			break;
		p = ce;
	}
	if (n != t->ncols) {
		if (t->ragged < CK_PLOT_MAX_REPORTED)
			t->ragged_lines[t->ragged] = t->line;
		t->ragged++;
		return 0;
	}
	if (t->nrows == t->cap && grow(t, err) < 0)
		return -1;
	for (size_t c = 0; c < n; c++) {
		ck_plot_column *col = &t->cols[c];
		col->v[t->nrows] = t->row[c];
		if (t->kind[c] == CELL_NONFINITE) {
			col->nonfinite++;
		} else if (t->kind[c] == CELL_NONNUMERIC) {
			if (!col->nonnumeric++)
				col->first_nonnumeric = t->line;
		}
	}
	t->nrows++;
	return 0;
}

int64_t ck_plot_table_feed(ck_plot_table *t, const char *buf, size_t len, int final,
                           ck_err *err)
{
	const char *p = buf, *end = buf + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl && !final)
			break;
		const char *e = nl ? nl : end;
		t->line++;
		const char *s = p;
		p = nl ? nl + 1 : end;
		if (e > s && e[-1] == '\r')
			e--;
		if (!t->header && t->line == 1 && e - s >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
			s += 3; /* a UTF-8 byte order mark */
		const char *first = s;
		while (first < e && is_blank(*first))
			first++;
		if (first == e || *first == '#')
			continue;
		if (!t->header) {
			if (read_header(t, s, e, err) < 0)
				return -1;
		} else if ((size_t)(e - s) == t->header_len &&
		           memcmp(s, t->header, (size_t)(e - s)) == 0) {
			continue;
		} else if (read_row(t, s, e, err) < 0) {
			return -1;
		}
	}
	return p - buf;
}

int ck_plot_table_check(const ck_plot_table *t, ck_err *err)
{
	if (!t->header)
		return ck_err_set(err, "empty log (no header line)");
	if (!t->nrows)
		return ck_err_set(err, "no data rows after the header%s",
		                  t->ragged ? " (every row has a wrong number of cells)" : "");
	return 0;
}

ck_plot_table *ck_plot_table_parse(const char *buf, size_t len, ck_err *err)
{
	ck_plot_table *t = ck_plot_table_new();
	if (!t) {
		ck_err_set(err, "out of memory");
		return NULL;
	}
	if (ck_plot_table_feed(t, buf, len, 1, err) < 0 || ck_plot_table_check(t, err) < 0) {
		ck_plot_table_free(t);
		return NULL;
	}
	return t;
}

ck_plot_table *ck_plot_table_load(FILE *f, ck_err *err)
{
	/* A regular file is read into one allocation of its size (and a byte,
	 * to see the end); a pipe into a doubling buffer. */
	size_t len = 0, cap = 1 << 16;
	struct stat st;
	if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
	    (uint64_t)st.st_size < SIZE_MAX / 2)
		cap = (size_t)st.st_size + 1;
	char *buf = malloc(cap);
	if (!buf) {
		ck_err_set(err, "out of memory");
		return NULL;
	}
	for (;;) {
		if (len == cap) {
			char *nb = cap > SIZE_MAX / 2 ? NULL : realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				ck_err_set(err, "out of memory");
				return NULL;
			}
			buf = nb;
			cap *= 2;
		}
		size_t got = fread(buf + len, 1, cap - len, f);
		len += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		ck_err_set(err, "read error: %s", strerror(errno));
		free(buf);
		return NULL;
	}
	ck_plot_table *t = ck_plot_table_parse(buf, len, err);
	free(buf);
	return t;
}

int ck_plot_table_find(const ck_plot_table *t, const char *name)
{
	for (size_t c = 0; c < t->ncols; c++)
		if (strcmp(t->cols[c].name, name) == 0)
			return (int)c;
	return -1;
}

char *ck_plot_table_names(const ck_plot_table *t, char *buf, size_t size)
{
	size_t n = 0;
	if (size)
		buf[0] = '\0';
	for (size_t c = 0; c < t->ncols && n < size; c++) {
		int w = snprintf(buf + n, size - n, "%s%s", c ? ", " : "", t->cols[c].name);
		if (w < 0)
			break;
		n += (size_t)w;
	}
	return buf;
}

int ck_plot_default_y(const char *name)
{
	return strstr(name, "loss") != NULL || strstr(name, "acc") != NULL;
}
