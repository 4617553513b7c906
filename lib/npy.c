/* npy.c: the NumPy .npy format.
 *
 * A .npy file (numpy/lib/format.py) is:
 *   "\x93NUMPY" major minor        6 + 2 bytes; versions 1.0, 2.0, 3.0
 *   HEADER_LEN                     u16 LE (1.0) or u32 LE (2.0, 3.0)
 *   header                         a Python dict literal, latin-1 (3.0: UTF-8),
 *                                  padded with spaces and a '\n' so that the
 *                                  data starts at a multiple of 64 (16 once)
 *   data                           numel * itemsize bytes, C or Fortran order
 * The dict has exactly the keys 'descr' (a dtype string such as '<f4'),
 * 'fortran_order' (True/False) and 'shape' (a tuple of ints). */
#include "io_internal.h"

#include <stdlib.h>
#include <string.h>

#define NPY_MAX_HEADER (1u << 20) /* numpy itself refuses more than 10000 */

typedef struct npy_info {
	ck_dtype dtype;
	int rank;
	int64_t dims[CK_TNZ_MAX_RANK];
	int fortran; /* data in column-major order */
	int swap;    /* data big-endian */
	size_t data_off, nbytes;
	int64_t numel;
} npy_info;

/* A cursor over the header text. */
typedef struct hdr_cursor {
	const char *p, *end, *start;
	ck_err *err;
} hdr_cursor;

static void hdr_space(hdr_cursor *h)
{
	while (h->p < h->end && (*h->p == ' ' || *h->p == '\t' || *h->p == '\n' || *h->p == '\r'))
		h->p++;
}

static int hdr_peek(hdr_cursor *h)
{
	hdr_space(h);
	return h->p < h->end ? (unsigned char)*h->p : -1;
}

static int hdr_expect(hdr_cursor *h, char c)
{
	if (hdr_peek(h) != c)
		return ck_err_set(h->err, "bad .npy header: expected '%c' at offset %td", c,
		                  h->p - h->start);
	h->p++;
	return 0;
}

/* A quoted Python string without escapes into out[cap]. */
static int hdr_string(hdr_cursor *h, char *out, size_t cap)
{
	int q = hdr_peek(h);
	if (q != '\'' && q != '"')
		return ck_err_set(h->err, "bad .npy header: expected a string");
	h->p++;
	size_t n = 0;
	while (h->p < h->end && *h->p != q) {
		unsigned char c = (unsigned char)*h->p++;
		if (c == '\\' || c < 0x20 || c >= 0x7f)
			return ck_err_set(h->err, "bad .npy header: unexpected character 0x%02x in a string",
			                  c);
		if (n + 1 >= cap)
			return ck_err_set(h->err, "bad .npy header: string too long");
		out[n++] = (char)c;
	}
	if (h->p >= h->end)
		return ck_err_set(h->err, "bad .npy header: unterminated string");
	h->p++;
	out[n] = '\0';
	return 0;
}

static int hdr_word(hdr_cursor *h, const char *w)
{
	size_t n = strlen(w);
	if (hdr_peek(h) < 0 || (size_t)(h->end - h->p) < n || memcmp(h->p, w, n) != 0)
		return 0;
	const char *after = h->p + n;
	if (after < h->end && ((*after >= 'a' && *after <= 'z') || (*after >= 'A' && *after <= 'Z') ||
	                       (*after >= '0' && *after <= '9') || *after == '_'))
		return 0;
	h->p = after;
	return 1;
}

