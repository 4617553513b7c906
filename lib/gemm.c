/* gemm.c: the packed, cache-blocked SGEMM (Goto / BLIS structure): the
 * driver, packing, blocking, threading and micro-kernel dispatch. The
 * micro-kernels are in gemm_kernel_*.c, their contract in gemm_internal.h.
 *
 * Each thread computes its own rectangle of C with this loop nest:
 *
 *   for jc in N step NC                        B panel  kc x nc, in L3
 *     for pc in K step KC
 *       pack op(B)[pc:pc+kc, jc:jc+nc]
 *       for ic in M step MC                    A block  mc x kc, in L2
 *         pack op(A)[ic:ic+mc, pc:pc+kc]
 *         for jr in 0..nc step NR              B micro-panel kc x NR, in L1
 *           for ir in 0..mc step MR            A micro-panel MR x kc, from L2
 *             micro-kernel: the MR x NR tile C[ic+ir, jc+jr]
 *
 * Threads split C into a grid of rectangles whose edges fall on the MR x NR
 * tile grid, and each runs the whole loop nest on its rectangle with its own
 * packing buffers: no barriers and no shared writes. Every element of C is
 * then computed by the same micro-kernel with the same KC split of the sum
 * whatever the thread count, so results are bit-identical across thread
 * counts, not only for a given one. The price is that threads sharing rows
 * (or columns) each pack those rows of op(A) (or columns of op(B)); the grid
 * is chosen to keep that duplication small. */
#include "cnnkit.h"
#include "gemm_internal.h"

#include <assert.h>
#include <stdatomic.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* Packing buffers: fixed-size, per thread, 64-byte aligned, in static
 * thread-local storage (168 KiB + 512 KiB per thread). Static rather than
 * allocated on first use: there is no failure path, no lock, nothing to free
 * at thread exit, and the OpenMP thread count may change between calls. The
 * cost is that every thread of the process gets the 680 KiB, taken from its
 * stack mapping by glibc, whether or not it calls ck_sgemm. */
static _Thread_local _Alignas(64) float pack_a[CK_GEMM_MAX_MC * CK_GEMM_MAX_KC];
static _Thread_local _Alignas(64) float pack_b[CK_GEMM_MAX_KC * CK_GEMM_MAX_NC];

/* Below this many multiply-adds (M*N*K) one thread does the whole product:
 * about 20 microseconds of work for one core, where waking threads stops
 * paying. */
#define GEMM_PARALLEL_MIN_WORK (1 << 20)

/* ---------------------------------------------------------------------
 * Micro-kernel selection. */

/* Best first. */
static const ck_gemm_kernel *const kernels[] = {
#ifdef CK_GEMM_X86
	&ck_gemm_kernel_avx512,
	&ck_gemm_kernel_avx2,
#endif
	&ck_gemm_kernel_c,
};
#define NKERNELS (sizeof kernels / sizeof kernels[0])

/* NULL until the first call picks the best supported kernel. The kernel
 * descriptors are constant, so relaxed loads and stores are enough. */
static _Atomic(const ck_gemm_kernel *) active_kernel;

static const ck_gemm_kernel *best_kernel(void)
{
	for (size_t i = 0; i < NKERNELS; i++)
		if (kernels[i]->supported())
			return kernels[i];
	return &ck_gemm_kernel_c;
}

static const ck_gemm_kernel *current_kernel(void)
{
	const ck_gemm_kernel *k = atomic_load_explicit(&active_kernel, memory_order_relaxed);
	if (!k) {
		k = best_kernel();
		atomic_store_explicit(&active_kernel, k, memory_order_relaxed);
	}
	return k;
}

int ck_sgemm_select(const char *name)
{
	const ck_gemm_kernel *k = NULL;
	if (strcmp(name, "auto") == 0)
		k = best_kernel();
	for (size_t i = 0; !k && i < NKERNELS; i++)
		if (strcmp(name, kernels[i]->name) == 0 && kernels[i]->supported())
			k = kernels[i];
	if (!k)
		return -1;
	atomic_store_explicit(&active_kernel, k, memory_order_relaxed);
	return 0;
}

const char *ck_sgemm_kernel_name(void)
{
	return current_kernel()->name;
}

