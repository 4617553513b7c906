/* dataset.c: loading and validating a dataset file, checking it against a
 * model, and train/validation splits (cnnkit/data.h). */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnnkit.h"

/* Without `classes` metadata, class ids must stay below this (the largest
 * dense layer a model can end with). */
#define MAX_CLASSES CK_ARCH_MAX_UNITS

/* ---- lines of metadata --------------------------------------------------- */

int ck_lines_split(const char *text, size_t len, char ***lines, int64_t *count, ck_err *err)
{
	*lines = NULL;
	*count = 0;
	int64_t n = 0;
	for (size_t i = 0; i < len; i++)
		n += text[i] == '\n';
	if (len > 0 && text[len - 1] != '\n')
		n++;
	if (n == 0)
		return 0;
	char **out = calloc((size_t)n, sizeof *out);
	if (!out)
		return ck_err_set(err, "out of memory");
	size_t start = 0;
	for (int64_t k = 0; k < n; k++) {
		size_t end = start;
		while (end < len && text[end] != '\n')
			end++;
		out[k] = malloc(end - start + 1);
		if (!out[k]) {
			ck_lines_free(out, k);
			return ck_err_set(err, "out of memory");
		}
		memcpy(out[k], text + start, end - start);
		out[k][end - start] = '\0';
		start = end + 1;
	}
	*lines = out;
	*count = n;
	return 0;
}

void ck_lines_free(char **lines, int64_t count)
{
	for (int64_t k = 0; k < count; k++)
		free(lines[k]);
	free(lines);
}

static int64_t count_lines(const char *text, size_t len)
{
	int64_t n = 0;
	for (size_t i = 0; i < len; i++)
		n += text[i] == '\n';
	return n + (len > 0 && text[len - 1] != '\n');
}

/* ---- dtype conversion -------------------------------------------------- */

static int is_integer_dtype(ck_dtype t)
{
	switch (t) {
	case CK_DTYPE_U8: case CK_DTYPE_I8: case CK_DTYPE_U16: case CK_DTYPE_I16:
	case CK_DTYPE_U32: case CK_DTYPE_I32: case CK_DTYPE_U64: case CK_DTYPE_I64:
	case CK_DTYPE_BOOL:
		return 1;
	default:
		return 0;
	}
}

/* Element i of integer data as int64 (u64 above INT64_MAX saturates). */
static int64_t int_at(const void *data, ck_dtype t, size_t i)
{
	switch (t) {
	case CK_DTYPE_U8: case CK_DTYPE_BOOL: return ((const uint8_t *)data)[i];
	case CK_DTYPE_I8: return ((const int8_t *)data)[i];
	case CK_DTYPE_U16: return ((const uint16_t *)data)[i];
	case CK_DTYPE_I16: return ((const int16_t *)data)[i];
	case CK_DTYPE_U32: return ((const uint32_t *)data)[i];
	case CK_DTYPE_I32: return ((const int32_t *)data)[i];
	case CK_DTYPE_U64: {
		uint64_t v = ((const uint64_t *)data)[i];
		return v > INT64_MAX ? INT64_MAX : (int64_t)v;
	}
	case CK_DTYPE_I64: return ((const int64_t *)data)[i];
	default: return 0;
	}
}

/* Replaces the data of t by new_data of dtype (same element count). */
static void retype(ck_tensor *t, ck_dtype dtype, void *new_data)
{
	free(t->data);
	t->data = new_data;
	t->dtype = dtype;
	t->nbytes = (size_t)ck_tensor_numel(t) * ck_dtype_size(dtype);
}

/* Converts integer tensor t to i32, every value in [0, limit), or [0, limit]
 * when inclusive. Messages name the tensor, the row (of per_row values), the
 * position within a longer row and the value: "x row 3, position 5: token id
 * 7000 is out of range [0, 5000)". */
