/* test_tnz.c: TNZ writer and reader on good input: round trips of every
 * dtype, rank, level, filter and chunk size; streaming with unknown rows;
 * determinism across thread counts; concatenated files; pipes; the atomic
 * temporary file. Bad input is in test_tnz_bad.c. */
#define _GNU_SOURCE
#include "cnnkit.h"
#include "check.h"
#include "tnz_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[64];

static char *path_in(const char *name)
{
	static char buf[4][256];
	static int next;
	char *p = buf[next++ % 4];
	snprintf(p, 256, "%s/%s", tmpdir, name);
	return p;
}

static unsigned char *read_all(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 1 << 16, len = 0;
	unsigned char *buf = malloc(cap);
	size_t k;
	while ((k = fread(buf + len, 1, cap - len, f)) > 0) {
		len += k;
		if (len == cap)
			buf = realloc(buf, cap *= 2);
	}
	fclose(f);
	*n = len;
	return buf;
}

static void write_all_file(const char *path, const void *buf, size_t n)
{
	FILE *f = fopen(path, "wb");
	fwrite(buf, 1, n, f);
	fclose(f);
}

/* Entries of tmpdir (excluding . and ..). */
static int dir_entries(void)
{
	DIR *d = opendir(tmpdir);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	closedir(d);
	return n;
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Bytes that compress somewhat: small values with random low bits. */
static void fill_bytes(unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(rnd() % 7 == 0 ? rnd() : i % 5);
}

static int tensors_equal(const ck_tensor *a, const ck_tensor *b)
{
	if (strcmp(a->name, b->name) || a->dtype != b->dtype || a->rank != b->rank ||
	    a->nbytes != b->nbytes)
		return 0;
	for (int i = 0; i < a->rank; i++)
		if (a->dims[i] != b->dims[i])
			return 0;
	return a->nbytes == 0 || memcmp(a->data, b->data, a->nbytes) == 0;
}

static int tnz_equal(const ck_tnz *a, const ck_tnz *b)
{
	if (a->count != b->count || a->meta.count != b->meta.count)
		return 0;
	for (size_t i = 0; i < a->count; i++) {
		ck_tensor *y = ck_tnz_find(b, a->tensors[i].name);
		if (!y || !tensors_equal(&a->tensors[i], y))
			return 0;
	}
	for (size_t i = 0; i < a->meta.count; i++) {
		size_t len;
		const char *v = ck_meta_get(&b->meta, a->meta.items[i].key, &len);
		if (!v || len != a->meta.items[i].len || memcmp(v, a->meta.items[i].value, len))
			return 0;
	}
	return 1;
}

/* Saves z, loads it back and compares. Returns the file size, 0 on failure. */
static size_t round_trip(const ck_tnz *z, const ck_tnz_opts *o, int threads, const char *what)
{
	ck_err e = {{0}};
	const char *p = path_in("rt.tnz");
	if (ck_tnz_save(z, p, o, &e)) {
		CHECK(0, "%s: save: %s", what, e.msg);
		return 0;
	}
	ck_tnz back;
	if (ck_tnz_load(&back, p, threads, &e)) {
		CHECK(0, "%s: load: %s", what, e.msg);
		return 0;
	}
	int same = tnz_equal(z, &back);
	CHECK(same, "%s: loaded differs", what);
	ck_tnz_free(&back);
	struct stat st;
	stat(p, &st);
	return same ? (size_t)st.st_size : 0;
}

static void test_spec_example(void)
{
	/* Section 9 of formats/tnz.md, byte for byte (CRCs computed). */
	ck_tnz z = {0};
	ck_err e;
	ck_meta_set(&z.meta, "classes", "cat\ndog", (size_t)-1, &e);
	ck_tnz_add(&z, "x", CK_DTYPE_U8, 2, (int64_t[]){2, 3}, (unsigned char[]){1, 2, 3, 4, 5, 6}, &e);
	ck_tnz_opts o = CK_TNZ_OPTS_DEFAULT;
	o.level = 0;
	CHECK(ck_tnz_save(&z, path_in("ex.tnz"), &o, &e) == 0, "%s", e.msg);
	size_t n;
	unsigned char *b = read_all(path_in("ex.tnz"), &n);
	static const unsigned char want[] = {
		0x89, 'T', 'N', 'Z', 0x0d, 0x0a, 0x1a, 0x0a,
		'H', 'E', 'A', 'D', 8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		'M', 'E', 'T', 'A', 15, 0, 0, 0, 7, 'c', 'l', 'a', 's', 's', 'e', 's',
		'c', 'a', 't', '\n', 'd', 'o', 'g', 0, 0, 0, 0,
		'T', 'E', 'N', 'S', 23, 0, 0, 0, 1, 'x', 1, 2, 0, 0, 0,
		2, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		'D', 'A', 'T', 'A', 14, 0, 0, 0, 0, 0, 0, 0, 6, 0, 0, 0, 1, 2, 3, 4, 5, 6, 0, 0, 0, 0,
		'T', 'E', 'N', 'D', 8, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		'F', 'E', 'N', 'D', 8, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0,
	};
	CHECK(n == sizeof want, "size %zu, want %zu", n, sizeof want);
	if (n == sizeof want) {
		/* Compare everything but the CRCs, then check each CRC. */
		size_t pos = 8;
		int ok = memcmp(b, want, 8) == 0;
		while (pos < n) {
			uint32_t len = b[pos + 4] | b[pos + 5] << 8;
			ok &= memcmp(b + pos, want + pos, 8 + len) == 0;
			uint32_t crc = ck_crc32(0, b + pos, 8 + len);
			const unsigned char *c = b + pos + 8 + len;
			ok &= crc == ((uint32_t)c[0] | (uint32_t)c[1] << 8 | (uint32_t)c[2] << 16 |
			              (uint32_t)c[3] << 24);
			pos += 12 + len;
		}
		CHECK(ok, "bytes of the spec's example");
	}
	free(b);
	ck_tnz_free(&z);
}

static void test_round_trip_dtypes_ranks(void)
{
	ck_err e;
	for (int dt = 1; dt <= CK_DTYPE_MAX; dt++)
		for (int rank = 0; rank <= 8; rank++) {
			ck_tnz z = {0};
			int64_t dims[8];
			for (int i = 0; i < rank; i++)
				dims[i] = rank > 5 ? 2 : 1 + (int64_t)(rnd() % 4);
			ck_tensor *t = ck_tnz_add(&z, "t", (ck_dtype)dt, rank, dims, NULL, &e);
			fill_bytes(t->data, t->nbytes);
			char what[64];
			snprintf(what, sizeof what, "%s rank %d", ck_dtype_name(dt), rank);
			for (int level = 0; level <= 9; level += (level == 1 ? 8 : 1)) {
				ck_tnz_opts o = {level, (int)(rnd() % 3) - 1, 2, 24};
				round_trip(&z, &o, 2, what);
			}
			ck_tnz_free(&z);
		}
}

static void test_round_trip_options(void)
{
	ck_err e;
	ck_tnz z = {0};
	ck_meta_set(&z.meta, "arch", "conv 8 3 relu; dense 10", (size_t)-1, &e);
	ck_meta_set(&z.meta, "empty", "", 0, &e);
	ck_tensor *w = ck_tnz_add(&z, "0.conv.weight", CK_DTYPE_F32, 4, (int64_t[]){8, 3, 3, 3},
	                          NULL, &e);
	float *f = w->data;
	for (int i = 0; i < 216; i++)
		f[i] = (float)((int)(rnd() % 2001) - 1000) / 3000.0f;
	ck_tensor *x = ck_tnz_add(&z, "x", CK_DTYPE_U8, 3, (int64_t[]){50, 17, 13}, NULL, &e);
	fill_bytes(x->data, x->nbytes);
	ck_tensor *y = ck_tnz_add(&z, "y", CK_DTYPE_I64, 1, (int64_t[]){50}, NULL, &e);
	fill_bytes(y->data, y->nbytes);
	ck_tnz_add(&z, "empty", CK_DTYPE_F32, 2, (int64_t[]){0, 3}, NULL, &e);
	ck_tnz_add(&z, "empty_row", CK_DTYPE_I32, 3, (int64_t[]){4, 0, 2}, NULL, &e);
	ck_tnz_add(&z, "scalar", CK_DTYPE_F64, 0, NULL, NULL, &e);
	/* Chunk sizes: 1 byte (rounded up to an element), an odd size (rounded
	 * down to whole elements; splits rows), a row and a half, the default. */
	size_t chunks[] = {1, 7, 13, 17 * 13 + 5, 1000, 0};
	for (size_t c = 0; c < sizeof chunks / sizeof *chunks; c++)
		for (int level = 0; level <= 9; level += 9)
			for (int shuffle = -1; shuffle <= 1; shuffle++)
				for (int threads = 1; threads <= 3; threads += 2) {
					ck_tnz_opts o = {level, shuffle, threads, chunks[c]};
					char what[96];
					snprintf(what, sizeof what, "chunk %zu level %d shuffle %d threads %d",
					         chunks[c], level, shuffle, threads);
					round_trip(&z, &o, 4 - threads, what);
				}
	/* Shuffle makes float weights smaller. */
	ck_tnz wz = {0};
	ck_tensor *big = ck_tnz_add(&wz, "w", CK_DTYPE_F32, 1, (int64_t[]){20000}, NULL, &e);
	float *bf = big->data;
	for (int i = 0; i < 20000; i++) /* uniform in (-0.1, 0.1), every mantissa bit used */
		bf[i] = (float)(((double)(rnd() >> 11) / 9007199254740992.0 - 0.5) * 0.2);
	size_t plain = round_trip(&wz, &(ck_tnz_opts){6, 0, 1, 0}, 1, "w plain");
	size_t shuffled = round_trip(&wz, &(ck_tnz_opts){6, 1, 1, 0}, 1, "w shuffled");
	size_t stored = round_trip(&wz, &(ck_tnz_opts){0, 1, 1, 0}, 1, "w stored");
	CHECK(shuffled < plain && plain < stored, "sizes: shuffled %zu plain %zu stored %zu",
	      shuffled, plain, stored);
	/* magic, HEAD, TENS "w" rank 1, one DATA chunk, TEND, FEND */
	size_t framing = 8 + (12 + 8) + (12 + 6 + 1 + 8) + (12 + 8) + (12 + 8) + (12 + 8);
	CHECK(stored == 80000 + framing, "stored = data + framing: %zu", stored);
	ck_tnz_free(&wz);
	ck_tnz_free(&z);
}

/* The shuffle filter against its definition (byte j of element i at j*e + i),
 * for every element size and counts around the 16-element SIMD steps. */
static void test_shuffle_definition(void)
{
	unsigned char src[8 * 1100], sh[8 * 1100], back[8 * 1100];
	for (size_t i = 0; i < sizeof src; i++)
		src[i] = (unsigned char)rnd();
	size_t sizes[] = {1, 2, 4, 8}, counts[] = {0, 1, 15, 16, 17, 31, 32, 33, 1000, 1033};
	for (size_t a = 0; a < 4; a++)
		for (size_t b = 0; b < sizeof counts / sizeof *counts; b++) {
			size_t es = sizes[a], e = counts[b], n = es * e;
			tnz_shuffle(sh, src, n, es);
			int bad = 0;
			for (size_t i = 0; i < e; i++)
				for (size_t j = 0; j < es; j++)
					bad += sh[j * e + i] != src[i * es + j];
			tnz_unshuffle(back, sh, n, es);
			CHECK(bad == 0 && memcmp(back, src, n) == 0, "%zu elements of %zu bytes", e, es);
		}
}

/* Level 1 is cnnkit's own run-length deflate encoder; zlib's inflate in the
 * reader checks every stream it makes (codes complete, lengths, Adler-32).
 * Data that exercise it: random bytes (stored blocks), zeros, runs of every
 * length around 3 and 258 and across the 65535-byte blocks, a frequency
 * spread that needs codes cut to 15 bits, and tiny chunks. */
static void test_level1_encoder(void)
{
	ck_err e = {{0}};
	enum { N = 300000 };
	unsigned char *d = malloc(N);
	for (int pattern = 0; pattern < 6; pattern++) {
		for (size_t i = 0; i < N;) {
			if (pattern == 0) { /* random */
				d[i++] = (unsigned char)rnd();
			} else if (pattern == 1) { /* zeros */
				d[i++] = 0;
			} else if (pattern == 2) { /* runs of 1..300 of a few values */
				size_t run = rnd() % 300 + 1;
				unsigned char v = (unsigned char)(rnd() % 4);
				for (size_t j = 0; j < run && i < N; j++)
					d[i++] = v;
			} else if (pattern == 3) { /* byte b about 2^-b of the time */
				int b = 0;
				while (b < 40 && rnd() % 2)
					b++;
				d[i++] = (unsigned char)(b * 5);
			} else if (pattern == 4) { /* mostly zeros, rare values */
				d[i++] = rnd() % 50 ? 0 : (unsigned char)rnd();
			} else { /* runs just under and over the lengths that change code */
				static const size_t lens[] = {1, 2, 3, 4, 10, 11, 257, 258, 259, 260, 516, 517};
				size_t run = lens[rnd() % 12];
				unsigned char v = (unsigned char)rnd();
				for (size_t j = 0; j < run && i < N; j++)
					d[i++] = v;
			}
		}
		size_t chunks[] = {1, 5, 37, 65534, 65535, 65536, 131071, 200000, 0};
		for (size_t c = 0; c < sizeof chunks / sizeof *chunks; c++) {
			ck_tnz z = {0};
			int64_t n = chunks[c] && chunks[c] < 100 ? 2000 : N; /* tiny chunks: less data */
			ck_tensor *t = ck_tnz_add(&z, "d", CK_DTYPE_U8, 1, &n, NULL, &e);
			memcpy(t->data, d, (size_t)n);
			char what[64];
			snprintf(what, sizeof what, "level 1: pattern %d, chunk %zu", pattern, chunks[c]);
			size_t bytes = round_trip(&z, &(ck_tnz_opts){1, 0, 1 + (int)(c % 3), chunks[c]},
			                          1 + (int)(c % 2), what);
			if (pattern == 1 && chunks[c] == 0)
				CHECK(bytes > 0 && bytes < 3000, "zeros: %zu bytes", bytes);
			if (pattern == 0 && chunks[c] == 0)
				CHECK(bytes > N && bytes < N + 200, "random is stored: %zu bytes", bytes);
			ck_tnz_free(&z);
		}
	}
	free(d);
}

/* Stored chunks from a regular file are read by the threads with pread, in
 * parallel (the reader skips them): every dtype, sizes around the chunk
 * size, a tensor appended to itself, 1 to 3 threads, a stream that starts
 * inside a file; and cut or damaged payloads are errors, not wrong data. */
static void test_parallel_stored(void)
{
	ck_err e = {{0}};
	const size_t chunk = 200003; /* 3 payload pieces past ibuf, odd: splits rows */
	size_t sizes[] = {0, 1, 7919, chunk - 1, chunk, chunk + 1, 5 * chunk + 7};
	ck_dtype dtypes[] = {CK_DTYPE_U8, CK_DTYPE_I16, CK_DTYPE_F32, CK_DTYPE_F64};
	for (size_t d = 0; d < sizeof dtypes / sizeof *dtypes; d++)
		for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
			ck_tnz z = {0};
			size_t es = ck_dtype_size(dtypes[d]);
			int64_t n = (int64_t)(sizes[k] / es);
			ck_tensor *a = ck_tnz_add(&z, "a", dtypes[d], 1, &n, NULL, &e);
			ck_tensor *b = ck_tnz_add(&z, "b", CK_DTYPE_U8, 2, (int64_t[]){3, 100001}, NULL, &e);
			fill_bytes(a->data, a->nbytes);
			fill_bytes(b->data, b->nbytes);
			for (int threads = 1; threads <= 3; threads++) {
				char what[96];
				snprintf(what, sizeof what, "stored %s x %zu bytes, threads %d",
				         ck_dtype_name(dtypes[d]), sizes[k], threads);
				round_trip(&z, &(ck_tnz_opts){0, 0, 1, chunk}, threads, what);
			}
			ck_tnz_free(&z);
		}

	/* Two files back to back: a appended to a; then a cut or a flipped
	 * byte in every payload piece that a thread reads. */
	ck_tnz z = {0};
	ck_tensor *a = ck_tnz_add(&z, "a", CK_DTYPE_F32, 1, (int64_t[]){400000}, NULL, &e);
	fill_bytes(a->data, a->nbytes);
	const char *p = path_in("par.tnz");
	ck_tnz_save(&z, p, &(ck_tnz_opts){0, 0, 1, chunk}, &e);
	size_t n1;
	unsigned char *one = read_all(p, &n1);
	unsigned char *two = malloc(2 * n1 + 5);
	memcpy(two, "junk!", 5); /* the stream starts after these */
	memcpy(two + 5, one, n1);
	memcpy(two + 5 + n1, one, n1);
	write_all_file(p, two, 2 * n1 + 5);
	int fd = open(p, O_RDONLY);
	lseek(fd, 5, SEEK_SET);
	ck_tnz_reader *r = ck_tnz_reader_fdopen(fd, 3, &e);
	ck_tnz_header h;
	unsigned char *got = malloc(2 * a->nbytes + 1);
	size_t pos = 0;
	int64_t k;
	int ok = r && ck_tnz_reader_next(r, &h, &e) == 1;
	while (ok && (k = ck_tnz_reader_read(r, got + pos, 2 * a->nbytes + 1 - pos, &e)) > 0)
		pos += (size_t)k;
	ok = ok && ck_tnz_reader_next(r, &h, &e) == 1;
	while (ok && (k = ck_tnz_reader_read(r, got + pos, 2 * a->nbytes + 1 - pos, &e)) > 0)
		pos += (size_t)k;
	CHECK(ok && pos == 2 * a->nbytes && memcmp(got, a->data, a->nbytes) == 0 &&
	          memcmp(got + a->nbytes, a->data, a->nbytes) == 0,
	      "a stream from offset 5 of a file, read by 3 threads: %s", e.msg);
	ck_tnz_reader_close(r);
	close(fd);
	for (size_t cut = 100; cut < n1; cut += 77777) {
		write_all_file(p, one, cut);
		ck_tnz back;
		CHECK(ck_tnz_load(&back, p, 3, &e) < 0 && strstr(e.msg, "truncated"),
		      "cut at %zu: %s", cut, e.msg);
		memcpy(two, one, n1);
		two[cut] ^= 0x20;
		write_all_file(p, two, n1);
		CHECK(ck_tnz_load(&back, p, 3, &e) < 0, "byte %zu flipped: loaded", cut);
	}
	unlink(p);
	free(one);
	free(two);
	free(got);
	ck_tnz_free(&z);
}

