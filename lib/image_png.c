/* image_png.c: PNG decoding and encoding through libpng, in memory.
 *
 * Decoding keeps the channels as stored (gray, gray+alpha, RGB, RGBA):
 * palettes become RGB, a tRNS chunk becomes an alpha channel, bit depths
 * below 8 are scaled to 0..255 (gray) or unpacked (palette indices), 16-bit
 * samples keep their high byte, interlaced images are deinterlaced. libpng's
 * errors longjmp back here; its warnings are dropped. The whole file is read,
 * through IEND, so a truncated file is an error. */
#include "image_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <png.h>

typedef struct png_ctx {
	const uint8_t *buf;
	size_t len, pos;
	char msg[256];
} png_ctx;

static void on_error(png_structp png, png_const_charp msg)
{
	png_ctx *c = png_get_error_ptr(png);
	snprintf(c->msg, sizeof c->msg, "%s", msg);
	png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg)
{
	(void)png;
	(void)msg;
}

static void on_read(png_structp png, png_bytep dst, png_size_t n)
{
	png_ctx *c = png_get_io_ptr(png);
	if (n > c->len - c->pos)
		png_error(png, "truncated file");
	memcpy(dst, c->buf + c->pos, n);
	c->pos += n;
}

int ck_image_decode_png(ck_image *out, const void *buf, size_t len, ck_err *err)
{
	memset(out, 0, sizeof *out);
	png_ctx c = {.buf = buf, .len = len};
	if (len < 8 || png_sig_cmp(buf, 0, 8))
		return ck_err_set(err, "PNG: bad signature");
	png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &c, on_error, on_warning);
	png_infop info = png ? png_create_info_struct(png) : NULL;
	if (!info) {
		png_destroy_read_struct(&png, NULL, NULL);
		return ck_err_set(err, "PNG: out of memory");
	}
	uint8_t *volatile data = NULL;      /* kept across longjmp */
	png_bytep *volatile rows = NULL;
	if (setjmp(png_jmpbuf(png))) {
		png_destroy_read_struct(&png, &info, NULL);
		free(data);
		free(rows);
		return ck_err_set(err, "PNG: %s", c.msg);
	}
	png_set_read_fn(png, &c, on_read);
	png_set_user_limits(png, CK_IMAGE_MAX_SIDE, CK_IMAGE_MAX_SIDE);
	png_set_chunk_malloc_max(png, 1 << 24); /* text, ICC profiles: 16 MiB */
	/* Ancillary chunks are not used: skipping them skips their CRC traps too,
	 * but a bad CRC in a critical chunk stays an error. */
	png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, NULL, 0);
	png_read_info(png, info);
	png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
	if (ck_image_check_size(w, h, "PNG", err) < 0) {
		png_destroy_read_struct(&png, &info, NULL);
		return -1;
	}
	int type = png_get_color_type(png, info);
	if (type == PNG_COLOR_TYPE_PALETTE)
		png_set_palette_to_rgb(png);
	if (type == PNG_COLOR_TYPE_GRAY && png_get_bit_depth(png, info) < 8)
		png_set_expand_gray_1_2_4_to_8(png);
	if (png_get_valid(png, info, PNG_INFO_tRNS))
		png_set_tRNS_to_alpha(png);
	png_set_strip_16(png);
	png_set_interlace_handling(png);
	png_read_update_info(png, info);
	int channels = png_get_channels(png, info);
	size_t row = png_get_rowbytes(png, info);
	if (channels < 1 || channels > 4 || row != (size_t)w * channels)
		png_error(png, "unexpected row layout");
	data = malloc(row * h);
	rows = malloc(h * sizeof *rows);
	if (!data || !rows)
		png_error(png, "out of memory");
	for (png_uint_32 y = 0; y < h; y++)
		rows[y] = data + y * row;
	png_read_image(png, rows);
	png_read_end(png, NULL);
	png_destroy_read_struct(&png, &info, NULL);
	free(rows);
	out->data = data;
	out->width = (int)w;
	out->height = (int)h;
	out->channels = channels;
	return 0;
}

/* ---- encoding ---------------------------------------------------------- */

typedef struct png_sink {
	uint8_t *buf;
	size_t len, cap;
	int failed;
	char msg[256];
} png_sink;

static void on_write(png_structp png, png_bytep src, png_size_t n)
{
	png_sink *s = png_get_io_ptr(png);
	if (n > s->cap - s->len) {
		size_t cap = s->cap ? s->cap : 4096;
		while (n > cap - s->len)
			cap *= 2;
		uint8_t *b = realloc(s->buf, cap);
		if (!b)
			png_error(png, "out of memory");
		s->buf = b;
		s->cap = cap;
	}
	memcpy(s->buf + s->len, src, n);
	s->len += n;
}

static void on_flush(png_structp png)
{
	(void)png;
}

static void on_write_error(png_structp png, png_const_charp msg)
{
	png_sink *s = png_get_error_ptr(png);
	snprintf(s->msg, sizeof s->msg, "%s", msg);
	png_longjmp(png, 1);
}

int ck_image_encode_png(const ck_image *img, void **out, size_t *len, ck_err *err)
{
	static const int types[5] = {0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA,
	                             PNG_COLOR_TYPE_RGB, PNG_COLOR_TYPE_RGB_ALPHA};
	*out = NULL;
	*len = 0;
	if (img->channels < 1 || img->channels > 4)
		return ck_err_set(err, "PNG: %d channels (1 to 4 allowed)", img->channels);
	if (ck_image_check_size(img->width, img->height, "PNG", err) < 0)
		return -1;
	png_sink s = {0};
	png_structp png =
		png_create_write_struct(PNG_LIBPNG_VER_STRING, &s, on_write_error, on_warning);
	png_infop info = png ? png_create_info_struct(png) : NULL;
	if (!info) {
		png_destroy_write_struct(&png, NULL);
		return ck_err_set(err, "PNG: out of memory");
	}
	if (setjmp(png_jmpbuf(png))) {
		png_destroy_write_struct(&png, &info);
		free(s.buf);
		return ck_err_set(err, "PNG: %s", s.msg);
	}
	png_set_write_fn(png, &s, on_write, on_flush);
	png_set_IHDR(png, info, (png_uint_32)img->width, (png_uint_32)img->height, 8,
	             types[img->channels], PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
	             PNG_FILTER_TYPE_DEFAULT);
	png_write_info(png, info);
	size_t row = (size_t)img->width * img->channels;
	for (int y = 0; y < img->height; y++)
		png_write_row(png, img->data + (size_t)y * row);
	png_write_end(png, info);
	png_destroy_write_struct(&png, &info);
	*out = s.buf;
	*len = s.len;
	return 0;
}

int ck_image_write_png(const ck_image *img, const char *path, ck_err *err)
{
	if (strcmp(path, "-") == 0 && isatty(STDOUT_FILENO))
		return ck_err_set(err, "refusing to write a PNG to a terminal");
	void *buf;
	size_t len;
	if (ck_image_encode_png(img, &buf, &len, err) < 0)
		return -1;
	int rc = ck_outfile_save(path, 0, buf, len, err);
	free(buf);
	return rc;
}