/* A shape tuple: "()", "(3,)", "(2, 3)", "(2, 3,)"; Python 2 wrote "3L". */
static int hdr_shape(hdr_cursor *h, npy_info *in)
{
	if (hdr_expect(h, '(') < 0)
		return -1;
	in->rank = 0;
	if (hdr_peek(h) == ')') {
		h->p++;
		return 0;
	}
	for (;;) {
		int c = hdr_peek(h);
		if (c == '-')
			return ck_err_set(h->err, "negative dimension in the shape");
		if (c < '0' || c > '9')
			return ck_err_set(h->err, "bad .npy header: expected a dimension in the shape");
		int64_t v = 0;
		while (h->p < h->end && *h->p >= '0' && *h->p <= '9') {
			int d = *h->p++ - '0';
			if (v > (INT64_MAX - d) / 10)
				return ck_err_set(h->err, "dimension too large in the shape");
			v = v * 10 + d;
		}
		if (h->p < h->end && (*h->p == 'L' || *h->p == 'l'))
			h->p++;
		if (in->rank == CK_TNZ_MAX_RANK)
			return ck_err_set(h->err, "more than %d dimensions are not supported",
			                  CK_TNZ_MAX_RANK);
		in->dims[in->rank++] = v;
		c = hdr_peek(h);
		if (c == ',') {
			h->p++;
			if (hdr_peek(h) == ')') {
				h->p++;
				return 0;
			}
		} else if (c == ')') {
			if (in->rank == 1) /* "(3)" is an int in Python, not a tuple */
				return ck_err_set(h->err, "bad .npy header: shape is not a tuple");
			h->p++;
			return 0;
		} else {
			return ck_err_set(h->err, "bad .npy header: expected ',' or ')' in the shape");
		}
	}
}

/* '<f4' and friends. '|' and '=' are native order (little-endian here). */
static int parse_descr(const char *s, npy_info *in, ck_err *err)
{
	static const struct {
		char kind;
		int size;
		ck_dtype dtype;
	} table[] = {
		{'u', 1, CK_DTYPE_U8},  {'i', 1, CK_DTYPE_I8},   {'b', 1, CK_DTYPE_BOOL},
		{'u', 2, CK_DTYPE_U16}, {'i', 2, CK_DTYPE_I16},  {'f', 2, CK_DTYPE_F16},
		{'u', 4, CK_DTYPE_U32}, {'i', 4, CK_DTYPE_I32},  {'f', 4, CK_DTYPE_F32},
		{'u', 8, CK_DTYPE_U64}, {'i', 8, CK_DTYPE_I64},  {'f', 8, CK_DTYPE_F64},
	};
	const char *q = s;
	char order = '=';
	if (*q == '<' || *q == '>' || *q == '=' || *q == '|')
		order = *q++;
	char kind = *q ? *q++ : '\0';
	int size = 0, digits = 0;
	while (*q >= '0' && *q <= '9' && digits < 4) {
		size = size * 10 + (*q++ - '0');
		digits++;
	}
	if (*q == '\0' && digits > 0)
		for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
			if (table[i].kind == kind && table[i].size == size) {
				in->dtype = table[i].dtype;
				in->swap = order == '>' && size > 1;
				return 0;
			}
	const char *why = "";
	switch (kind) {
	case 'U': case 'S': case 'a': why = " (strings)"; break;
	case 'O': why = " (Python objects)"; break;
	case 'c': why = " (complex)"; break;
	case 'M': case 'm': why = " (dates and times)"; break;
	case 'V': why = " (raw or structured records)"; break;
	default: break;
	}
	return ck_err_set(err, "unsupported dtype '%s'%s", s, why);
}

static int parse_header_dict(const char *text, size_t n, npy_info *in, ck_err *err)
{
	hdr_cursor h = {text, text + n, text, err};
	int have_descr = 0, have_order = 0, have_shape = 0;
	if (hdr_expect(&h, '{') < 0)
		return -1;
	for (;;) {
		if (hdr_peek(&h) == '}') {
			h.p++;
			break;
		}
		char key[32], descr[64];
		if (hdr_string(&h, key, sizeof key) < 0 || hdr_expect(&h, ':') < 0)
			return -1;
		if (strcmp(key, "descr") == 0 && !have_descr) {
			int c = hdr_peek(&h);
			if (c == '[' || c == '(' || c == '{')
				return ck_err_set(err, "unsupported dtype: structured or sub-array dtypes");
			if (hdr_string(&h, descr, sizeof descr) < 0 || parse_descr(descr, in, err) < 0)
				return -1;
			have_descr = 1;
		} else if (strcmp(key, "fortran_order") == 0 && !have_order) {
			if (hdr_word(&h, "True"))
				in->fortran = 1;
			else if (hdr_word(&h, "False"))
				in->fortran = 0;
			else
				return ck_err_set(err, "bad .npy header: fortran_order is not True or False");
			have_order = 1;
		} else if (strcmp(key, "shape") == 0 && !have_shape) {
			if (hdr_shape(&h, in) < 0)
				return -1;
			have_shape = 1;
		} else {
			return ck_err_set(err, "bad .npy header: unexpected or repeated key '%s'", key);
		}
		int c = hdr_peek(&h);
		if (c == ',') {
			h.p++;
		} else if (c == '}') {
			h.p++;
			break;
		} else {
			return ck_err_set(err, "bad .npy header: expected ',' or '}'");
		}
	}
	hdr_space(&h);
	if (h.p != h.end)
		return ck_err_set(err, "bad .npy header: text after the dictionary");
	if (!have_descr || !have_order || !have_shape)
		return ck_err_set(err, "bad .npy header: missing key '%s'",
		                  !have_descr ? "descr" : !have_order ? "fortran_order" : "shape");
	return 0;
}

