/* test_model_io.c: a model to TNZ and back: bit-identical outputs through
 * memory and through a file, and every error of ck_model_from_tnz and
 * ck_model_load_params on a damaged model, with its message. */
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "cnnkit.h"

#define SPEC "conv 4 3 stride=2 pad=same relu; batchnorm; maxpool 2; dropout 0.5; " \
             "dense 6 tanh; dense 3 softmax"

static ck_model *trained_model(void)
{
	ck_err err;
	ck_model *m = ck_model_create(SPEC, (int64_t[]){2, 10, 10}, 3, 0, &err);
	CHECK(m != NULL, "%s", err.msg);
	ck_model_init(m, 3);
	ck_model_plan(m, 4, 1, &err);
	/* A training forward moves the batchnorm running statistics. */
	float x[4 * 200];
	for (int i = 0; i < 800; i++)
		x[i] = (float)((i * 37) % 101) / 50 - 1;
	ck_model_forward(m, x, NULL, 4, 1, 1);
	return m;
}

static void check_same_outputs(ck_model *a, ck_model *b, const char *what)
{
	ck_err err;
	CHECK(ck_model_plan(b, 4, 1, &err) == 0, "%s", err.msg);
	float x[4 * 200];
	for (int i = 0; i < 800; i++)
		x[i] = (float)((i * 13) % 97) / 40 - 1;
	float pa[12];
	memcpy(pa, ck_model_predict(a, x, NULL, 4), sizeof pa);
	CHECK(memcmp(pa, ck_model_predict(b, x, NULL, 4), sizeof pa) == 0, "%s: same outputs",
	      what);
	size_t n, nb;
	const float *p = ck_model_params(a, &n);
	CHECK(memcmp(p, ck_model_params(b, &nb), n * sizeof(float)) == 0 && n == nb,
	      "%s: same parameters", what);
	CHECK(ck_model_final_act(b) == CK_ARCH_ACT_SOFTMAX, "%s: final softmax", what);
}

static void test_round_trip_memory(void)
{
	ck_model *m = trained_model();
	ck_tnz t = {0};
	ck_err err;
	CHECK(ck_model_to_tnz(m, &t, &err) == 0, "%s", err.msg);
	CHECK(t.count == 10, "%zu tensors", t.count);
	const char *arch = ck_meta_get(&t.meta, "arch", NULL);
	CHECK(arch && strcmp(arch, "conv 4 3 stride=2 pad=same relu; batchnorm; maxpool 2; "
	                           "dropout 0.5; dense 6 tanh; dense 3 softmax") == 0,
	      "arch %s", arch);
	CHECK(strcmp(ck_meta_get(&t.meta, "input_shape", NULL), "2,10,10") == 0, "input_shape");
	CHECK(strcmp(ck_meta_get(&t.meta, "input_kind", NULL), "f32") == 0, "input_kind");
	CHECK(strcmp(ck_meta_get(&t.meta, "vocab_size", NULL), "0") == 0, "vocab_size");
	ck_tensor *w = ck_tnz_find(&t, "0.conv.weight");
	CHECK(w && w->dtype == CK_DTYPE_F32 && w->rank == 4 && w->dims[0] == 4 && w->dims[1] == 2,
	      "0.conv.weight (4,2,3,3)");
	CHECK(ck_tnz_find(&t, "1.batchnorm.running_var") != NULL, "buffers saved");

	ck_model *b = ck_model_from_tnz(&t, &err);
	CHECK(b != NULL, "%s", err.msg);
	if (b)
		check_same_outputs(m, b, "memory");
	/* Saving again into the same ck_tnz (a checkpoint) replaces the tensors. */
	CHECK(ck_model_to_tnz(m, &t, &err) == 0 && t.count == 10, "saved twice: %s", err.msg);
	ck_model_free(b);
	ck_tnz_free(&t);
	ck_model_free(m);
}

static void test_round_trip_file(void)
{
	ck_model *m = trained_model();
	ck_tnz t = {0}, back = {0};
	ck_err err;
	char path[] = "/tmp/test_model_io_XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0, "mkstemp");
	close(fd);
	CHECK(ck_model_to_tnz(m, &t, &err) == 0, "%s", err.msg);
	CHECK(ck_tnz_save(&t, path, NULL, &err) == 0, "save: %s", err.msg);
	CHECK(ck_tnz_load(&back, path, 1, &err) == 0, "load: %s", err.msg);
	ck_model *b = ck_model_from_tnz(&back, &err);
	CHECK(b != NULL, "%s", err.msg);
	if (b)
		check_same_outputs(m, b, "file");
	unlink(path);
	ck_model_free(b);
	ck_tnz_free(&back);
	ck_tnz_free(&t);
	ck_model_free(m);
}

