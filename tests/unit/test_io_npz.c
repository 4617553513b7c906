/* test_io_npz.c: NumPy .npz archives (zip) reading and writing. Fixtures in
 * tests/data/io/ come from tools/make_io_fixtures.py. */
#include "cnnkit.h"
#include "check.h"
#include "io_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
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

/* The arrays every NumPy-made fixture archive holds, in this order:
 * x (4,3) f32 i*0.5-1, y (4) i32 i-3, empty (0) u8, scalar () i64 = 7. */
static void check_arrays(const ck_tnz *z, const char *what)
{
	CHECK(z->count == 4, "%s: %zu tensors", what, z->count);
	if (z->count != 4)
		return;
	const ck_tensor *x = &z->tensors[0], *y = &z->tensors[1], *e = &z->tensors[2],
	                *s = &z->tensors[3];
	CHECK(strcmp(x->name, "x") == 0 && strcmp(y->name, "y") == 0 &&
	          strcmp(e->name, "empty") == 0 && strcmp(s->name, "scalar") == 0,
	      "%s: names in archive order", what);
	CHECK(x->dtype == CK_DTYPE_F32 && x->rank == 2 && x->dims[0] == 4 && x->dims[1] == 3,
	      "%s: x", what);
	int bad = 0;
	for (int i = 0; i < 12; i++)
		bad += ((float *)x->data)[i] != i * 0.5f - 1;
	for (int i = 0; i < 4; i++)
		bad += ((int32_t *)y->data)[i] != i - 3;
	CHECK(bad == 0, "%s: values", what);
	CHECK(e->rank == 1 && e->dims[0] == 0 && e->nbytes == 0 && e->dtype == CK_DTYPE_U8,
	      "%s: empty", what);
	CHECK(s->rank == 0 && s->dtype == CK_DTYPE_I64 && *(int64_t *)s->data == 7, "%s: scalar",
	      what);
}

static void test_numpy_archives(void)
{
	static const char *files[] = {DATA "stored.npz", DATA "deflated.npz", DATA "zip64.npz",
	                              DATA "zip64_deflated.npz"};
	for (size_t i = 0; i < 4; i++) {
		ck_tnz z = {0};
		ck_err e = {{0}};
		int rc = ck_npz_read(files[i], &z, &e);
		CHECK(rc == 0, "%s: %s", files[i], e.msg);
		if (rc == 0)
			check_arrays(&z, files[i]);
		ck_tnz_free(&z);
	}
}

static void test_zip_tool_archives(void)
{
	ck_tnz z = {0};
	ck_err e = {{0}};
	CHECK(ck_npz_read(DATA "with_dir.npz", &z, &e) == 0, "%s", e.msg);
	CHECK(z.count == 1 && strcmp(z.tensors[0].name, "sub/a") == 0, "directory skipped");
	ck_tnz_free(&z);
	CHECK(ck_npz_read(DATA "bad_member.npz", &z, &e) == -1 &&
	          strstr(e.msg, "member 'notes.txt' is not a .npy array"),
	      "%s", e.msg);
	CHECK(z.count == 0, "nothing left behind after a failure");
	CHECK(ck_npz_read(DATA "bad_bzip2.npz", &z, &e) == -1 &&
	          strstr(e.msg, "compression method 12"),
	      "%s", e.msg);
	CHECK(ck_npz_read(DATA "le_f4.npy", &z, &e) == -1 && strstr(e.msg, "not a zip"), "%s",
	      e.msg);
	ck_tnz_free(&z);
}

/* An archive read into a ck_tnz that already has tensors is appended to; a
 * name that exists is an error that leaves the ck_tnz as it was. */
static void test_append(void)
{
	ck_tnz z = {0};
	ck_err e = {{0}};
	int64_t d = 2;
	ck_tnz_add(&z, "first", CK_DTYPE_U8, 1, &d, NULL, &e);
	CHECK(ck_npz_read(DATA "stored.npz", &z, &e) == 0 && z.count == 5, "%s", e.msg);
	CHECK(ck_npz_read(DATA "stored.npz", &z, &e) == -1 && strstr(e.msg, "x"), "%s", e.msg);
	CHECK(z.count == 5, "unchanged: %zu", z.count);
	ck_tnz_free(&z);
}

