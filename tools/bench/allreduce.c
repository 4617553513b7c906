/* allreduce: time of the gradient sum of data-parallel training, for
 * docs/mpi-scaling.md. Run under MPI, from the MPI build:
 *
 *     make MPI=1 build-mpi/bench/allreduce
 *     mpirun -np 2 build-mpi/bench/allreduce                  # shared memory
 *     mpirun -np 2 --mca btl tcp,self build-mpi/bench/allreduce   # TCP loopback
 *
 * For each size (default: the trainable parameters of the reference
 * network of tools/demo.sh on 1x28x28 images, and a step's 4 doubles of
 * loss and counts), ck_dist_sum_f32 on that many floats, as the training loop
 * calls it: warm-up, then repeats, each timed on rank 0 from just after a
 * one-float sum (which lines the ranks up) to its end. Prints the median, the
 * 10th percentile and the best (on a loaded machine a rank waits for a core
 * now and then: the low percentiles are the cost of the transfer), and the
 * bus bandwidth of a ring at the median, 2 (P-1)/P bytes / time.
 * Rank 0 also times the local part of a reduction, a[i] += b[i] over the
 * first size (the gamma of the cost model, per byte). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cnnkit.h"
#include "common/bench_util.h"

#define REF_ARCH "conv 32 3 pad=same relu; maxpool 2; conv 64 3 pad=same relu; maxpool 2; " \
                 "dense 128 relu; dense 10"

static void measure(size_t n, int repeat)
{
	float *buf = calloc(n, sizeof *buf), one = 0;
	double *t = calloc((size_t)repeat, sizeof *t);
	if (!buf || !t) {
		fprintf(stderr, "allreduce: out of memory\n");
		ck_dist_abort(1);
	}
	for (int i = 0; i < 10; i++)
		ck_dist_sum_f32(buf, n);
	for (int i = 0; i < repeat; i++) {
		ck_dist_sum_f32(&one, 1);
		double t0 = bench_now();
		ck_dist_sum_f32(buf, n);
		t[i] = bench_now() - t0;
	}
	qsort(t, (size_t)repeat, sizeof *t, bench_cmp_double);
	int P = ck_dist_size();
	double bytes = (double)n * sizeof(float), med = t[repeat / 2];
	if (ck_dist_rank() == 0)
		printf("RESULT allreduce ranks=%d floats=%zu bytes=%.0f median_ms=%.4f p10_ms=%.4f "
		       "best_ms=%.4f busbw_GBps=%.3f\n", P, n, bytes, 1e3 * med, 1e3 * t[repeat / 10],
		       1e3 * t[0], P > 1 ? 2.0 * (P - 1) / P * bytes / med / 1e9 : 0.0);
	free(buf);
	free(t);
}

/* a[i] += b[i] over n floats: the reduction's arithmetic, memory-bound. */
static void measure_add(size_t n, int repeat)
{
	float *a = calloc(n, sizeof *a), *b = calloc(n, sizeof *b);
	double *t = calloc((size_t)repeat, sizeof *t);
	if (!a || !b || !t) {
		fprintf(stderr, "allreduce: out of memory\n");
		ck_dist_abort(1);
	}
	for (int i = 0; i < repeat; i++) {
		double t0 = bench_now();
		for (size_t j = 0; j < n; j++)
			a[j] += b[j];
		t[i] = bench_now() - t0;
	}
	qsort(t, (size_t)repeat, sizeof *t, bench_cmp_double);
	printf("RESULT add floats=%zu median_ms=%.4f best_ms=%.4f ns_per_byte=%.4f\n", n,
	       1e3 * t[repeat / 2], 1e3 * t[0], 1e9 * t[repeat / 2] / ((double)n * sizeof(float)));
	free(a);
	free(b);
	free(t);
}

int main(int argc, char **argv)
{
	if (ck_dist_init(&argc, &argv) < 0)
		return 1;
	int repeat = 200;
	size_t sizes[16];
	int nsizes = 0;
	for (int i = 1; i < argc; i++) {
		char *end;
		errno = 0;
		unsigned long long v = strtoull(argv[i], &end, 10);
		if (strcmp(argv[i], "--help") == 0 || errno || end == argv[i] || *end || v == 0 ||
		    v > (1ull << 32) || nsizes == 16) {
			fprintf(stderr, "usage: mpirun -np P allreduce [FLOATS...]  (default: the "
			        "reference network's gradient, and 4)\n");
			ck_dist_finalize();
			return 2;
		}
		sizes[nsizes++] = (size_t)v;
	}
	if (nsizes == 0) {
		ck_err err;
		ck_model *m = ck_model_create(REF_ARCH, (int64_t[]){1, 28, 28}, 3, 0, &err);
		if (!m) {
			fprintf(stderr, "allreduce: %s\n", err.msg);
			ck_dist_abort(1);
		}
		sizes[nsizes++] = (size_t)ck_model_arch(m)->trainable_params;
		sizes[nsizes++] = 8; /* a step's 4 doubles */
		ck_model_free(m);
	}
	if (ck_dist_rank() == 0)
		printf("allreduce: %s, %d ranks\n", ck_dist_backend(), ck_dist_size());
	for (int i = 0; i < nsizes; i++)
		measure(sizes[i], repeat);
	if (ck_dist_rank() == 0)
		measure_add(sizes[0], repeat);
	ck_dist_finalize();
	return 0;
}
