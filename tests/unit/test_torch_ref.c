/* test_torch_ref.c: the model, the losses and the optimisers against PyTorch.
 *
 * tests/data/torch/ holds small TNZ files written by tools/torch_ref.py
 * (PyTorch 1.13; see its docstring for their contents): each layer kind alone
 * and a few networks (outputs of a training-mode forward, gradients w.r.t.
 * the input and every parameter, batchnorm running statistics), the three
 * losses, three steps of each optimiser on a small model, and a text CNN
 * with lengths trained with BCE on one sigmoid output. Every tensor
 * must agree with PyTorch's to a relative error below 1e-4, measured against
 * the largest magnitude of the reference:
 *     max |got - want| <= 1e-4 * max(max |want|, 1e-3). */
#include <dirent.h>
#include <string.h>

#include "check.h"
#include "cnnkit.h"

#define DIR_PATH "tests/data/torch"
#define RTOL 1e-4

static int files_seen;

static void compare(const char *file, const char *what, const float *got, const ck_tensor *want,
                    int64_t n)
{
	CHECK(want != NULL, "%s: no tensor %s", file, what);
	if (!want)
		return;
	CHECK(ck_tensor_numel(want) == n && want->dtype == CK_DTYPE_F32, "%s: %s has %lld values",
	      file, what, (long long)ck_tensor_numel(want));
	if (ck_tensor_numel(want) != n)
		return;
	const float *w = want->data;
	double diff = 0, scale = 1e-3;
	for (int64_t i = 0; i < n; i++) {
		diff = fmax(diff, fabs((double)got[i] - w[i]));
		scale = fmax(scale, fabs(w[i]));
	}
	CHECK(diff <= RTOL * scale, "%s: %s differs by %g (scale %g)", file, what, diff, scale);
}

static int load(const char *name, ck_tnz *t)
{
	char path[512];
	ck_err err;
	snprintf(path, sizeof path, DIR_PATH "/%s", name);
	if (ck_tnz_load(t, path, 1, &err) < 0) {
		CHECK(0, "%s: %s", path, err.msg);
		return -1;
	}
	files_seen++;
	return 0;
}

/* A model file with x, out, R and the gradients: forward and backward. */
static void check_layer_file(const char *name)
{
	ck_tnz t = {0};
	ck_err err;
	if (load(name, &t) < 0)
		return;
	ck_model *m = ck_model_from_tnz(&t, &err);
	CHECK(m != NULL, "%s: %s", name, err.msg);
	const ck_tensor *x = ck_tnz_find(&t, "x"), *R = ck_tnz_find(&t, "R");
	const ck_tensor *lengths = ck_tnz_find(&t, "lengths");
	if (!m || !x || !R) {
		CHECK(0, "%s: incomplete", name);
		ck_model_free(m);
		ck_tnz_free(&t);
		return;
	}
	int n = (int)x->dims[0];
	int f32 = ck_model_input_kind(m) == CK_INPUT_F32;
	ck_model_set_input_grad(m, f32);
	CHECK(ck_model_plan(m, n, 2, &err) == 0, "%s", err.msg);
	const float *out = ck_model_forward(m, x->data, lengths ? lengths->data : NULL, n, 1, 0);
	compare(name, "out", out, ck_tnz_find(&t, "out"), n * ck_model_output_size(m));
	ck_model_zero_grad(m);
	ck_model_backward(m, R->data, n);
	if (f32)
		compare(name, "grad.x", ck_model_input_grad(m), ck_tnz_find(&t, "grad.x"),
		        n * ck_model_input_size(m));
	const ck_arch *a = ck_model_arch(m);
	for (int i = 0; i < a->nparams; i++) {
		const ck_arch_param *p = &a->params[i];
		char key[80];
		if (p->trainable) {
			snprintf(key, sizeof key, "grad.%s", p->name);
			compare(name, key, ck_model_grad(m, i), ck_tnz_find(&t, key), p->count);
		} else if (p->buffer) {
			snprintf(key, sizeof key, "after.%s", p->name);
			compare(name, key, ck_model_param(m, i), ck_tnz_find(&t, key), p->count);
		}
	}
	ck_model_free(m);
	ck_tnz_free(&t);
}

