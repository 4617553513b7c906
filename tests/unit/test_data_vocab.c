/* test_data_vocab.c: ck_dataset_check_vocab (lib/dataset_vocab.c), the
 * check that a token dataset's ids are those of a model: same vocabulary,
 * token for token. */
#include <string.h>

#include "check.h"
#include "cnnkit.h"

/* A dataset of two rows of ids below 3, with `vocab` metadata (or none). */
static int make_data(ck_dataset *d, const char *vocab)
{
	int32_t x[4] = {2, 1, 0, 2};
	ck_tnz t = {0};
	ck_err err;
	ck_tnz_add(&t, "x", CK_DTYPE_I32, 2, (int64_t[]){2, 2}, x, &err);
	if (vocab)
		ck_meta_set(&t.meta, "vocab", vocab, (size_t)-1, &err);
	int rc = ck_dataset_from_tnz(d, &t, 1, &err);
	CHECK(rc == 0, "%s", err.msg);
	return rc;
}

static void test_check_vocab(void)
{
	ck_dataset d;
	ck_meta model = {0};
	ck_err err;
	const char *base = "<pad>\n<unk>\nbom\nfilme\n";
	ck_meta_set(&model, "vocab", base, (size_t)-1, &err);

	if (make_data(&d, base) == 0) {
		CHECK(ck_dataset_check_vocab(&d, &model, "model", &err) == 0, "the same vocabulary");
		ck_dataset_free(&d);
	}
	/* Same size, another order: what tokenize gives for another file. */
	if (make_data(&d, "<pad>\n<unk>\nfilme\nbom\n") == 0) {
		CHECK(ck_dataset_check_vocab(&d, &model, "model", &err) == -1, "differs");
		CHECK(strcmp(err.msg, "the vocabulary differs from the model's: id 2 is \"filme\" here, "
		                      "\"bom\" in the model") == 0, "%s", err.msg);
		ck_dataset_free(&d);
	}
	if (make_data(&d, "<pad>\n<unk>\nbom\n") == 0) {
		CHECK(ck_dataset_check_vocab(&d, &model, "training data", &err) == -1 &&
		      strcmp(err.msg, "the vocabulary has 3 tokens, the training data's 4") == 0, "%s",
		      err.msg);
		ck_dataset_free(&d);
	}
	/* Only the final newline differs: the same tokens. */
	if (make_data(&d, "<pad>\n<unk>\nbom\nfilme") == 0) {
		CHECK(ck_dataset_check_vocab(&d, &model, "model", &err) == 0, "final newline");
		ck_dataset_free(&d);
	}
	/* A long token is shortened in the message. */
	char longer[200];
	snprintf(longer, sizeof longer, "<pad>\n<unk>\n%s\nfilme\n",
	         "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz");
	if (make_data(&d, longer) == 0) {
		CHECK(ck_dataset_check_vocab(&d, &model, "model", &err) == -1 &&
		      strstr(err.msg, "\"abcdefghijklmnopqrstuvwxyzabcdefghijklmn\"... here"), "%s",
		      err.msg);
		ck_dataset_free(&d);
	}
	/* Nothing to compare: the data's or the model's vocabulary is missing. */
	if (make_data(&d, NULL) == 0) {
		CHECK(ck_dataset_check_vocab(&d, &model, "model", &err) == 1, "data without vocab");
		ck_dataset_free(&d);
	}
	ck_meta_free(&model);
	if (make_data(&d, base) == 0) {
		CHECK(ck_dataset_check_vocab(&d, &model, "model", &err) == 2, "model without vocab");
		ck_dataset_free(&d);
	}
}

int main(void)
{
	RUN(test_check_vocab);
	return check_summary();
}
