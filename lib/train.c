/* train.c: the training loop.
 *
 * A run: load the data, build (or resume) the model, then for each epoch
 * visit the training examples in an order fixed by (seed, epoch), batch by
 * batch: gather (augment, normalise), forward, loss, backward, clip, one
 * optimiser step. At the end of an epoch: validate, write the model file when
 * the keep-best metric improves, log, write a checkpoint, check patience.
 * Every buffer is allocated before the first step.
 *
 * Data parallel (mpirun -np P, cnnkit/dist.h): --batch is the global batch.
 * Every rank visits the same epoch order and takes its consecutive share of
 * each global batch (ck_train_share), or, with "%r" in the training file's
 * name, its share of the batch from its own file; the gradients, each scaled
 * by the rank's share, are summed over the ranks before the optimiser step,
 * which is then the one-process step up to rounding. Rank 0 alone writes the
 * model, the checkpoint and the log and calls the callbacks; the checkpoint
 * holds only global state, so it resumes on any number of ranks. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "cnnkit/dist.h"
#include "train_internal.h"

/* Domain keys, so that the streams of the seed do not overlap. */
#define KEY_ORDER 0x6f72646572ULL  /* "order": epoch permutations */
#define KEY_DROPOUT 0x64726f70ULL  /* "drop": dropout masks, per global step */
#define KEY_AUGMENT 0x61756700ULL  /* "aug": augmentation decisions */
#define KEY_RANK 0x72616e6bULL     /* "rank": the streams of ranks other than 0 */

typedef struct run {
	ck_train_config *cfg;
	const ck_train_callbacks *cb;
	ck_train_result *res;
	int threads;
	ck_dataset train, valfile;
	const ck_dataset *vd;       /* &valfile, &train (split) or NULL */
	int64_t *tr, ntr, *va, nva; /* example indices */
	ck_model *m;
	ck_loss_kind loss;
	int K;
	int class_acc;              /* training accuracy is defined (class ids) */
	ck_keep_best keep;
	const ck_normalize *norm;   /* NULL: none */
	ck_lr_schedule sched;
	int64_t batches;            /* per epoch */
	int log_every;
	ck_train_optim opt;
	/* Batch buffers, (batch, ...) each. */
	void *x;
	int32_t *lengths, *labels;
	float *targets, *probs, *dlogits;
	int64_t *perm;              /* (ntr) */
	ck_meta info;               /* classes, vocab, normalize, loss, created_by */
	ck_train_state st;
	ck_train_log log;
	const char *ckpt;           /* cfg->checkpoint or ckpt_buf */
	char ckpt_buf[1024];
	ck_tnz resume;              /* the checkpoint being resumed, until the state is read */
	/* Data parallel: this process is rank of size (0 of 1 without MPI). */
	int rank, size;
	char *train_path, *val_path; /* with "%r" replaced by the rank */
	int sharded;                /* "%r" in the training file: one file per rank */
	int val_sharded;            /* validation examples of its own on each rank: a "%r"
	                             * file, or split from its own training file */
	int batch_local;            /* most examples of a step on one rank: the plan's batch */
	int64_t ntr_total, nva_total; /* over every rank */
	int stop;                   /* some rank was interrupted (agreed at every step) */
} run;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- choices ---------------------------------------------------------------- */

int ck_train_choose_loss(ck_loss_kind want, const ck_dataset *d, const ck_model *m,
                         ck_loss_kind *out, ck_err *err)
{
	int64_t K = ck_model_output_size(m);
	ck_arch_act_kind act = ck_model_final_act(m);
	int ids = d->label_kind == CK_LABELS_CLASS;
	if (d->label_kind == CK_LABELS_NONE)
		return ck_err_set(err, "the training data has no labels (tensor y)");
	ck_loss_kind loss = want;
	if (!loss) {
		if (ids)
			loss = K > 1 ? CK_LOSS_CCE : CK_LOSS_BCE;
		else
			loss = act == CK_ARCH_ACT_SIGMOID ? CK_LOSS_BCE : CK_LOSS_MSE;
	}
	switch (loss) {
	case CK_LOSS_CCE:
		if (!ids)
			return ck_err_set(err, "loss cce needs class ids (y (N) integers), the data has "
			                  "f32 targets");
		if (K < 2)
			return ck_err_set(err, "loss cce needs a model with 2 or more outputs, this one "
			                  "has 1 (use bce)");
		if (act == CK_ARCH_ACT_SIGMOID)
			return ck_err_set(err, "loss cce does not fit the model's final sigmoid (use "
			                  "bce, or end with softmax or a linear layer)");
		break;
	case CK_LOSS_BCE:
		if (ids && K != 1)
			return ck_err_set(err, "loss bce with class ids needs a model with 1 output, "
			                  "this one has %lld (use cce)", (long long)K);
		if (act == CK_ARCH_ACT_SOFTMAX)
			return ck_err_set(err, "loss bce does not fit the model's final softmax (use "
			                  "cce, or end with sigmoid or a linear layer)");
		break;
	case CK_LOSS_MSE:
		if (ids && K != 1)
			return ck_err_set(err, "loss mse needs f32 targets (y (N,K) f32), the data has "
			                  "class ids");
		if (act != CK_ARCH_ACT_LINEAR)
			return ck_err_set(err, "loss mse does not fit the model's final %s (mse works "
			                  "on the raw outputs: end with a linear layer)",
			                  ck_arch_act_name(act));
		break;
	default:
		return ck_err_set(err, "unknown loss %d", (int)loss);
	}
	*out = loss;
	return 0;
}

