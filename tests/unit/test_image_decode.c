/* test_image_decode.c: PNG, JPEG and PNM decoding from memory. Test images
 * are encoded here with libpng and libjpeg (every PNG colour type and bit
 * depth, interlaced, tRNS; baseline, progressive, gray and CMYK JPEG) or
 * written by hand (PNM), then damaged: truncated, mutated, lying about their
 * size. */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <png.h>
#include <zlib.h>

#include "check.h"
#include "cnnkit.h"

/* ---- PNG encoding of test images --------------------------------------- */

typedef struct mem {
	uint8_t *buf;
	size_t len, cap;
} mem;

static void mem_put(mem *m, const void *p, size_t n)
{
	if (m->len + n > m->cap) {
		m->cap = (m->len + n) * 2;
		m->buf = realloc(m->buf, m->cap);
		if (!m->buf)
			abort();
	}
	memcpy(m->buf + m->len, p, n);
	m->len += n;
}

static void png_sink_write(png_structp png, png_bytep p, png_size_t n)
{
	mem_put(png_get_io_ptr(png), p, n);
}

static void png_sink_flush(png_structp png)
{
	(void)png;
}

typedef struct png_spec {
	int type, depth, interlace;
	const png_color *palette;
	int npalette;
	const png_byte *trns; /* palette alphas */
	int ntrns;
	const png_color_16 *trns_color; /* gray or RGB transparent colour */
} png_spec;

/* Encodes samples s (h, w, channels of the colour type), each < 2^depth, as a
 * PNG of the spec. */
