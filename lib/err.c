/* err.c: error messages and element-type tables. */
#include "cnnkit.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int ck_err_set(ck_err *err, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof err->msg, fmt, ap);
		va_end(ap);
	}
	return -1;
}

int ck_err_prefix(ck_err *err, const char *fmt, ...)
{
	if (err) {
		char prefix[256];
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(prefix, sizeof prefix, fmt, ap);
		va_end(ap);
		if (n < 0)
			return -1;
		size_t plen = strlen(prefix), cap = sizeof err->msg;
		if (plen + 2 >= cap)
			return -1;
		/* Shift the old message right and put "prefix: " in front of it. */
		size_t old = strnlen(err->msg, cap - 1);
		if (plen + 2 + old >= cap)
			old = cap - 1 - plen - 2;
		memmove(err->msg + plen + 2, err->msg, old);
		err->msg[plen + 2 + old] = '\0';
		memcpy(err->msg, prefix, plen);
		err->msg[plen] = ':';
		err->msg[plen + 1] = ' ';
	}
	return -1;
}

static const struct {
	const char *name;
	size_t size;
} dtype_table[CK_DTYPE_MAX + 1] = {
	[CK_DTYPE_U8] = {"u8", 1},     [CK_DTYPE_I8] = {"i8", 1},
	[CK_DTYPE_U16] = {"u16", 2},   [CK_DTYPE_I16] = {"i16", 2},
	[CK_DTYPE_U32] = {"u32", 4},   [CK_DTYPE_I32] = {"i32", 4},
	[CK_DTYPE_U64] = {"u64", 8},   [CK_DTYPE_I64] = {"i64", 8},
	[CK_DTYPE_F16] = {"f16", 2},   [CK_DTYPE_BF16] = {"bf16", 2},
	[CK_DTYPE_F32] = {"f32", 4},   [CK_DTYPE_F64] = {"f64", 8},
	[CK_DTYPE_BOOL] = {"bool", 1},
};

size_t ck_dtype_size(int dtype)
{
	return dtype >= 1 && dtype <= CK_DTYPE_MAX ? dtype_table[dtype].size : 0;
}

const char *ck_dtype_name(int dtype)
{
	return dtype >= 1 && dtype <= CK_DTYPE_MAX ? dtype_table[dtype].name : "?";
}

int ck_dtype_parse(const char *name, ck_dtype *out)
{
	for (int d = 1; d <= CK_DTYPE_MAX; d++)
		if (strcmp(name, dtype_table[d].name) == 0) {
			*out = (ck_dtype)d;
			return 0;
		}
	return -1;
}

const char *ck_version(void)
{
	return CK_VERSION;
}