int ck_train_summary(const ck_train_config *cfg, const int64_t *input_shape, int input_rank,
                     char **out, ck_err *err)
{
	ck_dataset d = {0};
	int64_t shape[3] = {0}, vocab = 0;
	int rank = input_rank;
	if (rank == 0) {
		if (ck_dataset_load(&d, cfg->train ? cfg->train : "-", cfg->threads, err) < 0)
			return ck_err_prefix(err, "%s", cfg->train ? cfg->train : "-");
		rank = d.example_rank;
		memcpy(shape, d.example_shape, sizeof shape);
		vocab = d.input_kind == CK_INPUT_TOKENS ? d.vocab_size : 0;
		ck_dataset_free(&d);
	} else
		memcpy(shape, input_shape, (size_t)rank * sizeof *shape);
	ck_arch a;
	if (ck_arch_parse(cfg->arch ? cfg->arch : "", &a, err) < 0)
		return -1;
	int rc = ck_arch_infer(&a, shape, rank, vocab, err);
	if (rc == 0 && ck_arch_summary(&a, out) < 0)
		rc = ck_err_set(err, "out of memory");
	ck_arch_free(&a);
	return rc;
}

int ck_train_load_config(ck_train_config *cfg, const char *path, ck_err *err)
{
	ck_tnz t = {0};
	ck_train_config_init(cfg);
	if (ck_tnz_load(&t, path, 0, err) < 0)
		return ck_err_prefix(err, "checkpoint %s", path);
	int rc = ck_checkpoint_config(&t, cfg, err);
	ck_tnz_free(&t);
	if (rc < 0) {
		ck_train_config_free(cfg);
		return ck_err_prefix(err, "checkpoint %s", path);
	}
	if (!(cfg->resume = strdup(path))) {
		ck_train_config_free(cfg);
		return ck_err_set(err, "out of memory");
	}
	return 0;
}

/* ---- setting up ------------------------------------------------------------- */

static int load_model(run *r, ck_err *err)
{
	ck_train_config *c = r->cfg;
	if (c->resume) {
		if (ck_tnz_load(&r->resume, c->resume, r->threads, err) < 0)
			return ck_err_prefix(err, "checkpoint %s", c->resume);
		if (!(r->m = ck_model_from_tnz(&r->resume, err)))
			return ck_err_prefix(err, "checkpoint %s", c->resume);
		if (ck_dataset_check_vocab(&r->train, &r->resume.meta, "checkpoint", err) < 0)
			return ck_err_prefix(err, "%s", r->train_path);
		return 0;
	}
	const ck_dataset *d = &r->train;
	if (!c->arch)
		return ck_err_set(err, "no architecture (--arch)");
	r->m = ck_model_create(c->arch, d->example_shape, d->example_rank,
	                       d->input_kind == CK_INPUT_TOKENS ? d->vocab_size : 0, err);
	if (!r->m)
		return ck_err_prefix(err, "--arch");
	ck_model_init(r->m, c->seed);
	if (c->init) { /* its weights win over the spec's init= */
		ck_tnz t = {0};
		int rc = ck_tnz_load(&t, c->init, r->threads, err);
		if (rc == 0 && ck_dataset_check_vocab(d, &t.meta, "model", err) < 0)
			rc = ck_err_prefix(err, "%s", r->train_path);
		if (rc == 0)
			rc = ck_model_load_params(r->m, &t, err);
		ck_tnz_free(&t);
		if (rc < 0)
			return ck_err_prefix(err, "--init %s", c->init);
		return 0;
	}
	size_t vlen;
	const char *vocab = ck_meta_get(&d->file.meta, "vocab", &vlen);
	ck_embed_init_report rep;
	if (ck_embed_init_model(r->m, vocab, vlen, r->threads, &rep, err) < 0)
		return ck_err_prefix(err, "--arch");
	if (rep.layer >= 0 && r->cb && r->cb->embedding_init)
		r->cb->embedding_init(&rep, r->cb->ctx);
	return 0;
}

/* The file of this rank: path with "%r" replaced, into *out (malloc'ed). */
static int rank_path(run *r, const char *path, char **out, int *sharded, ck_err *err)
{
	*sharded = strstr(path, "%r") != NULL;
	if (r->size > 1 && strcmp(path, "-") == 0)
		return ck_err_set(err, "standard input reaches one rank only: name a file (with %%r "
		                  "for one file per rank)");
	if (!(*out = ck_train_rank_path(path, r->rank)))
		return ck_err_set(err, "out of memory");
	return 0;
}

