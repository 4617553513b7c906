/* test_io_npy.c: NumPy .npy reading and writing, and format detection.
 * Fixtures in tests/data/io/ come from tools/make_io_fixtures.py: element i
 * of every array is i * scale + offset (see expected()). */
#include "cnnkit.h"
#include "check.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DATA "tests/data/io/"

static unsigned char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	unsigned char *b = malloc(1 << 20);
	*len = fread(b, 1, 1 << 20, f);
	fclose(f);
	return b;
}

/* Element i of a fixture of the given dtype, as a double. */
static double expected(ck_dtype d, int64_t i)
{
	switch (d) {
	case CK_DTYPE_U8: case CK_DTYPE_U16: case CK_DTYPE_U32: case CK_DTYPE_U64:
		return (double)i;
	case CK_DTYPE_I8: case CK_DTYPE_I16: case CK_DTYPE_I32: case CK_DTYPE_I64:
		return (double)i - 3;
	case CK_DTYPE_F16: return (double)i * 0.25 - 1;
	case CK_DTYPE_F32: return (double)i * 0.5 - 1;
	case CK_DTYPE_F64: return (double)i * 0.125 - 1;
	case CK_DTYPE_BOOL: return i % 3 == 1;
	default: return -999;
	}
}

static double f16_value(uint16_t h)
{
	int e = (h >> 10) & 31, m = h & 1023;
	double v = e ? (1 + m / 1024.0) * ldexp(1, e - 15) : m * ldexp(1, -24);
	return h & 0x8000 ? -v : v;
}

/* Element i of t as a double. */
static double element(const ck_tensor *t, int64_t i)
{
	const void *p = (const char *)t->data + i * (int64_t)ck_dtype_size(t->dtype);
	switch (t->dtype) {
	case CK_DTYPE_U8: case CK_DTYPE_BOOL: return *(const uint8_t *)p;
	case CK_DTYPE_I8: return *(const int8_t *)p;
	case CK_DTYPE_U16: return *(const uint16_t *)p;
	case CK_DTYPE_I16: return *(const int16_t *)p;
	case CK_DTYPE_U32: return *(const uint32_t *)p;
	case CK_DTYPE_I32: return *(const int32_t *)p;
	case CK_DTYPE_U64: return (double)*(const uint64_t *)p;
	case CK_DTYPE_I64: return (double)*(const int64_t *)p;
	case CK_DTYPE_F16: return f16_value(*(const uint16_t *)p);
	case CK_DTYPE_F32: return *(const float *)p;
	case CK_DTYPE_F64: return *(const double *)p;
	default: return -999;
	}
}

static const struct {
	const char *code;
	ck_dtype dtype;
} codes[] = {
	{"u1", CK_DTYPE_U8},  {"i1", CK_DTYPE_I8},  {"u2", CK_DTYPE_U16}, {"i2", CK_DTYPE_I16},
	{"u4", CK_DTYPE_U32}, {"i4", CK_DTYPE_I32}, {"u8", CK_DTYPE_U64}, {"i8", CK_DTYPE_I64},
	{"f2", CK_DTYPE_F16}, {"f4", CK_DTYPE_F32}, {"f8", CK_DTYPE_F64}, {"b1", CK_DTYPE_BOOL},
};