static mem png_encode(const png_spec *sp, int w, int h, const uint16_t *s)
{
	static const int chans[7] = {1, 0, 3, 1, 2, 0, 4};
	int ch = chans[sp->type];
	mem m = {0};
	png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	png_infop info = png_create_info_struct(png);
	if (setjmp(png_jmpbuf(png)))
		abort();
	png_set_write_fn(png, &m, png_sink_write, png_sink_flush);
	png_set_IHDR(png, info, w, h, sp->depth, sp->type,
	             sp->interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
	             PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	if (sp->palette)
		png_set_PLTE(png, info, sp->palette, sp->npalette);
	if (sp->trns || sp->trns_color)
		png_set_tRNS(png, info, sp->trns, sp->ntrns, sp->trns_color);
	png_write_info(png, info);
	size_t rowbytes = ((size_t)w * ch * sp->depth + 7) / 8;
	uint8_t *rows = calloc(h, rowbytes);
	png_bytep *rp = malloc(h * sizeof *rp);
	for (int y = 0; y < h; y++) {
		uint8_t *r = rows + y * rowbytes;
		rp[y] = r;
		for (int i = 0; i < w * ch; i++) {
			unsigned v = s[(size_t)y * w * ch + i];
			if (sp->depth == 16) {
				r[2 * i] = (uint8_t)(v >> 8);
				r[2 * i + 1] = (uint8_t)v;
			} else if (sp->depth == 8) {
				r[i] = (uint8_t)v;
			} else { /* packed, first sample in the high bits */
				int per = 8 / sp->depth;
				r[i / per] |= (uint8_t)(v << (8 - sp->depth * (i % per + 1)));
			}
		}
	}
	png_set_interlace_handling(png);
	png_write_image(png, rp);
	png_write_end(png, info);
	png_destroy_write_struct(&png, &info);
	free(rows);
	free(rp);
	return m;
}

static uint16_t *random_samples(int n, int depth, uint32_t *seed)
{
	uint16_t *s = malloc(n * sizeof *s);
	for (int i = 0; i < n; i++) {
		*seed = *seed * 1664525u + 1013904223u;
		s[i] = (uint16_t)((*seed >> 8) & ((1u << depth) - 1));
	}
	return s;
}

/* Every colour type and bit depth the PNG spec allows, plain and interlaced:
 * values scale as libpng/Pillow do (gray 1/2/4 bits replicated to 8, 16 bits
 * keep the high byte). */
static void test_png_types_and_depths(void)
{
	static const struct {
		int type, depth;
	} cases[] = {
		{PNG_COLOR_TYPE_GRAY, 1},       {PNG_COLOR_TYPE_GRAY, 2},
		{PNG_COLOR_TYPE_GRAY, 4},       {PNG_COLOR_TYPE_GRAY, 8},
		{PNG_COLOR_TYPE_GRAY, 16},      {PNG_COLOR_TYPE_GRAY_ALPHA, 8},
		{PNG_COLOR_TYPE_GRAY_ALPHA, 16}, {PNG_COLOR_TYPE_RGB, 8},
		{PNG_COLOR_TYPE_RGB, 16},       {PNG_COLOR_TYPE_RGB_ALPHA, 8},
		{PNG_COLOR_TYPE_RGB_ALPHA, 16},
	};
	static const int chans[7] = {1, 0, 3, 1, 2, 0, 4};
	uint32_t seed = 1;
	for (size_t c = 0; c < sizeof cases / sizeof *cases; c++)
		for (int interlace = 0; interlace < 2; interlace++) {
			int w = 13, h = 11, ch = chans[cases[c].type], d = cases[c].depth;
			uint16_t *s = random_samples(w * h * ch, d, &seed);
			png_spec sp = {cases[c].type, d, interlace, NULL, 0, NULL, 0, NULL};
			mem m = png_encode(&sp, w, h, s);
			ck_image img;
			ck_err err = {{0}};
			int rc = ck_image_decode(&img, m.buf, m.len, &err);
			CHECK(rc == 0, "type %d depth %d: %s", cases[c].type, d, err.msg);
			if (rc == 0) {
				CHECK(img.width == w && img.height == h && img.channels == ch,
				      "type %d depth %d: %dx%dx%d", cases[c].type, d, img.width, img.height,
				      img.channels);
				int bad = 0;
				for (int i = 0; i < w * h * ch; i++) {
					unsigned want = d == 16 ? s[i] >> 8 : s[i] * 255u / ((1u << d) - 1);
					bad += img.data[i] != want;
				}
				CHECK(bad == 0, "type %d depth %d interlace %d: %d samples differ",
				      cases[c].type, d, interlace, bad);
			}
			ck_image_free(&img);
			free(s);
			free(m.buf);
		}
}

/* Palettes of 1, 2, 4 and 8 bits with tRNS become RGBA; gray and RGB with a
 * tRNS colour get an alpha channel, 0 exactly where the colour is. */
static void test_png_palette_and_trns(void)
{
	png_color pal[256];
	png_byte alpha[256];
	for (int i = 0; i < 256; i++) {
		pal[i] = (png_color){(png_byte)i, (png_byte)(255 - i), (png_byte)(i * 7)};
		alpha[i] = (png_byte)(i * 3);
	}
	uint32_t seed = 7;
	for (int d = 1; d <= 8; d *= 2) {
		int n = 1 << d, w = 9, h = 5;
		uint16_t *s = random_samples(w * h, d, &seed);
		int ntrns = n > 2 ? n / 2 : 1; /* entries past tRNS are opaque */
		png_spec sp = {PNG_COLOR_TYPE_PALETTE, d, d == 4, pal, n, alpha, ntrns, NULL};
		mem m = png_encode(&sp, w, h, s);
		ck_image img;
		ck_err err = {{0}};
		int rc = ck_image_decode_png(&img, m.buf, m.len, &err);
		CHECK(rc == 0 && img.channels == 4, "palette %d bits: %s", d, err.msg);
		int bad = 0;
		for (int i = 0; rc == 0 && i < w * h; i++) {
			const uint8_t *p = img.data + 4 * i;
			png_color c = pal[s[i]];
			int a = s[i] < ntrns ? alpha[s[i]] : 255;
			bad += p[0] != c.red || p[1] != c.green || p[2] != c.blue || p[3] != a;
		}
		CHECK(bad == 0, "palette %d bits: %d pixels differ", d, bad);
		ck_image_free(&img);
		free(s);
		free(m.buf);
	}
	/* palette without tRNS: RGB */
	uint16_t idx[4] = {0, 1, 2, 3};
	png_spec sp = {PNG_COLOR_TYPE_PALETTE, 2, 0, pal, 4, NULL, 0, NULL};
	mem m = png_encode(&sp, 2, 2, idx);
	ck_image img;
	CHECK(ck_image_decode_png(&img, m.buf, m.len, NULL) == 0 && img.channels == 3 &&
	          img.data[9] == 3 && img.data[10] == 252,
	      "palette without tRNS is RGB");
	ck_image_free(&img);
	free(m.buf);

	png_color_16 key = {.gray = 5, .red = 1, .green = 2, .blue = 3};
	uint16_t gray[4] = {5, 6, 5, 7};
	png_spec sg = {PNG_COLOR_TYPE_GRAY, 8, 0, NULL, 0, NULL, 0, &key};
	m = png_encode(&sg, 2, 2, gray);
	CHECK(ck_image_decode_png(&img, m.buf, m.len, NULL) == 0 && img.channels == 2 &&
	          img.data[1] == 0 && img.data[3] == 255 && img.data[5] == 0 && img.data[2] == 6,
	      "gray tRNS becomes alpha");
	ck_image_free(&img);
	free(m.buf);
	uint16_t rgb[6] = {1, 2, 3, 1, 2, 4};
	png_spec sr = {PNG_COLOR_TYPE_RGB, 8, 0, NULL, 0, NULL, 0, &key};
	m = png_encode(&sr, 2, 1, rgb);
	CHECK(ck_image_decode_png(&img, m.buf, m.len, NULL) == 0 && img.channels == 4 &&
	          img.data[3] == 0 && img.data[7] == 255,
	      "RGB tRNS becomes alpha");
	ck_image_free(&img);
	free(m.buf);
}

/* Every truncation of a valid file is an error, never a crash or an image. */
static void check_truncations(const mem *m, const char *what)
{
	int bad = 0;
	for (size_t n = 0; n < m->len; n += n < 64 ? 1 : 1 + m->len / 97) {
		ck_image img;
		ck_err err = {{0}};
		uint8_t *copy = malloc(n ? n : 1); /* exact size: ASan sees overreads */
		memcpy(copy, m->buf, n);
		if (ck_image_decode(&img, copy, n, &err) == 0) {
			bad++;
			printf("# %s truncated to %zu of %zu bytes decoded\n", what, n, m->len);
			ck_image_free(&img);
		} else if (!err.msg[0]) {
			bad++;
			printf("# %s truncated to %zu: no message\n", what, n);
		}
		free(copy);
	}
	CHECK(bad == 0, "%s: %d truncations not reported", what, bad);
}

/* Random byte changes: the decoder may succeed or fail but must not crash,
 * leak or read out of bounds (run under ASan). */
static void check_mutations(const mem *m, const char *what, int rounds)
{
	uint32_t seed = 12345;
	int silent = 0; /* failures without a message */
	for (int r = 0; r < rounds; r++) {
		uint8_t *copy = malloc(m->len);
		memcpy(copy, m->buf, m->len);
		for (int k = 0; k < 1 + r % 4; k++) {
			seed = seed * 1664525u + 1013904223u;
			size_t at = 8 + (seed >> 8) % (m->len - 8); /* keep the magic */
			copy[at] ^= (uint8_t)(1u << (seed & 7));
		}
		ck_image img;
		ck_err err = {{0}};
		if (ck_image_decode(&img, copy, m->len, &err) < 0)
			silent += err.msg[0] == 0;
		else
			ck_image_free(&img);
		free(copy);
	}
	CHECK(silent == 0, "%s mutations: %d failures without a message", what, silent);
}

static void test_png_damage(void)
{
	uint32_t seed = 3;
	uint16_t *s = random_samples(20 * 10 * 3, 8, &seed);
	png_spec sp = {PNG_COLOR_TYPE_RGB, 8, 0, NULL, 0, NULL, 0, NULL};
	mem m = png_encode(&sp, 20, 10, s);
	check_truncations(&m, "PNG");
	check_mutations(&m, "PNG", 300);
	png_spec si = {PNG_COLOR_TYPE_RGB, 8, 1, NULL, 0, NULL, 0, NULL};
	mem mi = png_encode(&si, 20, 10, s);
	check_truncations(&mi, "interlaced PNG");
	free(mi.buf);

	/* A wrong CRC in IHDR (critical) is an error. */
	m.buf[8 + 8 + 13] ^= 1;
	ck_err err = {{0}};
	ck_image img;
	CHECK(ck_image_decode(&img, m.buf, m.len, &err) < 0, "IHDR CRC mismatch is an error");
	free(m.buf);
	free(s);
}

/* Signature + IHDR only, with a correct CRC, claiming w x h. */
static mem png_header_only(uint32_t w, uint32_t h)
{
	static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
	uint8_t chunk[4 + 4 + 13 + 4] = {0, 0, 0, 13, 'I', 'H', 'D', 'R'};
	uint8_t *d = chunk + 8;
	for (int i = 0; i < 4; i++) {
		d[i] = (uint8_t)(w >> (24 - 8 * i));
		d[4 + i] = (uint8_t)(h >> (24 - 8 * i));
	}
	d[8] = 8; /* depth */
	d[9] = 2; /* RGB */
	uint32_t crc = (uint32_t)crc32(0, chunk + 4, 17);
	for (int i = 0; i < 4; i++)
		chunk[21 + i] = (uint8_t)(crc >> (24 - 8 * i));
	mem m = {0};
	mem_put(&m, sig, 8);
	mem_put(&m, chunk, sizeof chunk);
	return m;
}

static void test_png_lies_about_size(void)
{
	uint32_t sizes[][2] = {{100000, 100000}, {60000, 60000}, {65535, 4097}, {0, 10}};
	for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
		mem m = png_header_only(sizes[i][0], sizes[i][1]);
		ck_image img;
		ck_err err = {{0}};
		CHECK(ck_image_decode(&img, m.buf, m.len, &err) < 0 && err.msg[0],
		      "PNG claiming %ux%u refused", sizes[i][0], sizes[i][1]);
		free(m.buf);
	}
	ck_image img;
	ck_err err = {{0}};
	CHECK(ck_image_decode(&img, "", 0, &err) < 0 && strstr(err.msg, "empty"), "empty file");
	CHECK(ck_image_decode(&img, "GIF89a....", 10, &err) < 0, "GIF is not supported");
	uint8_t garbage[300];
	for (int i = 0; i < 300; i++)
		garbage[i] = (uint8_t)(i * 37 + 11);
	memcpy(garbage, "\x89PNG\r\n\x1a\n", 8);
	CHECK(ck_image_decode(&img, garbage, sizeof garbage, &err) < 0, "PNG magic then garbage");
	memcpy(garbage, "\xff\xd8\xff", 3);
	CHECK(ck_image_decode(&img, garbage, sizeof garbage, &err) < 0, "JPEG magic then garbage");
}

