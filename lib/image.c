/* image.c: the image struct, format sniffing, file reading, colour
 * conversion and the decode-convert-fit-resize pipeline of one image. */
#include "image_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int ck_image_check_size(int64_t width, int64_t height, const char *what, ck_err *err)
{
	if (width < 1 || height < 1)
		return ck_err_set(err, "%s: empty image (%" PRId64 "x%" PRId64 ")", what, width,
		                  height);
	if (width > CK_IMAGE_MAX_SIDE || height > CK_IMAGE_MAX_SIDE ||
	    width * height >= CK_IMAGE_MAX_PIXELS)
		return ck_err_set(err, "%s: image too large (%" PRId64 "x%" PRId64
		                  ", limits %d per side and 2^28 pixels)",
		                  what, width, height, CK_IMAGE_MAX_SIDE);
	return 0;
}

int ck_image_alloc(ck_image *img, int width, int height, int channels, ck_err *err)
{
	memset(img, 0, sizeof *img);
	if (ck_image_check_size(width, height, "image", err) < 0)
		return -1;
	if (channels < 1 || channels > 4)
		return ck_err_set(err, "image: %d channels (1 to 4 allowed)", channels);
	img->data = malloc((size_t)width * height * channels);
	if (!img->data)
		return ck_err_set(err, "image: out of memory (%dx%dx%d)", width, height, channels);
	img->width = width;
	img->height = height;
	img->channels = channels;
	return 0;
}

void ck_image_free(ck_image *img)
{
	if (img) {
		free(img->data);
		memset(img, 0, sizeof *img);
	}
}

ck_image_format ck_image_sniff(const void *buf, size_t len)
{
	static const uint8_t png_magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
	const uint8_t *b = buf;
	if (len >= 8 && memcmp(b, png_magic, 8) == 0)
		return CK_IMAGE_PNG;
	if (len >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff)
		return CK_IMAGE_JPEG;
	if (len >= 3 && b[0] == 'P' && b[1] >= '1' && b[1] <= '6' &&
	    strchr(" \t\n\v\f\r#", b[2]) && b[2] != '\0')
		return CK_IMAGE_PNM;
	return CK_IMAGE_UNKNOWN;
}

int ck_image_decode(ck_image *out, const void *buf, size_t len, ck_err *err)
{
	switch (ck_image_sniff(buf, len)) {
	case CK_IMAGE_PNG:
		return ck_image_decode_png(out, buf, len, err);
	case CK_IMAGE_JPEG:
		return ck_image_decode_jpeg(out, buf, len, 1, err);
	case CK_IMAGE_PNM:
		return ck_image_decode_pnm(out, buf, len, err);
	default:
		memset(out, 0, sizeof *out);
		return ck_err_set(err, len ? "not a PNG, JPEG or PNM image" : "empty file");
	}
}