static void test_round_trip_tokens(void)
{
	ck_err err;
	ck_model *m = ck_model_create("embedding 4 trainable=no; conv1d 3 2,3 relu; globalmaxpool; "
	                              "dense 2", (int64_t[]){7}, 1, 30, &err);
	CHECK(m != NULL, "%s", err.msg);
	ck_model_init(m, 9);
	ck_tnz t = {0};
	CHECK(ck_model_to_tnz(m, &t, &err) == 0, "%s", err.msg);
	CHECK(strcmp(ck_meta_get(&t.meta, "input_kind", NULL), "tokens") == 0, "tokens");
	CHECK(strcmp(ck_meta_get(&t.meta, "vocab_size", NULL), "30") == 0, "vocab 30");
	CHECK(ck_tnz_find(&t, "1.conv1d.weight_w3") != NULL, "weight_w3");
	ck_model *b = ck_model_from_tnz(&t, &err);
	CHECK(b && ck_model_input_kind(b) == CK_INPUT_TOKENS, "%s", err.msg);
	CHECK(b && ck_model_arch(b)->params[0].trainable == 0, "frozen stays frozen");
	int32_t ids[14] = {1, 2, 3, 4, 0, 0, 0, 5, 6, 7, 8, 9, 10, 29};
	int32_t len[2] = {4, 7};
	ck_model_plan(m, 2, 1, &err);
	ck_model_plan(b, 2, 1, &err);
	float o[4];
	memcpy(o, ck_model_predict(m, ids, len, 2), sizeof o);
	CHECK(b && memcmp(o, ck_model_predict(b, ids, len, 2), sizeof o) == 0, "same outputs");
	ck_model_free(b);
	ck_tnz_free(&t);
	ck_model_free(m);
}

/* Loads a copy of good damaged by damage(); expects failure and msg. */
static void expect_error(const ck_tnz *good, void (*damage)(ck_tnz *), const char *msg)
{
	ck_tnz t = {0};
	ck_err err;
	ck_meta_merge(&t.meta, &good->meta, NULL);
	for (size_t i = 0; i < good->count; i++) {
		const ck_tensor *s = &good->tensors[i];
		ck_tnz_add(&t, s->name, s->dtype, s->rank, s->dims, s->data, NULL);
	}
	damage(&t);
	err.msg[0] = '\0';
	ck_model *m = ck_model_from_tnz(&t, &err);
	CHECK(m == NULL, "loaded despite: %s", msg);
	CHECK(strcmp(err.msg, msg) == 0, "message \"%s\", expected \"%s\"", err.msg, msg);
	ck_model_free(m);
	ck_tnz_free(&t);
}

static void missing_tensor(ck_tnz *t) { ck_tnz_remove(t, "4.dense.weight"); }
static void wrong_shape(ck_tnz *t)
{
	ck_tnz_remove(t, "0.conv.weight");
	ck_tnz_add(t, "0.conv.weight", CK_DTYPE_F32, 4, (int64_t[]){16, 2, 3, 3}, NULL, NULL);
}
static void wrong_rank(ck_tnz *t)
{
	ck_tnz_remove(t, "0.conv.bias");
	ck_tnz_add(t, "0.conv.bias", CK_DTYPE_F32, 2, (int64_t[]){4, 1}, NULL, NULL);
}
static void wrong_dtype(ck_tnz *t)
{
	ck_tnz_remove(t, "5.dense.bias");
	ck_tnz_add(t, "5.dense.bias", CK_DTYPE_I32, 1, (int64_t[]){3}, NULL, NULL);
}
static void not_finite(ck_tnz *t) { ((float *)ck_tnz_find(t, "5.dense.bias")->data)[2] = NAN; }
static void bad_arch(ck_tnz *t) { ck_meta_set(&t->meta, "arch", "conv 4 3 pad=sme", -1, NULL); }
static void other_arch(ck_tnz *t) { ck_meta_set(&t->meta, "arch", "dense 3", -1, NULL); }
static void no_arch(ck_tnz *t) { ck_meta_remove(&t->meta, "arch"); }
static void no_shape(ck_tnz *t) { ck_meta_remove(&t->meta, "input_shape"); }
static void no_kind(ck_tnz *t) { ck_meta_remove(&t->meta, "input_kind"); }
static void no_vocab(ck_tnz *t) { ck_meta_remove(&t->meta, "vocab_size"); }
static void bad_shape(ck_tnz *t) { ck_meta_set(&t->meta, "input_shape", "2,10,-1", -1, NULL); }
static void long_shape(ck_tnz *t) { ck_meta_set(&t->meta, "input_shape", "1,2,3,4", -1, NULL); }
static void empty_dim(ck_tnz *t) { ck_meta_set(&t->meta, "input_shape", "2,,10", -1, NULL); }
static void small_shape(ck_tnz *t) { ck_meta_set(&t->meta, "input_shape", "2,1,1", -1, NULL); }
static void bad_kind(ck_tnz *t) { ck_meta_set(&t->meta, "input_kind", "u8", -1, NULL); }
static void bad_vocab(ck_tnz *t) { ck_meta_set(&t->meta, "vocab_size", "12x", -1, NULL); }
static void kind_vocab(ck_tnz *t) { ck_meta_set(&t->meta, "vocab_size", "12", -1, NULL); }