/* Reads a fixture both ways (path and memory) and checks its values. */
static void check_fixture(const char *name, ck_dtype dtype, int rank, const int64_t *dims)
{
	char path[256];
	snprintf(path, sizeof path, DATA "%s", name);
	ck_tensor t;
	ck_err e = {{0}};
	int rc = ck_npy_read(path, &t, &e);
	CHECK(rc == 0, "%s: %s", name, e.msg);
	if (rc)
		return;
	CHECK(t.dtype == dtype, "%s: dtype %s", name, ck_dtype_name(t.dtype));
	CHECK(t.rank == rank, "%s: rank %d", name, t.rank);
	int64_t n = 1;
	for (int k = 0; k < rank && k < t.rank; k++) {
		CHECK(t.dims[k] == dims[k], "%s: dim %d is %lld", name, k, (long long)t.dims[k]);
		n *= dims[k];
	}
	CHECK(t.nbytes == (size_t)n * ck_dtype_size(dtype), "%s: nbytes", name);
	int bad = 0;
	for (int64_t i = 0; i < n && t.nbytes == (size_t)n * ck_dtype_size(dtype); i++)
		bad += element(&t, i) != expected(dtype, i);
	CHECK(bad == 0, "%s: %d wrong values", name, bad);
	size_t len;
	unsigned char *buf = slurp(path, &len);
	ck_tensor m;
	CHECK(buf && ck_npy_read_mem(buf, len, &m, &e) == 0, "%s from memory: %s", name, e.msg);
	if (buf && m.data) {
		CHECK(m.nbytes == t.nbytes && memcmp(m.data, t.data, t.nbytes) == 0, "%s: same", name);
		free(m.data);
	}
	free(buf);
	free(t.data);
}

static void test_fixtures(void)
{
	int64_t d23[2] = {2, 3};
	for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
		char name[64];
		snprintf(name, sizeof name, "le_%s.npy", codes[i].code);
		check_fixture(name, codes[i].dtype, 2, d23);
		if (codes[i].code[1] != '1') {
			snprintf(name, sizeof name, "be_%s.npy", codes[i].code);
			check_fixture(name, codes[i].dtype, 2, d23);
		}
	}
	check_fixture("v2_i4.npy", CK_DTYPE_I32, 2, d23);
	check_fixture("v3_i4.npy", CK_DTYPE_I32, 2, d23);
	/* Fortran order comes back in C order with the same values. */
	int64_t d34[2] = {3, 4}, d234[3] = {2, 3, 4}, d32[2] = {3, 2};
	check_fixture("fortran_f4.npy", CK_DTYPE_F32, 2, d34);
	check_fixture("fortran_i2_3d.npy", CK_DTYPE_I16, 3, d234);
	check_fixture("be_fortran_f8.npy", CK_DTYPE_F64, 2, d32);
}

static void test_scalar_and_empty(void)
{
	ck_tensor t;
	ck_err e = {{0}};
	CHECK(ck_npy_read(DATA "scalar_f8.npy", &t, &e) == 0, "%s", e.msg);
	CHECK(t.rank == 0 && t.dtype == CK_DTYPE_F64 && t.nbytes == 8 && *(double *)t.data == 2.5,
	      "0-d array");
	free(t.data);
	CHECK(ck_npy_read(DATA "empty_0x3_f4.npy", &t, &e) == 0, "%s", e.msg);
	CHECK(t.rank == 2 && t.dims[0] == 0 && t.dims[1] == 3 && t.nbytes == 0 && t.data,
	      "(0, 3) array");
	free(t.data);
}

static void check_error(const char *path, const char *want)
{
	ck_tensor t;
	ck_err e = {{0}};
	int rc = ck_npy_read(path, &t, &e);
	CHECK(rc == -1, "%s: read", path);
	CHECK(strstr(e.msg, want) != NULL, "%s: '%s' lacks '%s'", path, e.msg, want);
	CHECK(strncmp(e.msg, path, strlen(path)) == 0, "message starts with the path: %s", e.msg);
	if (rc == 0)
		free(t.data);
}

static void test_unsupported(void)
{
	check_error(DATA "bad_unicode.npy", "unsupported dtype '<U5' (strings)");
	check_error(DATA "bad_complex.npy", "unsupported dtype '<c8' (complex)");
	check_error(DATA "bad_object.npy", "unsupported dtype '|O' (Python objects)");
	check_error(DATA "bad_struct.npy", "structured");
	check_error(DATA "no_such_file.npy", "No such file");
}

