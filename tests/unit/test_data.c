/* test_data.c: datasets (loading, every validation message), model checks,
 * splits, normalisation, batches, augmentation and the evaluation loop. */
#include "cnnkit.h"
#include "check.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- fixtures ----------------------------------------------------------- */

/* A dataset file in memory: x (N,C,H,W) u8 with pixel value (i*7 + k) % 256
 * for example i, value k; y (N) i32 = i % classes. */
static void make_images(ck_tnz *t, int64_t N, int64_t C, int64_t H, int64_t W, int classes)
{
	memset(t, 0, sizeof *t);
	int64_t size = C * H * W;
	uint8_t *x = malloc((size_t)(N * size) + 1);
	int32_t *y = malloc((size_t)N * sizeof *y + 1);
	for (int64_t i = 0; i < N; i++) {
		for (int64_t k = 0; k < size; k++)
			x[i * size + k] = (uint8_t)((i * 7 + k) % 256);
		y[i] = (int32_t)(i % classes);
	}
	ck_tnz_add(t, "x", CK_DTYPE_U8, 4, (int64_t[]){N, C, H, W}, x, NULL);
	ck_tnz_add(t, "y", CK_DTYPE_I32, 1, (int64_t[]){N}, y, NULL);
	free(x);
	free(y);
}

/* Loads t as a dataset; returns 0 or -1 with the message in err. */
static int load(ck_dataset *d, ck_tnz *t, ck_err *err)
{
	return ck_dataset_from_tnz(d, t, 1, err);
}

/* Expects loading t to fail with exactly msg. */
static void expect_error(ck_tnz *t, const char *msg, const char *what)
{
	ck_dataset d;
	ck_err err = {{0}};
	int rc = load(&d, t, &err);
	CHECK(rc == -1, "%s: load fails", what);
	CHECK(strcmp(err.msg, msg) == 0, "%s: message \"%s\", expected \"%s\"", what, err.msg, msg);
	CHECK(d.x == NULL && d.n == 0, "%s: dataset left empty", what);
	CHECK(t->count == 0, "%s: tnz taken over", what);
}

/* ---- loading -------------------------------------------------------------- */

static void test_load_images(void)
{
	ck_tnz t;
	make_images(&t, 10, 3, 4, 5, 4);
	ck_meta_set(&t.meta, "classes", "cat\ndog\n\"quoted\"\nzebra\n", (size_t)-1, NULL);
	ck_dataset d;
	ck_err err = {{0}};
	CHECK(load(&d, &t, &err) == 0, "%s", err.msg);
	CHECK(d.n == 10 && d.example_rank == 3 && d.example_size == 60, "shape");
	CHECK(d.example_shape[0] == 3 && d.example_shape[1] == 4 && d.example_shape[2] == 5, "dims");
	CHECK(d.input_kind == CK_INPUT_F32 && d.x_u8 == 1, "u8 images are f32 input");
	CHECK(d.label_kind == CK_LABELS_CLASS && d.nclasses == 4 && d.classes_from_meta, "classes");
	CHECK(d.ntargets == 1 && d.vocab_size == 0 && d.lengths == NULL, "no tokens");
	CHECK(strcmp(ck_dataset_class_name(&d, 2), "\"quoted\"") == 0, "class name");
	CHECK(ck_dataset_class_name(&d, 4) == NULL && ck_dataset_class_name(&d, -1) == NULL,
	      "out of range name");
	ck_dataset_free(&d);

	/* Without `classes`: max(y) + 1; i64 labels converted to i32. */
	make_images(&t, 5, 1, 2, 2, 1);
	ck_tnz_remove(&t, "y");
	int64_t y64[5] = {0, 6, 2, 2, 1};
	ck_tnz_add(&t, "y", CK_DTYPE_I64, 1, (int64_t[]){5}, y64, NULL);
	CHECK(load(&d, &t, &err) == 0, "%s", err.msg);
	CHECK(d.nclasses == 7 && !d.classes_from_meta, "nclasses = max + 1");
	CHECK(d.y->dtype == CK_DTYPE_I32 && ((int32_t *)d.y->data)[1] == 6, "converted to i32");
	ck_dataset_free(&d);

	/* Unlabelled, f64 features converted to f32; f32 (N) targets. */
	memset(&t, 0, sizeof t);
	double xf[6] = {0.5, -1, 2, 3, 4.25, 5};
	ck_tnz_add(&t, "x", CK_DTYPE_F64, 2, (int64_t[]){3, 2}, xf, NULL);
	CHECK(load(&d, &t, &err) == 0, "%s", err.msg);
	CHECK(d.label_kind == CK_LABELS_NONE && d.y == NULL && d.ntargets == 0, "unlabelled");
	CHECK(d.x->dtype == CK_DTYPE_F32 && ((float *)d.x->data)[4] == 4.25f, "f64 -> f32");
	CHECK(d.x_u8 == 0 && d.example_rank == 1 && d.example_size == 2, "features");
	ck_dataset_free(&d);

	memset(&t, 0, sizeof t);
	ck_tnz_add(&t, "x", CK_DTYPE_F32, 2, (int64_t[]){3, 2}, NULL, NULL);
	ck_tnz_add(&t, "y", CK_DTYPE_F32, 1, (int64_t[]){3}, NULL, NULL);
	CHECK(load(&d, &t, &err) == 0, "%s", err.msg);
	CHECK(d.label_kind == CK_LABELS_TARGETS && d.ntargets == 1, "rank-1 f32 y: 1 target");
	ck_dataset_free(&d);
}

