/* tnz: inspect and convert TNZ tensor files (formats/tnz.md, man/tnz.1).
 *
 * One function per subcommand (cmd_info in info.c, cmd_cat in copy.c, ...),
 * and here a table of them and one option parser shared by all: each
 * subcommand names the options it takes. info, cat, head and meta stream through ck_tnz_reader and
 * ck_tnz_writer and hold one chunk at a time; split and shuffle load the
 * whole file. Every output goes through ck_tnz_writer (temporary file, then
 * rename), and every error path after it is opened calls
 * ck_tnz_writer_abort, so a failed run leaves no file behind. */
#include "tnz.h"

#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- options ----------------------------------------------------------- */

enum optid {
	OP_OUT, OP_LEVEL, OP_SHUFFLE, OP_THREADS, OP_SEED, OP_QUIET, OP_JSON, OP_ROWS,
	OP_RATIO, OP_COUNT, OP_STRATIFY, OP_SET, OP_DELETE, OP_INPLACE, OP_NAME,
	OP_TENSOR, OP_FORMAT, OP_LABEL, OP_HEADER, OP_COLS, OP_GAP, OP_RANGE, OP_INDEX,
	OP_HELP, OP_VERSION,
};

static const struct optdef {
	enum optid id;
	char shrt; /* 0: long only */
	const char *lng;
	int arg;
} optdefs[] = {
	{OP_OUT, 'o', "output", 1},     {OP_LEVEL, 'l', "level", 1},
	{OP_SHUFFLE, 0, "shuffle", 1},  {OP_THREADS, 0, "threads", 1},
	{OP_SEED, 0, "seed", 1},        {OP_QUIET, 'q', "quiet", 0},
	{OP_JSON, 0, "json", 0},        {OP_ROWS, 'n', "rows", 1},
	{OP_RATIO, 0, "ratio", 1},      {OP_COUNT, 0, "count", 1},
	{OP_STRATIFY, 0, "stratify", 1}, {OP_SET, 's', "set", 1},
	{OP_DELETE, 'd', "delete", 1},  {OP_INPLACE, 'i', "in-place", 0},
	{OP_NAME, 0, "name", 1},        {OP_TENSOR, 't', "tensor", 1},
	{OP_FORMAT, 'f', "format", 1},  {OP_LABEL, 0, "label", 1},
	{OP_HEADER, 0, "header", 1},    {OP_COLS, 0, "cols", 1},
	{OP_GAP, 0, "gap", 1},          {OP_RANGE, 0, "range", 1},
	{OP_INDEX, 0, "index", 1},
	{OP_HELP, 'h', "help", 0},      {OP_VERSION, 0, "version", 0},
};
#define NOPTS (sizeof optdefs / sizeof optdefs[0])

#define B(id) (1u << (id))
#define COMMON (B(OP_THREADS) | B(OP_QUIET) | B(OP_HELP) | B(OP_VERSION))
#define WRITES (B(OP_OUT) | B(OP_LEVEL) | B(OP_SHUFFLE))

struct command {
	const char *name;
	int (*run)(const struct opts *o, int argc, char **argv); /* operands */
	unsigned opts;                                           /* B(...) it takes */
	const char *synopsis; /* after "tnz "; lines joined by "\n" */
	const char *help;     /* description and options */
};

static const struct command *cmd_now; /* for usage messages */

static void print_synopsis(FILE *f, const struct command *c)
{
	const char *s = c->synopsis;
	const char *lead = "usage: ";
	while (*s) {
		size_t n = strcspn(s, "\n");
		fprintf(f, "%stnz %.*s\n", lead, (int)n, s);
		lead = "       ";
		s += n + (s[n] == '\n');
	}
}

/* The short usage after a usage error: the command's synopsis, or tnz's. */
static void short_usage(FILE *f)
{
	if (cmd_now) {
		print_synopsis(f, cmd_now);
		fprintf(f, "Try 'tnz %s --help' for more information.\n", cmd_now->name);
	} else {
		fputs("usage: tnz COMMAND [OPTION...] [ARG...]\n"
		      "Try 'tnz --help' for more information.\n",
		      f);
	}
}

