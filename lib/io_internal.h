/* io_internal.h: pieces shared by the NumPy, IDX and CSV readers and writers
 * (lib/npy.c, npz.c, idx.c, csv.c). Not part of the public API. */
#ifndef CNNKIT_IO_INTERNAL_H
#define CNNKIT_IO_INTERNAL_H

#include "cnnkit.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "cnnkit's io code assumes a little-endian host"
#endif

/* ---- bytes --------------------------------------------------------------- */

static inline uint16_t ck_io_le16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}
static inline uint32_t ck_io_le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t ck_io_le64(const unsigned char *p)
{
	return (uint64_t)ck_io_le32(p) | (uint64_t)ck_io_le32(p + 4) << 32;
}
static inline uint32_t ck_io_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}
static inline void ck_io_put16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}
static inline void ck_io_put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> 8 * i);
}
static inline void ck_io_put64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> 8 * i);
}

/* Reverses the bytes of each of n elements of size elsize, in place. */
void ck_io_byteswap(void *data, size_t n, size_t elsize);
/* Exact conversions of half-precision bits to f32. */
float ck_io_f16_to_f32(uint16_t h);
float ck_io_bf16_to_f32(uint16_t h);

/* ---- tensors ------------------------------------------------------------- */

/* Element count and byte size of a shape, or -1 (err set) when it overflows
 * or a dim is negative. */
int ck_io_shape_bytes(int rank, const int64_t *dims, size_t elsize, int64_t *numel,
                      size_t *nbytes, ck_err *err);
/* Appends t to out under name, moving t's data (t->data becomes NULL). */
ck_tensor *ck_io_tnz_adopt(ck_tnz *out, const char *name, ck_tensor *t, ck_err *err);

/* ---- files --------------------------------------------------------------- */

/* Reads a whole file ("-" = standard input) into a malloc'ed buffer that has
 * one NUL byte after its len bytes. */
int ck_io_slurp(const char *path, unsigned char **buf, size_t *len, ck_err *err);

/* Writes the n pieces of iov to fd in order with writev(2), retrying after
 * a signal and a partial write; adds the bytes written to *count (if not
 * NULL). The iovecs are changed (advanced past what was written). */
struct iovec;
int ck_io_writev(int fd, struct iovec *iov, int n, uint64_t *count, ck_err *err);

/* ck_outfile_open (cnnkit/file.h) with its stream made: the writers
 * below write through stdio (npz seeks back to patch headers). binary: a
 * terminal is refused for "-". */
ck_outfile *ck_io_out_open(const char *path, int binary, ck_err *err);

/* ---- npy pieces used by npz ---------------------------------------------- */

/* Receives bytes of an encoding; returns 0 or -1 (err set). */
typedef int (*ck_io_sink)(void *ctx, const void *p, size_t n, ck_err *err);

/* Bytes of t's .npy encoding (header and data). */
uint64_t ck_io_npy_size(const ck_tensor *t);
/* Emits t's .npy encoding, in pieces, to sink. */
int ck_io_npy_emit(const ck_tensor *t, ck_io_sink sink, void *ctx, ck_err *err);
/* Decodes a .npy encoding held in buf, a malloc'ed buffer that this takes
 * over (freed on failure; reused as the tensor's data on success). */
int ck_io_npy_take(unsigned char *buf, size_t len, ck_tensor *out, ck_err *err);

/* ck_npz_write with the threshold at which sizes and offsets (and entry
 * counts, capped at 0xffff) switch to ZIP64 records: 0xffffffff normally,
 * lower in tests. */
int ck_io_npz_write_ex(const char *path, const ck_tnz *in, int level, uint64_t zip64_at,
                       ck_err *err);

#endif
