/* cnnkit/tnz.h: the TNZ tensor file format (formats/tnz.md).
 *
 * Three levels:
 *   - ck_tensor, ck_meta, ck_tnz: tensors and metadata in memory, and whole
 *     files loaded or saved at once (ck_tnz_load, ck_tnz_save);
 *   - ck_tnz_writer: a streaming writer (a tensor's first dimension may grow
 *     chunk by chunk; output may be a pipe);
 *   - ck_tnz_reader: a streaming reader (tensors one after another, data read
 *     in pieces; input may be a pipe; concatenated files read as one stream).
 * Compression and decompression of chunks are spread over OpenMP threads. */
#ifndef CNNKIT_TNZ_H
#define CNNKIT_TNZ_H

#include <stddef.h>
#include <stdint.h>

#include "base.h"

#define CK_TNZ_MAX_RANK 8
#define CK_TNZ_MAX_NAME 255             /* bytes of a tensor name or metadata key */
#define CK_TNZ_MAX_META (1u << 28)      /* bytes of one metadata value */
#define CK_TNZ_MAX_CHUNK (1u << 26)     /* raw bytes of one DATA chunk */
#define CK_TNZ_DEFAULT_CHUNK (1u << 22) /* what the writer uses by default */
#define CK_TNZ_ROWS_UNKNOWN (-1)        /* dims[0] of a tensor being streamed */

/* ---- metadata ---------------------------------------------------------- */

typedef struct ck_meta_entry {
	char *key;   /* NUL-terminated */
	char *value; /* NUL-terminated; len bytes before the NUL */
	size_t len;
} ck_meta_entry;

/* Key/value strings, in the order first set; setting a key again replaces
 * its value. Zero-initialise ({0}) before use. */
typedef struct ck_meta {
	ck_meta_entry *items;
	size_t count, cap;
} ck_meta;

/* The value of key, or NULL; *len (if not NULL) receives its length. */
const char *ck_meta_get(const ck_meta *m, const char *key, size_t *len);
/* Sets key to value[0..len) (len == (size_t)-1: strlen). Rejects empty or
 * over-long keys, NUL bytes in key or value and values over CK_TNZ_MAX_META. */
int ck_meta_set(ck_meta *m, const char *key, const char *value, size_t len, ck_err *err);
/* Removes key; returns 1 if it was there, 0 if not. */
int ck_meta_remove(ck_meta *m, const char *key);
/* Copies every entry of src into dst (replacing equal keys). */
int ck_meta_merge(ck_meta *dst, const ck_meta *src, ck_err *err);
void ck_meta_free(ck_meta *m);

/* ---- tensors in memory ------------------------------------------------- */

typedef struct ck_tensor {
	char name[CK_TNZ_MAX_NAME + 1];
	ck_dtype dtype;
	int rank;                      /* 0 .. CK_TNZ_MAX_RANK */
	int64_t dims[CK_TNZ_MAX_RANK]; /* row-major; dims[0] = rows (rank >= 1) */
	void *data;                    /* nbytes bytes, malloc'ed, owned; may be NULL
	                                * when nbytes is 0 (ck_tnz_load of an empty tensor) */
	size_t nbytes;
} ck_tensor;

/* Number of elements: the product of the dims (1 for rank 0). */
int64_t ck_tensor_numel(const ck_tensor *t);
/* Bytes of one row: product of dims[1..] times the element size (the
 * element size for rank 0). */
size_t ck_tensor_row_bytes(const ck_tensor *t);
/* "(60000, 1, 28, 28)" into buf, numpy style: "(5,)" for rank 1, "()" for
 * rank 0, "?" for an unknown (negative) dimension; cut to fit cap. */
void ck_tensor_shape_str(const ck_tensor *t, char *buf, size_t cap);

/* A whole stream in memory: its metadata and its tensors (same-name tensors
 * already appended along dims[0], formats/tnz.md section 5). Zero-initialise. */
typedef struct ck_tnz {
	ck_meta meta;
	ck_tensor *tensors;
	size_t count, cap;
} ck_tnz;

