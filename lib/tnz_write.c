/* tnz_write.c: the streaming TNZ writer and ck_tnz_save (formats/tnz.md).
 *
 * A tensor's bytes are cut into chunks of opts.chunk_bytes (rounded down to
 * a whole number of elements) at fixed offsets; once `threads` chunks are
 * pending they are shuffled, deflated and checksummed in parallel, one chunk
 * per thread (tnz_parallel), and written in order. Chunk boundaries do not
 * depend on the thread count, so neither do the output bytes.
 *
 * Output goes through writev(2) (no stdio buffer to lose an error in), a
 * batch of records at a time: a stored tensor goes out in writes of up to
 * STORED_BATCH chunks, frames and CRCs included, where each record took
 * three calls (a 16-byte frame, the payload, a 4-byte CRC): numpy writes an
 * array in one call. A path is opened with ck_outfile_open: a temporary file
 * beside it, renamed over the name after fsync, so a partial file never
 * carries the final name; the outfile starts write-back as the writes
 * arrive. */
#include "cnnkit.h"
#include "tnz_internal.h"
#include "threads_internal.h"
#include "io_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

struct ck_tnz_writer {
	int fd;
	ck_outfile *out; /* the path being written; NULL for a caller's descriptor */
	int level, shuffle, threads;
	size_t chunk_bytes;
	int failed;  /* a write or size error happened: only abort/close remain */
	ck_err fail; /* its message, repeated by every later call */
	uint32_t tensors, metas;

	/* The tensor being written (in_tensor) */
	int in_tensor;
	char name[CK_TNZ_MAX_NAME + 1];
	size_t esize;
	int filter, tlevel, rows_known;
	uint64_t rows;      /* declared (rows_known): dims[0], or 1 for rank 0 */
	uint64_t row_bytes; /* bytes of one row (> 0 when rows are unknown) */
	uint64_t expect_bytes, written; /* expect_bytes = rows * row_bytes */
	size_t tchunk;                             /* this tensor's chunk size */

	tnz_wchunk *chunks; /* threads of them */
	int pending;        /* full chunks waiting; chunks[pending] is filling */
};

/* threads 0 = every core (OpenMP's default team size); 1 without OpenMP,
 * whatever the count. */
int tnz_threads(int threads)
{
#ifdef _OPENMP
	return ck_threads_or_default(threads);
#else
	(void)threads;
	return 1;
#endif
}

/* tnz_parallel's shared state: the jobs and the next one to take. */
typedef struct jobs {
	void (*job)(void *ctx, int i);
	void *ctx;
	int n, next;
} jobs;

static void *run_jobs(void *arg)
{
	jobs *j = arg;
	int i;
	while ((i = __atomic_fetch_add(&j->next, 1, __ATOMIC_RELAXED)) < j->n)
		j->job(j->ctx, i);
	return NULL;
}

#define MAX_HELPERS 63

void tnz_parallel(int n, int threads, void (*job)(void *ctx, int i), void *ctx)
{
	jobs j = {job, ctx, n, 0};
	pthread_t helper[MAX_HELPERS];
	int want = (n < threads ? n : threads) - 1, helpers = 0;
	while (helpers < want && helpers < MAX_HELPERS &&
	       pthread_create(&helper[helpers], NULL, run_jobs, &j) == 0)
		helpers++;
	run_jobs(&j);
	for (int k = 0; k < helpers; k++)
		pthread_join(helper[k], NULL);
}

/* Makes every later call fail with this message (an error that leaves the
 * output inconsistent). */
static int writer_fail(ck_tnz_writer *w, ck_err *err)
{
	w->failed = 1;
	if (err)
		w->fail = *err;
	else
		ck_err_set(&w->fail, "an earlier call failed");
	return -1;
}

static int writer_usable(ck_tnz_writer *w, ck_err *err)
{
	if (!w->failed)
		return 0;
	if (err)
		*err = w->fail;
	return -1;
}

/* Records written with one writev, at most: 16 stored chunks are 64 MiB. */
#define STORED_BATCH 16

/* Writes the n pieces of iov in order, through the outfile when the writer
 * opened a path. */