int ck_image_read_file(const char *path, void **buf, size_t *len, ck_err *err)
{
	*buf = NULL;
	*len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ck_err_set(err, "%s", strerror(errno));
	struct stat st;
	if (fstat(fd, &st) < 0 || S_ISDIR(st.st_mode)) {
		int e = S_ISDIR(st.st_mode) ? EISDIR : errno;
		close(fd);
		return ck_err_set(err, "%s", strerror(e));
	}
	if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > CK_IMAGE_MAX_FILE) {
		close(fd);
		return ck_err_set(err, "file too large (over %zu bytes)", CK_IMAGE_MAX_FILE);
	}
	/* A regular file is read in one piece; a pipe grows the buffer. Either
	 * way one spare byte follows the data (text parsers put a NUL there). */
	size_t cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : 1 << 16, n = 0;
	uint8_t *b = malloc(cap);
	if (!b) {
		close(fd);
		return ck_err_set(err, "out of memory");
	}
	for (;;) {
		if (n == cap) {
			if (cap > CK_IMAGE_MAX_FILE) {
				free(b);
				close(fd);
				return ck_err_set(err, "file too large (over %zu bytes)", CK_IMAGE_MAX_FILE);
			}
			uint8_t *nb = realloc(b, cap * 2);
			if (!nb) {
				free(b);
				close(fd);
				return ck_err_set(err, "out of memory");
			}
			b = nb;
			cap *= 2;
		}
		ssize_t r = read(fd, b + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			free(b);
			close(fd);
			return ck_err_set(err, "read error: %s", strerror(e));
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	*buf = b;
	*len = n;
	return 0;
}

/* ---- colour ------------------------------------------------------------ */

/* ITU-R 601-2 luma in 16-bit fixed point, rounded (Pillow's "L"). */
static inline uint8_t luma(unsigned r, unsigned g, unsigned b)
{
	return (uint8_t)((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16);
}

/* s over b with coverage a, all 0..255; rounded to nearest (255 is odd: no ties). */
static inline uint8_t over(unsigned s, unsigned a, unsigned b)
{
	return (uint8_t)((s * a + b * (255 - a) + 127) / 255);
}

int ck_image_convert(ck_image *img, int channels, const uint8_t background[3], ck_err *err)
{
	int in = img->channels;
	if (channels != 1 && channels != 3)
		return ck_err_set(err, "image: cannot convert to %d channels", channels);
	if (in == channels)
		return 0;
	size_t n = (size_t)img->width * img->height;
	const uint8_t *s = img->data;
	uint8_t *out = img->data;
	if (channels > in) { /* 1 -> 3 or 2 -> 3 grows: a new buffer */
		out = malloc(n * 3);
		if (!out)
			return ck_err_set(err, "image: out of memory");
	}
	const uint8_t *bg = background;
	uint8_t bg_gray = luma(bg[0], bg[1], bg[2]);
	/* Every case reads pixel i at or after where it writes it (in place when
	 * shrinking), so one forward pass is safe. */
	for (size_t i = 0; i < n; i++) {
		const uint8_t *p = s + i * in;
		uint8_t *q = out + i * channels;
		switch (in * 4 + channels) {
		case 1 * 4 + 3:
			q[0] = q[1] = q[2] = p[0];
			break;
		case 2 * 4 + 1:
			q[0] = over(p[0], p[1], bg_gray);
			break;
		case 2 * 4 + 3: {
			uint8_t v = p[0], a = p[1];
			q[0] = over(v, a, bg[0]);
			q[1] = over(v, a, bg[1]);
			q[2] = over(v, a, bg[2]);
			break;
		}
		case 3 * 4 + 1:
			q[0] = luma(p[0], p[1], p[2]);
			break;
		case 4 * 4 + 1: {
			uint8_t a = p[3];
			q[0] = luma(over(p[0], a, bg[0]), over(p[1], a, bg[1]), over(p[2], a, bg[2]));
			break;
		}
		case 4 * 4 + 3: {
			uint8_t a = p[3], r = over(p[0], a, bg[0]), g = over(p[1], a, bg[1]),
			        b = over(p[2], a, bg[2]);
			q[0] = r;
			q[1] = g;
			q[2] = b;
			break;
		}
		default:
			if (out != img->data)
				free(out);
			return ck_err_set(err, "image: cannot convert %d channels", in);
		}
	}
	if (out != img->data) {
		free(img->data);
		img->data = out;
	} else {
		uint8_t *shrunk = realloc(img->data, n * channels);
		if (shrunk)
			img->data = shrunk;
	}
	img->channels = channels;
	return 0;
}

void ck_image_to_chw_u8(uint8_t *dst, const ck_image *img)
{
	size_t n = (size_t)img->width * img->height;
	int c = img->channels;
	if (c == 1) {
		memcpy(dst, img->data, n);
		return;
	}
	for (int k = 0; k < c; k++) {
		uint8_t *d = dst + (size_t)k * n;
		const uint8_t *s = img->data + k;
		for (size_t i = 0; i < n; i++)
			d[i] = s[i * c];
	}
}

void ck_image_to_chw_f32(float *dst, const ck_image *img, const float *mean, const float *std)
{
	size_t n = (size_t)img->width * img->height;
	int c = img->channels;
	for (int k = 0; k < c; k++) {
		/* (v / 255 - m) / s = v * scale + shift */
		float m = mean ? mean[k] : 0.0f, sd = std ? std[k] : 1.0f;
		float scale = 1.0f / (255.0f * sd), shift = -m / sd;
		float *d = dst + (size_t)k * n;
		const uint8_t *s = img->data + k;
		for (size_t i = 0; i < n; i++)
			d[i] = (float)s[i * c] * scale + shift;
	}
}

/* ---- one image, ready for a network ------------------------------------ */

typedef struct rect {
	int x, y, w, h;
} rect;

static int round_div(int64_t a, int64_t b) /* a, b > 0 */
{
	return (int)((2 * a + b) / (2 * b));
}

/* Where the source rectangle src of an sw x sh image goes in the W x H output
 * (dst), for the fit mode. */
static void fit_geometry(int sw, int sh, const ck_image_prep *p, rect *src, rect *dst)
{
	int W = p->width, H = p->height;
	*src = (rect){0, 0, sw, sh};
	*dst = (rect){0, 0, W, H};
	int wider = (int64_t)sw * H > (int64_t)sh * W;
	if (p->fit == CK_IMAGE_CROP) {
		if (wider) {
			src->w = round_div((int64_t)sh * W, H);
			src->w = src->w < 1 ? 1 : src->w > sw ? sw : src->w;
			src->x = (sw - src->w) / 2;
		} else {
			src->h = round_div((int64_t)sw * H, W);
			src->h = src->h < 1 ? 1 : src->h > sh ? sh : src->h;
			src->y = (sh - src->h) / 2;
		}
	} else if (p->fit == CK_IMAGE_LETTERBOX) {
		if (wider) {
			dst->h = round_div((int64_t)sh * W, sw);
			dst->h = dst->h < 1 ? 1 : dst->h > H ? H : dst->h;
			dst->y = (H - dst->h) / 2;
		} else {
			dst->w = round_div((int64_t)sw * H, sh);
			dst->w = dst->w < 1 ? 1 : dst->w > W ? W : dst->w;
			dst->x = (W - dst->w) / 2;
		}
	}
}

/* The largest DCT scaling denominator (8, 4, 2 or 1) that keeps the source
 * rectangle at least twice the size it is resized to, on both axes. */
static int jpeg_denom(int sw, int sh, const ck_image_prep *p)
{
	rect src, dst;
	fit_geometry(sw, sh, p, &src, &dst);
	for (int d = 8; d > 1; d /= 2)
		if (src.w / d >= 2 * dst.w && src.h / d >= 2 * dst.h)
			return d;
	return 1;
}

int ck_image_prepare(ck_image *out, const void *buf, size_t len, const ck_image_prep *p,
                     ck_err *err)
{
	memset(out, 0, sizeof *out);
	int resize = p->width > 0 && p->height > 0;
	ck_image img;
	int rc;
	if (resize && p->jpeg_scale && ck_image_sniff(buf, len) == CK_IMAGE_JPEG) {
		int w, h;
		if (ck_image_jpeg_size(buf, len, &w, &h, err) < 0)
			return -1;
		rc = ck_image_decode_jpeg(&img, buf, len, jpeg_denom(w, h, p), err);
	} else {
		rc = ck_image_decode(&img, buf, len, err);
	}
	if (rc < 0 || ck_image_convert(&img, p->channels, p->background, err) < 0) {
		ck_image_free(&img);
		return -1;
	}
	if (!resize || (img.width == p->width && img.height == p->height)) {
		*out = img;
		return 0;
	}
	rect src, dst;
	fit_geometry(img.width, img.height, p, &src, &dst);
	ck_image canvas, part;
	if (ck_image_alloc(&canvas, p->width, p->height, p->channels, err) < 0) {
		ck_image_free(&img);
		return -1;
	}
	int whole = dst.w == p->width && dst.h == p->height;
	if (whole) {
		rc = ck_image_resize(&canvas, &img, src.x, src.y, src.w, src.h, p->filter, err);
	} else { /* letterbox: background, then the resized image in the middle */
		const uint8_t *bg = p->background;
		uint8_t gray = luma(bg[0], bg[1], bg[2]);
		size_t n = (size_t)canvas.width * canvas.height;
		for (size_t i = 0; i < n; i++)
			for (int k = 0; k < p->channels; k++)
				canvas.data[i * p->channels + k] = p->channels == 1 ? gray : bg[k];
		rc = ck_image_alloc(&part, dst.w, dst.h, p->channels, err);
		if (rc == 0)
			rc = ck_image_resize(&part, &img, src.x, src.y, src.w, src.h, p->filter, err);
		if (rc == 0) {
			size_t row = (size_t)dst.w * p->channels;
			for (int y = 0; y < dst.h; y++)
				memcpy(canvas.data + (((size_t)(dst.y + y) * p->width) + dst.x) * p->channels,
				       part.data + y * row, row);
		}
		ck_image_free(&part);
	}
	ck_image_free(&img);
	if (rc < 0) {
		ck_image_free(&canvas);
		return -1;
	}
	*out = canvas;
	return 0;
}
