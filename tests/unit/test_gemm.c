/* test_gemm.c: ck_sgemm against the reference ck_sgemm_ref, for every
 * micro-kernel this CPU can run (the others are reported as skipped). */
#include "cnnkit.h"
#include "check.h"
#include "gemm_internal.h" /* the packing transpose, tested directly */

#include <stdint.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint32_t rng_u32(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 32);
}

/* Uniform in [-1, 1). */
static float rng_float(void)
{
	return (float)(rng_u32() >> 8) * (2.0f / 16777216.0f) - 1.0f;
}

/* A rows x cols matrix with leading dimension ld >= cols: random values in
 * the matrix, `pad` in the ld - cols slack of each row. */
static float *new_matrix(int rows, int cols, int ld, float pad)
{
	float *x = malloc(((size_t)rows * ld + 1) * sizeof *x);
	if (!x) {
		fprintf(stderr, "test_gemm: out of memory\n");
		exit(1);
	}
	for (int i = 0; i < rows; i++)
		for (int j = 0; j < ld; j++)
			x[(size_t)i * ld + j] = j < cols ? rng_float() : pad;
	return x;
}

/* One product, checked element by element against the reference. The
 * stored A, B and C carry `extra` unused columns; those of A and B hold NaN,
 * so reading them would show, and those of C a sentinel that must survive.
 * With beta == 0 the C matrix holds NaN, which must not leak into the result.
 * The error allowed for C(i,j) is relative to the size of its terms and
 * grows like the rounding error of a sum of random terms:
 *   1e-6 * sqrt(K + 1) * (|alpha| sum_p |A(i,p) B(p,j)| + |beta C(i,j)|)
 * (about 10 times what the kernels show here).
 * Returns the number of mismatches (reporting the first few). */
static int check_product(int ta, int tb, int M, int N, int K, float alpha, float beta, int extra)
{
	const float nan = NAN, sentinel = 12345.0f;
	int ar = ta ? K : M, ac = ta ? M : K, br = tb ? N : K, bc = tb ? K : N;
	int lda = ac + extra, ldb = bc + extra, ldc = N + extra;
	float *A = new_matrix(ar, ac, lda, nan), *B = new_matrix(br, bc, ldb, nan);
	float *C = new_matrix(M, N, ldc, sentinel);
	if (beta == 0.0f)
		for (int i = 0; i < M; i++)
			for (int j = 0; j < N; j++)
				C[(size_t)i * ldc + j] = nan;
	float *ref = new_matrix(M, N, ldc, sentinel);
	memcpy(ref, C, (size_t)M * ldc * sizeof *C);

	/* The scale of each element: the same product on absolute values. */
	float *absA = new_matrix(ar, ac, lda, 0.0f), *absB = new_matrix(br, bc, ldb, 0.0f);
	float *scale = new_matrix(M, N, ldc, 0.0f);
	for (size_t i = 0; i < (size_t)ar * lda; i++)
		absA[i] = isnan(A[i]) ? 0.0f : fabsf(A[i]);
	for (size_t i = 0; i < (size_t)br * ldb; i++)
		absB[i] = isnan(B[i]) ? 0.0f : fabsf(B[i]);
	for (size_t i = 0; i < (size_t)M * ldc; i++)
		scale[i] = beta == 0.0f ? 0.0f : fabsf(C[i]);
	ck_sgemm_ref(ta, tb, M, N, K, fabsf(alpha), absA, lda, absB, ldb, fabsf(beta), scale, ldc);

	ck_sgemm_ref(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, ref, ldc);
	ck_sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);

	int bad = 0;
	for (int i = 0; i < M; i++)
		for (int j = 0; j < ldc; j++) {
			size_t at = (size_t)i * ldc + j;
			double tol = 1e-6 * sqrt(K + 1.0) * scale[at];
			int ok = j < N ? fabs((double)C[at] - ref[at]) <= tol : C[at] == sentinel;
			if (!ok && bad++ < 3)
				printf("# ta=%d tb=%d M=%d N=%d K=%d alpha=%g beta=%g extra=%d: "
				       "C(%d,%d) = %.9g, reference %.9g\n",
				       ta, tb, M, N, K, alpha, beta, extra, i, j, C[at], ref[at]);
		}
	free(A), free(B), free(C), free(ref), free(absA), free(absB), free(scale);
	return bad;
}

/* Sizes that hit the edges: 1, primes, and either side of the tiles
 * (4, 6, 8, 14, 16, 32) and blocks (MC 168, KC 192/256, NC 512). */
