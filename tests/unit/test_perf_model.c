/* test_perf_model.c: the data-parallel forward and backward of model.c
 * (the threads take pieces of the batch, rows of it, and run every layer on
 * them) against the layer-by-layer pass of one thread: outputs, parameter
 * gradients and input gradients within float rounding, bit-identical from
 * run to run for a given thread count whichever thread took which piece,
 * with pieces of one row and of several, batches that do not divide evenly,
 * smaller than the thread count, and of one example (never split); the
 * same for a text CNN over token ids with real lengths. A head from a large
 * dense layer on runs over the whole batch: its weight gradient is
 * bit-identical on every thread count. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cnnkit.h"
#include "cnnkit/learn.h"
#include "cnnkit/model.h"

/* Every kind that runs split: conv with a fused ReLU and without, maxpool
 * 2x2 and 3x3/2, avgpool, dropout, an activation layer, flatten, dense. */
#define SPEC "conv 6 3 pad=same relu; maxpool 2; dropout 0.3; conv 5 2; " \
             "tanh; avgpool 2; conv 4 3 pad=same relu; maxpool 3 stride=2; " \
             "flatten; dense 7 relu; dense 3"
static const int64_t SPEC_SHAPE[3] = {2, 29, 23};

/* Fused activations that go through the shared scratch buffer, on layers of
 * different widths: the threads' scratch rows must never overlap (they did
 * once, when a thread's rows were offset by its own layer's width). */
#define SPEC_ACTS "dense 16 tanh; dense 6 sigmoid; dense 9 leakyrelu; dense 5 softmax; dense 3"
static const int64_t SPEC_ACTS_SHAPE[1] = {12};

typedef struct pass_result {
	float *out, *grads, *dx;
	size_t nout, ngrads, ndx;
} pass_result;

static float *uniform(size_t n, uint64_t seed)
{
	ck_rng rng;
	ck_rng_seed(&rng, seed);
	float *v = malloc((n ? n : 1) * sizeof *v);
	for (size_t i = 0; i < n; i++)
		v[i] = 2.0f * ck_rng_uniform(&rng) - 1.0f;
	return v;
}

/* One training forward and backward of n examples with nthreads threads. */
static pass_result run_spec(const char *spec, const int64_t *shape, int rank, int n,
                            int nthreads)
{
	pass_result r = {0};
	ck_err err;
	ck_model *m = ck_model_create(spec, shape, rank, 0, &err);
	CHECK(m != NULL, "%s", err.msg);
	if (!m)
		return r;
	ck_model_init(m, 3);
	ck_model_set_input_grad(m, 1);
	CHECK(ck_model_plan(m, n > 9 ? n : 9, nthreads, &err) == 0, "%s", err.msg);
	size_t nin = (size_t)n * ck_model_input_size(m);
	size_t K = (size_t)ck_model_output_size(m);
	float *x = uniform(nin, 11), *dout = uniform((size_t)n * K, 12);
	const float *out = ck_model_forward(m, x, NULL, n, 1, 99);
	r.nout = (size_t)n * K;
	r.out = malloc(r.nout * sizeof(float));
	memcpy(r.out, out, r.nout * sizeof(float));
	ck_model_zero_grad(m);
	ck_model_backward(m, dout, n);
	float *g = ck_model_grads(m);
	ck_model_params(m, &r.ngrads);
	r.grads = malloc(r.ngrads * sizeof(float));
	memcpy(r.grads, g, r.ngrads * sizeof(float));
	r.ndx = nin;
	r.dx = malloc(nin * sizeof(float));
	memcpy(r.dx, ck_model_input_grad(m), nin * sizeof(float));
	free(x), free(dout);
	ck_model_free(m);
	return r;
}

static pass_result run(int n, int nthreads)
{
	return run_spec(SPEC, SPEC_SHAPE, 3, n, nthreads);
}

static void result_free(pass_result *r)
{
	free(r->out), free(r->grads), free(r->dx);
}

static void expect_near(const float *a, const float *b, size_t n, double tol, const char *what)
{
	for (size_t i = 0; i < n; i++) {
		double s = fmax(1.0, fmax(fabs(a[i]), fabs(b[i])));
		if (!(fabs(a[i] - b[i]) <= tol * s)) {
			CHECK(0, "%s: element %zu: %.9g != %.9g", what, i, a[i], b[i]);
			return;
		}
	}
}

