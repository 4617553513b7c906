/* tnz_read.c: the streaming TNZ reader (formats/tnz.md).
 *
 * Input is read front to back with read(2) through the reader's own buffer,
 * so a pipe works as well as a file. Every length is checked against its
 * tag's maximum before the body is read, and bodies are read in pieces into
 * buffers that grow with what has arrived (at most twice that, plus 64 KiB),
 * so a header that lies about a size costs nothing. A tensor's DATA records
 * are read ahead, up to one per thread, then checked and decoded in
 * parallel into their own buffers and handed out in order. From a regular
 * file, stored payloads are read in parallel too: the sequential reader
 * skips them, and threads pread() each into its place. The threads are
 * those of tnz_parallel, started for each batch.
 * Offsets in messages count bytes from the start of the stream. */
#include "cnnkit.h"
#include "tnz_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define IBUF_SIZE ((size_t)1 << 20) /* the input buffer */
#define GROW_MIN ((size_t)1 << 16)  /* first allocation for a body */
#define DIRECT_MIN ((size_t)1 << 16) /* read buffers this large get chunks in place */
/* What need() asks read(2) for beyond the bytes it must have: enough to
 * gather small records in one call, little enough that most of a large
 * payload bypasses ibuf (it is read straight into its destination). */
#define READ_AHEAD ((size_t)1 << 16)
#define CRC_PIECE ((size_t)1 << 18) /* stored payloads are read and checked in pieces */
#define TAIL_MIN ((size_t)1 << 16)  /* a stored payload left for pread is at least this */
/* Chunks a batch holds per thread while all are left for pread: long
 * batches, as the threads that read them are started for each batch. */
#define TAIL_BATCH 8

/* A stored payload that the sequential reader skipped: len bytes at file
 * offset at, to be read into place by the parallel part of fill(). len 0:
 * nothing left. */
typedef struct tail {
	uint64_t at;
	size_t len;
} tail;

struct ck_tnz_reader {
	int fd, own_fd;
	unsigned char *ibuf; /* unread input is ibuf[ipos .. ilen) */
	size_t ipos, ilen;
	int eof;
	uint64_t offset;    /* stream offset of ibuf[ipos] */
	uint64_t input_end; /* stream offset where a regular file ends; 0: unknown */
	int failed;      /* every later call repeats fail */
	ck_err fail;
	int done; /* the stream ended cleanly */

	int files;
	uint32_t file_tensors, file_metas;
	ck_meta meta;
	unsigned char *mbuf; /* META bodies */
	size_t mcap;

	/* The current tensor: in_tensor from its TENS, tensor_done at its TEND. */
	int in_tensor, tensor_done;
	ck_tnz_header cur;
	size_t esize;
	uint64_t row_bytes, declared_rows, rows; /* declared_rows if dims[0] known */
	uint64_t stored, raw;                    /* DATA body bytes; raw bytes checked */

	/* Chunks read ahead: slots[qhead .. qcount) hold decoded data; qpos is
	 * what was already handed out of slots[qhead]. */
	tnz_rchunk *slots;
	tail *tails; /* one per slot */
	int nslots, maxslots; /* threads; slots (TAIL_BATCH per thread) */
	int qhead, qcount;
	size_t qpos;
};

/* Records err as the reader's permanent failure. */
static int rfail(ck_tnz_reader *r, ck_err *err)
{
	r->failed = 1;
	if (err)
		r->fail = *err;
	else
		ck_err_set(&r->fail, "an earlier call failed");
	return -1;
}

static int rusable(ck_tnz_reader *r, ck_err *err)
{
	if (!r->failed)
		return 0;
	if (err)
		*err = r->fail;
	return -1;
}

/* ---- input ------------------------------------------------------------- */

static ssize_t read_some(ck_tnz_reader *r, void *dst, size_t n, ck_err *err)
{
	for (;;) {
		ssize_t k = read(r->fd, dst, n);
		if (k >= 0)
			return k;
		if (errno != EINTR)
			return ck_err_set(err, "read error: %s", strerror(errno));
	}
}

/* Makes n (<= IBUF_SIZE) bytes available in ibuf if the input has them.
 * Returns 1, 0 if the input ended first, -1 on a read error. */
