/* cnn-train: trains a network described in the architecture language on a
 * TNZ dataset and writes the model file. Option parsing, the progress bar
 * and messages only; the loop is ck_train_run (lib/train.c). */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cnnkit.h"

static const char *prog = "cnn-train";

static const char usage_text[] =
	"usage: cnn-train --arch SPEC|FILE [--loss mse|bce|cce]\n"
	"                 [--optim sgd|momentum|nesterov|adam|adamw] [--lr X] [--momentum X]\n"
	"                 [--weight-decay X] [--schedule constant|step:N:G|cosine] [--warmup N]\n"
	"                 [--clip X] [--batch B] [--epochs E] [--val FILE|--val-split F]\n"
	"                 [--normalize none|auto|M,S] [--augment flip,crop=P] [--log FILE]\n"
	"                 [--log-every N] [--checkpoint FILE] [--init MODEL] [--patience N]\n"
	"                 [--keep-best val_loss|val_acc|last] [--summary [--input-shape C,H,W]]\n"
	"                 [--seed N] [--threads N] [--progress|-q] -o MODEL [TRAIN]\n"
	"       cnn-train --resume CKPT [--epochs E] [options]\n"
	"       mpirun -np P [mpirun options] cnn-train options   (built with make MPI=1)\n";

static void usage(FILE *f)
{
	fputs(usage_text, f);
	if (f == stderr)
		fputs("Try 'cnn-train --help' for more information.\n", f);
}

static void help(void)
{
	usage(stdout);
	fputs(
		"\n"
		"Trains a convolutional network on TRAIN (a TNZ dataset: x, y; standard input\n"
		"when absent or -) and writes the model to MODEL.\n"
		"\n"
		"  --arch SPEC|FILE     layers, ';'-separated, or a file holding them (formats/arch.md)\n"
		"  --loss L             mse, bce or cce (default: cce for class ids, bce for one\n"
		"                       output with ids 0/1 or a final sigmoid, mse for targets)\n"
		"  --optim O            sgd, momentum, nesterov, adam, adamw (default momentum)\n"
		"  --lr X               learning rate (default 0.01)\n"
		"  --momentum X         momentum of momentum and nesterov (default 0.9)\n"
		"  --weight-decay X     L2 decay; decoupled for adamw (default 0)\n"
		"  --schedule S         constant, step:N:G (lr times G every N epochs) or cosine\n"
		"                       (to 0 over the run) (default constant)\n"
		"  --warmup N           linear warm-up over N steps (default 0)\n"
		"  --clip X             clip the gradient norm to X (default 0: off)\n"
		"  --batch B            examples per step (default 64)\n"
		"  --epochs E           passes over the data (default 10)\n"
		"  --val FILE           validation data, evaluated after every epoch\n"
		"  --val-split F        hold out a stratified fraction F of TRAIN instead\n"
		"  --normalize N        none, auto (per-channel mean/std of TRAIN) or MEAN/STD,\n"
		"                       M,S or M1,M2,M3/S1,S2,S3 (default none)\n"
		"  --augment A          flip, crop=P or flip,crop=P: random flips and shifts\n"
		"  --log FILE           TSV log of the training (formats/log.md)\n"
		"  --log-every N        a log row every N steps (default: 20 rows per epoch)\n"
		"  --checkpoint FILE    checkpoint written after each epoch and on interrupt\n"
		"                       (default MODEL.ckpt)\n"
		"  --resume CKPT        continue a run from its checkpoint; needs no other option\n"
		"  --init MODEL         start from the weights of MODEL (same architecture; an\n"
		"                       embedding init= file is then not read)\n"
		"  --patience N         stop after N epochs without improvement (default 0: off)\n"
		"  --keep-best M        val_loss, val_acc or last: which model MODEL holds\n"
		"                       (default val_loss with validation data, else last)\n"
		"  --summary            print the layers, shapes and parameter counts and exit\n"
		"  --input-shape C,H,W  the example shape for --summary without data\n"
		"  --seed N             seed of every random choice (default 1)\n"
		"  --threads N          threads (default: every core); results depend on it\n"
		"  --progress, -q       force the progress bar / print nothing but errors\n"
		"  --stop-after-steps N testing aid: stop as on SIGINT after N steps\n"
		"  -o MODEL             the model file (required)\n"
		"  --help, --version\n"
		"\n"
		"Built with MPI (make MPI=1), 'mpirun -np P cnn-train ...' trains on P processes,\n"
		"data-parallel: --batch is the global batch, each rank takes its share of every\n"
		"batch (or its own file: %r in TRAIN or --val is the rank), rank 0 alone writes\n"
		"MODEL, the checkpoint and the log. See cnn-train(1), MPI.\n"
		"\n"
		"Example:\n"
		"  cnn-train --arch 'conv 32 3 pad=same relu; maxpool 2; conv 64 3 pad=same relu;\n"
		"    maxpool 2; dense 128 relu; dense 10' --lr 0.05 --epochs 5 --val test.tnz\n"
		"    --log log.tsv -o model.tnz train.tnz\n"
		"  cnn-train --arch 'embedding 64 init=vectors.tnz; conv1d 100 3,4,5 relu;\n"
		"    globalmaxpool; dropout 0.5; dense 1 sigmoid' --optim adam --lr 0.001\n"
		"    -o model.tnz train.tnz        (token data from tokenize, vectors from embed)\n",
		stdout);
}

