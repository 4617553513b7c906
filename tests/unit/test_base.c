/* test_base.c: error messages and dtype tables. */
#include "cnnkit.h"
#include "check.h"

#include <string.h>

static void test_err(void)
{
	ck_err e;
	CHECK(ck_err_set(&e, "bad %s %d", "thing", 3) == -1, "returns -1");
	CHECK(strcmp(e.msg, "bad thing 3") == 0, "got '%s'", e.msg);
	ck_err_prefix(&e, "file.tnz");
	CHECK(strcmp(e.msg, "file.tnz: bad thing 3") == 0, "got '%s'", e.msg);
	CHECK(ck_err_set(NULL, "x") == -1, "NULL err is allowed");
}

static void test_dtypes(void)
{
	for (int d = 1; d <= CK_DTYPE_MAX; d++) {
		ck_dtype back;
		CHECK(ck_dtype_parse(ck_dtype_name(d), &back) == 0 && (int)back == d, "dtype %d", d);
	}
	CHECK(ck_dtype_size(CK_DTYPE_F32) == 4 && ck_dtype_size(CK_DTYPE_BF16) == 2 &&
	          ck_dtype_size(CK_DTYPE_I64) == 8 && ck_dtype_size(CK_DTYPE_BOOL) == 1,
	      "sizes");
	CHECK(ck_dtype_size(0) == 0 && ck_dtype_size(99) == 0 && ck_dtype_size(-1) == 0, "unknown");
	ck_dtype x;
	CHECK(ck_dtype_parse("f128", &x) == -1, "unknown name");
}

int main(void)
{
	RUN(test_err);
	RUN(test_dtypes);
	return check_summary();
}
