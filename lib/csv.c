/* csv.c: tables of numbers as CSV (RFC 4180 quoting) or TSV (no quoting).
 *
 * Reading gives `x` (N, columns) f32, an optional label column as `y` (N)
 * i32 (with metadata `classes` when labels are names), and the header's
 * names as metadata `columns`. Writing prints one row per line. */
#include "io_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>

/* ======================================================================== */
/* Records                                                                  */
/* ======================================================================== */

typedef struct csv_parser {
	const unsigned char *p, *end;
	char delim;
	int quoting; /* CSV: 1, TSV: 0 */
	long line;   /* line number of the next character */
	char *text;  /* the current record's cells, each NUL-terminated */
	size_t tlen, tcap;
	size_t *cells; /* offsets of the cells in text */
	size_t ncells, ccap;
	ck_err *err;
} csv_parser;

static int put_char(csv_parser *c, char ch)
{
	if (c->tlen == c->tcap) {
		size_t ncap = c->tcap ? c->tcap * 2 : 256;
		char *nt = realloc(c->text, ncap);
		if (!nt)
			return ck_err_set(c->err, "out of memory");
		c->text = nt;
		c->tcap = ncap;
	}
	c->text[c->tlen++] = ch;
	return 0;
}

static int put_cell(csv_parser *c, size_t start)
{
	if (c->ncells == c->ccap) {
		size_t ncap = c->ccap ? c->ccap * 2 : 16;
		size_t *nc = realloc(c->cells, ncap * sizeof *nc);
		if (!nc)
			return ck_err_set(c->err, "out of memory");
		c->cells = nc;
		c->ccap = ncap;
	}
	c->cells[c->ncells++] = start;
	return put_char(c, '\0');
}

static int is_blank(const csv_parser *c, int ch)
{
	return ch == ' ' || (ch == '\t' && c->delim != '\t');
}

static const char *cell(const csv_parser *c, size_t i)
{
	return c->text + c->cells[i];
}

/* Reads the next record into c's cells, skipping empty lines. Returns 1, 0
 * at the end of the input, or -1. *line receives the record's first line. */
static int next_record(csv_parser *c, long *line)
{
	for (;;) {
		if (c->p == c->end)
			return 0;
		*line = c->line;
		c->tlen = c->ncells = 0;
		int quoted_any = 0;
		for (;;) {
			size_t start = c->tlen;
			while (c->p < c->end && is_blank(c, *c->p))
				c->p++;
			if (c->quoting && c->p < c->end && *c->p == '"') {
				long qline = c->line;
				quoted_any = 1;
				c->p++;
				for (;;) {
					if (c->p == c->end)
						return ck_err_set(c->err, "line %ld: unterminated quoted field", qline);
					unsigned char ch = *c->p++;
					if (ch == '"') {
						if (c->p < c->end && *c->p == '"')
							c->p++;
						else
							break;
					} else if (ch == '\n') {
						c->line++;
					} else if (ch == '\0') {
						return ck_err_set(c->err, "line %ld: NUL byte (binary data?)", c->line);
					}
					if (put_char(c, (char)ch) < 0)
						return -1;
				}
				while (c->p < c->end && is_blank(c, *c->p))
					c->p++;
				if (c->p < c->end && *c->p != c->delim && *c->p != '\r' && *c->p != '\n')
					return ck_err_set(c->err, "line %ld: text after a closing quote", c->line);
			} else {
				while (c->p < c->end && *c->p != c->delim && *c->p != '\r' && *c->p != '\n') {
					if (*c->p == '\0')
						return ck_err_set(c->err, "line %ld: NUL byte (binary data?)", c->line);
					if (put_char(c, (char)*c->p++) < 0)
						return -1;
				}
				while (c->tlen > start && is_blank(c, (unsigned char)c->text[c->tlen - 1]))
					c->tlen--;
			}
			if (put_cell(c, start) < 0)
				return -1;
			if (c->p < c->end && *c->p == c->delim) {
				c->p++;
				continue;
			}
			if (c->p < c->end && *c->p == '\r')
				c->p++;
			if (c->p < c->end && *c->p == '\n')
				c->p++;
			c->line++;
			break;
		}
		if (c->ncells == 1 && !quoted_any && c->text[0] == '\0')
			continue; /* an empty line */
		return 1;
	}
}

/* ======================================================================== */
/* Cells                                                                    */
/* ======================================================================== */

/* A decimal number (or nan, inf), white space around it allowed, as f32.
 * Returns 0, -1 for not a number, -2 for out of the f32 range. */
