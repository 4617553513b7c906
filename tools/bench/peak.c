/* peak: measure this machine's fp32 FMA throughput, per core, on one thread
 * and on all threads at once, for each vector ISA the CPU supports. */
#include "cnnkit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static const char *prog = "peak";

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: %s [-s SECONDS]\n"
	        "Measure the fp32 FMA peak (GFLOP/s) of one core and of all cores at once,\n"
	        "with ymm (avx2) and, where the CPU has it, zmm (avx512) registers.\n"
	        "  -s SECONDS  time per measurement, 0.05 to 60 (default 0.5)\n"
	        "  --help      show this help\n"
	        "  --version   show the version\n"
	        "Example: %s -s 1\n",
	        prog, prog);
}

static int parse_seconds(const char *s, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= 0.05 && v <= 60))
		return -1;
	*out = v;
	return 0;
}

/* Every thread probes at once; returns the sum, and the slowest thread's
 * figure in *min_per_thread. */
static double probe_all(const char *isa, double seconds, int *nthreads, double *min_per_thread)
{
	double total = 0, lowest = 1e300;
	int n = 1;
#ifdef _OPENMP
	int ask = omp_get_num_procs();
#pragma omp parallel num_threads(ask) reduction(+ : total) reduction(min : lowest)
	{
		total = lowest = ck_sgemm_peak_gflops(isa, seconds);
#pragma omp master
		n = omp_get_num_threads();
	}
#else
	total = lowest = ck_sgemm_peak_gflops(isa, seconds);
#endif
	*nthreads = n;
	*min_per_thread = lowest;
	return total;
}

int main(int argc, char **argv)
{
	double seconds = 0.5;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return fclose(stdout) == 0 ? 0 : 1;
		} else if (strcmp(argv[i], "--version") == 0) {
			printf("%s %s\n", prog, ck_version());
			return fclose(stdout) == 0 ? 0 : 1;
		} else if (strcmp(argv[i], "-s") == 0 && i + 1 < argc) {
			if (parse_seconds(argv[++i], &seconds) != 0) {
				fprintf(stderr, "%s: -s: not a number of seconds in 0.05..60: %s\n", prog,
				        argv[i]);
				return 2;
			}
		} else {
			usage(stderr);
			return 2;
		}
	}

	printf("%-7s %8s %10s %13s\n", "isa", "threads", "GFLOP/s", "GFLOP/s/core");
	static const char *const isas[] = {"avx512", "avx2"};
	for (int k = 0; k < 2; k++) {
		double one = ck_sgemm_peak_gflops(isas[k], seconds);
		if (one < 0) {
			printf("%-7s %8s %10s %13s  (not supported by this CPU)\n", isas[k], "-", "-", "-");
			continue;
		}
		printf("%-7s %8d %10.1f %13.1f\n", isas[k], 1, one, one);
		int n;
		double lowest, all = probe_all(isas[k], seconds, &n, &lowest);
		printf("%-7s %8d %10.1f %13.1f  (slowest thread %.1f)\n", isas[k], n, all, all / n,
		       lowest);
	}
	if (fclose(stdout) != 0) {
		fprintf(stderr, "%s: write error\n", prog);
		return 1;
	}
	return 0;
}
