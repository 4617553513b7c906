/* sgemm: GFLOP/s of ck_sgemm on square sizes and on the products of the
 * reference network (formats in shared/DESIGN.md: conv 32 3; maxpool 2;
 * conv 64 3; maxpool 2; dense 128; dense 10 on 28x28 images, batch 64), on
 * one thread and on all cores, with the percentage of the measured FMA peak. */
#include "cnnkit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "common/bench_util.h"

static const char *prog = "sgemm";

typedef struct shape {
	const char *name;
	int ta, tb, M, N, K;
} shape;

/* The convolutions run as one GEMM over the batch (im2col columns of all
 * 64 images side by side): conv2 is OC 64, K = 32 * 3 * 3, N = 64 * 14 * 14. */
static const shape shapes[] = {
	{"square 256", 0, 0, 256, 256, 256},
	{"square 512", 0, 0, 512, 512, 512},
	{"square 1024", 0, 0, 1024, 1024, 1024},
	{"conv1 forward", 0, 0, 32, 50176, 9},
	{"conv2 forward", 0, 0, 64, 12544, 288},
	{"conv2 d-weight", 0, 1, 64, 288, 12544},
	{"conv2 d-input", 1, 0, 288, 12544, 64},
	{"dense1 forward", 0, 1, 64, 128, 3136},
	{"dense1 d-input", 0, 0, 64, 3136, 128},
};

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: %s [-c] [-k KERNEL] [-s SECONDS] [-t THREADS]\n"
	        "Time ck_sgemm on square and convolution-shaped products, on 1 thread and on\n"
	        "THREADS threads, against the fp32 FMA peak measured first.\n"
	        "  -c          time the 1-thread column on the thread's CPU clock, which\n"
	        "              other processes do not inflate (for a busy machine)\n"
	        "  -k KERNEL   micro-kernel: auto, avx512, avx2 or c (default auto)\n"
	        "  -s SECONDS  minimum time per measurement, 0.05 to 60 (default 0.3)\n"
	        "  -t THREADS  thread count of the second column, 1 to 1024\n"
	        "              (default: the number of processors)\n"
	        "  --help      show this help\n"
	        "  --version   show the version\n"
	        "Example: OMP_NUM_THREADS=1 %s -k avx2 -s 1\n",
	        prog, prog);
}

/* The clock of the 1-thread column: wall time, or with -c the time the
 * calling thread spent on a CPU, which other processes on a busy machine do
 * not inflate. The threaded column always uses wall time. */
static clockid_t single_clock = CLOCK_MONOTONIC;

static void set_threads(int n)
{
#ifdef _OPENMP
	omp_set_num_threads(n);
#else
	(void)n;
#endif
}

/* Sum of the peaks of n threads probing at once. */
static double peak_of_threads(const char *isa, double seconds, int n)
{
	double total = 0;
#ifdef _OPENMP
#pragma omp parallel num_threads(n) reduction(+ : total)
	total = ck_sgemm_peak_gflops(isa, seconds);
#else
	(void)n;
	total = ck_sgemm_peak_gflops(isa, seconds);
#endif
	return total;
}

/* GFLOP/s of the best of repeated runs lasting at least `seconds` in all. */
static double time_product(const shape *s, const float *A, const float *B, float *C,
                           double seconds, clockid_t clock)
{
	int lda = s->ta ? s->M : s->K, ldb = s->tb ? s->K : s->N;
	double best = 1e300, start = bench_clock(CLOCK_MONOTONIC);
	int runs = 0;
	ck_sgemm(s->ta, s->tb, s->M, s->N, s->K, 1.0f, A, lda, B, ldb, 0.0f, C, s->N);
	while (runs < 3 || bench_clock(CLOCK_MONOTONIC) - start < seconds) {
		double t0 = bench_clock(clock);
		ck_sgemm(s->ta, s->tb, s->M, s->N, s->K, 1.0f, A, lda, B, ldb, 0.0f, C, s->N);
		double t = bench_clock(clock) - t0;
		best = t < best ? t : best;
		runs++;
	}
	return 2.0 * s->M * s->N * s->K / best * 1e-9;
}