/* Parses the preamble and header of buf and checks that the data that
 * follows is exactly as long as the shape says. */
static int npy_parse(const unsigned char *buf, size_t len, npy_info *in, ck_err *err)
{
	static const unsigned char magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
	memset(in, 0, sizeof *in);
	if (len < 6 || memcmp(buf, magic, 6) != 0) {
		if (len < 6 && memcmp(buf, magic, len) == 0)
			return ck_err_set(err, "truncated .npy file (%zu bytes)", len);
		return ck_err_set(err, "not a .npy file (bad magic)");
	}
	if (len < 8)
		return ck_err_set(err, "truncated .npy file (%zu bytes)", len);
	int major = buf[6], minor = buf[7];
	size_t hlen, off;
	if (minor != 0 || major < 1 || major > 3)
		return ck_err_set(err, "unsupported .npy version %d.%d", major, minor);
	if (major == 1) {
		if (len < 10)
			return ck_err_set(err, "truncated .npy file (%zu bytes)", len);
		hlen = ck_io_le16(buf + 8);
		off = 10;
	} else {
		if (len < 12)
			return ck_err_set(err, "truncated .npy file (%zu bytes)", len);
		hlen = ck_io_le32(buf + 8);
		off = 12;
	}
	if (hlen > NPY_MAX_HEADER)
		return ck_err_set(err, "bad .npy header: %zu bytes is too long", hlen);
	if (hlen > len - off)
		return ck_err_set(err, "truncated .npy header (%zu of %zu bytes)", len - off, hlen);
	if (parse_header_dict((const char *)buf + off, hlen, in, err) < 0)
		return -1;
	if (ck_io_shape_bytes(in->rank, in->dims, ck_dtype_size(in->dtype), &in->numel,
	                      &in->nbytes, err) < 0)
		return -1;
	in->data_off = off + hlen;
	size_t have = len - in->data_off;
	if (have < in->nbytes)
		return ck_err_set(err, "truncated .npy data (%zu of %zu bytes)", have, in->nbytes);
	if (have > in->nbytes)
		return ck_err_set(err, "%zu bytes after the array data (one array per .npy file)",
		                  have - in->nbytes);
	return 0;
}

/* Fortran (column-major) to C (row-major) order. */
static void fortran_to_c(unsigned char *dst, const unsigned char *src, const npy_info *in)
{
	size_t es = ck_dtype_size(in->dtype);
	int rank = in->rank;
	int64_t idx[CK_TNZ_MAX_RANK] = {0};
	size_t fstride[CK_TNZ_MAX_RANK]; /* element stride of each axis in src */
	size_t s = 1;
	for (int k = 0; k < rank; k++) {
		fstride[k] = s;
		s *= (size_t)in->dims[k];
	}
	size_t off = 0; /* element offset in src of the dst element idx */
	for (int64_t i = 0; i < in->numel; i++) {
		memcpy(dst + (size_t)i * es, src + off * es, es);
		for (int k = rank - 1; k >= 0; k--) {
			off += fstride[k];
			if (++idx[k] < in->dims[k])
				break;
			off -= fstride[k] * (size_t)in->dims[k];
			idx[k] = 0;
		}
	}
}

/* Turns the raw data (*data, in->nbytes bytes) into row-major little-endian
 * cnnkit data, in place when possible; *data may be replaced. */
