/* gemm_peak.c: the fp32 multiply-add peak of one core, measured, as the
 * yardstick for SGEMM benchmarks (tools/bench/peak and tools/bench/sgemm).
 *
 * Each probe runs 12 independent FMA chains (acc = acc * m + c) on full
 * vector registers: at least the FMA latency (4-5 cycles) times the number
 * of FMA pipes (2) chains are needed to keep every pipe busy, and 12 fits in
 * the 16 ymm registers with room to spare. m and c keep every chain near 1,
 * far from overflow and from subnormals. Every loop over the chains is
 * unrolled, so that the array of chains lives in registers. */
#include "cnnkit.h"
#include "gemm_internal.h"

#include <string.h>
#include <time.h>

#define CHAINS 12
#define STEPS_PER_ROUND (1 << 19) /* 3M FMAs, about 1 ms */

/* The chains' final values go here so the compiler cannot drop them. */
static volatile float peak_sink;

static double now_seconds(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

#ifdef CK_GEMM_X86
#include <immintrin.h>

/* An empty asm that claims to change v: the compiler must then do every FMA
 * of every lane as written. Without it clang, seeing that the lanes are
 * equal and the result little used, computes fewer chains than asked. */
#define OPAQUE(v) __asm__("" : "+x"(v))

__attribute__((target("avx2,fma")))
static void fma_round_avx2(void)
{
	__m256 acc[CHAINS], m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-6f);
#pragma GCC unroll 12
	for (int a = 0; a < CHAINS; a++)
		acc[a] = _mm256_set1_ps(1.0f + 0.01f * (float)a);
	for (int s = 0; s < STEPS_PER_ROUND; s++) {
#pragma GCC unroll 12
		for (int a = 0; a < CHAINS; a++) {
			acc[a] = _mm256_fmadd_ps(acc[a], m, c);
			OPAQUE(acc[a]);
		}
	}
	float out[8];
#pragma GCC unroll 12
	for (int a = 1; a < CHAINS; a++)
		acc[0] = _mm256_add_ps(acc[0], acc[a]);
	_mm256_storeu_ps(out, acc[0]);
	peak_sink = out[0];
}

__attribute__((target("avx512f")))
static void fma_round_avx512(void)
{
	__m512 acc[CHAINS], m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-6f);
#pragma GCC unroll 12
	for (int a = 0; a < CHAINS; a++)
		acc[a] = _mm512_set1_ps(1.0f + 0.01f * (float)a);
	for (int s = 0; s < STEPS_PER_ROUND; s++) {
#pragma GCC unroll 12
		for (int a = 0; a < CHAINS; a++) {
			acc[a] = _mm512_fmadd_ps(acc[a], m, c);
			OPAQUE(acc[a]);
		}
	}
#pragma GCC unroll 12
	for (int a = 1; a < CHAINS; a++)
		acc[0] = _mm512_add_ps(acc[0], acc[a]);
	peak_sink = _mm512_reduce_add_ps(acc[0]);
}
#endif

double ck_sgemm_peak_gflops(const char *isa, double seconds)
{
	void (*round)(void) = NULL;
	int lanes = 0;
#ifdef CK_GEMM_X86
	if (strcmp(isa, "avx512") == 0 && ck_gemm_kernel_avx512.supported())
		round = fma_round_avx512, lanes = 16;
	else if (strcmp(isa, "avx2") == 0 && ck_gemm_kernel_avx2.supported())
		round = fma_round_avx2, lanes = 8;
#endif
	if (!round)
		return -1.0;
	/* The fastest of many short rounds: on a shared machine the average
	 * would measure the other processes too. */
	round(); /* wake the core up to its working clock */
	double start = now_seconds(), t = start, fastest = 1e300;
	do {
		round();
		double t1 = now_seconds();
		fastest = t1 - t < fastest ? t1 - t : fastest;
		t = t1;
	} while (t - start < seconds);
	return 2.0 * lanes * CHAINS * (double)STEPS_PER_ROUND / fastest * 1e-9;
}
