/* common.c: what several tnz commands use: messages about paths, checked
 * allocation, the output writer, tensor pieces that append. */
#include "tnz.h"

#include <stdlib.h>
#include <string.h>

/* Reports a library error about what (a path) and returns exit status 1. */
int fail(const char *what, const ck_err *err)
{
	errmsg("%s: %s", what, err->msg);
	return 1;
}

/* Names a path in messages. */
const char *in_name(const char *path)
{
	return strcmp(path, "-") == 0 ? "standard input" : path;
}

const char *out_name(const char *path)
{
	return strcmp(path, "-") == 0 ? "standard output" : path;
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		die("out of memory (%zu bytes)", n);
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		die("out of memory (%zu bytes)", n);
	return p;
}

ck_tnz_writer *open_writer(const struct opts *o, const char *path, int shuffle_default,
                           ck_err *err)
{
	ck_tnz_opts wo = CK_TNZ_OPTS_DEFAULT;
	if (o->level >= 0)
		wo.level = o->level;
	wo.shuffle = o->shuffle == KEEP_FILTER ? shuffle_default : o->shuffle;
	wo.threads = o->threads;
	return ck_tnz_writer_open(path, &wo, err);
}

/* Bytes of one row of a header's tensor (of the element for rank 0), or -1
 * when it does not fit in 63 bits (the reader rejects such files anyway). */
int64_t header_row_bytes(const ck_tnz_header *h)
{
	int64_t r = (int64_t)ck_dtype_size(h->dtype);
	for (int i = 1; i < h->rank; i++) {
		if (h->dims[i] < 0 || (h->dims[i] && r > INT64_MAX / h->dims[i]))
			return -1;
		r *= h->dims[i];
	}
	return r;
}

/* Tensor names and keys come from files: keep control bytes off the terminal. */
void put_text(FILE *f, const char *s, size_t len, int width)
{
	for (size_t i = 0; i < len; i++)
		fputc((unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i], f);
	for (int i = (int)len; i < width; i++)
		fputc(' ', f);
}

/* Whether a tensor (dtype, rank, dims) can append to an earlier one of the
 * same name (formats/tnz.md section 5); fills err if not. */
int can_append(const char *name, int dtype0, int rank0, const int64_t *dims0, int dtype,
               int rank, const int64_t *dims, ck_err *err)
{
	int same = dtype0 == dtype && rank0 == rank && rank > 0;
	for (int d = 1; same && d < rank; d++)
		same = dims0[d] == dims[d];
	if (!same)
		ck_err_set(err, "tensor \"%s\": cannot append: %s", name,
		           rank == 0 ? "it has rank 0" : "dtype or shape differs from the earlier one");
	return same;
}

/* The entry for h's name, added if new; NULL if h cannot append to it. */
struct tensor_sum *sums_piece(struct sums *s, const ck_tnz_header *h, ck_err *err)
{
	for (size_t i = 0; i < s->n; i++) {
		struct tensor_sum *t = &s->v[i];
		if (strcmp(t->h.name, h->name) != 0)
			continue;
		if (!can_append(h->name, t->h.dtype, t->h.rank, t->h.dims, h->dtype, h->rank, h->dims,
		                err))
			return NULL;
		t->pieces++;
		t->filters |= 1 << (h->filter & 7);
		return t;
	}
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 16;
		s->v = xrealloc(s->v, s->cap * sizeof *s->v);
	}
	struct tensor_sum *t = &s->v[s->n++];
	memset(t, 0, sizeof *t);
	t->h = *h;
	t->h.dims[0] = 0;
	t->pieces = 1;
	t->filters = 1 << (h->filter & 7);
	return t;
}
