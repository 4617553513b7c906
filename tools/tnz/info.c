/* info.c: tnz info, a description of TNZ streams (every chunk decoded and
 * checked, one chunk in memory at a time). */
#include "tnz.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define SHORT_VALUE 60 /* metadata shown in full */

/* "(60000, 1, 28, 28)", "(5,)": the library's shape format. */
static void shape_str(int rank, const int64_t *dims, char *buf, size_t cap)
{
	ck_tensor t = {.rank = rank};
	memcpy(t.dims, dims, sizeof t.dims);
	ck_tensor_shape_str(&t, buf, cap);
}

/* Lines of a metadata value: newlines, plus one for a last unterminated line. */
static size_t count_lines(const char *v, size_t len)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		n += v[i] == '\n';
	return n + (len && v[len - 1] != '\n');
}

/* A value shown in full by info: one short line of printable text. */
static int is_short(const char *v, size_t len)
{
	if (len > SHORT_VALUE)
		return 0;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
			return 0;
	return 1;
}

static void put_json_string(FILE *f, const char *s, size_t len)
{
	fputc('"', f);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

struct info {
	struct sums sums;
	ck_meta meta;
	int files;
};

/* Reads a whole stream, decoding (and so verifying) every chunk into one
 * buffer that is reused: memory stays at one chunk whatever the file size. */
static int info_read(const char *path, const struct opts *o, struct info *in, ck_err *err)
{
	ck_tnz_reader *r = ck_tnz_reader_open(path, o->threads, err);
	if (!r)
		return -1;
	void *buf = xmalloc(BUF_BYTES);
	ck_tnz_header h;
	int rc, status = -1;
	while ((rc = ck_tnz_reader_next(r, &h, err)) == 1) {
		struct tensor_sum *t = sums_piece(&in->sums, &h, err);
		if (!t)
			goto out;
		int64_t n;
		while ((n = ck_tnz_reader_read(r, buf, BUF_BYTES, err)) > 0)
			;
		if (n < 0)
			goto out;
		int64_t stored, raw;
		ck_tnz_reader_sizes(r, &stored, &raw);
		t->stored += stored;
		t->raw += raw;
		t->h.dims[0] += ck_tnz_reader_rows(r);
	}
	if (rc == 0 && ck_meta_merge(&in->meta, ck_tnz_reader_meta(r), err) == 0) {
		in->files = ck_tnz_reader_files(r);
		status = 0;
	}
out:
	free(buf);
	ck_tnz_reader_close(r);
	return status;
}

static const char *filter_name(int filters)
{
	return filters == 1 ? "none" : filters == 2 ? "shuffle" : "mixed";
}

static void info_text(const char *path, const struct info *in)
{
	const struct sums *s = &in->sums;
	/* Column widths from the content. */
	int wname = 6, wshape = 5, wrows = 4, wraw = 9, wstored = 12;
	char shape[256], num[32];
	for (size_t i = 0; i < s->n; i++) {
		const struct tensor_sum *t = &s->v[i];
		int w = (int)strlen(t->h.name);
		wname = w > wname ? w : wname;
		shape_str(t->h.rank, t->h.dims, shape, sizeof shape);
		w = (int)strlen(shape);
		wshape = w > wshape ? w : wshape;
		w = snprintf(num, sizeof num, "%" PRId64, t->h.dims[0]);
		wrows = w > wrows ? w : wrows;
		w = snprintf(num, sizeof num, "%" PRId64, t->raw);
		wraw = w > wraw ? w : wraw;
	}
	printf("%s: %zu tensor%s, %zu metadata key%s, %d file%s\n", in_name(path), s->n,
	       s->n == 1 ? "" : "s", in->meta.count, in->meta.count == 1 ? "" : "s", in->files,
	       in->files == 1 ? "" : "s");
	if (s->n) {
		printf("%-*s  dtype  %-*s  %*s  %*s  %*s  ratio  filter\n", wname, "tensor", wshape,
		       "shape", wrows, "rows", wraw, "raw bytes", wstored, "stored bytes");
		for (size_t i = 0; i < s->n; i++) {
			const struct tensor_sum *t = &s->v[i];
			put_text(stdout, t->h.name, strlen(t->h.name), wname);
			shape_str(t->h.rank, t->h.dims, shape, sizeof shape);
			if (t->h.rank)
				snprintf(num, sizeof num, "%" PRId64, t->h.dims[0]);
			else
				snprintf(num, sizeof num, "-");
			printf("  %-5s  %-*s  %*s  %*" PRId64 "  %*" PRId64, ck_dtype_name(t->h.dtype),
			       wshape, shape, wrows, num, wraw, t->raw, wstored, t->stored);
			if (t->stored)
				printf("  %5.2f", (double)t->raw / (double)t->stored);
			else
				printf("  %5s", "-");
			printf("  %s\n", filter_name(t->filters));
		}
	}
	if (in->meta.count) {
		int wkey = 8;
		for (size_t i = 0; i < in->meta.count; i++) {
			int w = (int)strlen(in->meta.items[i].key);
			wkey = w > wkey ? w : wkey;
		}
		printf("%-*s  %10s  value\n", wkey, "metadata", "bytes");
		for (size_t i = 0; i < in->meta.count; i++) {
			const ck_meta_entry *e = &in->meta.items[i];
			put_text(stdout, e->key, strlen(e->key), wkey);
			printf("  %10zu  ", e->len);
			if (is_short(e->value, e->len))
				put_text(stdout, e->value, e->len, 0);
			else
				printf("(%zu line%s, %zu bytes)", count_lines(e->value, e->len),
				       count_lines(e->value, e->len) == 1 ? "" : "s", e->len);
			putchar('\n');
		}
	}
}

/* One JSON object on one line per input. */
static void info_json(const char *path, const struct info *in)
{
	const struct sums *s = &in->sums;
	printf("{\"file\":");
	put_json_string(stdout, path, strlen(path));
	printf(",\"files\":%d,\"tensors\":[", in->files);
	for (size_t i = 0; i < s->n; i++) {
		const struct tensor_sum *t = &s->v[i];
		printf("%s{\"name\":", i ? "," : "");
		put_json_string(stdout, t->h.name, strlen(t->h.name));
		printf(",\"dtype\":\"%s\",\"shape\":[", ck_dtype_name(t->h.dtype));
		for (int d = 0; d < t->h.rank; d++)
			printf("%s%" PRId64, d ? "," : "", t->h.dims[d]);
		printf("],\"rows\":%" PRId64 ",\"raw_bytes\":%" PRId64 ",\"stored_bytes\":%" PRId64,
		       t->h.rank ? t->h.dims[0] : 1, t->raw, t->stored);
		if (t->stored)
			printf(",\"ratio\":%.4f", (double)t->raw / (double)t->stored);
		else
			printf(",\"ratio\":null");
		printf(",\"filter\":\"%s\",\"pieces\":%d}", filter_name(t->filters), t->pieces);
	}
	printf("],\"metadata\":[");
	for (size_t i = 0; i < in->meta.count; i++) {
		const ck_meta_entry *e = &in->meta.items[i];
		printf("%s{\"key\":", i ? "," : "");
		put_json_string(stdout, e->key, strlen(e->key));
		printf(",\"bytes\":%zu,\"lines\":%zu", e->len, count_lines(e->value, e->len));
		if (e->len <= SHORT_VALUE) {
			printf(",\"value\":");
			put_json_string(stdout, e->value, e->len);
		}
		putchar('}');
	}
	printf("]}\n");
}

int cmd_info(const struct opts *o, int argc, char **argv)
{
	static char *stdin_only[] = {"-"};
	if (argc == 0) {
		argc = 1;
		argv = stdin_only;
	}
	int status = 0;
	for (int i = 0; i < argc; i++) {
		struct info in = {0};
		ck_err err = {{0}};
		if (info_read(argv[i], o, &in, &err) < 0) {
			status = fail(in_name(argv[i]), &err);
		} else if (o->json) {
			info_json(argv[i], &in);
		} else {
			if (i)
				putchar('\n');
			info_text(argv[i], &in);
		}
		free(in.sums.v);
		ck_meta_free(&in.meta);
	}
	return status;
}
