/* test_io_csv.c: CSV and TSV reading and writing. */
#include "cnnkit.h"
#include "check.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Reads text (copied to an exact-size buffer, so ASan sees overreads). */
static int read_text(const char *text, char delim, const char *label, int header, ck_tnz *z,
                     ck_err *e)
{
	size_t n = strlen(text);
	char *copy = malloc(n ? n : 1);
	memcpy(copy, text, n);
	ck_csv_opts o = {label, header};
	int rc = ck_csv_read_mem(copy, n, delim, &o, z, e);
	free(copy);
	return rc;
}

static const float *x_of(const ck_tnz *z, int64_t rows, int64_t cols)
{
	ck_tensor *x = ck_tnz_find(z, "x");
	if (!x || x->dtype != CK_DTYPE_F32 || x->rank != 2 || x->dims[0] != rows ||
	    x->dims[1] != cols)
		return NULL;
	return x->data;
}

static void test_numbers(void)
{
	ck_tnz z = {0};
	ck_err e = {{0}};
	CHECK(read_text("1,2,3\n4,5.5,-6e-1\n", 0, NULL, -1, &z, &e) == 0, "%s", e.msg);
	const float *x = x_of(&z, 2, 3);
	CHECK(x && x[0] == 1 && x[4] == 5.5f && x[5] == -0.6f, "values");
	CHECK(ck_meta_get(&z.meta, "columns", NULL) == NULL, "no header, no columns");
	CHECK(ck_tnz_find(&z, "y") == NULL, "no y");
	ck_tnz_free(&z);
	/* CRLF, a BOM, spaces, blank lines, no final newline, nan and inf. */
	CHECK(read_text("\xef\xbb\xbf 1 , 2\r\n\r\n\n3,\t4\r\nnan,-inf", 0, NULL, -1, &z, &e) == 0,
	      "%s", e.msg);
	x = x_of(&z, 3, 2);
	CHECK(x && x[0] == 1 && x[3] == 4 && isnan(x[4]) && isinf(x[5]) && x[5] < 0, "values");
	ck_tnz_free(&z);
	/* Quoted numbers in CSV. */
	CHECK(read_text("\"1\",\" 2 \"\n", 0, NULL, -1, &z, &e) == 0, "%s", e.msg);
	x = x_of(&z, 1, 2);
	CHECK(x && x[0] == 1 && x[1] == 2, "quoted numbers");
	ck_tnz_free(&z);
	/* One column. */
	CHECK(read_text("1\n2\n3\n", 0, NULL, -1, &z, &e) == 0 && x_of(&z, 3, 1), "%s", e.msg);
	ck_tnz_free(&z);
}

static void test_header(void)
{
	ck_tnz z = {0};
	ck_err e = {{0}};
	CHECK(read_text("a,\"b,c\",\"say \"\"hi\"\"\"\n1,2,3\n", 0, NULL, -1, &z, &e) == 0, "%s",
	      e.msg);
	const char *cols = ck_meta_get(&z.meta, "columns", NULL);
	CHECK(cols && strcmp(cols, "a\nb,c\nsay \"hi\"") == 0, "columns '%s'", cols ? cols : "");
	CHECK(x_of(&z, 1, 3), "one data row");
	ck_tnz_free(&z);
	/* Forced: a numeric first row taken as a header, or text as data. */
	CHECK(read_text("1,2\n3,4\n", 0, NULL, 1, &z, &e) == 0 && x_of(&z, 1, 2), "%s", e.msg);
	cols = ck_meta_get(&z.meta, "columns", NULL);
	CHECK(cols && strcmp(cols, "1\n2") == 0, "numeric header");
	ck_tnz_free(&z);
	CHECK(read_text("a,b\n3,4\n", 0, NULL, 0, &z, &e) == -1 &&
	          strstr(e.msg, "line 1, column 1: 'a' is not a number"),
	      "%s", e.msg);
	CHECK(read_text("a,b\n", 0, NULL, -1, &z, &e) == -1 && strstr(e.msg, "no data rows"), "%s",
	      e.msg);
	CHECK(read_text("\"a\nb\",c\n1,2\n", 0, NULL, -1, &z, &e) == -1 &&
	          strstr(e.msg, "line break"),
	      "%s", e.msg);
}

