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
 * those the vertical pass needs), then the vertical pass. */
#include "image_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PRECISION_BITS 22 /* 8-bit samples times weights fit an int32 */

typedef struct coeffs {
	int taps;      /* weights per output pixel (the widest support) */
	int *first;    /* (out) first input pixel */
	int *count;    /* (out) input pixels used, <= taps */
	int32_t *w;    /* (out, taps) fixed-point weights */
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
		k->first[i] = lo;
		k->count[i] = n < 0 ? 0 : n;
	}
	free(wd);
	return 0;
}

static inline uint8_t clip8(int32_t acc)
{
	acc >>= PRECISION_BITS;
	return (uint8_t)(acc < 0 ? 0 : acc > 255 ? 255 : acc);
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