static float *random_matrix(size_t n)
{
	float *x = malloc(n * sizeof *x);
	if (!x)
		return NULL;
	uint32_t r = 12345;
	for (size_t i = 0; i < n; i++) {
		r = r * 1664525u + 1013904223u;
		x[i] = (float)(r >> 8) / 16777216.0f - 0.5f;
	}
	return x;
}

int main(int argc, char **argv)
{
	const char *kernel = "auto";
	double seconds = 0.3, threads = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return fclose(stdout) == 0 ? 0 : 1;
		} else if (strcmp(argv[i], "--version") == 0) {
			printf("%s %s\n", prog, ck_version());
			return fclose(stdout) == 0 ? 0 : 1;
		} else if (strcmp(argv[i], "-c") == 0) {
			single_clock = CLOCK_THREAD_CPUTIME_ID;
		} else if (strcmp(argv[i], "-k") == 0 && i + 1 < argc) {
			kernel = argv[++i];
		} else if (strcmp(argv[i], "-s") == 0 && i + 1 < argc) {
			if (bench_parse_double(argv[++i], 0.05, 60, &seconds) != 0) {
				fprintf(stderr, "%s: -s: not a number of seconds in 0.05..60: %s\n", prog,
				        argv[i]);
				return 2;
			}
		} else if (strcmp(argv[i], "-t") == 0 && i + 1 < argc) {
			if (bench_parse_double(argv[++i], 1, 1024, &threads) != 0 || threads != (int)threads) {
				fprintf(stderr, "%s: -t: not a thread count in 1..1024: %s\n", prog, argv[i]);
				return 2;
			}
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (ck_sgemm_select(kernel) != 0) {
		fprintf(stderr, "%s: kernel %s: unknown or not supported by this CPU\n", prog, kernel);
		return 1;
	}
	int nthr = (int)threads;
#ifdef _OPENMP
	if (!nthr)
		nthr = omp_get_num_procs();
#else
	nthr = 1;
#endif

	/* The peak of the widest vectors this CPU has, whatever the kernel. */
	const char *isa = "avx512";
	double peak1 = ck_sgemm_peak_gflops(isa, seconds);
	if (peak1 < 0)
		isa = "avx2", peak1 = ck_sgemm_peak_gflops(isa, seconds);
	double peakn = peak1 < 0 ? -1 : peak_of_threads(isa, seconds, nthr);
	printf("# kernel %s; %s FMA peak %.1f GFLOP/s on 1 thread, %.1f on %d; best of %.2g s%s\n",
	       ck_sgemm_kernel_name(), peak1 < 0 ? "no" : isa, peak1, peakn, nthr, seconds,
	       single_clock == CLOCK_MONOTONIC ? "" : "; 1 thread on CPU time");
	char many[32];
	snprintf(many, sizeof many, "%d threads", nthr);
	printf("%-15s %2s %5s %6s %6s  %10s %6s  %10s %6s\n", "product", "op", "M", "N", "K",
	       "1 thread", "%peak", many, "%peak");

	for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
		const shape *s = &shapes[i];
		float *A = random_matrix((size_t)s->M * s->K), *B = random_matrix((size_t)s->K * s->N);
		float *C = random_matrix((size_t)s->M * s->N);
		if (!A || !B || !C) {
			fprintf(stderr, "%s: out of memory\n", prog);
			return 1;
		}
		set_threads(1);
		double g1 = time_product(s, A, B, C, seconds, single_clock);
		set_threads(nthr);
		double gn = time_product(s, A, B, C, seconds, CLOCK_MONOTONIC);
		printf("%-15s %c%c %5d %6d %6d  %10.1f %5.1f%%  %10.1f %5.1f%%\n", s->name,
		       s->ta ? 't' : 'n', s->tb ? 't' : 'n', s->M, s->N, s->K, g1,
		       peak1 > 0 ? 100 * g1 / peak1 : 0.0, gn, peakn > 0 ? 100 * gn / peakn : 0.0);
		fflush(stdout);
		free(A), free(B), free(C);
	}
	if (fclose(stdout) != 0) {
		fprintf(stderr, "%s: write error\n", prog);
		return 1;
	}
	return 0;
}
