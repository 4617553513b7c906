/* cnnkit/data.h: datasets, batches, normalisation, augmentation, metrics and
 * the evaluation loop.
 *
 *     ck_dataset d;
 *     if (ck_dataset_load(&d, "train.tnz", threads, &err) < 0 ||
 *         ck_dataset_check_model(&d, model, &err) < 0) ...
 *     int64_t *tr, *va, ntr, nva;
 *     ck_dataset_split(&d, 0.1, seed, 1, &tr, &ntr, &va, &nva, &err);
 *     ck_normalize norm;
 *     ck_dataset_channel_stats(&d, tr, ntr, &norm, &err);     // --normalize auto
 *     ck_augment aug = {.flip = 1, .crop_pad = 4, .seed = seed, .epoch = e};
 *     ck_dataset_batch(&d, tr + b, nb, &norm, &aug, x, lengths, labels, targets);
 *     ...
 *     free(tr); free(va); ck_dataset_free(&d);
 *
 * A dataset file (DESIGN.md) holds
 *   x        (N,C,H,W) u8 or f32 images, (N,F) u8 or f32 features, (N,T,C)
 *            f32 sequences, or (N,L) integer token ids;
 *   y        (N) integer class ids, or (N) / (N,K) f32 targets; optional
 *            (unlabelled data, for prediction);
 *   lengths  (N) integer real lengths of the token rows; optional;
 * and the metadata `classes` and `vocab`, one name a line.
 *
 * Decisions (documented here, relied on by cnn-train and cnn-eval):
 * - x of dtype u8 is pixel intensities: batches scale it by 1/255 into [0,1].
 *   f32 (and f64, converted at load) x is used as it is. Any other integer
 *   dtype (i32, i64, u16, ...) is token ids, converted to i32 at load.
 * - y of any integer dtype (u8, i32, i64, ...) is class ids, converted to
 *   i32 at load; f32 or f64 y is regression (or BCE) targets, kept as f32;
 *   a rank-1 f32 y is K = 1 target per example.
 * - The number of classes is the line count of `classes` when present (every
 *   id must then be below it), else max(y) + 1. The vocabulary size is the
 *   line count of `vocab` when present (every token id must be below it),
 *   else max(x) + 1. A trailing newline does not start a line.
 * Everything a training run relies on is validated at load, so the batch
 * functions below cannot fail. Rows in messages count from 0, as indices. */
#ifndef CNNKIT_DATA_H
#define CNNKIT_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "base.h"
#include "model.h"
#include "tnz.h"

/* ---- Datasets (lib/dataset.c) ------------------------------------------ */

typedef enum ck_label_kind {
	CK_LABELS_NONE = 0,  /* no y: unlabelled, for prediction only */
	CK_LABELS_CLASS = 1, /* y (N) i32 class ids in [0, nclasses) */
	CK_LABELS_TARGETS = 2, /* y (N,K) f32 targets, finite */
} ck_label_kind;

typedef struct ck_dataset {
	ck_tnz file;            /* owned: tensors (converted as above) and metadata */
	const ck_tensor *x;     /* into file */
	const ck_tensor *y;     /* into file; NULL when unlabelled */
	const ck_tensor *lengths; /* into file; NULL when absent */
	int64_t n;              /* examples, > 0 */
	int example_rank;       /* 1..3 */
	int64_t example_shape[3]; /* x dims after the first: (C,H,W), (F), (T,C) or (L) */
	int64_t example_size;   /* product of example_shape */
	ck_model_input input_kind; /* CK_INPUT_F32 (x u8 or f32) or CK_INPUT_TOKENS */
	int x_u8;               /* 1: x is u8, scaled by 1/255 in batches */
	int64_t vocab_size;     /* tokens: lines of `vocab`, else max id + 1; else 0 */
	int vocab_from_meta;    /* 1 when vocab_size comes from `vocab` */
	ck_label_kind label_kind;
	int64_t nclasses;       /* class ids: lines of `classes`, else max(y) + 1;
	                         * otherwise the lines of `classes` (maybe 0) */
	int classes_from_meta;  /* 1 when nclasses comes from `classes` */
	int64_t ntargets;       /* K of f32 targets; 1 for class ids; 0 unlabelled */
	char **class_names;     /* the lines of `classes`, or NULL */
	int64_t nclass_names;
	int threads;            /* for batches and statistics; 0 = all */
} ck_dataset;

