/* img2tensor: image files and folders to a TNZ dataset, x (N,C,H,W) and y (N).
 *
 *     img2tensor --size 64x64 --labels dir -o train.tnz photos/train
 *     find shots -name '*.jpg' -print0 | img2tensor -0 --size 32x32 --gray -o new.tnz
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cnnkit.h"

#define PROG "img2tensor"
#define EXIT_SKIPPED 3 /* the output was written, but some files were left out */

static const char usage_text[] =
	"usage: img2tensor [--size WxH] [--fit | --crop center] [--gray | --rgb]\n"
	"                  [--background COLOR] [--filter auto|box|bilinear] [--fast]\n"
	"                  [--labels dir|FILE.tsv] [--classes-from FILE.tnz]\n"
	"                  [--f32] [--normalize MEAN,STD] [--skip-bad] [-0] [--level L]\n"
	"                  [--threads N] [--progress | -q] [-o OUT] [FILE|DIR...]\n";

static void usage(FILE *f)
{
	fputs(usage_text, f);
	if (f == stderr) {
		fputs("Try 'img2tensor --help' for more information.\n", f);
		return;
	}
	fputs("\n"
	      "Decodes PNG, JPEG and PNM images into a TNZ dataset: x (N,C,H,W) u8 or f32 and,\n"
	      "with labels, y (N) i32 and the class names as metadata \"classes\". Images are\n"
	      "the FILEs named, every image file under each DIR (recursively, sorted; by\n"
	      "extension: png jpg jpeg jpe jfif pbm pgm ppm pnm), or, with no operand or\n"
	      "\"-\", the paths listed one a line on standard input.\n"
	      "\n"
	      "  --size WxH          resize to W by H pixels (integers 1 to 65535; W alone\n"
	      "                      means WxW); default: keep the size, which must then be\n"
	      "                      the same for every image\n"
	      "  --fit               keep the aspect ratio, pad with the background colour\n"
	      "  --crop center       keep the aspect ratio, cut the centre\n"
	      "                      (default without either: stretch to WxH)\n"
	      "  --gray, --rgb       1 channel (ITU-R 601-2 luma) or 3 (default --rgb)\n"
	      "  --background COLOR  under transparent pixels and in --fit bars: white,\n"
	      "                      black, gray, #RRGGBB, R,G,B or one value (default white)\n"
	      "  --filter F          auto (area average when shrinking, bilinear when\n"
	      "                      growing; default), box or bilinear, as Pillow's\n"
	      "  --fast              decode JPEGs DCT-scaled to 1/2, 1/4 or 1/8 of their size\n"
	      "                      while still twice the target size: 2-3x faster, a few\n"
	      "                      levels from an exact resize (default: full size)\n"
	      "  --labels dir        class = name of the image's parent directory\n"
	      "  --labels FILE.tsv   class from \"path<TAB>class\" lines (paths relative to\n"
	      "                      the TSV's directory); classes are sorted by name\n"
	      "  --classes-from F    use the class list of a dataset or model F (with --labels)\n"
	      "  --f32               x as f32 in 0..1 instead of u8 0..255\n"
	      "  --normalize M,S     with f32: (x - M) / S; M,S for every channel or\n"
	      "                      M1,M2,M3,S1,S2,S3 per channel (implies --f32)\n"
	      "  --skip-bad          leave out files that cannot be read, report them and\n"
	      "                      exit with status 3 (default: fail, write nothing)\n"
	      "  -0, --null          paths on standard input end with NUL, not newline\n"
	      "  --level L           zlib level of the output, 0 to 9 (default 1)\n"
	      "  --threads N         decoding threads (default 0 = every core)\n"
	      "  --progress, -q      force or silence the progress line (default: shown when\n"
	      "                      standard error is a terminal)\n"
	      "  -o, --output FILE   write FILE instead of standard output\n"
	      "      --help          print this help and exit\n"
	      "      --version       print the version and exit\n"
	      "\n"
	      "Exit status: 0 success, 1 failure, 2 usage error, 3 written with files skipped.\n"
	      "\n"
	      "Example (folders photos/train/cat, photos/train/dog, ...):\n"
	      "  img2tensor --size 64x64 --labels dir -o train.tnz photos/train\n"
	      "  img2tensor --size 64x64 --labels dir --classes-from train.tnz -o test.tnz photos/test\n",
	      f);
}