static void test_load_file(void)
{
	char dir[] = "/tmp/ck_test_data_XXXXXX";
	CHECK(mkdtemp(dir) != NULL, "mkdtemp");
	char path[128];
	snprintf(path, sizeof path, "%s/d.tnz", dir);
	ck_tnz t;
	make_images(&t, 6, 1, 3, 3, 3);
	ck_err err = {{0}};
	CHECK(ck_tnz_save(&t, path, NULL, &err) == 0, "save: %s", err.msg);
	ck_tnz_free(&t);
	ck_dataset d;
	CHECK(ck_dataset_load(&d, path, 2, &err) == 0, "load: %s", err.msg);
	CHECK(d.n == 6 && d.nclasses == 3 && d.threads == 2, "loaded from a file");
	ck_dataset_free(&d);
	snprintf(path, sizeof path, "%s/missing.tnz", dir);
	CHECK(ck_dataset_load(&d, path, 1, &err) == -1 && d.n == 0, "missing file fails");
	CHECK(strstr(err.msg, "No such file") != NULL, "message: %s", err.msg);
	snprintf(path, sizeof path, "%s/d.tnz", dir);
	unlink(path);
	rmdir(dir);
}

static void test_load_errors(void)
{
	ck_tnz t = {0};
	ck_tnz_add(&t, "images", CK_DTYPE_U8, 2, (int64_t[]){2, 2}, NULL, NULL);
	expect_error(&t, "no tensor x (the examples)", "missing x");

	make_images(&t, 0, 1, 2, 2, 1);
	expect_error(&t, "no examples (x has shape (0, 1, 2, 2))", "empty");

	memset(&t, 0, sizeof t);
	ck_tnz_add(&t, "x", CK_DTYPE_F32, 1, (int64_t[]){4}, NULL, NULL);
	expect_error(&t, "x has shape (4,): expected (N,C,H,W) images, (N,F) features, (N,T,C) "
	             "sequences or (N,L) token ids", "rank 1 x");

	memset(&t, 0, sizeof t);
	ck_tnz_add(&t, "x", CK_DTYPE_F16, 2, (int64_t[]){4, 2}, NULL, NULL);
	expect_error(&t, "x has dtype f16: expected u8 or f32 values, or integer token ids",
	             "f16 x");

	make_images(&t, 4, 1, 2, 2, 2);
	ck_tnz_remove(&t, "y");
	ck_tnz_add(&t, "y", CK_DTYPE_I32, 1, (int64_t[]){3}, NULL, NULL);
	expect_error(&t, "y has 3 rows, x has 4", "y rows");

	make_images(&t, 4, 1, 2, 2, 2);
	ck_tnz_remove(&t, "y");
	ck_tnz_add(&t, "y", CK_DTYPE_BF16, 1, (int64_t[]){4}, NULL, NULL);
	expect_error(&t, "y has dtype bf16: expected integer class ids or f32 targets", "y dtype");

	make_images(&t, 4, 1, 2, 2, 2);
	ck_tnz_remove(&t, "y");
	ck_tnz_add(&t, "y", CK_DTYPE_I32, 2, (int64_t[]){4, 3}, NULL, NULL);
	expect_error(&t, "y has integer dtype i32 and shape (4, 3): class ids must be (N)",
	             "y (N,3) ints");

	make_images(&t, 30, 1, 2, 2, 10);
	ck_meta_set(&t.meta, "classes", "0\n1\n2\n3\n4\n5\n6\n7\n8\n", (size_t)-1, NULL);
	expect_error(&t, "y row 9: class 9 is out of range [0, 9)", "class beyond classes");

	make_images(&t, 4, 1, 2, 2, 2);
	((int32_t *)ck_tnz_find(&t, "y")->data)[2] = -3;
	expect_error(&t, "y row 2: class -3 is out of range [0, 1048576)", "negative class");

	memset(&t, 0, sizeof t);
	ck_tnz_add(&t, "x", CK_DTYPE_F32, 2, (int64_t[]){3, 2}, NULL, NULL);
	float *xv = ck_tnz_find(&t, "x")->data;
	xv[5] = NAN;
	expect_error(&t, "x row 2: value nan is not finite", "nan in x");

	memset(&t, 0, sizeof t);
	ck_tnz_add(&t, "x", CK_DTYPE_F32, 2, (int64_t[]){3, 2}, NULL, NULL);
	ck_tnz_add(&t, "y", CK_DTYPE_F32, 2, (int64_t[]){3, 2}, NULL, NULL);
	((float *)ck_tnz_find(&t, "y")->data)[3] = -INFINITY;
	expect_error(&t, "y row 1: value -inf is not finite", "inf in y");

	/* Tokens: ids beyond the vocabulary, negative ids, lengths past L. */
	memset(&t, 0, sizeof t);
	int32_t ids[2 * 4] = {1, 2, 0, 0, 3, 4, 5, 0};
	ck_tnz_add(&t, "x", CK_DTYPE_I32, 2, (int64_t[]){2, 4}, ids, NULL);
	ck_meta_set(&t.meta, "vocab", "<pad>\na\nb\nc\nd\n", (size_t)-1, NULL);
	expect_error(&t, "x row 1, position 2: token id 5 is out of range [0, 5)", "token range");

	memset(&t, 0, sizeof t);
	ids[1] = -1;
	ck_tnz_add(&t, "x", CK_DTYPE_I32, 2, (int64_t[]){2, 4}, ids, NULL);
	expect_error(&t, "x row 0, position 1: token id -1 is out of range [0, 2147483647)",
	             "negative token");

	memset(&t, 0, sizeof t);
	ids[1] = 2;
	ck_tnz_add(&t, "x", CK_DTYPE_I32, 2, (int64_t[]){2, 4}, ids, NULL);
	ck_tnz_add(&t, "lengths", CK_DTYPE_I32, 1, (int64_t[]){2}, (int32_t[]){2, 5}, NULL);
	expect_error(&t, "lengths row 1: 5 is out of range [0, 4]", "lengths range");

	memset(&t, 0, sizeof t);
	ck_tnz_add(&t, "x", CK_DTYPE_I16, 3, (int64_t[]){2, 2, 2}, NULL, NULL);
	expect_error(&t, "x has integer dtype i16 and shape (2, 2, 2): token ids must be (N,L)",
	             "rank-3 tokens");

	make_images(&t, 2, 1, 2, 2, 2);
	ck_tnz_add(&t, "lengths", CK_DTYPE_I32, 1, (int64_t[]){2}, NULL, NULL);
	expect_error(&t, "lengths given, but x holds neither token ids nor sequences",
	             "lengths on images");
}