static int parse_number(const char *cell_text, float *out)
{
	char s[512]; /* the cell without surrounding white space */
	const char *b = cell_text, *z = cell_text + strlen(cell_text);
	while (b < z && strchr(" \t\r\n", *b))
		b++;
	while (z > b && strchr(" \t\r\n", z[-1]))
		z--;
	if (z - b >= (ptrdiff_t)sizeof s)
		return -1;
	memcpy(s, b, (size_t)(z - b));
	s[z - b] = '\0';
	const char *q = s + (*s == '+' || *s == '-');
	int special = strcasecmp(q, "nan") == 0 || strcasecmp(q, "inf") == 0 ||
	              strcasecmp(q, "infinity") == 0;
	if (!special) {
		int digits = 0;
		for (const char *r = q; *r; r++) {
			if (*r >= '0' && *r <= '9')
				digits++;
			else if (!strchr(".eE+-", *r))
				return -1; /* also keeps strtof's hexadecimal out */
		}
		if (!digits)
			return -1;
	}
	char *e;
	errno = 0;
	float f = strtof(s, &e); /* rounds once, straight to f32 */
	if (e == s || *e)
		return -1;
	if (errno == ERANGE && isinf(f))
		return -2;
	*out = f;
	return 0;
}

/* An integer label: [+-]digits within i32. */
static int parse_label_int(const char *s, int32_t *out)
{
	const char *q = s + (*s == '+' || *s == '-');
	if (!*q)
		return -1;
	int64_t v = 0;
	for (; *q; q++) {
		if (*q < '0' || *q > '9')
			return -1;
		v = v * 10 + (*q - '0');
		if (v > (int64_t)INT32_MAX + 1)
			return -1;
	}
	v = *s == '-' ? -v : v;
	if (v > INT32_MAX || v < INT32_MIN)
		return -1;
	*out = (int32_t)v;
	return 0;
}

/* ======================================================================== */
/* Reading                                                                  */
/* ======================================================================== */

/* What a read collects before it goes into the ck_tnz. */
typedef struct csv_table {
	float *x;
	size_t nx, xcap;
	int32_t *y;           /* integer labels, while they all are */
	size_t *label_off;    /* every label's text: offsets into labels */
	char *labels;
	size_t llen, lcap, nlabels, ycap;
	int labels_are_ints;
	char *columns; /* header names of x's columns, '\n'-separated */
	char *classes;
} csv_table;

static void table_free(csv_table *t)
{
	free(t->x);
	free(t->y);
	free(t->label_off);
	free(t->labels);
	free(t->columns);
	free(t->classes);
}

static int grow(void **p, size_t *cap, size_t need, size_t elsize, ck_err *err)
{
	if (need <= *cap)
		return 0;
	size_t ncap = *cap ? *cap : 1024;
	while (ncap < need)
		ncap *= 2;
	void *np = realloc(*p, ncap * elsize);
	if (!np)
		return ck_err_set(err, "out of memory");
	*p = np;
	*cap = ncap;
	return 0;
}

static int add_label(csv_table *t, const char *s, long line, ck_err *err)
{
	size_t n = strlen(s);
	if (n == 0)
		return ck_err_set(err, "line %ld: empty label", line);
	if (memchr(s, '\n', n))
		return ck_err_set(err, "line %ld: label with a line break", line);
	size_t old_cap = t->ycap;
	if (grow((void **)&t->label_off, &t->ycap, t->nlabels + 1, sizeof *t->label_off, err) < 0)
		return -1;
	if (t->labels_are_ints) {
		if (t->ycap != old_cap) {
			void *ny = realloc(t->y, t->ycap * sizeof *t->y);
			if (!ny)
				return ck_err_set(err, "out of memory");
			t->y = ny;
		}
		if (parse_label_int(s, &t->y[t->nlabels]) < 0)
			t->labels_are_ints = 0;
	}
	if (grow((void **)&t->labels, &t->lcap, t->llen + n + 1, 1, err) < 0)
		return -1;
	memcpy(t->labels + t->llen, s, n + 1);
	t->label_off[t->nlabels++] = t->llen;
	t->llen += n + 1;
	return 0;
}

