/* image_resize.c: separable resampling with BOX and BILINEAR filters,
 * defined as Pillow defines them so that results agree with
 * Image.resize(size, Image.Resampling.BOX / BILINEAR).
 *
 * Output pixel i of an axis has its centre at c = in0 + (i + 0.5) * scale in
 * input coordinates, scale = input span / output size. The filter (box:
 * 1 on (-0.5, 0.5]; triangle: 1 - |x| on (-1, 1)) is stretched by
 * max(scale, 1), so shrinking averages over the area an output pixel covers.
 * Input pixel j, centre j + 0.5, gets weight filter((j + 0.5 - c) / stretch);
 * the weights of each output pixel are normalised to sum to 1 and rounded to
 * 22-bit fixed point. The horizontal pass runs first, into 8-bit rows (only
 * those the vertical pass needs), then the vertical pass.
 *
 * BOX weights are 1 or 0 before normalising, so every output pixel's taps
 * share one fixed-point weight: the sum of its input pixels times it is the
 * same integer as the sum of the products. The horizontal pass, the larger
 * one when shrinking, sums instead of multiplying, on AVX2 ten RGB pixels
 * (or 32 gray ones) at a time with masked byte sums. */
#include "image_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#if defined(__AVX2__)
#include <immintrin.h>
#endif

#define PRECISION_BITS 22 /* 8-bit samples times weights fit an int32 */

typedef struct coeffs {
	int taps;      /* weights per output pixel (the widest support) */
	int *first;    /* (out) first input pixel with a non-zero weight */
	int *count;    /* (out) input pixels from there on, <= taps */
	int32_t *w;    /* (out, taps) fixed-point weights */
	int uniform;   /* each output pixel's count weights are all w[0] (BOX) */
} coeffs;

static double box(double x)
{
	return x > -0.5 && x <= 0.5 ? 1.0 : 0.0;
}

static double triangle(double x)
{
	x = fabs(x);
	return x < 1.0 ? 1.0 - x : 0.0;
}

static void coeffs_free(coeffs *k)
{
	free(k->first);
	free(k->count);
	free(k->w);
}

/* Weights mapping the span [in0, in0 + span) of an axis of in_size pixels
 * (pixels outside the span may contribute; outside the axis never) onto
 * out_size pixels. */
static int coeffs_make(coeffs *k, int in_size, int in0, int span, int out_size, int bilinear,
                       ck_err *err)
{
	double scale = (double)span / out_size;
	double stretch = scale < 1.0 ? 1.0 : scale;
	double support = (bilinear ? 1.0 : 0.5) * stretch;
	double (*filter)(double) = bilinear ? triangle : box;
	k->taps = (int)ceil(support) * 2 + 1;
	k->first = malloc(out_size * sizeof *k->first);
	k->count = malloc(out_size * sizeof *k->count);
	k->w = malloc((size_t)out_size * k->taps * sizeof *k->w);
	double *wd = malloc(k->taps * sizeof *wd);
	if (!k->first || !k->count || !k->w || !wd) {
		free(wd);
		coeffs_free(k);
		return ck_err_set(err, "resize: out of memory");
	}
	for (int i = 0; i < out_size; i++) {
		double c = in0 + (i + 0.5) * scale;
		/* Truncation toward zero, then clamping, as the reference does. */
		int lo = (int)(c - support + 0.5), hi = (int)(c + support + 0.5);
		lo = lo < 0 ? 0 : lo;
		hi = hi > in_size ? in_size : hi;
		int n = hi - lo;
		if (n > k->taps)
			n = k->taps;
		double sum = 0.0;
		for (int j = 0; j < n; j++) {
			wd[j] = filter((j + lo - c + 0.5) / stretch);
			sum += wd[j];
		}
		int32_t *w = k->w + (size_t)i * k->taps;
		for (int j = 0; j < k->taps; j++) {
			double v = j < n && sum != 0.0 ? wd[j] / sum : 0.0;
			w[j] = (int32_t)(v < 0 ? v * (1 << PRECISION_BITS) - 0.5
			                       : v * (1 << PRECISION_BITS) + 0.5);
		}
		/* Zero weights at either end add nothing: leave them out. */
		int a = 0, b = n < 0 ? 0 : n;
		while (a < b && w[a] == 0)
			a++;
		while (b > a && w[b - 1] == 0)
			b--;
		memmove(w, w + a, (size_t)(b - a) * sizeof *w);
		for (int j = b - a; j < k->taps; j++)
			w[j] = 0;
		k->first[i] = lo + a;
		k->count[i] = b - a;
	}
	k->uniform = 1;
	for (int i = 0; i < out_size && k->uniform; i++)
		for (int j = 1; j < k->count[i]; j++)
			k->uniform &= k->w[(size_t)i * k->taps + j] == k->w[(size_t)i * k->taps];
	free(wd);
	return 0;
}

