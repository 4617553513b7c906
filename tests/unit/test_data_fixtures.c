/* test_data_fixtures.c: small models and datasets whose evaluation is known
 * exactly, for tests/bats/cnn-eval.bats.
 *
 *   test_data_fixtures DIR   writes the files below into DIR
 *   test_data_fixtures       (as a unit test) writes them into a temporary
 *                            directory and checks that they load and fit
 *
 * model-3way.tnz     "dense 3" on 2 features, logits (x0, x1, 0); loss cce;
 *                    classes cat, dog "big", zèbre
 * model-3way-norm.tnz  the same with normalize "2/1" (inputs x - 2)
 * data-3way.tnz      5 examples, y 0 0 1 2 2; predictions 0 2 1 2 0
 * data-3way-x.tnz    the same examples without y
 * data-many.tnz      20000 examples without y, for pipes
 * data-bad-shape.tnz     3 features per example
 * data-bad-classes.tnz   `classes` with 4 names
 * data-bad-label.tnz     `classes` with 3 names, y row 3 = 7
 * data-empty.tnz         x (0,2)
 * model-binary.tnz   "dense 1 sigmoid", logit x0 - x1; loss bce
 * data-binary.tnz    4 examples, y 1 1 0 0; logits 1 -1 0 -4
 * model-reg.tnz      "dense 2", outputs (x0 + x1, x0 - x1); loss mse
 * data-reg.tnz       3 examples with f32 targets (N,2)
 */
#include "cnnkit.h"
#include "check.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const float x3[5 * 2] = {2, 1, -1, -2, 0, 3, -1, -1, 1, 0.5f};
static const int32_t y3[5] = {0, 0, 1, 2, 2};
static const char classes3[] = "cat\ndog \"big\"\nz\xc3\xa8" "bre\n";

static int save(ck_tnz *t, const char *dir, const char *name, ck_err *err)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	int rc = ck_tnz_save(t, path, NULL, err);
	if (rc < 0)
		ck_err_prefix(err, "%s", path);
	ck_tnz_free(t);
	return rc;
}

/* A model file: arch on (F) features, parameters from w and b, metadata. */
static int save_model(const char *dir, const char *name, const char *arch, int64_t F,
                      const float *w, const float *b, const char *loss, const char *norm,
                      const char *classes, ck_err *err)
{
	ck_model *m = ck_model_create(arch, (int64_t[]){F}, 1, 0, err);
	if (!m)
		return -1;
	const ck_arch *a = ck_model_arch(m);
	memcpy(ck_model_param(m, 0), w, (size_t)a->params[0].count * sizeof *w);
	memcpy(ck_model_param(m, 1), b, (size_t)a->params[1].count * sizeof *b);
	ck_tnz t = {0};
	int rc = ck_model_to_tnz(m, &t, err);
	ck_model_free(m);
	if (rc == 0 && loss)
		rc = ck_meta_set(&t.meta, "loss", loss, (size_t)-1, err);
	if (rc == 0 && norm)
		rc = ck_meta_set(&t.meta, "normalize", norm, (size_t)-1, err);
	if (rc == 0 && classes)
		rc = ck_meta_set(&t.meta, "classes", classes, (size_t)-1, err);
	if (rc < 0) {
		ck_tnz_free(&t);
		return -1;
	}
	return save(&t, dir, name, err);
}

/* A dataset: x (n,F) f32, y (n) i32 or (n,K) f32 or none, classes or none. */
static int save_data(const char *dir, const char *name, const float *x, int64_t n, int64_t F,
                     const int32_t *y, const float *targets, int64_t K, const char *classes,
                     ck_err *err)
{
	ck_tnz t = {0};
	int ok = ck_tnz_add(&t, "x", CK_DTYPE_F32, 2, (int64_t[]){n, F}, x, err) != NULL;
	if (ok && y)
		ok = ck_tnz_add(&t, "y", CK_DTYPE_I32, 1, (int64_t[]){n}, y, err) != NULL;
	if (ok && targets)
		ok = ck_tnz_add(&t, "y", CK_DTYPE_F32, 2, (int64_t[]){n, K}, targets, err) != NULL;
	if (ok && classes)
		ok = ck_meta_set(&t.meta, "classes", classes, (size_t)-1, err) == 0;
	if (!ok) {
		ck_tnz_free(&t);
		return -1;
	}
	return save(&t, dir, name, err);
}