static void test_from_tnz_errors(void)
{
	ck_model *m = trained_model();
	ck_tnz good = {0};
	ck_err err;
	CHECK(ck_model_to_tnz(m, &good, &err) == 0, "%s", err.msg);
	expect_error(&good, missing_tensor, "model has no tensor \"4.dense.weight\"");
	expect_error(&good, wrong_shape, "tensor \"0.conv.weight\" has shape (16,2,3,3), the "
	                                 "architecture needs (4,2,3,3)");
	expect_error(&good, wrong_rank, "tensor \"0.conv.bias\" has shape (4,1), the architecture "
	                                "needs (4)");
	expect_error(&good, wrong_dtype, "tensor \"5.dense.bias\" has dtype i32, the architecture "
	                                 "needs f32");
	expect_error(&good, not_finite, "tensor \"5.dense.bias\" holds a non-finite value (nan) "
	                                "at index 2");
	expect_error(&good, bad_arch, "metadata \"arch\": layer 1 \"conv 4 3 pad=sme\": unknown "
	                              "padding \"sme\" (expected same, valid or a number)");
	expect_error(&good, other_arch, "model has no tensor \"0.dense.weight\"");
	expect_error(&good, no_arch, "model has no metadata \"arch\"");
	expect_error(&good, no_shape, "model has no metadata \"input_shape\"");
	expect_error(&good, no_kind, "model has no metadata \"input_kind\"");
	expect_error(&good, no_vocab, "model has no metadata \"vocab_size\"");
	const char *shape_msg = "\": expected 1 to 3 positive integers separated by commas, "
	                        "e.g. 1,28,28";
	char want[200];
	snprintf(want, sizeof want, "metadata \"input_shape\" is \"2,10,-1%s", shape_msg);
	expect_error(&good, bad_shape, want);
	snprintf(want, sizeof want, "metadata \"input_shape\" is \"1,2,3,4%s", shape_msg);
	expect_error(&good, long_shape, want);
	snprintf(want, sizeof want, "metadata \"input_shape\" is \"2,,10%s", shape_msg);
	expect_error(&good, empty_dim, want);
	expect_error(&good, small_shape, "metadata \"arch\": layer 3 \"maxpool 2\": input (4,1,1) "
	                                 "is too small for pool 2x2: the output would be empty");
	expect_error(&good, bad_kind, "metadata \"input_kind\" is \"u8\": expected f32 or tokens");
	expect_error(&good, bad_vocab, "metadata \"vocab_size\" is \"12x\": expected an integer "
	                               "from 0 to 2147483647");
	expect_error(&good, kind_vocab, "metadata \"input_kind\" is f32 but \"vocab_size\" is 12");

	/* load_params: all or nothing. */
	ck_model *b = ck_model_create(SPEC, (int64_t[]){2, 10, 10}, 3, 0, &err);
	size_t n;
	float *p = ck_model_params(b, &n);
	ck_tnz_remove(&good, "5.dense.bias");
	CHECK(ck_model_load_params(b, &good, &err) < 0, "load_params with a tensor missing");
	int untouched = 1;
	for (size_t i = 0; i < n; i++)
		untouched &= p[i] == 0;
	CHECK(untouched, "a failed load leaves the parameters alone");
	ck_model_free(b);
	ck_tnz_free(&good);
	ck_model_free(m);
}

int main(void)
{
	RUN(test_round_trip_memory);
	RUN(test_round_trip_file);
	RUN(test_round_trip_tokens);
	RUN(test_from_tnz_errors);
	return check_summary();
}
