/* test_embedding_init.c: `embedding DIM init=VECTORS.tnz` (lib/embedding_init.c)
 * with a hand-made vectors file: rows matched by word, not by id; unknown
 * words and <unk> keep the random init; padding zero; a dimension mismatch,
 * a missing file and data without a vocabulary refused; and a training run
 * that reads the file (a frozen layer keeps the vectors exactly) unless
 * --init gives stored weights. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "cnnkit.h"

#define D 3

static char dir[] = "/tmp/ck_test_embedding_init_XXXXXX";
static char vectors_path[256];

/* The vectors file: words in another order than the data's ids, <unk> with
 * a non-zero vector that must not be copied. Row r, column j holds r + j/10. */
static const char *const vector_words[] = {"<pad>", "<unk>", "ruim", "bom", "ação", "filme",
                                           "chato"};
#define NV 7

/* The data's vocabulary: "novo" is not in the vectors file. */
static const char data_vocab[] = "<pad>\n<unk>\nfilme\nnovo\nbom\nação\n";
#define V 6

static void make_vectors_file(void)
{
	ck_embed e;
	ck_err err;
	if (ck_embed_create(&e, vector_words, NV, D, &err) < 0) {
		printf("# %s\n", err.msg);
		exit(1);
	}
	for (int r = 1; r < NV; r++)
		for (int j = 0; j < D; j++)
			e.vectors[r * D + j] = (float)r + 0.1f * (float)j;
	snprintf(vectors_path, sizeof vectors_path, "%s/vectors.tnz", dir);
	if (ck_embed_save(&e, NULL, vectors_path, NULL, &err) < 0) {
		printf("# %s\n", err.msg);
		exit(1);
	}
	ck_embed_free(&e);
}

static ck_model *make_model(const char *embedding, ck_err *err)
{
	char spec[512];
	snprintf(spec, sizeof spec, "%s; conv1d 2 2 relu; globalmaxpool; dense 1 sigmoid", embedding);
	ck_model *m = ck_model_create(spec, (int64_t[]){4}, 1, V, err);
	if (m)
		ck_model_init(m, 5);
	return m;
}

/* Row r of the vectors file (as make_vectors_file fills it) equals w? */
static int is_vector_row(const float *w, int r)
{
	for (int j = 0; j < D; j++)
		if (w[j] != (float)r + 0.1f * (float)j)
			return 0;
	return 1;
}

static void test_rows_matched_by_word(void)
{
	ck_err err;
	char spec[300];
	snprintf(spec, sizeof spec, "embedding %d init=%s", D, vectors_path);
	ck_model *m = make_model(spec, &err);
	CHECK(m != NULL, "%s", err.msg);
	if (!m)
		return;
	float *w = ck_model_param(m, 0), before[V * D];
	memcpy(before, w, sizeof before);
	ck_embed_init_report rep;
	CHECK(ck_embed_init_model(m, data_vocab, strlen(data_vocab), 1, &rep, &err) == 0, "%s",
	      err.msg);
	CHECK(rep.layer == 0 && rep.found == 3 && rep.words == V - 2, "layer %d, %lld of %lld",
	      rep.layer, (long long)rep.found, (long long)rep.words);
	CHECK(rep.path && strcmp(rep.path, vectors_path) == 0, "path");
	for (int j = 0; j < D; j++)
		CHECK(w[j] == 0.0f, "padding row 0 is zero");
	CHECK(memcmp(w + 1 * D, before + 1 * D, D * sizeof *w) == 0, "<unk> keeps its random row");
	CHECK(is_vector_row(w + 2 * D, 5), "id 2 \"filme\" gets row 5 of the vectors");
	CHECK(memcmp(w + 3 * D, before + 3 * D, D * sizeof *w) == 0, "unknown \"novo\" stays random");
	CHECK(is_vector_row(w + 4 * D, 3), "id 4 \"bom\" gets row 3");
	CHECK(is_vector_row(w + 5 * D, 4), "id 5 \"ação\" gets row 4 (UTF-8 bytes)");
	ck_model_free(m);

	/* No init=: nothing happens. */
	m = make_model("embedding 3", &err);
	memcpy(before, ck_model_param(m, 0), sizeof before);
	CHECK(ck_embed_init_model(m, data_vocab, strlen(data_vocab), 1, &rep, &err) == 0, "%s",
	      err.msg);
	CHECK(rep.layer == -1 && memcmp(before, ck_model_param(m, 0), sizeof before) == 0,
	      "no init=: unchanged");
	ck_model_free(m);
}