static void test_big_meta(void)
{
	ck_err e;
	ck_tnz z = {0};
	size_t n = 5u << 20;
	char *v = malloc(n);
	for (size_t i = 0; i < n; i++)
		v[i] = (char)('a' + (char)(rnd() % 26));
	for (size_t i = 0; i < n; i += 7)
		v[i] = '\n';
	CHECK(ck_meta_set(&z.meta, "vocab", v, n, &e) == 0, "%s", e.msg);
	ck_tnz_add(&z, "x", CK_DTYPE_U8, 1, (int64_t[]){3}, "abc", &e);
	round_trip(&z, NULL, 0, "5 MB of metadata");
	free(v);
	ck_tnz_free(&z);
}

/* The same tensor with 1, 2 and 5 threads: identical bytes. */
static void test_deterministic(void)
{
	ck_err e;
	ck_tnz z = {0};
	ck_tensor *t = ck_tnz_add(&z, "w", CK_DTYPE_F32, 2, (int64_t[]){300, 1000}, NULL, &e);
	float *f = t->data;
	for (int i = 0; i < 300000; i++)
		f[i] = (float)((int)(rnd() % 2001) - 1000) / 700.0f;
	unsigned char *first = NULL;
	size_t first_n = 0;
	for (int threads = 1; threads <= 5; threads += threads == 1 ? 1 : 3) {
		ck_tnz_opts o = {1, -1, threads, 50000};
		CHECK(ck_tnz_save(&z, path_in("det.tnz"), &o, &e) == 0, "%s", e.msg);
		size_t n;
		unsigned char *b = read_all(path_in("det.tnz"), &n);
		if (!first) {
			first = b;
			first_n = n;
			continue;
		}
		CHECK(n == first_n && memcmp(b, first, n) == 0, "threads %d: bytes differ", threads);
		free(b);
	}
	free(first);

	/* Stored: whole chunks are written from the caller's memory, pieces go
	 * through the chunk buffer; the bytes are the same. */
	unsigned char *whole = NULL;
	size_t whole_n = 0;
	for (int pass = 0; pass < 2; pass++) {
		ck_tnz_writer *w = ck_tnz_writer_open(path_in("det.tnz"), &(ck_tnz_opts){0, 0, 2, 40000}, &e);
		ck_tnz_writer_begin(w, "w", CK_DTYPE_F32, 2, t->dims, -1, -1, &e);
		size_t pos = 0, piece = pass ? 777 : t->nbytes;
		while (pos < t->nbytes) {
			size_t k = piece < t->nbytes - pos ? piece : t->nbytes - pos;
			CHECK(ck_tnz_writer_data(w, (unsigned char *)t->data + pos, k, &e) == 0, "%s", e.msg);
			pos += k;
			piece = pass ? piece * 7 % 100003 + 1 : piece;
		}
		CHECK(ck_tnz_writer_end(w, &e) == 0 && ck_tnz_writer_close(w, &e) == 0, "%s", e.msg);
		size_t n;
		unsigned char *b = read_all(path_in("det.tnz"), &n);
		if (pass == 0) {
			whole = b;
			whole_n = n;
		} else {
			CHECK(n == whole_n && memcmp(b, whole, n) == 0, "stored: bytes differ");
			free(b);
		}
	}
	free(whole);
	ck_tnz_free(&z);
}