/* ---- JPEG -------------------------------------------------------------- */

typedef struct jpeg_spec {
	J_COLOR_SPACE space;
	int comps, progressive, adobe;
} jpeg_spec;

/* Encodes s (h, w, comps) at quality 95, no chroma subsampling. */
static mem jpeg_encode(const jpeg_spec *sp, int w, int h, const uint8_t *s)
{
	struct jpeg_compress_struct c;
	struct jpeg_error_mgr jerr;
	c.err = jpeg_std_error(&jerr);
	jpeg_create_compress(&c);
	unsigned char *out = NULL;
	unsigned long len = 0;
	jpeg_mem_dest(&c, &out, &len);
	c.image_width = w;
	c.image_height = h;
	c.input_components = sp->comps;
	c.in_color_space = sp->space;
	jpeg_set_defaults(&c);
	jpeg_set_quality(&c, 95, TRUE);
	for (int i = 0; i < c.num_components; i++)
		c.comp_info[i].h_samp_factor = c.comp_info[i].v_samp_factor = 1;
	if (sp->progressive)
		jpeg_simple_progression(&c);
	c.write_Adobe_marker = sp->adobe;
	jpeg_start_compress(&c, TRUE);
	while (c.next_scanline < c.image_height) {
		JSAMPROW row = (JSAMPROW)(s + (size_t)c.next_scanline * w * sp->comps);
		jpeg_write_scanlines(&c, &row, 1);
	}
	jpeg_finish_compress(&c);
	jpeg_destroy_compress(&c);
	mem m = {0};
	mem_put(&m, out, len);
	free(out);
	return m;
}