/* Reads a whole stream; path "-" is standard input. threads 0 = all. *out
 * need not be initialised: it is overwritten, and left empty on failure.
 * Memory grows with the data that arrives, never from a header's claims. */
int ck_tnz_load(ck_tnz *out, const char *path, int threads, ck_err *err);
/* The tensor called name, or NULL. */
ck_tensor *ck_tnz_find(const ck_tnz *t, const char *name);
/* Adds a tensor (name must be new) with the given shape; its data is a copy
 * of data, or zeroed when data is NULL. Returns it, or NULL on error. The
 * pointer is valid until the next ck_tnz_add or ck_tnz_remove. */
ck_tensor *ck_tnz_add(ck_tnz *t, const char *name, ck_dtype dtype, int rank,
                      const int64_t *dims, const void *data, ck_err *err);
/* Removes the tensor called name; returns 1 if it was there. */
int ck_tnz_remove(ck_tnz *t, const char *name);
void ck_tnz_free(ck_tnz *t);

/* ---- writing ----------------------------------------------------------- */

typedef struct ck_tnz_opts {
	int level;          /* zlib level 0..9; 0 = stored. Default 1. */
	int shuffle;        /* -1 auto (on for float dtypes), 0 off, 1 on */
	int threads;        /* compression threads; 0 = all */
	size_t chunk_bytes; /* raw bytes per chunk; 0 = CK_TNZ_DEFAULT_CHUNK */
} ck_tnz_opts;
#define CK_TNZ_OPTS_DEFAULT ((ck_tnz_opts){1, -1, 0, 0})

/* Writes meta then every tensor, atomically (temporary file + rename); path
 * "-" is standard output (refused when it is a terminal). opts may be NULL.
 *
 * Writing to a closed pipe raises SIGPIPE, whose default action ends the
 * process quietly (what most pipeline stages want). A program that must see
 * the failure as an error (EPIPE, "write error: Broken pipe") ignores
 * SIGPIPE. A full disk (ENOSPC) is always an error. */
int ck_tnz_save(const ck_tnz *t, const char *path, const ck_tnz_opts *opts, ck_err *err);

typedef struct ck_tnz_writer ck_tnz_writer;

/* Opens path for writing: a temporary file ".<name>.tmpXXXXXX" beside it
 * (mode 0666 less the umask), fsync'ed and renamed into place by
 * ck_tnz_writer_close, so that no partial file ever carries the final name.
 * A path that exists and is not a regular file (/dev/null, a FIFO) is written
 * directly. "-" writes standard output (refused when it is a terminal). opts
 * may be NULL.
 *
 * Output bytes depend on the data and on level, shuffle and chunk_bytes,
 * never on the thread count. Argument errors (a bad name, dtype or shape, a
 * call out of order) leave the writer usable; any other error (a write error,
 * more or fewer bytes than the shape holds) is final: every later call
 * repeats it and close removes the temporary file. */
ck_tnz_writer *ck_tnz_writer_open(const char *path, const ck_tnz_opts *opts, ck_err *err);
/* Writes to an open descriptor (not closed by the writer). */
ck_tnz_writer *ck_tnz_writer_fdopen(int fd, const ck_tnz_opts *opts, ck_err *err);
/* A metadata record; not allowed between begin and end. */
int ck_tnz_writer_meta(ck_tnz_writer *w, const char *key, const char *value, size_t len,
                       ck_err *err);
/* Starts a tensor. dims[0] may be CK_TNZ_ROWS_UNKNOWN (not when a row is
 * empty: the rows could not be counted). level/shuffle -1 take the writer's
 * options. At level 0 the shuffle filter is not recorded (it would gain
 * nothing). */
int ck_tnz_writer_begin(ck_tnz_writer *w, const char *name, ck_dtype dtype, int rank,
                        const int64_t *dims, int level, int shuffle, ck_err *err);
