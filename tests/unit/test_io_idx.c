/* test_io_idx.c: IDX (MNIST) files, plain and gzip, and the images + labels
 * pairing. Fixtures in tests/data/io/ come from tools/make_io_fixtures.py. */
#include "cnnkit.h"
#include "check.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

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

/* gzip of buf (one member) into a malloc'ed buffer. */
static unsigned char *gzip_mem(const void *buf, size_t len, size_t *out_len)
{
	z_stream z;
	memset(&z, 0, sizeof z);
	deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
	size_t cap = deflateBound(&z, (uLong)len) + 32;
	unsigned char *out = malloc(cap);
	z.next_in = (unsigned char *)(uintptr_t)buf;
	z.avail_in = (uInt)len;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	deflate(&z, Z_FINISH);
	*out_len = cap - z.avail_out;
	deflateEnd(&z);
	return out;
}

/* images (3,4,5) u8 with value i % 256, labels 7 0 255. */
static void check_images(const ck_tensor *t, const char *what)
{
	CHECK(t->dtype == CK_DTYPE_U8 && t->rank == 3 && t->dims[0] == 3 && t->dims[1] == 4 &&
	          t->dims[2] == 5 && t->nbytes == 60,
	      "%s: shape", what);
	int bad = 0;
	for (int i = 0; i < 60 && t->nbytes == 60; i++)
		bad += ((uint8_t *)t->data)[i] != i;
	CHECK(bad == 0, "%s: values", what);
}

static void test_fixtures(void)
{
	ck_tensor t;
	ck_err e = {{0}};
	CHECK(ck_idx_read(DATA "images-idx3-ubyte", &t, &e) == 0, "%s", e.msg);
	check_images(&t, "plain");
	free(t.data);
	CHECK(ck_idx_read(DATA "images-idx3-ubyte.gz", &t, &e) == 0, "%s", e.msg);
	check_images(&t, "gzip");
	free(t.data);
	CHECK(ck_idx_read(DATA "labels-idx1-ubyte.gz", &t, &e) == 0, "%s", e.msg);
	CHECK(t.rank == 1 && t.dims[0] == 3 && memcmp(t.data, "\x07\x00\xff", 3) == 0, "labels");
	free(t.data);
	/* Wider types: big-endian in the file; values i * scale + offset. */
	static const struct {
		const char *file;
		ck_dtype dtype;
	} wide[] = {{"f4.idx", CK_DTYPE_F32},
	            {"f8.idx.gz", CK_DTYPE_F64},
	            {"i2.idx", CK_DTYPE_I16},
	            {"i4.idx", CK_DTYPE_I32},
	            {"i1.idx", CK_DTYPE_I8}};
	for (size_t k = 0; k < sizeof wide / sizeof wide[0]; k++) {
		char path[128];
		snprintf(path, sizeof path, DATA "%s", wide[k].file);
		int rc = ck_idx_read(path, &t, &e);
		CHECK(rc == 0, "%s: %s", path, e.msg);
		if (rc)
			continue;
		CHECK(t.dtype == wide[k].dtype && t.rank == 2 && t.dims[0] == 2 && t.dims[1] == 3,
		      "%s: shape", path);
		int bad = 0;
		for (int i = 0; i < 6; i++) {
			double v = 0, want = 0;
			switch (t.dtype) {
			case CK_DTYPE_F32: v = ((float *)t.data)[i]; want = i * 0.5 - 1; break;
			case CK_DTYPE_F64: v = ((double *)t.data)[i]; want = i * 0.125 - 1; break;
			case CK_DTYPE_I16: v = ((int16_t *)t.data)[i]; want = i - 3; break;
			case CK_DTYPE_I32: v = ((int32_t *)t.data)[i]; want = i - 3; break;
			case CK_DTYPE_I8: v = ((int8_t *)t.data)[i]; want = i - 3; break;
			default: break;
			}
			bad += v != want;
		}
		CHECK(bad == 0, "%s: values", path);
		free(t.data);
	}
}