static inline uint8_t clip8(int32_t acc)
{
	acc >>= PRECISION_BITS;
	return (uint8_t)(acc < 0 ? 0 : acc > 255 ? 255 : acc);
}

/* The sums of each channel of the n C-channel pixels at p. */
static inline void pixel_sums(int32_t *sum, const uint8_t *p, int n, int C)
{
	for (int c = 0; c < C; c++)
		sum[c] = 0;
	for (int j = 0; j < n; j++, p += C)
		for (int c = 0; c < C; c++)
			sum[c] += p[c];
}

#if defined(__AVX2__)
/* 0xFF bytes then 0x00 bytes: 32 bytes from ones + 32 - m keep the first m. */
static const uint8_t mask_window[64] = {
	0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
	0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
};

static inline __m256i first_bytes(int m)
{
	return _mm256_loadu_si256((const __m256i *)(mask_window + 32 - m));
}

static inline int64_t lane_total(__m256i v) /* the sum of the four 64-bit lanes */
{
	__m128i s = _mm_add_epi64(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
	return _mm_cvtsi128_si64(_mm_add_epi64(s, _mm_unpackhi_epi64(s, s)));
}

/* pixel_sums for RGB and gray, 32 bytes (10 RGB or 32 gray pixels) a step:
 * masked bytes summed by _mm256_sad_epu8 against zero. Reads 32 bytes from
 * each step's start: the caller makes sure they exist. */
static inline void pixel_sums_avx2(int32_t *sum, const uint8_t *p, int n, int C)
{
	const __m256i zero = _mm256_setzero_si256();
	if (C == 1) {
		__m256i acc = zero;
		for (; n > 0; n -= 32, p += 32) {
			__m256i v = _mm256_loadu_si256((const __m256i *)p);
			acc = _mm256_add_epi64(acc, _mm256_sad_epu8(_mm256_and_si256(v, first_bytes(n < 32 ? n : 32)), zero));
		}
		sum[0] = (int32_t)lane_total(acc);
		return;
	}
	/* Byte i of a step belongs to channel i % 3 (a step is 30 bytes). */
	const __m256i r = _mm256_setr_epi8(-1, 0, 0, -1, 0, 0, -1, 0, 0, -1, 0, 0, -1, 0, 0, -1,
	                                   0, 0, -1, 0, 0, -1, 0, 0, -1, 0, 0, -1, 0, 0, 0, 0);
	const __m256i g = _mm256_setr_epi8(0, -1, 0, 0, -1, 0, 0, -1, 0, 0, -1, 0, 0, -1, 0, 0,
	                                   -1, 0, 0, -1, 0, 0, -1, 0, 0, -1, 0, 0, -1, 0, 0, 0);
	const __m256i b = _mm256_setr_epi8(0, 0, -1, 0, 0, -1, 0, 0, -1, 0, 0, -1, 0, 0, -1, 0,
	                                   0, -1, 0, 0, -1, 0, 0, -1, 0, 0, -1, 0, 0, -1, 0, 0);
	__m256i ar = zero, ag = zero, ab = zero;
	int total = n;
	for (; n > 0; n -= 10, p += 30) {
		__m256i v = _mm256_and_si256(_mm256_loadu_si256((const __m256i *)p),
		                             first_bytes(3 * (n < 10 ? n : 10)));
		ar = _mm256_add_epi64(ar, _mm256_sad_epu8(_mm256_and_si256(v, r), zero));
		ag = _mm256_add_epi64(ag, _mm256_sad_epu8(_mm256_and_si256(v, g), zero));
		ab = _mm256_add_epi64(ab, _mm256_sad_epu8(_mm256_and_si256(v, b), zero));
	}
	if (total <= 257) { /* each sum < 2^16: one reduction of the three packed */
		__m256i packed = _mm256_or_si256(_mm256_or_si256(ar, _mm256_slli_epi64(ag, 16)),
		                                 _mm256_slli_epi64(ab, 32));
		int64_t t = lane_total(packed);
		sum[0] = (int32_t)(t & 0xFFFF);
		sum[1] = (int32_t)(t >> 16 & 0xFFFF);
		sum[2] = (int32_t)(t >> 32 & 0xFFFF);
		return;
	}
	sum[0] = (int32_t)lane_total(ar);
	sum[1] = (int32_t)lane_total(ag);
	sum[2] = (int32_t)lane_total(ab);
}
#endif

/* The horizontal pass for uniform weights (BOX): pixel sums times the
 * weight; src_end is where the readable input ends. */
static void pass_horizontal_uniform(uint8_t *dst, const uint8_t *src, const uint8_t *src_end,
                                    int rows, int src_w, int out_w, int C, const coeffs *k)
{
	const int32_t half = 1 << (PRECISION_BITS - 1);
	for (int y = 0; y < rows; y++) {
		const uint8_t *s = src + (size_t)y * src_w * C;
		uint8_t *d = dst + (size_t)y * out_w * C;
		for (int x = 0; x < out_w; x++) {
			const uint8_t *p = s + (size_t)k->first[x] * C;
			int n = k->count[x];
			int32_t w = k->w[(size_t)x * k->taps], sum[4];
#if defined(__AVX2__)
			/* The last step reads up to 32 bytes from its start. */
			int steps = C == 1 ? (n + 31) / 32 : (n + 9) / 10;
			size_t reach = steps > 0 ? (size_t)(steps - 1) * (C == 1 ? 32 : 30) + 32 : 0;
			if ((C == 1 || C == 3) && (size_t)(src_end - p) >= reach)
				pixel_sums_avx2(sum, p, n, C);
			else
#endif
				pixel_sums(sum, p, n, C);
			for (int c = 0; c < C; c++)
				d[x * C + c] = clip8(half + sum[c] * w);
		}
	}
	(void)src_end;
}

/* src rows (rows, src_w, C) -> dst rows (rows, out_w, C) along x. Gray and
 * RGB, the common cases, keep their sums in scalars (registers). */
static void pass_horizontal(uint8_t *dst, const uint8_t *src, int rows, int src_w, int out_w,
                            int C, const coeffs *k)
{
	const int32_t half = 1 << (PRECISION_BITS - 1);
	for (int y = 0; y < rows; y++) {
		const uint8_t *s = src + (size_t)y * src_w * C;
		uint8_t *d = dst + (size_t)y * out_w * C;
		for (int x = 0; x < out_w; x++) {
			const int32_t *w = k->w + (size_t)x * k->taps;
			const uint8_t *p = s + (size_t)k->first[x] * C;
			int n = k->count[x];
			if (C == 3) {
				int32_t a0 = half, a1 = half, a2 = half;
				for (int j = 0; j < n; j++, p += 3) {
					a0 += p[0] * w[j];
					a1 += p[1] * w[j];
					a2 += p[2] * w[j];
				}
				d[3 * x] = clip8(a0);
				d[3 * x + 1] = clip8(a1);
				d[3 * x + 2] = clip8(a2);
			} else if (C == 1) {
				int32_t a = half;
				for (int j = 0; j < n; j++)
					a += p[j] * w[j];
				d[x] = clip8(a);
			} else {
				int32_t acc[4] = {half, half, half, half};
				for (int j = 0; j < n; j++)
					for (int c = 0; c < C; c++)
						acc[c] += p[j * C + c] * w[j];
				for (int c = 0; c < C; c++)
					d[x * C + c] = clip8(acc[c]);
			}
		}
	}
}

/* src rows starting at input row row0, (.., W, C) -> dst (out_h, W, C) along
 * y. acc holds one output row of sums (W * C); taps outermost, so that the
 * inner loop runs along a row and vectorises. */
static void pass_vertical(uint8_t *dst, const uint8_t *src, int row0, int W, int out_h, int C,
                          const coeffs *k, int32_t *acc)
{
	size_t stride = (size_t)W * C;
	for (int y = 0; y < out_h; y++) {
		const int32_t *w = k->w + (size_t)y * k->taps;
		const uint8_t *s = src + (size_t)(k->first[y] - row0) * stride;
		int n = k->count[y];
		uint8_t *d = dst + (size_t)y * stride;
		for (size_t i = 0; i < stride; i++)
			acc[i] = 1 << (PRECISION_BITS - 1);
		for (int j = 0; j < n; j++) {
			const uint8_t *r = s + (size_t)j * stride;
			int32_t wj = w[j];
			for (size_t i = 0; i < stride; i++)
				acc[i] += r[i] * wj;
		}
		for (size_t i = 0; i < stride; i++)
			d[i] = clip8(acc[i]);
	}
}

int ck_image_resize(ck_image *dst, const ck_image *src, int x0, int y0, int sw, int sh,
                    ck_image_filter filter, ck_err *err)
{
	int C = src->channels, ow = dst->width, oh = dst->height;
	if (dst->channels != C || C < 1 || C > 4)
		return ck_err_set(err, "resize: channel counts differ (%d, %d)", C, dst->channels);
	if (x0 < 0 || y0 < 0 || sw < 1 || sh < 1 || x0 + sw > src->width ||
	    y0 + sh > src->height || ow < 1 || oh < 1)
		return ck_err_set(err, "resize: bad rectangle");
	int bilinear_x = filter == CK_IMAGE_BILINEAR || (filter == CK_IMAGE_AUTO && ow > sw);
	int bilinear_y = filter == CK_IMAGE_BILINEAR || (filter == CK_IMAGE_AUTO && oh > sh);
	coeffs kx = {0}, ky = {0};
	if (coeffs_make(&ky, src->height, y0, sh, oh, bilinear_y, err) < 0)
		return -1;
	/* Input rows the vertical pass reads. */
	int row0 = ky.first[0], row1 = row0;
	for (int y = 0; y < oh; y++) {
		row0 = ky.first[y] < row0 ? ky.first[y] : row0;
		row1 = ky.first[y] + ky.count[y] > row1 ? ky.first[y] + ky.count[y] : row1;
	}
	int rows = row1 - row0;
	int need_x = ow != src->width || x0 != 0 || sw != src->width;
	uint8_t *tmp = NULL;
	const uint8_t *mid = src->data + (size_t)row0 * src->width * C;
	int mid_w = src->width;
	if (need_x) {
		if (coeffs_make(&kx, src->width, x0, sw, ow, bilinear_x, err) < 0) {
			coeffs_free(&ky);
			return -1;
		}
		tmp = malloc((size_t)(rows > 0 ? rows : 1) * ow * C);
		if (!tmp) {
			coeffs_free(&kx);
			coeffs_free(&ky);
			return ck_err_set(err, "resize: out of memory");
		}
		const uint8_t *end = src->data + (size_t)src->width * src->height * C;
		if (kx.uniform)
			pass_horizontal_uniform(tmp, mid, end, rows, src->width, ow, C, &kx);
		else
			pass_horizontal(tmp, mid, rows, src->width, ow, C, &kx);
		mid = tmp;
		mid_w = ow;
	}
	int need_y = oh != src->height || y0 != 0 || sh != src->height;
	int32_t *acc = need_y ? malloc((size_t)mid_w * C * sizeof *acc) : NULL;
	if (need_y && !acc) {
		free(tmp);
		coeffs_free(&kx);
		coeffs_free(&ky);
		return ck_err_set(err, "resize: out of memory");
	}
	if (need_y)
		pass_vertical(dst->data, mid, row0, mid_w, oh, C, &ky, acc);
	else
		memcpy(dst->data, mid, (size_t)oh * ow * C);
	free(acc);
	free(tmp);
	coeffs_free(&kx);
	coeffs_free(&ky);
	return 0;
}
