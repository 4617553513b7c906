/* targets.h: the body of every fuzz target, shared by the libFuzzer programs
 * (tests/fuzz/fuzz_<target>.c) and the regression test that replays the
 * corpora and past crashes under `make test` (tests/unit/test_fuzz_regress.c).
 *
 * Each fuzz_<target>(data, size) feeds the bytes to one parser of outside
 * input. A rejected input is fine; a crash, a leak or a sanitizer report is a
 * finding, and so is a broken invariant, which the function reports by
 * returning the line of the check that failed (0 when every check held).
 * Nothing here prints.
 *
 * Include this file first: it asks for _GNU_SOURCE (memfd_create). */
#ifndef CK_FUZZ_TARGETS_H
#define CK_FUZZ_TARGETS_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cnnkit.h"

/* A failed invariant: the target returns the line that checked it. */
#define FUZZ_REQUIRE(cond)                                                     \
	do {                                                                       \
		if (!(cond))                                                           \
			return __LINE__;                                                   \
	} while (0)

/* ---- shared helpers ----------------------------------------------------- */

/* An anonymous in-memory file holding data[0, size), positioned at 0; -1 if
 * the system refuses one (not a finding). */
static inline int fuzz_memfd(const uint8_t *data, size_t size)
{
	int fd = memfd_create("cnnkit-fuzz", 0);
	if (fd < 0)
		return -1;
	size_t done = 0;
	while (done < size) {
		ssize_t n = write(fd, data + done, size - done);
		if (n <= 0) {
			close(fd);
			return -1;
		}
		done += (size_t)n;
	}
	if (lseek(fd, 0, SEEK_SET) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Whether two tensors hold the same dtype, shape and bytes. */
static inline int fuzz_tensor_equal(const ck_tensor *a, const ck_tensor *b)
{
	if (a->dtype != b->dtype || a->rank != b->rank || a->nbytes != b->nbytes)
		return 0;
	for (int i = 0; i < a->rank; i++)
		if (a->dims[i] != b->dims[i])
			return 0;
	return a->nbytes == 0 || memcmp(a->data, b->data, a->nbytes) == 0;
}

/* Whether a tensor's byte count agrees with its shape and dtype. data may
 * be NULL for an empty tensor (ck_tnz_load allocates nothing for one); the
 * io.h readers promise a block even then, which their targets check. */
static inline int fuzz_tensor_consistent(const ck_tensor *t)
{
	if (t->rank < 0 || t->rank > CK_TNZ_MAX_RANK || ck_dtype_size(t->dtype) == 0)
		return 0;
	/* A zero dimension empties the tensor whatever the others are (their
	 * product may overflow). */
	uint64_t n = ck_dtype_size(t->dtype);
	int empty = 0;
	for (int i = 0; i < t->rank; i++) {
		if (t->dims[i] < 0)
			return 0;
		empty |= t->dims[i] == 0;
	}
	for (int i = 0; i < t->rank && !empty; i++)
		if (__builtin_mul_overflow(n, (uint64_t)t->dims[i], &n))
			return 0;
	return (empty ? 0 : n) == t->nbytes && (t->data != NULL || t->nbytes == 0);
}

/* Reads every byte of a buffer, so that a short allocation shows under ASan. */
static inline unsigned fuzz_touch(const void *p, size_t n)
{
	const unsigned char *b = p;
	unsigned sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += b[i];
	return sum;
}

/* Whether two metadata sets hold the same keys and values. */
static inline int fuzz_meta_equal(const ck_meta *a, const ck_meta *b)
{
	if (a->count != b->count)
		return 0;
	for (size_t i = 0; i < a->count; i++) {
		size_t len;
		const char *v = ck_meta_get(b, a->items[i].key, &len);
		if (!v || len != a->items[i].len || memcmp(v, a->items[i].value, len) != 0)
			return 0;
	}
	return 1;
}

/* ---- TNZ ------------------------------------------------------------------ */

/* Streams every tensor of fd through ck_tnz_reader in pieces of cap bytes.
 * Returns 0 and the total bytes read when the stream is good, -1 when it is
 * rejected, or a positive line when an invariant broke. */
static inline int fuzz_tnz_stream(int fd, size_t cap, uint64_t *total)
{
	ck_err err;
	*total = 0;
	ck_tnz_reader *r = ck_tnz_reader_fdopen(fd, 1, &err);
	if (!r)
		return -1;
	unsigned char *buf = malloc(cap);
	if (!buf) {
		ck_tnz_reader_close(r);
		return -1;
	}
	int rc, broken = 0;
	ck_tnz_header h;
	while (!broken && (rc = ck_tnz_reader_next(r, &h, &err)) == 1) {
		if (h.rank < 0 || h.rank > CK_TNZ_MAX_RANK || ck_dtype_size(h.dtype) == 0 ||
		    strlen(h.name) == 0) {
			broken = __LINE__;
			break;
		}
		uint64_t got = 0;
		int64_t n;
		while ((n = ck_tnz_reader_read(r, buf, cap, &err)) > 0) {
			if ((uint64_t)n > cap) {
				broken = __LINE__;
				break;
			}
			got += (uint64_t)n;
		}
		if (broken || n < 0) {
			rc = -1;
			break;
		}
		/* The bytes delivered are exactly rows times the row size. */
		int64_t rows = ck_tnz_reader_rows(r);
		uint64_t row = ck_dtype_size(h.dtype);
		for (int i = 1; i < h.rank; i++)
			row *= (uint64_t)h.dims[i];
		if (rows < 0 || (h.rank > 0 && h.dims[0] >= 0 && rows != h.dims[0]) ||
		    (h.rank > 0 && got != (uint64_t)rows * row) || (h.rank == 0 && got != row))
			broken = __LINE__;
		*total += got;
	}
	free(buf);
	ck_tnz_reader_close(r);
	if (broken)
		return broken;
	return rc == 0 ? 0 : -1;
}

/* The bytes as a TNZ stream: read through the streaming reader (with a small
 * buffer and with one that takes whole chunks in place), then loaded whole by
 * ck_tnz_load; a stream that loads must also stream with the same bytes, and
 * writing it out again and loading that must give it back unchanged. */
static inline int fuzz_tnz(const uint8_t *data, size_t size)
{
	int fd = fuzz_memfd(data, size);
	if (fd < 0)
		return 0;
	uint64_t small_total = 0, big_total = 0;
	size_t small_cap = 1 + (size ? data[size - 1] % 61 : 0);
	int small = fuzz_tnz_stream(fd, small_cap, &small_total);
	lseek(fd, 0, SEEK_SET);
	int big = fuzz_tnz_stream(fd, (size_t)1 << 16, &big_total);
	if (small > 0 || big > 0) {
		close(fd);
		return small > 0 ? small : big;
	}
	/* The piece size changes nothing. */
	if (small != big || small_total != big_total) {
		close(fd);
		return __LINE__;
	}

	char path[64];
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	ck_tnz z;
	ck_err err;
	int loaded = ck_tnz_load(&z, path, 1, &err) == 0;
	close(fd);
	if (!loaded)
		return 0;
	int line = 0;
	uint64_t sum = 0;
	for (size_t i = 0; i < z.count; i++) {
		if (!fuzz_tensor_consistent(&z.tensors[i]))
			line = __LINE__;
		sum += z.tensors[i].nbytes;
	}
	if (big != 0 || sum != big_total)
		line = __LINE__;

	/* Write it out (small chunks, so that tensors span several) and load
	 * the result: the same tensors and metadata. */
	int out = line ? -1 : memfd_create("cnnkit-fuzz-out", 0);
	if (out >= 0) {
		ck_tnz_opts opts = {1, -1, 1, 4096};
		ck_tnz_writer *w = ck_tnz_writer_fdopen(out, &opts, &err);
		int ok = w != NULL;
		for (size_t i = 0; ok && i < z.meta.count; i++)
			ok = ck_tnz_writer_meta(w, z.meta.items[i].key, z.meta.items[i].value,
			                        z.meta.items[i].len, &err) == 0;
		for (size_t i = 0; ok && i < z.count; i++)
			ok = ck_tnz_writer_tensor(w, &z.tensors[i], &err) == 0;
		if (w && ck_tnz_writer_close(w, &err) != 0)
			ok = 0;
		ck_tnz back;
		snprintf(path, sizeof path, "/proc/self/fd/%d", out);
		if (!ok || ck_tnz_load(&back, path, 1, &err) != 0) {
			line = __LINE__;
		} else {
			if (back.count != z.count || !fuzz_meta_equal(&z.meta, &back.meta))
				line = __LINE__;
			for (size_t i = 0; !line && i < z.count; i++)
				if (strcmp(z.tensors[i].name, back.tensors[i].name) != 0 ||
				    !fuzz_tensor_equal(&z.tensors[i], &back.tensors[i]))
					line = __LINE__;
			ck_tnz_free(&back);
		}
		close(out);
	}
	ck_tnz_free(&z);
	return line;
}

/* ---- architecture language ------------------------------------------------ */

/* Parses the bytes as a spec; a spec that parses is inferred for a few input
 * shapes, formatted, and its canonical form must parse again and format to
 * the same text (and infer to the same parameter counts). */
static inline int fuzz_arch(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	ck_arch a;
	ck_err err;
	int parsed = ck_arch_parse(text, &a, &err) == 0;
	free(text);
	if (!parsed)
		return 0;

	static const struct {
		int64_t shape[3];
		int rank;
		int64_t vocab;
	} inputs[] = {
		{{3, 32, 32}, 3, 0}, {{1, 28, 28}, 3, 0}, {{100}, 1, 0},
		{{50}, 1, 1000},     {{20, 8}, 2, 0},     {{1, 1, 1}, 3, 0},
	};
	enum { NINPUTS = sizeof inputs / sizeof inputs[0] };
	int64_t params[NINPUTS];
	for (int i = 0; i < NINPUTS; i++) {
		params[i] = -1;
		if (ck_arch_infer(&a, inputs[i].shape, inputs[i].rank, inputs[i].vocab, &err) == 0)
			params[i] = a.total_params;
	}

	int line = 0;
	char *canon = NULL, *again = NULL;
	ck_arch b = {0};
	if (ck_arch_format(&a, &canon) != 0) {
		canon = NULL; /* out of memory: not a finding */
	} else if (ck_arch_parse(canon, &b, &err) != 0) {
		line = __LINE__;
	} else if (b.nlayers != a.nlayers) {
		line = __LINE__;
	} else if (ck_arch_format(&b, &again) == 0 && strcmp(canon, again) != 0) {
		line = __LINE__;
	} else {
		for (int i = 0; !line && i < NINPUTS; i++) {
			int ok = ck_arch_infer(&b, inputs[i].shape, inputs[i].rank, inputs[i].vocab,
			                       &err) == 0;
			if (ok != (params[i] >= 0) || (ok && b.total_params != params[i]))
				line = __LINE__;
		}
	}
	free(canon);
	free(again);
	ck_arch_free(&b);
	ck_arch_free(&a);
	return line;
}

/* ---- NumPy, IDX, CSV ----------------------------------------------------- */

/* A tensor that reads must write as .npy and read back identical. */
static inline int fuzz_npy_roundtrip(const ck_tensor *t)
{
	void *buf = NULL;
	size_t len = 0;
	ck_err err;
	if (ck_npy_write_mem(t, &buf, &len, &err) != 0)
		return __LINE__;
	ck_tensor back;
	int line = 0;
	if (ck_npy_read_mem(buf, len, &back, &err) != 0)
		line = __LINE__;
	else {
		if (!fuzz_tensor_equal(t, &back))
			line = __LINE__;
		free(back.data);
	}
	free(buf);
	return line;
}

static inline int fuzz_npy(const uint8_t *data, size_t size)
{
	ck_tensor t;
	ck_err err;
	if (ck_npy_read_mem(data, size, &t, &err) != 0)
		return 0;
	int line = fuzz_tensor_consistent(&t) && t.data ? fuzz_npy_roundtrip(&t) : __LINE__;
	free(t.data);
	return line;
}

static inline int fuzz_npz(const uint8_t *data, size_t size)
{
	ck_tnz z = {0};
	ck_err err;
	if (ck_npz_read_mem(data, size, &z, &err) != 0) {
		/* A failed read leaves out as it was: empty. */
		int line = z.count == 0 ? 0 : __LINE__;
		ck_tnz_free(&z);
		return line;
	}
	int line = 0;
	for (size_t i = 0; !line && i < z.count; i++) {
		const ck_tensor *t = &z.tensors[i];
		if (!t->name[0] || !fuzz_tensor_consistent(t))
			line = __LINE__;
		else
			line = fuzz_npy_roundtrip(t);
	}
	ck_tnz_free(&z);
	return line;
}

static inline int fuzz_idx(const uint8_t *data, size_t size)
{
	ck_tensor t;
	ck_err err;
	if (ck_idx_read_mem(data, size, &t, &err) != 0)
		return 0;
	int line = fuzz_tensor_consistent(&t) && t.data ? 0 : __LINE__;
	free(t.data);
	return line;
}

/* One CSV read: x (N, columns) f32, and y (N) i32 when a label column was
 * asked for. */
static inline int fuzz_csv_once(const uint8_t *data, size_t size, char delim,
                                const ck_csv_opts *opts)
{
	ck_tnz z = {0};
	ck_err err;
	if (ck_csv_read_mem(data, size, delim, opts, &z, &err) != 0) {
		int line = z.count == 0 ? 0 : __LINE__;
		ck_tnz_free(&z);
		return line;
	}
	int line = 0;
	const ck_tensor *x = ck_tnz_find(&z, "x");
	const ck_tensor *y = ck_tnz_find(&z, "y");
	if (!x || x->rank != 2 || x->dtype != CK_DTYPE_F32 || !fuzz_tensor_consistent(x))
		line = __LINE__;
	else if (opts->label && (!y || y->rank != 1 || y->dtype != CK_DTYPE_I32 ||
	                         y->dims[0] != x->dims[0] || !fuzz_tensor_consistent(y)))
		line = __LINE__;
	ck_tnz_free(&z);
	return line;
}

/* The bytes as CSV and as TSV, with header detection, without and with a
 * label column (by index, and by name). */
static inline int fuzz_csv(const uint8_t *data, size_t size)
{
	static const ck_csv_opts opts[] = {
		{NULL, -1}, {"1", -1}, {"2", 0}, {"label", 1},
	};
	static const char delims[] = {',', '\t'};
	for (size_t d = 0; d < sizeof delims; d++)
		for (size_t o = 0; o < sizeof opts / sizeof opts[0]; o++) {
			int line = fuzz_csv_once(data, size, delims[d], &opts[o]);
			if (line)
				return line;
		}
	return 0;
}

/* ---- images ---------------------------------------------------------------- */

/* A decoded image is within the limits and its buffer is as large as its
 * size says; preparing it (convert, fit, resize) must work too. */
static inline int fuzz_image_check(const ck_image *img)
{
	if (img->width < 1 || img->height < 1 || img->width > CK_IMAGE_MAX_SIDE ||
	    img->height > CK_IMAGE_MAX_SIDE || img->channels < 1 || img->channels > 4 ||
	    (int64_t)img->width * img->height >= CK_IMAGE_MAX_PIXELS || !img->data)
		return __LINE__;
	fuzz_touch(img->data, (size_t)img->width * img->height * img->channels);
	return 0;
}

/* ck_image_prepare on the same bytes, gray letterboxed and RGB cropped to a
 * small size: exercises conversion and resizing on whatever decoded. */
static inline int fuzz_image_prepare(const uint8_t *data, size_t size)
{
	ck_image_prep p = CK_IMAGE_PREP_DEFAULT;
	ck_err err;
	ck_image out;
	p.channels = 1;
	p.width = 7;
	p.height = 5;
	p.fit = CK_IMAGE_LETTERBOX;
	if (ck_image_prepare(&out, data, size, &p, &err) == 0) {
		if (out.width != 7 || out.height != 5 || out.channels != 1)
			return __LINE__;
		fuzz_touch(out.data, 35);
		ck_image_free(&out);
	}
	p.channels = 3;
	p.fit = CK_IMAGE_CROP;
	p.width = 3;
	p.height = 9;
	p.jpeg_scale = 1;
	if (ck_image_prepare(&out, data, size, &p, &err) == 0) {
		if (out.width != 3 || out.height != 9 || out.channels != 3)
			return __LINE__;
		fuzz_touch(out.data, 81);
		ck_image_free(&out);
	}
	return 0;
}

static inline int fuzz_png(const uint8_t *data, size_t size)
{
	ck_image img;
	ck_err err;
	if (ck_image_decode_png(&img, data, size, &err) != 0)
		return 0;
	int line = fuzz_image_check(&img);
	ck_image_free(&img);
	return line ? line : fuzz_image_prepare(data, size);
}

static inline int fuzz_jpeg(const uint8_t *data, size_t size)
{
	ck_image img;
	ck_err err;
	int line = 0;
	/* Full size, and DCT-scaled by 1/8 (sizes rounded up). */
	if (ck_image_decode_jpeg(&img, data, size, 1, &err) == 0) {
		int w = img.width, h = img.height;
		line = fuzz_image_check(&img);
		ck_image_free(&img);
		if (!line && ck_image_decode_jpeg(&img, data, size, 8, &err) == 0) {
			line = fuzz_image_check(&img);
			if (!line && (img.width != (w + 7) / 8 || img.height != (h + 7) / 8))
				line = __LINE__;
			ck_image_free(&img);
		}
	}
	return line ? line : fuzz_image_prepare(data, size);
}

static inline int fuzz_pnm(const uint8_t *data, size_t size)
{
	ck_image img;
	ck_err err;
	if (ck_image_decode_pnm(&img, data, size, &err) != 0)
		return 0;
	int line = fuzz_image_check(&img);
	ck_image_free(&img);
	return line ? line : fuzz_image_prepare(data, size);
}

/* ---- lossplot's log reader ---------------------------------------------- */

/* Whether two tables hold the same columns and values (NaN equal to NaN). */
static inline int fuzz_table_equal(const ck_plot_table *a, const ck_plot_table *b)
{
	if (a->ncols != b->ncols || a->nrows != b->nrows || a->ragged != b->ragged)
		return 0;
	for (size_t c = 0; c < a->ncols; c++) {
		if (strcmp(a->cols[c].name, b->cols[c].name) != 0)
			return 0;
		for (size_t i = 0; i < a->nrows; i++) {
			double x = a->cols[c].v[i], y = b->cols[c].v[i];
			if (!(x == y || (isnan(x) && isnan(y))))
				return 0;
		}
	}
	return 1;
}

/* The bytes as a whole log, and fed in two pieces split where the last byte
 * says (as `lossplot --follow` does with a growing file): both readings
 * must give the same table. */
static inline int fuzz_plotlog(const uint8_t *data, size_t size)
{
	ck_err err;
	ck_plot_table *whole = ck_plot_table_parse((const char *)data, size, &err);
	if (!whole)
		return 0;
	int line = 0;
	for (size_t c = 0; c < whole->ncols; c++)
		if (!whole->cols[c].name || (whole->nrows && !whole->cols[c].v))
			line = __LINE__;
	for (size_t c = 0; !line && c < whole->ncols; c++)
		fuzz_touch(whole->cols[c].v, whole->nrows * sizeof(double));

	ck_plot_table *parts = line ? NULL : ck_plot_table_new();
	if (parts) {
		size_t cut = size ? data[size - 1] % (size + 1) : 0;
		int64_t used = ck_plot_table_feed(parts, (const char *)data, cut, 0, &err);
		if (used < 0 || (uint64_t)used > cut) {
			line = used < 0 ? 0 : __LINE__; /* out of memory is not a finding */
		} else {
			int64_t rest = ck_plot_table_feed(parts, (const char *)data + used,
			                                  size - (size_t)used, 1, &err);
			if (rest != (int64_t)(size - (size_t)used))
				line = rest < 0 ? 0 : __LINE__;
			else if (!fuzz_table_equal(whole, parts))
				line = __LINE__;
		}
		ck_plot_table_free(parts);
	}
	ck_plot_table_free(whole);
	return line;
}

/* ---- the tokenizer and vocabularies ----------------------------------------- */

/* Tokens collected by fuzz_tok_emit: their bytes joined by single spaces. */
typedef struct fuzz_tokens {
	char *text;
	size_t len, cap;
	int64_t count;
	int bad; /* a token that is empty, holds a space or is not valid UTF-8 */
} fuzz_tokens;

static inline int fuzz_tok_emit(const char *tok, size_t len, void *ctx)
{
	fuzz_tokens *t = ctx;
	if (len == 0 || memchr(tok, ' ', len) || memchr(tok, '\n', len) ||
	    ck_utf8_invalid(tok, len) != 0)
		t->bad = 1;
	if (t->len + len + 1 > t->cap) {
		size_t cap = 2 * (t->len + len + 1);
		char *p = realloc(t->text, cap);
		if (!p)
			return 1;
		t->text = p;
		t->cap = cap;
	}
	if (t->len)
		t->text[t->len++] = ' ';
	memcpy(t->text + t->len, tok, len);
	t->len += len;
	t->count++;
	return 0;
}

/* The bytes as a document, in each mode: every token is non-empty valid
 * UTF-8 without spaces, the count returned is the count emitted, and the
 * tokens joined by spaces tokenise to themselves: normalising twice changes
 * nothing, with or without strip_accents (regress/tokenize/strip_twice.txt:
 * U+01FF once stripped to U+00F8, which strips again to o). */
static inline int fuzz_tokenize(const uint8_t *data, size_t size)
{
	static const ck_tok_opts modes[] = {
		{CK_TOK_WORD, 0, 1, 0},
		{CK_TOK_WORD, 1, 1, 1},
		{CK_TOK_WORD, 1, 0, 0},
		{CK_TOK_CHAR, 0, 1, 0},
		{CK_TOK_CHAR, 0, 0, 1},
	};
	int line = 0;
	for (size_t m = 0; !line && m < sizeof modes / sizeof modes[0]; m++) {
		fuzz_tokens a = {0}, b = {0};
		ck_err err;
		int64_t n = ck_tokenize(&modes[m], (const char *)data, size, fuzz_tok_emit, &a, NULL,
		                        &err);
		if (n >= 0) {
			if (a.bad || n != a.count)
				line = __LINE__;
			else if (ck_tokenize(&modes[m], a.text ? a.text : "", a.len, fuzz_tok_emit, &b,
			                     NULL, &err) >= 0 &&
			         (b.count != a.count || b.len != a.len ||
			          (a.len && memcmp(a.text, b.text, a.len) != 0)))
				line = __LINE__;
		}
		free(a.text);
		free(b.text);
	}
	return line;
}

/* The bytes as `vocab` metadata or vocab.txt: what parses writes back as
 * metadata that parses to the same tokens. */
static inline int fuzz_vocab(const uint8_t *data, size_t size)
{
	ck_err err;
	ck_vocab *v = ck_vocab_parse((const char *)data, size, &err);
	if (!v)
		return 0;
	int line = 0;
	size_t len = 0;
	char *meta = ck_vocab_to_meta(v, &len, &err);
	ck_vocab *w = meta ? ck_vocab_parse(meta, len, &err) : NULL;
	if (meta && !w)
		line = __LINE__;
	else if (w && ck_vocab_size(w) != ck_vocab_size(v))
		line = __LINE__;
	for (size_t i = 0; w && !line && i < ck_vocab_size(v); i++) {
		size_t la, lb;
		const char *a = ck_vocab_token(v, (int64_t)i, &la);
		const char *b = ck_vocab_token(w, (int64_t)i, &lb);
		if (la == 0 || la != lb || memcmp(a, b, la) != 0 ||
		    ck_vocab_find(v, a, la) != (int64_t)i)
			line = __LINE__;
	}
	ck_vocab_free(w);
	ck_vocab_free(v);
	free(meta);
	return line;
}

/* ---- embeddings importers ------------------------------------------------------ */

/* Whether two tables hold the same words and vectors. */
static inline int fuzz_embed_equal(const ck_embed *a, const ck_embed *b)
{
	if (a->V != b->V || a->D != b->D)
		return 0;
	for (int64_t i = 0; i < a->V; i++)
		if (strcmp(a->words[i], b->words[i]) != 0)
			return 0;
	/* By value: a reserved row of -0 is zero, so not exported, and reads
	 * back as +0. */
	for (int64_t i = 0; i < a->V * a->D; i++)
		if (a->vectors[i] != b->vectors[i])
			return 0;
	return 1;
}

/* The bytes in every format (and detected): a table that imports has the
 * reserved rows first, finite vectors, and exports (text and binary) to
 * bytes that import to the same table. */
static inline int fuzz_embed(const uint8_t *data, size_t size)
{
	static const ck_embed_format formats[] = {
		CK_EMBED_AUTO, CK_EMBED_TEXT, CK_EMBED_BINARY, CK_EMBED_GLOVE,
	};
	static const ck_embed_format out_formats[] = {CK_EMBED_TEXT, CK_EMBED_BINARY};
	int line = 0;
	for (size_t f = 0; !line && f < sizeof formats / sizeof formats[0]; f++) {
		ck_embed e = {0};
		ck_err err;
		if (ck_embed_import_mem(&e, data, size, formats[f], NULL, &err) != 0)
			continue;
		if (e.V < CK_EMBED_RESERVED || e.D < 1 || e.D > CK_EMBED_MAX_DIM ||
		    strcmp(e.words[0], CK_EMBED_PAD) != 0 || strcmp(e.words[1], CK_EMBED_UNK) != 0)
			line = __LINE__;
		for (int64_t i = 0; !line && i < e.V * e.D; i++)
			if (!isfinite(e.vectors[i]))
				line = __LINE__;
		for (size_t o = 0; !line && o < sizeof out_formats / sizeof out_formats[0]; o++) {
			char *buf = NULL;
			size_t len = 0;
			ck_embed back = {0};
			if (ck_embed_export_mem(&e, out_formats[o], &buf, &len, &err) != 0)
				line = __LINE__;
			else if (ck_embed_import_mem(&back, buf, len, out_formats[o], NULL, &err) != 0)
				line = __LINE__;
			else if (!fuzz_embed_equal(&e, &back))
				line = __LINE__;
			ck_embed_free(&back);
			free(buf);
		}
		ck_embed_free(&e);
	}
	return line;
}

/* ---- the table of targets ------------------------------------------------- */

typedef struct fuzz_target {
	const char *name; /* tests/fuzz/corpus/<name>, tests/fuzz/regress/<name> */
	int (*run)(const uint8_t *data, size_t size);
} fuzz_target;

static const fuzz_target fuzz_targets[] = {
	{"tnz", fuzz_tnz},   {"arch", fuzz_arch}, {"npy", fuzz_npy},
	{"npz", fuzz_npz},   {"idx", fuzz_idx},   {"csv", fuzz_csv},
	{"png", fuzz_png},   {"jpeg", fuzz_jpeg}, {"pnm", fuzz_pnm},
	{"plotlog", fuzz_plotlog}, {"tokenize", fuzz_tokenize}, {"vocab", fuzz_vocab},
	{"embed", fuzz_embed},
};

#endif
