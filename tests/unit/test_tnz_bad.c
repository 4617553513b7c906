/* test_tnz_bad.c: the TNZ reader on hostile input. Bad files are built
 * record by record with correct CRCs (so the checks behind the CRC are the
 * ones exercised), and good files are flipped and cut at every byte. Every
 * case must give an error with the right message: never a crash, never
 * success with other data, never an allocation the data does not justify. */
#include "cnnkit.h"
#include "check.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

static char path[96];

/* ---- building files record by record ------------------------------------ */

typedef struct buf {
	unsigned char *p;
	size_t len, cap;
} buf;

static void put(buf *b, const void *src, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2 + 64;
		b->p = realloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, src, n);
	b->len += n;
}

static void put_le(buf *b, uint64_t v, int bytes)
{
	unsigned char c[8];
	for (int i = 0; i < bytes; i++)
		c[i] = (unsigned char)(v >> (8 * i));
	put(b, c, (size_t)bytes);
}

static void magic(buf *b)
{
	put(b, "\x89TNZ\r\n\x1a\n", 8);
}

/* A record with a correct CRC (a length field of len). */
static void rec(buf *b, const char *tag, const void *body, size_t len)
{
	size_t start = b->len;
	put(b, tag, 4);
	put_le(b, len, 4);
	put(b, body, len);
	put_le(b, ck_crc32(0, b->p + start, 8 + len), 4);
}

static void head(buf *b, int major, int minor, uint32_t flags)
{
	unsigned char h[8];
	for (int i = 0; i < 2; i++) {
		h[i] = (unsigned char)(major >> (8 * i));
		h[2 + i] = (unsigned char)(minor >> (8 * i));
	}
	for (int i = 0; i < 4; i++)
		h[4 + i] = (unsigned char)(flags >> (8 * i));
	rec(b, "HEAD", h, 8);
}

static void start(buf *b)
{
	magic(b);
	head(b, 1, 0, 0);
}

static void meta(buf *b, const char *k, const char *v)
{
	buf body = {0};
	unsigned char kl = (unsigned char)strlen(k);
	put(&body, &kl, 1);
	put(&body, k, kl);
	put(&body, v, strlen(v));
	rec(b, "META", body.p, body.len);
	free(body.p);
}

static void tens_full(buf *b, const char *name, int dtype, int rank, const uint64_t *dims,
                      int filter, int reserved)
{
	buf body = {0};
	unsigned char hdr[5] = {(unsigned char)dtype, (unsigned char)rank, (unsigned char)filter,
	                        (unsigned char)reserved, 0};
	unsigned char nl = (unsigned char)strlen(name);
	put(&body, &nl, 1);
	put(&body, name, nl);
	put(&body, hdr, 5);
	for (int i = 0; i < rank; i++)
		put_le(&body, dims[i], 8);
	rec(b, "TENS", body.p, body.len);
	free(body.p);
}

static void tens(buf *b, const char *name, int dtype, int rank, const uint64_t *dims)
{
	tens_full(b, name, dtype, rank, dims, 0, 0);
}

static void data_full(buf *b, int codec, uint32_t raw, const void *payload, size_t n,
                      int reserved)
{
	buf body = {0};
	unsigned char pre[4] = {(unsigned char)codec, (unsigned char)reserved, 0, 0};
	put(&body, pre, 4);
	put_le(&body, raw, 4);
	put(&body, payload, n);
	rec(b, "DATA", body.p, body.len);
	free(body.p);
}

static void data(buf *b, const void *bytes, size_t n)
{
	data_full(b, 0, (uint32_t)n, bytes, n, 0);
}

static void zdata(buf *b, uint32_t raw, const void *bytes, size_t n)
{
	uLongf zn = compressBound((uLong)n);
	unsigned char *z = malloc(zn);
	compress2(z, &zn, bytes, (uLong)n, 6);
	data_full(b, 1, raw, z, zn, 0);
	free(z);
}

static void tend(buf *b, uint64_t rows)
{
	unsigned char r[8];
	for (int i = 0; i < 8; i++)
		r[i] = (unsigned char)(rows >> (8 * i));
	rec(b, "TEND", r, 8);
}