/* A tensor of unknown rows written in odd pieces, read in odd pieces. */
static void test_stream_unknown_rows(void)
{
	ck_err e = {{0}};
	const size_t row = 3 * 5 * 2, rows = 1001, total = row * rows;
	unsigned char *src = malloc(total);
	fill_bytes(src, total);
	ck_tnz_opts o = {1, 1, 3, 999};
	ck_tnz_writer *w = ck_tnz_writer_open(path_in("s.tnz"), &o, &e);
	CHECK(w != NULL, "%s", e.msg);
	CHECK(ck_tnz_writer_meta(w, "k", "v", 1, &e) == 0, "%s", e.msg);
	int64_t dims[3] = {CK_TNZ_ROWS_UNKNOWN, 3, 5};
	CHECK(ck_tnz_writer_begin(w, "s", CK_DTYPE_I16, 3, dims, -1, -1, &e) == 0, "%s", e.msg);
	CHECK(ck_tnz_writer_meta(w, "k", "v", 1, &e) == -1, "no metadata inside a tensor");
	size_t pos = 0, piece = 1;
	while (pos < total) {
		size_t n = piece < total - pos ? piece : total - pos;
		CHECK(ck_tnz_writer_data(w, src + pos, n, &e) == 0, "%s", e.msg);
		pos += n;
		piece = piece * 3 % 1777 + 1;
	}
	CHECK(ck_tnz_writer_end(w, &e) == 0, "%s", e.msg);
	CHECK(ck_tnz_writer_close(w, &e) == 0, "%s", e.msg);

	ck_tnz_reader *r = ck_tnz_reader_open(path_in("s.tnz"), 2, &e);
	CHECK(r != NULL, "%s", e.msg);
	ck_tnz_header h;
	CHECK(ck_tnz_reader_next(r, &h, &e) == 1, "%s", e.msg);
	CHECK(h.dims[0] == CK_TNZ_ROWS_UNKNOWN && h.dims[1] == 3 && h.rank == 3 && h.filter == 1,
	      "header");
	CHECK(ck_tnz_reader_rows(r) == -1, "rows unknown before the end");
	unsigned char *got = malloc(total);
	pos = 0;
	piece = 5;
	int64_t k;
	while ((k = ck_tnz_reader_read(r, got + pos, piece, &e)) > 0) {
		pos += (size_t)k;
		piece = piece * 7 % 3001 + 1;
		if (piece > total - pos)
			piece = total - pos ? total - pos : 1;
	}
	CHECK(k == 0 && pos == total && memcmp(got, src, total) == 0, "data: %s", e.msg);
	CHECK(ck_tnz_reader_rows(r) == (int64_t)rows, "rows %lld",
	      (long long)ck_tnz_reader_rows(r));
	int64_t stored, raw;
	ck_tnz_reader_sizes(r, &stored, &raw);
	CHECK(raw == (int64_t)total && stored > 0, "sizes");
	CHECK(ck_tnz_reader_next(r, &h, &e) == 0, "end: %s", e.msg);
	CHECK(ck_tnz_reader_files(r) == 1, "one file");
	CHECK(strcmp(ck_meta_get(ck_tnz_reader_meta(r), "k", NULL), "v") == 0, "meta");
	ck_tnz_reader_close(r);

	/* Skipped rather than read: rows and sizes known, nothing inflated. */
	r = ck_tnz_reader_open(path_in("s.tnz"), 2, &e);
	CHECK(r && ck_tnz_reader_next(r, &h, &e) == 1, "%s", e.msg);
	CHECK(r && ck_tnz_reader_skip(r, &e) == 0, "skip: %s", e.msg);
	ck_tnz_reader_sizes(r, &stored, &raw);
	CHECK(ck_tnz_reader_rows(r) == (int64_t)rows && raw == (int64_t)total, "skipped sizes");
	CHECK(ck_tnz_reader_read(r, got, 10, &e) == 0, "nothing left to read");
	CHECK(ck_tnz_reader_next(r, &h, &e) == 0, "end: %s", e.msg);
	ck_tnz_reader_close(r);
	free(got);
	free(src);
}