static int write_iov(ck_tnz_writer *w, struct iovec *iov, int n, ck_err *err)
{
	int rc = w->out ? ck_outfile_writev(w->out, iov, n, err) : ck_io_writev(w->fd, iov, n, NULL, err);
	return rc ? writer_fail(w, err) : 0;
}

static int write_all(ck_tnz_writer *w, const void *buf, size_t n, ck_err *err)
{
	struct iovec one = {(void *)buf, n};
	return write_iov(w, &one, 1, err);
}

/* A small record, built whole: frame, body, CRC. */
static int write_record(ck_tnz_writer *w, uint32_t tag, const unsigned char *body, size_t len,
                        ck_err *err)
{
	unsigned char rec[TNZ_FRAME_HEAD + TNZ_TENS_MAX + TNZ_FRAME_CRC];
	tnz_put32(rec, tag);
	tnz_put32(rec + 4, (uint32_t)len);
	memcpy(rec + TNZ_FRAME_HEAD, body, len);
	tnz_put32(rec + TNZ_FRAME_HEAD + len, ck_crc32(0, rec, TNZ_FRAME_HEAD + len));
	return write_all(w, rec, TNZ_FRAME_HEAD + len + TNZ_FRAME_CRC, err);
}

static ck_tnz_writer *writer_new(int fd, const ck_tnz_opts *opts, ck_err *err)
{
	ck_tnz_opts o = opts ? *opts : CK_TNZ_OPTS_DEFAULT;
	if (o.level < 0 || o.level > 9) {
		ck_err_set(err, "compression level %d is not 0..9", o.level);
		return NULL;
	}
	if (o.shuffle < -1 || o.shuffle > 1) {
		ck_err_set(err, "shuffle option %d is not -1, 0 or 1", o.shuffle);
		return NULL;
	}
	if (o.chunk_bytes == 0)
		o.chunk_bytes = CK_TNZ_DEFAULT_CHUNK;
	if (o.chunk_bytes > CK_TNZ_MAX_CHUNK) {
		ck_err_set(err, "chunk size %zu is over the limit of %u bytes", o.chunk_bytes,
		           CK_TNZ_MAX_CHUNK);
		return NULL;
	}
	ck_tnz_writer *w = calloc(1, sizeof *w);
	if (w)
		w->chunks = calloc((size_t)tnz_threads(o.threads), sizeof *w->chunks);
	if (!w || !w->chunks) {
		free(w);
		ck_err_set(err, "out of memory");
		return NULL;
	}
	w->fd = fd;
	w->level = o.level;
	w->shuffle = o.shuffle;
	w->threads = tnz_threads(o.threads);
	w->chunk_bytes = o.chunk_bytes;
	return w;
}

/* MAGIC then HEAD 1.0, flags 0. */
static int write_start(ck_tnz_writer *w, ck_err *err)
{
	unsigned char head[8] = {0};
	tnz_put16(head, TNZ_MAJOR);
	tnz_put16(head + 2, TNZ_MINOR);
	if (write_all(w, TNZ_MAGIC, TNZ_MAGIC_LEN, err))
		return -1;
	return write_record(w, TNZ_HEAD, head, sizeof head, err);
}

static void writer_free(ck_tnz_writer *w)
{
	for (int i = 0; i < w->threads; i++)
		tnz_wchunk_free(&w->chunks[i]);
	free(w->chunks);
	free(w);
}

ck_tnz_writer *ck_tnz_writer_fdopen(int fd, const ck_tnz_opts *opts, ck_err *err)
{
	ck_tnz_writer *w = writer_new(fd, opts, err);
	if (w && write_start(w, err)) {
		writer_free(w);
		return NULL;
	}
	return w;
}

ck_tnz_writer *ck_tnz_writer_open(const char *path, const ck_tnz_opts *opts, ck_err *err)
{
	ck_tnz_writer *w = writer_new(-1, opts, err);
	if (!w)
		return NULL;
	w->out = ck_outfile_open(path, CK_OUTFILE_BINARY, err);
	if (!w->out) {
		writer_free(w);
		return NULL;
	}
	w->fd = ck_outfile_fd(w->out);
	if (write_start(w, err)) {
		ck_tnz_writer_abort(w);
		return NULL;
	}
	return w;
}