static void fend(buf *b, uint32_t tensors, uint32_t metas)
{
	unsigned char f[8];
	for (int i = 0; i < 4; i++) {
		f[i] = (unsigned char)(tensors >> (8 * i));
		f[4 + i] = (unsigned char)(metas >> (8 * i));
	}
	rec(b, "FEND", f, 8);
}

/* A good file: x u8 (2, 3) = "abcdef", meta k=v. */
static void good(buf *b)
{
	start(b);
	meta(b, "k", "v");
	tens(b, "x", 1, 2, (uint64_t[]){2, 3});
	data(b, "abcdef", 6);
	tend(b, 2);
	fend(b, 1, 1);
}

/* ---- loading ------------------------------------------------------------- */

static int load_bytes(const void *p, size_t n, ck_tnz *z, int threads, ck_err *e)
{
	FILE *f = fopen(path, "wb");
	if (n)
		fwrite(p, 1, n, f);
	fclose(f);
	return ck_tnz_load(z, path, threads, e);
}

/* Loading b must fail with a message containing want. */
static void expect_error(buf *b, const char *want, const char *what)
{
	ck_tnz z;
	ck_err e = {{0}};
	int rc = load_bytes(b->p, b->len, &z, 2, &e);
	CHECK(rc == -1 && strstr(e.msg, want), "%s: want \"%s\", got %s \"%s\"", what, want,
	      rc ? "error" : "success", e.msg);
	if (rc == 0)
		ck_tnz_free(&z);
	free(b->p);
	*b = (buf){0};
}

static void expect_ok(buf *b, const char *what)
{
	ck_tnz z;
	ck_err e = {{0}};
	int rc = load_bytes(b->p, b->len, &z, 2, &e);
	CHECK(rc == 0, "%s: %s", what, e.msg);
	if (rc == 0) {
		ck_tensor *x = ck_tnz_find(&z, "x");
		CHECK(x && x->nbytes == 6 && memcmp(x->data, "abcdef", 6) == 0, "%s: data", what);
		ck_tnz_free(&z);
	}
	free(b->p);
	*b = (buf){0};
}

/* ---- the cases ----------------------------------------------------------- */

static void test_good_reference(void)
{
	buf b = {0};
	good(&b);
	expect_ok(&b, "the reference file");
	/* Any minor version is read. */
	magic(&b);
	head(&b, 1, 7, 0);
	tens(&b, "x", 1, 1, (uint64_t[]){6});
	data(&b, "abc", 3);
	data(&b, "def", 3);
	tend(&b, 6);
	fend(&b, 1, 0);
	expect_ok(&b, "version 1.7, two chunks");
	/* Unknown rows, a zlib chunk, an ancillary record skipped. */
	start(&b);
	rec(&b, "zzzz", "whatever", 8);
	tens(&b, "x", 1, 2, (uint64_t[]){UINT64_MAX, 2});
	zdata(&b, 6, "abcdef", 6);
	tend(&b, 3);
	rec(&b, "abCd", "", 0);
	fend(&b, 1, 0);
	expect_ok(&b, "unknown rows, zlib chunk, ancillary records");
	/* The same name twice in one file appends. */
	start(&b);
	tens(&b, "x", 1, 2, (uint64_t[]){1, 3});
	data(&b, "abc", 3);
	tend(&b, 1);
	tens(&b, "x", 1, 2, (uint64_t[]){1, 3});
	data(&b, "def", 3);
	tend(&b, 1);
	fend(&b, 2, 0);
	expect_ok(&b, "same name twice in a file");
}

