/* textcnn_bench: sentences per second of training and inference of a text
 * CNN over a tokenised dataset, with the public API only: the cnnkit side
 * of the throughput part of tools/bench/textcnn.sh (tools/bench/torch_kim.py
 * is the PyTorch side).
 *
 * Each repeat creates the model afresh (same seed), trains it for --epochs
 * epochs over the sentences in file order with Adam, then runs it forward in
 * inference mode over the same sentences. The timed spans include gathering
 * the batches, the loss and the optimiser step: everything a training run
 * does per batch. A model with one output trains with binary cross-entropy
 * on its logit (ids 0/1), one with K > 1 with softmax cross-entropy.
 *
 * --full passes no lengths: every row counts as T real tokens, so that no
 * padding is skipped and the work is that of the nominal FLOP count (with
 * torch_kim.py --full, the comparison of the kernels alone). */
#include "cnnkit.h"
#include "cnnkit/data.h"
#include "cnnkit/learn.h"
#include "cnnkit/model.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "common/bench_util.h"

static const char *prog = "textcnn_bench";

#define DEFAULT_ARCH "embedding 128; conv1d 100 3,4,5 relu; globalmaxpool; dropout 0.5; " \
                     "dense 1 sigmoid"
#define MAX_LAYERS 64

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: %s [--threads N] [--batch B] [--repeat R] [--epochs E] [--arch SPEC]\n"
	        "       [--lr X] [--seed S] [--full] DATA.tnz\n"
	        "Train a text CNN on DATA.tnz (x (N,L) token ids, lengths, y class ids, vocab)\n"
	        "with Adam in file order, then evaluate it, and print sentences/s and the\n"
	        "per-layer times.\n"
	        "  --threads N   threads, 1 to 1024 (default 1)\n"
	        "  --batch B     batch, 1 to 65536 (default 50)\n"
	        "  --repeat R    timed runs, each from a fresh model, 1 to 100 (default 3);\n"
	        "                the best and the median are reported\n"
	        "  --epochs E    training epochs a run, 1 to 1000 (default 1)\n"
	        "  --arch SPEC   network (default \"%s\")\n"
	        "  --lr X        Adam's learning rate, 0 to 10 (default 0.001)\n"
	        "  --seed S      initialisation seed (default 1)\n"
	        "  --full        ignore lengths: every row is T real tokens\n"
	        "  --help        show this help\n"
	        "  --version     show the version\n"
	        "The lines starting with RESULT are for scripts:\n"
	        "  RESULT cnnkit train|eval threads=N batch=B best=S/S median=S/S worst=S/S\n"
	        "Example: %s --threads 2 --repeat 5 train.tnz\n",
	        prog, DEFAULT_ARCH, prog);
}

typedef struct run_result {
	double train_sps, eval_sps; /* sentences per second */
	double train_cps, eval_cps; /* sentences per CPU-second of all threads */
	double loss, eval_acc;
	double fwd[MAX_LAYERS], bwd[MAX_LAYERS]; /* seconds summed over the training batches */
	int batches;
} run_result;

typedef struct bench {
	const ck_dataset *d;
	const char *arch;
	int threads, batch, epochs, full;
	float lr;
	uint64_t seed;
	int64_t *idx; /* 0..n-1 */
	int32_t *x, *lengths, *labels;
	float *targets, *dlogits, *probs, *m1, *m2;
} bench;

/* The mean loss of a batch, and the gradient of it w.r.t. the logits into
 * b->dlogits; *correct += the rows classified right. */
static double loss_step(bench *b, const float *logits, int n, int K, int64_t *correct)
{
	if (K == 1) {
		for (int i = 0; i < n; i++)
			*correct += (logits[i] > 0.0f) == (b->labels[i] != 0);
		double loss = ck_bce_logits_forward(logits, b->targets, n, 1);
		ck_bce_logits_backward(b->dlogits, logits, b->targets, n, 1);
		return loss;
	}
	*correct += ck_count_correct(logits, b->labels, n, K);
	double loss = ck_cce_forward(b->probs, logits, b->labels, n, K);
	ck_cce_backward(b->dlogits, b->probs, b->labels, n, K);
	return loss;
}