static int write_fixtures(const char *dir, ck_err *err)
{
	const float w3[6] = {1, 0, 0, 1, 0, 0}, b3[3] = {0, 0, 0};
	if (save_model(dir, "model-3way.tnz", "dense 3", 2, w3, b3, "cce", NULL, classes3, err) ||
	    save_model(dir, "model-3way-norm.tnz", "dense 3", 2, w3, b3, "cce", "2/1", classes3,
	               err) ||
	    save_data(dir, "data-3way.tnz", x3, 5, 2, y3, NULL, 0, classes3, err) ||
	    save_data(dir, "data-3way-x.tnz", x3, 5, 2, NULL, NULL, 0, NULL, err))
		return -1;

	enum { MANY = 20000 };
	float *many = malloc(MANY * 2 * sizeof *many);
	if (!many)
		return ck_err_set(err, "out of memory");
	for (int i = 0; i < MANY * 2; i++)
		many[i] = (float)(i % 7) - 3;
	int rc = save_data(dir, "data-many.tnz", many, MANY, 2, NULL, NULL, 0, NULL, err);
	free(many);
	if (rc)
		return -1;

	const float xbad[5 * 3] = {0};
	const int32_t ybad[5] = {0, 1, 2, 7, 0};
	if (save_data(dir, "data-bad-shape.tnz", xbad, 5, 3, y3, NULL, 0, NULL, err) ||
	    save_data(dir, "data-bad-classes.tnz", x3, 5, 2, y3, NULL, 0, "a\nb\nc\nd\n", err) ||
	    save_data(dir, "data-bad-label.tnz", x3, 5, 2, ybad, NULL, 0, "a\nb\nc\n", err) ||
	    save_data(dir, "data-empty.tnz", x3, 0, 2, NULL, NULL, 0, NULL, err))
		return -1;

	const float wb[2] = {1, -1}, bb[1] = {0};
	const float xb[4 * 2] = {1, 0, 0, 1, 2, 2, -1, 3};
	const int32_t yb[4] = {1, 1, 0, 0};
	if (save_model(dir, "model-binary.tnz", "dense 1 sigmoid", 2, wb, bb, "bce", NULL, NULL,
	               err) ||
	    save_data(dir, "data-binary.tnz", xb, 4, 2, yb, NULL, 0, NULL, err))
		return -1;

	/* outputs (x0 + x1, x0 - x1): (3, 1), (0, 2), (-2, 0) against targets
	 * (3, 2), (0, 0), (-1, 0): errors (0, -1), (0, 2), (-1, 0). */
	const float wr[4] = {1, 1, 1, -1}, br[2] = {0, 0};
	const float xr[3 * 2] = {2, 1, 1, -1, -1, -1};
	const float tr[3 * 2] = {3, 2, 0, 0, -1, 0};
	if (save_model(dir, "model-reg.tnz", "dense 2", 2, wr, br, "mse", NULL, NULL, err) ||
	    save_data(dir, "data-reg.tnz", xr, 3, 2, NULL, tr, 2, NULL, err))
		return -1;
	return 0;
}

/* ---- as a unit test ---------------------------------------------------------- */

static char dir[] = "/tmp/ck_eval_fixtures_XXXXXX";

static void test_fixtures_load_and_fit(void)
{
	ck_err err = {{0}};
	CHECK(write_fixtures(dir, &err) == 0, "%s", err.msg);
	static const char *pairs[][2] = {
		{"model-3way.tnz", "data-3way.tnz"},   {"model-3way.tnz", "data-3way-x.tnz"},
		{"model-3way.tnz", "data-many.tnz"},   {"model-3way-norm.tnz", "data-3way.tnz"},
		{"model-binary.tnz", "data-binary.tnz"}, {"model-reg.tnz", "data-reg.tnz"},
	};
	for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
		char mp[512], dp[512];
		snprintf(mp, sizeof mp, "%s/%s", dir, pairs[i][0]);
		snprintf(dp, sizeof dp, "%s/%s", dir, pairs[i][1]);
		ck_tnz mt = {0};
		ck_model *m = NULL;
		ck_dataset d;
		int ok = ck_tnz_load(&mt, mp, 1, &err) == 0 && (m = ck_model_from_tnz(&mt, &err)) &&
		         ck_dataset_load(&d, dp, 1, &err) == 0;
		CHECK(ok, "%s: %s", pairs[i][1], err.msg);
		if (ok) {
			CHECK(ck_dataset_check_model(&d, m, &err) == 0, "%s fits %s: %s", pairs[i][1],
			      pairs[i][0], err.msg);
			ck_dataset_free(&d);
		}
		ck_model_free(m);
		ck_tnz_free(&mt);
	}
	static const char *bad[] = {"data-bad-shape.tnz", "data-bad-classes.tnz",
	                            "data-bad-label.tnz", "data-empty.tnz"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char path[512];
		snprintf(path, sizeof path, "%s/%s", dir, bad[i]);
		ck_tnz t = {0};
		CHECK(ck_tnz_load(&t, path, 1, &err) == 0, "%s is a TNZ file", bad[i]);
		ck_tnz_free(&t);
	}
}

static void remove_fixtures(void)
{
	static const char *files[] = {
		"model-3way.tnz", "model-3way-norm.tnz", "data-3way.tnz", "data-3way-x.tnz",
		"data-many.tnz", "data-bad-shape.tnz", "data-bad-classes.tnz", "data-bad-label.tnz",
		"data-empty.tnz", "model-binary.tnz", "data-binary.tnz", "model-reg.tnz",
		"data-reg.tnz"};
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		char path[512];
		snprintf(path, sizeof path, "%s/%s", dir, files[i]);
		unlink(path);
	}
	rmdir(dir);
}

int main(int argc, char **argv)
{
	if (argc == 2) {
		ck_err err = {{0}};
		if (write_fixtures(argv[1], &err) < 0) {
			fprintf(stderr, "test_data_fixtures: %s\n", err.msg);
			return 1;
		}
		return 0;
	}
	if (!mkdtemp(dir)) {
		printf("not ok - mkdtemp\n");
		return 1;
	}
	RUN(test_fixtures_load_and_fit);
	remove_fixtures();
	return check_summary();
}
