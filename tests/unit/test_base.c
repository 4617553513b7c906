/* test_base.c: error messages, dtype tables, range-checked numbers. */
#include "cnnkit.h"
#include "check.h"

#include <float.h>
#include <math.h>
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

static void test_parse_i64(void)
{
	int64_t v = 0;
	CHECK(ck_parse_i64("42", 0, 100, &v) == 0 && v == 42, "42");
	CHECK(ck_parse_i64("-7", -10, 10, &v) == 0 && v == -7, "-7");
	CHECK(ck_parse_i64("+7", 0, 10, &v) == 0 && v == 7, "+7");
	CHECK(ck_parse_i64("9223372036854775807", 0, INT64_MAX, &v) == 0 && v == INT64_MAX,
	      "INT64_MAX");
	CHECK(ck_parse_i64("-9223372036854775808", INT64_MIN, 0, &v) == 0 && v == INT64_MIN,
	      "INT64_MIN");
	v = 5;
	const char *bad[] = {"", " 1", "1 ", "1x", "x", "0x10", "1.0", "1e3", "--1", "+",
	                     "9223372036854775808", "-9223372036854775809",
	                     "99999999999999999999", "\t3"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		CHECK(ck_parse_i64(bad[i], INT64_MIN, INT64_MAX, &v) == -1, "'%s' rejected", bad[i]);
	CHECK(ck_parse_i64(NULL, 0, 1, &v) == -1, "NULL rejected");
	CHECK(ck_parse_i64("0", 1, 10, &v) == -1 && ck_parse_i64("11", 1, 10, &v) == -1,
	      "outside the range");
	CHECK(ck_parse_i64("1", 1, 1, &v) == 0 && v == 1, "a range of one");
	CHECK(ck_parse_i64("-1", 0, 10, &v) == -1, "negative below 0");
}

static void test_parse_f64(void)
{
	double v = 0;
	CHECK(ck_parse_f64("0.5", 0, 1, &v) == 0 && v == 0.5, "0.5");
	CHECK(ck_parse_f64("-2e-3", -1, 1, &v) == 0 && v == -2e-3, "-2e-3");
	CHECK(ck_parse_f64("1", 1, 1, &v) == 0 && v == 1, "bounds are inside");
	CHECK(ck_parse_f64("inf", 0, INFINITY, &v) == 0 && isinf(v), "inf when allowed");
	CHECK(ck_parse_f64("inf", -DBL_MAX, DBL_MAX, &v) == -1, "inf outside a finite range");
	CHECK(ck_parse_f64("1e-320", 0, 1, &v) == 0 && v > 0 && v < 1e-300, "underflow kept");
	v = 5;
	const char *bad[] = {"", " 1", "1 ", "1x", "x", "nan", "NAN", "-nan", "1e999", "-1e999",
	                     "1,5", ".", "e5"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		CHECK(ck_parse_f64(bad[i], -INFINITY, INFINITY, &v) == -1, "'%s' rejected", bad[i]);
	CHECK(v == 5, "a rejected value leaves *out alone");
	CHECK(ck_parse_f64(NULL, 0, 1, &v) == -1, "NULL rejected");
	CHECK(ck_parse_f64("1.5", 0, 1, &v) == -1 && ck_parse_f64("-0.1", 0, 1, &v) == -1,
	      "outside the range");
}

int main(void)
{
	RUN(test_err);
	RUN(test_dtypes);
	RUN(test_parse_i64);
	RUN(test_parse_f64);
	return check_summary();
}