/* Range-checked numbers: a whole string, no sign surprises, within bounds. */
static int64_t parse_int(const char *opt, const char *s, int64_t lo, int64_t hi)
{
	int64_t v;
	if (ck_parse_i64(s, lo, hi, &v) < 0)
		usage_error("%s: '%s' is not an integer from %" PRId64 " to %" PRId64, opt, s, lo, hi);
	return v;
}

static double parse_real(const char *opt, const char *s, double lo, double hi)
{
	double v;
	if (ck_parse_f64(s, lo, hi, &v) < 0)
		usage_error("%s: '%s' is not a number from %g to %g", opt, s, lo, hi);
	return v;
}

/* The index of arg in words (NULL-terminated), or a usage error. */
static int parse_word(const char *opt, const char *arg, const char *const *words)
{
	for (int i = 0; words[i]; i++)
		if (strcmp(arg, words[i]) == 0)
			return i;
	char list[128] = "";
	for (int i = 0; words[i]; i++)
		snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", words[i]);
	usage_error("%s: '%s' is not one of %s", opt, arg, list);
}

static void apply_opt(struct opts *o, const struct optdef *d, const char *arg)
{
	char opt[32];
	if (d->shrt)
		snprintf(opt, sizeof opt, "-%c", d->shrt);
	else
		snprintf(opt, sizeof opt, "--%s", d->lng);
	switch (d->id) {
	case OP_OUT:
		if (o->nout == 2)
			usage_error("too many -o options");
		o->out[o->nout++] = arg;
		break;
	case OP_LEVEL: o->level = (int)parse_int(opt, arg, 0, 9); break;
	case OP_SHUFFLE: /* 0 off, 1 on, 2 -> -1 auto */
		o->shuffle = parse_word(opt, arg, (const char *const[]){"off", "on", "auto", NULL});
		o->shuffle = o->shuffle == 2 ? -1 : o->shuffle;
		break;
	case OP_THREADS: o->threads = (int)parse_int(opt, arg, 1, 1024); break;
	case OP_SEED: o->seed = (uint64_t)parse_int(opt, arg, 0, INT64_MAX); break;
	case OP_QUIET: o->quiet = 1; break;
	case OP_JSON: o->json = 1; break;
	case OP_ROWS: o->rows = parse_int(opt, arg, 0, INT64_MAX); break;
	case OP_RATIO: o->ratio = parse_real(opt, arg, 0, 1); break;
	case OP_COUNT: o->count = parse_int(opt, arg, 0, INT64_MAX); break;
	case OP_STRATIFY: o->stratify = arg; break;
	case OP_NAME: o->name = arg; break;
	case OP_INPLACE: o->in_place = 1; break;
	case OP_FORMAT: /* the words in ck_io_format order, after CK_IO_UNKNOWN */
		o->format = (ck_io_format)(CK_IO_NPY + parse_word(opt, arg,
		        (const char *const[]){"npy", "npz", "idx", "csv", "tsv", NULL}));
		break;
	case OP_LABEL: o->label = arg; break;
	case OP_HEADER: /* 0 no, 1 yes, 2 -> -1 auto */
		o->header = parse_word(opt, arg, (const char *const[]){"no", "yes", "auto", NULL});
		o->header = o->header == 2 ? -1 : o->header;
		break;
	case OP_TENSOR:
		o->tensors = xrealloc(o->tensors, (size_t)(o->ntensors + 1) * sizeof *o->tensors);
		o->tensors[o->ntensors++] = arg;
		break;
	case OP_SET:
	case OP_DELETE: {
		struct edit e = {d->id == OP_DELETE, NULL, NULL};
		size_t klen = strlen(arg);
		if (!e.del) {
			const char *eq = strchr(arg, '=');
			if (!eq)
				usage_error("-s: '%s' is not KEY=VALUE", arg);
			klen = (size_t)(eq - arg);
			e.value = eq + 1;
		}
		if (klen == 0 || klen > CK_TNZ_MAX_NAME)
			usage_error("%s: a key has 1 to %d bytes", opt, CK_TNZ_MAX_NAME);
		e.key = xmalloc(klen + 1);
		memcpy(e.key, arg, klen);
		e.key[klen] = '\0';
		o->edits = xrealloc(o->edits, (size_t)(o->nedits + 1) * sizeof *o->edits);
		o->edits[o->nedits++] = e;
		break;
	}
	case OP_COLS: o->cols = (int)parse_int(opt, arg, 1, CK_IMAGE_MAX_SIDE); break;
	case OP_GAP: o->gap = (int)parse_int(opt, arg, 0, 1000); break;
	case OP_INDEX: o->index = parse_int(opt, arg, 0, INT64_MAX); break;
	case OP_RANGE: {
		const char *colon = strchr(arg, ':');
		if (!colon || colon == arg)
			usage_error("--range: '%s' is not LO:HI", arg);
		char lo[64];
		snprintf(lo, sizeof lo, "%.*s", (int)(colon - arg), arg);
		o->lo = (float)parse_real(opt, lo, -3e38, 3e38);
		o->hi = (float)parse_real(opt, colon + 1, -3e38, 3e38);
		if (!(o->lo < o->hi))
			usage_error("--range: LO must be below HI in '%s'", arg);
		break;
	}
	case OP_HELP:
	case OP_VERSION: break; /* handled by the caller */
	}
}