/* One repeat: a fresh model, the training epochs, one inference pass. */
static int run_once(bench *b, run_result *r, ck_err *err)
{
	const ck_dataset *d = b->d;
	ck_model *m = ck_model_create(b->arch, d->example_shape, d->example_rank, d->vocab_size, err);
	if (!m)
		return -1;
	int K = (int)ck_model_output_size(m);
	ck_model_init(m, b->seed);
	if (ck_model_plan(m, b->batch, b->threads, err) < 0) {
		ck_model_free(m);
		return -1;
	}
	const ck_arch *a = ck_model_arch(m);
	size_t nparams;
	ck_model_params(m, &nparams);
	memset(b->m1, 0, nparams * sizeof(float));
	memset(b->m2, 0, nparams * sizeof(float));
	ck_optim_config cfg = ck_optim_defaults(CK_OPTIM_ADAM);
	memset(r, 0, sizeof *r);
	double fwd[MAX_LAYERS], bwd[MAX_LAYERS];
	const int32_t *lengths = b->full ? NULL : b->lengths;

	double loss = 0;
	int64_t correct = 0, step = 0;
	double t0 = bench_now(), c0 = bench_cpu();
	for (int e = 0; e < b->epochs; e++)
		for (int64_t i = 0; i < d->n; i += b->batch, step++) {
			int n = d->n - i < b->batch ? (int)(d->n - i) : b->batch;
			ck_dataset_batch(d, b->idx + i, n, NULL, NULL, b->x, b->lengths, b->labels,
			                 b->targets);
			const float *logits = ck_model_forward(m, b->x, lengths, n, 1, (uint64_t)step);
			loss += loss_step(b, logits, n, K, &correct) * n;
			ck_model_zero_grad(m);
			ck_model_backward(m, b->dlogits, n);
			for (int p = 0; p < a->nparams; p++)
				if (a->params[p].trainable) {
					size_t off = ck_model_param_offset(m, p);
					ck_optim_step(&cfg, b->lr, step + 1, ck_model_param(m, p), ck_model_grad(m, p),
					              b->m1 + off, b->m2 + off, (size_t)a->params[p].count);
				}
			ck_model_constrain(m);
			int got = ck_model_layer_times(m, fwd, bwd, MAX_LAYERS);
			for (int l = 0; l < got && l < MAX_LAYERS; l++)
				r->fwd[l] += fwd[l], r->bwd[l] += bwd[l];
			r->batches++;
		}
	double sentences = (double)d->n * b->epochs;
	r->train_sps = sentences / (bench_now() - t0);
	r->train_cps = sentences / (bench_cpu() - c0);
	r->loss = loss / sentences;

	correct = 0;
	t0 = bench_now(), c0 = bench_cpu();
	for (int64_t i = 0; i < d->n; i += b->batch) {
		int n = d->n - i < b->batch ? (int)(d->n - i) : b->batch;
		ck_dataset_batch(d, b->idx + i, n, NULL, NULL, b->x, b->lengths, b->labels, b->targets);
		const float *logits = ck_model_forward(m, b->x, lengths, n, 0, 0);
		loss_step(b, logits, n, K, &correct);
	}
	r->eval_sps = (double)d->n / (bench_now() - t0);
	r->eval_cps = (double)d->n / (bench_cpu() - c0);
	r->eval_acc = (double)correct / (double)d->n;
	ck_model_free(m);
	return 0;
}