/* ---- options ----------------------------------------------------------------- */

enum {
	OPT_HELP = 256, OPT_VERSION, OPT_SUMMARY, OPT_INPUT_SHAPE, OPT_RESUME, OPT_PROGRESS,
	OPT_STOP_AFTER, OPT_SETTING,
};

/* Long options that are settings of ck_train_config keep their name as key. */
static const struct option long_opts[] = {
	{"arch", required_argument, NULL, OPT_SETTING},
	{"loss", required_argument, NULL, OPT_SETTING},
	{"optim", required_argument, NULL, OPT_SETTING},
	{"lr", required_argument, NULL, OPT_SETTING},
	{"momentum", required_argument, NULL, OPT_SETTING},
	{"weight-decay", required_argument, NULL, OPT_SETTING},
	{"schedule", required_argument, NULL, OPT_SETTING},
	{"warmup", required_argument, NULL, OPT_SETTING},
	{"clip", required_argument, NULL, OPT_SETTING},
	{"batch", required_argument, NULL, OPT_SETTING},
	{"epochs", required_argument, NULL, OPT_SETTING},
	{"val", required_argument, NULL, OPT_SETTING},
	{"val-split", required_argument, NULL, OPT_SETTING},
	{"normalize", required_argument, NULL, OPT_SETTING},
	{"augment", required_argument, NULL, OPT_SETTING},
	{"log", required_argument, NULL, OPT_SETTING},
	{"log-every", required_argument, NULL, OPT_SETTING},
	{"checkpoint", required_argument, NULL, OPT_SETTING},
	{"init", required_argument, NULL, OPT_SETTING},
	{"patience", required_argument, NULL, OPT_SETTING},
	{"keep-best", required_argument, NULL, OPT_SETTING},
	{"seed", required_argument, NULL, OPT_SETTING},
	{"threads", required_argument, NULL, OPT_SETTING},
	{"resume", required_argument, NULL, OPT_RESUME},
	{"summary", no_argument, NULL, OPT_SUMMARY},
	{"input-shape", required_argument, NULL, OPT_INPUT_SHAPE},
	{"progress", no_argument, NULL, OPT_PROGRESS},
	{"quiet", no_argument, NULL, 'q'},
	{"stop-after-steps", required_argument, NULL, OPT_STOP_AFTER},
	{"output", required_argument, NULL, 'o'},
	{"help", no_argument, NULL, OPT_HELP},
	{"version", no_argument, NULL, OPT_VERSION},
	{NULL, 0, NULL, 0},
};

#define MAX_GIVEN 64

/* The settings given on the command line, in order (the last one wins). */
typedef struct given {
	const char *key[MAX_GIVEN];
	const char *value[MAX_GIVEN];
	int n;
} given;

static void give(given *g, const char *key, const char *value)
{
	if (g->n == MAX_GIVEN)
		usage_error("too many options");
	g->key[g->n] = key;
	g->value[g->n] = value;
	g->n++;
}