static void test_pair(void)
{
	ck_tensor img, lab;
	ck_err e = {{0}};
	ck_idx_read(DATA "images-idx3-ubyte.gz", &img, &e);
	ck_idx_read(DATA "labels-idx1-ubyte", &lab, &e);
	ck_tnz z = {0};
	/* Either order. */
	CHECK(ck_idx_pair(&lab, &img, &z, &e) == 0, "%s", e.msg);
	CHECK(img.data == NULL && lab.data == NULL, "data moved");
	ck_tensor *x = ck_tnz_find(&z, "x"), *y = ck_tnz_find(&z, "y");
	CHECK(x && y, "x and y");
	if (x && y) {
		CHECK(x->rank == 4 && x->dims[0] == 3 && x->dims[1] == 1 && x->dims[2] == 4 &&
		          x->dims[3] == 5 && x->dtype == CK_DTYPE_U8,
		      "x (N,1,H,W)");
		check_images(&(ck_tensor){.dtype = CK_DTYPE_U8, .rank = 3, .dims = {3, 4, 5},
		                          .data = x->data, .nbytes = x->nbytes},
		             "x");
		CHECK(y->dtype == CK_DTYPE_I32 && y->rank == 1 && y->dims[0] == 3, "y (N) i32");
		int32_t *yv = y->data;
		CHECK(yv[0] == 7 && yv[1] == 0 && yv[2] == 255, "labels %d %d %d", yv[0], yv[1], yv[2]);
	}
	ck_tnz_free(&z);

	/* Mismatches are errors that leave the inputs alone. */
	ck_idx_read(DATA "images-idx3-ubyte", &img, &e);
	ck_idx_read(DATA "f4.idx", &lab, &e);
	CHECK(ck_idx_pair(&img, &lab, &z, &e) == -1 && strstr(e.msg, "labels"), "%s", e.msg);
	free(lab.data);
	ck_tensor two = img;
	two.rank = 1;
	two.dims[0] = 2;
	CHECK(ck_idx_pair(&img, &two, &z, &e) == -1 && strstr(e.msg, "3 images but 2 labels"), "%s",
	      e.msg);
	ck_tensor four = img;
	four.rank = 4;
	four.dims[3] = 1;
	CHECK(ck_idx_pair(&four, &two, &z, &e) == -1 && strstr(e.msg, "(N, H, W, C)"), "%s", e.msg);
	CHECK(ck_idx_pair(&two, &two, &z, &e) == -1 && strstr(e.msg, "not an images + labels"),
	      "%s", e.msg);
	CHECK(z.count == 0 && img.data != NULL, "nothing added, nothing moved");
	free(img.data);
}

/* An IDX file from a type, dims and data bytes (already big-endian). */
static unsigned char *make_idx(int type, int rank, const uint32_t *dims, const void *data,
                               size_t dlen, size_t *len)
{
	unsigned char *b = malloc(4 + 4 * (size_t)rank + dlen + 1);
	b[0] = b[1] = 0;
	b[2] = (unsigned char)type;
	b[3] = (unsigned char)rank;
	for (int k = 0; k < rank; k++)
		for (int j = 0; j < 4; j++)
			b[4 + 4 * k + j] = (unsigned char)(dims[k] >> (24 - 8 * j));
	memcpy(b + 4 + 4 * rank, data, dlen);
	*len = 4 + 4 * (size_t)rank + dlen;
	return b;
}

/* Reads buf both plain and gzipped; both must fail with msg or both work. */
static void check_both(const unsigned char *buf, size_t len, const char *msg, const char *what)
{
	size_t glen;
	unsigned char *gz = gzip_mem(buf, len, &glen);
	ck_tensor t;
	ck_err e = {{0}};
	const unsigned char *ins[2] = {buf, gz};
	size_t lens[2] = {len, glen};
	for (int k = 0; k < 2; k++) {
		int rc = ck_idx_read_mem(ins[k], lens[k], &t, &e);
		if (msg)
			CHECK(rc == -1 && strstr(e.msg, msg), "%s (%s): '%s' lacks '%s'", what,
			      k ? "gzip" : "plain", e.msg, msg);
		else
			CHECK(rc == 0, "%s (%s): %s", what, k ? "gzip" : "plain", e.msg);
		if (rc == 0)
			free(t.data);
	}
	free(gz);
}

static void test_bad_headers(void)
{
	uint32_t dims[9] = {2, 3, 1, 1, 1, 1, 1, 1, 1};
	unsigned char data[64] = {0};
	size_t len;
	unsigned char *b;
	b = make_idx(0x08, 2, dims, data, 6, &len);
	check_both(b, len, NULL, "good");
	free(b);
	b = make_idx(0x08, 2, dims, data, 5, &len);
	check_both(b, len, "truncated IDX data", "short");
	free(b);
	b = make_idx(0x08, 2, dims, data, 7, &len);
	ck_tensor t;
	ck_err e = {{0}};
	CHECK(ck_idx_read_mem(b, len, &t, &e) == -1 && strstr(e.msg, "after the IDX data"), "%s",
	      e.msg);
	size_t glen;
	unsigned char *gz = gzip_mem(b, len, &glen);
	CHECK(ck_idx_read_mem(gz, glen, &t, &e) == -1 && strstr(e.msg, "more gzip data"), "%s",
	      e.msg);
	free(gz);
	free(b);
	b = make_idx(0x0a, 2, dims, data, 6, &len);
	check_both(b, len, "unknown IDX data type 0x0a", "type");
	free(b);
	b = make_idx(0x08, 9, dims, data, 6, &len);
	check_both(b, len, "rank 9", "rank");
	free(b);
	b = make_idx(0x08, 0, dims, data, 1, &len);
	check_both(b, len, NULL, "rank 0");
	free(b);
	b = make_idx(0x08, 2, dims, data, 6, &len);
	check_both(b, 3, "truncated IDX header", "3 bytes");
	check_both(b, 7, "truncated IDX header", "7 bytes");
	b[1] = 1;
	check_both(b, len, "bad magic", "magic");
	free(b);
	/* Dims whose product overflows, and a claim of 2^64 bytes over 3 dims. */
	uint32_t huge[4] = {0xffffffffu, 0xffffffffu, 0xffffffffu, 2};
	b = make_idx(0x0e, 3, huge, data, 8, &len);
	check_both(b, len, "2^63", "overflow");
	free(b);
	uint32_t big[2] = {0xffffffffu, 0x10000u}; /* 2^48 bytes */
	b = make_idx(0x08, 2, big, data, 8, &len);
	check_both(b, len, "truncated IDX data", "big claim, little data");
	free(b);
}

