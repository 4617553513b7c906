/* test_tnz_mem.c: TNZ metadata, tensors and streams in memory, and CRC-32. */
#include "cnnkit.h"
#include "check.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static void test_crc32(void)
{
	CHECK(ck_crc32(0, "123456789", 9) == 0xCBF43926u, "check value of the spec");
	CHECK(ck_crc32(0, "", 0) == 0, "empty");
	uint32_t c = ck_crc32(0, "1234", 4);
	CHECK(ck_crc32(c, "56789", 5) == 0xCBF43926u, "continues from a previous value");
	CHECK(ck_crc32(0x12345678u, NULL, 0) == 0x12345678u, "nothing to add");

	/* The folding paths (256 bytes and more; 1024 and more with VPCLMULQDQ)
	 * against zlib's tables: every alignment, lengths around the 16-, 64-
	 * and 128-byte steps and the switch between paths, continuations. */
	size_t n = 1 << 20;
	unsigned char *buf = malloc(n);
	uint64_t s = 88172645463325252ull;
	for (size_t i = 0; i < n; i++) {
		s ^= s << 13, s ^= s >> 7, s ^= s << 17;
		buf[i] = (unsigned char)s;
	}
	int bad = 0;
	for (size_t off = 0; off < 16; off++)
		for (size_t len = 250; len < 700; len++)
			bad += ck_crc32(0, buf + off, len) != (uint32_t)crc32_z(0, buf + off, len);
	for (size_t off = 0; off < 32; off += 5)
		for (size_t len = 1000; len < 1300; len++)
			bad += ck_crc32(7, buf + off, len) != (uint32_t)crc32_z(7, buf + off, len);
	for (size_t len = 1000; len < n; len = len * 3 + 7)
		bad += ck_crc32(0xdeadbeefu, buf + 3, len) != (uint32_t)crc32_z(0xdeadbeefu, buf + 3, len);
	CHECK(bad == 0, "%d lengths differ from zlib", bad);
	uint32_t whole = ck_crc32(0, buf, n), parts = 0;
	for (size_t pos = 0, step = 1; pos < n; pos += step, step = step * 5 % 9973 + 1)
		parts = ck_crc32(parts, buf + pos, pos + step <= n ? step : n - pos);
	CHECK(whole == parts && whole == (uint32_t)crc32_z(0, buf, n), "in pieces");
	memset(buf, 0, n);
	CHECK(ck_crc32(0, buf, n) == (uint32_t)crc32_z(0, buf, n), "zeros");
	free(buf);
}

static void test_meta(void)
{
	ck_meta m = {0};
	ck_err e = {{0}};
	CHECK(ck_meta_get(&m, "x", NULL) == NULL, "empty meta");
	CHECK(ck_meta_set(&m, "classes", "cat\ndog", (size_t)-1, &e) == 0, "%s", e.msg);
	CHECK(ck_meta_set(&m, "arch", "conv 8 3", 4, &e) == 0, "%s", e.msg);
	CHECK(ck_meta_set(&m, "empty", "", 0, &e) == 0, "%s", e.msg);
	CHECK(ck_meta_set(&m, "null", NULL, 0, &e) == 0, "NULL value of length 0: %s", e.msg);
	size_t len = 99;
	const char *v = ck_meta_get(&m, "arch", &len);
	CHECK(v && len == 4 && strcmp(v, "conv") == 0, "value cut at len, NUL-terminated");
	v = ck_meta_get(&m, "null", &len);
	CHECK(v && len == 0 && v[0] == '\0', "empty value");
	CHECK(ck_meta_set(&m, "classes", "a\nb\nc", (size_t)-1, &e) == 0, "replace");
	CHECK(m.count == 4 && strcmp(m.items[0].key, "classes") == 0 &&
	          strcmp(m.items[0].value, "a\nb\nc") == 0 && m.items[0].len == 5,
	      "replaced in place, first-set order kept");

	CHECK(ck_meta_set(&m, "", "v", 1, &e) == -1 && strstr(e.msg, "empty"), "%s", e.msg);
	char key[300];
	memset(key, 'k', sizeof key);
	key[255] = '\0';
	CHECK(ck_meta_set(&m, key, "v", 1, &e) == 0, "255-byte key");
	key[255] = 'k';
	key[256] = '\0';
	CHECK(ck_meta_set(&m, key, "v", 1, &e) == -1 && strstr(e.msg, "too long"), "%s", e.msg);
	CHECK(ck_meta_set(&m, "nul", "a\0b", 3, &e) == -1 && strstr(e.msg, "NUL"), "%s", e.msg);
	CHECK(ck_meta_set(&m, "big", "", (size_t)CK_TNZ_MAX_META + 1, &e) == -1 &&
	          strstr(e.msg, "too long"),
	      "%s", e.msg);

	ck_meta other = {0};
	CHECK(ck_meta_set(&other, "arch", "dense 10", (size_t)-1, &e) == 0, "set");
	CHECK(ck_meta_set(&other, "vocab", "the\nof", (size_t)-1, &e) == 0, "set");
	size_t before = m.count;
	CHECK(ck_meta_merge(&m, &other, &e) == 0, "merge: %s", e.msg);
	CHECK(m.count == before + 1, "one new key");
	CHECK(strcmp(ck_meta_get(&m, "arch", NULL), "dense 10") == 0, "merge replaces");
	CHECK(strcmp(ck_meta_get(&m, "vocab", NULL), "the\nof") == 0, "merge adds");

	CHECK(ck_meta_remove(&m, "arch") == 1, "removed");
	CHECK(ck_meta_remove(&m, "arch") == 0, "already gone");
	CHECK(ck_meta_get(&m, "arch", NULL) == NULL, "gone");
	CHECK(strcmp(m.items[0].key, "classes") == 0 && strcmp(m.items[1].key, "empty") == 0,
	      "order kept after removal");
	ck_meta_free(&m);
	ck_meta_free(&other);
	CHECK(m.count == 0 && m.items == NULL, "freed and reset");
	ck_meta_free(&m);
}

