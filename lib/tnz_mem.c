/* tnz_mem.c: metadata, tensors and whole TNZ streams in memory, and the
 * checks of names and shapes that the reader and writer share. */
#include "cnnkit.h"
#include "tnz_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- names and shapes -------------------------------------------------- */

int tnz_check_name(const char *name, const char *what, ck_err *err)
{
	if (!name || !name[0])
		return ck_err_set(err, "empty %s", what);
	size_t n = strnlen(name, CK_TNZ_MAX_NAME + 1);
	if (n > CK_TNZ_MAX_NAME)
		return ck_err_set(err, "%s too long (over %d bytes)", what, CK_TNZ_MAX_NAME);
	return 0;
}

int tnz_check_meta(const char *key, const char *value, size_t *len, ck_err *err)
{
	if (tnz_check_name(key, "metadata key", err))
		return -1;
	if (*len == (size_t)-1)
		*len = value ? strlen(value) : 0;
	if (*len > CK_TNZ_MAX_META)
		return ck_err_set(err, "metadata \"%s\": value too long (%zu bytes, the limit is 2^28)",
		                  key, *len);
	if (*len > 0 && (!value || memchr(value, '\0', *len)))
		return ck_err_set(err, "metadata \"%s\": value contains a NUL byte", key);
	return 0;
}

int tnz_check_shape(const char *name, int dtype, int rank, const int64_t *dims, int rows_known,
                    uint64_t *row_bytes, ck_err *err)
{
	size_t esize = ck_dtype_size(dtype);
	if (esize == 0)
		return ck_err_set(err, "tensor \"%s\": unknown dtype %d", name, dtype);
	if (rank < 0 || rank > CK_TNZ_MAX_RANK)
		return ck_err_set(err, "tensor \"%s\": rank %d is above %d", name, rank,
		                  CK_TNZ_MAX_RANK);
	/* The row size: a zero dimension makes it 0 whatever the others are. */
	uint64_t row = esize;
	int empty_row = 0;
	for (int i = 1; i < rank; i++) {
		if (dims[i] < 0)
			return ck_err_set(err, "tensor \"%s\": negative dimension %d (%" PRId64 ")",
			                  name, i, dims[i]);
		if ((uint64_t)dims[i] >= TNZ_DIM_LIMIT)
			return ck_err_set(err,
			                  "tensor \"%s\": too large (dimension %d is %" PRId64
			                  ", the limit is 2^48)",
			                  name, i, dims[i]);
		if (dims[i] == 0)
			empty_row = 1;
	}
	for (int i = 1; i < rank && !empty_row; i++)
		if (__builtin_mul_overflow(row, (uint64_t)dims[i], &row) || row > TNZ_SIZE_LIMIT)
			return ck_err_set(err, "tensor \"%s\": too large (a row is over 2^62 bytes)",
			                  name);
	if (empty_row)
		row = 0;
	if (rank >= 1 && rows_known) {
		if (dims[0] < 0)
			return ck_err_set(err, "tensor \"%s\": negative dimension 0 (%" PRId64 ")", name,
			                  dims[0]);
		uint64_t total;
		if (__builtin_mul_overflow(row, (uint64_t)dims[0], &total) || total > TNZ_SIZE_LIMIT)
			return ck_err_set(err,
			                  "tensor \"%s\": too large (%" PRId64
			                  " rows of %" PRIu64 " bytes is over 2^62 bytes)",
			                  name, dims[0], row);
	}
	*row_bytes = row;
	return 0;
}

/* ---- metadata ---------------------------------------------------------- */

static ck_meta_entry *meta_find(const ck_meta *m, const char *key)
{
	for (size_t i = 0; i < m->count; i++)
		if (strcmp(m->items[i].key, key) == 0)
			return &m->items[i];
	return NULL;
}

const char *ck_meta_get(const ck_meta *m, const char *key, size_t *len)
{
	const ck_meta_entry *e = meta_find(m, key);
	if (!e)
		return NULL;
	if (len)
		*len = e->len;
	return e->value;
}

int ck_meta_set(ck_meta *m, const char *key, const char *value, size_t len, ck_err *err)
{
	if (tnz_check_meta(key, value, &len, err))
		return -1;
	char *copy = malloc(len + 1);
	if (!copy)
		return ck_err_set(err, "metadata \"%s\": out of memory (%zu bytes)", key, len);
	if (len)
		memcpy(copy, value, len);
	copy[len] = '\0';

	ck_meta_entry *e = meta_find(m, key);
	if (e) {
		free(e->value);
		e->value = copy;
		e->len = len;
		return 0;
	}
	if (m->count == m->cap) {
		size_t cap = m->cap ? 2 * m->cap : 8;
		ck_meta_entry *items = realloc(m->items, cap * sizeof *items);
		if (!items) {
			free(copy);
			return ck_err_set(err, "metadata: out of memory");
		}
		m->items = items;
		m->cap = cap;
	}
	char *kcopy = strdup(key);
	if (!kcopy) {
		free(copy);
		return ck_err_set(err, "metadata: out of memory");
	}
	m->items[m->count++] = (ck_meta_entry){kcopy, copy, len};
	return 0;
}