static int load_data(run *r, ck_err *err)
{
	ck_train_config *c = r->cfg;
	if (rank_path(r, c->train ? c->train : "-", &r->train_path, &r->sharded, err) < 0 ||
	    (c->val && rank_path(r, c->val, &r->val_path, &r->val_sharded, err) < 0))
		return -1;
	const char *path = r->train_path;
	if (ck_dataset_load(&r->train, path, r->threads, err) < 0)
		return ck_err_prefix(err, "%s", path);
	if (r->train.label_kind == CK_LABELS_NONE)
		return ck_err_set(err, "%s: the training data has no labels (tensor y)", path);
	if (c->val && c->val_split > 0)
		return ck_err_set(err, "--val and --val-split exclude each other");
	if (c->val) {
		if (ck_dataset_load(&r->valfile, r->val_path, r->threads, err) < 0)
			return ck_err_prefix(err, "--val %s", r->val_path);
		if (r->valfile.label_kind == CK_LABELS_NONE)
			return ck_err_set(err, "--val %s: the validation data has no labels (tensor y)",
			                  r->val_path);
		if (ck_dataset_check_vocab(&r->valfile, &r->train.file.meta, "training data", err) < 0)
			return ck_err_prefix(err, "--val %s", r->val_path);
		r->vd = &r->valfile;
		r->nva = r->valfile.n;
	}
	if (ck_dataset_split(&r->train, c->val_split, c->seed, 1, &r->tr, &r->ntr, &r->va, &r->nva,
	                     err) < 0)
		return ck_err_prefix(err, "--val-split");
	if (c->val_split > 0) {
		r->vd = &r->train;
		r->val_sharded = r->sharded;
	}
	else if (c->val) {
		free(r->va);
		r->va = NULL; /* all of valfile */
		r->nva = r->valfile.n;
		if (r->size > 1 && !r->val_sharded) { /* each rank evaluates a slice */
			if (!(r->va = malloc((size_t)r->nva * sizeof *r->va)))
				return ck_err_set(err, "out of memory");
			for (int64_t i = 0; i < r->nva; i++)
				r->va[i] = i;
		}
	}
	return 0;
}

/* Examples over every rank, and the batches of an epoch: ceil(N / batch),
 * or with one file per rank as many as the rank with the most steps needs
 * (ranks whose file is used up sit the last steps out). */
static int count_batches(run *r, ck_err *err)
{
	int B = r->cfg->batch;
	r->ntr_total = r->ntr;
	r->nva_total = r->nva;
	r->batches = (r->ntr + B - 1) / B;
	if (r->size > 1 && r->val_sharded) {
		double nva = (double)r->nva;
		ck_dist_sum_f64(&nva, 1);
		r->nva_total = (int64_t)nva;
	}
	if (!r->sharded)
		return 0;
	double *n;
	if (ck_train_gather((double)r->ntr, &n, err) < 0)
		return -1;
	r->ntr_total = 0;
	r->batches = 0;
	for (int k = 0; k < r->size; k++) {
		int64_t lo, share;
		ck_train_share(B, k, r->size, &lo, &share);
		int64_t steps = ((int64_t)n[k] + share - 1) / share;
		r->ntr_total += (int64_t)n[k];
		r->batches = steps > r->batches ? steps : r->batches;
	}
	free(n);
	return 0;
}

static int check_fit(run *r, ck_err *err)
{
	ck_train_config *c = r->cfg;
	if (ck_dataset_check_model(&r->train, r->m, err) < 0)
		return ck_err_prefix(err, "%s", r->train_path);
	if (c->val && ck_dataset_check_model(&r->valfile, r->m, err) < 0)
		return ck_err_prefix(err, "--val %s", r->val_path);
	if (ck_train_choose_loss(c->loss, &r->train, r->m, &r->loss, err) < 0)
		return -1;
	r->K = (int)ck_model_output_size(r->m);
	r->class_acc = r->train.label_kind == CK_LABELS_CLASS && r->loss != CK_LOSS_MSE;

	r->keep = c->keep_best;
	if (r->keep == CK_KEEP_AUTO)
		r->keep = r->vd ? CK_KEEP_VAL_LOSS : CK_KEEP_LAST;
	if (!r->vd && (r->keep == CK_KEEP_VAL_LOSS || r->keep == CK_KEEP_VAL_ACC))
		return ck_err_set(err, "--keep-best %s needs validation data (--val or --val-split)",
		                  r->keep == CK_KEEP_VAL_ACC ? "val_acc" : "val_loss");
	if (r->keep == CK_KEEP_VAL_ACC && !r->class_acc)
		return ck_err_set(err, "--keep-best val_acc needs class labels");
	if (c->patience > 0 && !r->vd)
		return ck_err_set(err, "--patience needs validation data (--val or --val-split)");
	if (c->patience > 0 && r->keep == CK_KEEP_LAST)
		return ck_err_set(err, "--patience needs a keep-best metric (val_loss or val_acc)");

	if (c->norm_mode == CK_NORM_AUTO) {
		if (ck_dataset_channel_stats(&r->train, r->tr, r->ntr, &c->norm, err) < 0)
			return ck_err_prefix(err, "--normalize auto");
		if (r->size > 1 && r->sharded)
			ck_train_pool_norm(&c->norm, r->ntr);
	}
	if (c->norm_mode != CK_NORM_NONE) {
		if (ck_normalize_check(&c->norm, &r->train, err) < 0)
			return ck_err_prefix(err, "--normalize");
		r->norm = &c->norm;
	}
	if ((c->augment.flip || c->augment.crop_pad) &&
	    ck_augment_check(&c->augment, &r->train, err) < 0)
		return ck_err_prefix(err, "--augment");
	return 0;
}