static ck_tnz random_tnz(unsigned seed)
{
	ck_tnz z = {0};
	static const int64_t shapes[][3] = {{3, 5, 2}, {7, 0, 0}, {0, 4, 0}, {0, 0, 0}, {300, 70, 0}};
	static const int ranks[] = {3, 1, 2, 0, 2};
	for (int d = 1; d <= CK_DTYPE_MAX; d++) {
		char name[32];
		int s = d % 5;
		snprintf(name, sizeof name, "t%d.%s", d, ck_dtype_name(d));
		ck_tensor *t = ck_tnz_add(&z, name, (ck_dtype)d, ranks[s], shapes[s], NULL, NULL);
		unsigned char *p = t->data;
		for (size_t i = 0; i < t->nbytes; i++)
			p[i] = d == CK_DTYPE_BOOL ? rand_r(&seed) & 1 : (unsigned char)(rand_r(&seed) >> 9);
	}
	return z;
}

static void check_same(const ck_tnz *a, const ck_tnz *b, const char *what)
{
	CHECK(a->count == b->count, "%s: %zu vs %zu tensors", what, a->count, b->count);
	for (size_t i = 0; i < a->count && i < b->count; i++) {
		const ck_tensor *s = &a->tensors[i], *t = &b->tensors[i];
		CHECK(strcmp(s->name, t->name) == 0 && s->rank == t->rank &&
		          memcmp(s->dims, t->dims, sizeof s->dims) == 0,
		      "%s: %s header", what, s->name);
		if (s->dtype == CK_DTYPE_BF16) {
			int bad = t->dtype != CK_DTYPE_F32 || t->nbytes != 2 * s->nbytes;
			for (size_t j = 0; !bad && j < s->nbytes / 2; j++) {
				uint16_t h;
				uint32_t f;
				memcpy(&h, (char *)s->data + 2 * j, 2);
				memcpy(&f, (char *)t->data + 4 * j, 4);
				bad += f != (uint32_t)h << 16;
			}
			CHECK(!bad, "%s: bf16 widened to f32", what);
		} else {
			CHECK(s->dtype == t->dtype && s->nbytes == t->nbytes &&
			          memcmp(s->data, t->data, s->nbytes) == 0,
			      "%s: %s data", what, s->name);
		}
	}
}

static void test_round_trip(void)
{
	char dir[] = "/tmp/ck_io_npz_XXXXXX";
	CHECK(mkdtemp(dir) != NULL, "mkdtemp");
	ck_tnz z = random_tnz(3);
	int have_unzip = system("command -v unzip >/dev/null 2>&1") == 0;
	/* Stored, deflated, and with ZIP64 records everywhere (threshold 0). */
	static const struct {
		int level;
		uint64_t zip64_at;
	} modes[] = {{0, 0xffffffffu}, {6, 0xffffffffu}, {1, 0}, {0, 0}, {9, 5000}};
	for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
		char path[128], what[64], cmd[256];
		snprintf(path, sizeof path, "%s/m%zu.npz", dir, m);
		snprintf(what, sizeof what, "level %d zip64 at %llu", modes[m].level,
		         (unsigned long long)modes[m].zip64_at);
		ck_err e = {{0}};
		CHECK(ck_io_npz_write_ex(path, &z, modes[m].level, modes[m].zip64_at, &e) == 0, "%s: %s",
		      what, e.msg);
		ck_tnz back = {0};
		CHECK(ck_npz_read(path, &back, &e) == 0, "%s: %s", what, e.msg);
		check_same(&z, &back, what);
		ck_tnz_free(&back);
		if (have_unzip) {
			snprintf(cmd, sizeof cmd, "unzip -tqq %s >/dev/null 2>&1", path);
			CHECK(system(cmd) == 0, "%s: unzip -t", what);
		}
		unlink(path);
	}
	/* The same tensors give the same bytes (no timestamps). */
	char p1[128], p2[128];
	snprintf(p1, sizeof p1, "%s/a.npz", dir);
	snprintf(p2, sizeof p2, "%s/b.npz", dir);
	ck_npz_write(p1, &z, 6, NULL);
	ck_npz_write(p2, &z, 6, NULL);
	size_t l1, l2;
	unsigned char *b1 = slurp(p1, &l1), *b2 = slurp(p2, &l2);
	CHECK(b1 && b2 && l1 == l2 && memcmp(b1, b2, l1) == 0, "reproducible");
	free(b1);
	free(b2);
	unlink(p1);
	unlink(p2);
	ck_err e = {{0}};
	CHECK(ck_npz_write("-", &z, 0, &e) == -1 && strstr(e.msg, "standard output"), "%s", e.msg);
	CHECK(ck_npz_write(p1, &z, 10, &e) == -1 && strstr(e.msg, "level"), "%s", e.msg);
	ck_tnz_free(&z);
	CHECK(rmdir(dir) == 0, "no temporary files left");
}

