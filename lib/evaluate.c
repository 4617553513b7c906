/* evaluate.c: a model in inference mode over a dataset: mean loss, metrics
 * and predictions (cnnkit/data.h). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cnnkit.h"
#include "threads_internal.h"

int ck_loss_parse(const char *name, ck_loss_kind *out)
{
	static const char *names[] = {"cce", "bce", "mse"};
	for (int i = 0; i < 3; i++)
		if (strcmp(name, names[i]) == 0) {
			*out = (ck_loss_kind)(i + 1);
			return 0;
		}
	return -1;
}

const char *ck_loss_name(ck_loss_kind kind)
{
	switch (kind) {
	case CK_LOSS_CCE: return "cce";
	case CK_LOSS_BCE: return "bce";
	case CK_LOSS_MSE: return "mse";
	}
	return "?";
}

ck_loss_kind ck_loss_default(const ck_model *m, ck_label_kind labels)
{
	switch (ck_model_final_act(m)) {
	case CK_ARCH_ACT_SOFTMAX: return CK_LOSS_CCE;
	case CK_ARCH_ACT_SIGMOID: return CK_LOSS_BCE;
	default: return labels == CK_LABELS_TARGETS ? CK_LOSS_MSE : CK_LOSS_CCE;
	}
}

void ck_eval_free(ck_eval *e)
{
	ck_confusion_free(&e->confusion);
	ck_regression_free(&e->regression);
	memset(e, 0, sizeof *e);
}

/* The task a loss gives, or -1 with a message when the labels do not fit. */
static int pick_task(ck_eval *e, const ck_dataset *d, ck_loss_kind loss, int K, ck_err *err)
{
	ck_label_kind lk = d->label_kind;
	switch (loss) {
	case CK_LOSS_CCE:
		if (lk == CK_LABELS_TARGETS)
			return ck_err_set(err, "loss cce needs class ids (y (N) integers), the data has "
			                  "f32 targets");
		if (K < 2)
			return ck_err_set(err, "loss cce needs at least 2 outputs, the model has %d", K);
		e->task = CK_TASK_MULTICLASS;
		return 0;
	case CK_LOSS_BCE:
		if (K == 1) {
			e->task = CK_TASK_BINARY;
		} else {
			if (lk == CK_LABELS_CLASS)
				return ck_err_set(err, "loss bce with %d outputs needs f32 targets (y (N,%d)),"
				                  " the data has class ids", K, K);
			e->task = CK_TASK_REGRESSION;
		}
		return 0;
	case CK_LOSS_MSE:
		if (lk == CK_LABELS_CLASS)
			return ck_err_set(err, "loss mse needs f32 targets (y (N,K)), the data has class "
			                  "ids");
		e->task = CK_TASK_REGRESSION;
		return 0;
	}
	return ck_err_set(err, "unknown loss kind %d", (int)loss);
}

