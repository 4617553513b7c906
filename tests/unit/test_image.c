/* test_image.c: colour conversion and compositing, planar layouts, format
 * sniffing, PNG writing and contact sheets. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "cnnkit.h"

static ck_image make(int w, int h, int c, const uint8_t *data)
{
	ck_image img;
	if (ck_image_alloc(&img, w, h, c, NULL) < 0)
		abort();
	memcpy(img.data, data, (size_t)w * h * c);
	return img;
}

static void test_convert(void)
{
	static const uint8_t white[3] = {255, 255, 255}, teal[3] = {0, 128, 128};
	/* RGB -> gray: Pillow's L (ITU-R 601-2, 16-bit fixed point, rounded). */
	uint8_t rgb[12] = {255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 200, 30};
	ck_image a = make(4, 1, 3, rgb);
	CHECK(ck_image_convert(&a, 1, white, NULL) == 0 && a.channels == 1, "RGB to gray");
	CHECK(a.data[0] == 76 && a.data[1] == 150 && a.data[2] == 29 && a.data[3] == 124,
	      "luma: %d %d %d %d", a.data[0], a.data[1], a.data[2], a.data[3]);
	CHECK(ck_image_convert(&a, 3, white, NULL) == 0 && a.channels == 3 && a.data[3] == 150 &&
	          a.data[4] == 150 && a.data[5] == 150,
	      "gray to RGB replicates");
	ck_image_free(&a);

	/* RGBA over a background: opaque stays, clear is the background, half
	 * is the rounded mix. */
	uint8_t rgba[12] = {10, 20, 30, 255, 10, 20, 30, 0, 200, 100, 0, 128};
	a = make(3, 1, 4, rgba);
	CHECK(ck_image_convert(&a, 3, teal, NULL) == 0 && a.channels == 3, "RGBA to RGB");
	uint8_t want[9] = {10, 20, 30, 0, 128, 128, 100, 114, 64};
	CHECK(!memcmp(a.data, want, 9), "composite: %d %d %d", a.data[6], a.data[7], a.data[8]);
	ck_image_free(&a);
	a = make(3, 1, 4, rgba);
	CHECK(ck_image_convert(&a, 1, white, NULL) == 0 && a.data[1] == 255 && a.data[0] == 18,
	      "RGBA to gray composites first: %d", a.data[0]);
	ck_image_free(&a);

	/* Gray + alpha. */
	uint8_t la[4] = {100, 0, 100, 255};
	a = make(2, 1, 2, la);
	CHECK(ck_image_convert(&a, 3, teal, NULL) == 0 && a.data[0] == 0 && a.data[1] == 128 &&
	          a.data[3] == 100 && a.data[5] == 100,
	      "LA to RGB over teal");
	ck_image_free(&a);
	a = make(2, 1, 2, la);
	CHECK(ck_image_convert(&a, 1, teal, NULL) == 0 && a.data[0] == 90 && a.data[1] == 100,
	      "LA to gray over the background's luma: %d", a.data[0]);
	ck_image_free(&a);
	ck_err err = {{0}};
	a = make(2, 1, 2, la);
	CHECK(ck_image_convert(&a, 2, teal, &err) < 0 && err.msg[0], "2 channels is no target");
	ck_image_free(&a);
}

static void test_planar(void)
{
	uint8_t px[6] = {1, 2, 3, 4, 5, 6}; /* 2 pixels, RGB */
	ck_image a = make(2, 1, 3, px);
	uint8_t u[6];
	ck_image_to_chw_u8(u, &a);
	CHECK(!memcmp(u, "\x01\x04\x02\x05\x03\x06", 6), "u8 CHW");
	float f[6], mean[3] = {0, 0.5f, 1}, sd[3] = {1, 0.5f, 2};
	ck_image_to_chw_f32(f, &a, mean, sd);
	CHECK_NEAR(f[0], 1 / 255.0, 1e-6, "f32 plain");
	CHECK_NEAR(f[2], (2 / 255.0 - 0.5) / 0.5, 1e-6, "f32 normalised G");
	CHECK_NEAR(f[5], (6 / 255.0 - 1) / 2, 1e-6, "f32 normalised B");
	ck_image_to_chw_f32(f, &a, NULL, NULL);
	CHECK_NEAR(f[1], 4 / 255.0, 1e-6, "f32 without normalisation");
	ck_image_free(&a);
}

static void test_sniff(void)
{
	CHECK(ck_image_sniff("\x89PNG\r\n\x1a\n", 8) == CK_IMAGE_PNG, "PNG");
	CHECK(ck_image_sniff("\xff\xd8\xff\xe0", 4) == CK_IMAGE_JPEG, "JPEG");
	CHECK(ck_image_sniff("P6\n", 3) == CK_IMAGE_PNM && ck_image_sniff("P1#", 3) == CK_IMAGE_PNM,
	      "PNM");
	CHECK(ck_image_sniff("P7\n", 3) == CK_IMAGE_UNKNOWN, "PAM is not PNM");
	CHECK(ck_image_sniff("P6", 2) == CK_IMAGE_UNKNOWN, "too short");
	CHECK(ck_image_sniff("", 0) == CK_IMAGE_UNKNOWN, "empty");
}