static void test_load_tokens(void)
{
	ck_tnz t = {0};
	int64_t ids[2 * 3] = {1, 2, 0, 3, 9, 4};
	ck_tnz_add(&t, "x", CK_DTYPE_I64, 2, (int64_t[]){2, 3}, ids, NULL);
	ck_tnz_add(&t, "lengths", CK_DTYPE_U8, 1, (int64_t[]){2}, (uint8_t[]){2, 3}, NULL);
	ck_tnz_add(&t, "y", CK_DTYPE_U8, 1, (int64_t[]){2}, (uint8_t[]){1, 0}, NULL);
	ck_dataset d;
	ck_err err = {{0}};
	CHECK(load(&d, &t, &err) == 0, "%s", err.msg);
	CHECK(d.input_kind == CK_INPUT_TOKENS && d.vocab_size == 10 && !d.vocab_from_meta,
	      "vocab = max id + 1");
	CHECK(d.x->dtype == CK_DTYPE_I32 && d.lengths->dtype == CK_DTYPE_I32, "converted");
	int32_t x[6], len[2], lab[2];
	CHECK(d.nclasses == 2, "classes");
	ck_dataset_batch(&d, (int64_t[]){1, 0}, 2, NULL, NULL, x, len, lab, NULL);
	CHECK(x[0] == 3 && x[1] == 9 && x[2] == 4 && x[3] == 1 && x[4] == 2 && x[5] == 0,
	      "token rows gathered");
	CHECK(len[0] == 3 && len[1] == 2 && lab[0] == 0 && lab[1] == 1, "lengths and labels");
	ck_dataset_free(&d);

	/* Without lengths: every row is L long. */
	memset(&t, 0, sizeof t);
	ck_tnz_add(&t, "x", CK_DTYPE_I32, 2, (int64_t[]){1, 3}, (int32_t[]){1, 1, 1}, NULL);
	ck_meta_set(&t.meta, "vocab", "<pad>\nx", (size_t)-1, NULL);
	CHECK(load(&d, &t, &err) == 0, "%s", err.msg);
	CHECK(d.vocab_size == 2 && d.vocab_from_meta, "vocab lines without a final newline");
	ck_dataset_batch(&d, (int64_t[]){0}, 1, NULL, NULL, x, len, NULL, NULL);
	CHECK(len[0] == 3, "default length L");
	ck_dataset_free(&d);
}

static void test_lines(void)
{
	char **l;
	int64_t n;
	CHECK(ck_lines_split("a\nb\n", 4, &l, &n, NULL) == 0 && n == 2, "two lines");
	CHECK(strcmp(l[0], "a") == 0 && strcmp(l[1], "b") == 0, "values");
	ck_lines_free(l, n);
	CHECK(ck_lines_split("a\n\nc", 4, &l, &n, NULL) == 0 && n == 3 && l[1][0] == 0, "empty line");
	ck_lines_free(l, n);
	CHECK(ck_lines_split("", 0, &l, &n, NULL) == 0 && n == 0 && l == NULL, "no lines");
}

/* ---- model checks ---------------------------------------------------------- */

static void expect_model_error(const ck_dataset *d, const char *spec, const int64_t *shape,
                               int rank, int64_t vocab, const char *msg)
{
	ck_err err = {{0}};
	ck_model *m = ck_model_create(spec, shape, rank, vocab, &err);
	CHECK(m != NULL, "model %s: %s", spec, err.msg);
	if (!m)
		return;
	int rc = ck_dataset_check_model(d, m, &err);
	if (msg) {
		CHECK(rc == -1 && strcmp(err.msg, msg) == 0, "%s: got \"%s\", expected \"%s\"", spec,
		      rc ? err.msg : "success", msg);
	} else {
		CHECK(rc == 0, "%s fits: %s", spec, err.msg);
	}
	ck_model_free(m);
}

static void test_check_model(void)
{
	ck_tnz t;
	make_images(&t, 20, 3, 8, 8, 10);
	ck_dataset d;
	ck_err err = {{0}};
	CHECK(load(&d, &t, &err) == 0, "%s", err.msg);
	int64_t ok[3] = {3, 8, 8}, bad[3] = {1, 28, 28};
	expect_model_error(&d, "dense 10", ok, 3, 0, NULL);
	expect_model_error(&d, "dense 12", ok, 3, 0, NULL); /* no `classes`: a subset is fine */
	expect_model_error(&d, "dense 5", ok, 3, 0, "data has 10 classes, the model outputs 5");
	expect_model_error(&d, "dense 10", bad, 3, 0,
	                   "data examples are (3,8,8), the model takes (1,28,28)");
	expect_model_error(&d, "dense 1 sigmoid", ok, 3, 0,
	                   "data has 10 classes, the model has one output (2 classes)");
	expect_model_error(&d, "embedding 4; globalmaxpool; dense 10", (int64_t[]){8}, 1, 50,
	                   "data is f32 values, the model takes token ids");
	ck_dataset_free(&d);

	make_images(&t, 20, 3, 8, 8, 10);
	ck_meta_set(&t.meta, "classes", "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n", (size_t)-1, NULL);
	CHECK(load(&d, &t, &err) == 0, "%s", err.msg);
	expect_model_error(&d, "dense 12", ok, 3, 0, "data has 10 classes, the model outputs 12");
	ck_dataset_free(&d);

	memset(&t, 0, sizeof t);
	ck_tnz_add(&t, "x", CK_DTYPE_I32, 2, (int64_t[]){2, 8}, NULL, NULL);
	ck_tnz_add(&t, "y", CK_DTYPE_F32, 2, (int64_t[]){2, 3}, NULL, NULL);
	ck_meta_set(&t.meta, "vocab", "a\nb\nc\n", (size_t)-1, NULL);
	CHECK(load(&d, &t, &err) == 0, "%s", err.msg);
	expect_model_error(&d, "embedding 4; globalmaxpool; dense 3", (int64_t[]){8}, 1, 3, NULL);
	expect_model_error(&d, "embedding 4; globalmaxpool; dense 3", (int64_t[]){8}, 1, 50,
	                   "data vocabulary has 3 tokens, the model's has 50");
	expect_model_error(&d, "embedding 4; globalmaxpool; dense 5", (int64_t[]){8}, 1, 3,
	                   "data has 3 targets per example, the model outputs 5");
	expect_model_error(&d, "dense 3", (int64_t[]){8}, 1, 0,
	                   "data is token ids, the model takes f32 values");
	ck_dataset_free(&d);
}

