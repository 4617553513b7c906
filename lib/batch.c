/* batch.c: input normalisation (its metadata form and the statistics for
 * --normalize auto) and the gathering of examples into batches
 * (cnnkit/data.h). */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnnkit.h"
#include "threads_internal.h"

/* ---- the "normalize" metadata ---------------------------------------------- */

/* Parses a comma-separated list of floats up to end into v; returns the
 * count or -1. */
static int parse_floats(const char *s, const char *end, float *v, const char *what, ck_err *err)
{
	int n = 0;
	while (s < end) {
		if (n == CK_NORM_MAX_CHANNELS)
			return ck_err_set(err, "more than %d %s values", CK_NORM_MAX_CHANNELS, what);
		char *stop;
		errno = 0;
		float f = strtof(s, &stop);
		if (stop == s || (stop < end && *stop != ',') || stop > end)
			return ck_err_set(err, "%s: \"%.*s\" is not a list of numbers", what,
			                  (int)(end - s), s);
		if (!isfinite(f) || errno == ERANGE)
			return ck_err_set(err, "%s: \"%.*s\" is not a finite number", what,
			                  (int)(stop - s), s);
		v[n++] = f;
		s = stop < end ? stop + 1 : stop;
		if (stop < end && s == end)
			return ck_err_set(err, "%s: trailing comma", what);
	}
	return n;
}

int ck_normalize_parse(ck_normalize *norm, const char *text, ck_err *err)
{
	memset(norm, 0, sizeof *norm);
	if (!text[0] || strcmp(text, "none") == 0)
		return 0;
	const char *slash = strchr(text, '/');
	if (!slash || strchr(slash + 1, '/'))
		return ck_err_set(err, "normalisation \"%.80s\": expected MEAN/STD, e.g. 0.286/0.353 "
		                  "or 0.49,0.48,0.45/0.25,0.24,0.26", text);
	float mean[CK_NORM_MAX_CHANNELS], std[CK_NORM_MAX_CHANNELS];
	int nm = parse_floats(text, slash, mean, "mean", err);
	if (nm < 0)
		return -1;
	int ns = parse_floats(slash + 1, slash + 1 + strlen(slash + 1), std, "std", err);
	if (ns < 0)
		return -1;
	if (nm == 0 || nm != ns)
		return ck_err_set(err, "normalisation \"%.80s\": %d mean and %d std values", text, nm,
		                  ns);
	for (int c = 0; c < nm; c++)
		if (!(std[c] > 0))
			return ck_err_set(err, "normalisation \"%.80s\": std %g is not positive", text,
			                  (double)std[c]);
	norm->channels = nm;
	memcpy(norm->mean, mean, sizeof(float) * (size_t)nm);
	memcpy(norm->std, std, sizeof(float) * (size_t)nm);
	return 0;
}

/* The shortest %g form of f that strtof reads back as f. */
static int format_float(char *buf, size_t cap, float f)
{
	int len = 0;
	for (int prec = 1; prec <= 9; prec++) {
		len = snprintf(buf, cap, "%.*g", prec, (double)f);
		if (len < 0 || (size_t)len >= cap || strtof(buf, NULL) == f)
			break;
	}
	return len;
}

int ck_normalize_format(const ck_normalize *norm, char *buf, size_t cap)
{
	if (norm->channels == 0)
		return snprintf(buf, cap, "none") < (int)cap ? 4 : -1;
	size_t pos = 0;
	for (int part = 0; part < 2; part++) {
		const float *v = part == 0 ? norm->mean : norm->std;
		for (int c = 0; c < norm->channels; c++) {
			const char *sep = c > 0 ? "," : part > 0 ? "/" : "";
			if (pos + strlen(sep) >= cap)
				return -1;
			memcpy(buf + pos, sep, strlen(sep) + 1);
			pos += strlen(sep);
			int len = format_float(buf + pos, cap - pos, v[c]);
			if (len < 0 || (size_t)len >= cap - pos)
				return -1;
			pos += (size_t)len;
		}
	}
	if (cap > 0)
		buf[pos < cap ? pos : cap - 1] = '\0';
	return (int)pos;
}

int ck_normalize_check(const ck_normalize *norm, const ck_dataset *d, ck_err *err)
{
	if (!norm || norm->channels == 0)
		return 0;
	if (d->input_kind != CK_INPUT_F32)
		return ck_err_set(err, "normalisation needs f32 or u8 inputs, the data is token ids");
	if (norm->channels == 1)
		return 0;
	if (d->example_rank != 3 || d->example_shape[0] != norm->channels)
		return ck_err_set(err, "normalisation has %d channels, the data %s %" PRId64,
		                  norm->channels, d->example_rank == 3 ? "has" : "is not images, so 1",
		                  d->example_rank == 3 ? d->example_shape[0] : 1);
	return 0;
}

/* ---- statistics for --normalize auto ----------------------------------------- */

/* Examples per block of partial sums: fixed, so that the order of the sums
 * and thus the result do not depend on the thread count. */
#define STATS_BLOCK 64

