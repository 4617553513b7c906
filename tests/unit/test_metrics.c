/* test_metrics.c: confusion matrices, per-class and averaged precision,
 * recall and F1 against hand-computed values, top-k with ties, regression
 * errors. */
#include "cnnkit.h"
#include "check.h"

#include <math.h>
#include <string.h>

static void test_confusion(void)
{
	/* Three classes; class 2 occurs but is never predicted.
	 *   true:  0 0 0 1 1 2 2 2 0 1
	 *   pred:  0 0 1 1 1 0 1 0 0 0
	 * confusion (row true, column predicted):
	 *   0: 3 1 0     support 4
	 *   1: 1 2 0     support 3
	 *   2: 2 1 0     support 3
	 * predicted counts: 6 4 0. */
	int32_t y[10] = {0, 0, 0, 1, 1, 2, 2, 2, 0, 1};
	int32_t p[10] = {0, 0, 1, 1, 1, 0, 1, 0, 0, 0};
	ck_confusion c;
	CHECK(ck_confusion_init(&c, 3, NULL) == 0, "init");
	ck_confusion_add(&c, y, p, 6);
	ck_confusion_add(&c, y + 6, p + 6, 4); /* in two pieces */
	int64_t want[9] = {3, 1, 0, 1, 2, 0, 2, 1, 0};
	CHECK(c.n == 10 && memcmp(c.counts, want, sizeof want) == 0, "counts");
	CHECK(ck_confusion_accuracy(&c) == 0.5, "accuracy 5/10");

	ck_class_metrics m[3];
	for (int k = 0; k < 3; k++)
		ck_confusion_class(&c, k, &m[k]);
	CHECK(m[0].support == 4 && m[1].support == 3 && m[2].support == 3, "support");
	CHECK(m[0].precision == 3.0 / 6 && m[0].recall == 3.0 / 4, "class 0 P R");
	CHECK_NEAR(m[0].f1, 2 * 0.5 * 0.75 / 1.25, 1e-15, "class 0 F1");
	CHECK(m[1].precision == 2.0 / 4 && m[1].recall == 2.0 / 3, "class 1 P R");
	CHECK_NEAR(m[1].f1, 2 * 0.5 * (2.0 / 3) / (0.5 + 2.0 / 3), 1e-15, "class 1 F1");
	CHECK(m[2].precision == 0 && m[2].recall == 0 && m[2].f1 == 0,
	      "never predicted: 0/0 precision is 0");

	ck_class_metrics macro, weighted;
	ck_confusion_average(&c, &macro, &weighted);
	double f0 = 0.6, f1 = 4.0 / 7;
	CHECK_NEAR(macro.precision, (0.5 + 0.5 + 0) / 3, 1e-15, "macro precision");
	CHECK_NEAR(macro.recall, (0.75 + 2.0 / 3 + 0) / 3, 1e-15, "macro recall");
	CHECK_NEAR(macro.f1, (f0 + f1) / 3, 1e-15, "macro f1");
	CHECK_NEAR(weighted.precision, (0.5 * 4 + 0.5 * 3) / 10, 1e-15, "weighted precision");
	CHECK_NEAR(weighted.recall, (0.75 * 4 + 2.0 / 3 * 3) / 10, 1e-15,
	           "weighted recall = accuracy");
	CHECK_NEAR(weighted.f1, (f0 * 4 + f1 * 3) / 10, 1e-15, "weighted f1");
	CHECK(macro.support == 10 && weighted.support == 10, "total support");
	ck_confusion_free(&c);

	/* A class absent from both labels and predictions is left out of the
	 * macro average (scikit-learn's default label set). */
	CHECK(ck_confusion_init(&c, 4, NULL) == 0, "init 4");
	ck_confusion_add(&c, (int32_t[]){0, 1, 1}, (int32_t[]){0, 1, 0}, 3);
	ck_confusion_average(&c, &macro, &weighted);
	/* class 0: P 1/2 R 1 F 2/3; class 1: P 1 R 1/2 F 2/3. */
	CHECK_NEAR(macro.precision, 0.75, 1e-15, "macro over the 2 present classes");
	CHECK_NEAR(macro.f1, 2.0 / 3, 1e-15, "macro f1");
	ck_confusion_free(&c);

	CHECK(ck_confusion_init(&c, 2, NULL) == 0, "init 2");
	CHECK(ck_confusion_accuracy(&c) == 0, "empty: accuracy 0");
	ck_confusion_average(&c, &macro, &weighted);
	CHECK(macro.f1 == 0 && weighted.f1 == 0 && macro.support == 0, "empty: averages 0");
	ck_confusion_free(&c);
	ck_err err;
	CHECK(ck_confusion_init(&c, 0, &err) == -1, "no classes");
}