static void test_writer_checks(void)
{
	ck_err e = {{0}};
	ck_tnz_writer *w = ck_tnz_writer_open(path_in("c.tnz"), NULL, &e);
	int64_t d2[2] = {2, 3};
	CHECK(ck_tnz_writer_begin(w, "", CK_DTYPE_U8, 2, d2, -1, -1, &e) == -1, "empty name");
	CHECK(ck_tnz_writer_begin(w, "x", (ck_dtype)0, 2, d2, -1, -1, &e) == -1, "dtype");
	CHECK(ck_tnz_writer_begin(w, "x", CK_DTYPE_U8, 9, d2, -1, -1, &e) == -1, "rank");
	CHECK(ck_tnz_writer_begin(w, "x", CK_DTYPE_U8, 2, (int64_t[]){-5, 3}, -1, -1, &e) == -1,
	      "negative rows");
	CHECK(ck_tnz_writer_begin(w, "x", CK_DTYPE_U8, 2, (int64_t[]){CK_TNZ_ROWS_UNKNOWN, 0}, -1,
	                          -1, &e) == -1 &&
	          strstr(e.msg, "empty"),
	      "unknown rows of empty rows: %s", e.msg);
	CHECK(ck_tnz_writer_begin(w, "x", CK_DTYPE_U8, 2, d2, 10, -1, &e) == -1, "level 10");
	CHECK(ck_tnz_writer_data(w, "ab", 2, &e) == -1, "data outside a tensor");
	CHECK(ck_tnz_writer_end(w, &e) == -1, "end outside a tensor");
	CHECK(ck_tnz_writer_meta(w, "k", "a\0b", 3, &e) == -1, "NUL in meta");
	/* Argument errors leave the writer usable. */
	CHECK(ck_tnz_writer_begin(w, "x", CK_DTYPE_U8, 2, d2, -1, -1, &e) == 0, "%s", e.msg);
	CHECK(ck_tnz_writer_data(w, "abcdef", 6, &e) == 0, "%s", e.msg);
	CHECK(ck_tnz_writer_end(w, &e) == 0, "%s", e.msg);
	CHECK(ck_tnz_writer_close(w, &e) == 0, "%s", e.msg);

	/* Too much data, too little, a partial row: final errors. */
	w = ck_tnz_writer_open(path_in("c.tnz"), NULL, &e);
	ck_tnz_writer_begin(w, "x", CK_DTYPE_U8, 2, d2, -1, -1, &e);
	CHECK(ck_tnz_writer_data(w, "abcdefg", 7, &e) == -1 && strstr(e.msg, "more data"), "%s",
	      e.msg);
	CHECK(ck_tnz_writer_end(w, &e) == -1 && strstr(e.msg, "more data"), "error repeated");
	CHECK(ck_tnz_writer_close(w, &e) == -1, "close fails");
	w = ck_tnz_writer_open(path_in("c.tnz"), NULL, &e);
	ck_tnz_writer_begin(w, "x", CK_DTYPE_U8, 2, d2, -1, -1, &e);
	ck_tnz_writer_data(w, "abcde", 5, &e);
	CHECK(ck_tnz_writer_end(w, &e) == -1 && strstr(e.msg, "size mismatch"), "%s", e.msg);
	ck_tnz_writer_abort(w);
	w = ck_tnz_writer_open(path_in("c.tnz"), NULL, &e);
	ck_tnz_writer_begin(w, "x", CK_DTYPE_U8, 2, (int64_t[]){CK_TNZ_ROWS_UNKNOWN, 3}, -1, -1, &e);
	ck_tnz_writer_data(w, "abcde", 5, &e);
	CHECK(ck_tnz_writer_end(w, &e) == -1 && strstr(e.msg, "whole number of"), "%s", e.msg);
	ck_tnz_writer_abort(w);
	/* A tensor whose nbytes disagrees with its shape. */
	ck_tensor bad = {.name = "b", .dtype = CK_DTYPE_U8, .rank = 1, .dims = {4}, .data = "abc",
	                 .nbytes = 3};
	w = ck_tnz_writer_open(path_in("c.tnz"), NULL, &e);
	CHECK(ck_tnz_writer_tensor(w, &bad, &e) == -1, "nbytes checked");
	ck_tnz_writer_abort(w);
	CHECK(ck_tnz_writer_open(path_in("c.tnz"), &(ck_tnz_opts){1, -1, 1, CK_TNZ_MAX_CHUNK + 1},
	                         &e) == NULL,
	      "chunk over the limit");
	/* The earlier good file is still there, untouched by the failures. */
	ck_tnz z;
	CHECK(ck_tnz_load(&z, path_in("c.tnz"), 1, &e) == 0 && z.count == 1 &&
	          memcmp(z.tensors[0].data, "abcdef", 6) == 0,
	      "%s", e.msg);
	ck_tnz_free(&z);
	unlink(path_in("c.tnz"));
}

