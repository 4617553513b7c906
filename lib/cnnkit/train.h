/* cnnkit/train.h: the training loop, its configuration, checkpoints and log.
 *
 *     ck_train_config cfg;
 *     ck_train_config_init(&cfg);
 *     ck_train_set(&cfg, "arch", "conv 8 3 relu; maxpool 2; dense 2", &err);
 *     ck_train_set(&cfg, "lr", "0.05", &err);            // as the options of cnn-train
 *     ck_train_set(&cfg, "train", "train.tnz", &err);
 *     ck_train_set(&cfg, "output", "model.tnz", &err);
 *     ck_train_result res;
 *     if (ck_train_run(&cfg, &callbacks, &res, &err) < 0) ...   // res.status
 *     ck_train_config_free(&cfg);
 *
 * The configuration is a set of named settings (ck_train_keys) whose names and
 * value syntax are those of cnn-train's long options: one parser serves the
 * command line, the checkpoint (which stores every setting as text, so that a
 * resumed run needs no options) and the check that options given with
 * --resume agree with the checkpoint.
 *
 * Determinism: with the same settings, data and thread count, a run gives the
 * same model bit for bit, and so does a run interrupted at any step and
 * resumed from its checkpoint. Everything random is keyed by the seed and a
 * position, never by a running generator:
 *   parameter init      ck_model_init(seed)
 *   validation split    ck_dataset_split(seed)
 *   epoch order         a permutation of the training examples from (seed, epoch)
 *   augmentation        ck_augment {seed', epoch}, per example index
 *   dropout             hash of (seed, global step)
 * and the optimiser's state, the step counters and the running sums of the
 * epoch are in the checkpoint. */
#ifndef CNNKIT_TRAIN_H
#define CNNKIT_TRAIN_H

#include <signal.h>
#include <stdint.h>

#include "base.h"
#include "data.h"
#include "embed.h"
#include "learn.h"

/* ---- Configuration (lib/train_config.c) -------------------------------- */

typedef enum ck_keep_best {
	CK_KEEP_AUTO = 0,  /* val_loss when there is validation data, else last */
	CK_KEEP_LAST,      /* the model after the last epoch */
	CK_KEEP_VAL_LOSS,  /* lowest validation loss */
	CK_KEEP_VAL_ACC,   /* highest validation accuracy */
} ck_keep_best;

typedef enum ck_norm_mode {
	CK_NORM_NONE = 0,
	CK_NORM_AUTO,  /* per-channel mean and std of the training examples */
	CK_NORM_GIVEN, /* cfg.norm */
} ck_norm_mode;

typedef struct ck_train_config {
	/* Files. Strings are malloc'ed and owned (set them with ck_train_set). */
	char *arch;       /* the spec text (a file name is read by the caller) */
	char *train;      /* training data; "-" standard input */
	char *val;        /* validation data, or NULL */
	char *init;       /* initial weights (a model file), or NULL */
	char *output;     /* the model file */
	char *checkpoint; /* NULL: "<output>.ckpt" */
	char *log;        /* TSV log (formats/log.md), or NULL */
	char *created_by; /* the command line, stored in the model file */
	/* Objective and optimiser. */
	ck_loss_kind loss;     /* 0: from the data and the model (ck_train_choose_loss) */
	ck_optim_config optim; /* default: momentum 0.9, no weight decay */
	double lr;             /* base learning rate, default 0.01 */
	ck_lr_kind schedule;   /* default constant */
	int64_t step_epochs;   /* step:N:G: lr *= G every N epochs */
	double step_gamma;
	int64_t warmup;        /* linear warm-up over this many steps (batches) */
	double clip;           /* gradient-norm clipping; 0: none */
	/* Loop. */
	int batch;             /* default 64 */
	int epochs;            /* default 10 */
	uint64_t seed;         /* default 1 */
	int threads;           /* 0: every core (fixed at the start of a run) */
	double val_split;      /* stratified fraction of train held out; 0: none */
	ck_norm_mode norm_mode;
	ck_normalize norm;     /* CK_NORM_GIVEN; filled in for AUTO by a run */
	ck_augment augment;    /* flip and crop_pad (seed and epoch: set per epoch) */
	int patience;          /* stop after this many epochs without improvement; 0: never */
	ck_keep_best keep_best;
	int log_every;         /* steps between log rows; 0: about 20 rows per epoch */
	/* Not stored in checkpoints. */
	char *resume;             /* continue from this checkpoint (ck_train_load_config) */
	int64_t stop_after_steps; /* testing aid: behave as interrupted after this
	                           * global step (0: off) */
	volatile sig_atomic_t *interrupt; /* when it becomes non-zero (a signal
	                                   * handler), stop after the current step */
} ck_train_config;

/* The setting names, NULL-terminated: arch train val init output checkpoint
 * log created_by loss optim lr momentum weight-decay schedule warmup clip
 * batch epochs seed threads val-split normalize augment patience keep-best
 * log-every. */
extern const char *const ck_train_keys[];

/* Defaults for everything (strings NULL). */
void ck_train_config_init(ck_train_config *c);
void ck_train_config_free(ck_train_config *c);
/* Parses value for setting key, with range checks, e.g. "lr" "0.05",
 * "schedule" "step:5:0.1", "augment" "flip,crop=4", "normalize" "auto" or
 * "0.5/0.25". Messages name the value: "lr 0 is out of range (expected > 0)". */
