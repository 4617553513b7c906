/* idx.c: the IDX format of the MNIST files (yann.lecun.com/exdb/mnist/),
 * plain or gzip-compressed, and the images + labels pairing.
 *
 *   0x00 0x00 TYPE RANK      TYPE: 0x08 u8, 0x09 i8, 0x0B i16, 0x0C i32,
 *                                  0x0D f32, 0x0E f64
 *   RANK x u32 big-endian    the dims, outermost first
 *   data                     row-major, big-endian elements */
#include "io_internal.h"

#include <stdlib.h>
#include <zlib.h>

typedef struct idx_info {
	ck_dtype dtype;
	int rank;
	int64_t dims[CK_TNZ_MAX_RANK];
	size_t hlen, nbytes; /* header bytes, data bytes */
	int64_t numel;
} idx_info;

/* Parses the header at the start of buf. Returns 1 if parsed, 0 if more
 * bytes are needed (len too short), -1 on error. */
static int idx_header(const unsigned char *buf, size_t len, idx_info *in, ck_err *err)
{
	if (len < 4)
		return 0;
	if (buf[0] != 0 || buf[1] != 0)
		return ck_err_set(err, "not an IDX file (bad magic)");
	switch (buf[2]) {
	case 0x08: in->dtype = CK_DTYPE_U8; break;
	case 0x09: in->dtype = CK_DTYPE_I8; break;
	case 0x0b: in->dtype = CK_DTYPE_I16; break;
	case 0x0c: in->dtype = CK_DTYPE_I32; break;
	case 0x0d: in->dtype = CK_DTYPE_F32; break;
	case 0x0e: in->dtype = CK_DTYPE_F64; break;
	default: return ck_err_set(err, "unknown IDX data type 0x%02x", buf[2]);
	}
	in->rank = buf[3];
	if (in->rank > CK_TNZ_MAX_RANK)
		return ck_err_set(err, "IDX rank %d is over %d", in->rank, CK_TNZ_MAX_RANK);
	in->hlen = 4 + 4 * (size_t)in->rank;
	if (len < in->hlen)
		return 0;
	for (int k = 0; k < in->rank; k++)
		in->dims[k] = ck_io_be32(buf + 4 + 4 * k);
	if (ck_io_shape_bytes(in->rank, in->dims, ck_dtype_size(in->dtype), &in->numel,
	                      &in->nbytes, err) < 0)
		return -1;
	return 1;
}

static void idx_fill(const idx_info *in, unsigned char *data, ck_tensor *out)
{
	ck_io_byteswap(data, (size_t)in->numel, ck_dtype_size(in->dtype));
	memset(out, 0, sizeof *out);
	out->dtype = in->dtype;
	out->rank = in->rank;
	memcpy(out->dims, in->dims, sizeof in->dims);
	out->data = data;
	out->nbytes = in->nbytes;
}

static int idx_check_size(const idx_info *in, size_t have, ck_err *err)
{
	if (have < in->nbytes)
		return ck_err_set(err, "truncated IDX data (%zu of %zu bytes)", have, in->nbytes);
	if (have > in->nbytes)
		return ck_err_set(err, "%zu bytes after the IDX data", have - in->nbytes);
	return 0;
}

/* Inflates gzip data (one or more members) and decodes the IDX inside. The
 * output grows as data arrives and never beyond what the header allows. */
