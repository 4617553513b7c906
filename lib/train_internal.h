/* train_internal.h: what train.c, checkpoint.c and trainlog.c share. */
#ifndef CNNKIT_TRAIN_INTERNAL_H
#define CNNKIT_TRAIN_INTERNAL_H

#include <stdio.h>

#include "cnnkit/train.h"

/* Where a run is, as stored in a checkpoint. */
typedef struct ck_train_state {
	int epoch;          /* epochs completed: the 0-based index of the current one */
	int64_t position;   /* batches of the current epoch done */
	int64_t step;       /* global steps done */
	double seconds;     /* training wall time so far, over every session */
	/* Sums over the current epoch and over the steps since the last log row:
	 * loss times examples, correct predictions, examples. */
	double loss_sum, correct;
	int64_t seen;
	double win_loss, win_correct;
	int64_t win_seen;
	/* Keep-best and early stopping. */
	int best_epoch;     /* 0: none yet */
	double best;        /* the metric at best_epoch */
	int bad_epochs;     /* epochs since the last improvement */
} ck_train_state;

/* Optimiser state: state_count arrays laid out as the parameter block. */
typedef struct ck_train_optim {
	int count;     /* ck_optim_state_count */
	float *m, *v;  /* (params) each, or NULL */
	size_t n;
} ck_train_optim;

/* Writes the checkpoint: the model, the optimiser state as "optim.m.<param>"
 * and "optim.v.<param>" for trainable parameters, every setting as
 * "train.<key>", the state as "train.<field>", plus the metadata of info
 * (classes, vocab, normalize, loss). Atomic. */
int ck_checkpoint_save(const char *path, const ck_model *m, const ck_train_optim *opt,
                       const ck_train_config *cfg, const ck_train_state *st,
                       const ck_meta *info, int threads, ck_err *err);
/* Reads the settings of a loaded checkpoint into cfg. */
int ck_checkpoint_config(const ck_tnz *t, ck_train_config *cfg, ck_err *err);
/* Reads the state and the optimiser tensors (opt allocated for m). */
int ck_checkpoint_state(const ck_tnz *t, const ck_model *m, ck_train_optim *opt,
                        ck_train_state *st, ck_err *err);

/* The TSV log (formats/log.md). */
typedef struct ck_train_log {
	FILE *f;
	int val;       /* the val_loss and val_acc columns are there */
	char path[1024];
} ck_train_log;

/* Opens path: appends when append is set and the file exists (its header
 * must match), else writes a new file with the header. */
int ck_train_log_open(ck_train_log *log, const char *path, int val, int append, ck_err *err);
/* One row; NaN values are written as empty fields. Flushed. */
int ck_train_log_row(ck_train_log *log, double epoch, int64_t step, double seconds, double lr,
                     double loss, double acc, double val_loss, double val_acc, ck_err *err);
int ck_train_log_close(ck_train_log *log, ck_err *err);

#endif