/* Metadata of the model file and the checkpoint, besides the model's own. */
static int make_info(run *r, ck_err *err)
{
	const ck_meta *dm = &r->train.file.meta;
	static const char *const copied[] = {"classes", "vocab", "tokenizer"};
	for (size_t i = 0; i < sizeof copied / sizeof copied[0]; i++) {
		size_t len;
		const char *v = ck_meta_get(dm, copied[i], &len);
		if (v && ck_meta_set(&r->info, copied[i], v, len, err) < 0)
			return -1;
	}
	char buf[2048];
	if (ck_normalize_format(r->norm ? r->norm : &(ck_normalize){0}, buf, sizeof buf) < 0)
		return ck_err_set(err, "normalisation too long to store");
	if (ck_meta_set(&r->info, "normalize", buf, (size_t)-1, err) < 0 ||
	    ck_meta_set(&r->info, "loss", ck_loss_name(r->loss), (size_t)-1, err) < 0)
		return -1;
	if (r->cfg->created_by &&
	    ck_meta_set(&r->info, "created_by", r->cfg->created_by, (size_t)-1, err) < 0)
		return -1;
	return 0;
}

/* Fails early, before any training, when a file could not be written. */
static int probe_writable(const char *path, const char *what, ck_err *err)
{
	ck_tnz_writer *w = ck_tnz_writer_open(path, NULL, err);
	if (!w)
		return ck_err_prefix(err, "%s %s", what, path);
	ck_tnz_writer_abort(w);
	return 0;
}

static int allocate(run *r, ck_err *err)
{
	ck_train_config *c = r->cfg;
	size_t B = (size_t)r->batch_local, K = (size_t)r->K;
	size_t in = (size_t)ck_model_input_size(r->m);
	int tokens = ck_model_input_kind(r->m) == CK_INPUT_TOKENS;
	size_t n;
	float *params = ck_model_params(r->m, &n);
	(void)params;
	r->opt.count = ck_optim_state_count(c->optim.kind);
	r->opt.n = n;
	r->x = malloc(B * in * (tokens ? sizeof(int32_t) : sizeof(float)));
	r->lengths = tokens ? malloc(B * sizeof(int32_t)) : NULL;
	r->labels = malloc(B * sizeof(int32_t));
	r->targets = malloc(B * K * sizeof(float));
	r->probs = malloc(B * K * sizeof(float));
	r->dlogits = malloc(B * K * sizeof(float));
	r->perm = malloc((size_t)(r->ntr > 0 ? r->ntr : 1) * sizeof(int64_t));
	r->opt.m = r->opt.count >= 1 ? calloc(n ? n : 1, sizeof(float)) : NULL;
	r->opt.v = r->opt.count >= 2 ? calloc(n ? n : 1, sizeof(float)) : NULL;
	if (!r->x || (tokens && !r->lengths) || !r->labels || !r->targets || !r->probs ||
	    !r->dlogits || !r->perm || (r->opt.count >= 1 && !r->opt.m) ||
	    (r->opt.count >= 2 && !r->opt.v))
		return ck_err_set(err, "out of memory for the batch buffers");
	return ck_model_plan(r->m, r->batch_local, r->threads, err);
}

static int setup(run *r, ck_err *err)
{
	ck_train_config *c = r->cfg;
	if (!c->output)
		return ck_err_set(err, "no output file (-o)");
	if (strcmp(c->output, "-") == 0)
		return ck_err_set(err, "-o -: the model must go to a file (it is rewritten after "
		                  "each epoch that improves)");
	r->threads = c->threads;
	if (r->threads <= 0) {
#ifdef _OPENMP
		r->threads = omp_get_num_procs();
#else
		r->threads = 1;
#endif
	}
	c->threads = r->threads; /* stored in the checkpoint: a resumed run uses the same */
	if (c->batch < r->size)
		return ck_err_set(err, "--batch %d is the global batch: it needs at least one example "
		                  "for each of the %d ranks", c->batch, r->size);
	r->batch_local = (c->batch + r->size - 1) / r->size;

	if (load_data(r, err) < 0 || load_model(r, err) < 0 || check_fit(r, err) < 0 ||
	    make_info(r, err) < 0 || allocate(r, err) < 0 || count_batches(r, err) < 0)
		return -1;
	r->log_every = c->log_every > 0 ? c->log_every : (int)(r->batches >= 20 ? r->batches / 20 : 1);
	r->sched = (ck_lr_schedule){
		.kind = c->schedule,
		.base_lr = (float)c->lr,
		.warmup_steps = c->warmup,
		.step_size = c->step_epochs * r->batches,
		.gamma = (float)c->step_gamma,
		.total_steps = (int64_t)c->epochs * r->batches,
		.min_lr = 0,
	};

	if (c->resume) {
		int rc = ck_checkpoint_state(&r->resume, r->m, &r->opt, &r->st, err);
		ck_tnz_free(&r->resume);
		if (rc < 0)
			return ck_err_prefix(err, "checkpoint %s", c->resume);
		if (r->st.position > r->batches || (r->st.position == r->batches && r->batches))
			return ck_err_set(err, "checkpoint %s: position %lld is past the %lld batches of "
			                  "an epoch (different data?)", c->resume,
			                  (long long)r->st.position, (long long)r->batches);
		if (r->st.epoch >= c->epochs)
			return ck_err_set(err, "checkpoint %s has finished its %d epochs: give a larger "
			                  "--epochs to train longer", c->resume, r->st.epoch);
	}
	if (r->size > 1 && ck_train_dist_start(r->m, &r->opt, &r->st, &c->norm, r->batches, err) < 0)
		return -1;

	if (c->checkpoint)
		r->ckpt = c->checkpoint;
	else {
		snprintf(r->ckpt_buf, sizeof r->ckpt_buf, "%s.ckpt", c->output);
		r->ckpt = r->ckpt_buf;
	}
	snprintf(r->res->checkpoint, sizeof r->res->checkpoint, "%s", r->ckpt);
	if (r->rank > 0)
		return 0; /* rank 0 writes every file */
	if (probe_writable(c->output, "model file", err) < 0 ||
	    probe_writable(r->ckpt, "checkpoint", err) < 0)
		return -1;
	if (c->log && ck_train_log_open(&r->log, c->log, r->vd != NULL, c->resume != NULL, err) < 0)
		return -1;
	return 0;
}