/* ---------------------------------------------------------------------
 * Packing. */

/* A strided view of op(A) or op(B): element (i,j) is p[i*rs + j*cs]. A
 * transpose swaps the strides, so packing never asks which it is. */
typedef struct gemm_view {
	const float *p;
	size_t rs, cs;
} gemm_view;

static gemm_view view_of(const float *x, int ld, int trans)
{
	gemm_view v = {x, trans ? 1 : (size_t)ld, trans ? (size_t)ld : 1};
	return v;
}

static const float *view_at(gemm_view v, int i, int j)
{
	return v.p + (size_t)i * v.rs + (size_t)j * v.cs;
}

/* The portable transpose (gemm_internal.h): by blocks of one cache line (16
 * steps) of 8 source rows, so the block's lines stay in L1 while it is read
 * even when the rows are 4 KiB apart (one L1 set, 8 ways), and the writes
 * go out in order. */
static void transpose_c(float *restrict dst, size_t w, const float *restrict src, size_t ls,
                        int rows, int kc)
{
	const int chunk = 16, ways = 8;
	for (int p0 = 0; p0 < kc; p0 += chunk) {
		int pn = kc - p0 < chunk ? kc - p0 : chunk;
		for (int r0 = 0; r0 < rows; r0 += ways) {
			int rn = rows - r0 < ways ? rows - r0 : ways;
			const float *s = src + (size_t)r0 * ls + p0;
			float *d = dst + (size_t)p0 * w + r0;
			for (int p = 0; p < pn; p++)
				for (int r = 0; r < rn; r++)
					d[(size_t)p * w + r] = s[(size_t)r * ls + p];
		}
	}
}

/* Packs `count` lines (rows of op(A) or columns of op(B)), each kc long,
 * into ceil(count / w) micro-panels of w lines: line r, step p is
 * src[r*ls + p*ps] and goes to panel r / w at [p*w + r % w]; the lines
 * missing from the last panel are zeros.
 *
 * The source is read along its rows, whichever way it lies: across the
 * lines, a few panels at once, when ls == 1; by transposed blocks of whole
 * cache lines otherwise (then ps == 1). Reading one panel's width of each
 * row instead touches rows a power of two apart (lda = 1024 is 4 KiB),
 * which share cache sets and evict each other before the next panel comes
 * back for the rest of their lines.
 *
 * always_inline so that pack_block gets a copy per constant w, whose copies
 * the compiler turns into a few vector moves: packing op(B) costs as much as
 * the arithmetic when M is small (a 64-channel convolution). */
static inline __attribute__((always_inline)) void
pack_block_w(float *restrict dst, const float *restrict src, size_t ls, size_t ps, int count,
             const int w, int kc, ck_gemm_transpose_fn *transpose)
{
	const size_t panel = (size_t)w * kc;
	const int full = count / w * w; /* lines in full panels */
	if (ls == 1) {
		/* Lines contiguous: a row of the source feeds `group` panels at once;
		 * more would make too many write streams a multiple of 4 KiB apart,
		 * which share one L1 set. */
		const int group = 4, ahead = 8;
		for (int q0 = 0; q0 < count; q0 += group * w, dst += group * panel) {
			int q1 = count - q0 < group * w ? count : q0 + group * w;
			int full_end = q1 < full ? q1 : full; /* full panels end here */
			for (int p = 0; p < kc; p++) {
				const float *s = src + (size_t)p * ps;
				float *d = dst + (size_t)p * w;
				/* Rows lie far apart (an im2col matrix row is N floats): the
				 * hardware sees no stream, so ask for the row `ahead` early. */
				if (p + ahead < kc)
					for (int f = q0; f < q1; f += 16)
						__builtin_prefetch(s + (size_t)ahead * ps + f);
				int q = q0;
				for (; q < full_end; q += w, d += panel)
					memcpy(d, s + q, (size_t)w * sizeof *d);
				for (int r = 0; q < q1 && r < w; r++)
					d[r] = q + r < count ? s[q + r] : 0.0f;
			}
		}
		return;
	}
	/* Steps contiguous (ps == 1: a view has one unit stride): a transpose
	 * per panel, by the kernel's own routine when it has one. */
	assert(ps == 1);
	for (int q = 0; q < count; q += w, dst += panel) {
		int v = count - q < w ? count - q : w;
		transpose(dst, (size_t)w, src + (size_t)q * ls, ls, v, kc);
		for (int p = 0; v < w && p < kc; p++)
			for (int r = v; r < w; r++)
				dst[(size_t)p * w + r] = 0.0f;
	}
}