/* Output, parameter gradients and input gradient of r near one's. */
static void expect_pass_near(const pass_result *r, const pass_result *one, const char *what)
{
	expect_near(r->out, one->out, one->nout, 1e-5, what);
	expect_near(r->grads, one->grads, one->ngrads, 1e-5, what);
	expect_near(r->dx, one->dx, one->ndx, 1e-5, what);
}

static void test_split_matches_one_thread(void)
{
	int batches[] = {1, 2, 5, 9};
	for (size_t b = 0; b < sizeof batches / sizeof batches[0]; b++) {
		int n = batches[b];
		pass_result one = run(n, 1);
		for (int threads = 2; threads <= 4; threads++) {
			pass_result r = run(n, threads), again = run(n, threads);
			char what[96];
			snprintf(what, sizeof what, "n %d threads %d output", n, threads);
			expect_near(r.out, one.out, one.nout, 1e-5, what);
			CHECK(memcmp(r.out, again.out, r.nout * sizeof(float)) == 0, "%s: bits", what);
			snprintf(what, sizeof what, "n %d threads %d gradients", n, threads);
			expect_near(r.grads, one.grads, one.ngrads, 1e-5, what);
			CHECK(memcmp(r.grads, again.grads, r.ngrads * sizeof(float)) == 0, "%s: bits",
			      what);
			snprintf(what, sizeof what, "n %d threads %d input gradient", n, threads);
			expect_near(r.dx, one.dx, one.ndx, 1e-5, what);
			CHECK(memcmp(r.dx, again.dx, r.ndx * sizeof(float)) == 0, "%s: bits", what);
			result_free(&r), result_free(&again);
		}
		result_free(&one);
	}
}

/* Batches dealt in pieces of several rows, large ones first (2 and 4
 * threads, up to 8 pieces each; fewer, so larger at the end, when the
 * gradient blocks would be large, as for the second net's 83,040 conv
 * parameters). */
static void test_split_pieces_of_rows(void)
{
	const char *specs[] = {SPEC, "conv 96 3 pad=same relu; conv 96 3; maxpool 2; dense 3"};
	int batches[] = {17, 40, 57};
	for (size_t sp = 0; sp < 2; sp++)
		for (size_t b = 0; b < sizeof batches / sizeof batches[0]; b++) {
			int n = batches[b];
			pass_result one = run_spec(specs[sp], SPEC_SHAPE, 3, n, 1);
			for (int threads = 2; threads <= 4; threads += 2) {
				pass_result r = run_spec(specs[sp], SPEC_SHAPE, 3, n, threads);
				pass_result again = run_spec(specs[sp], SPEC_SHAPE, 3, n, threads);
				char what[96];
				snprintf(what, sizeof what, "spec %zu n %d threads %d", sp, n, threads);
				expect_pass_near(&r, &one, what);
				CHECK(memcmp(r.out, again.out, r.nout * sizeof(float)) == 0 &&
				          memcmp(r.grads, again.grads, r.ngrads * sizeof(float)) == 0 &&
				          memcmp(r.dx, again.dx, r.ndx * sizeof(float)) == 0,
				      "%s: bits from run to run", what);
				result_free(&r), result_free(&again);
			}
			result_free(&one);
		}
}

/* Dense layers of 90,720 weights (2268 inputs x 40) and 66,700 (1334 x
 * 50), past HEAD_MIN_WEIGHTS in model.c: from there on the layers run over
 * the whole batch, through a ReLU, without one, with a dropout in the
 * head, and with no split layer at all when the first layer is the large
 * dense one. */
static void test_split_large_dense(void)
{
	const char *specs[] = {"conv 4 3 relu; flatten; dense 40 relu; dense 3",
	                       "conv 4 3 relu; maxpool 1; flatten; dense 40; tanh; dropout 0.4; "
	                       "dense 3",
	                       "flatten; dense 50 relu; dense 3"};
	/* Where the large dense weights start, after the conv's 76 parameters
	 * (4 x 2 x 3 x 3 and 4) or first, and their count. */
	size_t at[] = {76, 76, 0}, count[] = {90720, 90720, 66700};
	int batches[] = {2, 5, 9, 31};
	for (size_t sp = 0; sp < 3; sp++)
		for (size_t b = 0; b < sizeof batches / sizeof batches[0]; b++) {
			int n = batches[b];
			pass_result one = run_spec(specs[sp], SPEC_SHAPE, 3, n, 1);
			for (int threads = 2; threads <= 3; threads++) {
				pass_result r = run_spec(specs[sp], SPEC_SHAPE, 3, n, threads);
				char what[96];
				snprintf(what, sizeof what, "spec %zu n %d threads %d", sp, n, threads);
				expect_pass_near(&r, &one, what);
				CHECK(one.ngrads > at[sp] + count[sp] &&
				          memcmp(r.grads + at[sp], one.grads + at[sp],
				                 count[sp] * sizeof(float)) == 0,
				      "%s: the large dense weight gradient bit for bit", what);
				result_free(&r);
			}
			result_free(&one);
		}
}