static void test_concatenation(void)
{
	ck_err e = {{0}};
	ck_tnz a = {0}, b = {0}, c = {0};
	ck_meta_set(&a.meta, "classes", "cat\ndog", (size_t)-1, &e);
	ck_meta_set(&a.meta, "created_by", "a", (size_t)-1, &e);
	ck_tnz_add(&a, "x", CK_DTYPE_U8, 2, (int64_t[]){2, 3}, "abcdef", &e);
	ck_tnz_add(&a, "y", CK_DTYPE_I32, 1, (int64_t[]){2}, (int32_t[]){7, 8}, &e);
	ck_meta_set(&b.meta, "created_by", "b", (size_t)-1, &e);
	ck_meta_set(&b.meta, "arch", "dense 2", (size_t)-1, &e);
	ck_tnz_add(&b, "x", CK_DTYPE_U8, 2, (int64_t[]){3, 3}, "ghijklmno", &e);
	ck_tnz_add(&b, "y", CK_DTYPE_I32, 1, (int64_t[]){3}, (int32_t[]){9, 10, 11}, &e);
	ck_tnz_add(&b, "z", CK_DTYPE_F32, 0, NULL, NULL, &e);
	ck_tnz_save(&a, path_in("a.tnz"), &(ck_tnz_opts){9, 1, 1, 4}, &e);
	ck_tnz_save(&b, path_in("b.tnz"), NULL, &e);
	size_t na, nb;
	unsigned char *ba = read_all(path_in("a.tnz"), &na), *bb = read_all(path_in("b.tnz"), &nb);
	unsigned char *cat = malloc(na + nb + na);
	memcpy(cat, ba, na);
	memcpy(cat + na, bb, nb);
	memcpy(cat + na + nb, ba, na);
	write_all_file(path_in("ab.tnz"), cat, na + nb + na);
	CHECK(ck_tnz_load(&c, path_in("ab.tnz"), 2, &e) == 0, "%s", e.msg);
	ck_tensor *x = ck_tnz_find(&c, "x"), *y = ck_tnz_find(&c, "y");
	CHECK(x && x->dims[0] == 7 && x->dims[1] == 3 &&
	          memcmp(x->data, "abcdefghijklmnoabcdef", 21) == 0,
	      "x appended");
	int32_t want[7] = {7, 8, 9, 10, 11, 7, 8};
	CHECK(y && y->dims[0] == 7 && memcmp(y->data, want, sizeof want) == 0, "y appended");
	CHECK(ck_tnz_find(&c, "z") && c.count == 3, "z once");
	CHECK(strcmp(ck_meta_get(&c.meta, "created_by", NULL), "a") == 0, "last value wins");
	CHECK(ck_meta_get(&c.meta, "arch", NULL) && ck_meta_get(&c.meta, "classes", NULL),
	      "metadata merged");
	ck_tnz_free(&c);

	ck_tnz_reader *r = ck_tnz_reader_open(path_in("ab.tnz"), 1, &e);
	ck_tnz_header h;
	int files_seen[3] = {0};
	while (ck_tnz_reader_next(r, &h, &e) == 1)
		files_seen[h.file_index]++;
	CHECK(ck_tnz_reader_files(r) == 3 && files_seen[0] == 2 && files_seen[1] == 3 &&
	          files_seen[2] == 2,
	      "files %d", ck_tnz_reader_files(r));
	ck_tnz_reader_close(r);

	/* b then b: the rank-0 z cannot be appended. */
	memcpy(cat, bb, nb);
	memcpy(cat + nb, bb, nb);
	write_all_file(path_in("bb.tnz"), cat, 2 * nb);
	CHECK(ck_tnz_load(&c, path_in("bb.tnz"), 1, &e) == -1 && strstr(e.msg, "cannot append") &&
	          strstr(e.msg, "\"z\""),
	      "%s", e.msg);
	CHECK(c.count == 0 && c.tensors == NULL, "left empty on failure");

	/* Other row shapes or dtypes cannot be appended. */
	ck_tnz d = {0};
	ck_tnz_add(&d, "x", CK_DTYPE_U8, 2, (int64_t[]){1, 4}, "wxyz", &e);
	ck_tnz_save(&d, path_in("d.tnz"), NULL, &e);
	size_t nd;
	unsigned char *bd = read_all(path_in("d.tnz"), &nd);
	memcpy(cat, ba, na);
	memcpy(cat + na, bd, nd);
	write_all_file(path_in("ad.tnz"), cat, na + nd);
	CHECK(ck_tnz_load(&c, path_in("ad.tnz"), 1, &e) == -1 &&
	          strstr(e.msg, "tensor \"x\": cannot append u8 (1, 4) to u8 (2, 3)"),
	      "%s", e.msg);
	ck_tnz_free(&d);
	ck_tnz_add(&d, "x", CK_DTYPE_I8, 2, (int64_t[]){1, 3}, "xyz", &e);
	ck_tnz_save(&d, path_in("d.tnz"), NULL, &e);
	free(bd);
	bd = read_all(path_in("d.tnz"), &nd);
	memcpy(cat + na, bd, nd);
	write_all_file(path_in("ad.tnz"), cat, na + nd);
	CHECK(ck_tnz_load(&c, path_in("ad.tnz"), 1, &e) == -1 && strstr(e.msg, "cannot append"),
	      "%s", e.msg);
	free(bd);
	free(cat);
	free(ba);
	free(bb);
	ck_tnz_free(&a);
	ck_tnz_free(&b);
	ck_tnz_free(&d);
	unlink(path_in("a.tnz"));
	unlink(path_in("b.tnz"));
	unlink(path_in("d.tnz"));
	unlink(path_in("ab.tnz"));
	unlink(path_in("bb.tnz"));
	unlink(path_in("ad.tnz"));
}

