/* test_image_resize.c: BOX and BILINEAR resampling: hand-computed cases, a
 * naive two-dimensional reference (double precision, no rounding between
 * the passes) that the separable fixed-point version must match within 1,
 * and the fit modes of ck_image_prepare. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cnnkit.h"

static ck_image make(int w, int h, int c, const uint8_t *data)
{
	ck_image img;
	if (ck_image_alloc(&img, w, h, c, NULL) < 0)
		abort();
	if (data)
		memcpy(img.data, data, (size_t)w * h * c);
	return img;
}

static ck_image resized(const ck_image *src, int w, int h, ck_image_filter f)
{
	ck_image dst = make(w, h, src->channels, NULL);
	ck_err err = {{0}};
	if (ck_image_resize(&dst, src, 0, 0, src->width, src->height, f, &err) < 0) {
		printf("# resize: %s\n", err.msg);
		abort();
	}
	return dst;
}

static void test_hand_cases(void)
{
	/* 4 -> 2 box: pairs average, halves round up (fixed point adds 0.5). */
	uint8_t row[4] = {0, 10, 20, 255};
	ck_image a = make(4, 1, 1, row), b = resized(&a, 2, 1, CK_IMAGE_BOX);
	CHECK(b.data[0] == 5 && b.data[1] == 138, "box 4->2: %d %d", b.data[0], b.data[1]);
	ck_image_free(&b);
	/* 4 -> 3 box: output pixels cover [0, 4/3), [4/3, 8/3), [8/3, 4); an
	 * input pixel counts when its centre is inside: {0}, {1, 2}, {3}. */
	b = resized(&a, 3, 1, CK_IMAGE_BOX);
	CHECK(b.data[0] == 0 && b.data[1] == 15 && b.data[2] == 255, "box 4->3: %d %d %d",
	      b.data[0], b.data[1], b.data[2]);
	ck_image_free(&b);
	ck_image_free(&a);
	/* 2 -> 4 bilinear: 0, 0.25, 0.75, 1 of the way. */
	uint8_t two[2] = {0, 255};
	a = make(2, 1, 1, two);
	b = resized(&a, 4, 1, CK_IMAGE_BILINEAR);
	CHECK(b.data[0] == 0 && b.data[1] == 64 && b.data[2] == 191 && b.data[3] == 255,
	      "bilinear 2->4: %d %d %d %d", b.data[0], b.data[1], b.data[2], b.data[3]);
	ck_image_free(&b);
	/* The same along y. */
	ck_image_free(&a);
	a = make(1, 2, 1, two);
	b = resized(&a, 1, 4, CK_IMAGE_AUTO);
	CHECK(b.data[1] == 64 && b.data[2] == 191, "auto grows bilinearly along y");
	ck_image_free(&b);
	ck_image_free(&a);
}

static void test_identity_and_constant(void)
{
	uint8_t px[5 * 4 * 3];
	for (int i = 0; i < 60; i++)
		px[i] = (uint8_t)(i * 41);
	ck_image a = make(5, 4, 3, px);
	for (int f = 0; f < 3; f++) {
		ck_image b = resized(&a, 5, 4, (ck_image_filter)f);
		CHECK(!memcmp(a.data, b.data, 60), "same size is a copy (filter %d)", f);
		ck_image_free(&b);
	}
	memset(a.data, 77, 60);
	int sizes[][2] = {{1, 1}, {2, 3}, {7, 9}, {13, 2}, {5, 4}};
	for (int f = 0; f < 3; f++)
		for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
			ck_image b = resized(&a, sizes[s][0], sizes[s][1], (ck_image_filter)f);
			int bad = 0;
			for (int i = 0; i < b.width * b.height * 3; i++)
				bad += b.data[i] != 77;
			CHECK(bad == 0, "constant stays constant: filter %d, %dx%d", f, sizes[s][0],
			      sizes[s][1]);
			ck_image_free(&b);
		}
	ck_image_free(&a);
}