/* ---- hand-made archives ---------------------------------------------------- */

typedef struct zbuf {
	unsigned char b[8192];
	size_t n;
} zbuf;

static void put(zbuf *z, const void *p, size_t n)
{
	memcpy(z->b + z->n, p, n);
	z->n += n;
}
static void put16(zbuf *z, unsigned v)
{
	unsigned char b[2] = {(unsigned char)v, (unsigned char)(v >> 8)};
	put(z, b, 2);
}
static void put32(zbuf *z, uint32_t v)
{
	put16(z, v & 0xffff);
	put16(z, v >> 16);
}
static void put64(zbuf *z, uint64_t v)
{
	put32(z, (uint32_t)v);
	put32(z, (uint32_t)(v >> 32));
}

/* A member for build_zip: its stored bytes and how to describe them. */
typedef struct member {
	const char *name;
	const unsigned char *data;
	size_t len;
	int flags, method;
	int zip64_central; /* sizes and offset as 0xffffffff + ZIP64 extra */
	int same_offset_as_previous; /* for overlap tests */
} member;

/* The bytes of a tiny .npy holding u8 values 1 2 3. */
static size_t small_npy(unsigned char *out)
{
	ck_tensor t;
	memset(&t, 0, sizeof t);
	t.dtype = CK_DTYPE_U8;
	t.rank = 1;
	t.dims[0] = 3;
	t.nbytes = 3;
	t.data = "\1\2\3";
	void *buf;
	size_t len;
	ck_npy_write_mem(&t, &buf, &len, NULL);
	memcpy(out, buf, len);
	free(buf);
	return len;
}

static void build_zip(zbuf *z, const member *m, int n, int zip64_end)
{
	uint64_t offsets[8];
	z->n = 0;
	for (int i = 0; i < n; i++) {
		offsets[i] = z->n;
		if (m[i].same_offset_as_previous)
			continue;
		put32(z, 0x04034b50);
		put16(z, 20);
		put16(z, (unsigned)m[i].flags);
		put16(z, (unsigned)m[i].method);
		put32(z, 0);
		put32(z, (uint32_t)crc32(0, m[i].data, (uInt)m[i].len));
		put32(z, (uint32_t)m[i].len);
		put32(z, (uint32_t)m[i].len);
		put16(z, (unsigned)strlen(m[i].name));
		put16(z, 0);
		put(z, m[i].name, strlen(m[i].name));
		put(z, m[i].data, m[i].len);
	}
	uint64_t cd = z->n;
	for (int i = 0; i < n; i++) {
		uint64_t off = m[i].same_offset_as_previous ? offsets[i - 1] : offsets[i];
		int big = m[i].zip64_central;
		put32(z, 0x02014b50);
		put16(z, 45);
		put16(z, 45);
		put16(z, (unsigned)m[i].flags);
		put16(z, (unsigned)m[i].method);
		put32(z, 0);
		put32(z, (uint32_t)crc32(0, m[i].data, (uInt)m[i].len));
		put32(z, big ? 0xffffffffu : (uint32_t)m[i].len);
		put32(z, big ? 0xffffffffu : (uint32_t)m[i].len);
		put16(z, (unsigned)strlen(m[i].name));
		put16(z, big ? 8 + 28 : 0); /* another extra field first, then ZIP64 */
		put16(z, 0);
		put16(z, 0);
		put16(z, 0);
		put32(z, 0);
		put32(z, big ? 0xffffffffu : (uint32_t)off);
		put(z, m[i].name, strlen(m[i].name));
		if (big) {
			put16(z, 0x5455); /* extended timestamp, skipped */
			put16(z, 4);
			put32(z, 0);
			put16(z, 1);
			put16(z, 24);
			put64(z, m[i].len);
			put64(z, m[i].len);
			put64(z, off);
		}
	}
	uint64_t cd_size = z->n - cd;
	if (zip64_end) {
		uint64_t rec = z->n;
		put32(z, 0x06064b50);
		put64(z, 44);
		put16(z, 45);
		put16(z, 45);
		put32(z, 0);
		put32(z, 0);
		put64(z, (uint64_t)n);
		put64(z, (uint64_t)n);
		put64(z, cd_size);
		put64(z, cd);
		put32(z, 0x07064b50);
		put32(z, 0);
		put64(z, rec);
		put32(z, 1);
	}
	put32(z, 0x06054b50);
	put16(z, 0);
	put16(z, 0);
	put16(z, zip64_end ? 0xffff : (unsigned)n);
	put16(z, zip64_end ? 0xffff : (unsigned)n);
	put32(z, zip64_end ? 0xffffffffu : (uint32_t)cd_size);
	put32(z, zip64_end ? 0xffffffffu : (uint32_t)cd);
	put16(z, 0);
}