static const int sizes[] = {1,  2,   3,   5,   6,   7,   8,   13,  14,  15,  16,  17,  31,  32,
                            33, 97,  167, 168, 169, 191, 193, 255, 256, 257, 511, 513, 600};
#define NSIZES ((int)(sizeof sizes / sizeof sizes[0]))

static const float alphas[] = {1.0f, -0.5f, 2.0f};
static const float betas[] = {0.0f, 1.0f, -1.5f};

/* Random shapes from the table, every transpose pair, alpha, beta and
 * leading-dimension slack; the product is kept small enough that the
 * reference stays quick. */
static void check_kernel(void)
{
	int cases = 0, failed = 0;
	while (cases < 400) {
		int M = sizes[rng_u32() % NSIZES], N = sizes[rng_u32() % NSIZES];
		int K = sizes[rng_u32() % NSIZES];
		if ((double)M * N * K > 3e6)
			continue;
		int ta = cases & 1, tb = (cases >> 1) & 1;
		float alpha = alphas[rng_u32() % 3], beta = betas[rng_u32() % 3];
		int extra = (cases >> 2) % 3 == 0 ? 0 : (int)(rng_u32() % 7) + 1;
		failed += check_product(ta, tb, M, N, K, alpha, beta, extra) != 0;
		cases++;
	}
	CHECK(failed == 0, "%d of %d random products wrong", failed, cases);

	/* Shapes a table pick rarely makes: vectors, tall and skinny, long K,
	 * one across all blocks at once. */
	static const int shapes[][3] = {
		{1, 1, 1},    {1, 700, 3},  {700, 1, 3},  {1, 1, 900}, {1, 300, 300}, {300, 1, 300},
		{1000, 3, 50}, {3, 1000, 50}, {7, 7, 1000}, {200, 530, 270}, {64, 196, 288},
	};
	for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
		for (int t = 0; t < 4; t++) {
			int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
			CHECK(check_product(t & 1, t >> 1, M, N, K, 1.0f, 0.0f, 3) == 0,
			      "shape %dx%dx%d trans %d", M, N, K, t);
			CHECK(check_product(t & 1, t >> 1, M, N, K, -2.0f, 0.5f, 0) == 0,
			      "shape %dx%dx%d trans %d", M, N, K, t);
		}
}

static void test_kernel_avx512(void)
{
	check_kernel();
}

static void test_kernel_avx2(void)
{
	check_kernel();
}

static void test_kernel_c(void)
{
	check_kernel();
}

/* K == 0 and alpha == 0: C = beta * C without reading A or B (NULL here). */
static void test_empty_sum(void)
{
	float C[6];
	for (int i = 0; i < 6; i++)
		C[i] = NAN;
	ck_sgemm(0, 0, 2, 3, 0, 1.0f, NULL, 1, NULL, 3, 0.0f, C, 3);
	for (int i = 0; i < 6; i++)
		CHECK(C[i] == 0.0f, "K=0 beta=0: C[%d] = %g", i, C[i]);
	for (int i = 0; i < 6; i++)
		C[i] = (float)i;
	ck_sgemm(1, 1, 2, 3, 0, 1.0f, NULL, 2, NULL, 1, -2.0f, C, 3);
	for (int i = 0; i < 6; i++)
		CHECK(C[i] == -2.0f * i, "K=0 beta=-2: C[%d] = %g", i, C[i]);
	ck_sgemm(0, 0, 2, 3, 4, 0.0f, NULL, 4, NULL, 3, 1.0f, C, 3);
	for (int i = 0; i < 6; i++)
		CHECK(C[i] == -2.0f * i, "alpha=0 beta=1: C[%d] = %g", i, C[i]);
	ck_sgemm(0, 0, 0, 3, 4, 1.0f, NULL, 4, NULL, 3, 1.0f, NULL, 3);
	ck_sgemm(0, 0, 2, 0, 4, 1.0f, NULL, 4, NULL, 1, 1.0f, NULL, 1);
}

static void test_select(void)
{
	CHECK(ck_sgemm_select("no-such-kernel") == -1, "unknown name refused");
	CHECK(ck_sgemm_select("c") == 0 && strcmp(ck_sgemm_kernel_name(), "c") == 0,
	      "c is always there");
	CHECK(ck_sgemm_select("auto") == 0, "auto");
	const char *best = ck_sgemm_kernel_name();
	CHECK(strcmp(best, "avx512") == 0 || strcmp(best, "avx2") == 0 || strcmp(best, "c") == 0,
	      "auto picked '%s'", best);
#if defined(__x86_64__) && defined(__GNUC__)
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
		CHECK(strcmp(best, "c") != 0, "auto picked c on an AVX2 CPU");
#endif
}