static void test_topk(void)
{
	float s[4 * 4] = {
		0.1f, 0.5f, 0.3f, 0.1f, /* label 2: rank 1 */
		0.2f, 0.2f, 0.2f, 0.4f, /* label 2: 0.4 above, ties at 0, 1 -> rank 3 */
		0.9f, 0.0f, 0.0f, 0.1f, /* label 0: rank 0 */
		NAN,  0.1f, 0.2f, NAN,  /* label 3 (NaN): ranks below numbers and NaN at 0 -> 3 */
	};
	int32_t y[4] = {2, 2, 0, 3};
	CHECK(ck_topk_correct(s, y, 4, 4, 1) == 1, "top-1");
	CHECK(ck_topk_correct(s, y, 4, 4, 2) == 2, "top-2");
	CHECK(ck_topk_correct(s, y, 4, 4, 3) == 2, "top-3");
	CHECK(ck_topk_correct(s, y, 4, 4, 4) == 4, "top-4: everything");
	/* Top-1 agrees with ck_argmax_rows (ties to the lowest index). */
	int32_t am[4];
	ck_argmax_rows(am, s, 3, 4);
	int64_t same = 0;
	for (int i = 0; i < 3; i++)
		same += am[i] == y[i];
	CHECK(ck_topk_correct(s, y, 3, 4, 1) == same, "top-1 = argmax accuracy");
}

static void test_regression(void)
{
	float pred[3 * 2] = {1, 2, 3, 4, 5, 6};
	float tgt[3 * 2] = {1, 0, 4, 4, 3, 9};
	/* errors: (0, 2), (-1, 0), (2, -3): output 0 sq 5 abs 3, output 1 sq 13 abs 5. */
	ck_regression r;
	CHECK(ck_regression_init(&r, 2, NULL) == 0, "init");
	CHECK(ck_regression_mse(&r, -1) == 0 && ck_regression_mae(&r, 0) == 0, "empty: 0");
	ck_regression_add(&r, pred, tgt, 1);
	ck_regression_add(&r, pred + 2, tgt + 2, 2);
	CHECK(r.n == 3, "count");
	CHECK(ck_regression_mse(&r, 0) == 5.0 / 3 && ck_regression_mse(&r, 1) == 13.0 / 3,
	      "mse per output");
	CHECK(ck_regression_mae(&r, 0) == 1.0 && ck_regression_mae(&r, 1) == 5.0 / 3,
	      "mae per output");
	CHECK(ck_regression_mse(&r, -1) == 18.0 / 6 && ck_regression_mae(&r, -1) == 8.0 / 6,
	      "over all outputs");
	CHECK_NEAR(ck_regression_mse(&r, -1), ck_mse_forward(pred, tgt, 3, 2), 1e-12,
	           "agrees with the mse loss");
	ck_regression_free(&r);
}

static void test_loss_names(void)
{
	ck_loss_kind k;
	CHECK(ck_loss_parse("bce", &k) == 0 && k == CK_LOSS_BCE, "bce");
	CHECK(ck_loss_parse("cce", &k) == 0 && strcmp(ck_loss_name(k), "cce") == 0, "cce");
	CHECK(ck_loss_parse("mse", &k) == 0 && strcmp(ck_loss_name(k), "mse") == 0, "mse");
	CHECK(ck_loss_parse("nll", &k) == -1, "unknown");
}

int main(void)
{
	RUN(test_confusion);
	RUN(test_topk);
	RUN(test_regression);
	RUN(test_loss_names);
	return check_summary();
}
