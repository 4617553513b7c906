/* model_io.c: a model to and from TNZ tensors and metadata.
 *
 * A model file holds one f32 tensor per entry of ck_arch.params, named as
 * there ("0.conv.weight") with its exact shape, and the metadata
 *   arch         the spec in canonical form (ck_arch_format)
 *   input_shape  "1,28,28": one example, without the batch dimension
 *   input_kind   "f32" or "tokens"
 *   vocab_size   "0", or the vocabulary size for tokens
 * The file is hostile input: every piece is checked before anything is
 * copied or allocated, so a failed load leaves the model as it was. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"

/* "(32,1,3,3)" into buf. */
static char *shape_str(const int64_t *dims, int rank, char *buf, size_t cap)
{
	size_t at = 0;
	at += (size_t)snprintf(buf, cap, "(");
	for (int i = 0; i < rank && at < cap; i++)
		at += (size_t)snprintf(buf + at, cap - at, "%s%lld", i ? "," : "",
		                       (long long)dims[i]);
	if (at < cap)
		snprintf(buf + at, cap - at, ")");
	return buf;
}

int ck_model_to_tnz(const ck_model *m, ck_tnz *out, ck_err *err)
{
	const ck_arch *a = ck_model_arch(m);
	char *spec = NULL;
	if (ck_arch_format(a, &spec) < 0)
		return ck_err_set(err, "out of memory");
	int rc = ck_meta_set(&out->meta, "arch", spec, (size_t)-1, err);
	free(spec);
	if (rc < 0)
		return -1;

	char buf[128];
	size_t at = 0;
	for (int i = 0; i < a->input.rank; i++)
		at += (size_t)snprintf(buf + at, sizeof buf - at, "%s%lld", i ? "," : "",
		                       (long long)a->input.dim[i]);
	if (ck_meta_set(&out->meta, "input_shape", buf, (size_t)-1, err) < 0 ||
	    ck_meta_set(&out->meta, "input_kind",
	                ck_model_input_kind(m) == CK_INPUT_TOKENS ? "tokens" : "f32", (size_t)-1,
	                err) < 0)
		return -1;
	snprintf(buf, sizeof buf, "%lld", (long long)a->vocab_size);
	if (ck_meta_set(&out->meta, "vocab_size", buf, (size_t)-1, err) < 0)
		return -1;

	for (int i = 0; i < a->nparams; i++) {
		const ck_arch_param *p = &a->params[i];
		ck_tnz_remove(out, p->name); /* a checkpoint saved again replaces its tensors */
		if (!ck_tnz_add(out, p->name, CK_DTYPE_F32, p->rank, p->shape,
		                ck_model_param((ck_model *)m, i), err))
			return ck_err_prefix(err, "tensor \"%s\"", p->name);
	}
	return 0;
}

/* Checks that tensor t can be parameter p: f32, the exact shape, finite. */
static int check_param(const ck_arch_param *p, const ck_tensor *t, ck_err *err)
{
	char have[160], need[160];
	if (!t)
		return ck_err_set(err, "model has no tensor \"%s\"", p->name);
	if (t->dtype != CK_DTYPE_F32)
		return ck_err_set(err, "tensor \"%s\" has dtype %s, the architecture needs f32",
		                  p->name, ck_dtype_name(t->dtype));
	int same = t->rank == p->rank;
	for (int d = 0; same && d < p->rank; d++)
		same = t->dims[d] == p->shape[d];
	if (!same)
		return ck_err_set(err, "tensor \"%s\" has shape %s, the architecture needs %s",
		                  p->name,
		                  shape_str(t->dims, t->rank < CK_TNZ_MAX_RANK ? t->rank
		                                                               : CK_TNZ_MAX_RANK,
		                            have, sizeof have),
		                  shape_str(p->shape, p->rank, need, sizeof need));
	if (t->nbytes != (size_t)p->count * sizeof(float) || (p->count > 0 && !t->data))
		return ck_err_set(err, "tensor \"%s\" holds %zu bytes, its shape needs %zu", p->name,
		                  t->nbytes, (size_t)p->count * sizeof(float));
	const float *v = t->data;
	for (int64_t j = 0; j < p->count; j++)
		if (!isfinite(v[j]))
			return ck_err_set(err, "tensor \"%s\" holds a non-finite value (%g) at index %lld",
			                  p->name, (double)v[j], (long long)j);
	return 0;
}