static void teardown(run *r)
{
	ck_err ignored;
	ck_train_log_close(&r->log, &ignored);
	ck_model_free(r->m);
	ck_dataset_free(&r->train);
	ck_dataset_free(&r->valfile);
	ck_tnz_free(&r->resume);
	ck_meta_free(&r->info);
	free(r->train_path);
	free(r->val_path);
	free(r->tr);
	free(r->va);
	free(r->x);
	free(r->lengths);
	free(r->labels);
	free(r->targets);
	free(r->probs);
	free(r->dlogits);
	free(r->perm);
	free(r->opt.m);
	free(r->opt.v);
}

/* ---- one step --------------------------------------------------------------- */

/* Loss of the batch, its gradient into r->dlogits and the correct count. */
static double loss_and_grad(run *r, const float *logits, int n, int64_t *correct)
{
	int K = r->K;
	double loss;
	*correct = 0;
	switch (r->loss) {
	case CK_LOSS_CCE:
		loss = ck_cce_forward(r->probs, logits, r->labels, n, K);
		ck_cce_backward(r->dlogits, r->probs, r->labels, n, K);
		*correct = ck_count_correct(logits, r->labels, n, K);
		break;
	case CK_LOSS_BCE:
		loss = ck_bce_logits_forward(logits, r->targets, n, K);
		ck_bce_logits_backward(r->dlogits, logits, r->targets, n, K);
		if (r->class_acc) /* one output: class 1 when sigmoid(z) >= 0.5 */
			for (int i = 0; i < n; i++)
				*correct += (logits[i] >= 0) == (r->targets[i] >= 0.5f);
		break;
	default:
		loss = ck_mse_forward(logits, r->targets, n, K);
		ck_mse_backward(r->dlogits, logits, r->targets, n, K);
		break;
	}
	return loss;
}

static void optimiser_step(run *r, float lr)
{
	const ck_arch *a = ck_model_arch(r->m);
	float *params = ck_model_params(r->m, NULL), *grads = ck_model_grads(r->m);
	if (r->cfg->clip > 0) {
		double ss = 0;
		for (int i = 0; i < a->nparams; i++)
			if (a->params[i].trainable) {
				size_t off = (size_t)(ck_model_param(r->m, i) - params);
				ss += ck_grad_sumsq(grads + off, (size_t)a->params[i].count, r->threads);
			}
		float s = ck_clip_coef(ss, r->cfg->clip);
		if (s < 1)
			for (int i = 0; i < a->nparams; i++)
				if (a->params[i].trainable) {
					size_t off = (size_t)(ck_model_param(r->m, i) - params);
					ck_scale(grads + off, (size_t)a->params[i].count, s, r->threads);
				}
	}
	int64_t t = r->st.step + 1;
	ck_optim_config oc = r->cfg->optim;
	oc.threads = r->threads; /* --threads holds for the update too */
	for (int i = 0; i < a->nparams; i++) {
		const ck_arch_param *p = &a->params[i];
		if (!p->trainable)
			continue;
		size_t off = (size_t)(ck_model_param(r->m, i) - params);
		ck_optim_step(&oc, lr, t, params + off, grads + off,
		              r->opt.m ? r->opt.m + off : NULL, r->opt.v ? r->opt.v + off : NULL,
		              (size_t)p->count);
	}
	ck_model_constrain(r->m);
}

/* ---- saving ----------------------------------------------------------------- */

static int params_finite(run *r)
{
	size_t n;
	const float *p = ck_model_params(r->m, &n);
	for (size_t i = 0; i < n; i++)
		if (!isfinite(p[i]))
			return 0;
	return 1;
}