static int npy_fix(const npy_info *in, unsigned char **data, ck_err *err)
{
	unsigned char *d = *data;
	if (in->swap)
		ck_io_byteswap(d, (size_t)in->numel, ck_dtype_size(in->dtype));
	if (in->dtype == CK_DTYPE_BOOL)
		for (size_t i = 0; i < in->nbytes; i++)
			d[i] = d[i] != 0;
	int64_t nontrivial = 0; /* axes longer than 1: with fewer than 2, F == C */
	for (int k = 0; k < in->rank; k++)
		nontrivial += in->dims[k] > 1;
	if (in->fortran && nontrivial >= 2) {
		unsigned char *c = malloc(in->nbytes);
		if (!c)
			return ck_err_set(err, "out of memory (%zu bytes)", in->nbytes);
		fortran_to_c(c, d, in);
		free(d);
		*data = c;
	}
	return 0;
}

static void npy_fill(const npy_info *in, unsigned char *data, ck_tensor *out)
{
	memset(out, 0, sizeof *out);
	out->dtype = in->dtype;
	out->rank = in->rank;
	memcpy(out->dims, in->dims, sizeof in->dims);
	out->data = data;
	out->nbytes = in->nbytes;
}

int ck_io_npy_take(unsigned char *buf, size_t len, ck_tensor *out, ck_err *err)
{
	npy_info in;
	if (npy_parse(buf, len, &in, err) < 0) {
		free(buf);
		return -1;
	}
	memmove(buf, buf + in.data_off, in.nbytes);
	unsigned char *shrunk = realloc(buf, in.nbytes ? in.nbytes : 1);
	if (shrunk)
		buf = shrunk;
	if (npy_fix(&in, &buf, err) < 0) {
		free(buf);
		return -1;
	}
	npy_fill(&in, buf, out);
	return 0;
}

int ck_npy_read_mem(const void *buf, size_t len, ck_tensor *out, ck_err *err)
{
	npy_info in;
	if (npy_parse(buf, len, &in, err) < 0)
		return -1;
	unsigned char *data = malloc(in.nbytes ? in.nbytes : 1);
	if (!data)
		return ck_err_set(err, "out of memory (%zu bytes)", in.nbytes);
	memcpy(data, (const unsigned char *)buf + in.data_off, in.nbytes);
	if (npy_fix(&in, &data, err) < 0) {
		free(data);
		return -1;
	}
	npy_fill(&in, data, out);
	return 0;
}

int ck_npy_read(const char *path, ck_tensor *out, ck_err *err)
{
	unsigned char *buf;
	size_t len;
	if (ck_io_slurp(path, &buf, &len, err) < 0 || ck_io_npy_take(buf, len, out, err) < 0)
		return ck_err_prefix(err, "%s", path);
	return 0;
}

/* ======================================================================== */
/* .npy writing                                                             */
/* ======================================================================== */

static const char *npy_descr(ck_dtype d)
{
	switch (d) {
	case CK_DTYPE_U8: return "|u1";
	case CK_DTYPE_I8: return "|i1";
	case CK_DTYPE_U16: return "<u2";
	case CK_DTYPE_I16: return "<i2";
	case CK_DTYPE_U32: return "<u4";
	case CK_DTYPE_I32: return "<i4";
	case CK_DTYPE_U64: return "<u8";
	case CK_DTYPE_I64: return "<i8";
	case CK_DTYPE_F16: return "<f2";
	case CK_DTYPE_BF16: return "<f4"; /* widened: NumPy has no bfloat16 */
	case CK_DTYPE_F32: return "<f4";
	case CK_DTYPE_F64: return "<f8";
	case CK_DTYPE_BOOL: return "|b1";
	}
	return NULL;
}

/* Checks that t is a tensor this module can write; gives its data size as
 * written (bf16 doubles). */
static int npy_check(const ck_tensor *t, size_t *out_bytes, ck_err *err)
{
	int64_t numel;
	size_t nbytes;
	if (!npy_descr(t->dtype))
		return ck_err_set(err, "tensor '%s': unknown dtype %d", t->name, (int)t->dtype);
	if (t->rank < 0 || t->rank > CK_TNZ_MAX_RANK)
		return ck_err_set(err, "tensor '%s': bad rank %d", t->name, t->rank);
	if (ck_io_shape_bytes(t->rank, t->dims, ck_dtype_size(t->dtype), &numel, &nbytes, err) < 0)
		return ck_err_prefix(err, "tensor '%s'", t->name);
	if (nbytes != t->nbytes || (nbytes > 0 && !t->data))
		return ck_err_set(err, "tensor '%s': %zu bytes of data for a shape that needs %zu",
		                  t->name, t->nbytes, nbytes);
	*out_bytes = t->dtype == CK_DTYPE_BF16 ? nbytes * 2 : nbytes;
	return 0;
}

