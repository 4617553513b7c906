/* io.c: what the NumPy, IDX and CSV readers and writers share: byte order,
 * half floats, shapes, whole-file reads, atomic outputs, format detection. */
#include "io_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

void ck_io_byteswap(void *data, size_t n, size_t elsize)
{
	unsigned char *p = data;
	switch (elsize) {
	case 2:
		for (size_t i = 0; i < n; i++, p += 2) {
			uint16_t v;
			memcpy(&v, p, 2);
			v = __builtin_bswap16(v);
			memcpy(p, &v, 2);
		}
		break;
	case 4:
		for (size_t i = 0; i < n; i++, p += 4) {
			uint32_t v;
			memcpy(&v, p, 4);
			v = __builtin_bswap32(v);
			memcpy(p, &v, 4);
		}
		break;
	case 8:
		for (size_t i = 0; i < n; i++, p += 8) {
			uint64_t v;
			memcpy(&v, p, 8);
			v = __builtin_bswap64(v);
			memcpy(p, &v, 8);
		}
		break;
	default: /* one byte: nothing to swap */
		break;
	}
}

float ck_io_f16_to_f32(uint16_t h)
{
	uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
	uint32_t exp = (h >> 10) & 0x1fu, man = h & 0x3ffu, bits;
	if (exp == 0x1f) { /* inf, nan (payload kept) */
		bits = sign | 0x7f800000u | man << 13;
	} else if (exp == 0) { /* zero or subnormal: man * 2^-24, exact in f32 */
		float f = (float)man * 0x1p-24f;
		return sign ? -f : f;
	} else {
		bits = sign | (exp + 112) << 23 | man << 13;
	}
	float f;
	memcpy(&f, &bits, 4);
	return f;
}

float ck_io_bf16_to_f32(uint16_t h)
{
	uint32_t bits = (uint32_t)h << 16;
	float f;
	memcpy(&f, &bits, 4);
	return f;
}

int ck_io_shape_bytes(int rank, const int64_t *dims, size_t elsize, int64_t *numel,
                      size_t *nbytes, ck_err *err)
{
	int64_t n = 1;
	int zero = 0;
	for (int i = 0; i < rank; i++) {
		if (dims[i] < 0)
			return ck_err_set(err, "negative dimension %lld", (long long)dims[i]);
		zero |= dims[i] == 0;
	}
	/* With a zero dim the product is 0, however large the others. */
	for (int i = 0; i < rank && !zero; i++) {
		if (n > INT64_MAX / dims[i])
			return ck_err_set(err, "shape has more than 2^63 elements");
		n *= dims[i];
	}
	if (zero)
		n = 0;
	if ((uint64_t)n > (uint64_t)INT64_MAX / elsize || (uint64_t)n > SIZE_MAX / elsize)
		return ck_err_set(err, "shape of %lld elements of %zu bytes is too large",
		                  (long long)n, elsize);
	*numel = n;
	*nbytes = (size_t)n * elsize;
	return 0;
}

ck_tensor *ck_io_tnz_adopt(ck_tnz *out, const char *name, ck_tensor *t, ck_err *err)
{
	ck_tensor *d = ck_tnz_add(out, name, t->dtype, t->rank, t->dims, NULL, err);
	if (!d)
		return NULL;
	/* ck_tensor.data is malloc'ed and owned: hand ours over instead of
	 * copying it into the zeroed block ck_tnz_add made. */
	free(d->data);
	d->data = t->data;
	d->nbytes = t->nbytes;
	t->data = NULL;
	return d;
}

int ck_io_slurp(const char *path, unsigned char **buf, size_t *len, ck_err *err)
{
	int is_stdin = strcmp(path, "-") == 0;
	int fd = is_stdin ? 0 : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ck_err_set(err, "%s", strerror(errno));
	struct stat st;
	size_t cap = 1 << 16, n = 0;
	int regular = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
	if (regular) {
		if ((uint64_t)st.st_size >= SIZE_MAX)
			goto too_big;
		cap = (size_t)st.st_size + 1;
	}
	unsigned char *b = malloc(cap);
	if (!b)
		goto too_big;
	for (;;) {
		if (n + 1 == cap) {
			if (regular)
				break; /* read the size fstat gave */
			if (cap > SIZE_MAX / 2) {
				free(b);
				goto too_big;
			}
			unsigned char *nb = realloc(b, cap * 2);
			if (!nb) {
				free(b);
				goto too_big;
			}
			b = nb;
			cap *= 2;
		}
		ssize_t r = read(fd, b + n, cap - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			free(b);
			if (!is_stdin)
				close(fd);
			return ck_err_set(err, "read error: %s", strerror(e));
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (!is_stdin)
		close(fd);
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
too_big:
	if (!is_stdin)
		close(fd);
	return ck_err_set(err, "out of memory reading the file");
}

ck_outfile *ck_io_out_open(const char *path, int binary, ck_err *err)
{
	ck_outfile *o = ck_outfile_open(path, binary ? CK_OUTFILE_BINARY : 0, err);
	if (o && !ck_outfile_stream(o, err)) {
		ck_outfile_abort(o);
		return NULL;
	}
	return o;
}

/* IDX magic: 0 0 TYPE RANK with a type cnnkit reads and a rank it supports. */
static int looks_like_idx(const unsigned char *p)
{
	unsigned t = p[2];
	return p[0] == 0 && p[1] == 0 && (t == 0x08 || t == 0x09 || (t >= 0x0b && t <= 0x0e)) &&
	       p[3] <= CK_TNZ_MAX_RANK;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

ck_io_format ck_io_detect_mem(const void *buf, size_t len, const char *name)
{
	const unsigned char *p = buf;
	if (len >= 6 && memcmp(p, "\x93NUMPY", 6) == 0)
		return CK_IO_NPY;
	if (len >= 4 && (memcmp(p, "PK\3\4", 4) == 0 || memcmp(p, "PK\5\6", 4) == 0))
		return CK_IO_NPZ;
	if (len >= 4 && looks_like_idx(p))
		return CK_IO_IDX;
	if (len >= 3 && p[0] == 0x1f && p[1] == 0x8b && p[2] == 8) {
		/* gzip: look at the first 4 bytes it inflates to. */
		unsigned char head[4];
		z_stream z;
		memset(&z, 0, sizeof z);
		if (inflateInit2(&z, 16 + MAX_WBITS) == Z_OK) {
			z.next_in = (unsigned char *)(uintptr_t)p;
			z.avail_in = len > (1u << 30) ? (1u << 30) : (uInt)len;
			z.next_out = head;
			z.avail_out = sizeof head;
			while (z.avail_out > 0 && inflate(&z, Z_NO_FLUSH) == Z_OK)
				;
			int got = z.avail_out == 0;
			inflateEnd(&z);
			if (got && looks_like_idx(head))
				return CK_IO_IDX;
		}
	}
	if (name && (ends_with(name, ".csv") || ends_with(name, ".txt")))
		return CK_IO_CSV;
	if (name && (ends_with(name, ".tsv") || ends_with(name, ".tab")))
		return CK_IO_TSV;
	return CK_IO_UNKNOWN;
}

int ck_io_detect(const char *path, ck_io_format *format, ck_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ck_err_set(err, "%s: %s", path, strerror(errno));
	unsigned char head[4096];
	size_t n = 0;
	while (n < sizeof head) {
		ssize_t r = read(fd, head + n, sizeof head - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			close(fd);
			return ck_err_set(err, "%s: %s", path, strerror(e));
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	*format = ck_io_detect_mem(head, n, path);
	return 0;
}