int ck_train_set(ck_train_config *c, const char *key, const char *value, ck_err *err);
/* The value of setting key in the syntax ck_train_set reads back ("" for an
 * unset string); returns the length, or -1 for an unknown key. */
int ck_train_get(const ck_train_config *c, const char *key, char *buf, size_t cap);

/* The loss a run uses: cfg->loss when set, else cce for class ids with K > 1,
 * bce for class ids 0/1 with K == 1, mse for f32 targets. Fails when the loss
 * does not fit the data or the model's final activation (cce after a
 * sigmoid, mse after a sigmoid or softmax, ...). */
int ck_train_choose_loss(ck_loss_kind want, const ck_dataset *d, const ck_model *m,
                         ck_loss_kind *out, ck_err *err);

/* --summary: the table of ck_arch_summary for cfg->arch on examples of
 * input_shape, or on the shape of cfg->train's x when input_rank is 0.
 * *out is malloc'ed. */
int ck_train_summary(const ck_train_config *cfg, const int64_t *input_shape, int input_rank,
                     char **out, ck_err *err);

/* ---- The run (lib/train.c) --------------------------------------------- */

typedef enum ck_train_status {
	CK_TRAIN_DONE = 0,          /* every epoch ran */
	CK_TRAIN_EARLY_STOPPED = 1, /* patience ran out */
	CK_TRAIN_INTERRUPTED = 2,   /* *interrupt or stop_after_steps: checkpoint written */
	CK_TRAIN_DIVERGED = 3,      /* non-finite loss or weights: nothing written */
} ck_train_status;

/* What callbacks see. Epochs count from 1. */
typedef struct ck_train_progress {
	int epoch, epochs;
	int64_t step;            /* global steps done (this one included) */
	int64_t batch, batches;  /* batches of this epoch done, and per epoch */
	int64_t examples;        /* examples of this epoch done */
	double seconds;          /* since this epoch started (this session) */
	double loss;             /* mean training loss over the epoch so far */
	double acc;              /* mean training accuracy so far; NaN when not classes */
	float lr;
} ck_train_progress;

typedef struct ck_train_epoch {
	int epoch, epochs;
	int64_t step;
	double seconds;          /* this epoch's wall time */
	double loss, acc;        /* training, over the epoch; acc NaN when not classes */
	int has_val;
	double val_loss, val_acc; /* NaN when absent */
	int improved;            /* the model file was rewritten */
	int best_epoch;
} ck_train_epoch;

typedef struct ck_train_callbacks {
	/* After every step: for a progress bar. May be NULL. */
	void (*step)(const ck_train_progress *p, void *ctx);
	/* After every epoch, validation included. May be NULL. */
	void (*epoch)(const ck_train_epoch *e, void *ctx);
	/* Once, when the run starts: examples, loss, what was resumed. May be NULL. */
	void (*start)(const char *what, void *ctx);
	void *ctx;
	/* Once, before start, when the embedding layer's init= file has been
	 * read (a new run; --init and --resume keep their stored weights):
	 * how many words it held. May be NULL. */
	void (*embedding_init)(const ck_embed_init_report *r, void *ctx);
} ck_train_callbacks;

typedef struct ck_train_result {
	ck_train_status status;
	int epoch;              /* epochs completed */
	int64_t step;           /* global steps done */
	int best_epoch;         /* 0 when none */
	double best_metric;     /* the keep-best metric at best_epoch */
	int diverged_epoch;     /* CK_TRAIN_DIVERGED: where (epoch from 1, global step) */
	int64_t diverged_step;
	char checkpoint[1024];  /* the checkpoint path in use */
	int checkpoint_written; /* at least one was written */
} ck_train_result;

/* Trains as cfg says (cfg->norm is filled in for --normalize auto). Returns 0
 * with res->status, or -1 with err for a failure (bad data, a file that
 * cannot be written, ...). Writes the model file (atomically) after every
 * epoch that improves the keep-best metric (every epoch for "last"), and a
 * checkpoint after every epoch and when interrupted.
 * In a job of several processes (cnnkit/dist.h, after ck_dist_init) every
 * rank calls it with the same cfg: cfg->batch is the global batch, each rank
 * trains on its share (lib/train.c says how), rank 0 alone writes the files
 * and calls cb, and a failure on one rank leaves the others waiting in a
 * collective: the program must then end the job (ck_dist_abort). */
int ck_train_run(ck_train_config *cfg, const ck_train_callbacks *cb, ck_train_result *res,
                 ck_err *err);

/* --resume: fills *cfg (initialised or not) with the settings stored in the
 * checkpoint path and sets cfg->resume to path, so that ck_train_run
 * continues where the checkpoint left off. */
int ck_train_load_config(ck_train_config *cfg, const char *path, ck_err *err);

/* Compares the settings named in keys[0..n) of given with those of stored
 * (epochs is allowed to differ; file names may be given again and replace
 * the stored ones). Returns -1 with "--lr 0.1 conflicts with the checkpoint's
 * 0.05" on the first difference. */
int ck_train_check_resume(const ck_train_config *stored, const ck_train_config *given,
                          const char *const *keys, int n, ck_err *err);

#endif
