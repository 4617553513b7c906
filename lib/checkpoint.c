/* checkpoint.c: a training run's state in a TNZ file.
 *
 * A checkpoint is a model file (ck_model_to_tnz) plus
 *   tensors   optim.m.<param>, optim.v.<param>  (P) f32, for each trainable
 *             parameter, as many as the optimiser keeps (none for sgd);
 *   metadata  train.<setting>  every setting of ck_train_keys, as text;
 *             train.epoch, train.position, train.step, train.seconds,
 *             train.loss_sum, train.correct, train.seen, train.win_loss,
 *             train.win_correct, train.win_seen, train.best,
 *             train.best_epoch, train.bad_epochs  (struct ck_train_state);
 *             and the model file's classes, vocab, tokenizer, normalize, loss.
 * Doubles are written with 17 significant digits, so they read back exactly
 * and a resumed run continues with the very same sums. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train_internal.h"

static size_t param_offset(const ck_model *m, int i)
{
	ck_model *mm = (ck_model *)m;
	return (size_t)(ck_model_param(mm, i) - ck_model_params(mm, NULL));
}

static int put_i64(ck_tnz *t, const char *key, int64_t v, ck_err *err)
{
	char buf[32];
	snprintf(buf, sizeof buf, "%lld", (long long)v);
	return ck_meta_set(&t->meta, key, buf, (size_t)-1, err);
}

static int put_f64(ck_tnz *t, const char *key, double v, ck_err *err)
{
	char buf[40];
	snprintf(buf, sizeof buf, "%.17g", v);
	return ck_meta_set(&t->meta, key, buf, (size_t)-1, err);
}

int ck_checkpoint_save(const char *path, const ck_model *m, const ck_train_optim *opt,
                       const ck_train_config *cfg, const ck_train_state *st,
                       const ck_meta *info, int threads, ck_err *err)
{
	ck_tnz t = {0};
	int rc = -1;
	size_t cap = 1 << 16;
	char *buf = malloc(cap);
	if (!buf) {
		ck_err_set(err, "out of memory");
		goto out;
	}
	if (ck_model_to_tnz(m, &t, err) < 0 || ck_meta_merge(&t.meta, info, err) < 0)
		goto out;

	const ck_arch *a = ck_model_arch(m);
	float *states[2] = {opt->m, opt->v};
	const char *prefixes[2] = {"optim.m.", "optim.v."};
	for (int s = 0; s < opt->count; s++)
		for (int i = 0; i < a->nparams; i++) {
			const ck_arch_param *p = &a->params[i];
			if (!p->trainable)
				continue;
			char name[CK_TNZ_MAX_NAME + 1];
			snprintf(name, sizeof name, "%s%s", prefixes[s], p->name);
			if (!ck_tnz_add(&t, name, CK_DTYPE_F32, p->rank, p->shape,
			                states[s] + param_offset(m, i), err))
				goto out;
		}

	for (int k = 0; ck_train_keys[k]; k++) {
		char key[64];
		snprintf(key, sizeof key, "train.%s", ck_train_keys[k]);
		int n = ck_train_get(cfg, ck_train_keys[k], buf, cap);
		if (n < 0 || (size_t)n >= cap) {
			/* only the arch can be this long */
			ck_err_set(err, "setting %s is longer than %zu bytes", ck_train_keys[k], cap);
			goto out;
		}
		if (ck_meta_set(&t.meta, key, buf, (size_t)-1, err) < 0)
			goto out;
	}
	if (put_i64(&t, "train.epoch", st->epoch, err) < 0 ||
	    put_i64(&t, "train.position", st->position, err) < 0 ||
	    put_i64(&t, "train.step", st->step, err) < 0 ||
	    put_f64(&t, "train.seconds", st->seconds, err) < 0 ||
	    put_f64(&t, "train.loss_sum", st->loss_sum, err) < 0 ||
	    put_f64(&t, "train.correct", st->correct, err) < 0 ||
	    put_i64(&t, "train.seen", st->seen, err) < 0 ||
	    put_f64(&t, "train.win_loss", st->win_loss, err) < 0 ||
	    put_f64(&t, "train.win_correct", st->win_correct, err) < 0 ||
	    put_i64(&t, "train.win_seen", st->win_seen, err) < 0 ||
	    put_f64(&t, "train.best", st->best, err) < 0 ||
	    put_i64(&t, "train.best_epoch", st->best_epoch, err) < 0 ||
	    put_i64(&t, "train.bad_epochs", st->bad_epochs, err) < 0)
		goto out;

	ck_tnz_opts o = CK_TNZ_OPTS_DEFAULT;
	o.threads = threads;
	rc = ck_tnz_save(&t, path, &o, err);
