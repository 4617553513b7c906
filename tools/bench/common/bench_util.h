/* bench_util.h: what the benchmark programs of tools/bench share: clocks,
 * range-checked number parsing, and a comparison for qsort. */
#ifndef CNNKIT_BENCH_UTIL_H
#define CNNKIT_BENCH_UTIL_H

#include <time.h>

/* Seconds on clock. */
double bench_clock(clockid_t clock);
/* Wall-clock seconds (monotonic). */
double bench_now(void);
/* CPU seconds of every thread of the process: on a busy, shared machine, work
 * per CPU second shows the work done, whatever the waiting for a core. */
double bench_cpu(void);

/* *out = s as a base-10 integer (or a number) in [lo, hi]: 0, or -1 when s is
 * not one, is out of range or has trailing characters. */
int bench_parse_long(const char *s, long lo, long hi, long *out);
int bench_parse_double(const char *s, double lo, double hi, double *out);

/* Ascending order of doubles, for qsort. */
int bench_cmp_double(const void *a, const void *b);

#endif