/* A .npy file from a header text (padded to no particular size) and data. */
static unsigned char *make_npy(int major, const char *header, const void *data, size_t dlen,
                               size_t *len)
{
	size_t hlen = strlen(header), pre = major == 1 ? 10 : 12;
	unsigned char *b = malloc(pre + hlen + dlen + 1);
	memcpy(b, "\x93NUMPY", 6);
	b[6] = (unsigned char)major;
	b[7] = 0;
	if (major == 1) {
		b[8] = (unsigned char)hlen;
		b[9] = (unsigned char)(hlen >> 8);
	} else {
		for (int i = 0; i < 4; i++)
			b[8 + i] = (unsigned char)(hlen >> 8 * i);
	}
	memcpy(b + pre, header, hlen);
	if (dlen)
		memcpy(b + pre + hlen, data, dlen);
	*len = pre + hlen + dlen;
	return b;
}

/* Parses header + data; returns the rc and leaves the message in e. */
static int try_header(int major, const char *header, const void *data, size_t dlen,
                      ck_tensor *t, ck_err *e)
{
	size_t len;
	unsigned char *b = make_npy(major, header, data, dlen, &len);
	int rc = ck_npy_read_mem(b, len, t, e);
	free(b);
	return rc;
}

static void test_header_syntax(void)
{
	uint16_t v[6] = {1, 2, 3, 4, 5, 6};
	ck_tensor t;
	ck_err e = {{0}};
	static const char *good[] = {
		"{'descr': '<u2', 'fortran_order': False, 'shape': (2, 3), }\n",
		"{'shape': (2, 3), 'descr': '<u2', 'fortran_order': False}",
		"{ \"fortran_order\" : False , \"shape\":(2,3,),\"descr\":\"<u2\" }   \n",
		"{'descr': '<u2', 'fortran_order': False, 'shape': (2L, 3L)}",
		"{'descr': '=u2', 'fortran_order': False, 'shape': (6,)}",
		"{'descr': 'u2', 'fortran_order': False, 'shape': (1, 6, 1)}",
	};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		int rc = try_header(1 + (int)(i % 3), good[i], v, sizeof v, &t, &e);
		CHECK(rc == 0, "header %zu: %s", i, e.msg);
		if (rc == 0) {
			CHECK(t.dtype == CK_DTYPE_U16 && memcmp(t.data, v, sizeof v) == 0, "header %zu", i);
			free(t.data);
		}
	}
	static const struct {
		const char *header, *msg;
	} bad[] = {
		{"{'descr': '<u2', 'fortran_order': False}", "missing key 'shape'"},
		{"{'descr': '<u2', 'shape': (2, 3)}", "missing key 'fortran_order'"},
		{"{'descr': '<u2', 'descr': '<u2', 'fortran_order': False, 'shape': (6,)}", "repeated"},
		{"{'descr': '<u2', 'fortran_order': False, 'shape': (6,), 'x': 1}", "key 'x'"},
		{"{'descr': '<u2', 'fortran_order': False, 'shape': (6)}", "not a tuple"},
		{"{'descr': '<u2', 'fortran_order': false, 'shape': (6,)}", "True or False"},
		{"{'descr': '<u2', 'fortran_order': False, 'shape': (-6,)}", "negative"},
		{"{'descr': '<u2', 'fortran_order': False, 'shape': (6,)} x", "after the dictionary"},
		{"{'descr': '<u2', 'fortran_order': False, 'shape': (6,)", "expected ',' or '}'"},
		{"{'descr': '<u\\x32', 'fortran_order': False, 'shape': (6,)}", "character 0x5c"},
		{"{'descr': '<u2, 'fortran_order': False, 'shape': (6,)}", "unsupported dtype '<u2, '"},
		{"{'descr' '<u2', 'fortran_order': False, 'shape': (6,)}", "expected ':'"},
		{"{'descr': '<u3', 'fortran_order': False, 'shape': (6,)}", "unsupported dtype '<u3'"},
		{"{'descr': '<f16', 'fortran_order': False, 'shape': (6,)}", "unsupported dtype"},
		{"{'descr': '<M8[ns]', 'fortran_order': False, 'shape': (6,)}", "dates and times"},
		{"{'descr': [('a', '<u2')], 'fortran_order': False, 'shape': (6,)}", "structured"},
		{"{'descr': '<u2', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,6)}",
		 "more than 8 dimensions"},
		{"{'descr': '<u2', 'fortran_order': False, 'shape': (99999999999999999999,)}",
		 "too large"},
		{"{'descr': '<u2', 'fortran_order': False, 'shape': (3,)}", "after the array data"},
		{"{'descr': '<u2', 'fortran_order': False, 'shape': (4, 3)}", "truncated .npy data"},
		{"['descr', '<u2']", "expected '{'"},
		{"", "expected '{'"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int rc = try_header(1, bad[i].header, v, sizeof v, &t, &e);
		CHECK(rc == -1, "bad header %zu accepted", i);
		if (rc == 0)
			free(t.data);
		else
			CHECK(strstr(e.msg, bad[i].msg), "bad header %zu: '%s' lacks '%s'", i, e.msg,
			      bad[i].msg);
	}
}