static int need(ck_tnz_reader *r, size_t n, ck_err *err)
{
	if (r->ilen - r->ipos >= n)
		return 1;
	if (r->ipos > 0) {
		memmove(r->ibuf, r->ibuf + r->ipos, r->ilen - r->ipos);
		r->ilen -= r->ipos;
		r->ipos = 0;
	}
	while (r->ilen < n && !r->eof) {
		size_t want = n - r->ilen + READ_AHEAD;
		if (want > IBUF_SIZE - r->ilen)
			want = IBUF_SIZE - r->ilen;
		ssize_t k = read_some(r, r->ibuf + r->ilen, want, err);
		if (k < 0)
			return -1;
		if (k == 0)
			r->eof = 1;
		r->ilen += (size_t)k;
	}
	return r->ilen >= n;
}

static int truncated(ck_tnz_reader *r, ck_err *err)
{
	return ck_err_set(err, "truncated at offset %" PRIu64, r->offset + (r->ilen - r->ipos));
}

static void consume(ck_tnz_reader *r, size_t n)
{
	r->ipos += n;
	r->offset += n;
}

/* Copies the next n bytes of input to dst; large pieces bypass ibuf. */
static int take(ck_tnz_reader *r, unsigned char *dst, size_t n, ck_err *err)
{
	size_t have = r->ilen - r->ipos, k = have < n ? have : n;
	memcpy(dst, r->ibuf + r->ipos, k);
	consume(r, k);
	dst += k;
	n -= k;
	if (n == 0)
		return 0;
	if (n < READ_AHEAD) {
		int got = need(r, n, err);
		if (got <= 0)
			return got < 0 ? -1 : truncated(r, err);
		memcpy(dst, r->ibuf + r->ipos, n);
		consume(r, n);
		return 0;
	}
	while (n > 0) {
		ssize_t got = r->eof ? 0 : read_some(r, dst, n, err);
		if (got < 0)
			return -1;
		if (got == 0) {
			r->eof = 1;
			return truncated(r, err);
		}
		dst += got;
		n -= (size_t)got;
		r->offset += (uint64_t)got;
	}
	return 0;
}

/* Reads a body of len bytes into *buf, of which the first got are already
 * there, growing it only as bytes arrive. */
static int take_body_from(ck_tnz_reader *r, unsigned char **buf, size_t *cap, size_t got,
                          size_t len, ck_err *err)
{
	while (got < len || !*buf) {
		size_t want = got < GROW_MIN / 2 ? GROW_MIN : 2 * got;
		if (want > len)
			want = len;
		if (!*buf || *cap < want) {
			unsigned char *p = realloc(*buf, want ? want : 1);
			if (!p)
				return ck_err_set(err, "out of memory (%zu bytes)", want);
			*buf = p;
			*cap = want ? want : 1;
		}
		if (take(r, *buf + got, want - got, err))
			return -1;
		got = want;
	}
	return 0;
}

static int take_body(ck_tnz_reader *r, unsigned char **buf, size_t *cap, size_t len, ck_err *err)
{
	return take_body_from(r, buf, cap, 0, len, err);
}

/* ---- records ----------------------------------------------------------- */

typedef struct record {
	uint32_t tag, len;
	uint64_t offset;
	char name[5]; /* the tag, printable */
} record;

