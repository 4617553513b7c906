/* metrics.c: confusion matrices, per-class precision/recall/F1, top-k
 * accuracy and regression errors (cnnkit/data.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cnnkit.h"

/* ---- classification --------------------------------------------------------- */

int ck_confusion_init(ck_confusion *c, int k, ck_err *err)
{
	memset(c, 0, sizeof *c);
	if (k < 1)
		return ck_err_set(err, "a confusion matrix needs at least one class");
	c->counts = calloc((size_t)k * (size_t)k, sizeof *c->counts);
	if (!c->counts)
		return ck_err_set(err, "out of memory");
	c->k = k;
	return 0;
}

void ck_confusion_free(ck_confusion *c)
{
	free(c->counts);
	memset(c, 0, sizeof *c);
}

void ck_confusion_add(ck_confusion *c, const int32_t *labels, const int32_t *pred, int64_t n)
{
	for (int64_t i = 0; i < n; i++)
		c->counts[(size_t)labels[i] * (size_t)c->k + (size_t)pred[i]]++;
	c->n += n;
}

double ck_confusion_accuracy(const ck_confusion *c)
{
	int64_t correct = 0;
	for (int k = 0; k < c->k; k++)
		correct += c->counts[(size_t)k * (size_t)c->k + (size_t)k];
	return c->n > 0 ? (double)correct / (double)c->n : 0.0;
}

/* a / b, or 0 when b is 0 (scikit-learn's zero_division=0). */
static double ratio(double a, double b)
{
	return b != 0 ? a / b : 0.0;
}

/* Column sum: how often cls was predicted. */
static int64_t predicted(const ck_confusion *c, int cls)
{
	int64_t s = 0;
	for (int t = 0; t < c->k; t++)
		s += c->counts[(size_t)t * (size_t)c->k + (size_t)cls];
	return s;
}

void ck_confusion_class(const ck_confusion *c, int cls, ck_class_metrics *out)
{
	const int64_t *row = c->counts + (size_t)cls * (size_t)c->k;
	int64_t support = 0;
	for (int p = 0; p < c->k; p++)
		support += row[p];
	double tp = (double)row[cls];
	out->support = support;
	out->precision = ratio(tp, (double)predicted(c, cls));
	out->recall = ratio(tp, (double)support);
	out->f1 = ratio(2 * out->precision * out->recall, out->precision + out->recall);
}

void ck_confusion_average(const ck_confusion *c, ck_class_metrics *macro,
                          ck_class_metrics *weighted)
{
	ck_class_metrics m = {0}, w = {0};
	int present = 0;
	for (int k = 0; k < c->k; k++) {
		ck_class_metrics one;
		ck_confusion_class(c, k, &one);
		if (one.support == 0 && predicted(c, k) == 0)
			continue; /* absent from both labels and predictions */
		present++;
		m.precision += one.precision;
		m.recall += one.recall;
		m.f1 += one.f1;
		w.precision += one.precision * (double)one.support;
		w.recall += one.recall * (double)one.support;
		w.f1 += one.f1 * (double)one.support;
		w.support += one.support;
	}
	m.support = w.support;
	m.precision = ratio(m.precision, present);
	m.recall = ratio(m.recall, present);
	m.f1 = ratio(m.f1, present);
	w.precision = ratio(w.precision, (double)w.support);
	w.recall = ratio(w.recall, (double)w.support);
	w.f1 = ratio(w.f1, (double)w.support);
	if (macro)
		*macro = m;
	if (weighted)
		*weighted = w;
}

int64_t ck_topk_correct(const float *scores, const int32_t *labels, int64_t n, int K, int topk)
{
	int64_t correct = 0;
	for (int64_t i = 0; i < n; i++) {
		const float *s = scores + (size_t)i * (size_t)K;
		int label = labels[i];
		float v = s[label];
		int rank = 0; /* scores ranked before the label's */
		for (int j = 0; j < K; j++) {
			if (j == label)
				continue;
			if (isnan(v) ? !isnan(s[j]) || j < label : s[j] > v || (s[j] == v && j < label))
				rank++;
		}
		correct += rank < topk;
	}
	return correct;
}

/* ---- regression --------------------------------------------------------------- */

int ck_regression_init(ck_regression *r, int k, ck_err *err)
{
	memset(r, 0, sizeof *r);
	if (k < 1)
		return ck_err_set(err, "regression metrics need at least one output");
	r->sq = calloc((size_t)k, sizeof *r->sq);
	r->abs = calloc((size_t)k, sizeof *r->abs);
	if (!r->sq || !r->abs) {
		ck_regression_free(r);
		return ck_err_set(err, "out of memory");
	}
	r->k = k;
	return 0;
}

void ck_regression_free(ck_regression *r)
{
	free(r->sq);
	free(r->abs);
	memset(r, 0, sizeof *r);
}

void ck_regression_add(ck_regression *r, const float *pred, const float *target, int64_t n)
{
	for (int64_t i = 0; i < n; i++)
		for (int j = 0; j < r->k; j++) {
			size_t o = (size_t)i * (size_t)r->k + (size_t)j;
			double e = (double)pred[o] - (double)target[o];
			r->sq[j] += e * e;
			r->abs[j] += fabs(e);
		}
	r->n += n;
}

static double mean_of(const ck_regression *r, const double *sums, int j)
{
	if (r->n == 0)
		return 0.0;
	if (j >= 0)
		return sums[j] / (double)r->n;
	double s = 0;
	for (int k = 0; k < r->k; k++)
		s += sums[k];
	return s / ((double)r->n * r->k);
}

double ck_regression_mse(const ck_regression *r, int j)
{
	return mean_of(r, r->sq, j);
}

double ck_regression_mae(const ck_regression *r, int j)
{
	return mean_of(r, r->abs, j);
}