static void pack_block(float *dst, const float *src, size_t ls, size_t ps, int count, int w,
                       int kc, ck_gemm_transpose_fn *transpose)
{
	switch (w) {
	case 4: pack_block_w(dst, src, ls, ps, count, 4, kc, transpose); break;
	case 6: pack_block_w(dst, src, ls, ps, count, 6, kc, transpose); break;
	case 8: pack_block_w(dst, src, ls, ps, count, 8, kc, transpose); break;
	case 14: pack_block_w(dst, src, ls, ps, count, 14, kc, transpose); break;
	case 16: pack_block_w(dst, src, ls, ps, count, 16, kc, transpose); break;
	case 32: pack_block_w(dst, src, ls, ps, count, 32, kc, transpose); break;
	default: pack_block_w(dst, src, ls, ps, count, w, kc, transpose); break;
	}
}

/* op(A)[i0:i0+mc, p0:p0+kc] as ceil(mc/mr) micro-panels of mr x kc. */
static void pack_a_block(float *dst, const ck_gemm_kernel *kern, gemm_view a, int i0, int mc,
                         int p0, int kc)
{
	pack_block(dst, view_at(a, i0, p0), a.rs, a.cs, mc, kern->mr, kc,
	           kern->transpose ? kern->transpose : transpose_c);
}

/* op(B)[p0:p0+kc, j0:j0+nc] as ceil(nc/nr) micro-panels of kc x nr. */
static void pack_b_panel(float *dst, const ck_gemm_kernel *kern, gemm_view b, int p0, int kc,
                         int j0, int nc)
{
	pack_block(dst, view_at(b, p0, j0), b.cs, b.rs, nc, kern->nr, kc,
	           kern->transpose ? kern->transpose : transpose_c);
}

/* ---------------------------------------------------------------------
 * The loop nest on one thread. */

static int ceil_div(int a, int b)
{
	return (a + b - 1) / b;
}

/* C (M,N) = alpha * op(A) (M,K) * op(B) (K,N) + beta * C, K >= 1. */
static void gemm_blocked(const ck_gemm_kernel *kern, gemm_view a, gemm_view b, int M, int N,
                         int K, float alpha, float beta, float *C, size_t ldc)
{
	const int MR = kern->mr, NR = kern->nr;
	assert(kern->mc % MR == 0 && kern->mc <= CK_GEMM_MAX_MC);
	assert(kern->nc % NR == 0 && kern->nc <= CK_GEMM_MAX_NC);
	assert(kern->kc <= CK_GEMM_MAX_KC);
	/* K in equal slices of at most KC: K = 288 as 144 + 144, not 256 + 32,
	 * whose short sums would spend their time loading and storing C. */
	const int kc_even = ceil_div(K, ceil_div(K, kern->kc));
	for (int jc = 0; jc < N; jc += kern->nc) {
		int nc = N - jc < kern->nc ? N - jc : kern->nc;
		for (int pc = 0; pc < K; pc += kc_even) {
			int kc = K - pc < kc_even ? K - pc : kc_even;
			/* The first slice of the sum applies beta, the others add. */
			float beta_pc = pc == 0 ? beta : 1.0f;
			pack_b_panel(pack_b, kern, b, pc, kc, jc, nc);
			for (int ic = 0; ic < M; ic += kern->mc) {
				int mc = M - ic < kern->mc ? M - ic : kern->mc;
				pack_a_block(pack_a, kern, a, ic, mc, pc, kc);
				for (int jr = 0; jr < nc; jr += NR) {
					int n = nc - jr < NR ? nc - jr : NR;
					const float *bp = pack_b + (size_t)jr * kc;
					for (int ir = 0; ir < mc; ir += MR) {
						int m = mc - ir < MR ? mc - ir : MR;
						float *c = C + (size_t)(ic + ir) * ldc + (size_t)(jc + jr);
						kern->fn(kc, pack_a + (size_t)ir * kc, bp, c, ldc, m, n, alpha,
						         beta_pc);
					}
				}
			}
		}
	}
}