/* ---- pipes --------------------------------------------------------------- */

struct pipe_job {
	int fd;
	const unsigned char *data;
	size_t n;
	int rc;
	ck_err err;
};

/* Streams data as a tensor of unknown rows into fd, in uneven pieces. */
static void *pipe_writer(void *arg)
{
	struct pipe_job *j = arg;
	ck_tnz_writer *w = ck_tnz_writer_fdopen(j->fd, &(ck_tnz_opts){1, 0, 2, 10000}, &j->err);
	j->rc = -1;
	if (w && ck_tnz_writer_meta(w, "created_by", "pipe test", (size_t)-1, &j->err) == 0 &&
	    ck_tnz_writer_begin(w, "x", CK_DTYPE_U8, 2, (int64_t[]){CK_TNZ_ROWS_UNKNOWN, 100}, -1,
	                        -1, &j->err) == 0) {
		size_t pos = 0;
		int ok = 1;
		while (ok && pos < j->n) {
			size_t piece = 1 + (pos * 7919) % 65536;
			if (piece > j->n - pos)
				piece = j->n - pos;
			ok = ck_tnz_writer_data(w, j->data + pos, piece, &j->err) == 0;
			pos += piece;
		}
		if (ok && ck_tnz_writer_end(w, &j->err) == 0 && ck_tnz_writer_close(w, &j->err) == 0)
			j->rc = 0;
		w = NULL;
	}
	if (w)
		ck_tnz_writer_abort(w);
	close(j->fd);
	return NULL;
}