static void test_tensor_shape(void)
{
	ck_tensor t = {.dtype = CK_DTYPE_F32, .rank = 4, .dims = {60000, 1, 28, 28}};
	char buf[64];
	CHECK(ck_tensor_numel(&t) == 60000LL * 784, "numel");
	CHECK(ck_tensor_row_bytes(&t) == 784 * 4, "row bytes");
	ck_tensor_shape_str(&t, buf, sizeof buf);
	CHECK(strcmp(buf, "(60000, 1, 28, 28)") == 0, "got %s", buf);
	ck_tensor_shape_str(&t, buf, 8);
	CHECK(strcmp(buf, "(60000,") == 0, "truncated safely: %s", buf);
	t.rank = 1;
	ck_tensor_shape_str(&t, buf, sizeof buf);
	CHECK(strcmp(buf, "(60000,)") == 0, "rank 1: %s", buf);
	CHECK(ck_tensor_row_bytes(&t) == 4, "row of a vector is one element");
	t.rank = 0;
	ck_tensor_shape_str(&t, buf, sizeof buf);
	CHECK(strcmp(buf, "()") == 0, "rank 0: %s", buf);
	CHECK(ck_tensor_numel(&t) == 1 && ck_tensor_row_bytes(&t) == 4, "scalar");
	t = (ck_tensor){.dtype = CK_DTYPE_U8, .rank = 2, .dims = {CK_TNZ_ROWS_UNKNOWN, 3}};
	ck_tensor_shape_str(&t, buf, sizeof buf);
	CHECK(strcmp(buf, "(?, 3)") == 0, "unknown rows: %s", buf);
}