static void test_labels(void)
{
	ck_tnz z = {0};
	ck_err e = {{0}};
	/* Integer labels by index; no header since the other cells are numbers. */
	CHECK(read_text("0.5,3,1\n1.5,-2,2\n", 0, "2", -1, &z, &e) == 0, "%s", e.msg);
	const float *x = x_of(&z, 2, 2);
	ck_tensor *y = ck_tnz_find(&z, "y");
	CHECK(x && x[0] == 0.5f && x[1] == 1 && x[2] == 1.5f && x[3] == 2, "x without the label");
	CHECK(y && y->dtype == CK_DTYPE_I32 && y->dims[0] == 2 && ((int32_t *)y->data)[0] == 3 &&
	          ((int32_t *)y->data)[1] == -2,
	      "y");
	CHECK(ck_meta_get(&z.meta, "classes", NULL) == NULL, "no classes for integer labels");
	ck_tnz_free(&z);
	/* Iris-like: class names in the last column, no header. */
	CHECK(read_text("5.1,3.5,setosa\n6.2,2.9,versicolor\n5.0,3.4,setosa\n7.7,3.0,virginica\n", 0,
	                "3", -1, &z, &e) == 0,
	      "%s", e.msg);
	y = ck_tnz_find(&z, "y");
	CHECK(x_of(&z, 4, 2) && y, "x (4, 2) and y");
	if (y) {
		int32_t *v = y->data;
		CHECK(v[0] == 0 && v[1] == 1 && v[2] == 0 && v[3] == 2, "ids %d %d %d %d", v[0], v[1],
		      v[2], v[3]);
	}
	const char *classes = ck_meta_get(&z.meta, "classes", NULL);
	CHECK(classes && strcmp(classes, "setosa\nversicolor\nvirginica") == 0, "classes");
	ck_tnz_free(&z);
	/* By name, which implies a header; a mix of numbers and names makes
	 * every label a name. */
	CHECK(read_text("species,len\n10,1\nb,2\n9,3\n", 0, "species", -1, &z, &e) == 0, "%s",
	      e.msg);
	y = ck_tnz_find(&z, "y");
	classes = ck_meta_get(&z.meta, "classes", NULL);
	CHECK(classes && strcmp(classes, "10\n9\nb") == 0, "byte order: '%s'", classes);
	CHECK(y && ((int32_t *)y->data)[0] == 0 && ((int32_t *)y->data)[1] == 2 &&
	          ((int32_t *)y->data)[2] == 1,
	      "ids");
	const char *cols = ck_meta_get(&z.meta, "columns", NULL);
	CHECK(cols && strcmp(cols, "len") == 0, "columns without the label");
	ck_tnz_free(&z);
	CHECK(read_text("a,b\n1,2\n", 0, "c", -1, &z, &e) == -1 && strstr(e.msg, "no column named 'c'"),
	      "%s", e.msg);
	CHECK(read_text("1,2\n", 0, "3", -1, &z, &e) == -1 && strstr(e.msg, "not in 1..2"), "%s",
	      e.msg);
	CHECK(read_text("1,2\n", 0, "y", 0, &z, &e) == -1 && strstr(e.msg, "no header"), "%s", e.msg);
	CHECK(read_text("1\n2\n", 0, "1", -1, &z, &e) == -1 && strstr(e.msg, "besides the label"),
	      "%s", e.msg);
	CHECK(read_text("1,\n", 0, "2", -1, &z, &e) == -1 && strstr(e.msg, "line 1: empty label"),
	      "%s", e.msg);
	CHECK(z.count == 0, "nothing left after errors");
}

static void test_tsv(void)
{
	ck_tnz z = {0};
	ck_err e = {{0}};
	CHECK(read_text("a b\tc\n1\t2\n", '\t', NULL, -1, &z, &e) == 0, "%s", e.msg);
	const char *cols = ck_meta_get(&z.meta, "columns", NULL);
	CHECK(cols && strcmp(cols, "a b\nc") == 0 && x_of(&z, 1, 2), "tsv header with a space");
	ck_tnz_free(&z);
	/* No quoting in TSV: a quote is an ordinary character. */
	CHECK(read_text("\"1\"\t2\n", '\t', NULL, 0, &z, &e) == -1 && strstr(e.msg, "not a number"),
	      "%s", e.msg);
	CHECK(read_text("x,y\t1\n", '\t', NULL, -1, &z, &e) == -1 && strstr(e.msg, "no data"), "%s",
	      e.msg);
}