int ck_tnz_writer_meta(ck_tnz_writer *w, const char *key, const char *value, size_t len,
                       ck_err *err)
{
	if (writer_usable(w, err))
		return -1;
	if (w->in_tensor)
		return ck_err_set(err, "metadata inside tensor \"%s\"", w->name);
	if (tnz_check_meta(key, value, &len, err))
		return -1;
	size_t klen = strlen(key);
	unsigned char head[TNZ_FRAME_HEAD + 1 + CK_TNZ_MAX_NAME], crc[TNZ_FRAME_CRC];
	tnz_put32(head, TNZ_META);
	tnz_put32(head + 4, (uint32_t)(1 + klen + len));
	head[8] = (unsigned char)klen;
	memcpy(head + 9, key, klen);
	size_t hlen = TNZ_FRAME_HEAD + 1 + klen;
	tnz_put32(crc, ck_crc32(ck_crc32(0, head, hlen), value, len));
	struct iovec iov[3] = {{head, hlen}, {(void *)value, len}, {crc, sizeof crc}};
	if (write_iov(w, iov, 3, err))
		return -1;
	w->metas++;
	return 0;
}

int ck_tnz_writer_begin(ck_tnz_writer *w, const char *name, ck_dtype dtype, int rank,
                        const int64_t *dims, int level, int shuffle, ck_err *err)
{
	if (writer_usable(w, err))
		return -1;
	if (w->in_tensor)
		return ck_err_set(err, "tensor \"%s\" is not ended", w->name);
	if (tnz_check_name(name, "tensor name", err))
		return -1;
	int rows_known = rank < 1 || dims[0] != CK_TNZ_ROWS_UNKNOWN;
	uint64_t row;
	if (tnz_check_shape(name, (int)dtype, rank, dims, rows_known, &row, err))
		return -1;
	if (!rows_known && row == 0)
		return ck_err_set(err, "tensor \"%s\": rows cannot be unknown when a row is empty",
		                  name);
	if (level == -1)
		level = w->level;
	if (shuffle == -1)
		shuffle = w->shuffle;
	if (level < 0 || level > 9)
		return ck_err_set(err, "tensor \"%s\": compression level %d is not 0..9", name, level);
	if (shuffle < -1 || shuffle > 1)
		return ck_err_set(err, "tensor \"%s\": shuffle option %d is not -1, 0 or 1", name,
		                  shuffle);
	if (shuffle == -1)
		shuffle = dtype == CK_DTYPE_F16 || dtype == CK_DTYPE_BF16 || dtype == CK_DTYPE_F32 ||
		          dtype == CK_DTYPE_F64;
	/* Stored data gains nothing from shuffling: record no filter. */
	int filter = shuffle && level > 0 ? TNZ_FILTER_SHUFFLE : TNZ_FILTER_NONE;

	size_t nlen = strlen(name);
	unsigned char body[TNZ_TENS_MAX] = {0};
	body[0] = (unsigned char)nlen;
	memcpy(body + 1, name, nlen);
	body[1 + nlen] = (unsigned char)dtype;
	body[2 + nlen] = (unsigned char)rank;
	body[3 + nlen] = (unsigned char)filter;
	for (int i = 0; i < rank; i++)
		tnz_put64(body + 6 + nlen + 8 * i,
		          i == 0 && !rows_known ? TNZ_ROWS_UNKNOWN : (uint64_t)dims[i]);
	if (write_record(w, TNZ_TENS, body, 6 + nlen + 8 * (size_t)rank, err))
		return -1;
	w->tensors++;

	w->in_tensor = 1;
	memcpy(w->name, name, nlen + 1);
	w->esize = ck_dtype_size((int)dtype);
	w->filter = filter;
	w->tlevel = level;
	w->rows_known = rows_known;
	w->row_bytes = row;
	w->rows = rows_known ? (rank >= 1 ? (uint64_t)dims[0] : 1) : 0;
	w->expect_bytes = w->rows * row;
	w->written = 0;
	w->tchunk = w->chunk_bytes / w->esize * w->esize;
	if (w->tchunk == 0)
		w->tchunk = w->esize;
	w->pending = 0;
	w->chunks[0].len = 0;
	return 0;
}