static int save_model(run *r, int epoch, ck_err *err)
{
	ck_tnz t = {0};
	char buf[32];
	snprintf(buf, sizeof buf, "%d", epoch);
	int rc = -1;
	if (ck_model_to_tnz(r->m, &t, err) == 0 && ck_meta_merge(&t.meta, &r->info, err) == 0 &&
	    ck_meta_set(&t.meta, "epoch", buf, (size_t)-1, err) == 0) {
		ck_tnz_opts o = CK_TNZ_OPTS_DEFAULT;
		o.threads = r->threads;
		rc = ck_tnz_save(&t, r->cfg->output, &o, err);
	}
	ck_tnz_free(&t);
	if (rc < 0)
		ck_err_prefix(err, "model file %s", r->cfg->output);
	return rc;
}

static int save_checkpoint(run *r, double session_start, double seconds_before, ck_err *err)
{
	r->st.seconds = seconds_before + (now() - session_start);
	if (r->rank == 0 && ck_checkpoint_save(r->ckpt, r->m, &r->opt, r->cfg, &r->st, &r->info,
	                                       r->threads, err) < 0)
		return -1;
	r->res->checkpoint_written = 1;
	return 0;
}

static double ratio(double a, int64_t b)
{
	return b > 0 ? a / (double)b : NAN;
}

/* ---- the loop --------------------------------------------------------------- */

static int interrupted(const run *r)
{
	const ck_train_config *c = r->cfg;
	int signalled = r->size > 1 ? r->stop : c->interrupt && *c->interrupt;
	return signalled || (c->stop_after_steps > 0 && r->st.step == c->stop_after_steps);
}

/* Validation loss and accuracy (NaN when not classes); with several ranks,
 * each evaluates its slice of the examples (or its own file) and the sums
 * are added up. */
static int validate(run *r, double *loss, double *acc, ck_err *err)
{
	int64_t lo = 0, n = r->nva;
	if (r->size > 1 && !r->val_sharded)
		ck_train_share(r->nva, r->rank, r->size, &lo, &n);
	/* loss x examples, correct, examples, ranks with an accuracy */
	double sums[4] = {0};
	if (n > 0) {
		ck_eval ev;
		if (ck_evaluate(&ev, r->m, r->vd, r->va ? r->va + lo : NULL, n, r->batch_local, r->norm,
		                r->loss, 0, NULL, NULL, err) < 0)
			return ck_err_prefix(err, "validation");
		*loss = ev.loss;
		*acc = ev.task != CK_TASK_REGRESSION ? ck_confusion_accuracy(&ev.confusion) : NAN;
		sums[0] = ev.loss * (double)ev.n;
		if (ev.task != CK_TASK_REGRESSION) {
			for (int k = 0; k < ev.confusion.k; k++)
				sums[1] += (double)ev.confusion.counts[(size_t)k * ev.confusion.k + k];
			sums[3] = 1;
		}
		sums[2] = (double)ev.n;
		ck_eval_free(&ev);
	}
	if (r->size > 1) {
		ck_dist_sum_f64(sums, 4);
		*loss = sums[0] / sums[2];
		*acc = sums[3] > 0 ? sums[1] / sums[2] : NAN;
	}
	return 0;
}

/* Validation, keep-best, model file, log row, checkpoint, callback. */
static int end_epoch(run *r, int e, double t_epoch, double session_start, double seconds_before,
                     ck_err *err)
{
	ck_train_config *c = r->cfg;
	ck_train_state *st = &r->st;
	ck_train_epoch ep = {.epoch = e + 1, .epochs = c->epochs, .step = st->step,
	                     .seconds = now() - t_epoch, .loss = ratio(st->loss_sum, st->seen),
	                     .acc = r->class_acc ? ratio(st->correct, st->seen) : NAN,
	                     .val_loss = NAN, .val_acc = NAN};
	if (r->size > 1)
		ck_train_dist_sync(r->m, &r->opt);
	if (r->vd) {
		if (validate(r, &ep.val_loss, &ep.val_acc, err) < 0)
			return -1;
		ep.has_val = 1;
	}
	int improved;
	switch (r->keep) {
	case CK_KEEP_VAL_LOSS:
		improved = !isnan(ep.val_loss) && (!st->best_epoch || ep.val_loss < st->best);
		if (improved)
			st->best = ep.val_loss;
		break;
	case CK_KEEP_VAL_ACC:
		improved = !isnan(ep.val_acc) && (!st->best_epoch || ep.val_acc > st->best);
		if (improved)
			st->best = ep.val_acc;
		break;
	default:
		improved = 1;
		st->best = ep.loss;
		break;
	}
	if (improved) {
		st->best_epoch = e + 1;
		st->bad_epochs = 0;
	} else
		st->bad_epochs++;
	/* Patience decides on rank 0's numbers, whatever the others' last bits. */
	if (r->size > 1) {
		ck_dist_broadcast(st, sizeof *st);
		improved = st->best_epoch == e + 1;
	}
	if (improved && r->rank == 0 && save_model(r, e + 1, err) < 0)
		return -1;
	ep.improved = improved;
	ep.best_epoch = st->best_epoch;

	double lr = ck_lr_at(&r->sched, st->step > 0 ? st->step - 1 : 0);
	double win_acc = r->class_acc ? ratio(st->win_correct, st->win_seen) : NAN;
	double win_loss = ratio(st->win_loss, st->win_seen);
	st->epoch = e + 1;
	st->position = 0;
	st->loss_sum = st->correct = 0;
	st->seen = 0;
	st->win_loss = st->win_correct = 0;
	st->win_seen = 0;
	/* The row before the checkpoint: a run killed between the two resumes
	 * from the previous checkpoint and writes the row again with the same
	 * step (readers keep the last row of a step); the other way round the
	 * row would be lost. */
	double secs = seconds_before + (now() - session_start);
	if (ck_train_log_row(&r->log, e + 1, st->step, secs, lr, win_loss, win_acc, ep.val_loss,
	                     ep.val_acc, err) < 0)
		return -1;
	if (save_checkpoint(r, session_start, seconds_before, err) < 0)
		return -1;
	r->res->epoch = e + 1;
	r->res->best_epoch = st->best_epoch;
	r->res->best_metric = st->best;
	if (r->cb && r->cb->epoch)
		r->cb->epoch(&ep, r->cb->ctx);
	return 0;
}