/* Many repetitions, since a race shows only sometimes. */
static void test_split_fused_activations(void)
{
	pass_result one = run_spec(SPEC_ACTS, SPEC_ACTS_SHAPE, 1, 9, 1);
	for (int rep = 0; rep < 200; rep++) {
		pass_result r = run_spec(SPEC_ACTS, SPEC_ACTS_SHAPE, 1, 9, 2);
		expect_pass_near(&r, &one, "fused activations");
		result_free(&r);
	}
	result_free(&one);
}

/* A Kim CNN over token ids: embedding, conv1d of several widths (the ReLU
 * fused, only the windows within each row's real tokens computed), max over
 * time, dropout, dense. Rows of lengths 0, 1 (shorter than every width) and
 * full, and a frozen embedding (no table gradient, no input gradient for
 * the conv1d to make). */
#define TEXT_T 11
#define TEXT_ROWS 9

static pass_result run_text(const char *spec, int n, int nthreads)
{
	pass_result r = {0};
	ck_err err;
	ck_model *m = ck_model_create(spec, (int64_t[]){TEXT_T}, 1, 30, &err);
	CHECK(m != NULL, "%s", err.msg);
	if (!m)
		return r;
	ck_model_init(m, 3);
	CHECK(ck_model_plan(m, TEXT_ROWS, nthreads, &err) == 0, "%s", err.msg);
	int32_t ids[TEXT_ROWS * TEXT_T], lengths[TEXT_ROWS] = {0, 11, 1, 5, 2, 11, 7, 3, 9};
	ck_rng rng;
	ck_rng_seed(&rng, 5);
	for (int i = 0; i < TEXT_ROWS; i++)
		for (int t = 0; t < TEXT_T; t++)
			ids[i * TEXT_T + t] = t < lengths[i] ? 1 + (int32_t)(ck_rng_uniform(&rng) * 29) : 0;
	size_t K = (size_t)ck_model_output_size(m);
	float *dout = uniform((size_t)n * K, 12);
	const float *out = ck_model_forward(m, ids, lengths, n, 1, 99);
	r.nout = (size_t)n * K;
	r.out = malloc(r.nout * sizeof(float));
	memcpy(r.out, out, r.nout * sizeof(float));
	ck_model_zero_grad(m);
	ck_model_backward(m, dout, n);
	ck_model_params(m, &r.ngrads);
	r.grads = malloc(r.ngrads * sizeof(float));
	memcpy(r.grads, ck_model_grads(m), r.ngrads * sizeof(float));
	free(dout);
	ck_model_free(m);
	return r;
}

static void test_split_text(void)
{
	const char *specs[] = {
		"embedding 6; conv1d 5 2,3,4 relu; globalmaxpool; dropout 0.5; dense 3",
		"embedding 6 trainable=no; conv1d 9 3 relu; globalmaxpool; dense 1",
	};
	int batches[] = {1, 4, 9};
	for (size_t s = 0; s < sizeof specs / sizeof specs[0]; s++)
		for (size_t b = 0; b < sizeof batches / sizeof batches[0]; b++) {
			int n = batches[b];
			pass_result one = run_text(specs[s], n, 1);
			for (int threads = 2; threads <= 3; threads++) {
				pass_result r = run_text(specs[s], n, threads);
				pass_result again = run_text(specs[s], n, threads);
				char what[128];
				snprintf(what, sizeof what, "text %zu n %d threads %d output", s, n, threads);
				expect_near(r.out, one.out, one.nout, 1e-5, what);
				CHECK(memcmp(r.out, again.out, r.nout * sizeof(float)) == 0, "%s: bits", what);
				snprintf(what, sizeof what, "text %zu n %d threads %d gradients", s, n, threads);
				expect_near(r.grads, one.grads, one.ngrads, 1e-5, what);
				CHECK(memcmp(r.grads, again.grads, r.ngrads * sizeof(float)) == 0, "%s: bits",
				      what);
				result_free(&r), result_free(&again);
			}
			result_free(&one);
		}
}

int main(void)
{
	RUN(test_split_matches_one_thread);
	RUN(test_split_fused_activations);
	RUN(test_split_text);
	RUN(test_split_pieces_of_rows);
	RUN(test_split_large_dense);
	return check_summary();
}