/* ---- the naive reference ----------------------------------------------- */

static double filter_box(double x)
{
	return x > -0.5 && x <= 0.5;
}

static double filter_tri(double x)
{
	x = fabs(x);
	return x < 1 ? 1 - x : 0;
}

/* Weights of one axis, as a dense (out, in) matrix. */
static double *axis_weights(int in, int out, int bilinear)
{
	double *m = calloc((size_t)in * out, sizeof *m);
	double scale = (double)in / out, stretch = scale < 1 ? 1 : scale;
	for (int i = 0; i < out; i++) {
		double c = (i + 0.5) * scale, sum = 0;
		for (int j = 0; j < in; j++) {
			double x = (j + 0.5 - c) / stretch;
			m[(size_t)i * in + j] = bilinear ? filter_tri(x) : filter_box(x);
			sum += m[(size_t)i * in + j];
		}
		for (int j = 0; j < in; j++)
			m[(size_t)i * in + j] /= sum;
	}
	return m;
}

static void check_against_naive(int sw, int sh, int ow, int oh, int bilinear, uint32_t seed)
{
	int C = 3;
	ck_image a = make(sw, sh, C, NULL);
	for (int i = 0; i < sw * sh * C; i++) {
		seed = seed * 1664525u + 1013904223u;
		a.data[i] = (uint8_t)(seed >> 24);
	}
	ck_image b = resized(&a, ow, oh, bilinear ? CK_IMAGE_BILINEAR : CK_IMAGE_BOX);
	double *wx = axis_weights(sw, ow, bilinear), *wy = axis_weights(sh, oh, bilinear);
	int worst = 0;
	for (int y = 0; y < oh; y++)
		for (int x = 0; x < ow; x++)
			for (int c = 0; c < C; c++) {
				double v = 0;
				for (int j = 0; j < sh; j++) {
					double wj = wy[(size_t)y * sh + j];
					if (wj == 0)
						continue;
					for (int i = 0; i < sw; i++)
						v += wj * wx[(size_t)x * sw + i] * a.data[((size_t)j * sw + i) * C + c];
				}
				int want = (int)lround(v);
				int d = abs(want - b.data[((size_t)y * ow + x) * C + c]);
				worst = d > worst ? d : worst;
			}
	CHECK(worst <= 1, "%s %dx%d -> %dx%d: off by %d", bilinear ? "bilinear" : "box", sw, sh,
	      ow, oh, worst);
	free(wx);
	free(wy);
	ck_image_free(&a);
	ck_image_free(&b);
}