static void test_stream_structure(void)
{
	buf b = {0};
	expect_error(&b, "empty file", "zero bytes");
	put(&b, "hello, world\n", 13);
	expect_error(&b, "not a TNZ file (bad magic)", "text");
	put(&b, "\x89PNG\r\n\x1a\n", 8);
	expect_error(&b, "not a TNZ file (bad magic)", "PNG");
	put(&b, "\x89TN", 3);
	expect_error(&b, "truncated at offset 3", "cut magic");
	put(&b, "\x89TZ", 3);
	expect_error(&b, "bad magic", "short non-magic");

	magic(&b);
	head(&b, 2, 0, 0);
	expect_error(&b, "version 2.0 is newer than this reader (1.x)", "version 2.0");
	magic(&b);
	head(&b, 0, 9, 0);
	expect_error(&b, "version 0.9", "version 0.9");
	magic(&b);
	head(&b, 1, 0, 4);
	expect_error(&b, "unknown flags", "flags");
	magic(&b);
	meta(&b, "k", "v");
	expect_error(&b, "expected a HEAD record at offset 8", "no HEAD");
	start(&b);
	head(&b, 1, 0, 0);
	fend(&b, 0, 0);
	expect_error(&b, "unexpected HEAD record at offset 28", "second HEAD");

	good(&b);
	put(&b, "\n", 1);
	expect_error(&b, "trailing data at offset 144", "a newline after FEND");
	good(&b);
	put(&b, "\x89TNZ", 4);
	expect_error(&b, "truncated at offset 148", "a cut magic after FEND");
	good(&b);
	magic(&b);
	expect_error(&b, "truncated at offset 152", "a magic alone after FEND");
	good(&b);
	b.len -= 20;
	expect_error(&b, "truncated at offset 124", "no FEND");

	start(&b);
	rec(&b, "ABCD", "", 0);
	fend(&b, 0, 0);
	expect_error(&b, "unknown record \"ABCD\" at offset 28", "unknown critical tag");
	start(&b);
	rec(&b, "AB1D", "", 0);
	expect_error(&b, "bad record tag", "a digit in a tag");
	start(&b);
	put(&b, "abcd\x05\0\0\0hello\0\0\0\0", 17);
	expect_error(&b, "CRC mismatch in abcd record at offset 28", "ancillary with a bad CRC");
	start(&b);
	tens(&b, "x", 1, 1, (uint64_t[]){6});
	rec(&b, "abcd", "", 0);
	expect_error(&b, "abcd record before its TEND", "ancillary inside a tensor");
	start(&b);
	tens(&b, "x", 1, 1, (uint64_t[]){6});
	meta(&b, "k", "v");
	expect_error(&b, "tensor \"x\": META record before its TEND", "META inside a tensor");
	start(&b);
	tens(&b, "x", 1, 1, (uint64_t[]){6});
	tens(&b, "y", 1, 1, (uint64_t[]){6});
	expect_error(&b, "TENS record before its TEND", "TENS inside a tensor");
	start(&b);
	data(&b, "abc", 3);
	expect_error(&b, "DATA record outside a tensor at offset 28", "DATA outside");
	start(&b);
	tend(&b, 0);
	expect_error(&b, "TEND record outside a tensor", "TEND outside");

	good(&b);
	b.len -= 20;
	fend(&b, 2, 1);
	expect_error(&b, "counts 2 tensors and 1 metadata records, the file has 1 and 1",
	             "FEND count");
	good(&b);
	b.len -= 20;
	fend(&b, 1, 0);
	expect_error(&b, "FEND record", "FEND meta count");
}

static void test_record_lengths(void)
{
	buf b = {0};
	/* Lengths over the maximum are refused before any body is read. */
	start(&b);
	put(&b, "META", 4);
	put_le(&b, 1 + 255 + (1u << 28) + 1, 4);
	expect_error(&b, "META record too long (268435713 bytes) at offset 28", "META length");
	start(&b);
	put(&b, "TENS", 4);
	put_le(&b, 6 + 255 + 64 + 1, 4);
	expect_error(&b, "TENS record too long (326 bytes)", "TENS length");
	start(&b);
	tens(&b, "x", 1, 1, (uint64_t[]){6});
	put(&b, "DATA", 4);
	put_le(&b, 8 + (1u << 26) + 1, 4);
	expect_error(&b, "DATA record too long (67108873 bytes) at offset 55", "DATA length");
	start(&b);
	put(&b, "zzzz", 4);
	put_le(&b, (1u << 28) + 1, 4);
	expect_error(&b, "zzzz record too long", "ancillary length");
	start(&b);
	put(&b, "HEAD", 4);
	put_le(&b, 9, 4);
	expect_error(&b, "HEAD record too long (9 bytes)", "HEAD length");
	start(&b);
	tens(&b, "x", 1, 1, (uint64_t[]){6});
	put(&b, "TEND", 4);
	put_le(&b, 7, 4);
	expect_error(&b, "TEND record too short (7 bytes)", "TEND length");
	start(&b);
	rec(&b, "FEND", "\0\0\0\0\0\0\0\0\0", 9);
	expect_error(&b, "FEND record too long", "FEND length");
	start(&b);
	rec(&b, "META", "\1", 1);
	expect_error(&b, "META record too short", "META of one byte");
	/* A huge META that is not there: a truncation, not a 256 MiB buffer. */
	start(&b);
	put(&b, "META", 4);
	put_le(&b, 1 + 255 + (1u << 28), 4);
	put(&b, "\3key", 4);
	expect_error(&b, "truncated at offset 40", "META cut short");
}