/* key for this rank: ranks other than 0 get streams of their own */
static uint64_t per_rank(const run *r, uint64_t key)
{
	return r->rank > 0 ? ck_hash_u64(key ^ KEY_RANK, (uint64_t)r->rank) : key;
}

/* This rank's examples of global batch b: *idx[0..*n). */
static void local_batch(const run *r, int64_t b, const int64_t **idx, int64_t *n)
{
	int64_t B = r->cfg->batch, lo, count;
	if (r->sharded) { /* its share of B from its own file, while it lasts */
		ck_train_share(B, r->rank, r->size, &lo, &count);
		lo = b * count;
		count = r->ntr - lo < count ? r->ntr - lo : count;
		*idx = r->perm + lo;
		*n = count > 0 ? count : 0;
		return;
	}
	int64_t first = b * B, global = r->ntr - first < B ? r->ntr - first : B;
	ck_train_share(global, r->rank, r->size, &lo, &count);
	*idx = r->perm + first + lo;
	*n = count;
}

/* With several ranks: the step's loss (in: this rank's mean over its n
 * examples; out: the mean over the global batch), correct count and
 * interrupt flag summed over the ranks. Returns the global batch size. */
static int64_t agree_step(run *r, int64_t n, double *loss, int64_t *correct)
{
	const ck_train_config *c = r->cfg;
	double sums[4] = {n > 0 ? *loss * (double)n : 0, (double)*correct, (double)n,
	                  c->interrupt && *c->interrupt};
	ck_dist_sum_f64(sums, 4);
	*loss = sums[0] / sums[2];
	*correct = (int64_t)sums[1];
	r->stop = sums[3] > 0;
	return (int64_t)sums[2];
}

