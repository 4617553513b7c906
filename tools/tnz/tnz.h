/* tnz.h: what the files of the tnz program share (tools/tnz/): the parsed
 * options, the helpers in common.c and the commands, one file each or by
 * kinship (main.c holds the option parser and the command table). */
#ifndef CNNKIT_TOOLS_TNZ_H
#define CNNKIT_TOOLS_TNZ_H

#include <stdint.h>
#include <stdio.h>

#include "cli/cli.h"
#include "cnnkit.h"

#define BUF_BYTES ((size_t)CK_TNZ_DEFAULT_CHUNK) /* data read at a time */
#define KEEP_FILTER (-2)                          /* --shuffle not given */

/* A metadata change of tnz meta, in command-line order. */
struct edit {
	int del;           /* -d KEY; else -s KEY=VALUE */
	char *key;         /* owned copy */
	const char *value; /* the text after '=' ("@path" reads a file) */
};

/* The options of one command line, as the command table allows them. */
struct opts {
	const char *out[2];
	int nout;
	int level;   /* -1: the writer's default */
	int shuffle; /* KEEP_FILTER, -1 auto, 0 off, 1 on */
	int threads; /* 0: every core */
	uint64_t seed;
	int json, in_place;
	int64_t rows;  /* head, png -n; -1 when not given */
	double ratio;  /* split: < 0 when not given */
	int64_t count; /* split: < 0 when not given */
	const char *stratify, *name;
	ck_io_format format; /* import/export -f; CK_IO_UNKNOWN: by name */
	const char *label;   /* import --label */
	int header;          /* import --header: -1 auto, 0 no, 1 yes */
	const char **tensors; /* export -t, in order */
	int ntensors;
	int cols, gap;     /* png --cols (0: about square), --gap */
	float lo, hi;      /* png --range; lo == hi when not given */
	int64_t index;     /* png --index; -1 when not given */
	struct edit *edits;
	int nedits;
	int quiet;         /* -q: no warnings */
	char *cmdline;     /* the command line as typed (getopt_long reorders argv) */
};

/* ---- common.c ---------------------------------------------------------- */

/* Reports a library error about what (a path) and returns exit status 1. */
int fail(const char *what, const ck_err *err);
/* Names a path in messages: "-" is standard input, or standard output. */
const char *in_name(const char *path);
const char *out_name(const char *path);
/* malloc and realloc that end the program when out of memory. */
void *xmalloc(size_t n);
void *xrealloc(void *p, size_t n);

/* A writer for path with -l and --shuffle applied (shuffle_default when
 * --shuffle is not given). */
ck_tnz_writer *open_writer(const struct opts *o, const char *path, int shuffle_default,
                           ck_err *err);
/* Bytes of one row of a header's tensor (of the element for rank 0), or -1
 * when it does not fit in 63 bits. */
int64_t header_row_bytes(const ck_tnz_header *h);
/* Writes s with control bytes as '?', padded with blanks to width. */
void put_text(FILE *f, const char *s, size_t len, int width);

/* What has been seen of each tensor name in a stream, in order of first
 * appearance: the appended shape and sizes. */
struct tensor_sum {
	ck_tnz_header h;      /* of the first piece; dims[0] = rows so far */
	int64_t raw, stored;  /* bytes */
	int pieces, filters;  /* filters: bit f set for each filter seen */
};

struct sums {
	struct tensor_sum *v;
	size_t n, cap;
};

/* Whether a tensor (dtype, rank, dims) can append to an earlier one of the
 * same name (formats/tnz.md section 5); fills err if not. */
int can_append(const char *name, int dtype0, int rank0, const int64_t *dims0, int dtype,
               int rank, const int64_t *dims, ck_err *err);
/* The entry for h's name, added if new; NULL if h cannot append to it. */
struct tensor_sum *sums_piece(struct sums *s, const ck_tnz_header *h, ck_err *err);

/* ---- copy.c ------------------------------------------------------------ */

/* Copies tensors from readers to one writer, piece by piece. Metadata
 * records go out before the tensor that followed them in the input, so a
 * streaming reader of the output sees them as early as in the input; a key
 * is written again only when its value changes (the last one wins). */
struct copier {
	const struct opts *o;
	ck_tnz_writer *w;
	const char *out;    /* for messages */
	ck_meta written;    /* metadata as the output stands */
	const ck_meta *set; /* meta -s: written first, input values ignored */
	const ck_meta *del; /* meta -d: input values dropped */
	int64_t max_rows;   /* head: rows kept per tensor name; -1 all */
	struct sums sums;   /* rows written per name */
	void *buf;
};

/* Copies the inputs (standard input when none) into c->out; 0, or 1 after
 * printing the error. */
int copy_all(struct copier *c, int argc, char **argv);
/* The one -o of a command ("-" when none). */
const char *one_output(const struct opts *o);

/* ---- the commands: operands in argc, argv; exit status returned -------- */

int cmd_info(const struct opts *o, int argc, char **argv);
int cmd_cat(const struct opts *o, int argc, char **argv);
int cmd_head(const struct opts *o, int argc, char **argv);
int cmd_meta(const struct opts *o, int argc, char **argv);
int cmd_split(const struct opts *o, int argc, char **argv);
int cmd_shuffle(const struct opts *o, int argc, char **argv);
int cmd_import(const struct opts *o, int argc, char **argv);
int cmd_export(const struct opts *o, int argc, char **argv);
int cmd_png(const struct opts *o, int argc, char **argv);

#endif