/* The preamble and header, as numpy.save writes them for format 1.0:
 * "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }" padded with
 * spaces and ended by '\n' so that the data starts at a multiple of 64. */
static size_t npy_header(const ck_tensor *t, char buf[static 512])
{
	int n = snprintf(buf + 10, 400, "{'descr': '%s', 'fortran_order': False, 'shape': (",
	                 npy_descr(t->dtype));
	for (int k = 0; k < t->rank; k++)
		n += snprintf(buf + 10 + n, 400 - (size_t)n, k ? ", %lld" : "%lld",
		              (long long)t->dims[k]);
	n += snprintf(buf + 10 + n, 400 - (size_t)n, t->rank == 1 ? ",), }" : "), }");
	size_t total = 10 + (size_t)n + 1;
	size_t padded = (total + 63) / 64 * 64;
	memset(buf + 10 + n, ' ', padded - total);
	buf[padded - 1] = '\n';
	memcpy(buf, "\x93NUMPY\x01\x00", 8);
	ck_io_put16((unsigned char *)buf + 8, (uint16_t)(padded - 10));
	return padded;
}

uint64_t ck_io_npy_size(const ck_tensor *t)
{
	char h[512];
	size_t nbytes = t->dtype == CK_DTYPE_BF16 ? t->nbytes * 2 : t->nbytes;
	return npy_header(t, h) + (uint64_t)nbytes;
}

int ck_io_npy_emit(const ck_tensor *t, ck_io_sink sink, void *ctx, ck_err *err)
{
	char h[512];
	size_t bytes;
	if (npy_check(t, &bytes, err) < 0)
		return -1;
	if (sink(ctx, h, npy_header(t, h), err) < 0)
		return -1;
	if (t->dtype != CK_DTYPE_BF16)
		return sink(ctx, t->data, t->nbytes, err);
	const uint16_t *src = t->data;
	size_t n = t->nbytes / 2;
	float chunk[4096];
	for (size_t i = 0; i < n;) {
		size_t m = n - i < 4096 ? n - i : 4096;
		for (size_t j = 0; j < m; j++) {
			uint16_t v;
			memcpy(&v, src + i + j, 2);
			chunk[j] = ck_io_bf16_to_f32(v);
		}
		if (sink(ctx, chunk, m * 4, err) < 0)
			return -1;
		i += m;
	}
	return 0;
}

static int file_sink(void *ctx, const void *p, size_t n, ck_err *err)
{
	return ck_outfile_write(ctx, p, n, err);
}

int ck_npy_write(const char *path, const ck_tensor *t, ck_err *err)
{
	ck_outfile *o;
	size_t bytes;
	if (npy_check(t, &bytes, err) < 0 || !(o = ck_io_out_open(path, 1, err)))
		return ck_err_prefix(err, "%s", path);
	if (ck_io_npy_emit(t, file_sink, o, err) < 0) {
		ck_outfile_abort(o);
		return ck_err_prefix(err, "%s", path);
	}
	if (ck_outfile_commit(o, err) < 0)
		return ck_err_prefix(err, "%s", path);
	return 0;
}

typedef struct mem_sink {
	unsigned char *buf;
	size_t len, cap;
} mem_sink;

static int mem_sink_put(void *ctx, const void *p, size_t n, ck_err *err)
{
	mem_sink *m = ctx;
	if (n > m->cap - m->len)
		return ck_err_set(err, "internal error: .npy size mismatch");
	memcpy(m->buf + m->len, p, n);
	m->len += n;
	return 0;
}

int ck_npy_write_mem(const ck_tensor *t, void **buf, size_t *len, ck_err *err)
{
	size_t bytes;
	if (npy_check(t, &bytes, err) < 0)
		return -1;
	uint64_t size = ck_io_npy_size(t);
	if (size > SIZE_MAX)
		return ck_err_set(err, "tensor too large");
	mem_sink m = {malloc((size_t)size), 0, (size_t)size};
	if (!m.buf)
		return ck_err_set(err, "out of memory (%llu bytes)", (unsigned long long)size);
	if (ck_io_npy_emit(t, mem_sink_put, &m, err) < 0) {
		free(m.buf);
		return -1;
	}
	*buf = m.buf;
	*len = m.len;
	return 0;
}
