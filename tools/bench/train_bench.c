/* train_bench: images per second of one training epoch and of one inference
 * pass of a CNN over a dataset, with the public API only: the cnnkit side of
 * tools/bench/train.sh (tools/bench/torch_train.py is the PyTorch side).
 *
 * Each repeat creates the model afresh (same seed), trains it for one epoch
 * over the examples in file order (SGD with momentum, softmax cross-entropy),
 * then runs it forward in inference mode over the same examples. The timed
 * spans include gathering the batches (u8 -> f32), the loss and the
 * optimiser step: everything a training run does per batch.
 *
 * FLOPs per image are counted from the layer shapes: forward 2 * multiply-adds
 * of the conv and dense layers (pooling and activations are not counted);
 * training 3 x forward (backward = input gradient + weight gradient, each as
 * much as the forward, counted for the first layer too, as is usual). */
#include "cnnkit.h"
#include "cnnkit/data.h"
#include "cnnkit/learn.h"
#include "cnnkit/model.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "common/bench_util.h"

static const char *prog = "train_bench";

#define DEFAULT_ARCH "conv 32 3 pad=same relu; maxpool 2; conv 64 3 pad=same relu; " \
                     "maxpool 2; dense 128 relu; dense 10"
#define MAX_LAYERS 64

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: %s [--threads N] [--batch B] [--eval-batch B] [--repeat R]\n"
	        "       [--arch SPEC] [--lr X] [--seed S] DATA.tnz\n"
	        "Train a CNN for one epoch on DATA.tnz (x (N,C,H,W) u8 or f32, y (N) class ids),\n"
	        "then evaluate it, and print images/s, GFLOP/s, %% of the FMA peak and\n"
	        "per-layer times. SGD with momentum 0.9, softmax cross-entropy, file order.\n"
	        "  --threads N      threads, 1 to 1024 (default 1)\n"
	        "  --batch B        training batch, 1 to 65536 (default 64)\n"
	        "  --eval-batch B   inference batch, 1 to 65536 (default: the training batch)\n"
	        "  --repeat R       epochs timed, each from a fresh model, 1 to 100 (default 3);\n"
	        "                   the best and the median are reported\n"
	        "  --arch SPEC      network (default \"%s\")\n"
	        "  --lr X           learning rate, 0 to 10 (default 0.05)\n"
	        "  --seed S         initialisation seed (default 1)\n"
	        "  --help           show this help\n"
	        "  --version        show the version\n"
	        "The lines starting with RESULT are for scripts:\n"
	        "  RESULT cnnkit train|eval threads=N batch=B best=IMG/S median=IMG/S worst=IMG/S\n"
	        "Example: %s --threads 2 --repeat 5 fm-10k.tnz\n",
	        prog, DEFAULT_ARCH, prog);
}

/* Forward FLOPs per example: 2 * multiply-adds of conv and dense layers. */
static double forward_flops(const ck_arch *a)
{
	double f = 0;
	for (int i = 0; i < a->nlayers; i++) {
		const ck_arch_layer *l = &a->layers[i];
		if (l->kind == CK_ARCH_CONV)
			f += 2.0 * l->conv.filters * l->conv.c * l->conv.kh * l->conv.kw * l->conv.oh *
			     l->conv.ow;
		else if (l->kind == CK_ARCH_DENSE)
			f += 2.0 * l->dense.units * l->dense.in;
	}
	return f;
}

/* The phases of a training step, timed one after the other: what the layer
 * table does not show (the batch gather, the loss, the gradient zeroing and
 * the update) and the forward and backward passes whole, so that the layers'
 * sum can be compared with their pass. On several threads the table gives
 * the layers before the head (see model.c) as thread 0's time on the
 * pieces of the batch it took, about its share of the batch; the difference
 * is then the passes' synchronisation: threads waiting for each other and
 * adding up the pieces' gradients. */
enum { PH_GATHER, PH_FORWARD, PH_LOSS, PH_ZERO, PH_BACKWARD, PH_UPDATE, PHASES };
static const char *phase_name[PHASES] = {"gather", "forward", "loss", "zero grads", "backward",
                                         "update"};

typedef struct run_result {
	double train_ips, eval_ips; /* images per second */
	double train_cps, eval_cps; /* images per CPU-second of all threads */
	double loss, train_acc, eval_acc;
	double fwd[MAX_LAYERS], bwd[MAX_LAYERS]; /* seconds summed over the training batches */
	double phase[PHASES]; /* seconds summed over the training batches, by step phase */
	int batches;
} run_result;