int ck_model_load_params(ck_model *m, const ck_tnz *in, ck_err *err)
{
	const ck_arch *a = ck_model_arch(m);
	for (int i = 0; i < a->nparams; i++)
		if (check_param(&a->params[i], ck_tnz_find(in, a->params[i].name), err) < 0)
			return -1;
	for (int i = 0; i < a->nparams; i++) {
		const ck_tensor *t = ck_tnz_find(in, a->params[i].name);
		memcpy(ck_model_param(m, i), t->data, t->nbytes);
	}
	return 0;
}

static const char *need_meta(const ck_tnz *in, const char *key, ck_err *err)
{
	const char *v = ck_meta_get(&in->meta, key, NULL);
	if (!v)
		ck_err_set(err, "model has no metadata \"%s\"", key);
	return v;
}

/* A decimal integer in [lo, hi] filling the whole of s. */
static int parse_int(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	char *end;
	long long v = strtoll(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

/* "1,28,28" -> dims, rank 1 to 3. */
static int parse_shape(const char *s, int64_t *dims, int *rank, ck_err *err)
{
	char buf[128];
	size_t len = strlen(s);
	if (len == 0 || len >= sizeof buf)
		goto bad;
	memcpy(buf, s, len + 1);
	*rank = 0;
	for (char *tok = buf, *next; tok; tok = next) {
		next = strchr(tok, ',');
		if (next)
			*next++ = '\0';
		if (*rank == 3 || parse_int(tok, 1, CK_ARCH_MAX_INPUT, &dims[*rank]) < 0)
			goto bad;
		(*rank)++;
	}
	return 0;
bad:
	return ck_err_set(err, "metadata \"input_shape\" is \"%.60s%s\": expected 1 to 3 "
	                  "positive integers separated by commas, e.g. 1,28,28", s,
	                  len > 60 ? "..." : "");
}

ck_model *ck_model_from_tnz(const ck_tnz *in, ck_err *err)
{
	const char *arch = need_meta(in, "arch", err);
	const char *shape = arch ? need_meta(in, "input_shape", err) : NULL;
	const char *kind = shape ? need_meta(in, "input_kind", err) : NULL;
	const char *vocab = kind ? need_meta(in, "vocab_size", err) : NULL;
	if (!vocab)
		return NULL;

	int64_t dims[3], vocab_size;
	int rank = 0;
	if (parse_shape(shape, dims, &rank, err) < 0)
		return NULL;
	if (parse_int(vocab, 0, INT32_MAX, &vocab_size) < 0) {
		ck_err_set(err, "metadata \"vocab_size\" is \"%.60s\": expected an integer from 0 to %d",
		           vocab, INT32_MAX);
		return NULL;
	}
	int tokens = strcmp(kind, "tokens") == 0;
	if (!tokens && strcmp(kind, "f32") != 0) {
		ck_err_set(err, "metadata \"input_kind\" is \"%.60s\": expected f32 or tokens", kind);
		return NULL;
	}
	if (tokens != (vocab_size > 0)) {
		ck_err_set(err, "metadata \"input_kind\" is %s but \"vocab_size\" is %lld", kind,
		           (long long)vocab_size);
		return NULL;
	}
	/* Check the tensors against the architecture before allocating the
	 * model: its size is then justified by data already in memory. */
	ck_arch a = {0};
	if (ck_arch_parse(arch, &a, err) < 0 || ck_arch_infer(&a, dims, rank, vocab_size, err) < 0) {
		ck_arch_free(&a);
		ck_err_prefix(err, "metadata \"arch\"");
		return NULL;
	}
	for (int i = 0; i < a.nparams; i++)
		if (check_param(&a.params[i], ck_tnz_find(in, a.params[i].name), err) < 0) {
			ck_arch_free(&a);
			return NULL;
		}
	ck_arch_free(&a);
	ck_model *m = ck_model_create(arch, dims, rank, vocab_size, err);
	if (!m) {
		ck_err_prefix(err, "metadata \"arch\"");
		return NULL;
	}
	if (ck_model_load_params(m, in, err) < 0) {
		ck_model_free(m);
		return NULL;
	}
	return m;
}
