/* tnz_load.c: a whole TNZ stream into memory, same-name tensors appended
 * along their first dimension (formats/tnz.md section 5). */
#include "cnnkit.h"
#include "tnz_internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

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

#define GROW_MIN ((size_t)1 << 20)    /* first allocation for a tensor */
#define ROOM_MIN ((size_t)1 << 16)    /* grow when less room is left */
#define HUGE_MIN ((size_t)1 << 22)    /* buffers worth transparent huge pages */
#define UNKNOWN UINT64_MAX            /* final size of rows streamed without a count */

/* Asks for transparent huge pages on the page-aligned interior of a buffer
 * that has its final size. Page faults on fresh memory are the largest cost
 * of a stored load (numpy's loads ask the same); a 2 MiB fault costs about
 * what a 4 KiB one does. Advice only: failure changes nothing. Never on a
 * buffer that may still grow: the advice splits its mapping, after which
 * realloc cannot move it with mremap and copies it. */
static void advise_huge(unsigned char *buf, size_t len)
{
#ifdef MADV_HUGEPAGE
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t lo = ((uintptr_t)buf + page - 1) & ~(page - 1);
	uintptr_t hi = ((uintptr_t)buf + len) & ~(page - 1);
	if (len >= HUGE_MIN && hi > lo)
		madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
#else
	(void)buf;
	(void)len;
#endif
}

/* The next capacity of a tensor buffer holding len bytes in cap, that will
 * hold final bytes (UNKNOWN for rows streamed without a count). Memory
 * follows the input, never the header's claim alone: twice what has
 * arrived, or (generous) the bytes the input file still holds, as stored
 * data cannot be more; both capped by the claim. The generous size lets a
 * stored tensor be read into one buffer allocated once. */
static size_t next_cap(size_t len, size_t cap, uint64_t final, uint64_t input_left,
                       int generous)
{
	size_t want = cap < GROW_MIN / 2 ? GROW_MIN : 2 * cap;
	if (want < len + GROW_MIN)
		want = len + GROW_MIN;
	if (generous && final != UNKNOWN && input_left > want - len)
		want = len + (size_t)input_left;
	return final != UNKNOWN && want > final ? (size_t)final : want;
}

/* Bytes the header of a tensor declares, or UNKNOWN (the reader has
 * checked that they do not overflow). */
static uint64_t declared_bytes(const ck_tnz_header *h)
{
	if (h->rank > 0 && h->dims[0] == CK_TNZ_ROWS_UNKNOWN)
		return UNKNOWN;
	uint64_t n = ck_dtype_size(h->dtype);
	for (int i = 0; i < h->rank; i++)
		n *= (uint64_t)h->dims[i];
	return n;
}

/* Reads the current tensor's bytes onto the end of *buf (len bytes used,
 * cap allocated), growing it as the bytes arrive (next_cap). */
static int read_rows(ck_tnz_reader *r, const ck_tnz_header *h, unsigned char **buf,
                     size_t *len, size_t *cap, ck_err *err)
{
	uint64_t declared = declared_bytes(h);
	uint64_t final = declared == UNKNOWN ? UNKNOWN : *len + declared;
	for (;;) {
		int full = *cap == final;
		if (*cap - *len < ROOM_MIN && !full) {
			size_t want = next_cap(*len, *cap, final, tnz_reader_input_left(r), 1);
			unsigned char *p = realloc(*buf, want);
			if (!p) { /* the input file may be sparse: be lean */
				want = next_cap(*len, *cap, final, 0, 0);
				p = realloc(*buf, want);
			}
			if (!p)
				return ck_err_set(err, "out of memory (%zu bytes)", want);
			*buf = p;
			*cap = want;
			if (want == final)
				advise_huge(p + *len, want - *len);
		}
		/* A full buffer still needs a call that meets TEND; the reader
		 * never hands out more than the header declared. */
		unsigned char probe[1];
		int64_t n = *cap > *len ? ck_tnz_reader_read(r, *buf + *len, *cap - *len, err)
		                        : ck_tnz_reader_read(r, probe, sizeof probe, err);
		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
		if (*cap == *len)
			return ck_err_set(err, "tensor \"%s\": more data than its header declares",
			                  h->name);
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
		int failed = read_rows(r, &h, &buf, &len, &cap, err);
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
		if (cap != len) {
			unsigned char *fit = realloc(buf, len ? len : 1);
			if (fit)
				buf = fit;
		}
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