/* Appends bytes of the current tensor (any amount; buffered into chunks). */
int ck_tnz_writer_data(ck_tnz_writer *w, const void *data, size_t nbytes, ck_err *err);
/* Ends the tensor: fails if the bytes are not a whole number of rows or do
 * not match a known dims[0]. */
int ck_tnz_writer_end(ck_tnz_writer *w, ck_err *err);
/* begin + data + end for a tensor in memory. */
int ck_tnz_writer_tensor(ck_tnz_writer *w, const ck_tensor *t, ck_err *err);
/* Ends the file, flushes, and (for a path) fsyncs and renames into place.
 * Frees w whatever happens; on failure the temporary file is removed. A write
 * error (full disk, closed pipe) is reported here or by an earlier call. */
int ck_tnz_writer_close(ck_tnz_writer *w, ck_err *err);
/* Discards everything: removes the temporary file and frees w. */
void ck_tnz_writer_abort(ck_tnz_writer *w);

/* ---- reading ----------------------------------------------------------- */

typedef struct ck_tnz_reader ck_tnz_reader;

typedef struct ck_tnz_header {
	char name[CK_TNZ_MAX_NAME + 1];
	ck_dtype dtype;
	int rank;
	int64_t dims[CK_TNZ_MAX_RANK]; /* dims[0] may be CK_TNZ_ROWS_UNKNOWN */
	int filter;                    /* 0 none, 1 shuffle */
	int file_index;                /* 0 for the first file of a concatenation */
} ck_tnz_header;

/* Opens path ("-" = standard input) and checks the magic and HEAD record.
 * threads: decompression threads, 0 = all. */
ck_tnz_reader *ck_tnz_reader_open(const char *path, int threads, ck_err *err);
/* Reads from an open descriptor (not closed by the reader). */
ck_tnz_reader *ck_tnz_reader_fdopen(int fd, int threads, ck_err *err);
/* Advances to the next tensor, skipping (as ck_tnz_reader_skip) whatever is
 * left of the current one. Returns 1 and fills h, 0 at the end of the stream,
 * -1 on error. Metadata records met on the way are collected. Errors are
 * final (every later call repeats them); messages carry the byte offset in
 * the stream and not the file name, which the caller prefixes. */
int ck_tnz_reader_next(ck_tnz_reader *r, ck_tnz_header *h, ck_err *err);
/* Reads up to cap (> 0) bytes of the current tensor's data. Returns the
 * count, 0 once the tensor is complete and verified (TEND), -1 on error.
 * A buffer of 64 KiB or more receives whole chunks decoded in place, with
 * no intermediate copy; after an error its content is undefined. */
int64_t ck_tnz_reader_read(ck_tnz_reader *r, void *buf, size_t cap, ck_err *err);
/* Reads the rest of the current tensor without decoding it: CRCs, chunk
 * headers and sizes are verified, deflate streams are not inflated (so a
 * listing is fast). Afterwards rows and sizes are known. */
int ck_tnz_reader_skip(ck_tnz_reader *r, ck_err *err);
/* Rows of the current tensor once ck_tnz_reader_read has returned 0 (or
 * ck_tnz_reader_skip succeeded); -1 before. */
int64_t ck_tnz_reader_rows(const ck_tnz_reader *r);
/* Bytes of the current tensor as stored (DATA bodies) and raw (decoded
 * size of those chunks), over the chunks read so far. */
void ck_tnz_reader_sizes(const ck_tnz_reader *r, int64_t *stored, int64_t *raw);
/* Metadata read so far (complete once ck_tnz_reader_next returned 0). */
const ck_meta *ck_tnz_reader_meta(const ck_tnz_reader *r);
/* Number of files (concatenated streams) started so far. */
int ck_tnz_reader_files(const ck_tnz_reader *r);
void ck_tnz_reader_close(ck_tnz_reader *r);

/* ---- helpers ----------------------------------------------------------- */

/* CRC-32 (ISO-HDLC), continuing from crc (0 to start). */
uint32_t ck_crc32(uint32_t crc, const void *buf, size_t len);

#endif