int ck_meta_remove(ck_meta *m, const char *key)
{
	ck_meta_entry *e = meta_find(m, key);
	if (!e)
		return 0;
	free(e->key);
	free(e->value);
	size_t i = (size_t)(e - m->items);
	memmove(e, e + 1, (m->count - i - 1) * sizeof *e);
	m->count--;
	return 1;
}

int ck_meta_merge(ck_meta *dst, const ck_meta *src, ck_err *err)
{
	for (size_t i = 0; i < src->count; i++)
		if (ck_meta_set(dst, src->items[i].key, src->items[i].value, src->items[i].len, err))
			return -1;
	return 0;
}

void ck_meta_free(ck_meta *m)
{
	for (size_t i = 0; i < m->count; i++) {
		free(m->items[i].key);
		free(m->items[i].value);
	}
	free(m->items);
	*m = (ck_meta){0};
}

/* ---- tensors ----------------------------------------------------------- */

int64_t ck_tensor_numel(const ck_tensor *t)
{
	int64_t n = 1;
	for (int i = 0; i < t->rank; i++)
		n *= t->dims[i];
	return n;
}

size_t ck_tensor_row_bytes(const ck_tensor *t)
{
	size_t n = ck_dtype_size(t->dtype);
	for (int i = 1; i < t->rank; i++)
		n *= (size_t)t->dims[i];
	return n;
}

void ck_tensor_shape_str(const ck_tensor *t, char *buf, size_t cap)
{
	if (cap == 0)
		return;
	size_t used = 0;
	int n = snprintf(buf, cap, "(");
	for (int i = 0; i < t->rank && n >= 0; i++) {
		used += (size_t)n;
		if (used >= cap)
			return;
		const char *sep = i + 1 < t->rank ? ", " : t->rank == 1 ? "," : "";
		if (t->dims[i] < 0)
			n = snprintf(buf + used, cap - used, "?%s", sep);
		else
			n = snprintf(buf + used, cap - used, "%" PRId64 "%s", t->dims[i], sep);
	}
	if (n < 0)
		return;
	used += (size_t)n;
	if (used < cap)
		snprintf(buf + used, cap - used, ")");
}

/* ---- a stream in memory ------------------------------------------------ */

ck_tensor *ck_tnz_find(const ck_tnz *t, const char *name)
{
	for (size_t i = 0; i < t->count; i++)
		if (strcmp(t->tensors[i].name, name) == 0)
			return &t->tensors[i];
	return NULL;
}

ck_tensor *ck_tnz_add(ck_tnz *t, const char *name, ck_dtype dtype, int rank,
                      const int64_t *dims, const void *data, ck_err *err)
{
	uint64_t row;
	if (tnz_check_name(name, "tensor name", err) ||
	    tnz_check_shape(name, (int)dtype, rank, dims, 1, &row, err))
		return NULL;
	if (ck_tnz_find(t, name)) {
		ck_err_set(err, "tensor \"%s\" already exists", name);
		return NULL;
	}
	uint64_t rows = rank >= 1 ? (uint64_t)dims[0] : 1;
	uint64_t nbytes = rows * row; /* checked against 2^62 by tnz_check_shape */
	if (nbytes > SIZE_MAX - 1) {
		ck_err_set(err, "tensor \"%s\": too large for this machine", name);
		return NULL;
	}
	/* Never a NULL data pointer, even for an empty tensor. */
	void *buf = data ? malloc(nbytes ? nbytes : 1) : calloc(nbytes ? nbytes : 1, 1);
	if (!buf) {
		ck_err_set(err, "tensor \"%s\": out of memory (%" PRIu64 " bytes)", name, nbytes);
		return NULL;
	}
	if (data && nbytes)
		memcpy(buf, data, nbytes);
	ck_tensor x = {.dtype = dtype, .rank = rank, .data = buf, .nbytes = (size_t)nbytes};
	memcpy(x.name, name, strlen(name) + 1);
	for (int i = 0; i < rank; i++)
		x.dims[i] = dims[i];
	ck_tensor *added = tnz_push_tensor(t, &x, err);
	if (!added)
		free(buf);
	return added;
}

ck_tensor *tnz_push_tensor(ck_tnz *t, const ck_tensor *x, ck_err *err)
{
	if (t->count == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 8;
		ck_tensor *tensors = realloc(t->tensors, cap * sizeof *tensors);
		if (!tensors) {
			ck_err_set(err, "out of memory");
			return NULL;
		}
		t->tensors = tensors;
		t->cap = cap;
	}
	t->tensors[t->count] = *x;
	return &t->tensors[t->count++];
}

int ck_tnz_remove(ck_tnz *t, const char *name)
{
	ck_tensor *x = ck_tnz_find(t, name);
	if (!x)
		return 0;
	free(x->data);
	size_t i = (size_t)(x - t->tensors);
	memmove(x, x + 1, (t->count - i - 1) * sizeof *x);
	t->count--;
	return 1;
}

void ck_tnz_free(ck_tnz *t)
{
	ck_meta_free(&t->meta);
	for (size_t i = 0; i < t->count; i++)
		free(t->tensors[i].data);
	free(t->tensors);
	*t = (ck_tnz){0};
}
