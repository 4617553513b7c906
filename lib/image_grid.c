/* image_grid.c: tensors of images (N, C, H, W) back to one picture, a
 * contact sheet, for looking at data. */
#include "image_internal.h"

#include <math.h>
#include <string.h>

#define GAP_GRAY 128

int ck_image_grid(ck_image *out, const void *x, ck_dtype dtype, const int64_t dims[4],
                  int64_t n, int cols, int gap, float lo, float hi, ck_err *err)
{
	memset(out, 0, sizeof *out);
	int64_t N = dims[0], C = dims[1], H = dims[2], W = dims[3];
	if (dtype != CK_DTYPE_U8 && dtype != CK_DTYPE_F32)
		return ck_err_set(err, "image grid: dtype %s (u8 or f32 expected)",
		                  ck_dtype_name(dtype));
	if (C != 1 && C != 3)
		return ck_err_set(err, "image grid: %" PRId64 " channels (1 or 3 expected)", C);
	if (H < 1 || W < 1 || H > CK_IMAGE_MAX_SIDE || W > CK_IMAGE_MAX_SIDE)
		return ck_err_set(err, "image grid: bad image size %" PRId64 "x%" PRId64, W, H);
	if (n > N)
		n = N;
	if (n < 1)
		return ck_err_set(err, "image grid: no images");
	if (gap < 0 || gap > 1000 || cols < 0)
		return ck_err_set(err, "image grid: bad gap or column count");
	if (cols == 0)
		cols = (int)ceil(sqrt((double)n));
	if (cols > n)
		cols = (int)n;
	int64_t rows = (n + cols - 1) / cols;
	int64_t ow = cols * W + (int64_t)(cols - 1) * gap, oh = rows * H + (rows - 1) * gap;
	if (ck_image_check_size(ow, oh, "image grid", err) < 0)
		return -1;
	size_t plane = (size_t)H * W;
	float scale = 255.0f, shift = 0.0f; /* u8 = f * scale + shift */
	if (dtype == CK_DTYPE_F32) {
		const float *f = x;
		if (lo == hi) {
			float mn = INFINITY, mx = -INFINITY;
			for (size_t i = 0; i < (size_t)n * C * plane; i++)
				if (isfinite(f[i])) {
					mn = f[i] < mn ? f[i] : mn;
					mx = f[i] > mx ? f[i] : mx;
				}
			lo = 0.0f;
			hi = 1.0f;
			if (mn < 0.0f || mx > 1.0f) {
				lo = mn;
				hi = mx > mn ? mx : mn + 1.0f;
			}
		}
		scale = 255.0f / (hi - lo);
		shift = -lo * scale;
	}
	if (ck_image_alloc(out, (int)ow, (int)oh, (int)C, err) < 0)
		return -1;
	memset(out->data, GAP_GRAY, (size_t)ow * oh * C);
	for (int64_t i = 0; i < n; i++) {
		int64_t ox = (i % cols) * (W + gap), oy = (i / cols) * (H + gap);
		for (int64_t c = 0; c < C; c++) {
			size_t base = ((size_t)i * C + c) * plane;
			for (int64_t y = 0; y < H; y++) {
				uint8_t *d = out->data + (((size_t)(oy + y) * ow) + ox) * C + c;
				for (int64_t xx = 0; xx < W; xx++) {
					size_t s = base + (size_t)y * W + xx;
					if (dtype == CK_DTYPE_U8) {
						d[xx * C] = ((const uint8_t *)x)[s];
					} else {
						float v = ((const float *)x)[s] * scale + shift;
						v = isnan(v) ? 0.0f : v < 0.0f ? 0.0f : v > 255.0f ? 255.0f : v;
						d[xx * C] = (uint8_t)lrintf(v);
					}
				}
			}
		}
	}
	return 0;
}