static int read_zip(const zbuf *z, ck_tnz *out, ck_err *e)
{
	unsigned char *copy = malloc(z->n); /* exact size: ASan sees overreads */
	memcpy(copy, z->b, z->n);
	int rc = ck_npz_read_mem(copy, z->n, out, e);
	free(copy);
	return rc;
}

static void test_hand_made(void)
{
	unsigned char npy[256];
	size_t nlen = small_npy(npy);
	zbuf z;
	ck_tnz out = {0};
	ck_err e = {{0}};
	member ok[2] = {{"a.npy", npy, nlen, 0, 0, 1, 0}, {"b.npy", npy, nlen, 0, 0, 0, 0}};
	build_zip(&z, ok, 2, 1);
	CHECK(read_zip(&z, &out, &e) == 0 && out.count == 2, "zip64 extras and end: %s", e.msg);
	if (out.count == 2)
		CHECK(memcmp(out.tensors[0].data, "\1\2\3", 3) == 0 && strcmp(out.tensors[1].name, "b") == 0,
		      "values");
	ck_tnz_free(&out);

	member enc[1] = {{"a.npy", npy, nlen, 1, 0, 0, 0}};
	build_zip(&z, enc, 1, 0);
	CHECK(read_zip(&z, &out, &e) == -1 && strstr(e.msg, "encrypted"), "%s", e.msg);

	member lzma[1] = {{"a.npy", npy, nlen, 0, 14, 0, 0}};
	build_zip(&z, lzma, 1, 0);
	CHECK(read_zip(&z, &out, &e) == -1 && strstr(e.msg, "method 14"), "%s", e.msg);

	member overlap[2] = {{"a.npy", npy, nlen, 0, 0, 0, 0}, {"a.npy", npy, nlen, 0, 0, 0, 1}};
	build_zip(&z, overlap, 2, 0);
	CHECK(read_zip(&z, &out, &e) == -1 && strstr(e.msg, "overlap"), "%s", e.msg);

	member other_name[1] = {{"a.npy", npy, nlen, 0, 0, 0, 0}};
	build_zip(&z, other_name, 1, 0);
	z.b[30] = 'b'; /* the local header's name */
	CHECK(read_zip(&z, &out, &e) == -1 && strstr(e.msg, "names differ"), "%s", e.msg);

	build_zip(&z, other_name, 1, 0);
	z.b[z.n - 22 + 4] = 1; /* EOCD: number of this disk */
	CHECK(read_zip(&z, &out, &e) == -1 && strstr(e.msg, "multi-disk"), "%s", e.msg);

	build_zip(&z, other_name, 1, 0);
	z.b[z.n - 22 + 10] = 200; /* EOCD: 200 entries in a 51-byte directory */
	z.b[z.n - 22 + 8] = 200;
	CHECK(read_zip(&z, &out, &e) == -1 && strstr(e.msg, "cannot fit"), "%s", e.msg);

	build_zip(&z, other_name, 1, 0);
	z.b[z.n - 22 + 16] = 0xf0; /* EOCD: directory offset past the end */
	CHECK(read_zip(&z, &out, &e) == -1 && strstr(e.msg, "outside"), "%s", e.msg);

	build_zip(&z, other_name, 1, 0);
	z.b[30 + 5 + 60] ^= 1; /* a byte of the member's data */
	CHECK(read_zip(&z, &out, &e) == -1 && strstr(e.msg, "CRC mismatch"), "%s", e.msg);

	member no_npy[1] = {{".npy", npy, nlen, 0, 0, 0, 0}};
	build_zip(&z, no_npy, 1, 0);
	CHECK(read_zip(&z, &out, &e) == -1 && strstr(e.msg, "not a .npy"), "%s", e.msg);

	/* An empty archive (just an end record) holds no tensors. */
	z.n = 0;
	put32(&z, 0x06054b50);
	for (int i = 0; i < 9; i++)
		put16(&z, 0);
	CHECK(read_zip(&z, &out, &e) == 0 && out.count == 0, "empty archive: %s", e.msg);
	/* The end record with a comment. */
	z.b[z.n - 2] = 3;
	put(&z, "hi!", 3);
	CHECK(read_zip(&z, &out, &e) == 0, "comment: %s", e.msg);
	z.n--;
	CHECK(read_zip(&z, &out, &e) == -1 && strstr(e.msg, "no end of central"), "%s", e.msg);
	ck_tnz_free(&out);
}