static void test_tnz_add_find_remove(void)
{
	ck_tnz z = {0};
	ck_err e = {{0}};
	int64_t dims[2] = {2, 3};
	const unsigned char bytes[6] = {1, 2, 3, 4, 5, 6};
	ck_tensor *x = ck_tnz_add(&z, "x", CK_DTYPE_U8, 2, dims, bytes, &e);
	CHECK(x && x->nbytes == 6 && memcmp(x->data, bytes, 6) == 0, "copy: %s", e.msg);
	ck_tensor *y = ck_tnz_add(&z, "y", CK_DTYPE_I32, 1, (int64_t[]){2}, NULL, &e);
	CHECK(y && y->nbytes == 8 && ((int32_t *)y->data)[1] == 0, "zeroed: %s", e.msg);
	ck_tensor *s = ck_tnz_add(&z, "scalar", CK_DTYPE_F64, 0, NULL, NULL, &e);
	CHECK(s && s->nbytes == 8 && s->rank == 0, "scalar: %s", e.msg);
	ck_tensor *empty = ck_tnz_add(&z, "empty", CK_DTYPE_F32, 3, (int64_t[]){0, 5, 7}, NULL, &e);
	CHECK(empty && empty->nbytes == 0 && empty->data != NULL, "empty tensor: %s", e.msg);
	CHECK(z.count == 4, "count");

	CHECK(ck_tnz_add(&z, "x", CK_DTYPE_U8, 1, dims, NULL, &e) == NULL &&
	          strstr(e.msg, "already exists"),
	      "%s", e.msg);
	CHECK(ck_tnz_add(&z, "", CK_DTYPE_U8, 1, dims, NULL, &e) == NULL, "empty name");
	CHECK(ck_tnz_add(&z, "d", (ck_dtype)0, 1, dims, NULL, &e) == NULL &&
	          strstr(e.msg, "unknown dtype"),
	      "%s", e.msg);
	CHECK(ck_tnz_add(&z, "d", (ck_dtype)14, 1, dims, NULL, &e) == NULL, "dtype 14");
	CHECK(ck_tnz_add(&z, "r", CK_DTYPE_U8, 9, dims, NULL, &e) == NULL && strstr(e.msg, "rank"),
	      "%s", e.msg);
	CHECK(ck_tnz_add(&z, "r", CK_DTYPE_U8, -1, dims, NULL, &e) == NULL, "negative rank");
	CHECK(ck_tnz_add(&z, "n", CK_DTYPE_U8, 2, (int64_t[]){-1, 2}, NULL, &e) == NULL &&
	          strstr(e.msg, "negative"),
	      "%s", e.msg);
	CHECK(ck_tnz_add(&z, "n", CK_DTYPE_U8, 2, (int64_t[]){2, -2}, NULL, &e) == NULL,
	      "negative dim 1");
	CHECK(ck_tnz_add(&z, "big", CK_DTYPE_U8, 2, (int64_t[]){1, (int64_t)1 << 48}, NULL, &e) ==
	              NULL &&
	          strstr(e.msg, "too large"),
	      "%s", e.msg);
	CHECK(ck_tnz_add(&z, "big", CK_DTYPE_F64, 3,
	                 (int64_t[]){4, (int64_t)1 << 30, (int64_t)1 << 30}, NULL, &e) == NULL &&
	          strstr(e.msg, "too large"),
	      "2^65 bytes: %s", e.msg);
	CHECK(ck_tnz_add(&z, "big", CK_DTYPE_U8, 3,
	                 (int64_t[]){0, (int64_t)1 << 47, (int64_t)1 << 47}, NULL, &e) == NULL &&
	          strstr(e.msg, "too large"),
	      "a row over 2^62 bytes, even with no rows: %s", e.msg);
	CHECK(z.count == 4, "failed adds add nothing");

	CHECK(ck_tnz_find(&z, "y") && ck_tnz_find(&z, "y")->dtype == CK_DTYPE_I32, "find");
	CHECK(ck_tnz_find(&z, "nope") == NULL, "not found");
	CHECK(ck_tnz_remove(&z, "y") == 1 && ck_tnz_remove(&z, "y") == 0, "remove");
	CHECK(z.count == 3 && strcmp(z.tensors[1].name, "scalar") == 0, "order kept");
	x = ck_tnz_find(&z, "x");
	CHECK(x && memcmp(x->data, bytes, 6) == 0, "others untouched");

	/* Many tensors: the array grows. */
	for (int i = 0; i < 100; i++) {
		char name[16];
		snprintf(name, sizeof name, "t%d", i);
		CHECK(ck_tnz_add(&z, name, CK_DTYPE_U8, 1, (int64_t[]){i}, NULL, &e), "%s", e.msg);
	}
	CHECK(z.count == 103 && ck_tnz_find(&z, "t99")->dims[0] == 99, "grown");
	CHECK(ck_meta_set(&z.meta, "k", "v", 1, &e) == 0, "meta of a stream");
	ck_tnz_free(&z);
	CHECK(z.count == 0 && z.tensors == NULL && z.meta.count == 0, "freed");
}

int main(void)
{
	RUN(test_crc32);
	RUN(test_meta);
	RUN(test_tensor_shape);
	RUN(test_tnz_add_find_remove);
	return check_summary();
}