int ck_evaluate(ck_eval *out, ck_model *m, const ck_dataset *d, const int64_t *idx, int64_t n,
                int batch, const ck_normalize *norm, ck_loss_kind loss, int topk, float *prob,
                int32_t *pred, ck_err *err)
{
	memset(out, 0, sizeof *out);
	int K = (int)ck_model_output_size(m);
	out->K = K;
	out->loss_kind = loss;
	out->labelled = d->label_kind != CK_LABELS_NONE;
	if (!idx)
		n = d->n;
	if (batch < 1)
		return ck_err_set(err, "batch size %d is below 1", batch);
	if (pick_task(out, d, loss, K, err) < 0)
		return -1;
	if (topk > 0 && (out->task != CK_TASK_MULTICLASS || topk > K))
		return ck_err_set(err, out->task != CK_TASK_MULTICLASS
		                  ? "top-k accuracy needs a model with several class outputs"
		                  : "top-k of %d is more than the %d classes", topk, K);
	out->topk = topk;
	int threads = ck_threads_or_default(d->threads);
	if (ck_normalize_check(norm, d, err) < 0 || ck_model_plan(m, batch, threads, err) < 0)
		return -1;
	int classify = out->task != CK_TASK_REGRESSION;
	if (out->labelled && classify &&
	    ck_confusion_init(&out->confusion, out->task == CK_TASK_BINARY ? 2 : K, err) < 0)
		return -1;
	if (out->labelled && !classify && ck_regression_init(&out->regression, K, err) < 0)
		return -1;

	int tokens = d->input_kind == CK_INPUT_TOKENS;
	size_t B = (size_t)batch, size = (size_t)d->example_size;
	void *x = malloc(B * size * (tokens ? sizeof(int32_t) : sizeof(float)));
	int32_t *lengths = malloc(B * sizeof *lengths);
	int32_t *labels = malloc(B * sizeof *labels);
	int32_t *bpred = malloc(B * sizeof *bpred);
	float *targets = malloc(B * (size_t)K * sizeof *targets);
	float *probs = malloc(B * (size_t)K * sizeof *probs);
	int64_t *bidx = malloc(B * sizeof *bidx);
	if (!x || !lengths || !labels || !bpred || !targets || !probs || !bidx) {
		ck_err_set(err, "out of memory");
		goto fail;
	}
	double loss_sum = 0;
	for (int64_t start = 0; start < n; start += batch) {
		int nb = (int)(n - start < batch ? n - start : batch);
		for (int b = 0; b < nb; b++)
			bidx[b] = idx ? idx[start + b] : start + b;
		int has_class = d->label_kind == CK_LABELS_CLASS;
		int has_targets = out->labelled && (d->label_kind == CK_LABELS_TARGETS ||
		                                    out->task == CK_TASK_BINARY);
		ck_dataset_batch(d, bidx, nb, norm, NULL, x, d->lengths ? lengths : NULL,
		                 has_class ? labels : NULL, has_targets ? targets : NULL);
		const int32_t *lens = d->lengths ? lengths : NULL;
		const float *logits = ck_model_forward(m, x, lens, nb, 0, 0);
		const float *outputs = probs; /* after the final activation */
		switch (out->task) {
		case CK_TASK_MULTICLASS:
			if (out->labelled)
				loss_sum += ck_cce_forward(probs, logits, labels, nb, K) * nb;
			else
				ck_softmax_forward(probs, logits, nb, K);
			ck_argmax_rows(bpred, logits, nb, K);
			break;
		case CK_TASK_BINARY:
		case CK_TASK_REGRESSION:
			if (loss == CK_LOSS_BCE) {
				if (out->labelled)
					loss_sum += ck_bce_logits_forward(logits, targets, nb, K) * nb;
				ck_sigmoid_forward(probs, logits, (size_t)nb * (size_t)K);
			} else {
				outputs = ck_model_predict(m, x, lens, nb);
				if (out->labelled)
					loss_sum += ck_mse_forward(outputs, targets, nb, K) * nb;
			}
			if (out->task == CK_TASK_BINARY)
				for (int b = 0; b < nb; b++)
					bpred[b] = outputs[b] >= 0.5f;
			break;
		}
		if (out->labelled && classify) {
			if (out->task == CK_TASK_BINARY && !has_class)
				for (int b = 0; b < nb; b++)
					labels[b] = targets[b] >= 0.5f;
			ck_confusion_add(&out->confusion, labels, bpred, nb);
			if (topk > 0)
				out->topk_correct += ck_topk_correct(logits, labels, nb, K, topk);
		} else if (out->labelled) {
			ck_regression_add(&out->regression, outputs, targets, nb);
		}
		if (prob)
			memcpy(prob + (size_t)start * (size_t)K, outputs,
			       (size_t)nb * (size_t)K * sizeof *prob);
		if (pred && classify)
			memcpy(pred + start, bpred, (size_t)nb * sizeof *pred);
	}
	out->n = n;
	out->loss = out->labelled && n > 0 ? loss_sum / (double)n : 0.0;
	free(x);
	free(lengths);
	free(labels);
	free(bpred);
	free(targets);
	free(probs);
	free(bidx);
	return 0;
fail:
	free(x);
	free(lengths);
	free(labels);
	free(bpred);
	free(targets);
	free(probs);
	free(bidx);
	ck_eval_free(out);
	return -1;
}