/* ---------------------------------------------------------------------
 * Threading. */

/* How many threads to ask for: one inside a parallel region (the caller
 * already owns the cores) or for a small product. */
static int gemm_threads(int M, int N, int K)
{
#ifdef _OPENMP
	if (omp_in_parallel() || (double)M * N * K < GEMM_PARALLEL_MIN_WORK)
		return 1;
	return omp_get_max_threads();
#else
	(void)M, (void)N, (void)K;
	return 1;
#endif
}

#ifdef _OPENMP
/* Splits C (M,N) into a grid of tm x tn rectangles for nthr threads, tm*tn
 * == nthr, of rows x cols each (multiples of the tile, the last ones
 * shorter). Picks the grid with the least work per thread counted in whole
 * tiles, then the least packing (rows + cols). */
typedef struct gemm_grid {
	int tn, rows, cols;
} gemm_grid;

static gemm_grid grid_for(int nthr, int M, int N, int mr, int nr)
{
	gemm_grid best = {0, 0, 0};
	double best_work = 0, best_pack = 0;
	for (int tm = 1; tm <= nthr; tm++) {
		if (nthr % tm)
			continue;
		int tn = nthr / tm;
		int rows = ceil_div(ceil_div(M, mr), tm) * mr;
		int cols = ceil_div(ceil_div(N, nr), tn) * nr;
		double work = (double)rows * cols, pack = (double)rows + cols;
		if (!best.tn || work < best_work || (work == best_work && pack < best_pack)) {
			gemm_grid g = {tn, rows, cols};
			best = g, best_work = work, best_pack = pack;
		}
	}
	return best;
}
#endif

/* C = beta * C, for K == 0 or alpha == 0 (A and B are not read). */
static void scale_c(int M, int N, float beta, float *C, size_t ldc)
{
	if (beta == 1.0f)
		return;
	for (int i = 0; i < M; i++) {
		float *row = C + (size_t)i * ldc;
		if (beta == 0.0f)
			memset(row, 0, (size_t)N * sizeof *row);
		else
			for (int j = 0; j < N; j++)
				row[j] *= beta;
	}
}

void ck_sgemm(int trans_a, int trans_b, int M, int N, int K, float alpha,
              const float *A, int lda, const float *B, int ldb, float beta,
              float *C, int ldc)
{
	assert(M >= 0 && N >= 0 && K >= 0);
	if (M == 0 || N == 0)
		return;
	if (K == 0 || alpha == 0.0f) {
		scale_c(M, N, beta, C, (size_t)ldc);
		return;
	}
	const ck_gemm_kernel *kern = current_kernel();
	gemm_view a = view_of(A, lda, trans_a), b = view_of(B, ldb, trans_b);
	int nthr = gemm_threads(M, N, K);
	if (nthr == 1) {
		gemm_blocked(kern, a, b, M, N, K, alpha, beta, C, (size_t)ldc);
		return;
	}
#ifdef _OPENMP
#pragma omp parallel num_threads(nthr)
	{
		/* The runtime may give fewer threads than asked: split for those. */
		int t = omp_get_thread_num(), nt = omp_get_num_threads();
		gemm_grid g = grid_for(nt, M, N, kern->mr, kern->nr);
		int i0 = (t / g.tn) * g.rows, j0 = (t % g.tn) * g.cols;
		if (i0 < M && j0 < N) {
			int m = M - i0 < g.rows ? M - i0 : g.rows;
			int n = N - j0 < g.cols ? N - j0 : g.cols;
			gemm_view as = {view_at(a, i0, 0), a.rs, a.cs};
			gemm_view bs = {view_at(b, 0, j0), b.rs, b.cs};
			gemm_blocked(kern, as, bs, m, n, K, alpha, beta,
			             C + (size_t)i0 * ldc + (size_t)j0, (size_t)ldc);
		}
	}
#endif
}