/* The same product with 1, 2 and 3 threads, and from inside a parallel
 * region (where ck_sgemm runs single-threaded): bit-identical results. */
static void test_threads(void)
{
#ifdef _OPENMP
	const int M = 203, N = 517, K = 300;
	float *A = new_matrix(M, K, K, 0.0f), *B = new_matrix(K, N, N, 0.0f);
	float *C[4];
	int saved = omp_get_max_threads();
	for (int t = 0; t < 3; t++) {
		C[t] = new_matrix(M, N, N, 0.0f);
		omp_set_num_threads(t + 1);
		ck_sgemm(0, 0, M, N, K, 1.0f, A, K, B, N, 0.0f, C[t], N);
	}
	omp_set_num_threads(saved);
	C[3] = new_matrix(M, N, N, 0.0f);
#pragma omp parallel num_threads(2)
	{
		/* Each thread computes half the rows. */
		int t = omp_get_thread_num(), nt = omp_get_num_threads();
		int i0 = M * t / nt, i1 = M * (t + 1) / nt;
		ck_sgemm(0, 0, i1 - i0, N, K, 1.0f, A + (size_t)i0 * K, K, B, N, 0.0f,
		         C[3] + (size_t)i0 * N, N);
	}
	size_t bytes = (size_t)M * N * sizeof(float);
	CHECK(memcmp(C[0], C[1], bytes) == 0, "1 and 2 threads differ");
	CHECK(memcmp(C[0], C[2], bytes) == 0, "1 and 3 threads differ");
	CHECK(memcmp(C[0], C[3], bytes) == 0, "inside a parallel region differs");
	free(A), free(B);
	for (int t = 0; t < 4; t++)
		free(C[t]);
#endif
}

/* The AVX2 packing transpose at every panel width in use (6 and 16 for
 * AVX2, 14 and 32 for AVX-512, which this checks even on a CPU that cannot
 * run the AVX-512 kernel): the lines it should write, and nothing else. */
static void test_transpose_avx2(void)
{
#ifdef CK_GEMM_X86
	static const int widths[] = {6, 14, 16, 32}, kcs[] = {1, 7, 8, 9, 16, 63, 100};
	const size_t ls = 131; /* source row stride, not a multiple of anything */
	float *src = new_matrix(32, (int)ls, (int)ls, 0.0f);
	float *dst = malloc(32 * 100 * sizeof *dst);
	for (int wi = 0; wi < 4; wi++)
		for (int rows = 1; rows <= widths[wi]; rows++)
			for (int ki = 0; ki < 7; ki++) {
				int w = widths[wi], kc = kcs[ki], bad = 0;
				for (int i = 0; i < w * kc; i++)
					dst[i] = -7.0f;
				ck_gemm_transpose_avx2(dst, (size_t)w, src, ls, rows, kc);
				for (int p = 0; p < kc; p++)
					for (int r = 0; r < w; r++) {
						float want = r < rows ? src[(size_t)r * ls + p] : -7.0f;
						bad += dst[p * w + r] != want;
					}
				CHECK(bad == 0, "w %d rows %d kc %d: %d wrong", w, rows, kc, bad);
			}
	free(src), free(dst);
#endif
}

/* RUN with the named micro-kernel forced, or a TAP skip if the CPU lacks it. */
#define RUN_KERNEL(name, fn)                                                   \
	do {                                                                       \
		if (ck_sgemm_select(name) == 0)                                        \
			RUN(fn);                                                           \
		else                                                                   \
			printf("ok - %s # SKIP no %s on this CPU\n", #fn, name);          \
	} while (0)

int main(void)
{
	RUN_KERNEL("avx512", test_kernel_avx512);
	RUN_KERNEL("avx2", test_kernel_avx2);
	RUN_KERNEL("c", test_kernel_c);
	if (ck_sgemm_select("avx2") == 0)
		RUN(test_transpose_avx2);
	else
		printf("ok - test_transpose_avx2 # SKIP no avx2 on this CPU\n");
	ck_sgemm_select("auto");
	RUN(test_empty_sum);
	RUN(test_select);
	RUN(test_threads);
	return check_summary();
}