static int is_letter(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* Reads a record's frame and checks its length against the tag's limits. */
static int rec_head(ck_tnz_reader *r, record *rec, ck_err *err)
{
	int got = need(r, TNZ_FRAME_HEAD, err);
	if (got <= 0)
		return got < 0 ? -1 : truncated(r, err);
	const unsigned char *p = r->ibuf + r->ipos;
	rec->tag = tnz_get32(p);
	rec->len = tnz_get32(p + 4);
	rec->offset = r->offset;
	tnz_tag_str(rec->tag, rec->name);
	if (!is_letter(p[0]) || !is_letter(p[1]) || !is_letter(p[2]) || !is_letter(p[3]))
		return ck_err_set(err, "bad record tag (%02x %02x %02x %02x) at offset %" PRIu64, p[0],
		                  p[1], p[2], p[3], rec->offset);
	uint32_t min, max;
	switch (rec->tag) {
	case TNZ_HEAD: case TNZ_TEND: case TNZ_FEND: min = max = 8; break;
	case TNZ_META: min = 2; max = TNZ_META_MAX; break;
	case TNZ_TENS: min = 7; max = TNZ_TENS_MAX; break;
	case TNZ_DATA: min = TNZ_DATA_PREFIX + 1; max = TNZ_DATA_MAX; break;
	default:
		if (p[0] >= 'A' && p[0] <= 'Z')
			return ck_err_set(err, "unknown record \"%s\" at offset %" PRIu64, rec->name,
			                  rec->offset);
		min = 0;
		max = TNZ_ANCILLARY_MAX;
	}
	if (rec->len > max)
		return ck_err_set(err, "%s record too long (%" PRIu32 " bytes) at offset %" PRIu64,
		                  rec->name, rec->len, rec->offset);
	if (rec->len < min)
		return ck_err_set(err, "%s record too short (%" PRIu32 " bytes) at offset %" PRIu64,
		                  rec->name, rec->len, rec->offset);
	consume(r, TNZ_FRAME_HEAD);
	return 0;
}

static uint32_t frame_crc(const record *rec)
{
	unsigned char f[TNZ_FRAME_HEAD];
	tnz_put32(f, rec->tag);
	tnz_put32(f + 4, rec->len);
	return ck_crc32(0, f, sizeof f);
}

static int crc_mismatch(const record *rec, ck_err *err)
{
	return ck_err_set(err, "CRC mismatch in %s record at offset %" PRIu64, rec->name,
	                  rec->offset);
}

/* Reads the 4-byte CRC that follows a body and compares it with crc. */
static int check_crc(ck_tnz_reader *r, const record *rec, uint32_t crc, ck_err *err)
{
	unsigned char c[TNZ_FRAME_CRC];
	if (take(r, c, sizeof c, err))
		return -1;
	return tnz_get32(c) == crc ? 0 : crc_mismatch(rec, err);
}

/* Body and CRC of a small record (HEAD, TENS, TEND, FEND) into body. */
static int rec_small(ck_tnz_reader *r, const record *rec, unsigned char *body, ck_err *err)
{
	if (take(r, body, rec->len, err))
		return -1;
	return check_crc(r, rec, ck_crc32(frame_crc(rec), body, rec->len), err);
}

/* Checks an ancillary record's CRC without keeping its body. */
static int rec_skip(ck_tnz_reader *r, const record *rec, ck_err *err)
{
	uint32_t crc = frame_crc(rec);
	size_t left = rec->len;
	while (left > 0) {
		size_t piece = left < IBUF_SIZE ? left : IBUF_SIZE;
		int got = need(r, 1, err);
		if (got <= 0)
			return got < 0 ? -1 : truncated(r, err);
		size_t have = r->ilen - r->ipos;
		if (piece > have)
			piece = have;
		crc = ck_crc32(crc, r->ibuf + r->ipos, piece);
		consume(r, piece);
		left -= piece;
	}
	return check_crc(r, rec, crc, err);
}

/* Reads the magic and the HEAD record of a file. */
static int start_file(ck_tnz_reader *r, ck_err *err)
{
	int got = need(r, TNZ_MAGIC_LEN, err);
	if (got < 0)
		return -1;
	size_t have = r->ilen - r->ipos;
	if (have == 0 && r->files == 0)
		return ck_err_set(err, "empty file");
	int prefix = memcmp(r->ibuf + r->ipos, TNZ_MAGIC, have < 8 ? have : 8) == 0;
	if (!prefix) {
		if (r->files == 0)
			return ck_err_set(err, "not a TNZ file (bad magic)");
		return ck_err_set(err, "trailing data at offset %" PRIu64, r->offset);
	}
	if (!got)
		return truncated(r, err);
	consume(r, TNZ_MAGIC_LEN);

	record rec;
	unsigned char b[8];
	if (rec_head(r, &rec, err))
		return -1;
	if (rec.tag != TNZ_HEAD)
		return ck_err_set(err, "expected a HEAD record at offset %" PRIu64 ", found %s",
		                  rec.offset, rec.name);
	if (rec_small(r, &rec, b, err))
		return -1;
	unsigned major = tnz_get16(b), minor = tnz_get16(b + 2);
	uint32_t flags = tnz_get32(b + 4);
	if (major > TNZ_MAJOR)
		return ck_err_set(err, "version %u.%u is newer than this reader (%d.x)", major, minor,
		                  TNZ_MAJOR);
	if (major < TNZ_MAJOR)
		return ck_err_set(err, "version %u.%u is not a TNZ version", major, minor);
	if (flags)
		return ck_err_set(err, "unknown flags 0x%08" PRIx32 " in HEAD record at offset %" PRIu64,
		                  flags, rec.offset);
	r->files++;
	r->file_tensors = r->file_metas = 0;
	return 0;
}

/* ---- opening and closing ----------------------------------------------- */

ck_tnz_reader *ck_tnz_reader_fdopen(int fd, int threads, ck_err *err)
{
	ck_tnz_reader *r = calloc(1, sizeof *r);
	if (!r) {
		ck_err_set(err, "out of memory");
		return NULL;
	}
	r->fd = fd;
	struct stat st;
	off_t pos;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (pos = lseek(fd, 0, SEEK_CUR)) >= 0 &&
	    st.st_size > pos)
		r->input_end = (uint64_t)(st.st_size - pos);
	r->nslots = tnz_threads(threads);
	r->maxslots = r->nslots > 1 ? TAIL_BATCH * r->nslots : 1;
	r->ibuf = malloc(IBUF_SIZE);
	r->slots = calloc((size_t)r->maxslots, sizeof *r->slots);
	r->tails = calloc((size_t)r->maxslots, sizeof *r->tails);
	if (!r->ibuf || !r->slots || !r->tails) {
		ck_err_set(err, "out of memory");
		ck_tnz_reader_close(r);
		return NULL;
	}
	if (start_file(r, err)) {
		ck_tnz_reader_close(r);
		return NULL;
	}
	return r;
}