typedef struct bench {
	const ck_dataset *d;
	const char *arch;
	int threads, batch, eval_batch;
	float lr;
	uint64_t seed;
	int64_t *idx;     /* 0..n-1 */
	float *x, *dlogits, *probs, *mom;
	int32_t *labels;
} bench;

/* One repeat: a fresh model, one training epoch, one inference pass. */
static int run_once(bench *b, run_result *r, ck_err *err)
{
	const ck_dataset *d = b->d;
	ck_model *m = ck_model_create(b->arch, d->example_shape, d->example_rank, 0, err);
	if (!m)
		return -1;
	int K = (int)ck_model_output_size(m);
	int max_batch = b->batch > b->eval_batch ? b->batch : b->eval_batch;
	ck_model_init(m, b->seed);
	if (ck_model_plan(m, b->batch, b->threads, err) < 0) {
		ck_model_free(m);
		return -1;
	}
	const ck_arch *a = ck_model_arch(m);
	size_t nparams;
	ck_model_params(m, &nparams);
	ck_optim_config cfg = ck_optim_defaults(CK_OPTIM_MOMENTUM);
	memset(r, 0, sizeof *r);
	double fwd[MAX_LAYERS], bwd[MAX_LAYERS];

	double loss = 0;
	int64_t correct = 0, step = 0;
	double t0 = bench_now(), c0 = bench_cpu();
	for (int64_t i = 0; i < d->n; i += b->batch, step++) {
		int n = d->n - i < b->batch ? (int)(d->n - i) : b->batch;
		double tp[PHASES + 1];
		tp[0] = bench_now();
		ck_dataset_batch(d, b->idx + i, n, NULL, NULL, b->x, NULL, b->labels, NULL);
		tp[1] = bench_now();
		const float *logits = ck_model_forward(m, b->x, NULL, n, 1, (uint64_t)step);
		tp[2] = bench_now();
		loss += ck_cce_forward(b->probs, logits, b->labels, n, K) * n;
		correct += ck_count_correct(logits, b->labels, n, K);
		ck_cce_backward(b->dlogits, b->probs, b->labels, n, K);
		tp[3] = bench_now();
		ck_model_zero_grad(m);
		tp[4] = bench_now();
		ck_model_backward(m, b->dlogits, n);
		tp[5] = bench_now();
		for (int p = 0; p < a->nparams; p++)
			if (a->params[p].trainable)
				ck_optim_step(&cfg, b->lr, step + 1, ck_model_param(m, p),
				              ck_model_grad(m, p), b->mom + ck_model_param_offset(m, p),
				              NULL, (size_t)a->params[p].count);
		ck_model_constrain(m);
		tp[6] = bench_now();
		for (int k = 0; k < PHASES; k++)
			r->phase[k] += tp[k + 1] - tp[k];
		int got = ck_model_layer_times(m, fwd, bwd, MAX_LAYERS);
		for (int l = 0; l < got && l < MAX_LAYERS; l++)
			r->fwd[l] += fwd[l], r->bwd[l] += bwd[l];
		r->batches++;
	}
	r->train_ips = (double)d->n / (bench_now() - t0);
	r->train_cps = (double)d->n / (bench_cpu() - c0);
	r->loss = loss / (double)d->n;
	r->train_acc = (double)correct / (double)d->n;

	if (b->eval_batch != b->batch && ck_model_plan(m, max_batch, b->threads, err) < 0) {
		ck_model_free(m);
		return -1;
	}
	correct = 0;
	t0 = bench_now(), c0 = bench_cpu();
	for (int64_t i = 0; i < d->n; i += b->eval_batch) {
		int n = d->n - i < b->eval_batch ? (int)(d->n - i) : b->eval_batch;
		ck_dataset_batch(d, b->idx + i, n, NULL, NULL, b->x, NULL, b->labels, NULL);
		const float *logits = ck_model_forward(m, b->x, NULL, n, 0, 0);
		correct += ck_count_correct(logits, b->labels, n, K);
	}
	r->eval_ips = (double)d->n / (bench_now() - t0);
	r->eval_cps = (double)d->n / (bench_cpu() - c0);
	r->eval_acc = (double)correct / (double)d->n;
	ck_model_free(m);
	return 0;
}

