/* train_config.c: the settings of a training run, as named text values.
 *
 * One table maps each setting (named as cnn-train's long option) to a parser
 * and a formatter, so the command line, the checkpoint metadata and the
 * --resume conflict check all read and write the same syntax. Numbers are
 * formatted in the shortest form that reads back exactly. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnnkit/train.h"

const char *const ck_train_keys[] = {
	"arch", "train", "val", "init", "output", "checkpoint", "log", "created_by",
	"loss", "optim", "lr", "momentum", "weight-decay", "schedule", "warmup", "clip",
	"batch", "epochs", "seed", "threads", "val-split", "normalize", "augment",
	"patience", "keep-best", "log-every", NULL,
};

void ck_train_config_init(ck_train_config *c)
{
	memset(c, 0, sizeof *c);
	c->optim = ck_optim_defaults(CK_OPTIM_MOMENTUM);
	c->optim.weight_decay = 0;
	c->lr = 0.01;
	c->schedule = CK_LR_CONSTANT;
	c->step_gamma = 0.1;
	c->batch = 64;
	c->epochs = 10;
	c->seed = 1;
}

void ck_train_config_free(ck_train_config *c)
{
	char **strs[] = {&c->arch, &c->train, &c->val, &c->init, &c->output,
	                 &c->checkpoint, &c->log, &c->created_by, &c->resume};
	for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
		free(*strs[i]);
		*strs[i] = NULL;
	}
}

/* ---- number parsing ------------------------------------------------------ */

static int parse_double(const char *key, const char *s, double lo, double hi, int lo_open,
                        double *out, ck_err *err)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (end == s || *end || errno == ERANGE || !isfinite(v))
		return ck_err_set(err, "%s \"%s\" is not a number", key, s);
	if (v < lo || (lo_open && v == lo) || v > hi) {
		if (hi == HUGE_VAL)
			return ck_err_set(err, "%s %s is out of range (expected %s %g)", key, s,
			                  lo_open ? ">" : ">=", lo);
		return ck_err_set(err, "%s %s is out of range (expected %g %s x <= %g)", key, s,
		                  lo, lo_open ? "<" : "<=", hi);
	}
	*out = v;
	return 0;
}

static int parse_i64(const char *key, const char *s, int64_t lo, int64_t hi, int64_t *out,
                     ck_err *err)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (end == s || *end || (*s != '-' && (*s < '0' || *s > '9')))
		return ck_err_set(err, "%s \"%s\" is not an integer", key, s);
	if (errno == ERANGE || v < lo || v > hi)
		return ck_err_set(err, "%s %s is out of range (expected %lld to %lld)", key, s,
		                  (long long)lo, (long long)hi);
	*out = v;
	return 0;
}

static int parse_int(const char *key, const char *s, int lo, int hi, int *out, ck_err *err)
{
	int64_t v;
	if (parse_i64(key, s, lo, hi, &v, err) < 0)
		return -1;
	*out = (int)v;
	return 0;
}

