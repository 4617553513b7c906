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

/* ---- Data parallel (lib/train_dist.c), over cnnkit/dist.h ----------------
 * The functions that communicate are collective: every rank calls them, in
 * the same order. With one process they change nothing. */

/* Rank's part [*lo, *lo + *count) of n items split over size ranks in rank
 * order, the first n % size ranks taking one more: the same examples, in the
 * same order, as one process takes them. */
void ck_train_share(int64_t n, int rank, int size, int64_t *lo, int64_t *count);
/* path with every "%r" replaced by rank ("train-%r.tnz" -> "train-1.tnz"),
 * malloc'ed; NULL when out of memory. */
char *ck_train_rank_path(const char *path, int rank);
/* values[0..size) on every rank, value at index rank from each (an
 * all-gather done as a sum): for the example counts of per-rank files. */
int ck_train_gather(double value, double **values, ck_err *err);
/* The per-channel statistics of every rank's examples (n of them on this
 * rank) as if computed over all of them: for --normalize auto with one file
 * per rank. */
void ck_train_pool_norm(ck_normalize *norm, int64_t n);
/* At the start of a run: fails on a rank whose model or epoch differs from
 * rank 0's (different data or checkpoint), then gives every rank rank 0's
 * parameters, optimiser state, run state and normalisation. */
int ck_train_dist_start(ck_model *m, ck_train_optim *opt, ck_train_state *st, ck_normalize *norm,
                        int64_t batches, ck_err *err);
/* After backward: the gradients of the trainable parameters summed over the
 * ranks (each rank has scaled its part by its share of the batch). */
void ck_train_sum_grads(ck_model *m);
/* Before a validation or a checkpoint: the buffers (batchnorm running
 * statistics, which each rank updates from its own examples) averaged over
 * the ranks, then rank 0's parameters and optimiser state on every rank. */
void ck_train_dist_sync(ck_model *m, ck_train_optim *opt);

#endif