int main(int argc, char **argv)
{
	const char *arch = DEFAULT_ARCH, *path = NULL;
	long threads = 1, batch = 64, eval_batch = 0, repeat = 3, seed = 1;
	double lr = 0.05;
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i];
		int has = i + 1 < argc;
		if (strcmp(o, "--help") == 0) {
			usage(stdout);
			return fclose(stdout) == 0 ? 0 : 1;
		} else if (strcmp(o, "--version") == 0) {
			printf("%s %s\n", prog, ck_version());
			return fclose(stdout) == 0 ? 0 : 1;
		} else if (strcmp(o, "--threads") == 0 && has) {
			if (bench_parse_long(argv[++i], 1, 1024, &threads) < 0)
				goto bad_number;
		} else if (strcmp(o, "--batch") == 0 && has) {
			if (bench_parse_long(argv[++i], 1, 65536, &batch) < 0)
				goto bad_number;
		} else if (strcmp(o, "--eval-batch") == 0 && has) {
			if (bench_parse_long(argv[++i], 1, 65536, &eval_batch) < 0)
				goto bad_number;
		} else if (strcmp(o, "--repeat") == 0 && has) {
			if (bench_parse_long(argv[++i], 1, 100, &repeat) < 0)
				goto bad_number;
		} else if (strcmp(o, "--seed") == 0 && has) {
			if (bench_parse_long(argv[++i], 0, 0x7fffffffL, &seed) < 0)
				goto bad_number;
		} else if (strcmp(o, "--lr") == 0 && has) {
			if (bench_parse_double(argv[++i], 0, 10, &lr) < 0)
				goto bad_number;
		} else if (strcmp(o, "--arch") == 0 && has) {
			arch = argv[++i];
		} else if (o[0] == '-' && o[1]) {
			usage(stderr);
			return 2;
		} else if (path) {
			fprintf(stderr, "%s: one data file only\n", prog);
			usage(stderr);
			return 2;
		} else {
			path = o;
		}
		continue;
bad_number:
		fprintf(stderr, "%s: %s: number out of range: %s\n", prog, o, argv[i]);
		return 2;
	}
	if (!path) {
		usage(stderr);
		return 2;
	}
	if (!eval_batch)
		eval_batch = batch;
#ifdef _OPENMP
	omp_set_num_threads((int)threads);
#else
	threads = 1;
