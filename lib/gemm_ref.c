/* gemm_ref.c: the reference SGEMM, a plain triple loop in double accumulation
 * order k-innermost. Slow and obviously right: the test oracle. */
#include "cnnkit.h"

void ck_sgemm_ref(int trans_a, int trans_b, int M, int N, int K, float alpha,
                  const float *A, int lda, const float *B, int ldb, float beta,
                  float *C, int ldc)
{
	for (int i = 0; i < M; i++)
		for (int j = 0; j < N; j++) {
			double acc = 0.0;
			for (int k = 0; k < K; k++) {
				float a = trans_a ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k];
				float b = trans_b ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j];
				acc += (double)a * b;
			}
			float *c = &C[(size_t)i * ldc + j];
			*c = (float)(alpha * acc) + (beta == 0.0f ? 0.0f : beta * *c);
		}
}
