/* tnz_load.c: a whole TNZ stream into memory, same-name tensors appended
 * along their first dimension (formats/tnz.md section 5). */
#include "cnnkit.h"
#include "tnz_internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* Tensors of the same name join when dtype, rank and dims[1..] agree. */
static int check_append(const ck_tensor *x, const ck_tnz_header *h, ck_err *err)
{
	int same = x->dtype == h->dtype && x->rank == h->rank;
	for (int i = 1; same && i < x->rank; i++)
		same = x->dims[i] == h->dims[i];
	if (same && x->rank > 0)
		return 0;
	ck_tensor y = {.dtype = h->dtype, .rank = h->rank};
	memcpy(y.dims, h->dims, sizeof y.dims);
	char a[160], b[160];
	ck_tensor_shape_str(x, a, sizeof a);
	ck_tensor_shape_str(&y, b, sizeof b);
	if (x->rank == 0 || h->rank == 0)
		return ck_err_set(err, "tensor \"%s\": cannot append: a rank-0 tensor has no rows (%s %s, then %s %s)",
		                  h->name, ck_dtype_name(x->dtype), a, ck_dtype_name(h->dtype), b);
	return ck_err_set(err, "tensor \"%s\": cannot append %s %s to %s %s", h->name,
	                  ck_dtype_name(h->dtype), b, ck_dtype_name(x->dtype), a);
}

/* Reads the current tensor's bytes onto the end of *buf (len bytes used,
 * cap allocated), growing it as the bytes arrive: the header's dims are a
 * claim, the chunks are what justifies memory. */
static int read_rows(ck_tnz_reader *r, unsigned char **buf, size_t *len, size_t *cap,
                     ck_err *err)
{
	for (;;) {
		if (*cap - *len < ((size_t)1 << 16)) {
			size_t want = *cap < ((size_t)1 << 20) ? (size_t)1 << 20 : 2 * *cap;
			unsigned char *p = realloc(*buf, want);
			if (!p)
				return ck_err_set(err, "out of memory (%zu bytes)", want);
			*buf = p;
			*cap = want;
		}
		int64_t n = ck_tnz_reader_read(r, *buf + *len, *cap - *len, err);
		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
		*len += (size_t)n;
	}
}

/* Reads every tensor of r into z. */
static int load_all(ck_tnz *z, ck_tnz_reader *r, ck_err *err)
{
	ck_tnz_header h;
	int rc;
	while ((rc = ck_tnz_reader_next(r, &h, err)) == 1) {
		ck_tensor *x = ck_tnz_find(z, h.name);
		if (x && check_append(x, &h, err))
			return -1;
		unsigned char *buf = x ? x->data : NULL;
		size_t len = x ? x->nbytes : 0, cap = len;
		int failed = read_rows(r, &buf, &len, &cap, err);
		if (x) {
			x->data = buf; /* realloc'ed or not, it is x's */
			x->nbytes = len;
		}
		if (failed) {
			if (!x)
				free(buf);
			return -1;
		}
		/* Give back what the doubling overshot. */
		unsigned char *fit = realloc(buf, len ? len : 1);
		if (fit)
			buf = fit;
		int64_t rows = ck_tnz_reader_rows(r);
		if (x) {
			x->data = buf;
			int64_t sum;
			uint64_t total = (uint64_t)len;
			if (__builtin_add_overflow(x->dims[0], rows, &sum) || total > TNZ_SIZE_LIMIT)
				return ck_err_set(err, "tensor \"%s\": too large after appending", h.name);
			x->dims[0] = sum;
			continue;
		}
		ck_tensor t = {.dtype = h.dtype, .rank = h.rank, .data = buf, .nbytes = len};
		memcpy(t.name, h.name, sizeof t.name);
		memcpy(t.dims, h.dims, sizeof t.dims);
		if (t.rank > 0)
			t.dims[0] = rows;
		if (!tnz_push_tensor(z, &t, err)) {
			free(buf);
			return -1;
		}
	}
	if (rc < 0)
		return -1;
	return ck_meta_merge(&z->meta, ck_tnz_reader_meta(r), err);
}

int ck_tnz_load(ck_tnz *out, const char *path, int threads, ck_err *err)
{
	*out = (ck_tnz){0};
	ck_tnz_reader *r = ck_tnz_reader_open(path, threads, err);
	if (!r)
		return -1;
	ck_tnz z = {0};
	int rc = load_all(&z, r, err);
	ck_tnz_reader_close(r);
	if (rc) {
		ck_tnz_free(&z);
		return -1;
	}
	*out = z;
	return 0;
}