ck_tnz_reader *ck_tnz_reader_open(const char *path, int threads, ck_err *err)
{
	if (strcmp(path, "-") == 0)
		return ck_tnz_reader_fdopen(STDIN_FILENO, threads, err);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ck_err_set(err, "%s", strerror(errno));
		return NULL;
	}
	ck_tnz_reader *r = ck_tnz_reader_fdopen(fd, threads, err);
	if (!r) {
		close(fd);
		return NULL;
	}
	r->own_fd = 1;
	return r;
}

void ck_tnz_reader_close(ck_tnz_reader *r)
{
	if (!r)
		return;
	if (r->own_fd)
		close(r->fd);
	for (int i = 0; i < r->maxslots && r->slots; i++)
		tnz_rchunk_free(&r->slots[i]);
	free(r->slots);
	free(r->tails);
	free(r->ibuf);
	free(r->mbuf);
	ck_meta_free(&r->meta);
	free(r);
}

/* ---- records outside tensors ------------------------------------------- */

static int read_meta(ck_tnz_reader *r, const record *rec, ck_err *err)
{
	if (take_body(r, &r->mbuf, &r->mcap, rec->len, err) ||
	    check_crc(r, rec, ck_crc32(frame_crc(rec), r->mbuf, rec->len), err))
		return -1;
	const unsigned char *b = r->mbuf;
	size_t klen = b[0];
	if (klen == 0 || 1 + klen > rec->len)
		return ck_err_set(err, "bad key length %zu in META record at offset %" PRIu64, klen,
		                  rec->offset);
	char key[CK_TNZ_MAX_NAME + 1];
	memcpy(key, b + 1, klen);
	key[klen] = '\0';
	if (memchr(key, '\0', klen))
		return ck_err_set(err, "NUL byte in the key of the META record at offset %" PRIu64,
		                  rec->offset);
	size_t vlen = rec->len - 1 - klen;
	if (memchr(b + 1 + klen, '\0', vlen))
		return ck_err_set(err, "metadata \"%s\": NUL byte in the value at offset %" PRIu64, key,
		                  rec->offset);
	if (ck_meta_set(&r->meta, key, (const char *)b + 1 + klen, vlen, err))
		return -1;
	/* Do not keep a vocabulary-sized buffer for the rest of the stream. */
	if (r->mcap > IBUF_SIZE) {
		free(r->mbuf);
		r->mbuf = NULL;
		r->mcap = 0;
	}
	r->file_metas++;
	return 0;
}