static void test_refusals(void)
{
	ck_err err;
	ck_embed_init_report rep;
	char spec[400];
	snprintf(spec, sizeof spec, "embedding 4 init=%s", vectors_path);
	ck_model *m = make_model(spec, &err);
	CHECK(ck_embed_init_model(m, data_vocab, strlen(data_vocab), 1, &rep, &err) < 0, "dim");
	char want[600]; /* the layer's text is shortened in messages: not compared */
	snprintf(want, sizeof want, "\": %s: vectors of dimension 3, the layer's is 4",
	         vectors_path);
	CHECK(strncmp(err.msg, "layer 1 \"embedding 4 init=", 26) == 0 && strstr(err.msg, want),
	      "%s", err.msg);
	ck_model_free(m);

	m = make_model("embedding 3 init=no/such/file.tnz", &err);
	CHECK(ck_embed_init_model(m, data_vocab, strlen(data_vocab), 1, &rep, &err) < 0, "missing");
	CHECK(strcmp(err.msg, "layer 1 \"embedding 3 init=no/such/file.tnz\": no/such/file.tnz: "
	                      "No such file or directory") == 0, "%s", err.msg);
	CHECK(ck_embed_init_model(m, NULL, 0, 1, &rep, &err) < 0 &&
	      strstr(err.msg, "the data has no vocabulary"), "%s", err.msg);
	ck_model_free(m);

	/* A file that is not an embeddings file. */
	char path[300];
	snprintf(path, sizeof path, "%s/not-vectors.tnz", dir);
	ck_tnz t = {0};
	ck_tnz_add(&t, "x", CK_DTYPE_F32, 1, (int64_t[]){2}, NULL, &err);
	ck_tnz_save(&t, path, NULL, &err);
	ck_tnz_free(&t);
	snprintf(spec, sizeof spec, "embedding 3 init=%s", path);
	m = make_model(spec, &err);
	CHECK(ck_embed_init_model(m, data_vocab, strlen(data_vocab), 1, &rep, &err) < 0 &&
	      strstr(err.msg, "layer 1") && strstr(err.msg, "not-vectors.tnz"), "%s", err.msg);
	ck_model_free(m);

	/* The rows function alone: a vocabulary of another size. */
	ck_embed e;
	CHECK(ck_embed_load(&e, vectors_path, 1, &err) == 0, "%s", err.msg);
	float w[V * D];
	CHECK(ck_embed_init_rows(w, V + 1, D, &e, data_vocab, strlen(data_vocab), &err) < 0 &&
	      strcmp(err.msg, "the vocabulary has 6 tokens, the layer 7") == 0, "%s", err.msg);
	ck_embed_free(&e);
}

/* What the callback saw. */
static ck_embed_init_report seen;
static int calls;

static void on_init(const ck_embed_init_report *r, void *ctx)
{
	seen = *r;
	calls++;
}

static int train(const char *spec, const char *data, const char *init, const char *out,
                 ck_err *err)
{
	ck_train_config c;
	ck_train_config_init(&c);
	int rc = ck_train_set(&c, "arch", spec, err) < 0 || ck_train_set(&c, "train", data, err) < 0 ||
	         ck_train_set(&c, "output", out, err) < 0 || ck_train_set(&c, "epochs", "1", err) < 0 ||
	         ck_train_set(&c, "threads", "1", err) < 0 ||
	         (init && ck_train_set(&c, "init", init, err) < 0) ? -1 : 0;
	ck_train_callbacks cb = {.embedding_init = on_init};
	ck_train_result res;
	if (rc == 0)
		rc = ck_train_run(&c, &cb, &res, err);
	ck_train_config_free(&c);
	return rc;
}