static void test_bad_fields(void)
{
	buf b = {0};
	start(&b);
	rec(&b, "META", "\0abc", 4);
	expect_error(&b, "bad key length 0 in META record at offset 28", "empty key");
	start(&b);
	rec(&b, "META", "\5abc", 4);
	expect_error(&b, "bad key length 5", "key past the body");
	start(&b);
	rec(&b, "META", "\3a\0c", 4);
	expect_error(&b, "NUL byte in the key", "NUL in key");
	start(&b);
	rec(&b, "META", "\1kv\0v", 5);
	expect_error(&b, "metadata \"k\": NUL byte in the value", "NUL in value");

	start(&b);
	rec(&b, "TENS", "\0\1\1\0\0\0\0", 7);
	expect_error(&b, "bad name length 0 in TENS record", "empty name");
	start(&b);
	rec(&b, "TENS", "\3x\0z\1\0\0\0\0", 9);
	expect_error(&b, "NUL byte in the name", "NUL in name");
	start(&b);
	tens(&b, "x", 14, 1, (uint64_t[]){6});
	expect_error(&b, "tensor \"x\": unknown dtype 14", "dtype 14");
	start(&b);
	tens(&b, "x", 0, 1, (uint64_t[]){6});
	expect_error(&b, "tensor \"x\": unknown dtype 0", "dtype 0");
	start(&b);
	tens(&b, "x", 1, 9, (uint64_t[]){1, 1, 1, 1, 1, 1, 1, 1, 1});
	expect_error(&b, "rank 9 is above 8", "rank 9");
	start(&b);
	tens_full(&b, "x", 1, 1, (uint64_t[]){6}, 2, 0);
	expect_error(&b, "tensor \"x\": unknown filter 2", "filter 2");
	start(&b);
	tens_full(&b, "x", 1, 1, (uint64_t[]){6}, 0, 1);
	expect_error(&b, "non-zero reserved byte in TENS record", "TENS reserved");
	start(&b);
	rec(&b, "TENS", "\1x\1\2\0\0\0\6\0\0\0\0\0\0\0", 15);
	expect_error(&b, "does not match rank 2", "TENS length vs rank");
	start(&b);
	tens(&b, "x", 1, 2, (uint64_t[]){1, (uint64_t)1 << 48});
	expect_error(&b, "tensor \"x\": too large (dimension 1", "dims[1] = 2^48");
	start(&b);
	tens(&b, "x", 1, 2, (uint64_t[]){1, UINT64_MAX});
	expect_error(&b, "tensor \"x\": too large (dimension 1", "dims[1] unknown");
	start(&b);
	tens(&b, "x", 11, 3, (uint64_t[]){(uint64_t)1 << 40, (uint64_t)1 << 20, 4});
	expect_error(&b, "tensor \"x\": too large", "2^66 bytes");
	start(&b);
	tens(&b, "x", 12, 2, (uint64_t[]){UINT64_MAX, (uint64_t)1 << 47});
	tend(&b, (uint64_t)1 << 20);
	expect_error(&b, "tensor \"x\": too large", "TEND rows over 2^62 bytes");
	start(&b);
	tens(&b, "x", 1, 1, (uint64_t[]){(uint64_t)1 << 63});
	expect_error(&b, "too large", "dims[0] of 2^63");

	/* DATA prefix and payload. */
	start(&b);
	tens(&b, "x", 1, 1, (uint64_t[]){6});
	data_full(&b, 2, 6, "abcdef", 6, 0);
	expect_error(&b, "tensor \"x\": unknown codec 2 in DATA record at offset 55", "codec 2");
	start(&b);
	tens(&b, "x", 1, 1, (uint64_t[]){6});
	data_full(&b, 0, 6, "abcdef", 6, 1);
	expect_error(&b, "non-zero reserved byte in DATA record", "DATA reserved");
	start(&b);
	tens(&b, "x", 1, 1, (uint64_t[]){6});
	data_full(&b, 0, 0, "a", 1, 0);
	expect_error(&b, "bad chunk size 0", "raw 0");
	start(&b);
	tens(&b, "x", 3, 1, (uint64_t[]){3});
	data(&b, "abc", 3);
	expect_error(&b, "chunk of 3 bytes splits a 2-byte element", "split element");
	start(&b);
	tens(&b, "x", 1, 1, (uint64_t[]){6});
	data_full(&b, 0, 5, "abcdef", 6, 0);
	expect_error(&b, "tensor \"x\": corrupt chunk at offset 55", "stored size");
	start(&b);
	tens(&b, "x", 1, 1, (uint64_t[]){6});
	data_full(&b, 1, 6, "abcdef", 6, 0);
	expect_error(&b, "corrupt chunk", "not zlib");
	start(&b);
	tens(&b, "x", 1, 1, (uint64_t[]){6});
	zdata(&b, 7, "abcdef", 6);
	expect_error(&b, "corrupt chunk", "inflates to fewer bytes than raw");
	start(&b);
	tens(&b, "x", 1, 1, (uint64_t[]){6});
	zdata(&b, 5, "abcdef", 6);
	expect_error(&b, "corrupt chunk", "inflates to more bytes than raw");
	{
		/* A zlib stream with a byte after its end. */
		uLongf zn = 64;
		unsigned char z[65];
		compress2(z, &zn, (const unsigned char *)"abcdef", 6, 6);
		z[zn] = 0;
		start(&b);
		tens(&b, "x", 1, 1, (uint64_t[]){6});
		data_full(&b, 1, 6, z, zn + 1, 0);
		expect_error(&b, "corrupt chunk", "bytes after the zlib stream");
		/* A cut zlib stream. */
		start(&b);
		tens(&b, "x", 1, 1, (uint64_t[]){6});
		data_full(&b, 1, 6, z, zn - 1, 0);
		expect_error(&b, "corrupt chunk", "cut zlib stream");
		/* A bad Adler-32. */
		z[zn - 1] ^= 1;
		start(&b);
		tens(&b, "x", 1, 1, (uint64_t[]){6});
		data_full(&b, 1, 6, z, zn, 0);
		expect_error(&b, "corrupt chunk", "bad Adler-32");
	}

	/* Sizes. */
	start(&b);
	tens(&b, "x", 1, 2, (uint64_t[]){2, 3});
	data(&b, "abcdef", 6);
	tend(&b, 3);
	expect_error(&b, "tensor \"x\": size mismatch (TEND says 3 rows, the header 2)", "TEND rows");
	start(&b);
	tens(&b, "x", 1, 2, (uint64_t[]){2, 3});
	data(&b, "abcde", 5);
	tend(&b, 2);
	expect_error(&b, "tensor \"x\": size mismatch (2 rows need 6 bytes, the chunks hold 5)",
	             "a byte short");
	start(&b);
	tens(&b, "x", 1, 2, (uint64_t[]){2, 3});
	data(&b, "abcdef", 6);
	data(&b, "g", 1);
	tend(&b, 2);
	expect_error(&b, "tensor \"x\": size mismatch (the chunks hold more than 6 bytes)",
	             "a byte over");
	start(&b);
	tens(&b, "x", 1, 2, (uint64_t[]){UINT64_MAX, 3});
	data(&b, "abcdefg", 7);
	tend(&b, 2);
	expect_error(&b, "size mismatch", "unknown rows, a partial row");
	start(&b);
	tens(&b, "x", 1, 0, NULL);
	data(&b, "a", 1);
	tend(&b, 0);
	expect_error(&b, "size mismatch", "rank 0 with TEND 0");
}