static void test_matches_naive(void)
{
	int cases[][4] = {
		{64, 48, 16, 16}, {61, 47, 9, 13}, {10, 10, 3, 7},  {7, 5, 23, 17},
		{3, 3, 64, 64},   {100, 1, 7, 1},  {1, 100, 1, 33}, {33, 29, 32, 30},
		{640, 8, 64, 3},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
		for (int bil = 0; bil < 2; bil++)
			check_against_naive(cases[i][0], cases[i][1], cases[i][2], cases[i][3], bil,
			                    (uint32_t)(i * 2 + bil + 1));
}

/* BOX in 22-bit fixed point, the way Pillow computes it, written out
 * plainly: per axis and output pixel, the input pixels whose centres fall in
 * (c - s/2, c + s/2] each weigh round(2^22 / n); rows first, rounded to 8
 * bits, then columns. The resizer sums pixels instead of multiplying
 * (AVX2, ten RGB or 32 gray pixels a step); it must give these same bytes. */
static void box_axis(int in0, int span, int out, int *first, int *count, int32_t *w)
{
	double scale = (double)span / out, stretch = scale < 1 ? 1 : scale;
	for (int i = 0; i < out; i++) {
		double c = in0 + (i + 0.5) * scale;
		int lo = -1, n = 0;
		for (int j = 0; j < in0 + span + 2; j++) {
			double x = (j + 0.5 - c) / stretch;
			if (x > -0.5 && x <= 0.5) {
				lo = lo < 0 ? j : lo;
				n++;
			}
		}
		first[i] = lo;
		count[i] = n;
		w[i] = (int32_t)(1.0 / n * (1 << 22) + 0.5);
	}
}

static uint8_t fixed_round(int64_t acc)
{
	acc = (acc + (1 << 21)) >> 22;
	return (uint8_t)(acc > 255 ? 255 : acc);
}

static void check_box_exact(int sw, int sh, int C, int x0, int y0, int cw, int ch, int ow,
                            int oh, uint32_t seed)
{
	ck_image a = make(sw, sh, C, NULL);
	for (int i = 0; i < sw * sh * C; i++) {
		seed = seed * 1664525u + 1013904223u;
		a.data[i] = (uint8_t)(seed >> 24);
	}
	ck_image b = make(ow, oh, C, NULL);
	ck_err err = {{0}};
	int rc = ck_image_resize(&b, &a, x0, y0, cw, ch, CK_IMAGE_BOX, &err);
	int *fx = malloc(ow * sizeof *fx), *nx = malloc(ow * sizeof *nx);
	int *fy = malloc(oh * sizeof *fy), *ny = malloc(oh * sizeof *ny);
	int32_t *wx = malloc(ow * sizeof *wx), *wy = malloc(oh * sizeof *wy);
	uint8_t *mid = malloc((size_t)sh * ow * C);
	box_axis(x0, cw, ow, fx, nx, wx);
	box_axis(y0, ch, oh, fy, ny, wy);
	for (int y = 0; y < sh; y++)
		for (int x = 0; x < ow; x++)
			for (int c = 0; c < C; c++) {
				int64_t sum = 0;
				for (int i = fx[x]; i < fx[x] + nx[x]; i++)
					sum += a.data[((size_t)y * sw + i) * C + c];
				mid[((size_t)y * ow + x) * C + c] = fixed_round(sum * wx[x]);
			}
	int bad = 0;
	for (int y = 0; y < oh; y++)
		for (int x = 0; x < ow; x++)
			for (int c = 0; c < C; c++) {
				int64_t sum = 0;
				for (int j = fy[y]; j < fy[y] + ny[y]; j++)
					sum += mid[((size_t)j * ow + x) * C + c];
				bad += fixed_round(sum * wy[y]) != b.data[((size_t)y * ow + x) * C + c];
			}
	CHECK(rc == 0 && bad == 0, "box %dx%d (%d channels, [%d,%d %dx%d]) -> %dx%d: %d bytes differ %s",
	      sw, sh, C, x0, y0, cw, ch, ow, oh, bad, err.msg);
	free(fx), free(nx), free(fy), free(ny), free(wx), free(wy), free(mid);
	ck_image_free(&a);
	ck_image_free(&b);
}

static void test_box_exact(void)
{
	/* Factors below, at and above a step (10 RGB or 32 gray pixels), the
	 * last pixel of the last row (where a 32-byte read would overrun),
	 * fractional factors, crops, and 2 and 4 channels (the plain path). */
	int cases[][4] = {
		{640, 480, 64, 64}, {641, 13, 64, 5}, {700, 9, 9, 4}, {97, 31, 96, 30},
		{1000, 7, 31, 7},   {333, 5, 3, 2},   {64, 64, 64, 13}, {12, 3, 1, 1},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
		for (int C = 1; C <= 4; C++) {
			int sw = cases[i][0], sh = cases[i][1];
			check_box_exact(sw, sh, C, 0, 0, sw, sh, cases[i][2], cases[i][3],
			                (uint32_t)(i * 8 + C));
			if (sw > 4 && sh > 2)
				check_box_exact(sw, sh, C, sw / 4, 1, sw - sw / 4 - 1, sh - 1,
				                cases[i][2] > 1 ? cases[i][2] - 1 : 1, cases[i][3],
				                (uint32_t)(i * 8 + C + 4));
		}
}

static void test_rectangle(void)
{
	/* Box with an integer factor reads only the rectangle: equal to
	 * resizing a copy of it. */
	ck_image a = make(12, 10, 1, NULL);
	for (int i = 0; i < 120; i++)
		a.data[i] = (uint8_t)(i * 29);
	ck_image part = make(8, 6, 1, NULL);
	for (int y = 0; y < 6; y++)
		memcpy(part.data + y * 8, a.data + (y + 2) * 12 + 3, 8);
	ck_image want = resized(&part, 4, 3, CK_IMAGE_BOX), got = make(4, 3, 1, NULL);
	ck_err err = {{0}};
	CHECK(ck_image_resize(&got, &a, 3, 2, 8, 6, CK_IMAGE_BOX, &err) == 0 &&
	          !memcmp(got.data, want.data, 12),
	      "rectangle: %s", err.msg);
	CHECK(ck_image_resize(&got, &a, 5, 2, 8, 6, CK_IMAGE_BOX, &err) < 0,
	      "rectangle outside the image refused");
	ck_image_free(&a);
	ck_image_free(&part);
	ck_image_free(&want);
	ck_image_free(&got);
}

/* ck_image_prepare: stretch, letterbox bars in the background colour, centre
 * crop; through PNG bytes made by ck_image_encode_png. */
static void test_prepare_fit(void)
{
	/* 8x4: left half red, right half blue. */
	ck_image a = make(8, 4, 3, NULL);
	for (int y = 0; y < 4; y++)
		for (int x = 0; x < 8; x++) {
			uint8_t *p = a.data + (y * 8 + x) * 3;
			p[0] = x < 4 ? 255 : 0;
			p[1] = 0;
			p[2] = x < 4 ? 0 : 255;
		}
	void *png;
	size_t len;
	ck_err err = {{0}};
	CHECK(ck_image_encode_png(&a, &png, &len, &err) == 0, "encode: %s", err.msg);
	ck_image_prep p = CK_IMAGE_PREP_DEFAULT;
	p.width = p.height = 4;
	p.background[0] = 0;
	p.background[1] = 200;
	p.background[2] = 0;
	ck_image out;
	p.fit = CK_IMAGE_LETTERBOX; /* 4x2 in the middle rows, green bars */
	CHECK(ck_image_prepare(&out, png, len, &p, &err) == 0 && out.width == 4 &&
	          out.height == 4,
	      "letterbox: %s", err.msg);
	CHECK(out.data[1] == 200 && out.data[3 * 12 + 1] == 200 && out.data[12] == 255 &&
	          out.data[2 * 12 + 11] == 255,
	      "letterbox: bars above and below, picture between");
	ck_image_free(&out);
	p.fit = CK_IMAGE_CROP; /* the centre 4x4: two red, two blue columns */
	CHECK(ck_image_prepare(&out, png, len, &p, &err) == 0 && out.data[0] == 255 &&
	          out.data[3] == 255 && out.data[8] == 255 && out.data[11] == 255 &&
	          out.data[6] == 0,
	      "crop: %s", err.msg);
	ck_image_free(&out);
	p.fit = CK_IMAGE_STRETCH;
	p.channels = 1;
	CHECK(ck_image_prepare(&out, png, len, &p, &err) == 0 && out.channels == 1 &&
	          out.data[0] == 76 && out.data[3] == 29,
	      "stretch to gray: %d %d", out.data[0], out.data[3]);
	ck_image_free(&out);
	free(png);
	ck_image_free(&a);
}

int main(void)
{
	RUN(test_hand_cases);
	RUN(test_identity_and_constant);
	RUN(test_matches_naive);
	RUN(test_box_exact);
	RUN(test_rectangle);
	RUN(test_prepare_fit);
	return check_summary();
}