/* Loads and validates a dataset file ("-": standard input). threads: 0 = all.
 * Messages name the problem, e.g. "no tensor x (the examples)",
 * "y has 999 rows, x has 1000", "y row 17: class 12 is out of range [0, 10)",
 * "x row 3, position 5: token id 7000 is out of range [0, 5000)",
 * "lengths row 2: 40 is out of range [0, 32]", "no examples",
 * "x row 8: value nan is not finite". On failure *d is left empty. */
int ck_dataset_load(ck_dataset *d, const char *path, int threads, ck_err *err);
/* The same for a TNZ already in memory: takes over its contents (*t is left
 * empty whatever happens). */
int ck_dataset_from_tnz(ck_dataset *d, ck_tnz *t, int threads, ck_err *err);
void ck_dataset_free(ck_dataset *d);

/* Class k's name from `classes`, or NULL when unknown. */
const char *ck_dataset_class_name(const ck_dataset *d, int64_t k);

/* Checks that the model can take the data, with messages such as
 * "data examples are (3,32,32), the model takes (1,28,28)",
 * "data is token ids, the model takes f32 values",
 * "data has 10 classes, the model outputs 5",
 * "data has 3 targets per example, the model outputs 5",
 * "data vocabulary has 7000 tokens, the model's has 5000".
 * Class counts: with `classes` metadata the count must equal the model's
 * output size; without, max(y) + 1 must not exceed it (a subset may miss the
 * last classes). A model with one sigmoid output takes 2 classes (ids 0, 1). */
int ck_dataset_check_model(const ck_dataset *d, const ck_model *m, ck_err *err);

/* Checks that the token ids of d mean what they meant to the model, or to
 * the training data: compares d's `vocab` metadata with ref's (a model
 * file's or another dataset's metadata), token by token. ck_dataset_check_model
 * compares sizes only, and two vocabularies of the same size (tokenize run
 * on two different files) give ids with nothing in common. Returns 0 when
 * both are the same, 1 when d has no `vocab` (the ids cannot be checked but
 * are below the size ck_dataset_check_model checks: the caller may accept
 * them, with a warning), 2 when ref has none; -1 with err when they differ,
 * the message naming ref as ref_name ("model", "training data"):
 *   "the vocabulary differs from the model's: id 57 is \"great\" here, \"good\" in the model"
 *   "the vocabulary has 3661 tokens, the model's 3377" (lib/dataset_vocab.c) */
int ck_dataset_check_vocab(const ck_dataset *d, const ck_meta *ref, const char *ref_name,
                           ck_err *err);

/* Splits [0, n) into training and validation index arrays, both sorted
 * ascending, malloc'ed (free them). nval = round(n * val_fraction); with
 * stratify and class labels every class c gives floor or ceil of
 * n_c * val_fraction examples (largest remainders first, ties to the lower
 * class), so that the total is still nval. The choice within a class (or the
 * whole set) is a ck_rng shuffle seeded by seed: same seed, same split.
 * Fails when 0 < val_fraction and either part would be empty, or when
 * val_fraction is outside [0, 1). stratify is ignored without class labels. */
int ck_dataset_split(const ck_dataset *d, double val_fraction, uint64_t seed, int stratify,
                     int64_t **train_idx, int64_t *ntrain, int64_t **val_idx, int64_t *nval,
                     ck_err *err);

/* ---- Input normalisation (lib/batch.c) -----------------------------------
 *
 * x' = (x - mean[c]) / std[c] on f32 inputs (after u8 scaling), per channel c
 * of (C,H,W) images; one (mean, std) pair for every value of any input. Stored
 * in model files as the metadata "normalize" in the form
 *     "MEAN/STD"  or  "M1,M2,M3/S1,S2,S3"   e.g. "0.286/0.353"
 * each number the shortest decimal that reads back as the same float. */
#define CK_NORM_MAX_CHANNELS 64

typedef struct ck_normalize {
	int channels; /* 0: no normalisation; 1: one pair for all; else C */
	float mean[CK_NORM_MAX_CHANNELS];
	float std[CK_NORM_MAX_CHANNELS]; /* > 0 */
} ck_normalize;

/* Parses the format above ("" or "none" give channels = 0). Rejects counts
 * that differ between mean and std, non-finite numbers and std <= 0. */
int ck_normalize_parse(ck_normalize *norm, const char *text, ck_err *err);
/* Writes the format above into buf (always terminated); "none" for
 * channels = 0. Returns the length, or -1 when cap is too small. */