static int to_i32_checked(ck_tensor *t, int64_t per_row, int64_t limit, int inclusive,
                          const char *noun, ck_err *err)
{
	size_t n = (size_t)ck_tensor_numel(t);
	int32_t *out = malloc(n ? n * sizeof *out : 1);
	if (!out)
		return ck_err_set(err, "out of memory");
	for (size_t i = 0; i < n; i++) {
		int64_t v = int_at(t->data, t->dtype, i);
		if (v < 0 || v > limit - !inclusive) {
			char where[64] = "";
			if (per_row > 1)
				snprintf(where, sizeof where, ", position %" PRId64, (int64_t)i % per_row);
			ck_err_set(err, "%s row %" PRId64 "%s: %s%" PRId64 " is out of range [0, %" PRId64
			           "%c", t->name, (int64_t)i / per_row, where, noun, v, limit,
			           inclusive ? ']' : ')');
			free(out);
			return -1;
		}
		out[i] = (int32_t)v;
	}
	retype(t, CK_DTYPE_I32, out);
	return 0;
}

/* f64 -> f32 in place (values beyond float range become inf and are then
 * rejected as not finite). */
static int f64_to_f32(ck_tensor *t, ck_err *err)
{
	size_t n = (size_t)ck_tensor_numel(t);
	float *out = malloc(n ? n * sizeof *out : 1);
	if (!out)
		return ck_err_set(err, "out of memory");
	const double *in = t->data;
	for (size_t i = 0; i < n; i++)
		out[i] = (float)in[i];
	retype(t, CK_DTYPE_F32, out);
	return 0;
}

static int check_finite(const ck_tensor *t, const char *name, ck_err *err)
{
	const float *v = t->data;
	int64_t n = ck_tensor_numel(t);
	int64_t per_row = t->dims[0] > 0 ? n / t->dims[0] : 1;
	for (int64_t i = 0; i < n; i++)
		if (!isfinite(v[i]))
			return ck_err_set(err, "%s row %" PRId64 ": value %g is not finite", name,
			                  i / per_row, (double)v[i]);
	return 0;
}

/* ---- loading ------------------------------------------------------------- */

static int load_x(ck_dataset *d, ck_tensor *x, ck_err *err)
{
	char shape[160];
	ck_tensor_shape_str(x, shape, sizeof shape);
	if (x->rank < 2 || x->rank > 4)
		return ck_err_set(err, "x has shape %s: expected (N,C,H,W) images, (N,F) features, "
		                  "(N,T,C) sequences or (N,L) token ids", shape);
	d->n = x->dims[0];
	if (d->n == 0)
		return ck_err_set(err, "no examples (x has shape %s)", shape);
	d->example_rank = x->rank - 1;
	d->example_size = 1;
	for (int i = 1; i < x->rank; i++) {
		d->example_shape[i - 1] = x->dims[i];
		d->example_size *= x->dims[i];
	}
	if (d->example_size == 0)
		return ck_err_set(err, "x has shape %s: examples are empty", shape);

	if (x->dtype == CK_DTYPE_U8) {
		d->input_kind = CK_INPUT_F32;
		d->x_u8 = 1;
		return 0;
	}
	if (x->dtype == CK_DTYPE_F32 || x->dtype == CK_DTYPE_F64) {
		d->input_kind = CK_INPUT_F32;
		if (x->dtype == CK_DTYPE_F64 && f64_to_f32(x, err) < 0)
			return -1;
		return check_finite(x, "x", err);
	}
	if (!is_integer_dtype(x->dtype))
		return ck_err_set(err, "x has dtype %s: expected u8 or f32 values, or integer token ids",
		                  ck_dtype_name(x->dtype));
	if (x->rank != 2)
		return ck_err_set(err, "x has integer dtype %s and shape %s: token ids must be (N,L)",
		                  ck_dtype_name(x->dtype), shape);
	d->input_kind = CK_INPUT_TOKENS;
	size_t vlen;
	const char *vocab = ck_meta_get(&d->file.meta, "vocab", &vlen);
	int64_t limit = INT32_MAX;
	if (vocab) {
		d->vocab_from_meta = 1;
		limit = count_lines(vocab, vlen);
	}
	if (to_i32_checked(x, x->dims[1], limit, 0, "token id ", err) < 0)
		return -1;
	if (vocab) {
		d->vocab_size = limit;
	} else {
		int32_t max = 0;
		const int32_t *ids = x->data;
		for (int64_t i = 0; i < ck_tensor_numel(x); i++)
			if (ids[i] > max)
				max = ids[i];
		d->vocab_size = (int64_t)max + 1;
	}
	return 0;
}