static void test_training_run(void)
{
	/* Four sentences of ids over the data's vocabulary. */
	int32_t x[4 * 4] = {2, 4, 0, 0, 5, 3, 2, 0, 4, 4, 4, 4, 3, 0, 0, 0};
	int32_t lengths[4] = {2, 3, 4, 1}, y[4] = {1, 0, 1, 0};
	ck_tnz t = {0};
	ck_err err;
	ck_tnz_add(&t, "x", CK_DTYPE_I32, 2, (int64_t[]){4, 4}, x, &err);
	ck_tnz_add(&t, "lengths", CK_DTYPE_I32, 1, (int64_t[]){4}, lengths, &err);
	ck_tnz_add(&t, "y", CK_DTYPE_I32, 1, (int64_t[]){4}, y, &err);
	ck_meta_set(&t.meta, "vocab", data_vocab, (size_t)-1, &err);
	char data[300], model[300], spec[400];
	snprintf(data, sizeof data, "%s/data.tnz", dir);
	snprintf(model, sizeof model, "%s/model.tnz", dir);
	CHECK(ck_tnz_save(&t, data, NULL, &err) == 0, "%s", err.msg);
	ck_tnz_free(&t);

	/* Frozen: the model file holds the vectors exactly. */
	snprintf(spec, sizeof spec, "embedding %d init=%s trainable=no; conv1d 2 2 relu; "
	         "globalmaxpool; dense 1 sigmoid", D, vectors_path);
	calls = 0;
	CHECK(train(spec, data, NULL, model, &err) == 0, "%s", err.msg);
	CHECK(calls == 1 && seen.found == 3 && seen.words == 4, "callback: %d calls", calls);
	ck_tnz m = {0};
	CHECK(ck_tnz_load(&m, model, 1, &err) == 0, "%s", err.msg);
	const ck_tensor *w = ck_tnz_find(&m, "0.embedding.weight");
	CHECK(w && w->dims[0] == V && w->dims[1] == D, "weight (V,D)");
	if (w) {
		const float *f = w->data;
		CHECK(f[0] == 0 && f[1] == 0 && f[2] == 0, "padding");
		CHECK(is_vector_row(f + 2 * D, 5) && is_vector_row(f + 4 * D, 3) &&
		      is_vector_row(f + 5 * D, 4), "vectors kept by the frozen layer");
	}
	ck_tnz_free(&m);

	/* --init: the stored weights win; init= is not read (it may be gone). */
	snprintf(spec, sizeof spec, "embedding %d init=%s/gone.tnz trainable=no; conv1d 2 2 relu; "
	         "globalmaxpool; dense 1 sigmoid", D, dir);
	char model2[300];
	snprintf(model2, sizeof model2, "%s/model2.tnz", dir);
	calls = 0;
	CHECK(train(spec, data, model, model2, &err) == 0, "%s", err.msg);
	CHECK(calls == 0, "no init= read with --init");
	CHECK(ck_tnz_load(&m, model2, 1, &err) == 0, "%s", err.msg);
	w = ck_tnz_find(&m, "0.embedding.weight");
	CHECK(w && is_vector_row((const float *)w->data + 2 * D, 5), "the --init model's rows");
	ck_tnz_free(&m);

	/* Without --init the missing file is an error before any training. */
	CHECK(train(spec, data, NULL, model2, &err) < 0 && strstr(err.msg, "gone.tnz: No such file"),
	      "%s", err.msg);
	unlink(model2);
	unlink(data);
	unlink(model);
	char ckpt[320];
	snprintf(ckpt, sizeof ckpt, "%s.ckpt", model);
	unlink(ckpt);
	snprintf(ckpt, sizeof ckpt, "%s.ckpt", model2);
	unlink(ckpt);
}

int main(void)
{
	if (!mkdtemp(dir)) {
		printf("not ok - mkdtemp\n");
		return 1;
	}
	make_vectors_file();
	RUN(test_rows_matched_by_word);
	RUN(test_refusals);
	RUN(test_training_run);
	char path[300];
	snprintf(path, sizeof path, "%s/not-vectors.tnz", dir);
	unlink(path);
	unlink(vectors_path);
	rmdir(dir);
	return check_summary();
}