static void encode_job(void *ctx, int i)
{
	ck_tnz_writer *w = ctx;
	tnz_wchunk_encode(&w->chunks[i], w->esize, w->filter, w->tlevel);
}

/* Encodes the n first chunks in parallel and writes them in order. */
static int flush_chunks(ck_tnz_writer *w, int n, ck_err *err)
{
	tnz_wchunk *c = w->chunks;
	/* Stored chunks cost a CRC at memory speed: not worth starting threads. */
	tnz_parallel(n, w->tlevel > 0 || w->filter ? n : 1, encode_job, w);
	for (int first = 0; first < n; first += STORED_BATCH) { /* STORED_BATCH records a write */
		struct iovec iov[3 * STORED_BATCH];
		int m = n - first < STORED_BATCH ? n - first : STORED_BATCH;
		for (int i = 0; i < m; i++) {
			const tnz_wchunk *ci = &c[first + i];
			iov[3 * i] = (struct iovec){(void *)ci->head, sizeof ci->head};
			iov[3 * i + 1] = (struct iovec){(void *)ci->payload, ci->payload_len};
			iov[3 * i + 2] = (struct iovec){(void *)ci->crc, sizeof ci->crc};
		}
		if (write_iov(w, iov, 3 * m, err))
			return -1;
	}
	w->pending = 0;
	c[0].len = 0;
	return 0;
}

/* DATA records of codec 0 for the first n whole chunks of data (n at most
 * STORED_BATCH), written without a copy in one writev. */
static int write_stored(ck_tnz_writer *w, const unsigned char *data, int n, ck_err *err)
{
	unsigned char head[STORED_BATCH][TNZ_FRAME_HEAD + TNZ_DATA_PREFIX], crc[STORED_BATCH][TNZ_FRAME_CRC];
	struct iovec iov[3 * STORED_BATCH];
	size_t len = w->tchunk;
	for (int i = 0; i < n; i++, data += len) {
		memset(head[i], 0, sizeof head[i]);
		tnz_put32(head[i], TNZ_DATA);
		tnz_put32(head[i] + 4, (uint32_t)(TNZ_DATA_PREFIX + len));
		tnz_put32(head[i] + 12, (uint32_t)len);
		tnz_put32(crc[i], ck_crc32(ck_crc32(0, head[i], sizeof head[i]), data, len));
		iov[3 * i] = (struct iovec){head[i], sizeof head[i]};
		iov[3 * i + 1] = (struct iovec){(void *)data, len};
		iov[3 * i + 2] = (struct iovec){crc[i], sizeof crc[i]};
	}
	return write_iov(w, iov, 3 * n, err);
}

int ck_tnz_writer_data(ck_tnz_writer *w, const void *data, size_t nbytes, ck_err *err)
{
	if (writer_usable(w, err))
		return -1;
	if (!w->in_tensor)
		return ck_err_set(err, "data outside a tensor");
	uint64_t limit = w->rows_known ? w->expect_bytes : TNZ_SIZE_LIMIT;
	if (nbytes > limit - w->written) {
		ck_err_set(err, "tensor \"%s\": more data than its shape holds (%" PRIu64 " bytes)",
		           w->name, limit);
		return writer_fail(w, err);
	}
	const unsigned char *p = data;
	while (nbytes > 0) {
		/* Stored, nothing buffered, whole chunks given: write them from
		 * the caller's memory (the same bytes as through the buffer). */
		if (w->tlevel == 0 && w->pending == 0 && w->chunks[0].len == 0 && nbytes >= w->tchunk) {
			size_t whole = nbytes / w->tchunk;
			int n = whole < STORED_BATCH ? (int)whole : STORED_BATCH;
			if (write_stored(w, p, n, err))
				return -1;
			p += (size_t)n * w->tchunk;
			nbytes -= (size_t)n * w->tchunk;
			w->written += (uint64_t)n * w->tchunk;
			continue;
		}
		tnz_wchunk *c = &w->chunks[w->pending];
		if (c->len == 0 && tnz_wchunk_reserve(c, w->tchunk, w->filter, w->tlevel, err))
			return writer_fail(w, err);
		size_t take = w->tchunk - c->len;
		if (take > nbytes)
			take = nbytes;
		memcpy(c->raw + c->len, p, take);
		c->len += take;
		p += take;
		nbytes -= take;
		w->written += take;
		if (c->len == w->tchunk) {
			w->pending++;
			if (w->pending == w->threads) {
				if (flush_chunks(w, w->pending, err))
					return -1;
			} else {
				w->chunks[w->pending].len = 0;
			}
		}
	}
	return 0;
}