static int read_tens(ck_tnz_reader *r, const record *rec, ck_tnz_header *h, ck_err *err)
{
	unsigned char b[TNZ_TENS_MAX];
	if (rec_small(r, rec, b, err))
		return -1;
	size_t nlen = b[0];
	if (nlen == 0 || 6 + nlen > rec->len)
		return ck_err_set(err, "bad name length %zu in TENS record at offset %" PRIu64, nlen,
		                  rec->offset);
	memset(h, 0, sizeof *h);
	memcpy(h->name, b + 1, nlen);
	if (memchr(h->name, '\0', nlen))
		return ck_err_set(err, "NUL byte in the name of the TENS record at offset %" PRIu64,
		                  rec->offset);
	const char *name = h->name;
	const unsigned char *p = b + 1 + nlen;
	int dtype = p[0], rank = p[1], filter = p[2];
	if (ck_dtype_size(dtype) == 0)
		return ck_err_set(err, "tensor \"%s\": unknown dtype %d", name, dtype);
	if (rank > CK_TNZ_MAX_RANK)
		return ck_err_set(err, "tensor \"%s\": rank %d is above %d", name, rank,
		                  CK_TNZ_MAX_RANK);
	if (filter != TNZ_FILTER_NONE && filter != TNZ_FILTER_SHUFFLE)
		return ck_err_set(err, "tensor \"%s\": unknown filter %d", name, filter);
	if (p[3] || p[4])
		return ck_err_set(err, "tensor \"%s\": non-zero reserved byte in TENS record at offset %" PRIu64,
		                  name, rec->offset);
	if (rec->len != 6 + nlen + 8 * (size_t)rank)
		return ck_err_set(err, "tensor \"%s\": TENS record of %" PRIu32
		                       " bytes does not match rank %d at offset %" PRIu64,
		                  name, rec->len, rank, rec->offset);
	int rows_known = 1;
	for (int i = 0; i < rank; i++) {
		uint64_t d = tnz_get64(p + 5 + 8 * i);
		if (i == 0 && d == TNZ_ROWS_UNKNOWN) {
			rows_known = 0;
			h->dims[0] = CK_TNZ_ROWS_UNKNOWN;
			continue;
		}
		if (d >= (i == 0 ? (uint64_t)INT64_MAX : TNZ_DIM_LIMIT))
			return ck_err_set(err, "tensor \"%s\": too large (dimension %d is %" PRIu64 ")",
			                  name, i, d);
		h->dims[i] = (int64_t)d;
	}
	if (tnz_check_shape(name, dtype, rank, h->dims, rows_known, &r->row_bytes, err))
		return -1;
	h->dtype = (ck_dtype)dtype;
	h->rank = rank;
	h->filter = filter;
	h->file_index = r->files - 1;

	r->cur = *h;
	r->esize = ck_dtype_size(dtype);
	r->declared_rows = !rows_known ? TNZ_ROWS_UNKNOWN : rank ? (uint64_t)h->dims[0] : 1;
	r->rows = 0;
	r->stored = r->raw = 0;
	r->qhead = r->qcount = 0;
	r->qpos = 0;
	r->in_tensor = 1;
	r->tensor_done = 0;
	r->file_tensors++;
	return 0;
}

static int read_fend(ck_tnz_reader *r, const record *rec, ck_err *err)
{
	unsigned char b[8];
	if (rec_small(r, rec, b, err))
		return -1;
	uint32_t tensors = tnz_get32(b), metas = tnz_get32(b + 4);
	if (tensors != r->file_tensors || metas != r->file_metas)
		return ck_err_set(err,
		                  "FEND record at offset %" PRIu64 " counts %" PRIu32 " tensors and %" PRIu32
		                  " metadata records, the file has %" PRIu32 " and %" PRIu32,
		                  rec->offset, tensors, metas, r->file_tensors, r->file_metas);
	return 0;
}

/* ---- tensor data ------------------------------------------------------- */

/* Reads the TEND body into rows after its chunks were checked. */
static int read_tend(ck_tnz_reader *r, const record *rec, ck_err *err)
{
	unsigned char b[8];
	if (rec_small(r, rec, b, err))
		return -1;
	const char *name = r->cur.name;
	uint64_t rows = tnz_get64(b), total;
	if (r->declared_rows != TNZ_ROWS_UNKNOWN && rows != r->declared_rows)
		return ck_err_set(err, "tensor \"%s\": size mismatch (TEND says %" PRIu64
		                       " rows, the header %" PRIu64 ") at offset %" PRIu64,
		                  name, rows, r->declared_rows, rec->offset);
	if (rows > (uint64_t)INT64_MAX || __builtin_mul_overflow(rows, r->row_bytes, &total) ||
	    total > TNZ_SIZE_LIMIT)
		return ck_err_set(err, "tensor \"%s\": too large (%" PRIu64 " rows of %" PRIu64
		                       " bytes) at offset %" PRIu64,
		                  name, rows, r->row_bytes, rec->offset);
	if (total != r->raw)
		return ck_err_set(err, "tensor \"%s\": size mismatch (%" PRIu64 " rows need %" PRIu64
		                       " bytes, the chunks hold %" PRIu64 ") at offset %" PRIu64,
		                  name, rows, total, r->raw, rec->offset);
	r->rows = rows;
	r->tensor_done = 1;
	return 0;
}

