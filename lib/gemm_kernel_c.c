/* gemm_kernel_c.c: the portable 4x8 SGEMM micro-kernel in plain C.
 *
 * The fallback for CPUs without AVX2 (and other architectures). The 4 x 8
 * accumulator tile fits the 16 registers of SSE or NEON once the compiler
 * vectorises the j loops, which it does without any intrinsics. */
#include "gemm_internal.h"

#define MR 4
#define NR 8

static void kernel_c(int kc, const float *restrict a, const float *restrict b,
                     float *restrict c, size_t ldc, int m, int n, float alpha, float beta)
{
	float acc[MR][NR] = {{0}};
	for (int p = 0; p < kc; p++) {
		for (int i = 0; i < MR; i++)
			for (int j = 0; j < NR; j++)
				acc[i][j] += a[i] * b[j];
		a += MR;
		b += NR;
	}
	for (int i = 0; i < m; i++) {
		float *row = c + i * ldc;
		for (int j = 0; j < n; j++) {
			float r = alpha * acc[i][j];
			row[j] = beta == 0.0f ? r : r + beta * row[j];
		}
	}
}

static int supported_c(void)
{
	return 1;
}

const ck_gemm_kernel ck_gemm_kernel_c = {
	.name = "c", .fn = kernel_c, .mr = MR, .nr = NR,
	.mc = 168, .kc = 256, .nc = 512,
	.supported = supported_c,
};