int main(int argc, char **argv)
{
	const char *arch = DEFAULT_ARCH, *path = NULL;
	long threads = 1, batch = 50, repeat = 3, epochs = 1, seed = 1;
	int full = 0;
	double lr = 0.001;
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
		} else if (strcmp(o, "--repeat") == 0 && has) {
			if (bench_parse_long(argv[++i], 1, 100, &repeat) < 0)
				goto bad_number;
		} else if (strcmp(o, "--epochs") == 0 && has) {
			if (bench_parse_long(argv[++i], 1, 1000, &epochs) < 0)
				goto bad_number;
		} else if (strcmp(o, "--seed") == 0 && has) {
			if (bench_parse_long(argv[++i], 0, 0x7fffffffL, &seed) < 0)
				goto bad_number;
		} else if (strcmp(o, "--lr") == 0 && has) {
			if (bench_parse_double(argv[++i], 0, 10, &lr) < 0)
				goto bad_number;
		} else if (strcmp(o, "--arch") == 0 && has) {
			arch = argv[++i];
		} else if (strcmp(o, "--full") == 0) {
			full = 1;
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
	if (d.label_kind != CK_LABELS_CLASS || d.input_kind != CK_INPUT_TOKENS) {
		fprintf(stderr, "%s: %s: needs token ids and class ids\n", prog, path);
		ck_dataset_free(&d);
		return 1;
	}
	ck_model *probe = ck_model_create(arch, d.example_shape, d.example_rank, d.vocab_size, &err);
	if (!probe || ck_dataset_check_model(&d, probe, &err) < 0) {
		fprintf(stderr, "%s: %s\n", prog, err.msg);
		ck_model_free(probe);
		ck_dataset_free(&d);
		return 1;
	}
	const ck_arch *a = ck_model_arch(probe);
	int nlayers = a->nlayers < MAX_LAYERS ? a->nlayers : MAX_LAYERS;
	size_t nparams;
	ck_model_params(probe, &nparams);
	int K = (int)ck_model_output_size(probe);
	int64_t L = d.example_size;

	bench b = {
		.d = &d, .arch = arch, .threads = (int)threads, .batch = (int)batch,
		.epochs = (int)epochs, .full = full, .lr = (float)lr, .seed = (uint64_t)seed,
		.idx = malloc((size_t)d.n * sizeof(int64_t)),
		.x = malloc((size_t)batch * L * sizeof(int32_t)),
		.lengths = malloc((size_t)batch * sizeof(int32_t)),
		.labels = malloc((size_t)batch * sizeof(int32_t)),
		.targets = malloc((size_t)batch * sizeof(float)),
		.dlogits = malloc((size_t)batch * K * sizeof(float)),
		.probs = malloc((size_t)batch * K * sizeof(float)),
		.m1 = malloc((nparams ? nparams : 1) * sizeof(float)),
		.m2 = malloc((nparams ? nparams : 1) * sizeof(float)),
	};
	run_result *runs = calloc((size_t)repeat, sizeof *runs);
	if (!b.idx || !b.x || !b.lengths || !b.labels || !b.targets || !b.dlogits || !b.probs ||
	    !b.m1 || !b.m2 || !runs) {
		fprintf(stderr, "%s: out of memory\n", prog);
		return 1;
	}
	for (int64_t i = 0; i < d.n; i++)
		b.idx[i] = i;

	printf("# cnnkit %s: %lld sentences of up to %lld tokens %s, vocabulary %lld, %zu "
	       "parameters%s\n", ck_version(), (long long)d.n, (long long)L, path,
	       (long long)d.vocab_size, nparams, full ? "; --full: lengths ignored" : "");
	printf("# arch: %s\n", arch);
	printf("# threads %ld, batch %ld, %ld epoch(s) a repeat, repeats %ld; sgemm kernel %s\n",
	       threads, batch, epochs, repeat, ck_sgemm_kernel_name());

	double train_sps[100], eval_sps[100];
	int best = 0;
	for (int r = 0; r < repeat; r++) {
		if (run_once(&b, &runs[r], &err) < 0) {
			fprintf(stderr, "%s: %s\n", prog, err.msg);
			return 1;
		}
		train_sps[r] = runs[r].train_sps;
		eval_sps[r] = runs[r].eval_sps;
		if (runs[r].train_sps > runs[best].train_sps)
			best = r;
		printf("# repeat %d: train %.0f sentences/s, %.0f per CPU-second (loss %.4f); "
		       "eval %.0f sentences/s, %.0f per CPU-second (accuracy %.4f)\n", r + 1,
		       runs[r].train_sps, runs[r].train_cps, runs[r].loss, runs[r].eval_sps,
		       runs[r].eval_cps, runs[r].eval_acc);
		fflush(stdout);
	}

	/* Per-layer times of the fastest run, averaged over its batches. */
	const run_result *rb = &runs[best];
	printf("%-3s %-34s %10s %10s\n", "#", "layer (ms per training batch)", "forward", "backward");
	double sf = 0, sb = 0;
	for (int l = 0; l < nlayers; l++) {
		double f = 1e3 * rb->fwd[l] / rb->batches, g = 1e3 * rb->bwd[l] / rb->batches;
		sf += f, sb += g;
		printf("%-3d %-34.34s %10.3f %10.3f\n", l + 1, a->layers[l].text, f, g);
	}
	printf("%-3s %-34s %10.3f %10.3f\n", "", "total", sf, sb);

	const char *phase[2] = {"train", "eval"};
	double *sps[2] = {train_sps, eval_sps};
	for (int p = 0; p < 2; p++) {
		qsort(sps[p], (size_t)repeat, sizeof(double), bench_cmp_double);
		double hi = sps[p][repeat - 1], lo = sps[p][0], med = sps[p][repeat / 2];
		printf("%-5s %8.0f sentences/s best, %8.0f median, %8.0f worst (spread %4.1f%%)\n",
		       phase[p], hi, med, lo, 100 * (hi - lo) / hi);
		printf("RESULT cnnkit %s threads=%ld batch=%ld best=%.1f median=%.1f worst=%.1f\n",
		       phase[p], threads, batch, hi, med, lo);
	}

	ck_model_free(probe);
	ck_dataset_free(&d);
	free(b.idx), free(b.x), free(b.lengths), free(b.labels), free(b.targets);
	free(b.dlogits), free(b.probs), free(b.m1), free(b.m2);
	free(runs);
	if (fclose(stdout) != 0) {
		fprintf(stderr, "%s: write error\n", prog);
		return 1;
	}
	return 0;
}