/* A decompression bomb: 32 MiB of zeros in a chunk that says 1000 bytes,
 * and one that claims the full 64 MiB chunk but whose stream is longer. */
static void test_bomb(void)
{
	size_t n = 32u << 20;
	unsigned char *zeros = calloc(n, 1);
	buf b = {0};
	start(&b);
	tens(&b, "x", 1, 1, (uint64_t[]){1000});
	zdata(&b, 1000, zeros, n);
	tend(&b, 1000);
	fend(&b, 1, 0);
	expect_error(&b, "tensor \"x\": corrupt chunk at offset 55", "bomb of 32 MiB in 1000");
	free(zeros);
	n = (64u << 20) + 4096;
	zeros = calloc(n, 1);
	start(&b);
	tens(&b, "x", 1, 1, (uint64_t[]){UINT64_MAX});
	zdata(&b, 64u << 20, zeros, n);
	expect_error(&b, "corrupt chunk", "stream longer than a 64 MiB chunk");
	free(zeros);
}

/* Runs fn in a child with its address space limited to what it has now plus
 * extra bytes. Returns the child's exit status (0: fn returned 0). */
static int with_memory_limit(int (*fn)(void), size_t extra)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
#ifndef UNDER_ASAN
		/* (ASan reserves terabytes of address space: no limit under it; its
		 * allocator aborts on an absurd size by itself.) */
		long pages = 0;
		FILE *f = fopen("/proc/self/statm", "r");
		if (f && fscanf(f, "%ld", &pages) == 1) {
			struct rlimit rl;
			rl.rlim_cur = rl.rlim_max = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + extra;
			setrlimit(RLIMIT_AS, &rl);
		}
		if (f)
			fclose(f);