/* ---- splits ------------------------------------------------------------------- */

/* 1: a and b are sorted, disjoint and together [0, n). */
static int partition_ok(const int64_t *a, int64_t na, const int64_t *b, int64_t nb, int64_t n)
{
	if (na + nb != n)
		return 0;
	char *seen = calloc((size_t)n, 1);
	int ok = 1;
	for (int64_t i = 0; i < na; i++) {
		ok &= a[i] >= 0 && a[i] < n && !seen[a[i]] && (i == 0 || a[i] > a[i - 1]);
		if (a[i] >= 0 && a[i] < n)
			seen[a[i]] = 1;
	}
	for (int64_t i = 0; i < nb; i++) {
		ok &= b[i] >= 0 && b[i] < n && !seen[b[i]] && (i == 0 || b[i] > b[i - 1]);
		if (b[i] >= 0 && b[i] < n)
			seen[b[i]] = 1;
	}
	free(seen);
	return ok;
}

static void test_split(void)
{
	/* 103 examples, classes of sizes 50, 30, 23 (class of i: i < 50 -> 0, ...). */
	ck_tnz t = {0};
	int32_t y[103];
	for (int i = 0; i < 103; i++)
		y[i] = i < 50 ? 0 : i < 80 ? 1 : 2;
	ck_tnz_add(&t, "x", CK_DTYPE_F32, 2, (int64_t[]){103, 1}, NULL, NULL);
	ck_tnz_add(&t, "y", CK_DTYPE_I32, 1, (int64_t[]){103}, y, NULL);
	ck_dataset d;
	ck_err err = {{0}};
	CHECK(load(&d, &t, &err) == 0, "%s", err.msg);

	int64_t *tr, *va, ntr, nva, *tr2, *va2, ntr2, nva2;
	CHECK(ck_dataset_split(&d, 0.25, 7, 0, &tr, &ntr, &va, &nva, &err) == 0, "%s", err.msg);
	CHECK(nva == 26 && ntr == 77, "round(103 * 0.25) = 26 in val");
	CHECK(partition_ok(tr, ntr, va, nva, 103), "plain split is a partition");
	CHECK(ck_dataset_split(&d, 0.25, 7, 0, &tr2, &ntr2, &va2, &nva2, &err) == 0, "again");
	CHECK(nva2 == nva && memcmp(va, va2, (size_t)nva * sizeof *va) == 0, "same seed, same split");
	free(tr2);
	free(va2);
	CHECK(ck_dataset_split(&d, 0.25, 8, 0, &tr2, &ntr2, &va2, &nva2, &err) == 0, "seed 8");
	CHECK(memcmp(va, va2, (size_t)nva * sizeof *va) != 0, "another seed, another split");
	free(tr);
	free(va);
	free(tr2);
	free(va2);

	/* Stratified: 50*0.25 = 12.5, 30*0.25 = 7.5, 23*0.25 = 5.75: floors 12, 7,
	 * 5 = 24; two more for the largest remainders: class 2 (.75), then class
	 * 0 (.5, tie with class 1 goes to the lower class). */
	CHECK(ck_dataset_split(&d, 0.25, 7, 1, &tr, &ntr, &va, &nva, &err) == 0, "%s", err.msg);
	CHECK(partition_ok(tr, ntr, va, nva, 103), "stratified split is a partition");
	int per[3] = {0};
	for (int64_t i = 0; i < nva; i++)
		per[y[va[i]]]++;
	CHECK(nva == 26 && per[0] == 13 && per[1] == 7 && per[2] == 6, "per class %d %d %d",
	      per[0], per[1], per[2]);
	CHECK(ck_dataset_split(&d, 0.25, 7, 1, &tr2, &ntr2, &va2, &nva2, &err) == 0, "again");
	CHECK(memcmp(va, va2, (size_t)nva * sizeof *va) == 0, "stratified is reproducible");
	free(tr);
	free(va);
	free(tr2);
	free(va2);

	CHECK(ck_dataset_split(&d, 0, 1, 1, &tr, &ntr, &va, &nva, &err) == 0 && ntr == 103 &&
	      nva == 0, "fraction 0: everything trains");
	CHECK(partition_ok(tr, ntr, va, nva, 103), "identity partition");
	free(tr);
	free(va);
	CHECK(ck_dataset_split(&d, 0.001, 1, 0, &tr, &ntr, &va, &nva, &err) == -1, "empty val");
	CHECK(strcmp(err.msg, "a validation fraction of 0.001 of 103 examples leaves the "
	             "validation set empty") == 0, "%s", err.msg);
	CHECK(ck_dataset_split(&d, 1, 1, 0, &tr, &ntr, &va, &nva, &err) == -1, "fraction 1");
	CHECK(strcmp(err.msg, "validation fraction 1 is outside [0, 1)") == 0, "%s", err.msg);
	ck_dataset_free(&d);
}

