/* image_pnm.c: Netpbm images, P1 to P6, decoded by hand.
 *
 * Header: magic, width, height and (except for bitmaps) maxval as decimal
 * numbers separated by white space, '#' comments to the end of the line,
 * then one white-space byte before raw data. Plain formats (P1-P3) hold
 * decimal samples (P1: single digits, white space optional), with comments
 * allowed between them. Raw samples are 1 byte, or 2 (big-endian) when
 * maxval > 255. Samples scale to round(v * 255 / maxval), ties to even
 * (Pillow's values); a sample over maxval is an error. Bitmaps: 1 is black. */
#include "image_internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct pnm_in {
	const uint8_t *p, *end;
} pnm_in;

static int is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* Skips white space and comments. */
static void skip_blank(pnm_in *in)
{
	while (in->p < in->end) {
		if (is_space(*in->p)) {
			in->p++;
		} else if (*in->p == '#') {
			while (in->p < in->end && *in->p != '\n' && *in->p != '\r')
				in->p++;
		} else {
			break;
		}
	}
}

/* Reads a decimal number up to max; -1 on a non-digit, overflow or the end. */
static int64_t read_number(pnm_in *in, int64_t max)
{
	skip_blank(in);
	if (in->p >= in->end || *in->p < '0' || *in->p > '9')
		return -1;
	int64_t v = 0;
	while (in->p < in->end && *in->p >= '0' && *in->p <= '9') {
		v = v * 10 + (*in->p++ - '0');
		if (v > max)
			return -1;
	}
	return v;
}

/* round(v * 255 / maxval), ties to even. */
static uint8_t scale(unsigned v, unsigned maxval)
{
	uint32_t num = v * 255u, q = num / maxval, r = num % maxval;
	if (2 * r > maxval || (2 * r == maxval && (q & 1)))
		q++;
	return (uint8_t)q;
}

int ck_image_decode_pnm(ck_image *out, const void *buf, size_t len, ck_err *err)
{
	memset(out, 0, sizeof *out);
	pnm_in in = {buf, (const uint8_t *)buf + len};
	if (len < 3 || in.p[0] != 'P' || in.p[1] < '1' || in.p[1] > '6')
		return ck_err_set(err, "PNM: bad magic");
	int kind = in.p[1] - '0';
	in.p += 2;
	int plain = kind <= 3, bitmap = kind == 1 || kind == 4;
	int channels = kind == 3 || kind == 6 ? 3 : 1;
	int64_t w = read_number(&in, INT32_MAX), h = w < 0 ? -1 : read_number(&in, INT32_MAX);
	if (w < 0 || h < 0)
		return ck_err_set(err, "PNM: bad or missing width or height");
	int64_t maxval = 1;
	if (!bitmap) {
		maxval = read_number(&in, 65535);
		if (maxval < 1)
			return ck_err_set(err, "PNM: bad maxval (1 to 65535 allowed)");
	}
	if (ck_image_check_size(w, h, "PNM", err) < 0)
		return -1;
	size_t samples = (size_t)w * h * channels;
	if (!plain) {
		/* Exactly one white-space byte ends the header; the raw data must be
		 * all there before anything is allocated. */
		if (in.p >= in.end || !is_space(*in.p))
			return ck_err_set(err, "PNM: no white space after the header");
		in.p++;
		size_t need = bitmap ? (size_t)((w + 7) / 8) * h : samples * (maxval > 255 ? 2 : 1);
		if ((size_t)(in.end - in.p) < need)
			return ck_err_set(err, "PNM: truncated (%zu of %zu data bytes)",
			                  (size_t)(in.end - in.p), need);
	} else if ((size_t)(in.end - in.p) < samples) {
		/* Every plain sample takes at least one byte. */
		return ck_err_set(err, "PNM: truncated (%zu bytes for %zu samples)",
		                  (size_t)(in.end - in.p), samples);
	}
	if (ck_image_alloc(out, (int)w, (int)h, channels, err) < 0)
		return -1;
	uint8_t *d = out->data;
	if (kind == 4) {
		size_t stride = (size_t)(w + 7) / 8;
		for (int64_t y = 0; y < h; y++)
			for (int64_t x = 0; x < w; x++)
				*d++ = (in.p[y * stride + x / 8] >> (7 - x % 8)) & 1 ? 0 : 255;
	} else if (kind == 1) {
		for (size_t i = 0; i < samples; i++) {
			skip_blank(&in);
			if (in.p >= in.end || (*in.p != '0' && *in.p != '1')) {
				ck_image_free(out);
				return ck_err_set(err, in.p >= in.end ? "PNM: truncated"
				                                      : "PNM: bad bitmap sample");
			}
			*d++ = *in.p++ == '1' ? 0 : 255;
		}
	} else if (plain) {
		for (size_t i = 0; i < samples; i++) {
			int64_t v = read_number(&in, 65535);
			if (v < 0 || v > maxval) {
				ck_image_free(out);
				return ck_err_set(err, v < 0 ? "PNM: truncated or bad sample"
				                             : "PNM: sample over maxval");
			}
			d[i] = scale((unsigned)v, (unsigned)maxval);
		}
	} else if (maxval > 255) {
		for (size_t i = 0; i < samples; i++) {
			unsigned v = (unsigned)in.p[2 * i] << 8 | in.p[2 * i + 1];
			if (v > maxval) {
				ck_image_free(out);
				return ck_err_set(err, "PNM: sample over maxval");
			}
			d[i] = scale(v, (unsigned)maxval);
		}
	} else if (maxval == 255) {
		memcpy(d, in.p, samples);
	} else {
		for (size_t i = 0; i < samples; i++) {
			if (in.p[i] > maxval) {
				ck_image_free(out);
				return ck_err_set(err, "PNM: sample over maxval");
			}
			d[i] = scale(in.p[i], (unsigned)maxval);
		}
	}
	return 0;
}