/* Reads the body and CRC of a DATA record into c. With a destination
 * (*dst, *room bytes), a chunk that fits is decoded straight into it (a
 * stored payload is even read into it) and the destination advances; the
 * first chunk that does not fit ends direct placement for the batch. The
 * prefix steers placement before the CRC is checked: a lie there only
 * misplaces bytes of a record that then fails its CRC. */
static int take_chunk(ck_tnz_reader *r, tnz_rchunk *c, tail *t, const record *rec,
                      unsigned char **dst, size_t *room, ck_err *err)
{
	t->len = 0;
	tnz_put32(c->frame, rec->tag);
	tnz_put32(c->frame + 4, rec->len);
	c->offset = rec->offset;
	c->len = rec->len;
	c->direct = NULL;
	c->in_body = rec->len;
	size_t got = 0;
	if (*dst) {
		if (take_body(r, &c->body, &c->body_cap, TNZ_DATA_PREFIX, err))
			return -1;
		got = TNZ_DATA_PREFIX;
		size_t raw = tnz_get32(c->body + 4), plen = rec->len - TNZ_DATA_PREFIX;
		int shuffled = r->cur.filter == TNZ_FILTER_SHUFFLE && r->esize > 1;
		if (raw == 0 || raw > CK_TNZ_MAX_CHUNK || raw > *room) {
			*dst = NULL;
		} else {
			c->direct = *dst;
			*dst += raw;
			*room -= raw;
			if (c->body[0] == TNZ_CODEC_STORED && plen == raw && !shuffled) {
				/* Each piece is checksummed as it arrives, while it is
				 * still in the cache: a second pass over the chunk from
				 * memory cost as much as reading it. */
				uint32_t crc = ck_crc32(frame_crc(rec), c->body, TNZ_DATA_PREFIX);
				size_t have = r->ilen - r->ipos, at = 0;
				if (r->nslots > 1 && r->input_end && have < plen && plen - have >= TAIL_MIN &&
				    r->offset + plen + TNZ_FRAME_CRC <= r->input_end) {
					/* The payload is skipped, for a thread to read
					 * (read_tail), all of it: what ibuf holds of it is
					 * dropped, not copied into place. A copy here would
					 * touch the fresh destination on this thread, and the
					 * page faults (the zeroing of new pages) are the
					 * largest cost of a stored load: done here, they took
					 * half the zeroing off the parallel part. */
					consume(r, have);
					size_t rest = plen - have;
					off_t end = lseek(r->fd, (off_t)rest, SEEK_CUR);
					if (end < 0)
						return ck_err_set(err, "seek error: %s", strerror(errno));
					*t = (tail){(uint64_t)end - plen, plen};
					r->offset += rest;
					at = plen;
				}
				for (; at < plen; at += CRC_PIECE) {
					size_t piece = plen - at < CRC_PIECE ? plen - at : CRC_PIECE;
					if (take(r, c->direct + at, piece, err))
						return -1;
					crc = ck_crc32(crc, c->direct + at, piece);
				}
				c->computed = crc;
				c->in_body = TNZ_DATA_PREFIX;
				got = rec->len;
			}
		}
	}
	unsigned char crc[TNZ_FRAME_CRC];
	if ((got < rec->len && take_body_from(r, &c->body, &c->body_cap, got, rec->len, err)) ||
	    take(r, crc, sizeof crc, err))
		return -1;
	c->crc = tnz_get32(crc);
	return 0;
}

/* Reads the skipped part of a stored payload into its place with pread,
 * checksumming it piece by piece, as take_chunk does; on failure marks the
 * chunk failed. */
