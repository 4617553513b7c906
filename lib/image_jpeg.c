/* image_jpeg.c: JPEG decoding through libjpeg(-turbo), from memory.
 *
 * libjpeg reports fatal errors through error_exit, which by default prints
 * and calls exit(): ours longjmps back with the message. Warnings that mean
 * the data is damaged (a premature end, for which libjpeg would insert a fake
 * EOI and return gray rows; a marker inside entropy-coded data; a bad code)
 * are errors too; other warnings are dropped. Progressive files with an
 * absurd number of scans (a known way to burn CPU) are refused. */
#include "image_internal.h"

#include <setjmp.h>
#include <stdio.h> /* jpeglib.h needs FILE */
#include <stdlib.h>
#include <string.h>

#include <jerror.h>
#include <jpeglib.h>

#define MAX_SCANS 1000

typedef struct jpeg_ctx {
	struct jpeg_error_mgr pub;
	jmp_buf jump;
	int scans;
	char msg[JMSG_LENGTH_MAX];
} jpeg_ctx;

static void on_error_exit(j_common_ptr cinfo)
{
	jpeg_ctx *c = (jpeg_ctx *)cinfo->err;
	c->pub.format_message(cinfo, c->msg);
	longjmp(c->jump, 1);
}

static void on_message(j_common_ptr cinfo, int level)
{
	jpeg_ctx *c = (jpeg_ctx *)cinfo->err;
	int code = c->pub.msg_code;
	if (level < 0) { /* a warning */
		if (code == JWRN_JPEG_EOF || code == JWRN_HIT_MARKER || code == JWRN_MUST_RESYNC ||
		    code == JWRN_HUFF_BAD_CODE)
			on_error_exit(cinfo);
		return;
	}
	if (code == JTRC_SOS && ++c->scans > MAX_SCANS) {
		snprintf(c->msg, sizeof c->msg, "more than %d scans", MAX_SCANS);
		longjmp(c->jump, 1);
	}
}

static void on_output(j_common_ptr cinfo)
{
	(void)cinfo; /* never print */
}

static void ctx_init(struct jpeg_decompress_struct *cinfo, jpeg_ctx *c)
{
	memset(c, 0, sizeof *c);
	cinfo->err = jpeg_std_error(&c->pub);
	c->pub.error_exit = on_error_exit;
	c->pub.emit_message = on_message;
	c->pub.output_message = on_output;
}

int ck_image_jpeg_size(const void *buf, size_t len, int *width, int *height, ck_err *err)
{
	struct jpeg_decompress_struct cinfo;
	jpeg_ctx c;
	ctx_init(&cinfo, &c);
	if (setjmp(c.jump)) {
		jpeg_destroy_decompress(&cinfo);
		return ck_err_set(err, "JPEG: %s", c.msg);
	}
	jpeg_create_decompress(&cinfo);
	jpeg_mem_src(&cinfo, buf, (unsigned long)len);
	jpeg_read_header(&cinfo, TRUE);
	*width = (int)cinfo.image_width;
	*height = (int)cinfo.image_height;
	jpeg_destroy_decompress(&cinfo);
	return 0;
}

/* CMYK to RGB as R = (255 - C)(255 - K) / 255 rounded; inverted (Adobe)
 * samples hold 255 - C etc. n pixels, in place (4 bytes in, 3 out). */
static void cmyk_to_rgb(uint8_t *p, size_t n, int inverted)
{
	for (size_t i = 0; i < n; i++) {
		unsigned c = p[4 * i], m = p[4 * i + 1], y = p[4 * i + 2], k = p[4 * i + 3];
		if (inverted) {
			c = 255 - c;
			m = 255 - m;
			y = 255 - y;
			k = 255 - k;
		}
		unsigned nk = 255 - k;
		p[3 * i] = (uint8_t)(nk - (c * nk + 127) / 255);
		p[3 * i + 1] = (uint8_t)(nk - (m * nk + 127) / 255);
		p[3 * i + 2] = (uint8_t)(nk - (y * nk + 127) / 255);
	}
}

int ck_image_decode_jpeg(ck_image *out, const void *buf, size_t len, int scale_denom,
                         ck_err *err)
{
	memset(out, 0, sizeof *out);
	if (scale_denom != 1 && scale_denom != 2 && scale_denom != 4 && scale_denom != 8)
		return ck_err_set(err, "JPEG: scale 1/%d (1, 2, 4 or 8 allowed)", scale_denom);
	if (len < 4)
		return ck_err_set(err, "JPEG: truncated (%zu bytes)", len);
	struct jpeg_decompress_struct cinfo;
	jpeg_ctx c;
	uint8_t *volatile data = NULL; /* kept across longjmp */
	ctx_init(&cinfo, &c);
	if (setjmp(c.jump)) {
		jpeg_destroy_decompress(&cinfo);
		free(data);
		return ck_err_set(err, "JPEG: %s", c.msg);
	}
	jpeg_create_decompress(&cinfo);
	jpeg_mem_src(&cinfo, buf, (unsigned long)len);
	jpeg_read_header(&cinfo, TRUE);
	if (ck_image_check_size(cinfo.image_width, cinfo.image_height, "JPEG", err) < 0) {
		jpeg_destroy_decompress(&cinfo);
		return -1;
	}
	int cmyk = 0;
	switch (cinfo.jpeg_color_space) {
	case JCS_GRAYSCALE:
		cinfo.out_color_space = JCS_GRAYSCALE;
		break;
	case JCS_CMYK:
	case JCS_YCCK:
		cinfo.out_color_space = JCS_CMYK;
		cmyk = 1;
		break;
	default:
		cinfo.out_color_space = JCS_RGB;
		break;
	}
	cinfo.scale_num = 1;
	cinfo.scale_denom = (unsigned)scale_denom;
	jpeg_start_decompress(&cinfo);
	int w = (int)cinfo.output_width, h = (int)cinfo.output_height;
	int comps = cinfo.output_components;
	data = malloc((size_t)w * h * comps);
	if (!data) {
		jpeg_destroy_decompress(&cinfo);
		return ck_err_set(err, "JPEG: out of memory (%dx%d)", w, h);
	}
	while (cinfo.output_scanline < cinfo.output_height) {
		JSAMPROW rows[8];
		int n = 0;
		for (unsigned y = cinfo.output_scanline; y < cinfo.output_height && n < 8; y++)
			rows[n++] = data + (size_t)y * w * comps;
		jpeg_read_scanlines(&cinfo, rows, (JDIMENSION)n);
	}
	jpeg_finish_decompress(&cinfo);
	int inverted = cinfo.saw_Adobe_marker;
	jpeg_destroy_decompress(&cinfo);
	out->data = data;
	out->width = w;
	out->height = h;
	out->channels = comps;
	if (cmyk) {
		cmyk_to_rgb(out->data, (size_t)w * h, inverted);
		out->channels = 3;
	}
	return 0;
}