#endif

	ck_err err;
	ck_dataset d;
	if (ck_dataset_load(&d, path, (int)threads, &err) < 0) {
		fprintf(stderr, "%s: %s: %s\n", prog, path, err.msg);
		return 1;
	}
	if (d.label_kind != CK_LABELS_CLASS || d.input_kind != CK_INPUT_F32) {
		fprintf(stderr, "%s: %s: needs f32 or u8 examples and class ids\n", prog, path);
		ck_dataset_free(&d);
		return 1;
	}
	ck_model *probe = ck_model_create(arch, d.example_shape, d.example_rank, 0, &err);
	if (!probe) {
		fprintf(stderr, "%s: --arch: %s\n", prog, err.msg);
		ck_dataset_free(&d);
		return 1;
	}
	if (ck_dataset_check_model(&d, probe, &err) < 0) {
		fprintf(stderr, "%s: %s: %s\n", prog, path, err.msg);
		ck_model_free(probe);
		ck_dataset_free(&d);
		return 1;
	}
	const ck_arch *a = ck_model_arch(probe);
	int nlayers = a->nlayers < MAX_LAYERS ? a->nlayers : MAX_LAYERS;
	double flops_fwd = forward_flops(a), flops_train = 3 * flops_fwd;
	size_t nparams;
	ck_model_params(probe, &nparams);
	int K = (int)ck_model_output_size(probe);

	int max_batch = (int)(batch > eval_batch ? batch : eval_batch);
	bench b = {
		.d = &d, .arch = arch, .threads = (int)threads, .batch = (int)batch,
		.eval_batch = (int)eval_batch, .lr = (float)lr, .seed = (uint64_t)seed,
		.idx = malloc((size_t)d.n * sizeof(int64_t)),
		.x = malloc((size_t)max_batch * d.example_size * sizeof(float)),
		.dlogits = malloc((size_t)max_batch * K * sizeof(float)),
		.probs = malloc((size_t)max_batch * K * sizeof(float)),
		.mom = calloc(nparams ? nparams : 1, sizeof(float)),
		.labels = malloc((size_t)max_batch * sizeof(int32_t)),
	};
	run_result *runs = calloc((size_t)repeat, sizeof *runs);
	if (!b.idx || !b.x || !b.dlogits || !b.probs || !b.mom || !b.labels || !runs) {
		fprintf(stderr, "%s: out of memory\n", prog);
		return 1;
	}
	for (int64_t i = 0; i < d.n; i++)
		b.idx[i] = i;

	/* The peak of the kernel's vectors on one core, times the threads. */
	const char *isa = ck_sgemm_kernel_name();
	double peak1 = ck_sgemm_peak_gflops(isa, 0.2);
	double peak = peak1 > 0 ? peak1 * (double)threads : -1;
	printf("# cnnkit %s: %lld images %s, %d classes, %zu parameters\n", ck_version(),
	       (long long)d.n, path, K, nparams);
	printf("# arch: %s\n", arch);
	printf("# threads %ld, batch %ld, eval batch %ld, repeats %ld; sgemm kernel %s, "
	       "FMA peak %.1f GFLOP/s per core (%s)\n",
	       threads, batch, eval_batch, repeat, isa, peak1, peak1 > 0 ? isa : "none");
	printf("# FLOP per image: forward %.2f M (2 x multiply-adds of conv and dense), "
	       "training %.2f M (3 x forward)\n", flops_fwd * 1e-6, flops_train * 1e-6);

	double train_ips[100], eval_ips[100];
	int best = 0;
	for (int r = 0; r < repeat; r++) {
		if (run_once(&b, &runs[r], &err) < 0) {
			fprintf(stderr, "%s: %s\n", prog, err.msg);
			return 1;
		}
		train_ips[r] = runs[r].train_ips;
		eval_ips[r] = runs[r].eval_ips;
		if (runs[r].train_ips > runs[best].train_ips)
			best = r;
		printf("# repeat %d: train %.0f img/s, %.0f per CPU-second (loss %.4f, accuracy %.4f); "
		       "eval %.0f img/s, %.0f per CPU-second (accuracy %.4f)\n", r + 1,
		       runs[r].train_ips, runs[r].train_cps, runs[r].loss, runs[r].train_acc,
		       runs[r].eval_ips, runs[r].eval_cps, runs[r].eval_acc);
		fflush(stdout);
	}

	/* Per-layer times of the fastest epoch, averaged over its batches. */
	const run_result *rb = &runs[best];
	printf("%-3s %-34s %10s %10s\n", "#", "layer (ms per training batch)", "forward", "backward");
	double sf = 0, sb = 0;
	for (int l = 0; l < nlayers; l++) {
		double f = 1e3 * rb->fwd[l] / rb->batches, g = 1e3 * rb->bwd[l] / rb->batches;
		sf += f, sb += g;
		printf("%-3d %-34.34s %10.3f %10.3f\n", l + 1, a->layers[l].text, f, g);
	}
	printf("%-3s %-34s %10.3f %10.3f\n", "", "total", sf, sb);
	printf("# step phases (ms per training batch):");
	for (int k = 0; k < PHASES; k++)
		printf(" %s %.3f%s", phase_name[k], 1e3 * rb->phase[k] / rb->batches,
		       k + 1 < PHASES ? "," : "\n");

	const char *phase[2] = {"train", "eval"};
	double *ips[2] = {train_ips, eval_ips};
	double flops[2] = {flops_train, flops_fwd};
	long bsz[2] = {batch, eval_batch};
	for (int p = 0; p < 2; p++) {
		qsort(ips[p], (size_t)repeat, sizeof(double), bench_cmp_double);
		double hi = ips[p][repeat - 1], lo = ips[p][0], med = ips[p][repeat / 2];
		double gf = hi * flops[p] * 1e-9;
		printf("%-5s %8.0f img/s best, %8.0f median, %8.0f worst (spread %4.1f%%); "
		       "%6.1f GFLOP/s = %4.1f%% of %.1f peak\n",
		       phase[p], hi, med, lo, 100 * (hi - lo) / hi, gf, peak > 0 ? 100 * gf / peak : 0.0,
		       peak);
		printf("RESULT cnnkit %s threads=%ld batch=%ld best=%.1f median=%.1f worst=%.1f "
		       "gflops=%.2f peak=%.2f\n", phase[p], threads, bsz[p], hi, med, lo, gf, peak);
	}
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("# peak resident memory %.1f MB; dataset in memory %.1f MB\n",
	       (double)ru.ru_maxrss / 1024.0,
	       (double)d.n * (double)d.example_size * (d.x_u8 ? 1 : 4) / 1048576.0);

	ck_model_free(probe);
	ck_dataset_free(&d);
	free(b.idx), free(b.x), free(b.dlogits), free(b.probs), free(b.mom), free(b.labels);
	free(runs);
	if (fclose(stdout) != 0) {
		fprintf(stderr, "%s: write error\n", prog);
		return 1;
	}
	return 0;
}
