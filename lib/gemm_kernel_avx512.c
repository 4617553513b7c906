/* gemm_kernel_avx512.c: the 14x32 SGEMM micro-kernel for AVX-512F.
 *
 * The same structure as the AVX2 kernel, twice as wide: the tile of C lives
 * in 28 zmm accumulators (14 rows x 2 vectors of 16); each step of k loads
 * one row of the B micro-panel (2 vectors), broadcasts the 14 values of the
 * A column and issues 28 independent FMAs, enough to cover 4-cycle latency
 * on 2 FMA pipes; 28 + 2 + 1 registers of the 32 are in use. Edge tiles use
 * the AVX-512 lane masks, which suppress both the access and its faults.
 *
 * Compiled with a target attribute rather than -mavx512f, so a portable
 * build still carries it; gemm.c only calls it when the CPU supports it. */
#include "gemm_internal.h"

#ifdef CK_GEMM_X86
#include <immintrin.h>

#define MR 14
#define NR 32

/* Lanes 0..n-1 of a vector of 16 set; n may be outside 0..16. */
static inline __mmask16 lanes_below(int n)
{
	return n >= 16 ? (__mmask16)0xffff : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1);
}

__attribute__((target("avx512f")))
static void kernel_avx512(int kc, const float *a, const float *b, float *c, size_t ldc,
                          int m, int n, float alpha, float beta)
{
	/* Fetch the tile of C now, so it is in L1 when the sum is done. A row
	 * of 32 floats spans at most three cache lines. */
	for (int i = 0; i < m; i++) {
		_mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0);
		_mm_prefetch((const char *)(c + i * ldc + (n - 1) / 2), _MM_HINT_T0);
		_mm_prefetch((const char *)(c + i * ldc + n - 1), _MM_HINT_T0);
	}

	__m512 acc[MR][2];
#pragma GCC unroll 14
	for (int i = 0; i < MR; i++)
		acc[i][0] = acc[i][1] = _mm512_setzero_ps();

	for (int p = 0; p < kc; p++) {
		__m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
#pragma GCC unroll 14
		for (int i = 0; i < MR; i++) {
			__m512 ai = _mm512_set1_ps(a[i]);
			acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
			acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);
		}
		a += MR;
		b += NR;
	}

	/* C = alpha * acc + beta * C on rows < m and columns < n. A full mask
	 * costs nothing extra on AVX-512, so full and edge tiles share one path. */
	__m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
	__mmask16 k0 = lanes_below(n), k1 = lanes_below(n - 16);
#pragma GCC unroll 14
	for (int i = 0; i < MR; i++) {
		if (i >= m)
			break;
		float *row = c + i * ldc;
		__m512 r0 = _mm512_mul_ps(va, acc[i][0]), r1 = _mm512_mul_ps(va, acc[i][1]);
		if (beta != 0.0f) {
			r0 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(k0, row), r0);
			r1 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(k1, row + 16), r1);
		}
		_mm512_mask_storeu_ps(row, k0, r0);
		_mm512_mask_storeu_ps(row + 16, k1, r1);
	}
}

static int supported_avx512(void)
{
	__builtin_cpu_init();
	/* AVX2 for the packing transpose; every AVX-512 CPU has it. */
	return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2");
}

const ck_gemm_kernel ck_gemm_kernel_avx512 = {
	.name = "avx512", .fn = kernel_avx512, .mr = MR, .nr = NR,
	/* Untuned (no AVX-512 machine to hand): a B micro-panel 192 x 32 is
	 * 24 KiB, within the 32-48 KiB L1d of Skylake-X to Sapphire Rapids and
	 * Zen 4; an A block 168 x 192 is 126 KiB of their >= 1 MiB L2. */
	.mc = 168, .kc = 192, .nc = 512,
	.supported = supported_avx512,
	.transpose = ck_gemm_transpose_avx2,
};
#endif
