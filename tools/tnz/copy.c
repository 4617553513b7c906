/* copy.c: tnz cat and tnz head, and the stream copier that tnz meta uses
 * too: tensors go from readers to one writer piece by piece, one chunk in
 * memory at a time. */
#include "tnz.h"

#include <stdlib.h>
#include <string.h>

/* Writes the reader's metadata that the output does not have yet. */
static int copy_meta(struct copier *c, const ck_meta *m, const char *path, ck_err *err)
{
	for (size_t i = 0; i < m->count; i++) {
		const ck_meta_entry *e = &m->items[i];
		if ((c->set && ck_meta_get(c->set, e->key, NULL)) ||
		    (c->del && ck_meta_get(c->del, e->key, NULL)))
			continue;
		size_t len;
		const char *old = ck_meta_get(&c->written, e->key, &len);
		if (old && len == e->len && memcmp(old, e->value, len) == 0)
			continue;
		if (old && strcmp(e->key, "classes") == 0 && !c->o->quiet)
			errmsg("%s: warning: \"classes\" differs from an earlier input; using this one",
			     in_name(path));
		if (ck_tnz_writer_meta(c->w, e->key, e->value, e->len, err) < 0 ||
		    ck_meta_set(&c->written, e->key, e->value, e->len, err) < 0)
			return -1;
	}
	return 0;
}

/* Copies the current tensor of r (header h): all of it, or what is left of
 * c->max_rows for its name. Errors about the output are prefixed with its
 * name; input errors come back unprefixed for the caller. */
static int copy_tensor(struct copier *c, ck_tnz_reader *r, const ck_tnz_header *h,
                       int *out_error, ck_err *err)
{
	size_t before = c->sums.n;
	struct tensor_sum *t = sums_piece(&c->sums, h, err);
	if (!t)
		return -1;
	int64_t row_bytes = header_row_bytes(h);
	if (row_bytes < 0)
		return ck_err_set(err, "tensor \"%s\": too large", h->name);

	/* Bytes to keep: everything, or the rows left of the budget. */
	ck_tnz_header oh = *h;
	int64_t keep = -1;
	if (c->max_rows >= 0 && h->rank >= 1) {
		int64_t left = c->max_rows - t->h.dims[0];
		if (h->dims[0] != CK_TNZ_ROWS_UNKNOWN && h->dims[0] < left)
			left = h->dims[0];
		if (left == 0 && c->sums.n == before)
			return 0; /* an appended piece after the budget: nothing to add */
		if (h->dims[0] != CK_TNZ_ROWS_UNKNOWN)
			oh.dims[0] = left;
		if (row_bytes == 0 || left <= INT64_MAX / row_bytes)
			keep = left * row_bytes;
	}
	if (oh.dims[0] == CK_TNZ_ROWS_UNKNOWN && row_bytes == 0) {
		/* Empty rows cannot be counted from bytes: learn the count first
		 * (there are no bytes to read, only the end of the tensor). */
		int64_t n;
		while ((n = ck_tnz_reader_read(r, c->buf, BUF_BYTES, err)) > 0)
			;
		if (n < 0)
			return -1;
		oh.dims[0] = ck_tnz_reader_rows(r);
		if (c->max_rows >= 0 && oh.dims[0] > c->max_rows - t->h.dims[0])
			oh.dims[0] = c->max_rows - t->h.dims[0];
	}
	int shuffle = c->o->shuffle == KEEP_FILTER ? h->filter : c->o->shuffle;
	*out_error = 1;
	if (ck_tnz_writer_begin(c->w, oh.name, oh.dtype, oh.rank, oh.dims, -1, shuffle, err) < 0)
		return -1;
	int64_t n, done = 0;
	*out_error = 0;
	while ((keep < 0 || done < keep) && (n = ck_tnz_reader_read(r, c->buf, BUF_BYTES, err))) {
		if (n < 0)
			return -1;
		if (keep >= 0 && n > keep - done)
			n = keep - done;
		*out_error = 1;
		if (ck_tnz_writer_data(c->w, c->buf, (size_t)n, err) < 0)
			return -1;
		*out_error = 0;
		done += n;
	}
	if (h->rank >= 1)
		t->h.dims[0] += row_bytes ? done / row_bytes : oh.dims[0];
	*out_error = 1;
	if (ck_tnz_writer_end(c->w, err) < 0)
		return -1;
	*out_error = 0;
	return 0;
}

/* Copies one input stream. Returns 0, or 1 after printing the error. */
static int copy_input(struct copier *c, const char *path)
{
	ck_err err = {{0}};
	int out_error = 0, rc;
	ck_tnz_reader *r = ck_tnz_reader_open(path, c->o->threads, &err);
	if (!r)
		return fail(in_name(path), &err);
	ck_tnz_header h;
	while ((rc = ck_tnz_reader_next(r, &h, &err)) == 1) {
		out_error = 1;
		if (copy_meta(c, ck_tnz_reader_meta(r), path, &err) < 0)
			break;
		out_error = 0;
		if (copy_tensor(c, r, &h, &out_error, &err) < 0) {
			rc = -1;
			break;
		}
	}
	if (rc == 0) {
		out_error = 1;
		if (copy_meta(c, ck_tnz_reader_meta(r), path, &err) < 0)
			rc = -1;
	}
	ck_tnz_reader_close(r);
	if (rc < 0)
		return fail(out_error ? out_name(c->out) : in_name(path), &err);
	return 0;
}

static void copier_free(struct copier *c)
{
	ck_meta_free(&c->written);
	free(c->sums.v);
	free(c->buf);
}

/* Copies the inputs (standard input when none) into c->out. */
int copy_all(struct copier *c, int argc, char **argv)
{
	static char *stdin_only[] = {"-"};
	if (argc == 0) {
		argc = 1;
		argv = stdin_only;
	}
	ck_err err = {{0}};
	c->buf = xmalloc(BUF_BYTES);
	c->w = open_writer(c->o, c->out, -1, &err);
	if (!c->w) {
		copier_free(c);
		return fail(out_name(c->out), &err);
	}
	int status = 0;
	if (c->set)
		for (size_t i = 0; i < c->set->count && !status; i++) {
			const ck_meta_entry *e = &c->set->items[i];
			if (ck_tnz_writer_meta(c->w, e->key, e->value, e->len, &err) < 0)
				status = fail(out_name(c->out), &err);
		}
	for (int i = 0; i < argc && !status; i++)
		status = copy_input(c, argv[i]);
	if (status)
		ck_tnz_writer_abort(c->w);
	else if (ck_tnz_writer_close(c->w, &err) < 0)
		status = fail(out_name(c->out), &err);
	copier_free(c);
	return status;
}

const char *one_output(const struct opts *o)
{
	if (o->nout > 1)
		usage_error("one -o only");
	return o->nout ? o->out[0] : "-";
}

int cmd_cat(const struct opts *o, int argc, char **argv)
{
	struct copier c = {.o = o, .out = one_output(o), .max_rows = -1};
	return copy_all(&c, argc, argv);
}

int cmd_head(const struct opts *o, int argc, char **argv)
{
	struct copier c = {.o = o, .out = one_output(o), .max_rows = o->rows < 0 ? 10 : o->rows};
	return copy_all(&c, argc, argv);
}