/* The shortest %g form of v that reads back as v. */
static int fmt_double(char *buf, size_t cap, double v)
{
	int n = 0;
	for (int prec = 1; prec <= 17; prec++) {
		n = snprintf(buf, cap, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	return n;
}

static int set_string(char **dst, const char *value, ck_err *err)
{
	char *s = NULL;
	if (value && *value && !(s = strdup(value)))
		return ck_err_set(err, "out of memory");
	free(*dst);
	*dst = s;
	return 0;
}

/* ---- composite values ---------------------------------------------------- */

static const char *const optim_names[] = {
	[CK_OPTIM_SGD] = "sgd", [CK_OPTIM_MOMENTUM] = "momentum",
	[CK_OPTIM_NESTEROV] = "nesterov", [CK_OPTIM_ADAM] = "adam", [CK_OPTIM_ADAMW] = "adamw",
};

static int set_optim(ck_train_config *c, const char *v, ck_err *err)
{
	for (int k = 0; k < (int)(sizeof optim_names / sizeof optim_names[0]); k++)
		if (strcmp(v, optim_names[k]) == 0) {
			/* Keep momentum and weight decay: they may be given before --optim. */
			ck_optim_config d = ck_optim_defaults((ck_optim_kind)k);
			d.momentum = c->optim.momentum;
			d.weight_decay = c->optim.weight_decay;
			c->optim = d;
			return 0;
		}
	return ck_err_set(err, "optim \"%s\" is unknown (expected sgd, momentum, nesterov, "
	                  "adam or adamw)", v);
}

/* constant | cosine | step:N:G */
static int set_schedule(ck_train_config *c, const char *v, ck_err *err)
{
	if (strcmp(v, "constant") == 0) {
		c->schedule = CK_LR_CONSTANT;
		return 0;
	}
	if (strcmp(v, "cosine") == 0) {
		c->schedule = CK_LR_COSINE;
		return 0;
	}
	if (strncmp(v, "step:", 5) == 0) {
		char buf[64];
		const char *colon = strchr(v + 5, ':');
		size_t len = colon ? (size_t)(colon - (v + 5)) : 0;
		if (!colon || len >= sizeof buf)
			return ck_err_set(err, "schedule \"%s\": expected step:N:G, e.g. step:5:0.1", v);
		memcpy(buf, v + 5, len);
		buf[len] = '\0';
		int64_t n;
		double g;
		if (parse_i64("schedule step N", buf, 1, 1000000, &n, err) < 0 ||
		    parse_double("schedule step G", colon + 1, 0, 1, 1, &g, err) < 0)
			return -1;
		c->schedule = CK_LR_STEP;
		c->step_epochs = n;
		c->step_gamma = g;
		return 0;
	}
	return ck_err_set(err, "schedule \"%s\" is unknown (expected constant, cosine or "
	                  "step:N:G)", v);
}

/* none | auto | MEAN/STD | M1,M2,M3/S1,S2,S3 | M,S (one channel) */
static int set_normalize(ck_train_config *c, const char *v, ck_err *err)
{
	if (strcmp(v, "none") == 0) {
		c->norm_mode = CK_NORM_NONE;
		memset(&c->norm, 0, sizeof c->norm);
		return 0;
	}
	if (strcmp(v, "auto") == 0) {
		c->norm_mode = CK_NORM_AUTO;
		memset(&c->norm, 0, sizeof c->norm);
		return 0;
	}
	char buf[1024];
	if (strlen(v) >= sizeof buf)
		return ck_err_set(err, "normalize value is too long");
	strcpy(buf, v);
	const char *comma = strchr(buf, ',');
	if (!strchr(buf, '/') && comma && !strchr(comma + 1, ','))
		buf[comma - buf] = '/'; /* "M,S" */
	if (ck_normalize_parse(&c->norm, buf, err) < 0)
		return ck_err_prefix(err, "normalize \"%s\"", v);
	c->norm_mode = c->norm.channels ? CK_NORM_GIVEN : CK_NORM_NONE;
	return 0;
}

/* none | flip | crop=P | flip,crop=P (either order) */
static int set_augment(ck_train_config *c, const char *v, ck_err *err)
{
	ck_augment a = {0};
	char buf[128];
	if (strlen(v) >= sizeof buf)
		return ck_err_set(err, "augment \"%.40s...\" is too long", v);
	strcpy(buf, v);
	if (strcmp(buf, "none") != 0)
		for (char *tok = buf, *next; tok; tok = next) {
			next = strchr(tok, ',');
			if (next)
				*next++ = '\0';
			if (strcmp(tok, "flip") == 0)
				a.flip = 1;
			else if (strncmp(tok, "crop=", 5) == 0) {
				if (parse_int("augment crop", tok + 5, 1, 1024, &a.crop_pad, err) < 0)
					return -1;
			} else
				return ck_err_set(err, "augment \"%s\": unknown \"%s\" (expected flip, "
				                  "crop=P or both, comma-separated)", v, tok);
		}
	c->augment = a;
	return 0;
}

static const char *const keep_names[] = {
	[CK_KEEP_AUTO] = "auto", [CK_KEEP_LAST] = "last",
	[CK_KEEP_VAL_LOSS] = "val_loss", [CK_KEEP_VAL_ACC] = "val_acc",
};

int ck_train_set(ck_train_config *c, const char *key, const char *v, ck_err *err)
{
	if (!v)
		v = "";
	if (strcmp(key, "arch") == 0)
		return set_string(&c->arch, v, err);
	if (strcmp(key, "train") == 0)
		return set_string(&c->train, v, err);
	if (strcmp(key, "val") == 0)
		return set_string(&c->val, v, err);
	if (strcmp(key, "init") == 0)
		return set_string(&c->init, v, err);
	if (strcmp(key, "output") == 0)
		return set_string(&c->output, v, err);
	if (strcmp(key, "checkpoint") == 0)
		return set_string(&c->checkpoint, v, err);
	if (strcmp(key, "log") == 0)
		return set_string(&c->log, v, err);
	if (strcmp(key, "created_by") == 0)
		return set_string(&c->created_by, v, err);
	if (strcmp(key, "loss") == 0) {
		if (strcmp(v, "auto") == 0) {
			c->loss = 0;
			return 0;
		}
		if (ck_loss_parse(v, &c->loss) < 0)
			return ck_err_set(err, "loss \"%s\" is unknown (expected mse, bce or cce)", v);
		return 0;
	}
	if (strcmp(key, "optim") == 0)
		return set_optim(c, v, err);
	if (strcmp(key, "lr") == 0)
		return parse_double("lr", v, 0, HUGE_VAL, 1, &c->lr, err);
	if (strcmp(key, "momentum") == 0)
		return parse_double("momentum", v, 0, 1, 0, &c->optim.momentum, err) < 0 ? -1
		       : c->optim.momentum < 1 ? 0
		       : ck_err_set(err, "momentum %s is out of range (expected 0 <= x < 1)", v);
	if (strcmp(key, "weight-decay") == 0)
		return parse_double("weight-decay", v, 0, HUGE_VAL, 0, &c->optim.weight_decay, err);
	if (strcmp(key, "schedule") == 0)
		return set_schedule(c, v, err);
	if (strcmp(key, "warmup") == 0)
		return parse_i64("warmup", v, 0, INT64_C(1) << 40, &c->warmup, err);
	if (strcmp(key, "clip") == 0)
		return parse_double("clip", v, 0, HUGE_VAL, 0, &c->clip, err);
	if (strcmp(key, "batch") == 0)
		return parse_int("batch", v, 1, 1 << 20, &c->batch, err);
	if (strcmp(key, "epochs") == 0)
		return parse_int("epochs", v, 1, 1000000, &c->epochs, err);
	if (strcmp(key, "seed") == 0) {
		char *end;
		errno = 0;
		unsigned long long s = strtoull(v, &end, 10);
		if (*v < '0' || *v > '9' || *end || errno)
			return ck_err_set(err, "seed \"%s\" is not an integer from 0 to 2^64-1", v);
		c->seed = s;
		return 0;
	}
	if (strcmp(key, "threads") == 0)
		return parse_int("threads", v, 0, 4096, &c->threads, err);
	if (strcmp(key, "val-split") == 0) {
		if (parse_double("val-split", v, 0, 1, 0, &c->val_split, err) < 0)
			return -1;
		if (c->val_split >= 1)
			return ck_err_set(err, "val-split %s is out of range (expected 0 <= x < 1)", v);
		return 0;
	}
	if (strcmp(key, "normalize") == 0)
		return set_normalize(c, v, err);
	if (strcmp(key, "augment") == 0)
		return set_augment(c, v, err);
	if (strcmp(key, "patience") == 0)
		return parse_int("patience", v, 0, 1000000, &c->patience, err);
	if (strcmp(key, "keep-best") == 0) {
		for (int k = 0; k < (int)(sizeof keep_names / sizeof keep_names[0]); k++)
			if (strcmp(v, keep_names[k]) == 0) {
				c->keep_best = (ck_keep_best)k;
				return 0;
			}
		return ck_err_set(err, "keep-best \"%s\" is unknown (expected val_loss, val_acc, "
		                  "last or auto)", v);
	}
	if (strcmp(key, "log-every") == 0)
		return parse_int("log-every", v, 0, 1 << 30, &c->log_every, err);
	return ck_err_set(err, "unknown setting \"%s\"", key);
}

static int get_string(const char *s, char *buf, size_t cap)
{
	return snprintf(buf, cap, "%s", s ? s : "");
}

int ck_train_get(const ck_train_config *c, const char *key, char *buf, size_t cap)
{
	if (strcmp(key, "arch") == 0)
		return get_string(c->arch, buf, cap);
	if (strcmp(key, "train") == 0)
		return get_string(c->train, buf, cap);
	if (strcmp(key, "val") == 0)
		return get_string(c->val, buf, cap);
	if (strcmp(key, "init") == 0)
		return get_string(c->init, buf, cap);
	if (strcmp(key, "output") == 0)
		return get_string(c->output, buf, cap);
	if (strcmp(key, "checkpoint") == 0)
		return get_string(c->checkpoint, buf, cap);
	if (strcmp(key, "log") == 0)
		return get_string(c->log, buf, cap);
	if (strcmp(key, "created_by") == 0)
		return get_string(c->created_by, buf, cap);
	if (strcmp(key, "loss") == 0)
		return snprintf(buf, cap, "%s", c->loss ? ck_loss_name(c->loss) : "auto");
	if (strcmp(key, "optim") == 0)
		return snprintf(buf, cap, "%s", optim_names[c->optim.kind]);
	if (strcmp(key, "lr") == 0)
		return fmt_double(buf, cap, c->lr);
	if (strcmp(key, "momentum") == 0)
		return fmt_double(buf, cap, c->optim.momentum);
	if (strcmp(key, "weight-decay") == 0)
		return fmt_double(buf, cap, c->optim.weight_decay);
	if (strcmp(key, "schedule") == 0) {
		if (c->schedule == CK_LR_STEP) {
			int n = snprintf(buf, cap, "step:%lld:", (long long)c->step_epochs);
			return n + fmt_double(buf + n, cap > (size_t)n ? cap - (size_t)n : 0,
			                      c->step_gamma);
		}
		return snprintf(buf, cap, "%s", c->schedule == CK_LR_COSINE ? "cosine" : "constant");
	}
	if (strcmp(key, "warmup") == 0)
		return snprintf(buf, cap, "%lld", (long long)c->warmup);
	if (strcmp(key, "clip") == 0)
		return fmt_double(buf, cap, c->clip);
	if (strcmp(key, "batch") == 0)
		return snprintf(buf, cap, "%d", c->batch);
	if (strcmp(key, "epochs") == 0)
		return snprintf(buf, cap, "%d", c->epochs);
	if (strcmp(key, "seed") == 0)
		return snprintf(buf, cap, "%llu", (unsigned long long)c->seed);
	if (strcmp(key, "threads") == 0)
		return snprintf(buf, cap, "%d", c->threads);
	if (strcmp(key, "val-split") == 0)
		return fmt_double(buf, cap, c->val_split);
	if (strcmp(key, "normalize") == 0) {
		if (c->norm_mode == CK_NORM_AUTO)
			return snprintf(buf, cap, "auto");
		if (c->norm_mode == CK_NORM_NONE)
			return snprintf(buf, cap, "none");
		return ck_normalize_format(&c->norm, buf, cap);
	}
	if (strcmp(key, "augment") == 0) {
		const ck_augment *a = &c->augment;
		if (!a->flip && !a->crop_pad)
			return snprintf(buf, cap, "none");
		if (a->flip && a->crop_pad)
			return snprintf(buf, cap, "flip,crop=%d", a->crop_pad);
		return a->flip ? snprintf(buf, cap, "flip") : snprintf(buf, cap, "crop=%d", a->crop_pad);
	}
	if (strcmp(key, "patience") == 0)
		return snprintf(buf, cap, "%d", c->patience);
	if (strcmp(key, "keep-best") == 0)
		return snprintf(buf, cap, "%s", keep_names[c->keep_best]);
	if (strcmp(key, "log-every") == 0)
		return snprintf(buf, cap, "%d", c->log_every);
	if (cap)
		buf[0] = '\0';
	return -1;
}

/* Settings that name files: given again with --resume, they replace the
 * stored ones (the files may have moved). */
static int is_path_key(const char *key)
{
	static const char *const paths[] = {"train", "val", "init", "output", "checkpoint", "log",
	                                    "created_by"};
	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
		if (strcmp(key, paths[i]) == 0)
			return 1;
	return 0;
}

int ck_train_check_resume(const ck_train_config *stored, const ck_train_config *given,
                          const char *const *keys, int n, ck_err *err)
{
	for (int i = 0; i < n; i++) {
		if (strcmp(keys[i], "epochs") == 0 || is_path_key(keys[i]))
			continue;
		/* arch values can be long: compare them whole, print them short. */
		size_t cap = 1 << 16;
		char *a = malloc(cap), *b = malloc(cap);
		if (!a || !b) {
			free(a);
			free(b);
			return ck_err_set(err, "out of memory");
		}
		int rc = 0;
		if (ck_train_get(stored, keys[i], a, cap) < 0)
			rc = ck_err_set(err, "unknown setting \"%s\"", keys[i]);
		else if (ck_train_get(given, keys[i], b, cap) >= 0 && strcmp(a, b) != 0)
			rc = ck_err_set(err, "--%s %.80s conflicts with the checkpoint's %.80s", keys[i],
			                b, a);
		free(a);
		free(b);
		if (rc < 0)
			return -1;
	}
	return 0;
}