static void test_png_roundtrip(void)
{
	for (int c = 1; c <= 4; c++) {
		uint8_t px[5 * 3 * 4];
		for (int i = 0; i < 5 * 3 * c; i++)
			px[i] = (uint8_t)(i * 53 + c);
		ck_image a = make(5, 3, c, px), b;
		void *buf;
		size_t len;
		ck_err err = {{0}};
		CHECK(ck_image_encode_png(&a, &buf, &len, &err) == 0, "encode %d: %s", c, err.msg);
		CHECK(ck_image_decode_png(&b, buf, len, &err) == 0 && b.channels == c &&
		          !memcmp(a.data, b.data, 5 * 3 * c),
		      "PNG round trip with %d channels", c);
		free(buf);
		ck_image_free(&b);
		ck_image_free(&a);
	}
	char dir[] = "/tmp/ck_image_XXXXXX";
	CHECK(mkdtemp(dir) != NULL, "temporary directory");
	char path[64];
	snprintf(path, sizeof path, "%s/a.png", dir);
	uint8_t px[3] = {1, 2, 3};
	ck_image a = make(1, 1, 3, px), b;
	ck_err err = {{0}};
	CHECK(ck_image_write_png(&a, path, &err) == 0, "write: %s", err.msg);
	void *buf;
	size_t len;
	CHECK(ck_image_read_file(path, &buf, &len, &err) == 0 &&
	          ck_image_decode(&b, buf, len, &err) == 0 && !memcmp(b.data, px, 3),
	      "written file decodes: %s", err.msg);
	free(buf);
	ck_image_free(&b);
	snprintf(path, sizeof path, "%s/missing/a.png", dir);
	CHECK(ck_image_write_png(&a, path, &err) < 0 && err.msg[0], "missing directory: error");
	CHECK(ck_image_read_file(dir, &buf, &len, &err) < 0, "a directory is not an image file");
	snprintf(path, sizeof path, "%s/a.png", dir);
	unlink(path);
	rmdir(dir);
	ck_image_free(&a);
}

static void test_grid(void)
{
	/* 3 images (1, 2, 3) of 2x2 gray in a 2-column grid with gap 1: 5x5. */
	uint8_t x[12];
	for (int i = 0; i < 12; i++)
		x[i] = (uint8_t)(1 + i / 4);
	int64_t dims[4] = {3, 1, 2, 2};
	ck_image g;
	ck_err err = {{0}};
	CHECK(ck_image_grid(&g, x, CK_DTYPE_U8, dims, 3, 2, 1, 0, 0, &err) == 0 && g.width == 5 &&
	          g.height == 5 && g.channels == 1,
	      "grid size: %s", err.msg);
	CHECK(g.data[0] == 1 && g.data[2] == 128 && g.data[3] == 2 && g.data[15] == 3 &&
	          g.data[24] == 128 && g.data[10] == 128,
	      "grid content: cells, gaps, empty cell");
	ck_image_free(&g);
	/* Default columns: about square; n larger than N is cut to N. */
	CHECK(ck_image_grid(&g, x, CK_DTYPE_U8, dims, 100, 0, 0, 0, 0, &err) == 0 &&
	          g.width == 4 && g.height == 4,
	      "grid of all 3 images, 2 columns");
	ck_image_free(&g);

	/* f32 (C=3): values in [0, 1] scale by 255; others by their range. */
	float f[12] = {0, 0.5f, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0};
	int64_t fd[4] = {1, 3, 2, 2};
	CHECK(ck_image_grid(&g, f, CK_DTYPE_F32, fd, 1, 0, 0, 0, 0, &err) == 0 &&
	          g.channels == 3 && g.data[0] == 0 && g.data[3] == 128 && g.data[6] == 255 &&
	          g.data[1] == 0,
	      "f32 grid in [0,1]");
	ck_image_free(&g);
	f[0] = -1;
	f[1] = 3;
	CHECK(ck_image_grid(&g, f, CK_DTYPE_F32, fd, 1, 0, 0, 0, 0, &err) == 0 &&
	          g.data[0] == 0 && g.data[3] == 255 && g.data[6] == 128,
	      "f32 grid scaled by min..max: %d %d %d", g.data[0], g.data[3], g.data[6]);
	ck_image_free(&g);
	CHECK(ck_image_grid(&g, f, CK_DTYPE_F32, fd, 1, 0, 0, -1, 1, &err) == 0 &&
	          g.data[0] == 0 && g.data[3] == 255 && g.data[9] == 255 && g.data[1] == 128,
	      "f32 grid with a given range");
	ck_image_free(&g);
	int64_t bad[4] = {1, 2, 2, 2};
	CHECK(ck_image_grid(&g, x, CK_DTYPE_U8, bad, 1, 0, 0, 0, 0, &err) < 0, "2 channels refused");
	CHECK(ck_image_grid(&g, x, CK_DTYPE_I32, dims, 1, 0, 0, 0, 0, &err) < 0, "i32 refused");
}

int main(void)
{
	RUN(test_convert);
	RUN(test_planar);
	RUN(test_sniff);
	RUN(test_png_roundtrip);
	RUN(test_grid);
	return check_summary();
}
