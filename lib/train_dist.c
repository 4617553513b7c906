/* train_dist.c: what the training loop does to train data-parallel over
 * several processes (cnnkit/dist.h: MPI, or one process).
 *
 * Each rank holds the whole model and takes its share of every global batch;
 * its gradient, scaled by its share, is summed over the ranks (an
 * allreduce), so that every rank makes the same optimiser step as one
 * process would on the whole batch. Rank 0's state is the reference: it is
 * broadcast at the start and at the end of every epoch. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cnnkit/dist.h"
#include "train_internal.h"

void ck_train_share(int64_t n, int rank, int size, int64_t *lo, int64_t *count)
{
	int64_t base = n / size, extra = n % size;
	*count = base + (rank < extra);
	*lo = rank * base + (rank < extra ? rank : extra);
}

char *ck_train_rank_path(const char *path, int rank)
{
	char num[16];
	int numlen = snprintf(num, sizeof num, "%d", rank);
	size_t len = 0;
	for (const char *p = path; *p; p++, len++)
		if (p[0] == '%' && p[1] == 'r') {
			len += (size_t)numlen - 1;
			p++;
		}
	char *out = malloc(len + 1), *o = out;
	if (!out)
		return NULL;
	for (const char *p = path; *p; p++)
		if (p[0] == '%' && p[1] == 'r') {
			memcpy(o, num, (size_t)numlen);
			o += numlen;
			p++;
		} else
			*o++ = *p;
	*o = '\0';
	return out;
}

int ck_train_gather(double value, double **values, ck_err *err)
{
	int size = ck_dist_size();
	double *v = calloc((size_t)size, sizeof *v);
	if (!v)
		return ck_err_set(err, "out of memory");
	v[ck_dist_rank()] = value;
	ck_dist_sum_f64(v, (size_t)size);
	*values = v;
	return 0;
}

void ck_train_pool_norm(ck_normalize *norm, int64_t n)
{
	enum { C = CK_NORM_MAX_CHANNELS };
	/* examples, then per channel: examples x mean, examples x mean square */
	double sums[1 + 2 * C] = {0};
	sums[0] = (double)n;
	for (int c = 0; c < norm->channels; c++) {
		double m = norm->mean[c], s = norm->std[c];
		sums[1 + c] = (double)n * m;
		sums[1 + C + c] = (double)n * (s * s + m * m);
	}
	ck_dist_sum_f64(sums, sizeof sums / sizeof sums[0]);
	for (int c = 0; c < norm->channels; c++) {
		double m = sums[1 + c] / sums[0], var = sums[1 + C + c] / sums[0] - m * m;
		norm->mean[c] = (float)m;
		/* at least the mean of the ranks' variances, each > 0 (checked); the
		 * guard is for rounding */
		norm->std[c] = (float)sqrt(var > 0 ? var : 0);
	}
}

/* Calls fn on each range of block (laid out as the parameters) that holds
 * trainable parameters, or buffers when buffers is set; adjacent ones merged,
 * so that a collective moves one range, not one tensor, at a time. */
typedef void (*range_fn)(float *block, size_t off, size_t n);

static void each_range(ck_model *m, float *block, int buffers, range_fn fn)
{
	const ck_arch *a = ck_model_arch(m);
	size_t lo = 0, hi = 0; /* the open range [lo, hi) */
	for (int i = 0; i < a->nparams; i++) {
		const ck_arch_param *p = &a->params[i];
		if (!(buffers ? p->buffer : p->trainable))
			continue;
		size_t off = ck_model_param_offset(m, i);
		if (off != hi) {
			if (hi > lo)
				fn(block, lo, hi - lo);
			lo = off;
		}
		hi = off + (size_t)p->count;
	}
	if (hi > lo)
		fn(block, lo, hi - lo);
}

static void sum_range(float *block, size_t off, size_t n)
{
	ck_dist_sum_f32(block + off, n);
}

static void average_range(float *block, size_t off, size_t n)
{
	ck_dist_sum_f32(block + off, n);
	/* running statistics, at a checkpoint: rare and small, one thread */
	ck_scale(block + off, n, 1.0f / (float)ck_dist_size(), 1);
}

void ck_train_sum_grads(ck_model *m)
{
	each_range(m, ck_model_grads(m), 0, sum_range);
}

static void broadcast_state(ck_model *m, ck_train_optim *opt)
{
	size_t n;
	float *params = ck_model_params(m, &n);
	ck_dist_broadcast(params, n * sizeof *params);
	if (opt->m)
		ck_dist_broadcast(opt->m, n * sizeof *opt->m);
	if (opt->v)
		ck_dist_broadcast(opt->v, n * sizeof *opt->v);
}

void ck_train_dist_sync(ck_model *m, ck_train_optim *opt)
{
	each_range(m, ck_model_params(m, NULL), 1, average_range);
	broadcast_state(m, opt);
}

/* FNV-1a over the parameters' shapes: equal on ranks that built the same model. */
static uint64_t layout_hash(const ck_model *m)
{
	const ck_arch *a = ck_model_arch(m);
	uint64_t h = 0xcbf29ce484222325ULL;
	for (int i = 0; i < a->nparams; i++)
		for (int d = 0; d < a->params[i].rank; d++) {
			h ^= (uint64_t)a->params[i].shape[d];
			h *= 0x100000001b3ULL;
		}
	return h;
}

int ck_train_dist_start(ck_model *m, ck_train_optim *opt, ck_train_state *st, ck_normalize *norm,
                        int64_t batches, ck_err *err)
{
	size_t n;
	ck_model_params(m, &n);
	int64_t mine[4] = {(int64_t)layout_hash(m), (int64_t)n, opt->count, batches}, zero[4];
	memcpy(zero, mine, sizeof zero);
	ck_dist_broadcast(zero, sizeof zero);
	if (memcmp(mine, zero, sizeof mine) != 0)
		return ck_err_set(err, "this rank's model (%lld parameters) or epoch (%lld batches) "
		                  "differs from rank 0's (%lld, %lld): every rank must build the same "
		                  "model and step through epochs of the same length", (long long)mine[1],
		                  (long long)mine[3], (long long)zero[1], (long long)zero[3]);
	broadcast_state(m, opt);
	ck_dist_broadcast(st, sizeof *st);
	ck_dist_broadcast(norm, sizeof *norm);
	return 0;
}