static int load_lengths(ck_dataset *d, ck_tensor *len, ck_err *err)
{
	char shape[160];
	ck_tensor_shape_str(len, shape, sizeof shape);
	if (d->input_kind != CK_INPUT_TOKENS && d->example_rank != 2)
		return ck_err_set(err, "lengths given, but x holds neither token ids nor sequences");
	if (!is_integer_dtype(len->dtype) || len->rank != 1)
		return ck_err_set(err, "lengths has dtype %s and shape %s: expected (N) integers",
		                  ck_dtype_name(len->dtype), shape);
	if (len->dims[0] != d->n)
		return ck_err_set(err, "lengths has %" PRId64 " rows, x has %" PRId64, len->dims[0],
		                  d->n);
	return to_i32_checked(len, 1, d->example_shape[0], 1, "", err);
}

static int load_y(ck_dataset *d, ck_tensor *y, ck_err *err)
{
	char shape[160];
	ck_tensor_shape_str(y, shape, sizeof shape);
	if (y->rank < 1 || y->rank > 2)
		return ck_err_set(err, "y has shape %s: expected (N) class ids or (N,K) targets", shape);
	if (y->dims[0] != d->n)
		return ck_err_set(err, "y has %" PRId64 " rows, x has %" PRId64, y->dims[0], d->n);
	if (y->dtype == CK_DTYPE_F32 || y->dtype == CK_DTYPE_F64) {
		d->label_kind = CK_LABELS_TARGETS;
		d->ntargets = y->rank == 2 ? y->dims[1] : 1;
		if (d->ntargets == 0)
			return ck_err_set(err, "y has shape %s: no targets", shape);
		if (y->dtype == CK_DTYPE_F64 && f64_to_f32(y, err) < 0)
			return -1;
		return check_finite(y, "y", err);
	}
	if (!is_integer_dtype(y->dtype))
		return ck_err_set(err, "y has dtype %s: expected integer class ids or f32 targets",
		                  ck_dtype_name(y->dtype));
	if (y->rank == 2 && y->dims[1] != 1)
		return ck_err_set(err, "y has integer dtype %s and shape %s: class ids must be (N)",
		                  ck_dtype_name(y->dtype), shape);
	d->label_kind = CK_LABELS_CLASS;
	d->ntargets = 1;
	int64_t limit = d->classes_from_meta ? d->nclasses : MAX_CLASSES;
	if (to_i32_checked(y, 1, limit, 0, "class ", err) < 0)
		return -1;
	if (!d->classes_from_meta) {
		int32_t max = 0;
		const int32_t *ids = y->data;
		for (int64_t i = 0; i < d->n; i++)
			if (ids[i] > max)
				max = ids[i];
		d->nclasses = (int64_t)max + 1;
	}
	return 0;
}

int ck_dataset_from_tnz(ck_dataset *d, ck_tnz *t, int threads, ck_err *err)
{
	memset(d, 0, sizeof *d);
	d->file = *t;
	memset(t, 0, sizeof *t);
	d->threads = threads;

	size_t clen;
	const char *classes = ck_meta_get(&d->file.meta, "classes", &clen);
	if (classes) {
		if (ck_lines_split(classes, clen, &d->class_names, &d->nclass_names, err) < 0)
			goto fail;
		d->nclasses = d->nclass_names;
		d->classes_from_meta = 1;
	}
	ck_tensor *x = ck_tnz_find(&d->file, "x");
	if (!x) {
		ck_err_set(err, "no tensor x (the examples)");
		goto fail;
	}
	if (load_x(d, x, err) < 0)
		goto fail;
	ck_tensor *len = ck_tnz_find(&d->file, "lengths");
	if (len && load_lengths(d, len, err) < 0)
		goto fail;
	ck_tensor *y = ck_tnz_find(&d->file, "y");
	if (y && load_y(d, y, err) < 0)
		goto fail;
	d->x = x;
	d->y = y;
	d->lengths = len;
	return 0;
fail:
	ck_dataset_free(d);
	return -1;
}