/* A smooth (h, w, comps) picture: gradients compress with small errors. */
static uint8_t *smooth(int w, int h, int comps)
{
	uint8_t *s = malloc((size_t)w * h * comps);
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++)
			for (int c = 0; c < comps; c++)
				s[((size_t)y * w + x) * comps + c] =
					(uint8_t)(40 + (x * (3 + c) + y * (5 - c)) * 150 / (w * 3 + h * 5));
	return s;
}

static int max_diff(const uint8_t *a, const uint8_t *b, size_t n)
{
	int m = 0;
	for (size_t i = 0; i < n; i++) {
		int d = abs((int)a[i] - (int)b[i]);
		m = d > m ? d : m;
	}
	return m;
}

static void test_jpeg_kinds(void)
{
	int w = 37, h = 29;
	uint8_t *rgb = smooth(w, h, 3), *gray = smooth(w, h, 1);
	for (int prog = 0; prog < 2; prog++) {
		jpeg_spec sp = {JCS_RGB, 3, prog, 0};
		mem m = jpeg_encode(&sp, w, h, rgb);
		ck_image img;
		ck_err err = {{0}};
		int rc = ck_image_decode(&img, m.buf, m.len, &err);
		CHECK(rc == 0 && img.width == w && img.height == h && img.channels == 3,
		      "RGB JPEG (progressive %d): %s", prog, err.msg);
		if (rc == 0)
			CHECK(max_diff(img.data, rgb, (size_t)w * h * 3) <= 4,
			      "RGB JPEG (progressive %d) is close", prog);
		ck_image_free(&img);
		check_truncations(&m, prog ? "progressive JPEG" : "baseline JPEG");
		check_mutations(&m, "JPEG", 200);
		free(m.buf);
	}
	jpeg_spec sg = {JCS_GRAYSCALE, 1, 0, 0};
	mem m = jpeg_encode(&sg, w, h, gray);
	ck_image img;
	ck_err err = {{0}};
	CHECK(ck_image_decode(&img, m.buf, m.len, &err) == 0 && img.channels == 1 &&
	          max_diff(img.data, gray, (size_t)w * h) <= 2,
	      "grayscale JPEG: %s", err.msg);
	ck_image_free(&img);
	free(m.buf);

	/* CMYK: R = (255 - C)(255 - K) / 255. With an Adobe marker the stored
	 * samples are inverted (Photoshop's convention); without, they are not. */
	uint8_t *cmyk = smooth(w, h, 4), *inv = malloc((size_t)w * h * 4);
	uint8_t *want = malloc((size_t)w * h * 3);
	for (int i = 0; i < w * h; i++) {
		unsigned k = cmyk[4 * i + 3];
		for (int c = 0; c < 3; c++)
			want[3 * i + c] = (uint8_t)((255 - cmyk[4 * i + c]) * (255 - k) / 255);
		for (int c = 0; c < 4; c++)
			inv[4 * i + c] = (uint8_t)(255 - cmyk[4 * i + c]);
	}
	for (int adobe = 0; adobe < 2; adobe++) {
		jpeg_spec sc = {JCS_CMYK, 4, adobe, adobe};
		m = jpeg_encode(&sc, w, h, adobe ? inv : cmyk);
		int rc = ck_image_decode(&img, m.buf, m.len, &err);
		CHECK(rc == 0 && img.channels == 3, "CMYK JPEG (Adobe %d): %s", adobe, err.msg);
		if (rc == 0)
			CHECK(max_diff(img.data, want, (size_t)w * h * 3) <= 4,
			      "CMYK JPEG (Adobe %d) converts: max diff %d", adobe,
			      max_diff(img.data, want, (size_t)w * h * 3));
		ck_image_free(&img);
		free(m.buf);
	}
	free(cmyk);
	free(inv);
	free(want);

	/* DCT scaling: sizes round up, content stays close. */
	jpeg_spec sp = {JCS_RGB, 3, 0, 0};
	m = jpeg_encode(&sp, w, h, rgb);
	for (int d = 2; d <= 8; d *= 2) {
		int rc = ck_image_decode_jpeg(&img, m.buf, m.len, d, &err);
		CHECK(rc == 0 && img.width == (w + d - 1) / d && img.height == (h + d - 1) / d,
		      "JPEG at 1/%d: %dx%d", d, img.width, img.height);
		ck_image_free(&img);
	}
	CHECK(ck_image_decode_jpeg(&img, m.buf, m.len, 3, &err) < 0, "JPEG at 1/3 refused");
	/* A SOF claiming 65000x65000 is refused before anything is allocated. */
	for (size_t i = 0; i + 9 < m.len; i++)
		if (m.buf[i] == 0xff && m.buf[i + 1] == 0xc0) {
			m.buf[i + 5] = m.buf[i + 7] = 0xfd;
			m.buf[i + 6] = m.buf[i + 8] = 0xe8;
			break;
		}
	CHECK(ck_image_decode(&img, m.buf, m.len, &err) < 0 && strstr(err.msg, "too large"),
	      "JPEG claiming 65000x65000: %s", err.msg);
	free(m.buf);
	free(rgb);
	free(gray);
}