/* Reads a whole file (for --arch FILE). */
static char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		die("--arch %s: %s", path, strerror(errno));
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	for (size_t got; buf && (got = fread(buf + len, 1, cap - len - 1, f)) > 0;) {
		len += got;
		if (len + 1 == cap) {
			if (cap >= (1u << 24))
				die("--arch %s: larger than 16 MiB", path);
			char *nb = realloc(buf, cap *= 2);
			if (!nb)
				free(buf);
			buf = nb;
		}
	}
	if (!buf)
		die("out of memory");
	if (ferror(f))
		die("--arch %s: %s", path, strerror(errno));
	fclose(f);
	buf[len] = '\0';
	return buf;
}

static int64_t parse_count(const char *opt, const char *s, int64_t lo, int64_t hi)
{
	int64_t v;
	if (ck_parse_i64(s, lo, hi, &v) < 0)
		usage_error("%s: \"%s\" is not an integer from %lld to %lld", opt, s, (long long)lo,
		            (long long)hi);
	return v;
}

/* "1,28,28" -> shape, rank 1..3. */
static int parse_shape(const char *s, int64_t *shape)
{
	char buf[128];
	if (strlen(s) >= sizeof buf)
		usage_error("--input-shape: too long");
	strcpy(buf, s);
	int rank = 0;
	for (char *tok = buf, *next; tok; tok = next) {
		next = strchr(tok, ',');
		if (next)
			*next++ = '\0';
		if (rank == 3)
			usage_error("--input-shape %s: at most 3 dimensions (C,H,W)", s);
		shape[rank++] = parse_count("--input-shape", tok, 1, 1 << 24);
	}
	return rank;
}

/* The command line as one string, for created_by. */
static char *join_argv(int argc, char **argv)
{
	size_t len = 1;
	for (int i = 0; i < argc; i++)
		len += strlen(argv[i]) + 3;
	char *s = malloc(len), *p = s;
	if (!s)
		die("out of memory");
	for (int i = 0; i < argc; i++) {
		int quote = strpbrk(argv[i], " \t;'\"") != NULL || !*argv[i];
		p += sprintf(p, "%s%s%s%s", i ? " " : "", quote ? "'" : "", argv[i], quote ? "'" : "");
	}
	return s;
}

/* ---- progress ---------------------------------------------------------------- */