static void test_pipe(void)
{
	size_t n = 100 * 12345;
	unsigned char *src = malloc(n);
	fill_bytes(src, n);
	int fds[2];
	CHECK(pipe(fds) == 0, "pipe");
	struct pipe_job j = {.fd = fds[1], .data = src, .n = n};
	pthread_t th;
	pthread_create(&th, NULL, pipe_writer, &j);
	ck_err e = {{0}};
	ck_tnz_reader *r = ck_tnz_reader_fdopen(fds[0], 2, &e);
	CHECK(r != NULL, "%s", e.msg);
	ck_tnz_header h;
	CHECK(r && ck_tnz_reader_next(r, &h, &e) == 1 && strcmp(h.name, "x") == 0, "%s", e.msg);
	unsigned char *got = malloc(n);
	size_t pos = 0;
	int64_t k = 0;
	while (r && pos <= n && (k = ck_tnz_reader_read(r, got + pos, n - pos + 1, &e)) > 0)
		pos += (size_t)k;
	CHECK(k == 0 && pos == n && memcmp(got, src, n) == 0, "data through a pipe: %s", e.msg);
	CHECK(r && ck_tnz_reader_next(r, &h, &e) == 0, "end: %s", e.msg);
	ck_tnz_reader_close(r);
	close(fds[0]);
	pthread_join(th, NULL);
	CHECK(j.rc == 0, "writer: %s", j.err.msg);

	/* A reader that goes away: the writer sees EPIPE (SIGPIPE ignored). */
	void (*old)(int) = signal(SIGPIPE, SIG_IGN);
	CHECK(pipe(fds) == 0, "pipe");
	close(fds[0]);
	j = (struct pipe_job){.fd = fds[1], .data = src, .n = n};
	pipe_writer(&j);
	CHECK(j.rc == -1 && strstr(j.err.msg, "Broken pipe"), "EPIPE: %s", j.err.msg);
	signal(SIGPIPE, old);
	free(got);
	free(src);
}