/* "WxH" or "W" (square). */
static void parse_size(const char *text, int *w, int *h)
{
	char buf[64];
	const char *x = strchr(text, 'x');
	if (!x || (size_t)(x - text) >= sizeof buf) {
		*w = *h = (int)cli_int("--size", text, 1, CK_IMAGE_MAX_SIDE);
		return;
	}
	memcpy(buf, text, (size_t)(x - text));
	buf[x - text] = '\0';
	*w = (int)cli_int("--size", buf, 1, CK_IMAGE_MAX_SIDE);
	*h = (int)cli_int("--size", x + 1, 1, CK_IMAGE_MAX_SIDE);
}

/* Comma-separated numbers into v (at most max); returns the count. */
static int parse_floats(const char *opt, const char *text, float *v, int max)
{
	int n = 0;
	const char *p = text;
	for (;;) {
		char *end;
		errno = 0;
		double d = strtod(p, &end);
		if (end == p || errno == ERANGE || !isfinite(d) || n == max ||
		    (*end != ',' && *end != '\0'))
			usage_error("%s \"%s\": expected up to %d numbers separated by commas", opt,
			            text, max);
		v[n++] = (float)d;
		if (*end == '\0')
			return n;
		p = end + 1;
	}
}

static void parse_color(const char *text, uint8_t rgb[3])
{
	static const struct {
		const char *name;
		uint8_t v;
	} names[] = {{"white", 255}, {"black", 0}, {"gray", 128}, {"grey", 128}};
	for (size_t i = 0; i < sizeof names / sizeof *names; i++)
		if (strcasecmp(text, names[i].name) == 0) {
			rgb[0] = rgb[1] = rgb[2] = names[i].v;
			return;
		}
	if (text[0] == '#') {
		char *end;
		unsigned long v = strtoul(text + 1, &end, 16);
		if (strlen(text) != 7 || *end)
			usage_error("--background \"%s\": expected #RRGGBB", text);
		rgb[0] = (uint8_t)(v >> 16);
		rgb[1] = (uint8_t)(v >> 8);
		rgb[2] = (uint8_t)v;
		return;
	}
	float v[3];
	int n = parse_floats("--background", text, v, 3);
	if (n == 2)
		usage_error("--background \"%s\": expected one value or R,G,B", text);
	for (int k = 0; k < 3; k++) {
		float c = v[n == 1 ? 0 : k];
		if (c < 0 || c > 255 || c != floorf(c))
			usage_error("--background \"%s\": values are integers from 0 to 255", text);
		rgb[k] = (uint8_t)c;
	}
}

/* Appends the paths listed on standard input (sep: '\n' or '\0'). */
static void read_list(ck_image_list *l, int sep)
{
	if (isatty(STDIN_FILENO))
		usage_error("no input files (and standard input is a terminal)");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	ck_err err;
	while ((n = getdelim(&line, &cap, sep, stdin)) > 0) {
		if (line[n - 1] == sep)
			line[--n] = '\0';
		if (sep == '\n' && n > 0 && line[n - 1] == '\r')
			line[--n] = '\0';
		if (n == 0)
			continue;
		if (ck_image_list_add(l, line, &err) < 0)
			die("%s", err.msg);
	}
	if (ferror(stdin))
		die("standard input: %s", strerror(errno));
	free(line);
}

static void load_classes(ck_image_classes *c, const char *path, int threads)
{
	ck_err err;
	ck_tnz_reader *r = ck_tnz_reader_open(path, threads, &err);
	if (!r)
		die("%s: %s", path, err.msg);
	ck_tnz_header h;
	int rc;
	while ((rc = ck_tnz_reader_next(r, &h, &err)) == 1)
		;
	if (rc < 0)
		die("%s: %s", path, err.msg);
	size_t len;
	const char *text = ck_meta_get(ck_tnz_reader_meta(r), "classes", &len);
	if (!text)
		die("%s: no \"classes\" metadata", path);
	if (ck_image_classes_parse(c, text, len, &err) < 0)
		die("%s: %s", path, err.msg);
	if (c->count == 0)
		die("%s: empty \"classes\" metadata", path);
	ck_tnz_reader_close(r);
}

typedef struct run_state {
	int progress;
	size_t skipped;
} run_state;

