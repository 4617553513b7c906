/* cnnkit/base.h: errors and element types shared by every part of libcnnkit. */
#ifndef CNNKIT_BASE_H
#define CNNKIT_BASE_H

#include <stddef.h>
#include <stdint.h>

/* Errors. Library functions that can fail return 0 on success and -1 on
 * failure (or NULL for constructors) and fill a caller-provided ck_err with a
 * one-line message without the program name, e.g. "bad magic (not a TNZ
 * file)". Programs print "program: <context>: <msg>" and decide to exit.
 * A NULL ck_err is allowed: the message is then dropped. */
typedef struct ck_err {
	char msg[512];
} ck_err;

/* Formats the message into err (if not NULL) and returns -1. */
int ck_err_set(ck_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Prefixes the current message: "prefix: old message". Returns -1. */
int ck_err_prefix(ck_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Element types. The numeric values are those stored in TNZ files
 * (formats/tnz.md) and never change. */
typedef enum ck_dtype {
	CK_DTYPE_U8 = 1,
	CK_DTYPE_I8 = 2,
	CK_DTYPE_U16 = 3,
	CK_DTYPE_I16 = 4,
	CK_DTYPE_U32 = 5,
	CK_DTYPE_I32 = 6,
	CK_DTYPE_U64 = 7,
	CK_DTYPE_I64 = 8,
	CK_DTYPE_F16 = 9,  /* IEEE 754 binary16 */
	CK_DTYPE_BF16 = 10, /* bfloat16: the top half of an f32 */
	CK_DTYPE_F32 = 11,
	CK_DTYPE_F64 = 12,
	CK_DTYPE_BOOL = 13, /* one byte, 0 or 1 */
} ck_dtype;

#define CK_DTYPE_MAX 13

/* Bytes per element; 0 for a value that is not a known dtype. */
size_t ck_dtype_size(int dtype);
/* "u8", "i32", "f32", ... ; "?" for an unknown value. */
const char *ck_dtype_name(int dtype);
/* Parses a name from ck_dtype_name; returns 0, or -1 if unknown. */
int ck_dtype_parse(const char *name, ck_dtype *out);

/* Range-checked numbers from text (command-line options, metadata values).
 * The whole of s must be the number: no blanks before or after, nothing
 * after it. ck_parse_i64 reads decimal with an optional sign; ck_parse_f64
 * reads what strtod does (1.5, -2e-3, inf) except NaN, and a value too large
 * for a double is an error, not infinity. Both return 0 and store the value
 * when it lies within [lo, hi], else -1 and leave *out alone. */
int ck_parse_i64(const char *s, int64_t lo, int64_t hi, int64_t *out);
int ck_parse_f64(const char *s, double lo, double hi, double *out);

/* Library version string, e.g. "0.1.0". */
const char *ck_version(void);

#endif