static void test_bad_preamble(void)
{
	ck_tensor t;
	ck_err e = {{0}};
	CHECK(ck_npy_read_mem("PK\3\4xxxxxxxxxxxx", 16, &t, &e) == -1 && strstr(e.msg, "bad magic"),
	      "%s", e.msg);
	CHECK(ck_npy_read_mem("\x93NUM", 4, &t, &e) == -1 && strstr(e.msg, "truncated"), "%s",
	      e.msg);
	CHECK(ck_npy_read_mem("", 0, &t, &e) == -1, "empty");
	unsigned char v4[12] = "\x93NUMPY\x04\x00\x00\x00\x00\x00";
	CHECK(ck_npy_read_mem(v4, 12, &t, &e) == -1 && strstr(e.msg, "version 4.0"), "%s", e.msg);
	unsigned char v11[12] = "\x93NUMPY\x01\x01\x00\x00\x00\x00";
	CHECK(ck_npy_read_mem(v11, 12, &t, &e) == -1 && strstr(e.msg, "version 1.1"), "%s", e.msg);
	/* A version 2.0 header length of 4 GiB - 1: refused before any read. */
	unsigned char big[12] = "\x93NUMPY\x02\x00\xff\xff\xff\xff";
	CHECK(ck_npy_read_mem(big, 12, &t, &e) == -1 && strstr(e.msg, "too long"), "%s", e.msg);
}

/* Shapes that claim far more data than is present fail without allocating. */
static void test_huge_shapes(void)
{
	ck_tensor t;
	ck_err e = {{0}};
	const char *h60 = "{'descr': '|u1', 'fortran_order': False, 'shape': (1152921504606846976,)}";
	CHECK(try_header(1, h60, "12345678", 8, &t, &e) == -1 && strstr(e.msg, "truncated"), "%s",
	      e.msg);
	const char *ovf = "{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296)}";
	CHECK(try_header(1, ovf, "", 0, &t, &e) == -1 && strstr(e.msg, "2^63"), "%s", e.msg);
	const char *bytes = "{'descr': '<f8', 'fortran_order': False, 'shape': (4611686018427387904,)}";
	CHECK(try_header(1, bytes, "", 0, &t, &e) == -1 && strstr(e.msg, "too large"), "%s", e.msg);
	/* A zero dim makes the product 0 however large the others. */
	const char *zero = "{'descr': '<f8', 'fortran_order': False, "
	                   "'shape': (9223372036854775807, 0, 9223372036854775807)}";
	CHECK(try_header(1, zero, "", 0, &t, &e) == 0, "%s", e.msg);
	if (t.data)
		free(t.data);
}

/* Random tensor contents: any bit pattern, NaN payloads included. */
static void fill_random(ck_tensor *t, unsigned *seed)
{
	unsigned char *p = t->data;
	for (size_t i = 0; i < t->nbytes; i++)
		p[i] = (unsigned char)(rand_r(seed) >> 7);
	if (t->dtype == CK_DTYPE_BOOL)
		for (size_t i = 0; i < t->nbytes; i++)
			p[i] &= 1;
}

static ck_tensor make_tensor(ck_dtype d, int rank, const int64_t *dims)
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
	t.data = calloc(t.nbytes + 1, 1);
	return t;
}