/* ---- normalisation and batches -------------------------------------------------- */

static void test_normalize_format(void)
{
	ck_normalize n;
	ck_err err = {{0}};
	char buf[256];
	CHECK(ck_normalize_parse(&n, "0.2860/0.3530", &err) == 0, "%s", err.msg);
	CHECK(n.channels == 1 && n.mean[0] == 0.2860f && n.std[0] == 0.3530f, "one channel");
	CHECK(ck_normalize_format(&n, buf, sizeof buf) > 0 && strcmp(buf, "0.286/0.353") == 0,
	      "shortest form: %s", buf);
	CHECK(ck_normalize_parse(&n, "0.4914,0.4822,0.4465/0.247,0.2435,0.2616", &err) == 0,
	      "%s", err.msg);
	CHECK(n.channels == 3 && n.mean[2] == 0.4465f && n.std[1] == 0.2435f, "three channels");
	ck_normalize_format(&n, buf, sizeof buf);
	CHECK(strcmp(buf, "0.4914,0.4822,0.4465/0.247,0.2435,0.2616") == 0, "%s", buf);
	n.mean[0] = 1.0f / 3.0f;
	ck_normalize_format(&n, buf, sizeof buf);
	ck_normalize back;
	CHECK(ck_normalize_parse(&back, buf, &err) == 0 && back.mean[0] == n.mean[0],
	      "round trip of 1/3: %s", buf);
	CHECK(ck_normalize_format(&n, buf, 10) == -1, "too small a buffer");
	CHECK(ck_normalize_parse(&n, "none", &err) == 0 && n.channels == 0, "none");
	CHECK(ck_normalize_format(&n, buf, sizeof buf) == 4 && strcmp(buf, "none") == 0, "none out");

	CHECK(ck_normalize_parse(&n, "0.5", &err) == -1 && strstr(err.msg, "expected MEAN/STD"),
	      "%s", err.msg);
	CHECK(ck_normalize_parse(&n, "0.5,0.2/0.1", &err) == -1 &&
	      strcmp(err.msg, "normalisation \"0.5,0.2/0.1\": 2 mean and 1 std values") == 0,
	      "%s", err.msg);
	CHECK(ck_normalize_parse(&n, "0.5/0", &err) == -1 && strstr(err.msg, "not positive"),
	      "%s", err.msg);
	CHECK(ck_normalize_parse(&n, "0.5/x", &err) == -1 &&
	      strcmp(err.msg, "std: \"x\" is not a list of numbers") == 0, "%s", err.msg);
	CHECK(ck_normalize_parse(&n, "0.5,/1", &err) == -1, "trailing comma: %s", err.msg);
	CHECK(ck_normalize_parse(&n, "nan/1", &err) == -1, "nan: %s", err.msg);
}

static void test_batch_images(void)
{
	ck_tnz t;
	make_images(&t, 4, 2, 2, 3, 2); /* (4,2,2,3): example size 12 */
	ck_dataset d;
	ck_err err = {{0}};
	CHECK(load(&d, &t, &err) == 0, "%s", err.msg);
	float x[2 * 12];
	int32_t lab[2];
	float tgt[2];
	int64_t idx[2] = {3, 1};
	ck_dataset_batch(&d, idx, 2, NULL, NULL, x, NULL, lab, tgt);
	int exact = 1;
	for (int b = 0; b < 2; b++)
		for (int k = 0; k < 12; k++)
			exact &= x[b * 12 + k] == (float)((idx[b] * 7 + k) % 256) / 255.0f;
	CHECK(exact, "u8 scaled by 1/255 exactly");
	CHECK(lab[0] == 1 && lab[1] == 1 && tgt[0] == 1.0f, "labels and id targets");

	ck_normalize n;
	CHECK(ck_normalize_parse(&n, "0.1,0.7/0.5,0.25", &err) == 0, "%s", err.msg);
	CHECK(ck_normalize_check(&n, &d, &err) == 0, "%s", err.msg);
	ck_dataset_batch(&d, idx, 2, &n, NULL, x, NULL, NULL, NULL);
	exact = 1;
	for (int b = 0; b < 2; b++)
		for (int k = 0; k < 12; k++) {
			int c = k / 6;
			float v = (float)((idx[b] * 7 + k) % 256) / 255.0f;
			exact &= x[b * 12 + k] == (v - n.mean[c]) / n.std[c];
		}
	CHECK(exact, "per-channel normalisation exact");
	CHECK(ck_normalize_parse(&n, "0,0,0/1,1,1", &err) == 0, "parse");
	CHECK(ck_normalize_check(&n, &d, &err) == -1 &&
	      strcmp(err.msg, "normalisation has 3 channels, the data has 2") == 0, "%s", err.msg);
	ck_dataset_free(&d);
}

