/* tnz_internal.h: what the TNZ reader, writer and in-memory code share and
 * nobody else needs: record tags, body limits, little-endian access, the
 * chunk codec and validation of names and shapes (formats/tnz.md). */
#ifndef CNNKIT_TNZ_INTERNAL_H
#define CNNKIT_TNZ_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "cnnkit/tnz.h"

/* "\x89TNZ\r\n\x1a\n", section 3. */
#define TNZ_MAGIC "\x89TNZ\r\n\x1a\n"
#define TNZ_MAGIC_LEN 8
#define TNZ_MAJOR 1
#define TNZ_MINOR 0

/* A record is tag (4) + length (4) + body + crc (4). */
#define TNZ_FRAME_HEAD 8
#define TNZ_FRAME_CRC 4

/* Tags as the u32 read little-endian from their four letters. */
#define TNZ_TAG(a, b, c, d) \
	((uint32_t)(a) | (uint32_t)(b) << 8 | (uint32_t)(c) << 16 | (uint32_t)(d) << 24)
#define TNZ_HEAD TNZ_TAG('H', 'E', 'A', 'D')
#define TNZ_META TNZ_TAG('M', 'E', 'T', 'A')
#define TNZ_TENS TNZ_TAG('T', 'E', 'N', 'S')
#define TNZ_DATA TNZ_TAG('D', 'A', 'T', 'A')
#define TNZ_TEND TNZ_TAG('T', 'E', 'N', 'D')
#define TNZ_FEND TNZ_TAG('F', 'E', 'N', 'D')

/* Limits of section 6 and the body lengths of section 4. */
#define TNZ_DIM_LIMIT ((uint64_t)1 << 48)   /* dims[1..] must be below */
#define TNZ_SIZE_LIMIT ((uint64_t)1 << 62)  /* bytes of one tensor */
#define TNZ_ROWS_UNKNOWN UINT64_MAX         /* dims[0] on disk when streamed */
#define TNZ_DATA_PREFIX 8                   /* codec, 3 reserved, raw */
#define TNZ_DATA_MAX (TNZ_DATA_PREFIX + CK_TNZ_MAX_CHUNK)
#define TNZ_META_MAX (1 + CK_TNZ_MAX_NAME + CK_TNZ_MAX_META)
#define TNZ_ANCILLARY_MAX ((uint32_t)1 << 28)
#define TNZ_TENS_MAX (6 + CK_TNZ_MAX_NAME + 8 * CK_TNZ_MAX_RANK)

/* DATA codecs and TENS filters. */
#define TNZ_CODEC_STORED 0
#define TNZ_CODEC_ZLIB 1
#define TNZ_FILTER_NONE 0
#define TNZ_FILTER_SHUFFLE 1

static inline void tnz_put16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}

static inline void tnz_put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static inline void tnz_put64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static inline uint16_t tnz_get16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t tnz_get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t tnz_get64(const unsigned char *p)
{
	return (uint64_t)tnz_get32(p) | (uint64_t)tnz_get32(p + 4) << 32;
}

/* The four letters of a tag as a printable string (non-letters become '?'). */
void tnz_tag_str(uint32_t tag, char out[5]);

/* Name or key: 1 .. CK_TNZ_MAX_NAME bytes (a C string has no NUL inside).
 * what is "tensor name" or "metadata key", for the message. */
int tnz_check_name(const char *name, const char *what, ck_err *err);
/* A metadata key and value (len bytes; (size_t)-1: up to the NUL, len set)
 * as a META record takes them: 0, or -1 with err set. */
int tnz_check_meta(const char *key, const char *value, size_t *len, ck_err *err);

/* Checks a shape and computes its row size (bytes of dims[1..] times the
 * element size; the element size for rank 0). rows_known: dims[0] holds the
 * row count (else it is CK_TNZ_ROWS_UNKNOWN and only the row size is checked).
 * Rejects an unknown dtype, a rank over 8, negative dims, dims[1..] not below
 * 2^48, a row size or total over 2^62 bytes. Messages start "tensor "name": ". */
int tnz_check_shape(const char *name, int dtype, int rank, const int64_t *dims, int rows_known,
                    uint64_t *row_bytes, ck_err *err);

/* Appends a tensor whose fields are already set (data owned by t from now
 * on) to the stream; the caller has checked name and shape. */