static void print_version(void)
{
	printf("tnz (cnnkit) %s, TNZ format 1.0\n", ck_version());
}

static void print_help(const struct command *c)
{
	print_synopsis(stdout, c);
	fputs(c->help, stdout);
}

/* getopt_long over the options c takes; returns the index of the first
 * operand (getopt moves operands after the options). */
static int parse_opts(const struct command *c, int argc, char **argv, struct opts *o)
{
	struct option longs[NOPTS + 1];
	char shorts[2 * NOPTS + 2], *sp = shorts;
	size_t nl = 0;
	*sp++ = ':'; /* report a missing argument as ':' */
	for (size_t i = 0; i < NOPTS; i++) {
		const struct optdef *d = &optdefs[i];
		if (!(c->opts & B(d->id)))
			continue;
		int val = d->shrt ? d->shrt : 256 + (int)d->id;
		longs[nl++] = (struct option){d->lng, d->arg ? required_argument : no_argument, NULL, val};
		if (d->shrt) {
			*sp++ = d->shrt;
			if (d->arg)
				*sp++ = ':';
		}
	}
	longs[nl] = (struct option){0, 0, 0, 0};
	*sp = '\0';

	opterr = 0;
	int ch;
	while ((ch = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
		if (ch == '?' || ch == ':') {
			char bad[64];
			if (optopt > 0 && optopt < 256)
				snprintf(bad, sizeof bad, "-%c", optopt);
			else
				snprintf(bad, sizeof bad, "%s", argv[optind - 1]);
			if (ch == ':')
				usage_error("%s needs a value", bad);
			usage_error("%s is not an option of 'tnz %s'", bad, c->name);
		}
		const struct optdef *d = NULL;
		for (size_t i = 0; i < NOPTS && !d; i++)
			if ((c->opts & B(optdefs[i].id)) &&
			    (optdefs[i].shrt ? optdefs[i].shrt : 256 + (int)optdefs[i].id) == ch)
				d = &optdefs[i];
		if (d->id == OP_HELP) {
			print_help(c);
			return -1;
		}
		if (d->id == OP_VERSION) {
			print_version();
			return -1;
		}
		apply_opt(o, d, optarg);
	}
	return optind;
}

/* ---- the command table -------------------------------------------------- */

#define COMMON_HELP                                                              \
	"  --threads N          threads for compression (default: every core)\n"        \
	"  -q, --quiet          no warnings\n"                       \
	"  -h, --help           this help; --version: the version\n"
#define WRITE_HELP                                                               \
	"  -o, --output OUT     output file (default: standard output, never a terminal)\n" \
	"  -l, --level L        zlib level 0-9, 0 stores (default 1)\n"                       \
	"  --shuffle on|off|auto\n"                       \
	"                       byte-shuffle filter; auto: on for float dtypes\n"

static const struct command commands[] = {
	{"info", cmd_info, COMMON | B(OP_JSON), "info [--json] [FILE...]",
	 "Describe TNZ streams: per tensor name its dtype, shape, rows, raw and\n"
	 "stored bytes, compression ratio and filter; per metadata key its length\n"
	 "and, when it is one short line, its value. Pieces of a tensor that appear\n"
	 "several times (concatenated files) are summed. Reads standard input when\n"
	 "no FILE is given or FILE is -. Every chunk is decoded and checked.\n\n"
	 "  --json               one JSON object per FILE, on one line\n" COMMON_HELP
	 "\nExample: cat a.tnz b.tnz | tnz info\n"},
	{"cat", cmd_cat, COMMON | WRITES, "cat [-l L] [--shuffle on|off|auto] [-o OUT] [FILE...]",
	 "Concatenate TNZ streams into one file, streaming: tensors of the same name\n"
	 "append along their first dimension (they must agree in dtype and in the\n"
	 "other dimensions). Metadata is merged, the later value winning, with a\n"
	 "warning when \"classes\" differ. Recompresses with -l and --shuffle; each\n"
	 "tensor keeps its filter unless --shuffle is given.\n\n" WRITE_HELP COMMON_HELP
	 "\nExample: tnz cat -l 6 shard-*.tnz -o all.tnz\n"},
	{"head", cmd_head, COMMON | WRITES | B(OP_ROWS),
	 "head [-n ROWS] [-l L] [--shuffle on|off|auto] [-o OUT] [FILE...]",
	 "Keep the first ROWS rows of every tensor of rank 1 or more (all of them\n"
	 "when it has fewer); rank-0 tensors and metadata are copied whole. Streaming.\n\n"
	 "  -n, --rows ROWS      rows to keep (default 10)\n" WRITE_HELP COMMON_HELP
	 "\nExample: tnz head -n 100 train.tnz -o small.tnz\n"},
	{"split", cmd_split,
	 COMMON | WRITES | B(OP_SEED) | B(OP_RATIO) | B(OP_COUNT) | B(OP_STRATIFY),
	 "split (--ratio F | --count N) [--seed S] [--stratify NAME] -o FIRST -o SECOND [FILE]",
	 "Split the rows at random into two files. Every tensor of rank 1 or more\n"
	 "is a row tensor (all must have the same number of rows) and row i of each\n"
	 "goes to the same output; rank-0 tensors and metadata go to both. Rows keep\n"
	 "their input order. Loads the whole file into memory.\n\n"
	 "  --ratio F            fraction of the rows for FIRST, 0 to 1 (rounded)\n"
	 "  --count N            number of rows for FIRST\n"
	 "  --seed S             random seed (default 0): the same seed, the same split\n"
	 "  --stratify NAME      split each class of the rank-1 integer tensor NAME in the\n"
	 "                       same proportion (rows left over by rounding go to the\n"
	 "                       classes with the largest remainders)\n" WRITE_HELP COMMON_HELP
	 "\nExample: tnz split --ratio 0.9 --stratify y train.tnz -o tr.tnz -o val.tnz\n"},
	{"shuffle", cmd_shuffle, COMMON | WRITES | B(OP_SEED),
	 "shuffle [--seed S] [-l L] [--shuffle on|off|auto] [-o OUT] [FILE]",
	 "Permute the rows at random, the same permutation for every tensor of rank\n"
	 "1 or more (all must have the same number of rows). Loads the whole file.\n\n"
	 "  --seed S             random seed (default 0): the same seed, the same order\n" WRITE_HELP
	 COMMON_HELP "\nExample: tnz shuffle --seed 7 train.tnz -o shuffled.tnz\n"},
	{"meta", cmd_meta, COMMON | WRITES | B(OP_SET) | B(OP_DELETE) | B(OP_INPLACE),
	 "meta FILE [KEY]\n"
	 "meta (-s KEY=VALUE | -s KEY=@VFILE | -d KEY)... (-o OUT | -i) FILE",
	 "Without -s or -d: list the metadata keys of FILE, one a line, or print the\n"
	 "value of KEY followed by a newline (exit 1 if there is no such key).\n"
	 "With them: write a copy of FILE with the metadata changed, streaming; the\n"
	 "tensors are recompressed (-l) and keep their filters.\n\n"
	 "  -s, --set KEY=VALUE  set KEY; KEY=@VFILE takes the contents of VFILE\n"
	 "                       without one final newline (- is standard input)\n"
	 "  -d, --delete KEY     remove KEY\n"
	 "  -i, --in-place       replace FILE (atomically) instead of -o\n" WRITE_HELP COMMON_HELP
	 "\nExample: tnz meta -s classes=@classes.txt -i train.tnz\n"},
	{"import", cmd_import,
	 COMMON | WRITES | B(OP_NAME) | B(OP_FORMAT) | B(OP_LABEL) | B(OP_HEADER),
	 "import [-f FORMAT] [--name NAME] [--label COL] [--header yes|no|auto] [-o OUT] FILE...",
	 "Convert NumPy, IDX and CSV/TSV files into one TNZ file. The format comes\n"
	 "from the first bytes (NumPy and IDX magic numbers, gzip looked into), else\n"
	 "from the name (.csv, .txt, .tsv, .tab), else from -f:\n"
	 "  .npy      one tensor named after the file (data/w.npy -> w) or --name\n"
	 "  .npz      one tensor per member, named after the member\n"
	 "  IDX       (.gz too) two files: an images (N,H,W) u8 and a labels (N) file\n"
	 "            become x (N,1,H,W) u8 and y (N) i32; otherwise one tensor per\n"
	 "            file named as for .npy, without .gz (labels.idx.gz -> labels)\n"
	 "            or --name\n"
	 "  CSV, TSV  x (N,columns) f32, the header in metadata \"columns\"; --label\n"
	 "            moves a column to y (N) i32 (names become ids, in metadata\n"
	 "            \"classes\")\n"
	 "Tensors of the same name from several files append; metadata is merged and\n"
	 "created_by set to the command line. Standard input (-) needs -f unless it\n"
	 "starts with a magic number; a tensor from it is called x.\n\n"
	 "  -f, --format F       npy, npz, idx, csv or tsv, instead of detecting it\n"
	 "  --name NAME          the tensor name for a single .npy or IDX FILE\n"
	 "  --label COL          CSV/TSV label column: a number from 1 or a header name\n"
	 "  --header yes|no|auto\n"
	 "                       CSV/TSV first row is a header (auto: when a cell of it\n"
	 "                       is not a number; default)\n" WRITE_HELP COMMON_HELP
	 "\nExample: tnz import train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz -o train.tnz\n"},
	{"export", cmd_export, COMMON | B(OP_OUT) | B(OP_LEVEL) | B(OP_TENSOR) | B(OP_FORMAT),
	 "export [-t NAME]... [-f FORMAT] [-l L] [-o OUT] [FILE]",
	 "Convert tensors of a TNZ file to NumPy or text; the format comes from the\n"
	 "name of OUT (.npy, .npz, .csv or .txt, .tsv or .tab) or from -f. .npy, .csv\n"
	 "and .tsv take one tensor: the only one, or the one named by -t. .npz takes\n"
	 "every tensor, or those named by -t (metadata has no place in it). Text has\n"
	 "one line per row; rank 3 or more is flattened after the first dimension;\n"
	 "floats print with enough digits to read back exactly. bf16 is written to\n"
	 ".npy as f4. Loads the whole file.\n\n"
	 "  -t, --tensor NAME    a tensor to export (repeat for .npz)\n"
	 "  -f, --format F       npy, npz, csv or tsv, instead of OUT's name\n"
	 "  -l, --level L        .npz: 0 stores the members (default), 1-9 deflates\n"
	 "  -o, --output OUT     output file (default: standard output; not .npz)\n" COMMON_HELP
	 "\nExample: tnz export -t x -o x.npy train.tnz\n"},
	{"png", cmd_png,
	 COMMON | B(OP_OUT) | B(OP_TENSOR) | B(OP_ROWS) | B(OP_COLS) | B(OP_GAP) | B(OP_RANGE) |
	         B(OP_INDEX),
	 "png [-t NAME] [-n N] [--cols C] [--gap G] [--range LO:HI] [--index I] -o OUT FILE",
	 "Draw a tensor of images (N, C, H, W), u8 or f32, C 1 (gray) or 3 (RGB), as\n"
	 "a PNG: a contact sheet of the first N images, row by row, separated by\n"
	 "gray (128) lines, or the single image I. f32 values map LO..HI to 0..255,\n"
	 "clamped; without --range, 0..1 when every value shown lies in it, else the\n"
	 "min..max of the values shown. u8 values are written as they are. Loads the\n"
	 "whole file.\n\n"
	 "  -t, --tensor NAME    the tensor (default: the only one, else x)\n"
	 "  -n, --rows N         images in the sheet (default 64, or all if fewer)\n"
	 "  --cols C             columns of the sheet (default: about square)\n"
	 "  --gap G              pixels between images, 0-1000 (default 1)\n"
	 "  --range LO:HI        f32 values shown as 0 and 255\n"
	 "  --index I            only image I (from 0), at its size\n"
	 "  -o, --output OUT     the PNG file (- for standard output, never a terminal)\n"
	 COMMON_HELP
	 "\nExample: tnz png -n 100 --cols 10 --gap 2 -o sheet.png train.tnz\n"},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void main_help(FILE *f)
{
	fputs("usage: tnz COMMAND [OPTION...] [ARG...]\n"
	      "Inspect and convert TNZ tensor files (tnz(5)).\n\n",
	      f);
	for (size_t i = 0; i < NCOMMANDS; i++) {
		const char *s = commands[i].synopsis;
		while (*s) {
			size_t n = strcspn(s, "\n");
			fprintf(f, "  tnz %.*s\n", (int)n, s);
			s += n + (s[n] == '\n');
		}
	}
	fputs("\nEvery command takes --threads N, -q, --help and --version; see\n"
	      "'tnz COMMAND --help' and tnz(1). Exit status: 0 success, 1 failure,\n"
	      "2 usage error.\n",
	      f);
}

int main(int argc, char **argv)
{
	/* A closed pipe is a write error with a message and exit 1, not a signal. */
	signal(SIGPIPE, SIG_IGN);
	cli_init("tnz", short_usage);
	if (argc < 2)
		usage_error("no command");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		main_help(stdout);
		return cli_close_stdout(0);
	}
	if (strcmp(argv[1], "--version") == 0) {
		print_version();
		return cli_close_stdout(0);
	}
	for (size_t i = 0; i < NCOMMANDS; i++) {
		if (strcmp(argv[1], commands[i].name) != 0)
			continue;
		cmd_now = &commands[i];
		struct opts o = {.level = -1, .shuffle = KEEP_FILTER, .ratio = -1, .count = -1,
		                 .rows = -1, .header = -1, .index = -1, .gap = 1,
		                 .cmdline = cli_command_line(argc, argv)};
		int first = parse_opts(cmd_now, argc - 1, argv + 1, &o);
		int status = 0;
		if (first >= 0)
			status = cmd_now->run(&o, argc - 1 - first, argv + 1 + first);
		for (int k = 0; k < o.nedits; k++)
			free(o.edits[k].key);
		free(o.edits);
		free(o.tensors);
		free(o.cmdline);
		return cli_close_stdout(status);
	}
	usage_error("'%s' is not a command", argv[1]);
}