out:
	free(buf);
	ck_tnz_free(&t);
	if (rc < 0)
		ck_err_prefix(err, "checkpoint %s", path);
	return rc;
}

static const char *need(const ck_tnz *t, const char *key, ck_err *err)
{
	const char *v = ck_meta_get(&t->meta, key, NULL);
	if (!v)
		ck_err_set(err, "no metadata \"%s\"", key);
	return v;
}

int ck_checkpoint_config(const ck_tnz *t, ck_train_config *cfg, ck_err *err)
{
	if (!ck_meta_get(&t->meta, "train.epoch", NULL))
		return ck_err_set(err, "not a checkpoint (no train.* metadata; a model file "
		                  "goes to --init)");
	for (int k = 0; ck_train_keys[k]; k++) {
		char key[64];
		snprintf(key, sizeof key, "train.%s", ck_train_keys[k]);
		const char *v = need(t, key, err);
		if (!v || ck_train_set(cfg, ck_train_keys[k], v, err) < 0)
			return -1;
	}
	return 0;
}

static int get_i64(const ck_tnz *t, const char *key, int64_t lo, int64_t hi, int64_t *out,
                   ck_err *err)
{
	const char *v = need(t, key, err);
	if (!v)
		return -1;
	char *end;
	errno = 0;
	long long x = strtoll(v, &end, 10);
	if (end == v || *end || errno || x < lo || x > hi)
		return ck_err_set(err, "metadata \"%s\" is \"%.40s\": expected an integer from "
		                  "%lld to %lld", key, v, (long long)lo, (long long)hi);
	*out = x;
	return 0;
}

static int get_f64(const ck_tnz *t, const char *key, double *out, ck_err *err)
{
	const char *v = need(t, key, err);
	if (!v)
		return -1;
	char *end;
	double x = strtod(v, &end);
	if (end == v || *end || !isfinite(x))
		return ck_err_set(err, "metadata \"%s\" is \"%.40s\": expected a number", key, v);
	*out = x;
	return 0;
}

int ck_checkpoint_state(const ck_tnz *t, const ck_model *m, ck_train_optim *opt,
                        ck_train_state *st, ck_err *err)
{
	int64_t epoch, best_epoch, bad;
	memset(st, 0, sizeof *st);
	if (get_i64(t, "train.epoch", 0, 1000000, &epoch, err) < 0 ||
	    get_i64(t, "train.position", 0, INT64_MAX, &st->position, err) < 0 ||
	    get_i64(t, "train.step", 0, INT64_MAX, &st->step, err) < 0 ||
	    get_f64(t, "train.seconds", &st->seconds, err) < 0 ||
	    get_f64(t, "train.loss_sum", &st->loss_sum, err) < 0 ||
	    get_f64(t, "train.correct", &st->correct, err) < 0 ||
	    get_i64(t, "train.seen", 0, INT64_MAX, &st->seen, err) < 0 ||
	    get_f64(t, "train.win_loss", &st->win_loss, err) < 0 ||
	    get_f64(t, "train.win_correct", &st->win_correct, err) < 0 ||
	    get_i64(t, "train.win_seen", 0, INT64_MAX, &st->win_seen, err) < 0 ||
	    get_f64(t, "train.best", &st->best, err) < 0 ||
	    get_i64(t, "train.best_epoch", 0, 1000000, &best_epoch, err) < 0 ||
	    get_i64(t, "train.bad_epochs", 0, 1000000, &bad, err) < 0)
		return -1;
	st->epoch = (int)epoch;
	st->best_epoch = (int)best_epoch;
	st->bad_epochs = (int)bad;

	const ck_arch *a = ck_model_arch(m);
	float *states[2] = {opt->m, opt->v};
	const char *prefixes[2] = {"optim.m.", "optim.v."};
	for (int s = 0; s < opt->count; s++)
		for (int i = 0; i < a->nparams; i++) {
			const ck_arch_param *p = &a->params[i];
			if (!p->trainable)
				continue;
			char name[CK_TNZ_MAX_NAME + 1];
			snprintf(name, sizeof name, "%s%s", prefixes[s], p->name);
			const ck_tensor *x = ck_tnz_find(t, name);
			if (!x)
				return ck_err_set(err, "no tensor \"%s\" (the optimiser state)", name);
			if (x->dtype != CK_DTYPE_F32 || x->nbytes != (size_t)p->count * sizeof(float))
				return ck_err_set(err, "tensor \"%s\" is not %lld f32 values", name,
				                  (long long)p->count);
			const float *v = x->data;
			for (int64_t j = 0; j < p->count; j++)
				if (!isfinite(v[j]))
					return ck_err_set(err, "tensor \"%s\" holds a non-finite value", name);
			memcpy(states[s] + param_offset(m, i), x->data, x->nbytes);
		}
	return 0;
}
