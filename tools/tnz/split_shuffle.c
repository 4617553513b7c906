/* split_shuffle.c: tnz split and tnz shuffle, on whole files in memory. */
#include "tnz.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Loads path and finds its rows: every tensor of rank >= 1 is a row tensor
 * and they must all have the same dims[0]; rank-0 tensors are copied whole. */
static int load_rows(const struct opts *o, const char *path, ck_tnz *t, int64_t *rows)
{
	ck_err err = {{0}};
	if (ck_tnz_load(t, path, o->threads, &err) < 0)
		return fail(in_name(path), &err);
	const ck_tensor *first = NULL;
	for (size_t i = 0; i < t->count; i++) {
		const ck_tensor *x = &t->tensors[i];
		if (x->rank == 0)
			continue;
		if (!first) {
			first = x;
		} else if (x->dims[0] != first->dims[0]) {
			errmsg("%s: tensor \"%s\" has %" PRId64 " rows and \"%s\" %" PRId64
			     ": rows must go together",
			     in_name(path), first->name, first->dims[0], x->name, x->dims[0]);
			return 1;
		}
	}
	*rows = first ? first->dims[0] : 0;
	return 0;
}

/* Writes t to path keeping the rows idx[0..n) of every row tensor, in that
 * order. Returns 0 or 1 after printing the error. */
static int write_rows(const struct opts *o, const char *path, const ck_tnz *t,
                      const int64_t *idx, int64_t n)
{
	ck_err err = {{0}};
	ck_tnz_writer *w = open_writer(o, path, -1, &err);
	if (!w)
		return fail(out_name(path), &err);
	for (size_t i = 0; i < t->meta.count; i++) {
		const ck_meta_entry *e = &t->meta.items[i];
		if (ck_tnz_writer_meta(w, e->key, e->value, e->len, &err) < 0)
			goto fail;
	}
	for (size_t i = 0; i < t->count; i++) {
		const ck_tensor *x = &t->tensors[i];
		if (x->rank == 0) {
			if (ck_tnz_writer_tensor(w, x, &err) < 0)
				goto fail;
			continue;
		}
		int64_t dims[CK_TNZ_MAX_RANK];
		memcpy(dims, x->dims, sizeof dims);
		dims[0] = n;
		size_t rb = ck_tensor_row_bytes(x);
		if (ck_tnz_writer_begin(w, x->name, x->dtype, x->rank, dims, -1, -1, &err) < 0)
			goto fail;
		for (int64_t k = 0; k < n; k++)
			if (ck_tnz_writer_data(w, (const char *)x->data + (size_t)idx[k] * rb, rb,
			                       &err) < 0)
				goto fail;
		if (ck_tnz_writer_end(w, &err) < 0)
			goto fail;
	}
	if (ck_tnz_writer_close(w, &err) < 0)
		return fail(out_name(path), &err);
	return 0;
fail:
	ck_tnz_writer_abort(w);
	return fail(out_name(path), &err);
}

int cmd_shuffle(const struct opts *o, int argc, char **argv)
{
	if (argc > 1)
		usage_error("one FILE only");
	const char *in = argc ? argv[0] : "-", *out = one_output(o);
	ck_tnz t = {0};
	int64_t n;
	int status = load_rows(o, in, &t, &n);
	if (!status) {
		int64_t *idx = xmalloc((size_t)n * sizeof *idx);
		for (int64_t i = 0; i < n; i++)
			idx[i] = i;
		ck_rng rng;
		ck_rng_seed(&rng, o->seed);
		ck_rng_shuffle(&rng, idx, n);
		status = write_rows(o, out, &t, idx, n);
		free(idx);
	}
	ck_tnz_free(&t);
	return status;
}

/* Class ids of a stratify tensor: rank 1, an integer or bool dtype. */
static int read_labels(const ck_tensor *y, int64_t *lab, ck_err *err)
{
	if (y->rank != 1)
		return ck_err_set(err, "tensor \"%s\": --stratify needs rank 1, not %d", y->name,
		                  y->rank);
	for (int64_t i = 0; i < y->dims[0]; i++) {
		const void *p = (const char *)y->data + (size_t)i * ck_dtype_size(y->dtype);
		switch (y->dtype) {
		case CK_DTYPE_U8:
		case CK_DTYPE_BOOL: lab[i] = *(const uint8_t *)p; break;
		case CK_DTYPE_I8: lab[i] = *(const int8_t *)p; break;
		case CK_DTYPE_U16: lab[i] = *(const uint16_t *)p; break;
		case CK_DTYPE_I16: lab[i] = *(const int16_t *)p; break;
		case CK_DTYPE_U32: lab[i] = *(const uint32_t *)p; break;
		case CK_DTYPE_I32: lab[i] = *(const int32_t *)p; break;
		case CK_DTYPE_U64: lab[i] = (int64_t) * (const uint64_t *)p; break;
		case CK_DTYPE_I64: lab[i] = *(const int64_t *)p; break;
		default:
			return ck_err_set(err, "tensor \"%s\": --stratify needs integer classes, not %s",
			                  y->name, ck_dtype_name(y->dtype));
		}
	}
	return 0;
}

