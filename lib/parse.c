/* parse.c: range-checked numbers from text (cnnkit/base.h). */
#include "cnnkit.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>

/* Whether s starts a number: strtoll and strtod would skip leading blanks. */
static int starts_number(const char *s)
{
	return s && *s && !isspace((unsigned char)*s);
}

int ck_parse_i64(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
	if (!starts_number(s))
		return -1;
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (end == s || *end || errno == ERANGE || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

int ck_parse_f64(const char *s, double lo, double hi, double *out)
{
	if (!starts_number(s))
		return -1;
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	/* ERANGE with a finite result is an underflow: the value rounded, kept. */
	if (end == s || *end || isnan(v) || (errno == ERANGE && isinf(v)) || !(v >= lo && v <= hi))
		return -1;
	*out = v;
	return 0;
}