static void check_loss_file(const char *name)
{
	ck_tnz t = {0};
	if (load(name, &t) < 0)
		return;
	const char *kind = ck_meta_get(&t.meta, "loss", NULL);
	const ck_tensor *in = ck_tnz_find(&t, strcmp(kind ? kind : "", "mse") ? "logits" : "pred");
	const ck_tensor *loss = ck_tnz_find(&t, "loss");
	CHECK(kind && in && loss && loss->dtype == CK_DTYPE_F64, "%s: incomplete", name);
	if (!kind || !in || !loss || loss->dtype != CK_DTYPE_F64) {
		ck_tnz_free(&t);
		return;
	}
	int N = (int)in->dims[0], K = (int)in->dims[1];
	float *grad = calloc((size_t)N * K, sizeof *grad), *probs = calloc((size_t)N * K, 4);
	double got = NAN;
	if (strcmp(kind, "mse") == 0) {
		const float *target = ck_tnz_find(&t, "target")->data;
		got = ck_mse_forward(in->data, target, N, K);
		ck_mse_backward(grad, in->data, target, N, K);
	} else if (strcmp(kind, "bce") == 0) {
		const float *target = ck_tnz_find(&t, "target")->data;
		got = ck_bce_logits_forward(in->data, target, N, K);
		ck_bce_logits_backward(grad, in->data, target, N, K);
	} else {
		const int32_t *labels = ck_tnz_find(&t, "labels")->data;
		got = ck_cce_forward(probs, in->data, labels, N, K);
		ck_cce_backward(grad, probs, labels, N, K);
	}
	double want = *(const double *)loss->data;
	CHECK(fabs(got - want) <= RTOL * fmax(fabs(want), 1e-3), "%s: loss %.9g, torch %.9g", name,
	      got, want);
	compare(name, "grad", grad, ck_tnz_find(&t, "grad"), (int64_t)N * K);
	free(grad);
	free(probs);
	ck_tnz_free(&t);
}

static double meta_number(const ck_tnz *t, const char *key)
{
	const char *v = ck_meta_get(&t->meta, key, NULL);
	return v ? strtod(v, NULL) : NAN;
}

/* steps of CCE + the optimiser from the file's parameters. */
static void check_optim_file(const char *name)
{
	ck_tnz t = {0};
	ck_err err;
	if (load(name, &t) < 0)
		return;
	ck_model *m = ck_model_from_tnz(&t, &err);
	const char *kind = ck_meta_get(&t.meta, "optim", NULL);
	const ck_tensor *x = ck_tnz_find(&t, "x"), *labels = ck_tnz_find(&t, "labels");
	CHECK(m && kind && x && labels, "%s: %s", name, m ? "incomplete" : err.msg);
	if (!m || !kind || !x || !labels) {
		ck_model_free(m);
		ck_tnz_free(&t);
		return;
	}
	static const char *names[] = {"sgd", "momentum", "nesterov", "adam", "adamw"};
	static const ck_optim_kind kinds[] = {CK_OPTIM_SGD, CK_OPTIM_MOMENTUM, CK_OPTIM_NESTEROV,
	                                      CK_OPTIM_ADAM, CK_OPTIM_ADAMW};
	int k = 0;
	while (k < 5 && strcmp(kind, names[k]) != 0)
		k++;
	CHECK(k < 5, "%s: optimiser %s", name, kind);
	ck_optim_config cfg = ck_optim_defaults(kinds[k < 5 ? k : 0]);
	cfg.momentum = meta_number(&t, "momentum");
	cfg.weight_decay = meta_number(&t, "weight_decay");
	float lr = (float)meta_number(&t, "lr");
	int steps = (int)meta_number(&t, "steps");

	int n = (int)x->dims[0], K = (int)ck_model_output_size(m);
	size_t count;
	ck_model_params(m, &count);
	float *mstate = calloc(count, sizeof(float)), *vstate = calloc(count, sizeof(float));
	float *probs = malloc((size_t)n * K * 4), *dlogits = malloc((size_t)n * K * 4);
	ck_model_plan(m, n, 1, &err);
	const ck_arch *a = ck_model_arch(m);
	for (int step = 1; step <= steps; step++) {
		const float *logits = ck_model_forward(m, x->data, NULL, n, 1, 0);
		ck_cce_forward(probs, logits, labels->data, n, K);
		ck_cce_backward(dlogits, probs, labels->data, n, K);
		ck_model_zero_grad(m);
		ck_model_backward(m, dlogits, n);
		for (int i = 0; i < a->nparams; i++) {
			size_t off = ck_model_param_offset(m, i);
			ck_optim_step(&cfg, lr, step, ck_model_param(m, i), ck_model_grad(m, i),
			              mstate + off, vstate + off, (size_t)a->params[i].count);
		}
	}
	for (int i = 0; i < a->nparams; i++) {
		char key[80];
		snprintf(key, sizeof key, "after.%s", a->params[i].name);
		compare(name, key, ck_model_param(m, i), ck_tnz_find(&t, key), a->params[i].count);
	}
	free(mstate);
	free(vstate);
	free(probs);
	free(dlogits);
	ck_model_free(m);
	ck_tnz_free(&t);
}

/* "dropout P" -> "dropout 0" in spec (malloc'ed): the same layers and
 * parameter names, with dropout off in a training-mode forward. */
static char *dropout_off(const char *spec)
{
	char *s = malloc(strlen(spec) + 1), *o = s;
	for (const char *p = spec; *p;) {
		if (strncmp(p, "dropout ", 8) == 0) {
			o += sprintf(o, "dropout 0");
			p += 8;
			while (*p && *p != ';')
				p++;
		} else {
			*o++ = *p++;
		}
	}
	*o = '\0';
	return s;
}