/* ---- the atomic temporary file ----------------------------------------- */

static void test_atomic(void)
{
	ck_err e = {{0}};
	CHECK(dir_entries() == 0, "temporary directory starts empty");
	ck_tnz_writer *w = ck_tnz_writer_open(path_in("out.tnz"), NULL, &e);
	CHECK(w && dir_entries() == 1, "one temporary file while writing");
	CHECK(access(path_in("out.tnz"), F_OK) == -1, "final name not there yet");
	ck_tnz_writer_begin(w, "x", CK_DTYPE_U8, 1, (int64_t[]){3}, -1, -1, &e);
	ck_tnz_writer_data(w, "abc", 3, &e);
	ck_tnz_writer_abort(w);
	CHECK(dir_entries() == 0, "abort leaves nothing");

	/* close with a tensor not ended: fails, removes the temporary file. */
	w = ck_tnz_writer_open(path_in("out.tnz"), NULL, &e);
	ck_tnz_writer_begin(w, "x", CK_DTYPE_U8, 1, (int64_t[]){3}, -1, -1, &e);
	CHECK(ck_tnz_writer_close(w, &e) == -1 && strstr(e.msg, "not ended"), "%s", e.msg);
	CHECK(dir_entries() == 0, "failed close leaves nothing");

	/* Success: mode 0666 & ~umask, no temporary file left. */
	mode_t old = umask(027);
	w = ck_tnz_writer_open(path_in("out.tnz"), NULL, &e);
	CHECK(ck_tnz_writer_close(w, &e) == 0, "%s", e.msg);
	umask(old);
	struct stat st;
	CHECK(stat(path_in("out.tnz"), &st) == 0 && (st.st_mode & 0777) == 0640, "mode %o",
	      (unsigned)(st.st_mode & 0777));
	CHECK(dir_entries() == 1, "only the file");
	unlink(path_in("out.tnz"));

	/* A full device is written directly and fails with ENOSPC. */
	if (access("/dev/full", W_OK) == 0) {
		w = ck_tnz_writer_open("/dev/full", NULL, &e);
		CHECK(w == NULL && strstr(e.msg, "No space left"), "/dev/full: %s", e.msg);
		int fd = open("/dev/full", O_WRONLY);
		CHECK(ck_tnz_writer_fdopen(fd, NULL, &e) == NULL && strstr(e.msg, "write error"),
		      "%s", e.msg);
		close(fd);
		CHECK(access("/dev/full", W_OK) == 0, "/dev/full still a device");
	}
	/* /dev/null is written, not replaced. */
	w = ck_tnz_writer_open("/dev/null", NULL, &e);
	CHECK(w && ck_tnz_writer_close(w, &e) == 0, "/dev/null: %s", e.msg);
	CHECK(stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode), "/dev/null still a device");
	/* A missing directory, a directory. */
	CHECK(ck_tnz_writer_open(path_in("no/such/x.tnz"), NULL, &e) == NULL, "missing dir");
	CHECK(ck_tnz_writer_open(tmpdir, NULL, &e) == NULL, "a directory: %s", e.msg);
	CHECK(ck_tnz_writer_open("sub/", NULL, &e) == NULL, "not a file name");

	/* "-" is refused when standard output is a terminal. */
	int master = posix_openpt(O_RDWR | O_NOCTTY);
	if (master >= 0 && grantpt(master) == 0 && unlockpt(master) == 0) {
		int slave = open(ptsname(master), O_RDWR | O_NOCTTY);
		int saved = dup(1);
		fflush(stdout);
		dup2(slave, 1);
		w = ck_tnz_writer_open("-", NULL, &e);
		dup2(saved, 1);
		close(saved);
		close(slave);
		CHECK(w == NULL && strstr(e.msg, "terminal"), "tty: %s", e.msg);
	}
	if (master >= 0)
		close(master);
	CHECK(dir_entries() == 0, "nothing left behind");
}

int main(void)
{
	/* tmpfs when there is one: every save fsyncs. */
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(tmpdir, sizeof tmpdir, "%s/test_tnz.XXXXXX", base);
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(test_atomic);
	RUN(test_spec_example);
	RUN(test_round_trip_dtypes_ranks);
	RUN(test_round_trip_options);
	RUN(test_parallel_stored);
	RUN(test_level1_encoder);
	RUN(test_shuffle_definition);
	RUN(test_big_meta);
	RUN(test_deterministic);
	RUN(test_stream_unknown_rows);
	RUN(test_writer_checks);
	RUN(test_concatenation);
	RUN(test_pipe);
	unlink(path_in("rt.tnz"));
	unlink(path_in("ex.tnz"));
	unlink(path_in("det.tnz"));
	unlink(path_in("s.tnz"));
	rmdir(tmpdir);
	return check_summary();
}
