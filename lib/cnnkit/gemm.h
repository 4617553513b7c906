/* cnnkit/gemm.h: single-precision matrix multiply, BLAS argument order, row-major.
 *
 *   C (M,N) = alpha * op(A) (M,K) * op(B) (K,N) + beta * C
 *
 * op(A) is A (M,K) with leading dimension lda >= K when trans_a == 0, or the
 * transpose of A stored (K,M) with lda >= M when trans_a != 0; likewise B.
 * A and B are only read, so their rows may overlap (lda < K): conv1d uses
 * this to multiply windows of consecutive channels-last rows in place.
 * beta == 0 means C is written without being read (it may hold NaNs). */
#ifndef CNNKIT_GEMM_H
#define CNNKIT_GEMM_H

#include <stddef.h>

/* The plain triple loop: the oracle for every optimised version. */
void ck_sgemm_ref(int trans_a, int trans_b, int M, int N, int K, float alpha,
                  const float *A, int lda, const float *B, int ldb, float beta,
                  float *C, int ldc);

/* The fast version: used by every kernel. Threads with OpenMP when the
 * caller is not already inside a parallel region. */
void ck_sgemm(int trans_a, int trans_b, int M, int N, int K, float alpha,
              const float *A, int lda, const float *B, int ldb, float beta,
              float *C, int ldc);

/* For tests and benchmarks: the micro-kernel ck_sgemm uses. By default the
 * best one this CPU supports, chosen on the first call. */

/* Forces the micro-kernel "avx512", "avx2" or "c", or with "auto" returns to
 * the best supported. Returns 0, or -1 if the name is unknown or the CPU
 * cannot run it (the choice is then unchanged). Do not call it while another
 * thread is inside ck_sgemm. */
int ck_sgemm_select(const char *name);

/* The name of the micro-kernel in use: "avx512", "avx2" or "c". */
const char *ck_sgemm_kernel_name(void);

/* The calling thread's measured fp32 multiply-add throughput, in GFLOP/s
 * (an FMA counts 2 per lane), with the instructions of micro-kernel "avx512"
 * (zmm) or "avx2" (ymm), over about `seconds`: the peak SGEMM is measured
 * against. Returns -1 for "c", an unknown name or an unsupported ISA. */
double ck_sgemm_peak_gflops(const char *isa, double seconds);

#endif