int ck_normalize_format(const ck_normalize *norm, char *buf, size_t cap);
/* Checks that norm fits the data: 0 or 1 channel, or C of (C,H,W) images. */
int ck_normalize_check(const ck_normalize *norm, const ck_dataset *d, ck_err *err);
/* Per-channel mean and standard deviation (population, divided by the count)
 * of the examples idx[0..n) (all when idx is NULL, n = d->n), in [0,1] scale
 * for u8 data, summed in double in an order that does not depend on the
 * thread count: for --normalize auto. channels = C for (C,H,W) images, else
 * 1. Fails for token data and when a std is 0 (constant input). */
int ck_dataset_channel_stats(const ck_dataset *d, const int64_t *idx, int64_t n,
                             ck_normalize *norm, ck_err *err);

/* ---- Augmentation (lib/augment.c) ----------------------------------------
 *
 * For (C,H,W) images, applied while gathering a batch. For each example
 * (original index i) the decisions come from ck_hash_u64 keyed by (seed,
 * epoch) at counters derived from i, so they depend neither on the thread
 * count nor on which batch the example lands in:
 *   crop: dy, dx uniform integers in [-P, P]; out(c,y,x) = in(c, y+dy, x+dx),
 *         black (0 before normalisation) outside the image: torchvision's
 *         RandomCrop(size, padding=P) before Normalize;
 *   flip: with probability 1/2, after the crop: out(c,y,x) = in'(c,y,W-1-x). */
typedef struct ck_augment {
	int flip;       /* 1: random horizontal flip */
	int crop_pad;   /* P > 0: random shift in [-P, P]; 0: none */
	uint64_t seed;
	uint64_t epoch; /* new decisions every epoch */
} ck_augment;

/* Checks that aug fits the data (images, P < min(H, W)). */
int ck_augment_check(const ck_augment *aug, const ck_dataset *d, ck_err *err);
/* The decisions for example i: *flip 0/1, *dy, *dx in [-P, P]. */
void ck_augment_decide(const ck_augment *aug, int64_t i, int *flip, int *dy, int *dx);
/* Applies the decisions to one image: in (C,H,W) u8 (in_u8 = 1, scaled by
 * 1/255 on the way) or f32, out (C,H,W) f32, distinct from in. With no
 * flip and no shift it only converts. */
void ck_augment_image(float *out, const void *in, int in_u8, int C, int H, int W, int flip,
                      int dy, int dx);

/* ---- Batches (lib/batch.c) -------------------------------------------------
 *
 * Gathers the examples idx[0..n) into caller buffers, in parallel over the
 * examples (d->threads), deterministically:
 *   x        f32 input: float (n, example_size), u8 scaled by 1/255, then
 *            augmented (aug may be NULL) and normalised (norm may be NULL);
 *            tokens: int32_t (n, L) ids;
 *   lengths  (n) int32 real lengths (L when the data has none); may be NULL;
 *   labels   (n) int32 class ids; may be NULL; needs class labels;
 *   targets  (n, K) f32 targets; may be NULL; for class labels K = 1 and the
 *            target is the id as a float (a binary model with one sigmoid).
 * norm and aug must have passed ck_normalize_check and ck_augment_check. */
void ck_dataset_batch(const ck_dataset *d, const int64_t *idx, int n, const ck_normalize *norm,
                      const ck_augment *aug, void *x, int32_t *lengths, int32_t *labels,
                      float *targets);

/* ---- Metrics (lib/metrics.c) ----------------------------------------------
 *
 * Classification: a confusion matrix, row = true class, column = predicted.
 * Per class k: precision = C[k][k] / column sum, recall = C[k][k] / row sum
 * (the support), F1 = 2 P R / (P + R); any 0/0 is defined as 0 (scikit-learn's
 * zero_division=0). Macro averages are the plain mean over the classes that
 * occur in the true labels or the predictions (scikit-learn's default label
 * set); weighted averages weight each class by its support. */
typedef struct ck_confusion {
	int k;
	int64_t *counts; /* (k,k) */
	int64_t n;       /* examples added */
} ck_confusion;

typedef struct ck_class_metrics {
	double precision, recall, f1;
	int64_t support; /* examples whose true class it is (the total for averages) */
} ck_class_metrics;

int ck_confusion_init(ck_confusion *c, int k, ck_err *err);
void ck_confusion_free(ck_confusion *c);
/* Counts n (label, prediction) pairs, both in [0, k). */
void ck_confusion_add(ck_confusion *c, const int32_t *labels, const int32_t *pred, int64_t n);
/* Correct / n; 0 when n = 0. */
double ck_confusion_accuracy(const ck_confusion *c);
void ck_confusion_class(const ck_confusion *c, int cls, ck_class_metrics *out);
void ck_confusion_average(const ck_confusion *c, ck_class_metrics *macro,
                          ck_class_metrics *weighted);