static void test_round_trip(void)
{
	static const int64_t shapes[][3] = {{5, 7, 0}, {3, 1, 4}, {0, 3, 0}, {1, 0, 0}};
	static const int ranks[] = {2, 3, 2, 0};
	unsigned seed = 1;
	for (int d = 1; d <= CK_DTYPE_MAX; d++) {
		for (int s = 0; s < 4; s++) {
			ck_tensor t = make_tensor((ck_dtype)d, ranks[s], shapes[s]);
			fill_random(&t, &seed);
			void *buf;
			size_t len;
			ck_err e = {{0}};
			ck_tensor back;
			int rc = ck_npy_write_mem(&t, &buf, &len, &e);
			CHECK(rc == 0, "%s: %s", ck_dtype_name(d), e.msg);
			if (rc)
				continue;
			CHECK(len % 64 == 0 || t.nbytes > 0, "header padded to 64");
			rc = ck_npy_read_mem(buf, len, &back, &e);
			CHECK(rc == 0, "%s: %s", ck_dtype_name(d), e.msg);
			if (rc == 0) {
				CHECK(back.rank == t.rank && memcmp(back.dims, t.dims, sizeof t.dims) == 0,
				      "%s: shape", ck_dtype_name(d));
				if (d == CK_DTYPE_BF16) {
					/* Written as f32: each value widened exactly. */
					CHECK(back.dtype == CK_DTYPE_F32 && back.nbytes == 2 * t.nbytes, "bf16");
					int bad = 0;
					for (size_t i = 0; i < t.nbytes / 2 && back.nbytes == 2 * t.nbytes; i++) {
						uint16_t h;
						uint32_t f;
						memcpy(&h, (char *)t.data + 2 * i, 2);
						memcpy(&f, (char *)back.data + 4 * i, 4);
						bad += f != (uint32_t)h << 16;
					}
					CHECK(bad == 0, "bf16 widening: %d wrong", bad);
				} else {
					CHECK(back.dtype == t.dtype && back.nbytes == t.nbytes &&
					          memcmp(back.data, t.data, t.nbytes) == 0,
					      "%s: bytes", ck_dtype_name(d));
				}
				free(back.data);
			}
			free(buf);
			free(t.data);
		}
	}
}

static void test_file_round_trip(void)
{
	char dir[] = "/tmp/ck_io_npy_XXXXXX";
	CHECK(mkdtemp(dir) != NULL, "mkdtemp");
	char path[128];
	snprintf(path, sizeof path, "%s/a.npy", dir);
	int64_t dims[2] = {4, 5};
	ck_tensor t = make_tensor(CK_DTYPE_F32, 2, dims);
	unsigned seed = 7;
	fill_random(&t, &seed);
	ck_err e = {{0}};
	CHECK(ck_npy_write(path, &t, &e) == 0, "%s", e.msg);
	ck_tensor back;
	CHECK(ck_npy_read(path, &back, &e) == 0, "%s", e.msg);
	CHECK(back.nbytes == t.nbytes && memcmp(back.data, t.data, t.nbytes) == 0, "same bytes");
	free(back.data);
	/* A tensor whose data does not match its shape is refused, and no file
	 * (not even a temporary one) is left. */
	t.nbytes--;
	snprintf(path, sizeof path, "%s/b.npy", dir);
	CHECK(ck_npy_write(path, &t, &e) == -1 && strstr(e.msg, "needs"), "%s", e.msg);
	CHECK(access(path, F_OK) != 0, "no file");
	snprintf(path, sizeof path, "%s/no/such/dir/c.npy", dir);
	CHECK(ck_npy_write(path, &t, &e) == -1, "bad dir");
	free(t.data);
	snprintf(path, sizeof path, "%s/a.npy", dir);
	unlink(path);
	CHECK(rmdir(dir) == 0, "directory empty: no temporary left behind");
}