static int loop(run *r, ck_err *err)
{
	ck_train_config *c = r->cfg;
	ck_train_state *st = &r->st;
	ck_train_result *res = r->res;
	const ck_dataset *d = &r->train;
	int tokens = ck_model_input_kind(r->m) == CK_INPUT_TOKENS;
	int need_labels = r->loss == CK_LOSS_CCE;
	int aug_on = c->augment.flip || c->augment.crop_pad;
	double session_start = now(), seconds_before = st->seconds;

	for (int e = st->epoch; e < c->epochs; e++) {
		/* The epoch's order depends on (seed, epoch) only (and on the rank
		 * for files of their own). */
		ck_rng rng;
		uint64_t order = ck_hash_u64(c->seed ^ KEY_ORDER, (uint64_t)e);
		ck_rng_seed(&rng, r->sharded ? per_rank(r, order) : order);
		memcpy(r->perm, r->tr, (size_t)r->ntr * sizeof *r->perm);
		ck_rng_shuffle(&rng, r->perm, r->ntr);
		ck_augment aug = c->augment;
		/* keyed by example: one file read by every rank gets the one-process
		 * decisions; files of their own, streams of their own */
		aug.seed = ck_hash_u64(c->seed, KEY_AUGMENT);
		if (r->sharded)
			aug.seed = per_rank(r, aug.seed);
		aug.epoch = (uint64_t)e;
		double t_epoch = now();

		for (int64_t b = st->position; b < r->batches; b++) {
			const int64_t *idx;
			int64_t nl; /* this rank's examples of the step; n: the whole batch's */
			local_batch(r, b, &idx, &nl);
			float lr = ck_lr_at(&r->sched, st->step);
			int64_t correct = 0;
			double loss = 0;
			if (nl > 0) {
				ck_dataset_batch(d, idx, (int)nl, r->norm, aug_on ? &aug : NULL, r->x,
				                 r->lengths, need_labels ? r->labels : NULL,
				                 need_labels ? NULL : r->targets);
				uint64_t drop = ck_hash_u64(c->seed ^ KEY_DROPOUT, (uint64_t)st->step);
				const float *logits = ck_model_forward(r->m, r->x, tokens ? r->lengths : NULL,
				                                       (int)nl, 1, per_rank(r, drop));
				loss = loss_and_grad(r, logits, (int)nl, &correct);
			}
			int64_t n = r->size > 1 ? agree_step(r, nl, &loss, &correct) : nl;
			if (!isfinite(loss)) {
				res->status = CK_TRAIN_DIVERGED;
				res->diverged_epoch = e + 1;
				res->diverged_step = st->step + 1;
				return 0;
			}
			ck_model_zero_grad(r->m);
			if (nl > 0) {
				/* the gradient of the global batch's mean loss: this rank's part */
				if (nl < n) {
					float share = (float)((double)nl / (double)n);
					ck_scale(r->dlogits, (size_t)nl * (size_t)r->K, share, r->threads);
				}
				ck_model_backward(r->m, r->dlogits, (int)nl);
			}
			if (r->size > 1)
				ck_train_sum_grads(r->m);
			optimiser_step(r, lr);
			st->step++;
			st->position = b + 1;
			st->loss_sum += loss * n;
			st->correct += (double)correct;
			st->seen += n;
			st->win_loss += loss * n;
			st->win_correct += (double)correct;
			st->win_seen += n;
			res->step = st->step;

			int last = b + 1 == r->batches;
			if (!last && st->step % r->log_every == 0) {
				double secs = seconds_before + (now() - session_start);
				if (ck_train_log_row(&r->log, e + (double)(b + 1) / (double)r->batches,
				                     st->step, secs, lr, ratio(st->win_loss, st->win_seen),
				                     r->class_acc ? ratio(st->win_correct, st->win_seen) : NAN,
				                     NAN, NAN, err) < 0)
					return -1;
				st->win_loss = st->win_correct = 0;
				st->win_seen = 0;
			}
			if (r->cb && r->cb->step) {
				ck_train_progress p = {
					.epoch = e + 1, .epochs = c->epochs, .step = st->step, .batch = b + 1,
					.batches = r->batches, .examples = st->seen,
					.seconds = now() - t_epoch, .loss = ratio(st->loss_sum, st->seen),
					.acc = r->class_acc ? ratio(st->correct, st->seen) : NAN, .lr = lr};
				r->cb->step(&p, r->cb->ctx);
			}
			if (!last && interrupted(r)) {
				if (!params_finite(r)) {
					res->status = CK_TRAIN_DIVERGED;
					res->diverged_epoch = e + 1;
					res->diverged_step = st->step;
					return 0;
				}
				if (r->size > 1)
					ck_train_dist_sync(r->m, &r->opt);
				if (save_checkpoint(r, session_start, seconds_before, err) < 0)
					return -1;
				res->status = CK_TRAIN_INTERRUPTED;
				return 0;
			}
		}
		if (!params_finite(r)) {
			res->status = CK_TRAIN_DIVERGED;
			res->diverged_epoch = e + 1;
			res->diverged_step = st->step;
			return 0;
		}
		if (end_epoch(r, e, t_epoch, session_start, seconds_before, err) < 0)
			return -1;
		if (c->patience > 0 && st->bad_epochs >= c->patience && e + 1 < c->epochs) {
			res->status = CK_TRAIN_EARLY_STOPPED;
			return 0;
		}
		if (interrupted(r) && e + 1 < c->epochs) {
			res->status = CK_TRAIN_INTERRUPTED;
			return 0;
		}
	}
	res->status = CK_TRAIN_DONE;
	return 0;
}

static void announce(run *r)
{
	if (!r->cb || !r->cb->start)
		return;
	char msg[512];
	const ck_arch *a = ck_model_arch(r->m);
	int n = snprintf(msg, sizeof msg, "%lld training examples", (long long)r->ntr_total);
	if (r->vd)
		n += snprintf(msg + n, sizeof msg - (size_t)n, ", %lld validation",
		              (long long)r->nva_total);
	n += snprintf(msg + n, sizeof msg - (size_t)n,
	              "; %lld batches of %d per epoch; loss %s; %lld parameters; %d threads",
	              (long long)r->batches, r->cfg->batch, ck_loss_name(r->loss),
	              (long long)a->total_params, r->threads);
	if (r->size > 1)
		n += snprintf(msg + n, sizeof msg - (size_t)n, " on each of %d ranks (%s)", r->size,
		              r->sharded ? "a file each" : "a share of every batch each");
	if (r->cfg->resume)
		snprintf(msg + n, sizeof msg - (size_t)n, "; resuming at epoch %d, step %lld",
		         r->st.epoch + 1, (long long)r->st.step);
	r->cb->start(msg, r->cb->ctx);
}

int ck_train_run(ck_train_config *cfg, const ck_train_callbacks *cb, ck_train_result *res,
                 ck_err *err)
{
	/* only rank 0 reports */
	run r = {.cfg = cfg, .cb = ck_dist_rank() == 0 ? cb : NULL, .res = res,
	         .rank = ck_dist_rank(), .size = ck_dist_size()};
	memset(res, 0, sizeof *res);
	int rc = setup(&r, err);
	if (rc == 0) {
		res->epoch = r.st.epoch;
		res->step = r.st.step;
		res->best_epoch = r.st.best_epoch;
		res->best_metric = r.st.best;
		announce(&r);
		rc = loop(&r, err);
	}
	if (rc == 0 && ck_train_log_close(&r.log, err) < 0)
		rc = -1;
	teardown(&r);
	return rc;
}