static void on_skip(void *ctx, const char *path, const char *msg)
{
	run_state *s = ctx;
	if (s->progress)
		fputs("\r\033[K", stderr);
	fprintf(stderr, PROG ": %s: %s (skipped)\n", path, msg);
}

static void on_progress(void *ctx, size_t done, size_t total)
{
	run_state *s = ctx;
	if (s->progress)
		fprintf(stderr, "\r" PROG ": %zu/%zu images", done, total);
}

enum {
	OPT_SIZE = 256, OPT_FIT, OPT_CROP, OPT_GRAY, OPT_RGB, OPT_BACKGROUND, OPT_FILTER,
	OPT_FAST, OPT_LABELS, OPT_CLASSES_FROM, OPT_F32, OPT_NORMALIZE, OPT_SKIP_BAD,
	OPT_LEVEL, OPT_THREADS, OPT_PROGRESS, OPT_HELP, OPT_VERSION,
};

int main(int argc, char **argv)
{
	cli_init(PROG, usage);
	static const struct option longopts[] = {
		{"size", required_argument, NULL, OPT_SIZE},
		{"fit", no_argument, NULL, OPT_FIT},
		{"crop", required_argument, NULL, OPT_CROP},
		{"gray", no_argument, NULL, OPT_GRAY},
		{"grey", no_argument, NULL, OPT_GRAY},
		{"rgb", no_argument, NULL, OPT_RGB},
		{"background", required_argument, NULL, OPT_BACKGROUND},
		{"filter", required_argument, NULL, OPT_FILTER},
		{"fast", no_argument, NULL, OPT_FAST},
		{"labels", required_argument, NULL, OPT_LABELS},
		{"classes-from", required_argument, NULL, OPT_CLASSES_FROM},
		{"f32", no_argument, NULL, OPT_F32},
		{"normalize", required_argument, NULL, OPT_NORMALIZE},
		{"skip-bad", no_argument, NULL, OPT_SKIP_BAD},
		{"null", no_argument, NULL, '0'},
		{"level", required_argument, NULL, OPT_LEVEL},
		{"threads", required_argument, NULL, OPT_THREADS},
		{"progress", no_argument, NULL, OPT_PROGRESS},
		{"quiet", no_argument, NULL, 'q'},
		{"output", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, OPT_HELP},
		{"version", no_argument, NULL, OPT_VERSION},
		{NULL, 0, NULL, 0},
	};
	ck_image_dataset_opts o = {.prep = CK_IMAGE_PREP_DEFAULT};
	for (int k = 0; k < 3; k++)
		o.std[k] = 1.0f;
	const char *out_path = "-", *labels = NULL, *classes_from = NULL;
	int sep = '\n', level = 1, progress = isatty(STDERR_FILENO), fit_set = 0;
	float norm[6];
	int norm_n = 0;
	int c;
	while ((c = getopt_long(argc, argv, "0qo:", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_SIZE:
			parse_size(optarg, &o.prep.width, &o.prep.height);
			break;
		case OPT_FIT:
		case OPT_CROP:
			if (c == OPT_CROP && strcmp(optarg, "center") && strcmp(optarg, "centre"))
				usage_error("--crop \"%s\": only \"center\" is known", optarg);
			if (fit_set)
				usage_error("--fit and --crop exclude each other");
			fit_set = 1;
			o.prep.fit = c == OPT_FIT ? CK_IMAGE_LETTERBOX : CK_IMAGE_CROP;
			break;
		case OPT_GRAY:
			o.prep.channels = 1;
			break;
		case OPT_RGB:
			o.prep.channels = 3;
			break;
		case OPT_BACKGROUND:
			parse_color(optarg, o.prep.background);
			break;
		case OPT_FILTER:
			if (!strcmp(optarg, "auto"))
				o.prep.filter = CK_IMAGE_AUTO;
			else if (!strcmp(optarg, "box"))
				o.prep.filter = CK_IMAGE_BOX;
			else if (!strcmp(optarg, "bilinear"))
				o.prep.filter = CK_IMAGE_BILINEAR;
			else
				usage_error("--filter \"%s\": expected auto, box or bilinear", optarg);
			break;
		case OPT_FAST:
			o.prep.jpeg_scale = 1;
			break;
		case OPT_LABELS:
			labels = optarg;
			break;
		case OPT_CLASSES_FROM:
			classes_from = optarg;
			break;
		case OPT_F32:
			o.f32 = 1;
			break;
		case OPT_NORMALIZE:
			norm_n = parse_floats("--normalize", optarg, norm, 6);
			if (norm_n != 2 && norm_n != 6)
				usage_error("--normalize \"%s\": expected MEAN,STD or three means and "
				            "three deviations", optarg);
			o.f32 = 1;
			break;
		case OPT_SKIP_BAD:
			o.skip_bad = 1;
			break;
		case '0':
			sep = '\0';
			break;
		case OPT_LEVEL:
			level = (int)cli_int("--level", optarg, 0, 9);
			break;
		case OPT_THREADS:
			o.threads = (int)cli_int("--threads", optarg, 0, 1024);
			break;
		case OPT_PROGRESS:
			progress = 1;
			break;
		case 'q':
			progress = 0;
			break;
		case 'o':
			out_path = optarg;
			break;
		case OPT_HELP:
			usage(stdout);
			return cli_close_stdout(0);
		case OPT_VERSION:
			printf("img2tensor (cnnkit) %s\n", ck_version());
			return cli_close_stdout(0);
		default:
			usage(stderr);
			return 2;
		}
	}
	if (fit_set && o.prep.width == 0)
		usage_error("--fit and --crop need --size");
	if (classes_from && !labels)
		usage_error("--classes-from needs --labels");
	if (norm_n == 6 && o.prep.channels != 3)
		usage_error("--normalize: three means and deviations need --rgb");
	for (int k = 0; k < 3 && norm_n; k++) {
		o.mean[k] = norm[norm_n == 2 ? 0 : k];
		o.std[k] = norm[norm_n == 2 ? 1 : 3 + k];
		if (!(o.std[k] > 0))
			usage_error("--normalize: deviations must be positive");
	}

	ck_err err;
	ck_image_list list = {0};
	if (optind == argc)
		read_list(&list, sep);
	for (int i = optind; i < argc; i++) {
		if (strcmp(argv[i], "-") == 0)
			read_list(&list, sep);
		else if (ck_image_list_add(&list, argv[i], &err) < 0)
			die("%s", err.msg);
	}
	if (list.count == 0)
		die("no image files found");

	ck_image_classes classes = {0};
	if (classes_from)
		load_classes(&classes, classes_from, o.threads);
	if (labels) {
		int rc = strcmp(labels, "dir") == 0
		             ? ck_image_label_by_dir(&list, &classes, classes_from != NULL, &err)
		             : ck_image_label_by_tsv(&list, &classes, classes_from != NULL, labels, &err);
		if (rc < 0)
			die("%s", err.msg);
	}

	ck_tnz_opts topts = CK_TNZ_OPTS_DEFAULT;
	topts.level = level;
	topts.threads = o.threads;
	ck_tnz_writer *w = ck_tnz_writer_open(out_path, &topts, &err);
	if (!w)
		die("%s: %s", out_path, err.msg);
	char *cmd = cli_command_line(argc, argv);
	size_t clen = 0;
	char *ctext = labels ? ck_image_classes_join(&classes, &clen) : NULL;
	if (labels && !ctext)
		die("out of memory");
	if (ck_tnz_writer_meta(w, "created_by", cmd, (size_t)-1, &err) < 0 ||
	    (ctext && ck_tnz_writer_meta(w, "classes", ctext, clen, &err) < 0)) {
		ck_tnz_writer_abort(w);
		die("%s: %s", out_path, err.msg);
	}
	free(cmd);
	free(ctext);

	run_state state = {progress, 0};
	o.on_skip = on_skip;
	o.on_progress = on_progress;
	o.ctx = &state;
	size_t written, skipped;
	int rc = ck_image_dataset_write(w, &list, &o, &written, &skipped, &err);
	if (progress)
		fputs("\r\033[K", stderr);
	if (rc < 0) {
		ck_tnz_writer_abort(w);
		die("%s", err.msg);
	}
	if (ck_tnz_writer_close(w, &err) < 0)
		die("%s: %s", out_path, err.msg);
	if (skipped)
		fprintf(stderr, PROG ": %zu of %zu files skipped, %zu written\n", skipped,
		        list.count, written);
	ck_image_list_free(&list);
	ck_image_classes_free(&classes);
	int status = cli_close_stdout(0);
	return status ? status : skipped ? EXIT_SKIPPED : 0;
}