/* Concatenated gzip members read as one stream; junk after gzip is an error;
 * a stream that inflates to more than the dims stop early. */
static void test_gzip_streams(void)
{
	uint32_t dims[1] = {100000};
	unsigned char *data = calloc(100000, 1);
	size_t len, l1, l2;
	unsigned char *b = make_idx(0x08, 1, dims, data, 100000, &len);
	unsigned char *g1 = gzip_mem(b, 50000, &l1), *g2 = gzip_mem(b + 50000, len - 50000, &l2);
	unsigned char *cat = malloc(l1 + l2 + 4);
	memcpy(cat, g1, l1);
	memcpy(cat + l1, g2, l2);
	ck_tensor t;
	ck_err e = {{0}};
	CHECK(ck_idx_read_mem(cat, l1 + l2, &t, &e) == 0 && t.nbytes == 100000, "two members: %s",
	      e.msg);
	free(t.data);
	memcpy(cat + l1 + l2, "junk", 4);
	CHECK(ck_idx_read_mem(cat, l1 + l2 + 4, &t, &e) == -1 && strstr(e.msg, "after the gzip"),
	      "%s", e.msg);
	/* The header says 10 bytes; the stream has 100000. */
	dims[0] = 10;
	unsigned char *small = make_idx(0x08, 1, dims, data, 100000, &len);
	size_t glen;
	unsigned char *gz = gzip_mem(small, len, &glen);
	CHECK(ck_idx_read_mem(gz, glen, &t, &e) == -1 && strstr(e.msg, "more gzip data"), "%s",
	      e.msg);
	free(gz);
	free(small);
	free(cat);
	free(g1);
	free(g2);
	free(b);
	free(data);
}

static void test_truncation_and_flips(void)
{
	static const char *files[] = {DATA "images-idx3-ubyte", DATA "images-idx3-ubyte.gz",
	                              DATA "f8.idx.gz"};
	unsigned seed = 11;
	for (size_t f = 0; f < 3; f++) {
		size_t len;
		unsigned char *buf = slurp(files[f], &len);
		if (!buf)
			continue;
		int accepted = 0, bad = 0;
		for (size_t n = 0; n < len; n++) {
			unsigned char *copy = malloc(n ? n : 1);
			memcpy(copy, buf, n);
			ck_tensor t;
			if (ck_idx_read_mem(copy, n, &t, NULL) == 0) {
				accepted++;
				free(t.data);
			}
			free(copy);
		}
		CHECK(accepted == 0, "%s: %d truncated files accepted", files[f], accepted);
		unsigned char *copy = malloc(len);
		for (int iter = 0; iter < 2000; iter++) {
			memcpy(copy, buf, len);
			copy[rand_r(&seed) % len] ^= (unsigned char)(1 + rand_r(&seed) % 255);
			ck_tensor t;
			if (ck_idx_read_mem(copy, len, &t, NULL) == 0) {
				int64_t n = 1;
				for (int k = 0; k < t.rank; k++)
					n *= t.dims[k];
				bad += t.nbytes != (size_t)n * ck_dtype_size(t.dtype);
				free(t.data);
			}
		}
		CHECK(bad == 0, "%s: %d inconsistent tensors", files[f], bad);
		free(copy);
		free(buf);
	}
}

/* The real Fashion-MNIST files, when the Debian package is installed. */
static void test_fashion_mnist(void)
{
	const char *img = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz";
	const char *lab = "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz";
	FILE *f = fopen(img, "rb");
	if (!f)
		return;
	fclose(f);
	ck_tensor a, b;
	ck_err e = {{0}};
	CHECK(ck_idx_read(img, &a, &e) == 0, "%s", e.msg);
	CHECK(ck_idx_read(lab, &b, &e) == 0, "%s", e.msg);
	ck_tnz z = {0};
	CHECK(ck_idx_pair(&a, &b, &z, &e) == 0, "%s", e.msg);
	ck_tensor *x = ck_tnz_find(&z, "x");
	CHECK(x && x->dims[0] == 10000 && x->dims[2] == 28 && x->dims[3] == 28, "(10000,1,28,28)");
	ck_tnz_free(&z);
}

int main(void)
{
	RUN(test_fixtures);
	RUN(test_pair);
	RUN(test_bad_headers);
	RUN(test_gzip_streams);
	RUN(test_truncation_and_flips);
	RUN(test_fashion_mnist);
	return check_summary();
}
