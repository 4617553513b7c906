/* gemm_internal.h: what the SGEMM driver (gemm.c) shares with its
 * micro-kernels (gemm_kernel_*.c). Not installed.
 *
 * The driver packs op(A) and op(B) into panels the micro-kernel reads
 * sequentially (see gemm.c for the blocking):
 *
 *   a: one micro-panel of op(A), MR rows by kc, stored k-major:
 *      a[p*MR + i] = op(A)(i, p), rows past the matrix edge are zero
 *   b: one micro-panel of op(B), kc by NR columns, stored k-major:
 *      b[p*NR + j] = op(B)(p, j), columns past the edge are zero
 *
 * and the micro-kernel updates the m x n corner (m <= MR, n <= NR) of the
 * tile of C at c, rows ldc floats apart:
 *
 *   C(i,j) = alpha * sum_p a[p*MR + i] * b[p*NR + j] + beta * C(i,j)
 *
 * where beta == 0 means C is not read. a and b are 64-byte aligned. */
#ifndef CK_GEMM_INTERNAL_H
#define CK_GEMM_INTERNAL_H

#include <stddef.h>

typedef void ck_gemm_kernel_fn(int kc, const float *a, const float *b, float *c,
                               size_t ldc, int m, int n, float alpha, float beta);

/* One micro-panel's lines when their steps are contiguous (op(A) not
 * transposed, op(B) transposed): dst[p*w + r] = src[r*ls + p] for
 * r < rows <= w and p < kc; entries r >= rows of dst are left alone. */
typedef void ck_gemm_transpose_fn(float *dst, size_t w, const float *src, size_t ls, int rows,
                                  int kc);

/* A micro-kernel and the cache blocking that suits it. mc is a multiple of
 * mr, nc a multiple of nr; kc * nr floats (one B micro-panel) fit in L1,
 * mc * kc floats (one A block) in L2, kc * nc floats (one B panel) in L3. */
typedef struct ck_gemm_kernel {
	const char *name;        /* "avx512", "avx2", "c" */
	ck_gemm_kernel_fn *fn;
	int mr, nr;              /* register tile, in floats */
	int mc, kc, nc;          /* cache blocks, in floats */
	int (*supported)(void);  /* 1 if this CPU and OS can run fn */
	ck_gemm_transpose_fn *transpose; /* faster packing, or NULL: the portable one */
} ck_gemm_kernel;

/* Upper bounds over all kernels, which size the packing buffers. */
#define CK_GEMM_MAX_MC 168
#define CK_GEMM_MAX_KC 256
#define CK_GEMM_MAX_NC 512

extern const ck_gemm_kernel ck_gemm_kernel_c;
#if defined(__x86_64__) || defined(__i386__)
#define CK_GEMM_X86 1
extern const ck_gemm_kernel ck_gemm_kernel_avx2;
extern const ck_gemm_kernel ck_gemm_kernel_avx512;
/* The AVX2 packing transpose, which the AVX-512 kernel uses too. */
ck_gemm_transpose_fn ck_gemm_transpose_avx2;
#endif

#endif