#endif
		_exit(fn());
	}
	int status = 0;
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
}

static int load_claims_2_60(void)
{
	/* 2^60 u8 elements claimed; one chunk of 100 bytes arrives, then TEND.
	 * One thread: no OpenMP pool and no extra malloc arenas in the child. */
	unsigned char chunk[100] = {0};
	buf b = {0};
	start(&b);
	tens(&b, "x", 1, 1, (uint64_t[]){(uint64_t)1 << 60});
	data(&b, chunk, sizeof chunk);
	tend(&b, (uint64_t)1 << 60);
	fend(&b, 1, 0);
	ck_tnz z;
	ck_err e = {{0}};
	int rc = load_bytes(b.p, b.len, &z, 1, &e);
	free(b.p);
	if (rc == 0 || !strstr(e.msg, "size mismatch"))
		return 1;
	/* The same header with the stream ending after it. */
	b = (buf){0};
	start(&b);
	tens(&b, "x", 1, 1, (uint64_t[]){(uint64_t)1 << 60});
	rc = load_bytes(b.p, b.len, &z, 1, &e);
	free(b.p);
	return rc == 0 || !strstr(e.msg, "truncated") ? 2 : 0;
}

static int load_claims_big_meta(void)
{
	/* A META record that says 256 MiB, of which 1 MiB arrives. */
	size_t have = 1u << 20;
	buf b = {0};
	start(&b);
	put(&b, "META", 4);
	put_le(&b, 1 + 255 + (1u << 28), 4);
	unsigned char *v = malloc(have);
	memset(v, 'a', have);
	v[0] = 3;
	put(&b, v, have);
	free(v);
	ck_tnz z;
	ck_err e = {{0}};
	int rc = load_bytes(b.p, b.len, &z, 1, &e);
	free(b.p);
	return rc == 0 || !strstr(e.msg, "truncated") ? 1 : 0;
}