static void test_errors(void)
{
	static const struct {
		const char *text, *msg;
	} cases[] = {
		{"", "empty input"},
		{"\n\n\r\n", "empty input"},
		{"1,2\n3\n", "line 2: 1 fields, expected 2 (as on line 1)"},
		{"1,2\n\n3,4,5\n", "line 3: 3 fields, expected 2"},
		{"1,2\n3,abc\n", "line 2, column 2: 'abc' is not a number"},
		{"1,2\n3,\n", "line 2, column 2: empty cell"},
		{"1,2\n3,0x10\n", "'0x10' is not a number"},
		{"1,2\n3,1e39\n", "out of the f32 range"},
		{"1,2\n3,\"4\n", "line 2: unterminated quoted field"},
		{"1,2\n\"3\"x,4\n", "line 2: text after a closing quote"},
		{"1,2\n3,4\0\n", "NUL byte"},
		{"a,b\n\"1\n\",2\n3,4,5\n", "line 4: 3 fields"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		ck_tnz z = {0};
		ck_err e = {{0}};
		size_t n = strlen(cases[i].text);
		if (strstr(cases[i].msg, "NUL"))
			n = 9;
		char *copy = malloc(n ? n : 1);
		memcpy(copy, cases[i].text, n);
		int rc = ck_csv_read_mem(copy, n, ',', NULL, &z, &e);
		free(copy);
		CHECK(rc == -1 && strstr(e.msg, cases[i].msg), "case %zu: '%s' lacks '%s'", i, e.msg,
		      cases[i].msg);
		ck_tnz_free(&z);
	}
	ck_tnz z = {0};
	ck_err e = {{0}};
	CHECK(ck_csv_read("tests/data/io/none.csv", 0, NULL, &z, &e) == -1 &&
	          strstr(e.msg, "none.csv: "),
	      "%s", e.msg);
}

static ck_tensor make_tensor(ck_dtype d, int rank, const int64_t *dims, const void *data)
{
	ck_tensor t;
	memset(&t, 0, sizeof t);
	strcpy(t.name, "t");
	t.dtype = d;
	t.rank = rank;
	size_t n = 1;
	for (int k = 0; k < rank; k++) {
		t.dims[k] = dims[k];
		n *= (size_t)dims[k];
	}
	t.nbytes = n * ck_dtype_size(d);
	t.data = (void *)(uintptr_t)data;
	return t;
}

static char *file_text(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *b = calloc(1 << 16, 1);
	size_t n = fread(b, 1, (1 << 16) - 1, f);
	b[n] = '\0';
	fclose(f);
	return b;
}

static void test_write(void)
{
	char dir[] = "/tmp/ck_io_csv_XXXXXX";
	CHECK(mkdtemp(dir) != NULL, "mkdtemp");
	char path[128];
	ck_err e = {{0}};
	/* Integers exactly, a row per line; rank 3 flattened after dims[0]. */
	int64_t big[4] = {INT64_MIN, INT64_MAX, -1, 0};
	int64_t d22[2] = {2, 2}, d212[3] = {2, 1, 2};
	ck_tensor t = make_tensor(CK_DTYPE_I64, 3, d212, big);
	snprintf(path, sizeof path, "%s/a.csv", dir);
	CHECK(ck_csv_write(path, &t, 0, &e) == 0, "%s", e.msg);
	char *s = file_text(path);
	CHECK(s && strcmp(s, "-9223372036854775808,9223372036854775807\n-1,0\n") == 0, "'%s'", s);
	free(s);
	unlink(path);
	/* Tab by extension; shortest round-tripping floats. */
	double f64[4] = {0.1, 1.0 / 3, -2.5, 1e300};
	t = make_tensor(CK_DTYPE_F64, 2, d22, f64);
	snprintf(path, sizeof path, "%s/b.tsv", dir);
	CHECK(ck_csv_write(path, &t, 0, &e) == 0, "%s", e.msg);
	s = file_text(path);
	CHECK(s && strcmp(s, "0.1\t0.3333333333333333\n-2.5\t1e+300\n") == 0, "'%s'", s);
	free(s);
	uint16_t bf[2] = {0x3f80, 0xc0a0}; /* 1, -5 */
	int64_t d2 = 2;
	t = make_tensor(CK_DTYPE_BF16, 1, &d2, bf);
	CHECK(ck_csv_write(path, &t, ',', &e) == 0, "%s", e.msg);
	s = file_text(path);
	CHECK(s && strcmp(s, "1\n-5\n") == 0, "rank 1 is a column: '%s'", s);
	free(s);
	uint8_t one = 1;
	t = make_tensor(CK_DTYPE_BOOL, 0, NULL, &one);
	CHECK(ck_csv_write(path, &t, ',', &e) == 0, "%s", e.msg);
	s = file_text(path);
	CHECK(s && strcmp(s, "1\n") == 0, "rank 0: '%s'", s);
	free(s);
	unlink(path);
	/* f32: every bit pattern but NaN reads back exactly. */
	enum { N = 3000 };
	float *v = malloc(N * sizeof *v);
	unsigned seed = 5;
	for (int i = 0; i < N; i++) {
		uint32_t bits = (uint32_t)rand_r(&seed) << 16 ^ (uint32_t)rand_r(&seed);
		memcpy(&v[i], &bits, 4);
		if (isnan(v[i]) || isinf(v[i]))
			v[i] = (float)i;
	}
	int64_t dims[2] = {N / 3, 3};
	t = make_tensor(CK_DTYPE_F32, 2, dims, v);
	snprintf(path, sizeof path, "%s/c.csv", dir);
	CHECK(ck_csv_write(path, &t, 0, &e) == 0, "%s", e.msg);
	ck_tnz z = {0};
	CHECK(ck_csv_read(path, 0, NULL, &z, &e) == 0, "%s", e.msg);
	const float *x = x_of(&z, N / 3, 3);
	CHECK(x && memcmp(x, v, N * sizeof *v) == 0, "f32 round trip");
	ck_tnz_free(&z);
	free(v);
	unlink(path);
	/* A tensor whose data does not match its shape. */
	t.nbytes = 5;
	CHECK(ck_csv_write(path, &t, 0, &e) == -1 && strstr(e.msg, "does not match"), "%s", e.msg);
	CHECK(rmdir(dir) == 0, "no temporary files left");
}

/* Damaged input: truncations and random changes give an error or a
 * consistent table; never a crash. */
static void test_damage(void)
{
	const char *text = "name,\"a,b\",c\r\n1,2,x\n\"3\",4.5e1,\"y\"\"z\"\n-1,nan,x\n";
	size_t len = strlen(text);
	unsigned seed = 3;
	int bad = 0;
	for (int iter = 0; iter < 3000; iter++) {
		char *copy = malloc(len);
		memcpy(copy, text, len);
		size_t n = len;
		if (iter < (int)len) {
			n = (size_t)iter;
		} else {
			for (int k = 0; k < 2; k++)
				copy[rand_r(&seed) % len] = "\",\n\r\t a1.\0x"[rand_r(&seed) % 11];
		}
		ck_tnz z = {0};
		ck_csv_opts o = {iter % 2 ? "3" : NULL, -1};
		if (ck_csv_read_mem(copy, n, ',', &o, &z, NULL) == 0) {
			ck_tensor *x = ck_tnz_find(&z, "x");
			bad += !x || x->nbytes != (size_t)(x->dims[0] * x->dims[1]) * 4;
		}
		ck_tnz_free(&z);
		free(copy);
	}
	CHECK(bad == 0, "%d inconsistent tables", bad);
}

int main(void)
{
	RUN(test_numbers);
	RUN(test_header);
	RUN(test_labels);
	RUN(test_tsv);
	RUN(test_errors);
	RUN(test_write);
	RUN(test_damage);
	return check_summary();
}
