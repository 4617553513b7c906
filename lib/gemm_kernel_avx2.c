/* gemm_kernel_avx2.c: the 6x16 SGEMM micro-kernel for AVX2 + FMA, and the
 * packing transpose that goes with it.
 *
 * The tile of C lives in 12 ymm accumulators (6 rows x 2 vectors of 8):
 * each step of k loads one row of the B micro-panel (2 vectors), broadcasts
 * the 6 values of the A column, and issues 12 independent FMAs. Twelve chains
 * cover the FMA latency (4-5 cycles) times the 2 FMA pipes of Zen and
 * Haswell-and-later cores; 12 + 2 + 1 registers of the 16 are in use.
 *
 * Compiled with a target attribute rather than -mavx2, so a portable build
 * still carries it; gemm.c only calls it when the CPU supports it. */
#include "gemm_internal.h"

#ifdef CK_GEMM_X86
#include <immintrin.h>

#define MR 6
#define NR 16

/* Lanes 0..n-1 of a vector of 8 set (all bits), the others clear; n may be
 * outside 0..8. For the masked loads and stores of an edge tile. */
__attribute__((target("avx2,fma")))
static inline __m256i lanes_below(int n)
{
	const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
	return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), lane);
}

__attribute__((target("avx2,fma")))
static void kernel_avx2(int kc, const float *a, const float *b, float *c, size_t ldc,
                        int m, int n, float alpha, float beta)
{
	/* Fetch the tile of C now, so it is in L1 when the sum is done. A row
	 * of 16 floats spans at most two cache lines: its first and last. */
	for (int i = 0; i < m; i++) {
		_mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0);
		_mm_prefetch((const char *)(c + i * ldc + n - 1), _MM_HINT_T0);
	}

	__m256 acc[MR][2];
#pragma GCC unroll 6
	for (int i = 0; i < MR; i++)
		acc[i][0] = acc[i][1] = _mm256_setzero_ps();

	for (int p = 0; p < kc; p++) {
		__m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
#pragma GCC unroll 6
		for (int i = 0; i < MR; i++) {
			__m256 ai = _mm256_broadcast_ss(a + i);
			acc[i][0] = _mm256_fmadd_ps(ai, b0, acc[i][0]);
			acc[i][1] = _mm256_fmadd_ps(ai, b1, acc[i][1]);
		}
		a += MR;
		b += NR;
	}

	/* C = alpha * acc + beta * C on rows < m and columns < n. */
	__m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
	if (n == NR) {
#pragma GCC unroll 6
		for (int i = 0; i < MR; i++) {
			if (i >= m)
				break;
			float *row = c + i * ldc;
			__m256 r0 = _mm256_mul_ps(va, acc[i][0]), r1 = _mm256_mul_ps(va, acc[i][1]);
			if (beta != 0.0f) {
				r0 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(row), r0);
				r1 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(row + 8), r1);
			}
			_mm256_storeu_ps(row, r0);
			_mm256_storeu_ps(row + 8, r1);
		}
	} else {
		/* Masked-off lanes are neither read nor written (no fault past the
		 * end of C either). */
		__m256i k0 = lanes_below(n), k1 = lanes_below(n - 8);
#pragma GCC unroll 6
		for (int i = 0; i < MR; i++) {
			if (i >= m)
				break;
			float *row = c + i * ldc;
			__m256 r0 = _mm256_mul_ps(va, acc[i][0]), r1 = _mm256_mul_ps(va, acc[i][1]);
			if (beta != 0.0f) {
				r0 = _mm256_fmadd_ps(vb, _mm256_maskload_ps(row, k0), r0);
				r1 = _mm256_fmadd_ps(vb, _mm256_maskload_ps(row + 8, k1), r1);
			}
			_mm256_maskstore_ps(row, k0, r0);
			_mm256_maskstore_ps(row + 8, k1, r1);
		}
	}
}

/* In place: r[i] lane j becomes r[j] lane i. */
__attribute__((target("avx2,fma")))
static inline void transpose8x8(__m256 r[8])
{
	__m256 t[8], u[8];
#pragma GCC unroll 4
	for (int i = 0; i < 8; i += 2) {
		t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);     /* r_i0 r_i+1,0 r_i1 r_i+1,1 | 4,5 */
		t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]); /* the same for lanes 2,3 | 6,7 */
	}
#pragma GCC unroll 2
	for (int i = 0; i < 8; i += 4) {
		u[i] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
		u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
		u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
		u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
	}
#pragma GCC unroll 4
	for (int i = 0; i < 4; i++) {
		r[i] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x20);
		r[i + 4] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x31);
	}
}

/* The packing transpose (gemm_internal.h) by 8 x 8 register blocks: 8 loads,
 * 24 shuffles and 8 stores move 64 floats, where the portable loop moves
 * one float per load and store. Panels narrower than 8 (MR = 6) take masked
 * stores. */
__attribute__((target("avx2,fma")))
void ck_gemm_transpose_avx2(float *dst, size_t w, const float *src, size_t ls, int rows, int kc)
{
	for (int r0 = 0; r0 < rows; r0 += 8) {
		int rn = rows - r0 < 8 ? rows - r0 : 8;
		const float *s = src + (size_t)r0 * ls;
		float *d = dst + r0;
		__m256i keep = lanes_below(rn);
		int p = 0;
		for (; p + 8 <= kc; p += 8) {
			/* Source rows are far apart (an im2col matrix row is N floats)
			 * and short here (kc): fetch 4 lines ahead, not waiting for the
			 * hardware to find 8 new streams. */
			if (p % 16 == 0 && p + 64 < kc)
				for (int i = 0; i < rn; i++)
					_mm_prefetch((const char *)(s + (size_t)i * ls + p + 64), _MM_HINT_T0);
			__m256 r[8];
#pragma GCC unroll 8
			for (int i = 0; i < 8; i++)
				r[i] = i < rn ? _mm256_loadu_ps(s + (size_t)i * ls + p) : _mm256_setzero_ps();
			transpose8x8(r);
#pragma GCC unroll 8
			for (int j = 0; j < 8; j++) {
				if (rn == 8)
					_mm256_storeu_ps(d + (size_t)(p + j) * w, r[j]);
				else
					_mm256_maskstore_ps(d + (size_t)(p + j) * w, keep, r[j]);
			}
		}
		for (; p < kc; p++)
			for (int i = 0; i < rn; i++)
				d[(size_t)p * w + i] = s[(size_t)i * ls + p];
	}
}

static int supported_avx2(void)
{
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

const ck_gemm_kernel ck_gemm_kernel_avx2 = {
	.name = "avx2", .fn = kernel_avx2, .mr = MR, .nr = NR,
	/* Zen 3: a B micro-panel 256 x 16 is 16 KiB of the 32 KiB L1d, an A
	 * block 168 x 256 is 168 KiB of the 512 KiB L2, a B panel 256 x 512 is
	 * 512 KiB of the shared L3. */
	.mc = 168, .kc = 256, .nc = 512,
	.supported = supported_avx2,
	.transpose = ck_gemm_transpose_avx2,
};
#endif