int ck_dataset_load(ck_dataset *d, const char *path, int threads, ck_err *err)
{
	memset(d, 0, sizeof *d);
	ck_tnz t = {0};
	if (ck_tnz_load(&t, path, threads, err) < 0) {
		ck_tnz_free(&t);
		return -1;
	}
	return ck_dataset_from_tnz(d, &t, threads, err);
}

void ck_dataset_free(ck_dataset *d)
{
	ck_tnz_free(&d->file);
	ck_lines_free(d->class_names, d->nclass_names);
	memset(d, 0, sizeof *d);
}

const char *ck_dataset_class_name(const ck_dataset *d, int64_t k)
{
	return k >= 0 && k < d->nclass_names ? d->class_names[k] : NULL;
}

/* ---- fitting a model ------------------------------------------------------ */

int ck_dataset_check_model(const ck_dataset *d, const ck_model *m, ck_err *err)
{
	const ck_arch *a = ck_model_arch(m);
	int model_tokens = ck_model_input_kind(m) == CK_INPUT_TOKENS;
	int data_tokens = d->input_kind == CK_INPUT_TOKENS;
	if (model_tokens != data_tokens)
		return ck_err_set(err, "data is %s, the model takes %s",
		                  data_tokens ? "token ids" : "f32 values",
		                  model_tokens ? "token ids" : "f32 values");
	ck_arch_shape s = {.rank = d->example_rank};
	int same = a->input.rank == d->example_rank;
	for (int i = 0; i < d->example_rank; i++) {
		s.dim[i] = d->example_shape[i];
		same = same && a->input.dim[i] == s.dim[i];
	}
	if (!same) {
		char ds[96], ms[96];
		return ck_err_set(err, "data examples are %s, the model takes %s",
		                  ck_arch_shape_str(&s, ds, sizeof ds),
		                  ck_arch_shape_str(&a->input, ms, sizeof ms));
	}
	if (data_tokens) {
		if (d->vocab_from_meta && d->vocab_size != a->vocab_size)
			return ck_err_set(err, "data vocabulary has %" PRId64 " tokens, the model's has %"
			                  PRId64, d->vocab_size, a->vocab_size);
		if (d->vocab_size > a->vocab_size)
			return ck_err_set(err, "data has token ids up to %" PRId64
			                  ", the model's vocabulary has %" PRId64 " tokens",
			                  d->vocab_size - 1, a->vocab_size);
	}
	int64_t K = ck_model_output_size(m);
	if (d->label_kind == CK_LABELS_CLASS) {
		if (K == 1) {
			if (d->nclasses > 2 || (d->classes_from_meta && d->nclasses != 2))
				return ck_err_set(err, "data has %" PRId64 " classes, the model has one output"
				                  " (2 classes)", d->nclasses);
		} else if (d->classes_from_meta ? d->nclasses != K : d->nclasses > K) {
			return ck_err_set(err, "data has %" PRId64 " classes, the model outputs %" PRId64,
			                  d->nclasses, K);
		}
	} else if (d->label_kind == CK_LABELS_TARGETS && d->ntargets != K) {
		return ck_err_set(err, "data has %" PRId64 " targets per example, the model outputs %"
		                  PRId64, d->ntargets, K);
	}
	return 0;
}

/* ---- splits --------------------------------------------------------------- */

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* Examples per class in val: floor(n_c * f) each, then one more for the
 * classes with the largest remainders until the total is nval. */