static void test_no_huge_allocation(void)
{
	/* The children may use 64 MiB more than they have at the start. */
	int rc = with_memory_limit(load_claims_2_60, 64u << 20);
	CHECK(rc == 0, "2^60 elements claimed: child status %d", rc);
	rc = with_memory_limit(load_claims_big_meta, 64u << 20);
	CHECK(rc == 0, "256 MiB META claimed: child status %d", rc);
}

/* ---- every byte flipped, every length cut ----------------------------------- */

/* A small file of several records: metadata, a shuffled compressed f32
 * tensor of two chunks, a stored i16 tensor, an empty tensor. */
static void small_file(buf *out, int level)
{
	ck_tnz z = {0};
	ck_err e;
	ck_meta_set(&z.meta, "classes", "a\nb", (size_t)-1, &e);
	ck_tensor *w = ck_tnz_add(&z, "w", CK_DTYPE_F32, 2, (int64_t[]){4, 6}, NULL, &e);
	for (int i = 0; i < 24; i++)
		((float *)w->data)[i] = (float)(i % 5) * 0.25f;
	ck_tensor *y = ck_tnz_add(&z, "y", CK_DTYPE_I16, 1, (int64_t[]){5}, NULL, &e);
	for (int i = 0; i < 5; i++)
		((int16_t *)y->data)[i] = (int16_t)(i * 1000 - 2000);
	ck_tnz_add(&z, "e", CK_DTYPE_U8, 2, (int64_t[]){0, 4}, NULL, &e);
	ck_tnz_save(&z, path, &(ck_tnz_opts){level, -1, 1, 64}, &e);
	ck_tnz_free(&z);
	FILE *f = fopen(path, "rb");
	struct stat st;
	stat(path, &st);
	*out = (buf){0};
	out->len = out->cap = (size_t)st.st_size;
	out->p = malloc(out->len);
	if (fread(out->p, 1, out->len, f) != out->len)
		out->len = 0;
	fclose(f);
}

static void flip_and_cut(int level)
{
	buf b;
	small_file(&b, level);
	CHECK(b.len > 100, "file of %zu bytes", b.len);
	ck_tnz z;
	ck_err e;
	CHECK(load_bytes(b.p, b.len, &z, 2, &e) == 0, "the file loads: %s", e.msg);
	ck_tnz_free(&z);
	int flips_ok = 0, cuts_ok = 0;
	unsigned char masks[3] = {0x01, 0x80, 0xff};
	for (size_t i = 0; i < b.len; i++)
		for (int m = 0; m < 3; m++) {
			b.p[i] ^= masks[m];
			int rc = load_bytes(b.p, b.len, &z, 2, &e);
			b.p[i] ^= masks[m];
			if (rc == 0) {
				ck_tnz_free(&z);
				CHECK(0, "level %d: flip 0x%02x at %zu was accepted", level, masks[m], i);
			} else {
				flips_ok++;
			}
		}
	for (size_t n = 0; n < b.len; n++) {
		int rc = load_bytes(b.p, n, &z, 2, &e);
		if (rc == 0)
			ck_tnz_free(&z);
		const char *want = n == 0 ? "empty file" : "truncated at offset";
		if (rc == 0 || !strstr(e.msg, want))
			CHECK(0, "level %d: cut at %zu: %s", level, n, rc ? e.msg : "accepted");
		else
			cuts_ok++;
	}
	CHECK(flips_ok == 3 * (int)b.len && cuts_ok == (int)b.len, "level %d: %d flips, %d cuts",
	      level, flips_ok, cuts_ok);
	free(b.p);
}

static void test_flip_every_byte_compressed(void)
{
	flip_and_cut(9);
}

static void test_flip_every_byte_stored(void)
{
	flip_and_cut(0);
}

int main(void)
{
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(path, sizeof path, "%s/test_tnz_bad.%ld.tnz", base, (long)getpid());
	RUN(test_good_reference);
	RUN(test_stream_structure);
	RUN(test_record_lengths);
	RUN(test_bad_fields);
	RUN(test_bomb);
	RUN(test_no_huge_allocation);
	RUN(test_flip_every_byte_compressed);
	RUN(test_flip_every_byte_stored);
	unlink(path);
	return check_summary();
}