static void test_channel_stats(void)
{
	/* Two channels: channel 0 holds 0 and 255 equally (mean 0.5, std 0.5),
	 * channel 1 is 51 everywhere but one 255 in the last example. */
	enum { N = 300 };
	ck_tnz t = {0};
	uint8_t *x = calloc(N * 2 * 4, 1);
	for (int i = 0; i < N; i++)
		for (int k = 0; k < 4; k++) {
			x[i * 8 + k] = (uint8_t)((i + k) % 2 ? 255 : 0);
			x[i * 8 + 4 + k] = 51;
		}
	x[(N - 1) * 8 + 7] = 255;
	ck_tnz_add(&t, "x", CK_DTYPE_U8, 4, (int64_t[]){N, 2, 2, 2}, x, NULL);
	ck_dataset d;
	ck_err err = {{0}};
	CHECK(load(&d, &t, &err) == 0, "%s", err.msg);
	ck_normalize n1, n2;
	CHECK(ck_dataset_channel_stats(&d, NULL, N, &n1, &err) == 0, "%s", err.msg);
	CHECK(n1.channels == 2 && n1.mean[0] == 0.5f && n1.std[0] == 0.5f, "channel 0: %g %g",
	      (double)n1.mean[0], (double)n1.std[0]);
	double m = (51.0 * (4 * N - 1) + 255) / (4 * N), sq = (51.0 * 51 * (4 * N - 1) + 255 * 255)
	    / (4 * N);
	CHECK_NEAR(n1.mean[1], m / 255, 1e-7, "channel 1 mean");
	CHECK_NEAR(n1.std[1], sqrt(sq - m * m) / 255, 1e-6, "channel 1 std");
	d.threads = 2;
	CHECK(ck_dataset_channel_stats(&d, NULL, N, &n2, &err) == 0, "%s", err.msg);
	CHECK(memcmp(&n1, &n2, sizeof n1) == 0, "same bits with 1 and 2 threads");
	/* Only the first 10 examples: channel 1 is constant there. */
	int64_t idx[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
	CHECK(ck_dataset_channel_stats(&d, idx, 10, &n2, &err) == -1 &&
	      strcmp(err.msg, "channel 1 is constant (std 0): it cannot be normalised") == 0,
	      "%s", err.msg);
	ck_dataset_free(&d);
	free(x);
}

/* ---- augmentation ---------------------------------------------------------------- */

static void test_augment_image(void)
{
	/* One channel, 2x3: 1 2 3 / 4 5 6. */
	float in[6] = {1, 2, 3, 4, 5, 6}, out[6];
	ck_augment_image(out, in, 0, 1, 2, 3, 1, 0, 0);
	float flip[6] = {3, 2, 1, 6, 5, 4};
	CHECK(memcmp(out, flip, sizeof out) == 0, "flip");
	ck_augment_image(out, in, 0, 1, 2, 3, 0, 1, -1);
	float shift[6] = {0, 4, 5, 0, 0, 0}; /* out(y,x) = in(y+1, x-1) */
	CHECK(memcmp(out, shift, sizeof out) == 0, "crop shift");
	ck_augment_image(out, in, 0, 1, 2, 3, 1, 0, 1);
	float both[6] = {0, 3, 2, 0, 6, 5}; /* out(y,x) = in(y, 2-x+1) */
	CHECK(memcmp(out, both, sizeof out) == 0, "shift then flip");
	uint8_t in8[6] = {0, 51, 102, 153, 204, 255};
	ck_augment_image(out, in8, 1, 1, 2, 3, 0, -1, 0);
	CHECK(out[0] == 0 && out[1] == 0 && out[2] == 0 && out[3] == 0 && out[4] == 51 / 255.0f &&
	      out[5] == 102 / 255.0f, "u8 source, shift down");
}

static void test_augment_batch(void)
{
	enum { N = 4000 };
	ck_tnz t;
	make_images(&t, N, 3, 5, 6, 2);
	ck_dataset d;
	ck_err err = {{0}};
	CHECK(load(&d, &t, &err) == 0, "%s", err.msg);
	ck_augment aug = {.flip = 1, .crop_pad = 2, .seed = 42, .epoch = 3};
	CHECK(ck_augment_check(&aug, &d, &err) == 0, "%s", err.msg);
	int flips = 0, seen[5] = {0}, range_ok = 1;
	for (int64_t i = 0; i < N; i++) {
		int f, dy, dx;
		ck_augment_decide(&aug, i, &f, &dy, &dx);
		flips += f;
		range_ok &= dy >= -2 && dy <= 2 && dx >= -2 && dx <= 2;
		if (dy >= -2 && dy <= 2)
			seen[dy + 2]++;
	}
	CHECK(range_ok, "shifts in [-2, 2]");
	CHECK(abs(flips - N / 2) < 4 * 32, "flips %d of %d (p = 0.5)", flips, N); /* 4 sd */
	for (int s = 0; s < 5; s++)
		CHECK(abs(seen[s] - N / 5) < 4 * 26, "shift %d seen %d times", s - 2, seen[s]);

	/* The batch holds exactly the augmented images, whatever the thread
	 * count and the position of the example in the batch. */
	enum { B = 64 };
	int64_t idx[B];
	for (int b = 0; b < B; b++)
		idx[b] = (b * 37) % N;
	float *x1 = malloc(B * 90 * sizeof(float)), *x2 = malloc(B * 90 * sizeof(float));
	float one[90];
	d.threads = 1;
	ck_dataset_batch(&d, idx, B, NULL, &aug, x1, NULL, NULL, NULL);
	d.threads = 2;
	ck_dataset_batch(&d, idx, B, NULL, &aug, x2, NULL, NULL, NULL);
	CHECK(memcmp(x1, x2, B * 90 * sizeof(float)) == 0, "independent of thread count");
	ck_dataset_batch(&d, idx + 5, 1, NULL, &aug, one, NULL, NULL, NULL);
	CHECK(memcmp(one, x1 + 5 * 90, sizeof one) == 0, "independent of batch composition");
	int f, dy, dx;
	ck_augment_decide(&aug, idx[5], &f, &dy, &dx);
	float ref[90];
	ck_augment_image(ref, (const uint8_t *)d.x->data + idx[5] * 90, 1, 3, 5, 6, f, dy, dx);
	CHECK(memcmp(ref, one, sizeof one) == 0, "batch = ck_augment_image of the decisions");
	aug.epoch = 4;
	ck_dataset_batch(&d, idx, B, NULL, &aug, x2, NULL, NULL, NULL);
	CHECK(memcmp(x1, x2, B * 90 * sizeof(float)) != 0, "new epoch, new decisions");
	free(x1);
	free(x2);

	aug.crop_pad = 5;
	CHECK(ck_augment_check(&aug, &d, &err) == -1 &&
	      strcmp(err.msg, "crop padding 5 is outside [0, 5) for 5x6 images") == 0, "%s",
	      err.msg);
	ck_dataset_free(&d);

	memset(&t, 0, sizeof t);
	ck_tnz_add(&t, "x", CK_DTYPE_F32, 2, (int64_t[]){2, 4}, NULL, NULL);
	CHECK(load(&d, &t, &err) == 0, "%s", err.msg);
	aug.crop_pad = 0;
	CHECK(ck_augment_check(&aug, &d, &err) == -1 && strstr(err.msg, "needs images"), "%s",
	      err.msg);
	ck_dataset_free(&d);
}

/* ---- evaluation -------------------------------------------------------------------- */

/* "dense 3" on 2 features with weights chosen so that the logits are
 * (x0, x1, 0): the prediction is whichever of x0, x1, 0 is largest. */
static ck_model *three_way_model(void)
{
	ck_err err;
	ck_model *m = ck_model_create("dense 3", (int64_t[]){2}, 1, 0, &err);
	if (!m)
		return NULL;
	float *w = ck_model_param(m, 0), *b = ck_model_param(m, 1);
	float W[6] = {1, 0, 0, 1, 0, 0};
	memcpy(w, W, sizeof W);
	memset(b, 0, 3 * sizeof *b);
	return m;
}

static void test_evaluate(void)
{
	/* 5 examples; true classes 0 0 1 2 2; logits (x0, x1, 0). */
	float x[5 * 2] = {2, 1, -1, -2, 0, 3, -1, -1, 1, 0.5f};
	int32_t y[5] = {0, 0, 1, 2, 2};
	ck_tnz t = {0};
	ck_tnz_add(&t, "x", CK_DTYPE_F32, 2, (int64_t[]){5, 2}, x, NULL);
	ck_tnz_add(&t, "y", CK_DTYPE_I32, 1, (int64_t[]){5}, y, NULL);
	ck_dataset d;
	ck_err err = {{0}};
	CHECK(load(&d, &t, &err) == 0, "%s", err.msg);
	ck_model *m = three_way_model();
	CHECK(m != NULL, "model");
	CHECK(ck_dataset_check_model(&d, m, &err) == 0, "%s", err.msg);
	CHECK(ck_loss_default(m, d.label_kind) == CK_LOSS_CCE, "linear + class ids: cce");
	ck_eval e;
	float prob[5 * 3];
	int32_t pred[5];
	CHECK(ck_evaluate(&e, m, &d, NULL, 0, 2, NULL, CK_LOSS_CCE, 2, prob, pred, &err) == 0,
	      "%s", err.msg);
	/* Predictions: 0, 2, 1, 2, 0. */
	int32_t want[5] = {0, 2, 1, 2, 0};
	CHECK(memcmp(pred, want, sizeof want) == 0, "predictions %d %d %d %d %d", pred[0], pred[1],
	      pred[2], pred[3], pred[4]);
	double loss = 0;
	for (int i = 0; i < 5; i++) {
		double z[3] = {x[2 * i], x[2 * i + 1], 0};
		double s = exp(z[0]) + exp(z[1]) + exp(z[2]);
		loss += log(s) - z[y[i]];
		CHECK_NEAR(prob[3 * i + 1], exp(z[1]) / s, 1e-6, "prob row %d", i);
	}
	CHECK_NEAR(e.loss, loss / 5, 1e-6, "mean cce");
	CHECK(e.n == 5 && e.task == CK_TASK_MULTICLASS && e.confusion.k == 3, "task");
	int64_t cm[9] = {1, 0, 1, 0, 1, 0, 1, 0, 1};
	CHECK(memcmp(e.confusion.counts, cm, sizeof cm) == 0, "confusion matrix");
	CHECK_NEAR(ck_confusion_accuracy(&e.confusion), 0.6, 1e-12, "accuracy");
	/* Top-2: example 1 (true 0: logits -1,-2,0: rank 1) is in; example 4
	 * (true 2: logits 1, .5, 0: rank 2) is not. */
	CHECK(e.topk == 2 && e.topk_correct == 4, "top-2 %lld", (long long)e.topk_correct);
	ck_eval_free(&e);

	/* The same with an index subset and the wrong loss for the labels. */
	CHECK(ck_evaluate(&e, m, &d, (int64_t[]){2, 3}, 2, 8, NULL, CK_LOSS_CCE, 0, NULL, NULL,
	                  &err) == 0 && e.n == 2 && ck_confusion_accuracy(&e.confusion) == 1.0,
	      "subset");
	ck_eval_free(&e);
	CHECK(ck_evaluate(&e, m, &d, NULL, 0, 8, NULL, CK_LOSS_MSE, 0, NULL, NULL, &err) == -1 &&
	      strcmp(err.msg, "loss mse needs f32 targets (y (N,K)), the data has class ids") == 0,
	      "%s", err.msg);
	CHECK(ck_evaluate(&e, m, &d, NULL, 0, 8, NULL, CK_LOSS_CCE, 4, NULL, NULL, &err) == -1 &&
	      strcmp(err.msg, "top-k of 4 is more than the 3 classes") == 0, "%s", err.msg);
	ck_model_free(m);
	ck_dataset_free(&d);

	/* Regression: y = (N,3) f32 targets, outputs = (x0, x1, 0). */
	float tg[5 * 3] = {2, 1, 1, 0, 0, 0, 0, 3, 0, 0, 0, 0, 1, 0.5f, 0};
	memset(&t, 0, sizeof t);
	ck_tnz_add(&t, "x", CK_DTYPE_F32, 2, (int64_t[]){5, 2}, x, NULL);
	ck_tnz_add(&t, "y", CK_DTYPE_F32, 2, (int64_t[]){5, 3}, tg, NULL);
	CHECK(load(&d, &t, &err) == 0, "%s", err.msg);
	m = three_way_model();
	CHECK(ck_loss_default(m, d.label_kind) == CK_LOSS_MSE, "linear + targets: mse");
	CHECK(ck_evaluate(&e, m, &d, NULL, 0, 3, NULL, CK_LOSS_MSE, 0, prob, NULL, &err) == 0,
	      "%s", err.msg);
	/* Errors: row 0 (0,0,-1), row 1 (-1,-2,0), rows 2..4 (0,0,0),(-1,-1,0),(0,0,0):
	 * squared per output 2, 5, 1; absolute 2, 3, 1. */
	CHECK(e.task == CK_TASK_REGRESSION, "regression task");
	CHECK_NEAR(e.loss, 8.0 / 15, 1e-7, "mse loss");
	CHECK_NEAR(ck_regression_mse(&e.regression, -1), 8.0 / 15, 1e-12, "mse");
	CHECK_NEAR(ck_regression_mae(&e.regression, -1), 6.0 / 15, 1e-12, "mae");
	CHECK_NEAR(ck_regression_mse(&e.regression, 1), 5.0 / 5, 1e-12, "mse output 1");
	CHECK(prob[3] == -1 && prob[4] == -2 && prob[5] == 0, "raw outputs");
	ck_eval_free(&e);
	ck_model_free(m);
	ck_dataset_free(&d);
}

static void test_evaluate_binary(void)
{
	/* "dense 1 sigmoid" with weight (1, -1): logit x0 - x1. */
	float x[4 * 2] = {1, 0, 0, 1, 2, 2, -1, 3};
	int32_t y[4] = {1, 1, 0, 0};
	ck_tnz t = {0};
	ck_tnz_add(&t, "x", CK_DTYPE_F32, 2, (int64_t[]){4, 2}, x, NULL);
	ck_tnz_add(&t, "y", CK_DTYPE_I32, 1, (int64_t[]){4}, y, NULL);
	ck_dataset d;
	ck_err err = {{0}};
	CHECK(load(&d, &t, &err) == 0, "%s", err.msg);
	ck_model *m = ck_model_create("dense 1 sigmoid", (int64_t[]){2}, 1, 0, &err);
	CHECK(m != NULL, "%s", err.msg);
	ck_model_param(m, 0)[0] = 1;
	ck_model_param(m, 0)[1] = -1;
	ck_model_param(m, 1)[0] = 0;
	CHECK(ck_dataset_check_model(&d, m, &err) == 0, "%s", err.msg);
	CHECK(ck_loss_default(m, d.label_kind) == CK_LOSS_BCE, "sigmoid: bce");
	ck_eval e;
	int32_t pred[4];
	float prob[4];
	CHECK(ck_evaluate(&e, m, &d, NULL, 0, 4, NULL, CK_LOSS_BCE, 0, prob, pred, &err) == 0,
	      "%s", err.msg);
	/* Logits 1, -1, 0, -4: predictions 1, 0, 1 (0.5 >= 0.5), 0. */
	CHECK(e.task == CK_TASK_BINARY && e.confusion.k == 2, "binary");
	CHECK(pred[0] == 1 && pred[1] == 0 && pred[2] == 1 && pred[3] == 0, "threshold 0.5");
	CHECK(prob[2] == 0.5f, "sigmoid(0)");
	int64_t cm[4] = {1, 1, 1, 1}; /* true 0: (x2 -> 1, x3 -> 0); true 1: (x1 -> 0, x0 -> 1) */
	CHECK(memcmp(e.confusion.counts, cm, sizeof cm) == 0, "2x2 confusion");
	double loss = (log1p(exp(-1.0)) + 1 + log1p(exp(-1.0)) + log(2.0) + log1p(exp(-4.0))) / 4;
	CHECK_NEAR(e.loss, loss, 1e-6, "bce");
	ck_eval_free(&e);
	ck_model_free(m);
	ck_dataset_free(&d);
}

static void test_evaluate_unlabelled(void)
{
	float x[3 * 2] = {1, 0, 0, 1, -1, -1};
	ck_tnz t = {0};
	ck_tnz_add(&t, "x", CK_DTYPE_F32, 2, (int64_t[]){3, 2}, x, NULL);
	ck_dataset d;
	ck_err err = {{0}};
	CHECK(load(&d, &t, &err) == 0, "%s", err.msg);
	ck_model *m = three_way_model();
	ck_eval e;
	int32_t pred[3];
	CHECK(ck_evaluate(&e, m, &d, NULL, 0, 2, NULL, CK_LOSS_CCE, 0, NULL, pred, &err) == 0,
	      "%s", err.msg);
	CHECK(!e.labelled && e.n == 3 && pred[0] == 0 && pred[1] == 1 && pred[2] == 2,
	      "predictions without labels");
	ck_eval_free(&e);
	ck_model_free(m);
	ck_dataset_free(&d);
}

int main(void)
{
	RUN(test_lines);
	RUN(test_load_images);
	RUN(test_load_file);
	RUN(test_load_errors);
	RUN(test_load_tokens);
	RUN(test_check_model);
	RUN(test_split);
	RUN(test_normalize_format);
	RUN(test_batch_images);
	RUN(test_channel_stats);
	RUN(test_augment_image);
	RUN(test_augment_batch);
	RUN(test_evaluate);
	RUN(test_evaluate_binary);
	RUN(test_evaluate_unlabelled);
	return check_summary();
}