int ck_tnz_writer_end(ck_tnz_writer *w, ck_err *err)
{
	if (writer_usable(w, err))
		return -1;
	if (!w->in_tensor)
		return ck_err_set(err, "no tensor to end");
	int n = w->pending + (w->pending < w->threads && w->chunks[w->pending].len > 0);
	if (n > 0 && flush_chunks(w, n, err))
		return -1;
	uint64_t rows = w->rows;
	if (w->rows_known && w->written != w->expect_bytes) {
		ck_err_set(err,
		           "tensor \"%s\": size mismatch (%" PRIu64 " bytes written, its shape holds %" PRIu64 ")",
		           w->name, w->written, w->expect_bytes);
		return writer_fail(w, err);
	}
	if (!w->rows_known) {
		if (w->written % w->row_bytes) {
			ck_err_set(err,
			           "tensor \"%s\": %" PRIu64 " bytes is not a whole number of %" PRIu64 "-byte rows",
			           w->name, w->written, w->row_bytes);
			return writer_fail(w, err);
		}
		rows = w->written / w->row_bytes;
	}
	unsigned char body[8];
	tnz_put64(body, rows);
	if (write_record(w, TNZ_TEND, body, sizeof body, err))
		return -1;
	w->in_tensor = 0;
	return 0;
}

int ck_tnz_writer_tensor(ck_tnz_writer *w, const ck_tensor *t, ck_err *err)
{
	if (ck_tnz_writer_begin(w, t->name, t->dtype, t->rank, t->dims, -1, -1, err))
		return -1;
	uint64_t need = w->expect_bytes;
	if (t->nbytes != need) {
		ck_err_set(err, "tensor \"%s\": holds %zu bytes, its shape needs %" PRIu64, t->name,
		           t->nbytes, need);
		return writer_fail(w, err);
	}
	if (ck_tnz_writer_data(w, t->data, t->nbytes, err))
		return -1;
	return ck_tnz_writer_end(w, err);
}

int ck_tnz_writer_close(ck_tnz_writer *w, ck_err *err)
{
	int rc = writer_usable(w, err);
	if (rc == 0 && w->in_tensor)
		rc = ck_err_set(err, "tensor \"%s\" is not ended", w->name);
	if (rc == 0) {
		unsigned char body[8];
		tnz_put32(body, w->tensors);
		tnz_put32(body + 4, w->metas);
		rc = write_record(w, TNZ_FEND, body, sizeof body, err);
	}
	if (w->out && rc == 0)
		rc = ck_outfile_commit(w->out, err);
	else if (w->out)
		ck_outfile_abort(w->out);
	writer_free(w);
	return rc;
}

void ck_tnz_writer_abort(ck_tnz_writer *w)
{
	if (!w)
		return;
	ck_outfile_abort(w->out);
	writer_free(w);
}

int ck_tnz_save(const ck_tnz *t, const char *path, const ck_tnz_opts *opts, ck_err *err)
{
	ck_tnz_writer *w = ck_tnz_writer_open(path, opts, err);
	if (!w)
		return -1;
	for (size_t i = 0; i < t->meta.count; i++) {
		const ck_meta_entry *m = &t->meta.items[i];
		if (ck_tnz_writer_meta(w, m->key, m->value, m->len, err)) {
			ck_tnz_writer_abort(w);
			return -1;
		}
	}
	for (size_t i = 0; i < t->count; i++)
		if (ck_tnz_writer_tensor(w, &t->tensors[i], err)) {
			ck_tnz_writer_abort(w);
			return -1;
		}
	return ck_tnz_writer_close(w, err);
}