int ck_dataset_channel_stats(const ck_dataset *d, const int64_t *idx, int64_t n,
                             ck_normalize *norm, ck_err *err)
{
	memset(norm, 0, sizeof *norm);
	if (d->input_kind != CK_INPUT_F32)
		return ck_err_set(err, "no channel statistics for token ids");
	if (n <= 0)
		return ck_err_set(err, "no examples for channel statistics");
	int64_t C = d->example_rank == 3 ? d->example_shape[0] : 1;
	if (C > CK_NORM_MAX_CHANNELS)
		return ck_err_set(err, "%" PRId64 " channels: at most %d are supported", C,
		                  CK_NORM_MAX_CHANNELS);
	int64_t per_channel = d->example_size / C; /* values of one channel of one example */
	int64_t nblocks = (n + STATS_BLOCK - 1) / STATS_BLOCK;
	double *part = calloc((size_t)(nblocks * C * 2), sizeof *part);
	if (!part)
		return ck_err_set(err, "out of memory");
	const uint8_t *x8 = d->x->data;
	const float *x32 = d->x->data;
#pragma omp parallel for schedule(dynamic) num_threads(ck_threads_or_default(d->threads))
	for (int64_t b = 0; b < nblocks; b++) {
		double *s = part + b * C * 2; /* (C,2): sum, sum of squares */
		int64_t end = (b + 1) * STATS_BLOCK < n ? (b + 1) * STATS_BLOCK : n;
		for (int64_t j = b * STATS_BLOCK; j < end; j++) {
			int64_t i = idx ? idx[j] : j;
			size_t base = (size_t)i * (size_t)d->example_size;
			for (int64_t c = 0; c < C; c++) {
				size_t off = base + (size_t)(c * per_channel);
				double sum = 0, sq = 0;
				for (int64_t k = 0; k < per_channel; k++) {
					double v = d->x_u8 ? (double)x8[off + k] : (double)x32[off + k];
					sum += v;
					sq += v * v;
				}
				s[2 * c] += sum;
				s[2 * c + 1] += sq;
			}
		}
	}
	double count = (double)n * (double)per_channel;
	double scale = d->x_u8 ? 255.0 : 1.0;
	int rc = 0;
	for (int64_t c = 0; c < C && rc == 0; c++) {
		double sum = 0, sq = 0;
		for (int64_t b = 0; b < nblocks; b++) {
			sum += part[(b * C + c) * 2];
			sq += part[(b * C + c) * 2 + 1];
		}
		double mean = sum / count;
		double var = sq / count - mean * mean;
		double sd = var > 0 ? sqrt(var) : 0;
		norm->mean[c] = (float)(mean / scale);
		norm->std[c] = (float)(sd / scale);
		if (!(norm->std[c] > 0))
			rc = ck_err_set(err, "channel %" PRId64 " is constant (std 0): it cannot be "
			                "normalised", c);
	}
	free(part);
	if (rc == 0)
		norm->channels = (int)C;
	else
		memset(norm, 0, sizeof *norm);
	return rc;
}

/* ---- batches ------------------------------------------------------------------ */

void ck_dataset_batch(const ck_dataset *d, const int64_t *idx, int n, const ck_normalize *norm,
                      const ck_augment *aug, void *x, int32_t *lengths, int32_t *labels,
                      float *targets)
{
	int64_t size = d->example_size;
	int augment = aug && (aug->flip || aug->crop_pad > 0);
	int normalise = norm && norm->channels > 0;
	int64_t C = d->example_rank == 3 ? d->example_shape[0] : 1;
	int H = d->example_rank == 3 ? (int)d->example_shape[1] : 1;
	int W = d->example_rank == 3 ? (int)d->example_shape[2] : (int)size;
	int64_t per_channel = norm && norm->channels > 1 ? size / C : size;
#pragma omp parallel for schedule(static) num_threads(ck_threads_or_default(d->threads))
	for (int b = 0; b < n; b++) {
		int64_t i = idx[b];
		size_t src = (size_t)i * (size_t)size, dst = (size_t)b * (size_t)size;
		if (d->input_kind == CK_INPUT_TOKENS) {
			memcpy((int32_t *)x + dst, (const int32_t *)d->x->data + src,
			       (size_t)size * sizeof(int32_t));
			continue;
		}
		float *out = (float *)x + dst;
		if (augment) {
			int flip, dy, dx;
			ck_augment_decide(aug, i, &flip, &dy, &dx);
			const void *in = d->x_u8 ? (const void *)((const uint8_t *)d->x->data + src)
			                         : (const void *)((const float *)d->x->data + src);
			ck_augment_image(out, in, d->x_u8, (int)C, H, W, flip, dy, dx);
		} else if (d->x_u8) {
			const uint8_t *in = (const uint8_t *)d->x->data + src;
			for (int64_t k = 0; k < size; k++)
				out[k] = (float)in[k] / 255.0f;
		} else {
			memcpy(out, (const float *)d->x->data + src, (size_t)size * sizeof(float));
		}
		if (normalise) {
			/* (x - mean) / std in float, as torchvision's Normalize. */
			for (int64_t k = 0; k < size; k++) {
				int c = norm->channels > 1 ? (int)(k / per_channel) : 0;
				out[k] = (out[k] - norm->mean[c]) / norm->std[c];
			}
		}
	}
	if (lengths) {
		const int32_t *len = d->lengths ? d->lengths->data : NULL;
		for (int b = 0; b < n; b++)
			lengths[b] = len ? len[idx[b]] : (int32_t)d->example_shape[0];
	}
	if (labels) {
		const int32_t *y = d->y->data;
		for (int b = 0; b < n; b++)
			labels[b] = y[idx[b]];
	}
	if (targets) {
		if (d->label_kind == CK_LABELS_CLASS) {
			const int32_t *y = d->y->data;
			for (int b = 0; b < n; b++)
				targets[b] = (float)y[idx[b]];
		} else {
			const float *y = d->y->data;
			size_t K = (size_t)d->ntargets;
			for (int b = 0; b < n; b++)
				memcpy(targets + (size_t)b * K, y + (size_t)idx[b] * K, K * sizeof(float));
		}
	}
}