static int by_string(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Labels that are not all integers: class ids in sorted name order. */
static int number_classes(csv_table *t, ck_err *err)
{
	size_t n = t->nlabels, nclasses = 0, clen = 0;
	const char **names = malloc((n ? n : 1) * sizeof *names);
	int32_t *y = malloc((n ? n : 1) * sizeof *y);
	char *classes = malloc(t->llen + 1);
	if (!names || !y || !classes) {
		free(names);
		free(y);
		free(classes);
		return ck_err_set(err, "out of memory");
	}
	/* The distinct names, sorted, and joined by '\n' into classes. */
	for (size_t i = 0; i < n; i++)
		names[i] = t->labels + t->label_off[i];
	qsort(names, n, sizeof *names, by_string);
	for (size_t i = 0; i < n; i++) {
		if (nclasses > 0 && strcmp(names[i], names[nclasses - 1]) == 0)
			continue;
		names[nclasses] = names[i];
		if (nclasses++)
			classes[clen++] = '\n';
		size_t len = strlen(names[i]);
		memcpy(classes + clen, names[i], len);
		clen += len;
	}
	classes[clen] = '\0';
	/* Each label's id: a binary search among the distinct names. */
	for (size_t i = 0; i < n; i++) {
		const char *s = t->labels + t->label_off[i];
		size_t lo = 0, hi = nclasses;
		while (hi - lo > 1) {
			size_t mid = lo + (hi - lo) / 2;
			if (strcmp(names[mid], s) <= 0)
				lo = mid;
			else
				hi = mid;
		}
		y[i] = (int32_t)lo;
	}
	free(names);
	free(t->y);
	t->y = y;
	t->classes = classes;
	return 0;
}

/* Joins the header names of x's columns. */
static int take_columns(csv_table *t, const csv_parser *c, long label_col, long line,
                        ck_err *err)
{
	size_t need = 1;
	for (size_t i = 0; i < c->ncells; i++)
		need += strlen(cell(c, i)) + 1;
	t->columns = malloc(need);
	if (!t->columns)
		return ck_err_set(err, "out of memory");
	size_t len = 0;
	for (size_t i = 0; i < c->ncells; i++) {
		if ((long)i == label_col)
			continue;
		const char *s = cell(c, i);
		if (strchr(s, '\n'))
			return ck_err_set(err, "line %ld: column name with a line break", line);
		if (len)
			t->columns[len++] = '\n';
		size_t n = strlen(s);
		memcpy(t->columns + len, s, n);
		len += n;
	}
	t->columns[len] = '\0';
	return 0;
}

/* Finds the label column: a 1-based index, or a name in the header row c. */
static int find_label(const char *label, const csv_parser *c, int header, long line,
                      long *col, ck_err *err)
{
	*col = -1;
	if (!label || !*label)
		return 0;
	if (strspn(label, "0123456789") == strlen(label)) {
		long v = strlen(label) > 9 ? 0 : strtol(label, NULL, 10);
		if (v < 1 || (size_t)v > c->ncells)
			return ck_err_set(err, "label column %s is not in 1..%zu", label, c->ncells);
		*col = v - 1;
		return 0;
	}
	if (!header)
		return ck_err_set(err, "label column '%s' is a name, but the input has no header",
		                  label);
	for (size_t i = 0; i < c->ncells; i++)
		if (strcmp(cell(c, i), label) == 0) {
			*col = (long)i;
			return 0;
		}
	return ck_err_set(err, "line %ld: no column named '%s' in the header", line, label);
}

static int read_row(csv_table *t, const csv_parser *c, long label_col, long line, ck_err *err)
{
	if (grow((void **)&t->x, &t->xcap, t->nx + c->ncells, sizeof *t->x, err) < 0)
		return -1;
	for (size_t i = 0; i < c->ncells; i++) {
		const char *s = cell(c, i);
		if ((long)i == label_col) {
			if (add_label(t, s, line, err) < 0)
				return -1;
			continue;
		}
		if (!*s)
			return ck_err_set(err, "line %ld, column %zu: empty cell", line, i + 1);
		int rc = parse_number(s, &t->x[t->nx]);
		if (rc == -1)
			return ck_err_set(err, "line %ld, column %zu: '%.40s' is not a number", line, i + 1,
			                  s);
		if (rc == -2)
			return ck_err_set(err, "line %ld, column %zu: %.40s is out of the f32 range", line,
			                  i + 1, s);
		t->nx++;
	}
	return 0;
}

/* Moves the table into out; on failure out is as it was. */
static int table_store(csv_table *t, size_t rows, size_t cols, int has_label, ck_tnz *out,
                       ck_err *err)
{
	ck_tensor x = {0}, y = {0};
	x.dtype = CK_DTYPE_F32;
	x.rank = 2;
	x.dims[0] = (int64_t)rows;
	x.dims[1] = (int64_t)cols;
	x.nbytes = rows * cols * sizeof(float);
	x.data = t->x;
	size_t first = out->count;
	if (!ck_io_tnz_adopt(out, "x", &x, err))
		return -1;
	t->x = NULL;
	if (has_label) {
		y.dtype = CK_DTYPE_I32;
		y.rank = 1;
		y.dims[0] = (int64_t)rows;
		y.nbytes = rows * sizeof(int32_t);
		y.data = t->y;
		if (!ck_io_tnz_adopt(out, "y", &y, err))
			goto fail;
		t->y = NULL;
	}
	/* The metadata goes last, as it cannot be taken back once replaced. */
	if ((t->classes && ck_meta_set(&out->meta, "classes", t->classes, (size_t)-1, err) < 0) ||
	    (t->columns && ck_meta_set(&out->meta, "columns", t->columns, (size_t)-1, err) < 0))
		goto fail;
	return 0;
fail:
	while (out->count > first) {
		char name[CK_TNZ_MAX_NAME + 1];
		memcpy(name, out->tensors[out->count - 1].name, sizeof name);
		ck_tnz_remove(out, name);
	}
	return -1;
}

int ck_csv_read_mem(const void *buf, size_t len, char delim, const ck_csv_opts *opts,
                    ck_tnz *out, ck_err *err)
{
	ck_csv_opts o = opts ? *opts : CK_CSV_OPTS_DEFAULT;
	if (!delim)
		delim = ',';
	if (delim == '"' || delim == '\n' || delim == '\r' || delim == ' ' || delim == '\0')
		return ck_err_set(err, "bad delimiter 0x%02x", (unsigned char)delim);
	csv_parser c = {0};
	c.p = buf;
	c.end = c.p + len;
	c.delim = delim;
	c.quoting = delim != '\t';
	c.line = 1;
	c.err = err;
	if (len >= 3 && memcmp(c.p, "\xef\xbb\xbf", 3) == 0)
		c.p += 3;
	csv_table t = {0};
	t.labels_are_ints = 1;
	long line, label_col = -1;
	int rc = next_record(&c, &line);
	if (rc == 0)
		rc = ck_err_set(err, "empty input");
	if (rc < 0)
		goto done;
	size_t ncols = c.ncells;
	int by_name = o.label && *o.label && strspn(o.label, "0123456789") != strlen(o.label);
	int header = o.header;
	if (header < 0 && by_name)
		header = 1;
	if ((rc = find_label(o.label, &c, header == 1, line, &label_col, err)) < 0)
		goto done;
	if (header < 0) {
		header = 0;
		for (size_t i = 0; i < ncols && !header; i++) {
			float v;
			header = (long)i != label_col && parse_number(cell(&c, i), &v) != 0;
		}
	}
	size_t cols = ncols - (label_col >= 0);
	if (cols == 0) {
		rc = ck_err_set(err, "no columns besides the label");
		goto done;
	}
	long first_line = line;
	size_t rows = 0;
	if (header)
		rc = take_columns(&t, &c, label_col, line, err);
	else if ((rc = read_row(&t, &c, label_col, line, err)) == 0)
		rows++;
	while (rc == 0 && (rc = next_record(&c, &line)) == 1) {
		if (c.ncells != ncols) {
			rc = ck_err_set(err, "line %ld: %zu fields, expected %zu (as on line %ld)", line,
			                c.ncells, ncols, first_line);
			break;
		}
		rc = read_row(&t, &c, label_col, line, err);
		rows++;
	}
	if (rc < 0)
		goto done;
	if (rows == 0) {
		rc = ck_err_set(err, "no data rows after the header");
		goto done;
	}
	if (label_col >= 0 && !t.labels_are_ints && (rc = number_classes(&t, err)) < 0)
		goto done;
	rc = table_store(&t, rows, cols, label_col >= 0, out, err);
done:
	table_free(&t);
	free(c.text);
	free(c.cells);
	return rc < 0 ? -1 : 0;
}

static char delim_for(const char *path, char delim)
{
	if (delim)
		return delim;
	size_t n = strlen(path);
	int tab = n >= 4 && (strcasecmp(path + n - 4, ".tsv") == 0 ||
	                     strcasecmp(path + n - 4, ".tab") == 0);
	return tab ? '\t' : ',';
}

int ck_csv_read(const char *path, char delim, const ck_csv_opts *opts, ck_tnz *out,
                ck_err *err)
{
	unsigned char *buf;
	size_t len;
	if (ck_io_slurp(path, &buf, &len, err) < 0)
		return ck_err_prefix(err, "%s", path);
	int rc = ck_csv_read_mem(buf, len, delim_for(path, delim), opts, out, err);
	free(buf);
	return rc < 0 ? ck_err_prefix(err, "%s", path) : 0;
}

/* ======================================================================== */
/* Writing                                                                  */
/* ======================================================================== */

/* The shortest of %.6g .. %.9g that reads back as the same f32. */
static int format_f32(char *s, size_t cap, float v)
{
	int n = 0;
	for (int prec = 6; prec <= 9; prec++) {
		n = snprintf(s, cap, "%.*g", prec, (double)v);
		float back = strtof(s, NULL);
		if (memcmp(&back, &v, sizeof v) == 0 || isnan(v))
			break;
	}
	return n;
}

/* The shortest of %.15g .. %.17g that reads back as the same f64. */
static int format_f64(char *s, size_t cap, double v)
{
	int n = 0;
	for (int prec = 15; prec <= 17; prec++) {
		n = snprintf(s, cap, "%.*g", prec, v);
		double back = strtod(s, NULL);
		if (memcmp(&back, &v, sizeof v) == 0 || isnan(v))
			break;
	}
	return n;
}

static int format_value(char *s, size_t cap, const ck_tensor *t, size_t i)
{
	const unsigned char *p = (const unsigned char *)t->data + i * ck_dtype_size(t->dtype);
	union {
		uint8_t u8;
		int8_t i8;
		uint16_t u16;
		int16_t i16;
		uint32_t u32;
		int32_t i32;
		uint64_t u64;
		int64_t i64;
		float f32;
		double f64;
	} v;
	memcpy(&v, p, ck_dtype_size(t->dtype));
	switch (t->dtype) {
	case CK_DTYPE_U8: return snprintf(s, cap, "%u", (unsigned)v.u8);
	case CK_DTYPE_BOOL: return snprintf(s, cap, "%u", v.u8 ? 1u : 0u);
	case CK_DTYPE_I8: return snprintf(s, cap, "%d", (int)v.i8);
	case CK_DTYPE_U16: return snprintf(s, cap, "%u", (unsigned)v.u16);
	case CK_DTYPE_I16: return snprintf(s, cap, "%d", (int)v.i16);
	case CK_DTYPE_U32: return snprintf(s, cap, "%" PRIu32, v.u32);
	case CK_DTYPE_I32: return snprintf(s, cap, "%" PRId32, v.i32);
	case CK_DTYPE_U64: return snprintf(s, cap, "%" PRIu64, v.u64);
	case CK_DTYPE_I64: return snprintf(s, cap, "%" PRId64, v.i64);
	case CK_DTYPE_F16: return format_f32(s, cap, ck_io_f16_to_f32(v.u16));
	case CK_DTYPE_BF16: return format_f32(s, cap, ck_io_bf16_to_f32(v.u16));
	case CK_DTYPE_F32: return format_f32(s, cap, v.f32);
	case CK_DTYPE_F64: return format_f64(s, cap, v.f64);
	}
	return 0;
}

int ck_csv_write(const char *path, const ck_tensor *t, char delim, ck_err *err)
{
	int64_t numel;
	size_t nbytes;
	delim = delim_for(path, delim);
	if (ck_dtype_size(t->dtype) == 0)
		return ck_err_set(err, "%s: tensor '%s': unknown dtype %d", path, t->name,
		                  (int)t->dtype);
	if (t->rank < 0 || t->rank > CK_TNZ_MAX_RANK ||
	    ck_io_shape_bytes(t->rank, t->dims, ck_dtype_size(t->dtype), &numel, &nbytes, err) < 0 ||
	    nbytes != t->nbytes || (nbytes && !t->data))
		return ck_err_set(err, "%s: tensor '%s': data does not match its shape", path,
		                  t->name);
	size_t rows = t->rank == 0 ? 1 : (size_t)t->dims[0];
	size_t cols = rows ? (size_t)numel / rows : 0;
	ck_outfile *o = ck_io_out_open(path, 0, err);
	if (!o)
		return ck_err_prefix(err, "%s", path);
	char line[1 << 16];
	size_t len = 0;
	int rc = 0;
	for (size_t r = 0; r < rows && rc == 0; r++) {
		for (size_t j = 0; j < cols && rc == 0; j++) {
			if (len > sizeof line - 64) {
				rc = ck_outfile_write(o, line, len, err);
				len = 0;
			}
			if (j)
				line[len++] = delim;
			len += (size_t)format_value(line + len, sizeof line - len, t, r * cols + j);
		}
		line[len++] = '\n';
	}
	if (rc == 0)
		rc = ck_outfile_write(o, line, len, err);
	if (rc == 0)
		rc = ck_outfile_commit(o, err);
	else
		ck_outfile_abort(o);
	return rc < 0 ? ck_err_prefix(err, "%s", path) : 0;
}