static int idx_gunzip(const unsigned char *src, size_t len, ck_tensor *out, ck_err *err)
{
	idx_info in;
	memset(&in, 0, sizeof in);
	int have_header = 0;
	size_t cap = 4096, have = 0, limit = 4 + 4 * CK_TNZ_MAX_RANK;
	unsigned char *b = malloc(cap);
	if (!b)
		return ck_err_set(err, "out of memory");
	z_stream z;
	memset(&z, 0, sizeof z);
	if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) {
		free(b);
		return ck_err_set(err, "cannot start zlib");
	}
	size_t in_left = len;
	z.next_in = (unsigned char *)(uintptr_t)src;
	for (;;) {
		if (z.avail_in == 0 && in_left > 0) {
			z.avail_in = in_left > (1u << 30) ? (1u << 30) : (uInt)in_left;
			in_left -= z.avail_in;
		}
		if (have == cap) {
			/* Room for one byte beyond the limit shows data that goes on. */
			size_t ncap = cap <= (limit + 1) / 2 ? cap * 2 : limit + 1;
			if (ncap <= cap) {
				ck_err_set(err, "more gzip data than the IDX header's dims");
				goto fail;
			}
			unsigned char *nb = realloc(b, ncap);
			if (!nb) {
				ck_err_set(err, "out of memory");
				goto fail;
			}
			b = nb;
			cap = ncap;
		}
		size_t room = cap - have;
		z.next_out = b + have;
		z.avail_out = room > (1u << 30) ? (1u << 30) : (uInt)room;
		uInt before = z.avail_out;
		int rc = inflate(&z, Z_NO_FLUSH);
		have += before - z.avail_out;
		if (!have_header) {
			int h = idx_header(b, have, &in, err);
			if (h < 0)
				goto fail;
			if (h > 0) {
				have_header = 1;
				if (in.nbytes > SIZE_MAX - in.hlen - 1) {
					ck_err_set(err, "IDX data too large");
					goto fail;
				}
				limit = in.hlen + in.nbytes;
			}
		}
		if (have > limit) {
			ck_err_set(err, "more gzip data than the IDX header's dims");
			goto fail;
		}
		if (rc == Z_STREAM_END) {
			if (z.avail_in == 0 && in_left == 0)
				break;
			/* Another gzip member follows (as `cat a.gz b.gz` makes). */
			if (z.avail_in < 2 || z.next_in[0] != 0x1f || z.next_in[1] != 0x8b) {
				ck_err_set(err, "bytes after the gzip data");
				goto fail;
			}
			inflateReset(&z);
			continue;
		}
		if (rc == Z_BUF_ERROR && z.avail_in == 0 && in_left == 0) {
			ck_err_set(err, "truncated gzip data");
			goto fail;
		}
		if (rc != Z_OK && rc != Z_BUF_ERROR) {
			ck_err_set(err, "bad gzip data: %s", z.msg ? z.msg : "corrupt");
			goto fail;
		}
	}
	inflateEnd(&z);
	if (!have_header) {
		free(b);
		return ck_err_set(err, "truncated IDX header (%zu bytes)", have);
	}
	if (idx_check_size(&in, have - in.hlen, err) < 0) {
		free(b);
		return -1;
	}
	memmove(b, b + in.hlen, in.nbytes);
	unsigned char *shrunk = realloc(b, in.nbytes ? in.nbytes : 1);
	idx_fill(&in, shrunk ? shrunk : b, out);
	return 0;
fail:
	inflateEnd(&z);
	free(b);
	return -1;
}

static int is_gzip(const unsigned char *p, size_t len)
{
	return len >= 2 && p[0] == 0x1f && p[1] == 0x8b;
}

int ck_idx_read_mem(const void *buf_, size_t len, ck_tensor *out, ck_err *err)
{
	const unsigned char *buf = buf_;
	if (is_gzip(buf, len))
		return idx_gunzip(buf, len, out, err);
	idx_info in;
	int h = idx_header(buf, len, &in, err);
	if (h < 0)
		return -1;
	if (h == 0)
		return ck_err_set(err, "truncated IDX header (%zu bytes)", len);
	if (idx_check_size(&in, len - in.hlen, err) < 0)
		return -1;
	unsigned char *data = malloc(in.nbytes ? in.nbytes : 1);
	if (!data)
		return ck_err_set(err, "out of memory (%zu bytes)", in.nbytes);
	memcpy(data, buf + in.hlen, in.nbytes);
	idx_fill(&in, data, out);
	return 0;
}