/* Sorting rows by (class, row) makes each class a run in row order. */
struct labeled {
	int64_t label, row;
};

static int by_label(const void *a, const void *b)
{
	const struct labeled *x = a, *y = b;
	if (x->label != y->label)
		return x->label < y->label ? -1 : 1;
	return (x->row > y->row) - (x->row < y->row);
}

/* Marks in_first[i] for the rows that go to the first output: `take` of the
 * n rows, chosen at random within each group (a class, or all rows). Each
 * group of size g gets floor(g*take/n) rows, and the rows left over go one
 * each to the groups with the largest remainders (Hamilton's method), so
 * the total is exactly `take` and every class is split in proportion. */
static void choose_first(struct labeled *rows, int64_t n, int64_t take, ck_rng *rng,
                         unsigned char *in_first)
{
	size_t ngroups = 0;
	for (int64_t i = 0; i < n; i++)
		ngroups += i == 0 || rows[i].label != rows[i - 1].label;
	struct group {
		int64_t start, size, quota;
		uint64_t rem;
	} *g = xmalloc(ngroups * sizeof *g);
	size_t k = 0;
	int64_t given = 0;
	for (int64_t i = 0; i < n; i++) {
		if (i == 0 || rows[i].label != rows[i - 1].label)
			g[k++] = (struct group){i, 0, 0, 0};
		g[k - 1].size++;
	}
	for (k = 0; k < ngroups; k++) {
		uint64_t p = (uint64_t)g[k].size * (uint64_t)take; /* n < 2^32: no overflow */
		g[k].quota = (int64_t)(p / (uint64_t)n);
		g[k].rem = p % (uint64_t)n;
		given += g[k].quota;
	}
	while (given < take) {
		size_t best = 0;
		for (k = 1; k < ngroups; k++)
			if (g[k].rem > g[best].rem)
				best = k;
		g[best].quota++;
		g[best].rem = 0;
		given++;
	}
	int64_t *idx = xmalloc((size_t)n * sizeof *idx);
	for (k = 0; k < ngroups; k++) {
		for (int64_t i = 0; i < g[k].size; i++)
			idx[i] = rows[g[k].start + i].row;
		ck_rng_shuffle(rng, idx, g[k].size);
		for (int64_t i = 0; i < g[k].quota; i++)
			in_first[idx[i]] = 1;
	}
	free(idx);
	free(g);
}

int cmd_split(const struct opts *o, int argc, char **argv)
{
	if (argc > 1)
		usage_error("one FILE only");
	if (o->nout != 2)
		usage_error("split needs two outputs: -o FIRST -o SECOND");
	if ((o->ratio >= 0) == (o->count >= 0))
		usage_error("give one of --ratio F and --count N");
	if (strcmp(o->out[0], o->out[1]) == 0)
		usage_error("the two outputs are the same file");
	const char *in = argc ? argv[0] : "-";
	ck_tnz t = {0};
	int64_t n;
	int status = load_rows(o, in, &t, &n);
	if (status)
		goto out;
	if (n > (int64_t)UINT32_MAX) {
		errmsg("%s: %" PRId64 " rows: split handles at most 2^32", in_name(in), n);
		status = 1;
		goto out;
	}
	int64_t take = o->count >= 0 ? o->count : llround(o->ratio * (double)n);
	if (take > n) {
		errmsg("%s: --count %" PRId64 " is more than the %" PRId64 " rows", in_name(in), take, n);
		status = 1;
		goto out;
	}
	struct labeled *rows = xmalloc((size_t)n * sizeof *rows);
	int64_t *lab = xmalloc((size_t)n * sizeof *lab);
	for (int64_t i = 0; i < n; i++)
		rows[i] = (struct labeled){0, i};
	if (o->stratify) {
		ck_err err = {{0}};
		const ck_tensor *y = ck_tnz_find(&t, o->stratify);
		if (!y) {
			errmsg("%s: no tensor \"%s\" to stratify by", in_name(in), o->stratify);
			status = 1;
		} else if (read_labels(y, lab, &err) < 0) {
			status = fail(in_name(in), &err);
		} else {
			for (int64_t i = 0; i < n; i++)
				rows[i].label = lab[i];
			qsort(rows, (size_t)n, sizeof *rows, by_label);
		}
	}
	if (!status) {
		unsigned char *in_first = calloc((size_t)n + 1, 1);
		if (!in_first)
			die("out of memory");
		ck_rng rng;
		ck_rng_seed(&rng, o->seed);
		choose_first(rows, n, take, &rng, in_first);
		/* Both outputs keep the input's row order; lab is free for the indices. */
		int64_t *idx = lab, a = 0, b = take;
		for (int64_t i = 0; i < n; i++)
			idx[in_first[i] ? a++ : b++] = i;
		status = write_rows(o, o->out[0], &t, idx, take);
		if (!status && (status = write_rows(o, o->out[1], &t, idx + take, n - take)) &&
		    strcmp(o->out[0], "-") != 0)
			remove(o->out[0]); /* never one output without the other */
		free(in_first);
	}
	free(rows);
	free(lab);
out:
	ck_tnz_free(&t);
	return status;
}
