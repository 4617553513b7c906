/* cnnkit/io.h: import and export of NumPy .npy/.npz, IDX (MNIST) and CSV/TSV.
 *
 * Readers have two entry points: one for a path ("-" = standard input) and
 * one for a buffer in memory (`_mem`, also the fuzzing entry point). Input is
 * treated as hostile: every size is checked against the bytes actually
 * present before anything is allocated for it. Errors from the path functions
 * start with the path ("a.npy: unsupported dtype '<U5'"); errors from the
 * `_mem` functions do not.
 *
 * Tensors returned in a ck_tensor have an empty name, a malloc'ed data block
 * (never NULL, even for zero elements; free it with free()) and row-major,
 * little-endian data. Functions that fill a ck_tnz append to it and leave it
 * as it was when they fail.
 *
 * Writers create a temporary file beside the destination and rename it into
 * place, so that a partial output never carries the final name. */
#ifndef CNNKIT_IO_H
#define CNNKIT_IO_H

#include <stddef.h>

#include "base.h"
#include "tnz.h"

/* ---- format detection --------------------------------------------------- */

typedef enum ck_io_format {
	CK_IO_UNKNOWN = 0,
	CK_IO_NPY,
	CK_IO_NPZ,
	CK_IO_IDX, /* plain or gzip-compressed */
	CK_IO_CSV,
	CK_IO_TSV,
} ck_io_format;

/* The format of the first bytes of a file (magic numbers; a gzip stream is
 * looked into), else of its name's extension (.csv, .tsv, .txt = CSV).
 * name may be NULL. Never fails. */
ck_io_format ck_io_detect_mem(const void *buf, size_t len, const char *name);
/* Opens path and looks at its first bytes; -1 (err set) if it cannot be read. */
int ck_io_detect(const char *path, ck_io_format *format, ck_err *err);

/* ---- NumPy .npy ---------------------------------------------------------- */

/* Reads an array. Accepted: format versions 1.0, 2.0 and 3.0; dtypes
 * u1 i1 u2 i2 u4 i4 u8 i8 f2 f4 f8 b1 in any byte order (big-endian data is
 * swapped); fortran_order True (transposed to row-major); rank 0 to 8, zero
 * dims. Rejected with a message: object, string, structured, complex and
 * datetime dtypes, rank > 8, data shorter or longer than the shape needs.
 * Booleans are normalised to 0/1. */
int ck_npy_read(const char *path, ck_tensor *out, ck_err *err);
int ck_npy_read_mem(const void *buf, size_t len, ck_tensor *out, ck_err *err);

/* Writes t as a version 1.0 .npy file ("-" = standard output, refused when
 * it is a terminal). Loads with numpy.load(allow_pickle=False) and reads back
 * bit-exactly, except bf16, which NumPy lacks: it is written as '<f4', a
 * widening that keeps every value exactly. */
int ck_npy_write(const char *path, const ck_tensor *t, ck_err *err);
/* The same encoding into a malloc'ed buffer (*buf, *len). */
int ck_npy_write_mem(const ck_tensor *t, void **buf, size_t *len, ck_err *err);

/* ---- NumPy .npz (a zip archive of .npy members) ------------------------- */

/* Appends one tensor per member "NAME.npy", named NAME, in archive order
 * (directory entries are skipped; any other member is an error). Handles
 * stored and deflated members, ZIP64 records, and checks each member's
 * CRC-32. Rejected: encrypted or multi-disk archives, other compression
 * methods, overlapping members, names over CK_TNZ_MAX_NAME bytes. Metadata of
 * out is left alone. */
int ck_npz_read(const char *path, ck_tnz *out, ck_err *err);
int ck_npz_read_mem(const void *buf, size_t len, ck_tnz *out, ck_err *err);

/* Writes one member "NAME.npy" per tensor of in (metadata is not written:
 * .npz has no place for it). level 0 stores the members (numpy.savez),
 * 1..9 deflates them (numpy.savez_compressed uses 6). ZIP64 records are used
 * where a size or an offset needs them. path must be a file, not "-". */
int ck_npz_write(const char *path, const ck_tnz *in, int level, ck_err *err);

/* ---- IDX (the MNIST format) ---------------------------------------------- */

/* Reads an IDX file, plain or gzip-compressed (detected by its magic):
 * bytes 0 0 TYPE RANK, RANK big-endian u32 dims, big-endian data. TYPE 0x08
 * u8, 0x09 i8, 0x0B i16, 0x0C i32, 0x0D f32, 0x0E f64. Rank 0 to 8. The data
 * must be exactly as long as the dims say. */
int ck_idx_read(const char *path, ck_tensor *out, ck_err *err);
int ck_idx_read_mem(const void *buf, size_t len, ck_tensor *out, ck_err *err);

/* The MNIST pairing: of a and b (either order), one must be images (N,H,W)
 * u8 and the other labels (N) of an integer dtype with values in i32. Appends
 * `x` (N,1,H,W) u8 and `y` (N) i32 to out. The data of a and b is moved into
 * out (their data pointers become NULL) on success, left alone on failure.
 * Rank-4 images (N,H,W,C) are refused: their channel layout is not standard. */
int ck_idx_pair(ck_tensor *a, ck_tensor *b, ck_tnz *out, ck_err *err);

/* ---- CSV and TSV ----------------------------------------------------------- */

typedef struct ck_csv_opts {
	/* Label column, moved to `y` (N) i32: a 1-based index ("5") or a header
	 * name ("species"; requires a header). Integer labels are kept; any
	 * other label makes every label a class name, numbered in sorted (byte)
	 * order and listed in metadata `classes`. NULL or "": no label column. */
	const char *label;
	/* -1: detect (the first row is a header when one of its cells, the label
	 * column aside, is not a number); 0: no header; 1: header. */
	int header;
} ck_csv_opts;
#define CK_CSV_OPTS_DEFAULT ((ck_csv_opts){NULL, -1})

/* Reads a table of numbers into `x` (N, columns) f32, one row per line, and
 * the header (if any) into metadata `columns`, the names of x's columns one
 * per line. delim: ',' or '\t' (or ';', '|'...); 0 chooses by extension
 * (.tsv, .tab: tab; else comma; always comma for _mem). CSV cells may be RFC 4180 quoted ("a,b",
 * "say ""hi"""); TSV has no quoting. Spaces around cells are ignored, empty
 * lines skipped, CRLF accepted, a UTF-8 BOM skipped. Numbers are decimal
 * (nan and inf allowed, hexadecimal not). Errors name the line (and column):
 * ragged rows, non-numbers, empty cells, empty input. opts may be NULL. */
int ck_csv_read(const char *path, char delim, const ck_csv_opts *opts, ck_tnz *out,
                ck_err *err);
int ck_csv_read_mem(const void *buf, size_t len, char delim, const ck_csv_opts *opts,
                    ck_tnz *out, ck_err *err);

/* Writes t as text, dims[0] rows of numel/dims[0] values (rank >= 3 is
 * flattened after the first dimension; rank 0 is one value). Integers are
 * exact; f32 (and f16, bf16) print with "%.9g", f64 with "%.17g", enough to
 * read back bit-exactly. delim 0: by extension as above. "-" = standard
 * output. */
int ck_csv_write(const char *path, const ck_tensor *t, char delim, ck_err *err);

#endif