ck_tensor *tnz_push_tensor(ck_tnz *t, const ck_tensor *x, ck_err *err);

/* Filter 1 of section 4.4 over one chunk of n bytes of s-byte elements:
 * byte j of element i goes to j*e + i (e = n / s). dst and src do not overlap. */
void tnz_shuffle(unsigned char *dst, const unsigned char *src, size_t n, size_t s);
void tnz_unshuffle(unsigned char *dst, const unsigned char *src, size_t n, size_t s);

/* Threads to use for a requested count (0 = every core; 1 without OpenMP). */
int tnz_threads(int threads);

/* Calls job(ctx, i) for every i in [0, n) on up to `threads` threads, the
 * caller's among them (fewer if some cannot be started), and returns when
 * all are done. The threads are plain POSIX threads started for the call:
 * the idle threads of an OpenMP team spin for milliseconds after each
 * parallel region, which between the short, frequent batches of TNZ I/O
 * cost as much CPU time as the work itself. */
void tnz_parallel(int n, int threads, void (*job)(void *ctx, int i), void *ctx);

/* Bytes of input not yet consumed by the reader when it reads a regular
 * file (its size at open, so a bound for stored data, not a promise); 0 when
 * unknown (a pipe, a terminal) or at the end. */
uint64_t tnz_reader_input_left(const ck_tnz_reader *r);

/* ---- the chunk codec (tnz_codec.c) ---- */

/* One chunk on the writer's side: raw bytes in, a DATA record out. The
 * record is head (frame + DATA prefix), payload, crc. */
typedef struct tnz_wchunk {
	unsigned char *raw;  /* cap bytes: the chunk as given */
	unsigned char *shuf; /* cap bytes: the shuffled chunk (filter 1), or NULL */
	unsigned char *zbuf; /* zcap bytes: deflate output (level > 0), or NULL */
	size_t cap, scap, zcap, len;
	unsigned char head[TNZ_FRAME_HEAD + TNZ_DATA_PREFIX];
	const unsigned char *payload; /* raw, shuf or zbuf */
	size_t payload_len;
	unsigned char crc[TNZ_FRAME_CRC];
} tnz_wchunk;

/* Allocates the buffers the chunk needs for cap raw bytes with this filter
 * and level (kept across calls; grows only). */
int tnz_wchunk_reserve(tnz_wchunk *c, size_t cap, int filter, int level, ck_err *err);
/* Builds the record of c->raw[0..len): shuffle (filter 1), deflate at level
 * (codec 0 when level is 0 or deflate does not make it smaller), CRC. Never
 * fails once reserved. Thread-safe across distinct chunks. */
void tnz_wchunk_encode(tnz_wchunk *c, size_t esize, int filter, int level);
void tnz_wchunk_free(tnz_wchunk *c);

/* One chunk on the reader's side: a DATA record read, its bytes decoded. */
typedef struct tnz_rchunk {
	unsigned char frame[TNZ_FRAME_HEAD]; /* tag and length, for the CRC */
	unsigned char *body; /* the DATA body (the first in_body of its len bytes) */
	size_t len, in_body, body_cap;
	unsigned char *direct; /* the caller's buffer for the decoded bytes, or NULL;
	                          a stored payload not in body is there */
	uint32_t crc;    /* the record's stored CRC */
	uint32_t computed; /* the CRC of the record when in_body < len: the reader
	                      computes it piece by piece as the payload arrives */
	uint64_t offset; /* of the record in the stream */
	unsigned char *out, *tmp; /* decoded / inflated-before-unshuffle bytes */
	size_t out_cap, tmp_cap;
	const unsigned char *data; /* the decoded chunk: body + 8, out, tmp or direct */
	size_t raw;                /* its size (from the prefix) */
	ck_err err;
	int failed;
} tnz_rchunk;

/* Checks the CRC and the DATA prefix, and if decode is set inflates (never
 * past raw bytes; buffers grow with what inflate produces) and unshuffles.
 * Messages name the tensor and the record offset. Thread-safe across
 * distinct chunks; on failure sets c->failed and c->err and returns -1. */
int tnz_rchunk_decode(tnz_rchunk *c, const char *name, size_t esize, int filter, int decode);
void tnz_rchunk_free(tnz_rchunk *c);

#endif