static int read_tail(int fd, tnz_rchunk *c, tail *t)
{
	uint32_t crc = c->computed;
	for (size_t at = 0; at < t->len;) {
		size_t piece = t->len - at < CRC_PIECE ? t->len - at : CRC_PIECE;
		ssize_t k = pread(fd, c->direct + at, piece, (off_t)(t->at + at));
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			c->failed = 1;
			if (k < 0)
				return ck_err_set(&c->err, "read error: %s", strerror(errno));
			return ck_err_set(&c->err, "truncated at offset %" PRIu64,
			                  c->offset + TNZ_FRAME_HEAD + TNZ_DATA_PREFIX + at);
		}
		crc = ck_crc32(crc, c->direct + at, (size_t)k);
		at += (size_t)k;
	}
	c->computed = crc;
	t->len = 0;
	return 0;
}

/* What the threads of fill() share. */
typedef struct batch {
	ck_tnz_reader *r;
	int decode;
} batch;

/* Chunk i of a batch: the rest of its stored payload read if it was left
 * (a failure marks the chunk failed), then checked and decoded. */
static void chunk_job(void *ctx, int i)
{
	batch *b = ctx;
	ck_tnz_reader *r = b->r;
	if (r->tails[i].len && read_tail(r->fd, &r->slots[i], &r->tails[i]) < 0)
		return;
	tnz_rchunk_decode(&r->slots[i], r->cur.name, r->esize, r->cur.filter, b->decode);
}

/* Reads a batch of DATA records (stopping at TEND): one per thread, or up
 * to TAIL_BATCH per thread while their stored payloads are left for pread.
 * Then reads those, checks and, if decode is set, decodes the chunks in
 * parallel; with dst, chunks that fit go straight into dst[0..cap) and
 * *placed counts their bytes. Errors are reported in stream order: a bad
 * chunk before a bad record is the one named. */
static int fill(ck_tnz_reader *r, int decode, unsigned char *dst, size_t cap, size_t *placed,
                ck_err *err)
{
	r->qhead = r->qcount = 0;
	r->qpos = 0;
	unsigned char *next = dst;
	size_t room = cap;
	record rec = {0};
	ck_err later = {{0}};
	int stop = 0; /* 1: TEND met, -1: an error in later */
	/* One chunk per thread, and more while their payloads are left for
	 * pread. */
	while (r->qcount < r->nslots ||
	       (r->qcount < r->maxslots && r->tails[r->qcount - 1].len)) {
		if (rec_head(r, &rec, &later)) {
			stop = -1;
			break;
		}
		if (rec.tag == TNZ_TEND) {
			stop = 1;
			break;
		}
		if (rec.tag != TNZ_DATA) {
			ck_err_set(&later, "tensor \"%s\": %s record before its TEND at offset %" PRIu64,
			           r->cur.name, rec.name, rec.offset);
			stop = -1;
			break;
		}
		if (take_chunk(r, &r->slots[r->qcount], &r->tails[r->qcount], &rec, &next, &room,
		               &later)) {
			stop = -1;
			break;
		}
		r->stored += rec.len;
		r->qcount++;
	}

	int n = r->qcount;
	tnz_rchunk *slots = r->slots;
	const char *name = r->cur.name;
	/* Threads pay off for reading payloads, inflating and unshuffling, not
	 * for the CRC of stored chunks alone. (The codec byte is not checked
	 * yet: it only chooses the thread count here.) */
	int work = decode && r->cur.filter == TNZ_FILTER_SHUFFLE && r->esize > 1;
	for (int i = 0; i < n && !work; i++)
		work = r->tails[i].len || (decode && slots[i].body[0] != TNZ_CODEC_STORED);
	tnz_parallel(n, work ? r->nslots : 1, chunk_job, &(batch){r, decode});

	uint64_t limit = r->declared_rows != TNZ_ROWS_UNKNOWN ? r->declared_rows * r->row_bytes
	                                                      : TNZ_SIZE_LIMIT;
	for (int i = 0; i < n; i++) {
		if (slots[i].failed) {
			if (err)
				*err = slots[i].err;
			return -1;
		}
		if (slots[i].raw > limit - r->raw)
			return ck_err_set(err, "tensor \"%s\": size mismatch (the chunks hold more than %" PRIu64
			                       " bytes) at offset %" PRIu64,
			                  name, limit, slots[i].offset);
		r->raw += slots[i].raw;
	}
	/* Chunks placed in dst are already handed out. */
	while (r->qhead < n && slots[r->qhead].direct)
		r->qhead++;
	if (placed)
		*placed = cap - room;
	if (stop < 0) {
		if (err)
			*err = later;
		return -1;
	}
	/* The chunks before it are good: now TEND (its rows against their sum). */
	return stop > 0 ? read_tend(r, &rec, err) : 0;
}