typedef struct view {
	int bar;      /* draw the progress bar */
	int quiet;
	int color;
	double last;  /* when the bar was last drawn */
	int drawn;    /* a bar is on the line */
} view;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void fmt_time(char *buf, size_t cap, double s)
{
	if (!isfinite(s) || s < 0)
		s = 0;
	long t = (long)(s + 0.5);
	if (t >= 3600)
		snprintf(buf, cap, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
	else
		snprintf(buf, cap, "%ld:%02ld", t / 60, t % 60);
}

static void on_step(const ck_train_progress *p, void *ctx)
{
	view *v = ctx;
	if (!v->bar)
		return;
	double t = now();
	if (p->batch < p->batches && t - v->last < 0.1)
		return;
	v->last = t;
	enum { WIDTH = 24 };
	double frac = (double)p->batch / (double)p->batches;
	int fill = (int)(frac * WIDTH);
	char bar[WIDTH + 1];
	for (int i = 0; i < WIDTH; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[WIDTH] = '\0';
	double rate = p->seconds > 0 ? (double)p->examples / p->seconds : 0;
	char eta[32];
	fmt_time(eta, sizeof eta, p->batch ? p->seconds * (1 - frac) / frac : 0);
	fprintf(stderr, "\r%sepoch %d/%d [%.*s%s%s] %3d%%  %6.0f img/s  loss %.4f  ETA %s\033[K",
	        v->color ? "\033[1m" : "", p->epoch, p->epochs, fill, bar,
	        v->color ? "\033[0m" : "", bar + fill, (int)(frac * 100), rate, p->loss, eta);
	fflush(stderr);
	v->drawn = 1;
}

static void field(char *buf, size_t cap, const char *name, double x)
{
	size_t n = strlen(buf);
	if (!isnan(x))
		snprintf(buf + n, cap - n, "  %s %.4f", name, x);
}

static void on_epoch(const ck_train_epoch *e, void *ctx)
{
	view *v = ctx;
	if (v->drawn) {
		fputs("\r\033[K", stderr);
		v->drawn = 0;
	}
	if (v->quiet)
		return;
	char line[256];
	snprintf(line, sizeof line, "epoch %d/%d", e->epoch, e->epochs);
	field(line, sizeof line, "loss", e->loss);
	field(line, sizeof line, "acc", e->acc);
	field(line, sizeof line, "val_loss", e->val_loss);
	field(line, sizeof line, "val_acc", e->val_acc);
	fprintf(stderr, "%s  %.1fs%s\n", line, e->seconds, e->improved && e->has_val ? "  *" : "");
}

static void on_start(const char *what, void *ctx)
{
	view *v = ctx;
	if (!v->quiet)
		fprintf(stderr, "%s: %s\n", prog, what);
}

/* n >= 0 with a comma between groups of three digits: "3,661". */
static char *grouped(char buf[32], int64_t n)
{
	char digits[24];
	int len = snprintf(digits, sizeof digits, "%lld", (long long)n);
	char *o = buf; /* at most 19 digits and 6 commas */
	for (int i = 0; i < len; i++) {
		if (i > 0 && (len - i) % 3 == 0)
			*o++ = ',';
		*o++ = digits[i];
	}
	*o = '\0';
	return buf;
}

static void on_embedding_init(const ck_embed_init_report *r, void *ctx)
{
	view *v = ctx;
	char found[32], words[32];
	if (!v->quiet)
		fprintf(stderr, "%s: embedding: %s of %s words found in %s\n", prog,
		        grouped(found, r->found), grouped(words, r->words), r->path);
}

static volatile sig_atomic_t interrupt_flag;

static void on_sigint(int sig)
{
	interrupt_flag = 1;
	signal(sig, SIG_DFL); /* a second ^C ends the program at once */
}

/* ---- main -------------------------------------------------------------------- */

/* A failure of the run on one rank of several: the others may be waiting
 * for it in a collective, so the whole job ends at once. */
static void die_run(const char *msg) __attribute__((noreturn));
static void die_run(const char *msg)
{
	if (ck_dist_size() > 1) {
		fprintf(stderr, "%s: rank %d: %s\n", prog, ck_dist_rank(), msg);
		ck_dist_abort(1);
	}
	die("%s", msg);
}

int main(int argc, char **argv)
{
	cli_init(prog, usage);
	if (ck_dist_init(&argc, &argv) < 0)
		die("cannot join the MPI job");
	given g = {0};
	const char *resume = NULL;
	int summary = 0, progress = 0, quiet = 0, input_rank = 0;
	int64_t input_shape[3] = {0}, stop_after = 0;
	ck_err err;

	int c, idx;
	while ((c = getopt_long(argc, argv, "o:q", long_opts, &idx)) != -1) {
		switch (c) {
		case OPT_SETTING:
			give(&g, long_opts[idx].name, optarg);
			break;
		case 'o':
			give(&g, "output", optarg);
			break;
		case 'q':
			quiet = 1;
			break;
		case OPT_PROGRESS:
			progress = 1;
			break;
		case OPT_RESUME:
			resume = optarg;
			break;
		case OPT_SUMMARY:
			summary = 1;
			break;
		case OPT_INPUT_SHAPE:
			input_rank = parse_shape(optarg, input_shape);
			break;
		case OPT_STOP_AFTER:
			stop_after = parse_count("--stop-after-steps", optarg, 1, INT64_MAX);
			break;
		case OPT_HELP:
			help();
			ck_dist_finalize();
			return cli_close_stdout(0);
		case OPT_VERSION:
			printf("cnn-train (cnnkit) %s", ck_version());
			if (strcmp(ck_dist_backend(), "none") != 0)
				printf(", %s", ck_dist_backend());
			putchar('\n');
			ck_dist_finalize();
			return cli_close_stdout(0);
		default:
			usage(stderr);
			return 2;
		}
	}
	if (argc - optind > 1)
		usage_error("one training file at most (got %d)", argc - optind);
	if (optind < argc)
		give(&g, "train", argv[optind]);

	/* --arch FILE: the spec is the file's text. */
	char *arch_text = NULL;
	for (int i = 0; i < g.n; i++)
		if (strcmp(g.key[i], "arch") == 0) {
			struct stat sb;
			if (stat(g.value[i], &sb) == 0 && S_ISREG(sb.st_mode)) {
				free(arch_text);
				arch_text = read_file(g.value[i]);
				g.value[i] = arch_text;
			}
		}

	ck_train_config cfg, given_cfg;
	ck_train_config_init(&given_cfg);
	for (int i = 0; i < g.n; i++)
		if (ck_train_set(&given_cfg, g.key[i], g.value[i], &err) < 0)
			usage_error("--%s: %s", g.key[i], err.msg);

	if (resume) {
		if (summary)
			usage_error("--summary and --resume exclude each other");
		if (ck_train_load_config(&cfg, resume, &err) < 0)
			die("%s", err.msg);
		if (ck_train_check_resume(&cfg, &given_cfg, g.key, g.n, &err) < 0)
			die("%s", err.msg);
		/* What may change: file names and the number of epochs. */
		for (int i = 0; i < g.n; i++)
			if (ck_train_set(&cfg, g.key[i], g.value[i], &err) < 0)
				die("--%s: %s", g.key[i], err.msg);
		ck_train_config_free(&given_cfg);
	} else {
		cfg = given_cfg;
		if (!cfg.arch)
			usage_error("--arch is required");
		if (!summary && !cfg.output)
			usage_error("-o MODEL is required");
		char *cmd = join_argv(argc, argv);
		if (ck_train_set(&cfg, "created_by", cmd, &err) < 0)
			die("%s", err.msg);
		free(cmd);
	}
	free(arch_text);
	if (!cfg.train && ck_train_set(&cfg, "train", "-", &err) < 0)
		die("%s", err.msg);

	if (summary) {
		if (!input_rank && strcmp(cfg.train, "-") == 0 && isatty(0))
			usage_error("--summary needs data (TRAIN) or --input-shape C,H,W");
		char *table;
		if (ck_train_summary(&cfg, input_shape, input_rank, &table, &err) < 0)
			die("%s", err.msg);
		fputs(table, stdout);
		free(table);
		ck_train_config_free(&cfg);
		ck_dist_finalize();
		return cli_close_stdout(0);
	}

	if (ck_dist_rank() > 0) /* rank 0 speaks for the job */
		quiet = 1, progress = 0;
	const char *nc = getenv("NO_COLOR");
	view v = {.quiet = quiet, .bar = !quiet && (progress || isatty(2)),
	          .color = !(nc && *nc) && isatty(2)};
	ck_train_callbacks cb = {.step = on_step, .epoch = on_epoch, .start = on_start, .ctx = &v,
	                         .embedding_init = on_embedding_init};
	cfg.stop_after_steps = stop_after;
	cfg.interrupt = &interrupt_flag;
	struct sigaction sa = {0};
	sa.sa_handler = on_sigint;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	if (ck_dist_size() > 1) {
		/* mpirun turns ^C into SIGTERM to every rank (SIGKILL a second later)
		 * and forwards SIGUSR1: both stop the job as ^C stops one process. */
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGUSR1, &sa, NULL);
	}

	ck_train_result res;
	int rc = ck_train_run(&cfg, &cb, &res, &err);
	if (v.drawn)
		fputs("\r\033[K", stderr);
	if (rc < 0)
		die_run(err.msg);

	int status = 0;
	switch (res.status) {
	case CK_TRAIN_DONE:
	case CK_TRAIN_EARLY_STOPPED:
		if (!quiet) {
			if (res.status == CK_TRAIN_EARLY_STOPPED)
				fprintf(stderr, "%s: stopped early after epoch %d: no improvement for %d "
				        "epochs\n", prog, res.epoch, cfg.patience);
			fprintf(stderr, "%s: wrote %s (epoch %d)\n", prog, cfg.output, res.best_epoch);
		}
		break;
	case CK_TRAIN_INTERRUPTED:
		if (ck_dist_rank() == 0)
			fprintf(stderr, "%s: interrupted at epoch %d, step %lld; checkpoint %s (continue "
			        "with cnn-train --resume %s)\n", prog, res.epoch + 1, (long long)res.step,
			        res.checkpoint, res.checkpoint);
		status = 130;
		break;
	case CK_TRAIN_DIVERGED:
		if (ck_dist_rank() == 0)
			fprintf(stderr, "%s: the loss is not finite at epoch %d, step %lld: stopped; %s%s\n",
			        prog, res.diverged_epoch, (long long)res.diverged_step,
			        res.checkpoint_written || res.epoch > 0 ? "the last good checkpoint is "
			                                                : "no checkpoint was written",
			        res.checkpoint_written || res.epoch > 0 ? res.checkpoint : "");
		status = 1;
		break;
	}
	ck_train_config_free(&cfg);
	ck_dist_finalize();
	return cli_close_stdout(status);
}