/* A text CNN with one sigmoid output (tools/torch_ref.py textcnn_case):
 * evaluation-mode logits and probabilities with the file's dropout rate,
 * then BCE and its gradients from a training-mode pass with dropout off. */
static void check_textcnn_file(const char *name)
{
	ck_tnz t = {0};
	ck_err err;
	if (load(name, &t) < 0)
		return;
	const ck_tensor *x = ck_tnz_find(&t, "x"), *lengths = ck_tnz_find(&t, "lengths");
	const ck_tensor *y = ck_tnz_find(&t, "y"), *loss = ck_tnz_find(&t, "loss");
	ck_model *m = ck_model_from_tnz(&t, &err);
	CHECK(m && x && lengths && y && loss, "%s: %s", name, m ? "incomplete" : err.msg);
	if (!m || !x || !lengths || !y || !loss) {
		ck_model_free(m);
		ck_tnz_free(&t);
		return;
	}
	int n = (int)x->dims[0];
	CHECK(ck_model_final_act(m) == CK_ARCH_ACT_SIGMOID && ck_model_output_size(m) == 1,
	      "%s: one sigmoid output", name);
	CHECK(ck_model_plan(m, n, 2, &err) == 0, "%s", err.msg);
	compare(name, "out", ck_model_forward(m, x->data, lengths->data, n, 0, 0),
	        ck_tnz_find(&t, "out"), n);
	compare(name, "prob", ck_model_predict(m, x->data, lengths->data, n),
	        ck_tnz_find(&t, "prob"), n);

	char *spec = dropout_off(ck_meta_get(&t.meta, "arch", NULL));
	ck_model *m0 = ck_model_create(spec, x->dims + 1, 1, ck_model_arch(m)->vocab_size, &err);
	CHECK(m0 && ck_model_load_params(m0, &t, &err) == 0 && ck_model_plan(m0, n, 2, &err) == 0,
	      "%s: %s: %s", name, spec, err.msg);
	free(spec);
	if (m0) {
		float *target = malloc((size_t)n * sizeof *target), *dlogits = malloc((size_t)n * 4);
		for (int i = 0; i < n; i++)
			target[i] = (float)((const int32_t *)y->data)[i];
		const float *logits = ck_model_forward(m0, x->data, lengths->data, n, 1, 12345);
		double got = ck_bce_logits_forward(logits, target, n, 1);
		double want = *(const double *)loss->data;
		CHECK(fabs(got - want) <= RTOL * fmax(fabs(want), 1e-3), "%s: loss %.9g, torch %.9g",
		      name, got, want);
		ck_bce_logits_backward(dlogits, logits, target, n, 1);
		ck_model_zero_grad(m0);
		ck_model_backward(m0, dlogits, n);
		const ck_arch *a = ck_model_arch(m0);
		for (int i = 0; i < a->nparams; i++) {
			char key[80];
			snprintf(key, sizeof key, "grad.%s", a->params[i].name);
			compare(name, key, ck_model_grad(m0, i), ck_tnz_find(&t, key), a->params[i].count);
		}
		free(target);
		free(dlogits);
	}
	ck_model_free(m0);
	ck_model_free(m);
	ck_tnz_free(&t);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs check on every file of the directory whose name starts with prefix. */
static void each_file(const char *prefix, void (*check)(const char *))
{
	DIR *d = opendir(DIR_PATH);
	if (!d)
		return;
	char *names[256];
	int count = 0;
	struct dirent *e;
	while ((e = readdir(d)) && count < 256)
		if (strncmp(e->d_name, prefix, strlen(prefix)) == 0 && strstr(e->d_name, ".tnz"))
			names[count++] = strdup(e->d_name);
	closedir(d);
	qsort(names, (size_t)count, sizeof *names, by_name);
	for (int i = 0; i < count; i++) {
		check(names[i]);
		free(names[i]);
	}
}

static void test_layers(void)
{
	int before = files_seen;
	each_file("layer_", check_layer_file);
	CHECK(files_seen - before >= 20, "%d layer files", files_seen - before);
}

static void test_losses(void)
{
	int before = files_seen;
	each_file("loss_", check_loss_file);
	CHECK(files_seen - before == 3, "%d loss files", files_seen - before);
}

static void test_optimisers(void)
{
	int before = files_seen;
	each_file("optim_", check_optim_file);
	CHECK(files_seen - before == 5, "%d optimiser files", files_seen - before);
}

static void test_text_cnns(void)
{
	int before = files_seen;
	each_file("textcnn_", check_textcnn_file);
	CHECK(files_seen - before >= 1, "%d text CNN files", files_seen - before);
}

int main(void)
{
	DIR *d = opendir(DIR_PATH);
	if (!d) {
		printf("ok - test_torch_ref # SKIP no " DIR_PATH " (run tools/torch_ref.py)\n");
		return 0;
	}
	closedir(d);
	RUN(test_layers);
	RUN(test_losses);
	RUN(test_optimisers);
	RUN(test_text_cnns);
	return check_summary();
}