/* Reads (and checks without decoding) what is left of the current tensor. */
static int skip_rest(ck_tnz_reader *r, ck_err *err)
{
	while (!r->tensor_done)
		if (fill(r, 0, NULL, 0, NULL, err))
			return -1;
	r->qhead = r->qcount = 0;
	return 0;
}

int ck_tnz_reader_skip(ck_tnz_reader *r, ck_err *err)
{
	if (rusable(r, err))
		return -1;
	if (!r->in_tensor)
		return ck_err_set(err, "no current tensor");
	return skip_rest(r, err) ? rfail(r, err) : 0;
}

int ck_tnz_reader_next(ck_tnz_reader *r, ck_tnz_header *h, ck_err *err)
{
	if (rusable(r, err))
		return -1;
	if (r->done)
		return 0;
	if (r->in_tensor && skip_rest(r, err))
		return rfail(r, err);
	r->in_tensor = 0;
	for (;;) {
		record rec;
		if (rec_head(r, &rec, err))
			return rfail(r, err);
		switch (rec.tag) {
		case TNZ_META:
			if (read_meta(r, &rec, err))
				return rfail(r, err);
			break;
		case TNZ_TENS:
			return read_tens(r, &rec, h, err) ? rfail(r, err) : 1;
		case TNZ_FEND:
			if (read_fend(r, &rec, err))
				return rfail(r, err);
			/* The end of the stream, or the magic of the next file. */
			int more = need(r, 1, err);
			if (more < 0)
				return rfail(r, err);
			if (!more) {
				r->done = 1;
				return 0;
			}
			if (start_file(r, err))
				return rfail(r, err);
			break;
		case TNZ_HEAD:
			ck_err_set(err, "unexpected HEAD record at offset %" PRIu64, rec.offset);
			return rfail(r, err);
		case TNZ_DATA:
		case TNZ_TEND:
			ck_err_set(err, "%s record outside a tensor at offset %" PRIu64, rec.name,
			           rec.offset);
			return rfail(r, err);
		default: /* ancillary: rec_head refused unknown critical tags */
			if (rec_skip(r, &rec, err))
				return rfail(r, err);
		}
	}
}

int64_t ck_tnz_reader_read(ck_tnz_reader *r, void *buf, size_t cap, ck_err *err)
{
	if (rusable(r, err))
		return -1;
	if (!r->in_tensor)
		return ck_err_set(err, "no current tensor");
	if (cap == 0)
		return ck_err_set(err, "reading into a buffer of 0 bytes");
	for (;;) {
		if (r->qhead < r->qcount) {
			tnz_rchunk *c = &r->slots[r->qhead];
			size_t n = c->raw - r->qpos;
			if (n > cap)
				n = cap;
			memcpy(buf, c->data + r->qpos, n);
			r->qpos += n;
			if (r->qpos == c->raw) {
				r->qhead++;
				r->qpos = 0;
			}
			return (int64_t)n;
		}
		if (r->tensor_done)
			return 0;
		/* A buffer that can take whole chunks gets them without a copy. */
		size_t placed = 0;
		if (fill(r, 1, cap >= DIRECT_MIN ? buf : NULL, cap, &placed, err))
			return rfail(r, err);
		if (placed)
			return (int64_t)placed;
	}
}

int64_t ck_tnz_reader_rows(const ck_tnz_reader *r)
{
	return r->tensor_done ? (int64_t)r->rows : -1;
}

void ck_tnz_reader_sizes(const ck_tnz_reader *r, int64_t *stored, int64_t *raw)
{
	if (stored)
		*stored = (int64_t)r->stored;
	if (raw)
		*raw = (int64_t)r->raw;
}

const ck_meta *ck_tnz_reader_meta(const ck_tnz_reader *r)
{
	return &r->meta;
}

uint64_t tnz_reader_input_left(const ck_tnz_reader *r)
{
	return r->input_end > r->offset ? r->input_end - r->offset : 0;
}

int ck_tnz_reader_files(const ck_tnz_reader *r)
{
	return r->files;
}