/* Every prefix of a valid file is an error; a file with a byte added too. */
static void test_truncation(void)
{
	size_t len;
	unsigned char *buf = slurp(DATA "fortran_f4.npy", &len);
	CHECK(buf != NULL, "fixture");
	if (!buf)
		return;
	int accepted = 0;
	for (size_t n = 0; n < len; n++) {
		unsigned char *copy = malloc(n ? n : 1); /* exact size: ASan sees overreads */
		memcpy(copy, buf, n);
		ck_tensor t;
		if (ck_npy_read_mem(copy, n, &t, NULL) == 0) {
			accepted++;
			free(t.data);
		}
		free(copy);
	}
	CHECK(accepted == 0, "%d truncated files accepted", accepted);
	free(buf);
}

/* Random byte changes: an error or a consistent tensor, never a crash. */
static void test_byte_flips(void)
{
	static const char *files[] = {DATA "fortran_i2_3d.npy", DATA "be_f8.npy", DATA "le_b1.npy"};
	unsigned seed = 42;
	int bad = 0;
	for (size_t f = 0; f < 3; f++) {
		size_t len;
		unsigned char *buf = slurp(files[f], &len);
		if (!buf)
			continue;
		unsigned char *copy = malloc(len);
		for (int iter = 0; iter < 1500; iter++) {
			memcpy(copy, buf, len);
			int flips = 1 + rand_r(&seed) % 3;
			for (int k = 0; k < flips; k++) {
				/* Mostly in the header, where the parsing is. */
				size_t at = rand_r(&seed) % 4 ? rand_r(&seed) % (len < 128 ? len : 128)
				                              : rand_r(&seed) % len;
				copy[at] ^= (unsigned char)(1 + rand_r(&seed) % 255);
			}
			ck_tensor t;
			if (ck_npy_read_mem(copy, len, &t, NULL) == 0) {
				int64_t n = 1;
				for (int k = 0; k < t.rank; k++)
					n *= t.dims[k];
				bad += t.nbytes != (size_t)n * ck_dtype_size(t.dtype);
				free(t.data);
			}
		}
		free(copy);
		free(buf);
	}
	CHECK(bad == 0, "%d inconsistent tensors", bad);
}

static void test_detect(void)
{
	static const struct {
		const char *path;
		ck_io_format want;
	} cases[] = {
		{DATA "le_f4.npy", CK_IO_NPY},
		{DATA "stored.npz", CK_IO_NPZ},
		{DATA "deflated.npz", CK_IO_NPZ},
		{DATA "images-idx3-ubyte", CK_IO_IDX},
		{DATA "labels-idx1-ubyte.gz", CK_IO_IDX},
		{DATA "f8.idx.gz", CK_IO_IDX},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		ck_io_format f = CK_IO_UNKNOWN;
		ck_err e = {{0}};
		CHECK(ck_io_detect(cases[i].path, &f, &e) == 0 && f == cases[i].want, "%s: %d %s",
		      cases[i].path, (int)f, e.msg);
	}
	CHECK(ck_io_detect_mem("1,2\n", 4, "a.csv") == CK_IO_CSV, "csv");
	CHECK(ck_io_detect_mem("1\t2\n", 4, "dir/A.TSV") == CK_IO_TSV, "tsv");
	CHECK(ck_io_detect_mem("1,2\n", 4, NULL) == CK_IO_UNKNOWN, "no name");
	CHECK(ck_io_detect_mem("\x1f\x8b\x08", 3, "x.gz") == CK_IO_UNKNOWN, "broken gzip");
	ck_io_format f;
	ck_err e = {{0}};
	CHECK(ck_io_detect(DATA "none.npy", &f, &e) == -1 && strstr(e.msg, "none.npy"), "%s",
	      e.msg);
}

int main(void)
{
	RUN(test_fixtures);
	RUN(test_scalar_and_empty);
	RUN(test_unsupported);
	RUN(test_header_syntax);
	RUN(test_bad_preamble);
	RUN(test_huge_shapes);
	RUN(test_round_trip);
	RUN(test_file_round_trip);
	RUN(test_truncation);
	RUN(test_byte_flips);
	RUN(test_detect);
	return check_summary();
}
