/* tnz_crc.c: CRC-32 (ISO-HDLC, zlib's) at memory speed.
 *
 * zlib 1.2.x computes CRC-32 with tables at about 2 GB/s, a quarter of
 * memcpy, which made the checksum the largest cost of reading and writing
 * stored TNZ data. On x86-64 CPUs with PCLMULQDQ the bulk of a buffer is
 * folded instead, 64 bytes per step with carry-less multiplications (the
 * method of Intel's "Fast CRC Computation for Generic Polynomials Using
 * PCLMULQDQ"), and the last 16-byte remainder and the tail go through zlib.
 * Where VPCLMULQDQ exists (AVX2 width: AMD Zen 3 and later, Intel Ice Lake
 * and later) the same folding runs on two lanes per instruction, 128 bytes
 * per step: one lane at a time was half the cost of a stored load.
 *
 * Why handing the remainder to zlib is exact: with a zero initial state and
 * no final XOR, a CRC depends only on its input polynomial modulo P, and
 * folding keeps the processed prefix congruent to the 16-byte remainder
 * placed where the prefix ended; leading zero bytes change nothing. */
#include "cnnkit.h"

#include <zlib.h>

static uint32_t crc_zlib(uint32_t crc, const unsigned char *p, size_t n)
{
	/* zlib returns 0, not crc, for a NULL buffer. */
	return n ? (uint32_t)crc32_z(crc, p, n) : crc;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

/* x^(512+32) and x^(512-32) mod P (for the low and high 64 bits of a lane,
 * bit-reflected and shifted left by one) fold a lane 64 bytes forward;
 * x^(128+32) and x^(128-32) fold 16 bytes forward. */
#define K_FOLD64_LO 0x154442bd4ull
#define K_FOLD64_HI 0x1c6e41596ull
#define K_FOLD16_LO 0x1751997d0ull
#define K_FOLD16_HI 0x0ccaa009eull
/* x^(1024+32) and x^(1024-32): fold a lane 128 bytes forward. */
#define K_FOLD128_LO 0x1e88ef372ull
#define K_FOLD128_HI 0x14a7fe880ull

__attribute__((target("pclmul,sse2"))) static inline __m128i fold(__m128i x, __m128i k,
                                                                   __m128i next)
{
	__m128i lo = _mm_clmulepi64_si128(x, k, 0x00);
	__m128i hi = _mm_clmulepi64_si128(x, k, 0x11);
	return _mm_xor_si128(_mm_xor_si128(lo, hi), next);
}

/* Folds x (the state over the bytes before p + i) over the whole 16-byte
 * blocks of p[i..n), then reduces it: the raw CRC state, and in *done the
 * bytes consumed. */
__attribute__((target("pclmul,sse2"))) static uint32_t crc_finish(__m128i x,
                                                                   const unsigned char *p,
                                                                   size_t i, size_t n,
                                                                   size_t *done)
{
	const __m128i k16 = _mm_set_epi64x((long long)K_FOLD16_HI, (long long)K_FOLD16_LO);
	for (; i + 16 <= n; i += 16)
		x = fold(x, k16, _mm_loadu_si128((const __m128i *)(p + i)));
	unsigned char rest[16];
	_mm_storeu_si128((__m128i *)rest, x);
	*done = i;
	/* The raw CRC of the remainder from state 0: ~crc32(~0, ...). */
	return ~crc_zlib(0xFFFFFFFFu, rest, sizeof rest);
}

/* The raw CRC state (no inversions) after p[0..n), n >= 64, from state s;
 * the bytes past the last whole 16 are left to the caller: *done of them
 * were consumed. */
__attribute__((target("pclmul,sse2"))) static uint32_t crc_fold(uint32_t s,
                                                                 const unsigned char *p,
                                                                 size_t n, size_t *done)
{
	__m128i x0 = _mm_loadu_si128((const __m128i *)p);
	__m128i x1 = _mm_loadu_si128((const __m128i *)(p + 16));
	__m128i x2 = _mm_loadu_si128((const __m128i *)(p + 32));
	__m128i x3 = _mm_loadu_si128((const __m128i *)(p + 48));
	x0 = _mm_xor_si128(x0, _mm_cvtsi32_si128((int)s));
	size_t i = 64;
	const __m128i k64 = _mm_set_epi64x((long long)K_FOLD64_HI, (long long)K_FOLD64_LO);
	for (; i + 64 <= n; i += 64) {
		x0 = fold(x0, k64, _mm_loadu_si128((const __m128i *)(p + i)));
		x1 = fold(x1, k64, _mm_loadu_si128((const __m128i *)(p + i + 16)));
		x2 = fold(x2, k64, _mm_loadu_si128((const __m128i *)(p + i + 32)));
		x3 = fold(x3, k64, _mm_loadu_si128((const __m128i *)(p + i + 48)));
	}
	const __m128i k16 = _mm_set_epi64x((long long)K_FOLD16_HI, (long long)K_FOLD16_LO);
	__m128i x = fold(x0, k16, x1);
	x = fold(x, k16, x2);
	x = fold(x, k16, x3);
	return crc_finish(x, p, i, n, done);
}

#define TARGET_WIDE __attribute__((target("vpclmulqdq,avx2,pclmul")))

TARGET_WIDE static inline __m256i fold2(__m256i y, __m256i k, __m256i next)
{
	__m256i lo = _mm256_clmulepi64_epi128(y, k, 0x00);
	__m256i hi = _mm256_clmulepi64_epi128(y, k, 0x11);
	return _mm256_xor_si256(_mm256_xor_si256(lo, hi), next);
}

/* crc_fold with eight lanes in four 256-bit registers; n >= 128. */
TARGET_WIDE static uint32_t crc_fold_wide(uint32_t s, const unsigned char *p, size_t n,
                                          size_t *done)
{
	__m256i y0 = _mm256_loadu_si256((const __m256i *)p);
	__m256i y1 = _mm256_loadu_si256((const __m256i *)(p + 32));
	__m256i y2 = _mm256_loadu_si256((const __m256i *)(p + 64));
	__m256i y3 = _mm256_loadu_si256((const __m256i *)(p + 96));
	y0 = _mm256_xor_si256(y0, _mm256_set_epi32(0, 0, 0, 0, 0, 0, 0, (int)s));
	size_t i = 128;
	const __m256i k128 = _mm256_set_epi64x((long long)K_FOLD128_HI, (long long)K_FOLD128_LO,
	                                       (long long)K_FOLD128_HI, (long long)K_FOLD128_LO);
	for (; i + 128 <= n; i += 128) {
		y0 = fold2(y0, k128, _mm256_loadu_si256((const __m256i *)(p + i)));
		y1 = fold2(y1, k128, _mm256_loadu_si256((const __m256i *)(p + i + 32)));
		y2 = fold2(y2, k128, _mm256_loadu_si256((const __m256i *)(p + i + 64)));
		y3 = fold2(y3, k128, _mm256_loadu_si256((const __m256i *)(p + i + 96)));
	}
	/* The eight lanes in stream order, folded into one. */
	const __m128i k16 = _mm_set_epi64x((long long)K_FOLD16_HI, (long long)K_FOLD16_LO);
	__m256i y[4] = {y0, y1, y2, y3};
	__m128i x = _mm256_castsi256_si128(y0);
	for (int j = 0; j < 4; j++) {
		if (j > 0)
			x = fold(x, k16, _mm256_castsi256_si128(y[j]));
		x = fold(x, k16, _mm256_extracti128_si256(y[j], 1));
	}
	return crc_finish(x, p, i, n, done);
}

/* 0: zlib only, 1: PCLMULQDQ, 2: VPCLMULQDQ too. Every thread computes the
 * same value, so the race on first use is harmless; relaxed atomics say so. */
static int crc_level(void)
{
	static int level = -1;
	int l = __atomic_load_n(&level, __ATOMIC_RELAXED);
	if (l < 0) {
		__builtin_cpu_init();
		l = __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse2");
		if (l && __builtin_cpu_supports("vpclmulqdq") && __builtin_cpu_supports("avx2"))
			l = 2;
		__atomic_store_n(&level, l, __ATOMIC_RELAXED);
	}
	return l;
}

uint32_t ck_crc32(uint32_t crc, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	int level = len < 256 ? 0 : crc_level();
	if (level == 0)
		return crc_zlib(crc, p, len);
	size_t done;
	uint32_t s = level == 2 && len >= 1024 ? crc_fold_wide(~crc, p, len, &done)
	                                       : crc_fold(~crc, p, len, &done);
	return crc_zlib(~s, p + done, len - done);
}

#else

uint32_t ck_crc32(uint32_t crc, const void *buf, size_t len)
{
	return crc_zlib(crc, buf, len);
}

#endif