/* Rows of scores (n,K) whose true class is among the topk highest scores:
 * the label's rank is the number of scores above it plus the number of equal
 * scores at lower indices (ties to the lowest index, as ck_argmax_rows); NaN
 * ranks below every number. */
int64_t ck_topk_correct(const float *scores, const int32_t *labels, int64_t n, int K, int topk);

/* Regression: sums of squared and absolute errors per output, in double. */
typedef struct ck_regression {
	int k;
	int64_t n;      /* examples added */
	double *sq, *abs; /* (k) */
} ck_regression;

int ck_regression_init(ck_regression *r, int k, ck_err *err);
void ck_regression_free(ck_regression *r);
/* Adds pred, target (n,k). */
void ck_regression_add(ck_regression *r, const float *pred, const float *target, int64_t n);
/* Mean squared / absolute error of output j, or over all outputs (j = -1);
 * 0 when nothing was added. */
double ck_regression_mse(const ck_regression *r, int j);
double ck_regression_mae(const ck_regression *r, int j);

/* ---- Evaluation (lib/evaluate.c) ------------------------------------------
 *
 * Runs a model in inference mode over examples of a dataset and gathers the
 * loss and the metrics of its task. */
typedef enum ck_loss_kind {
	CK_LOSS_CCE = 1, /* softmax cross-entropy on logits; class ids */
	CK_LOSS_BCE = 2, /* sigmoid binary cross-entropy on logits; targets or ids 0/1 */
	CK_LOSS_MSE = 3, /* mean squared error on the outputs; f32 targets */
} ck_loss_kind;

/* "cce", "bce", "mse" -> kind; returns 0 or -1. */
int ck_loss_parse(const char *name, ck_loss_kind *out);
const char *ck_loss_name(ck_loss_kind kind);
/* The loss a model was most likely trained with when its file does not say:
 * final softmax -> CCE, final sigmoid -> BCE, linear -> CCE for class labels
 * (logits), MSE for targets. */
ck_loss_kind ck_loss_default(const ck_model *m, ck_label_kind labels);

typedef enum ck_task {
	CK_TASK_MULTICLASS = 1, /* CCE: predicted class = argmax */
	CK_TASK_BINARY = 2,     /* BCE, one output: predicted class = (prob >= 0.5) */
	CK_TASK_REGRESSION = 3, /* MSE, or BCE with several outputs (multi-label) */
} ck_task;

typedef struct ck_eval {
	ck_task task;
	ck_loss_kind loss_kind;
	int64_t n;          /* examples seen */
	int K;              /* model outputs */
	int labelled;       /* 0: predictions only; loss and metrics are unset */
	double loss;        /* mean over the examples */
	ck_confusion confusion; /* classification tasks: K classes (2 for binary) */
	int topk;           /* 0: not asked */
	int64_t topk_correct;
	ck_regression regression; /* regression task */
} ck_eval;

/* Evaluates m (planned here for batch examples and d->threads threads) on the
 * examples idx[0..n) of d (all when idx is NULL, n = d->n), batch examples at
 * a time, normalising with norm (may be NULL). prob, when not NULL, receives
 * the outputs after the final activation (softmax for CCE, sigmoid for BCE),
 * (n, K); pred, when not NULL, the predicted class (n) of classification
 * tasks. Unlabelled data is allowed: only prob and pred are filled. The data
 * must have passed ck_dataset_check_model; the loss must fit the labels
 * ("loss cce needs class ids (y (N) integers)", ...). Free with ck_eval_free. */
int ck_evaluate(ck_eval *out, ck_model *m, const ck_dataset *d, const int64_t *idx, int64_t n,
                int batch, const ck_normalize *norm, ck_loss_kind loss, int topk, float *prob,
                int32_t *pred, ck_err *err);
void ck_eval_free(ck_eval *e);

/* ---- Helpers ---------------------------------------------------------------- */

/* Splits text[0..len) at '\n' into a malloc'ed array of malloc'ed strings
 * (free with ck_lines_free); a trailing newline does not start a line, so
 * "a\nb\n" and "a\nb" give 2 lines and "" gives 0. */
int ck_lines_split(const char *text, size_t len, char ***lines, int64_t *count, ck_err *err);
void ck_lines_free(char **lines, int64_t count);

#endif