/* ---- PNM --------------------------------------------------------------- */

static int decode_text(ck_image *img, const char *text, size_t len, ck_err *err)
{
	/* An exact-size copy, so that ASan catches reads past the end. */
	uint8_t *copy = malloc(len);
	memcpy(copy, text, len);
	int rc = ck_image_decode(img, copy, len, err);
	free(copy);
	return rc;
}

static void test_pnm(void)
{
	ck_image img;
	ck_err err = {{0}};
	static const char p1[] = "P1\n# a comment\n3 2\n1 0 1\n010";
	CHECK(decode_text(&img, p1, sizeof p1 - 1, &err) == 0 && img.channels == 1 &&
	          !memcmp(img.data, "\x00\xff\x00\xff\x00\xff", 6),
	      "P1 (1 is black, digits need no spaces): %s", err.msg);
	ck_image_free(&img);
	static const char p2[] = "P2 2 2 # c\n15\n0 15 # mid-row comment\n7 8\n";
	CHECK(decode_text(&img, p2, sizeof p2 - 1, &err) == 0 &&
	          !memcmp(img.data, "\x00\xff\x77\x88", 4),
	      "P2 maxval 15: %s", err.msg);
	ck_image_free(&img);
	static const char p3[] = "P3\n1 2\n65535\n65535 0 32768\n257 514 65535\n";
	CHECK(decode_text(&img, p3, sizeof p3 - 1, &err) == 0 && img.channels == 3 &&
	          !memcmp(img.data, "\xff\x00\x80\x01\x02\xff", 6),
	      "P3 16-bit: %s", err.msg);
	ck_image_free(&img);
	static const char p4[] = "P4\n#c\n10 2\n\xa5\xc0\xff\xff";
	CHECK(decode_text(&img, p4, sizeof p4 - 1, &err) == 0 && img.data[0] == 0 &&
	          img.data[1] == 255 && img.data[8] == 0 && img.data[9] == 0 && img.data[10] == 0,
	      "P4 rows padded to bytes: %s", err.msg);
	ck_image_free(&img);
	static const char p5[] = "P5 3 1 255\n\x01\x80\xff";
	CHECK(decode_text(&img, p5, sizeof p5 - 1, &err) == 0 &&
	          !memcmp(img.data, "\x01\x80\xff", 3),
	      "P5: %s", err.msg);
	ck_image_free(&img);
	static const char p5w[] = "P5 2 1 65535\n\x12\x34\xff\xff";
	CHECK(decode_text(&img, p5w, sizeof p5w - 1, &err) == 0 && img.data[0] == 18 &&
	          img.data[1] == 255,
	      "P5 16-bit big-endian, rounded: %s", err.msg);
	ck_image_free(&img);
	static const char p6[] = "P6 1 1 2\n\x00\x01\x02";
	CHECK(decode_text(&img, p6, sizeof p6 - 1, &err) == 0 &&
	          !memcmp(img.data, "\x00\x80\xff", 3),
	      "P6 maxval 2: 127.5 rounds to even: %s", err.msg);
	ck_image_free(&img);

	static const char *const bad[] = {
		"P5 3 1 255\n\x01\x80",   /* truncated */
		"P6 100000 100000 255\n", /* too large */
		"P5 16385 16385 255\n",   /* over 2^28 pixels */
		"P5 3000 3000 255\n\x01", /* truncated: nothing allocated first */
		"P2 2 1 10\n3 11\n",      /* sample over maxval */
		"P2 2 1 0\n0 0\n",        /* maxval 0 */
		"P2 2 1 70000\n0 0\n",    /* maxval over 65535 */
		"P3 2 1 255\n1 2 3 4 5",  /* truncated plain */
		"P1 2 1\n12",             /* bad bit */
		"P5 -3 1 255\n",          /* negative */
		"P5 3 1 255",             /* no data at all */
		"P2 99999999999999999999 1 255\n",
		"P4 8 1\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		err.msg[0] = 0;
		int rc = decode_text(&img, bad[i], strlen(bad[i]), &err);
		CHECK(rc < 0 && err.msg[0], "bad PNM %zu refused", i);
		if (rc == 0)
			ck_image_free(&img);
	}
	static const char p5f[] = "P5 4 4 255\n0123456789abcdef";
	mem m = {0};
	mem_put(&m, p5f, sizeof p5f - 1);
	check_truncations(&m, "PNM");
	free(m.buf);
}

int main(void)
{
	RUN(test_png_types_and_depths);
	RUN(test_png_palette_and_trns);
	RUN(test_png_damage);
	RUN(test_png_lies_about_size);
	RUN(test_jpeg_kinds);
	RUN(test_pnm);
	return check_summary();
}