int ck_idx_read(const char *path, ck_tensor *out, ck_err *err)
{
	unsigned char *buf;
	size_t len;
	if (ck_io_slurp(path, &buf, &len, err) < 0)
		return ck_err_prefix(err, "%s", path);
	int rc;
	if (is_gzip(buf, len)) {
		rc = idx_gunzip(buf, len, out, err);
		free(buf);
	} else {
		/* Decode in the buffer read: the data moves to its front. */
		idx_info in;
		rc = idx_header(buf, len, &in, err);
		if (rc == 0)
			rc = ck_err_set(err, "truncated IDX header (%zu bytes)", len);
		if (rc > 0)
			rc = idx_check_size(&in, len - in.hlen, err);
		if (rc < 0) {
			free(buf);
		} else {
			memmove(buf, buf + in.hlen, in.nbytes);
			unsigned char *shrunk = realloc(buf, in.nbytes ? in.nbytes : 1);
			idx_fill(&in, shrunk ? shrunk : buf, out);
		}
	}
	return rc < 0 ? ck_err_prefix(err, "%s", path) : 0;
}

/* Labels as i32, or -1 if t is not a vector of integers that fit. */
static int labels_to_i32(const ck_tensor *t, int32_t *y, ck_err *err)
{
	size_t n = (size_t)t->dims[0];
	for (size_t i = 0; i < n; i++) {
		int64_t v;
		switch (t->dtype) {
		case CK_DTYPE_U8: v = ((const uint8_t *)t->data)[i]; break;
		case CK_DTYPE_I8: v = ((const int8_t *)t->data)[i]; break;
		case CK_DTYPE_I16: v = ((const int16_t *)t->data)[i]; break;
		case CK_DTYPE_I32: v = ((const int32_t *)t->data)[i]; break;
		default: return ck_err_set(err, "labels must be integers, not %s",
			                   ck_dtype_name(t->dtype));
		}
		y[i] = (int32_t)v;
	}
	return 0;
}

int ck_idx_pair(ck_tensor *a, ck_tensor *b, ck_tnz *out, ck_err *err)
{
	ck_tensor *images = a->rank >= 3 ? a : b, *labels = a->rank >= 3 ? b : a;
	char si[128], sl[128];
	ck_tensor_shape_str(images, si, sizeof si);
	ck_tensor_shape_str(labels, sl, sizeof sl);
	if (images->rank == 4)
		return ck_err_set(err, "images %s: (N, H, W, C) IDX images are not supported "
		                       "(their channel layout is not standard); expected (N, H, W) u8",
		                  si);
	if (images->rank != 3 || images->dtype != CK_DTYPE_U8)
		return ck_err_set(err, "not an images + labels pair: no (N, H, W) u8 images among %s %s "
		                       "and %s %s",
		                  si, ck_dtype_name(images->dtype), sl, ck_dtype_name(labels->dtype));
	if (labels->rank != 1)
		return ck_err_set(err, "not an images + labels pair: labels %s are not (N)", sl);
	if (labels->dims[0] != images->dims[0])
		return ck_err_set(err, "%lld images but %lld labels", (long long)images->dims[0],
		                  (long long)labels->dims[0]);
	int64_t n = images->dims[0];
	int64_t xdims[4] = {n, 1, images->dims[1], images->dims[2]};
	int32_t *yv = malloc(n > 0 ? (size_t)n * sizeof *yv : 1);
	if (!yv)
		return ck_err_set(err, "out of memory");
	if (labels_to_i32(labels, yv, err) < 0) {
		free(yv);
		return -1;
	}
	/* x is added zeroed (a lazy calloc), then given the images' block. */
	if (!ck_tnz_add(out, "x", CK_DTYPE_U8, 4, xdims, NULL, err)) {
		free(yv);
		return -1;
	}
	if (!ck_tnz_add(out, "y", CK_DTYPE_I32, 1, &n, yv, err)) {
		ck_tnz_remove(out, "x");
		free(yv);
		return -1;
	}
	free(yv);
	ck_tensor *x = ck_tnz_find(out, "x");
	free(x->data);
	x->data = images->data;
	images->data = NULL;
	free(labels->data);
	labels->data = NULL;
	return 0;
}