static void stratified_counts(const int64_t *count, int64_t k, double f, int64_t nval,
                              int64_t *take, double *rem)
{
	int64_t total = 0;
	for (int64_t c = 0; c < k; c++) {
		double exact = (double)count[c] * f;
		take[c] = (int64_t)floor(exact);
		rem[c] = exact - (double)take[c];
		total += take[c];
	}
	while (total < nval) {
		int64_t best = -1;
		for (int64_t c = 0; c < k; c++)
			if (take[c] < count[c] && (best < 0 || rem[c] > rem[best]))
				best = c;
		if (best < 0)
			break;
		take[best]++;
		rem[best] = -1;
		total++;
	}
}

int ck_dataset_split(const ck_dataset *d, double val_fraction, uint64_t seed, int stratify,
                     int64_t **train_idx, int64_t *ntrain, int64_t **val_idx, int64_t *nval,
                     ck_err *err)
{
	*train_idx = *val_idx = NULL;
	*ntrain = *nval = 0;
	if (!(val_fraction >= 0 && val_fraction < 1))
		return ck_err_set(err, "validation fraction %g is outside [0, 1)", val_fraction);
	int64_t n = d->n, nv = (int64_t)llround((double)n * val_fraction);
	if (val_fraction > 0 && (nv == 0 || nv == n))
		return ck_err_set(err, "a validation fraction of %g of %" PRId64
		                  " examples leaves %s empty", val_fraction, n,
		                  nv == 0 ? "the validation set" : "the training set");
	int64_t *perm = malloc((size_t)n * sizeof *perm);
	int64_t *tr = malloc((size_t)(n - nv > 0 ? n - nv : 1) * sizeof *tr);
	int64_t *va = malloc((size_t)(nv > 0 ? nv : 1) * sizeof *va);
	int64_t *count = NULL, *take = NULL, *start = NULL;
	double *rem = NULL;
	if (!perm || !tr || !va)
		goto oom;
	ck_rng rng;
	ck_rng_seed(&rng, seed);
	int64_t ntr = 0, nva = 0;
	if (stratify && d->label_kind == CK_LABELS_CLASS) {
		int64_t k = d->nclasses;
		const int32_t *y = d->y->data;
		count = calloc((size_t)k, sizeof *count);
		take = calloc((size_t)k, sizeof *take);
		start = calloc((size_t)k + 1, sizeof *start);
		rem = calloc((size_t)k, sizeof *rem);
		if (!count || !take || !start || !rem)
			goto oom;
		for (int64_t i = 0; i < n; i++)
			count[y[i]]++;
		for (int64_t c = 0; c < k; c++)
			start[c + 1] = start[c] + count[c];
		/* Bucket the indices by class (ascending within a class), then
		 * shuffle each bucket and take its first take[c] for validation. */
		int64_t *fill = take; /* reused as a cursor, reset below */
		for (int64_t i = 0; i < n; i++)
			perm[start[y[i]] + fill[y[i]]++] = i;
		stratified_counts(count, k, val_fraction, nv, take, rem);
		for (int64_t c = 0; c < k; c++) {
			int64_t *bucket = perm + start[c];
			ck_rng_shuffle(&rng, bucket, count[c]);
			for (int64_t j = 0; j < count[c]; j++) {
				if (j < take[c])
					va[nva++] = bucket[j];
				else
					tr[ntr++] = bucket[j];
			}
		}
	} else {
		for (int64_t i = 0; i < n; i++)
			perm[i] = i;
		ck_rng_shuffle(&rng, perm, n);
		for (int64_t j = 0; j < n; j++) {
			if (j < nv)
				va[nva++] = perm[j];
			else
				tr[ntr++] = perm[j];
		}
	}
	qsort(tr, (size_t)ntr, sizeof *tr, cmp_i64);
	qsort(va, (size_t)nva, sizeof *va, cmp_i64);
	free(perm);
	free(count);
	free(take);
	free(start);
	free(rem);
	*train_idx = tr;
	*ntrain = ntr;
	*val_idx = va;
	*nval = nva;
	return 0;
oom:
	free(perm);
	free(tr);
	free(va);
	free(count);
	free(take);
	free(start);
	free(rem);
	return ck_err_set(err, "out of memory");
}