/* A deflate member that claims a size no stream of its length can reach, or
 * inflates to more or less than it claims. */
static void test_deflate_sizes(void)
{
	char dir[] = "/tmp/ck_io_npz_XXXXXX";
	CHECK(mkdtemp(dir) != NULL, "mkdtemp");
	char path[128];
	snprintf(path, sizeof path, "%s/z.npz", dir);
	ck_tnz z = {0};
	int64_t d = 100000;
	ck_tnz_add(&z, "zeros", CK_DTYPE_U8, 1, &d, NULL, NULL);
	ck_npz_write(path, &z, 9, NULL);
	ck_tnz_free(&z);
	size_t len;
	unsigned char *buf = slurp(path, &len);
	unlink(path);
	rmdir(dir);
	if (!buf)
		return;
	/* usize of the central header is at cd + 24; cd starts right after the
	 * member, found from the end record. */
	uint32_t cd = ck_io_le32(buf + len - 22 + 16);
	uint32_t usize = ck_io_le32(buf + cd + 24);
	ck_err e = {{0}};
	static const struct {
		uint32_t usize;
		const char *msg;
	} cases[] = {
		{0x7fffffff, "impossible for deflate"},
		{0, "more than"},
		{0, "more than"},
		{0, "inflates to"},
	};
	uint32_t sizes[4] = {0x7fffffff, 5, 0, 0};
	sizes[2] = usize - 1;
	sizes[3] = usize + 1;
	for (int i = 0; i < 4; i++) {
		ck_io_put32(buf + cd + 24, sizes[i]);
		ck_tnz out = {0};
		CHECK(ck_npz_read_mem(buf, len, &out, &e) == -1 && strstr(e.msg, cases[i].msg),
		      "size %u: %s", sizes[i], e.msg);
		ck_tnz_free(&out);
	}
	free(buf);
}

static void test_truncation(void)
{
	size_t len;
	unsigned char *buf = slurp(DATA "deflated.npz", &len);
	CHECK(buf != NULL, "fixture");
	if (!buf)
		return;
	int accepted = 0;
	for (size_t n = 0; n < len; n++) {
		unsigned char *copy = malloc(n ? n : 1);
		memcpy(copy, buf, n);
		ck_tnz z = {0};
		accepted += ck_npz_read_mem(copy, n, &z, NULL) == 0;
		ck_tnz_free(&z);
		free(copy);
	}
	CHECK(accepted == 0, "%d truncated archives accepted", accepted);
	free(buf);
}

/* Random byte changes: an error, or (a change in what is not checked, like
 * a timestamp) the right arrays; never a crash or wrong data. */
static void test_byte_flips(void)
{
	static const char *files[] = {DATA "stored.npz", DATA "deflated.npz", DATA "zip64.npz"};
	unsigned seed = 9;
	for (size_t f = 0; f < 3; f++) {
		size_t len;
		unsigned char *buf = slurp(files[f], &len);
		if (!buf)
			continue;
		unsigned char *copy = malloc(len);
		int wrong = 0;
		for (int iter = 0; iter < 1500; iter++) {
			memcpy(copy, buf, len);
			int flips = 1 + rand_r(&seed) % 2;
			for (int k = 0; k < flips; k++)
				copy[rand_r(&seed) % len] ^= (unsigned char)(1 + rand_r(&seed) % 255);
			ck_tnz z = {0};
			if (ck_npz_read_mem(copy, len, &z, NULL) == 0) {
				int before = check_failures_in_test;
				check_arrays(&z, "flipped archive read");
				wrong += check_failures_in_test != before;
			}
			ck_tnz_free(&z);
		}
		CHECK(wrong == 0, "%s: %d flipped archives gave wrong arrays", files[f], wrong);
		free(copy);
		free(buf);
	}
}

int main(void)
{
	RUN(test_numpy_archives);
	RUN(test_zip_tool_archives);
	RUN(test_append);
	RUN(test_round_trip);
	RUN(test_hand_made);
	RUN(test_deflate_sizes);
	RUN(test_truncation);
	RUN(test_byte_flips);
	return check_summary();
}
