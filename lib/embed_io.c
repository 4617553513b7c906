/* embed_io.c: word2vec text and binary, GloVe and fastText .vec files.
 *
 * Import parses a buffer in memory (the file mapped, or standard input read
 * whole) and treats it as hostile: V and D from a header are checked against
 * the bytes that could hold them before anything is allocated, and every
 * record is checked for its word, its count of numbers and their values. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cnnkit.h"

int ck_embed_format_parse(const char *name, ck_embed_format *out)
{
	static const struct { const char *name; ck_embed_format f; } names[] = {
		{"auto", CK_EMBED_AUTO},       {"text", CK_EMBED_TEXT},     {"word2vec", CK_EMBED_TEXT},
		{"vec", CK_EMBED_TEXT},        {"fasttext", CK_EMBED_TEXT}, {"binary", CK_EMBED_BINARY},
		{"bin", CK_EMBED_BINARY},      {"glove", CK_EMBED_GLOVE},
	};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcmp(name, names[i].name) == 0) {
			*out = names[i].f;
			return 0;
		}
	return -1;
}

const char *ck_embed_format_name(ck_embed_format f)
{
	switch (f) {
	case CK_EMBED_AUTO: return "auto";
	case CK_EMBED_TEXT: return "text";
	case CK_EMBED_BINARY: return "binary";
	case CK_EMBED_GLOVE: return "glove";
	}
	return "?";
}

/* ---- scanning ------------------------------------------------------------ */

typedef struct scan {
	const char *p, *end;
	int64_t line; /* 1-based line of p */
} scan;

static int is_blank(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\v' || ch == '\f';
}

/* The next field of the current line: skips blanks, stops at a blank or a
 * newline. Returns its length (0 at the end of the line). */
static size_t next_field(scan *s, const char **field)
{
	while (s->p < s->end && is_blank(*s->p))
		s->p++;
	*field = s->p;
	while (s->p < s->end && !is_blank(*s->p) && *s->p != '\n')
		s->p++;
	return (size_t)(s->p - *field);
}

/* Past the newline ending the current line (or at the end of the data). */
static void next_line(scan *s)
{
	const char *nl = memchr(s->p, '\n', (size_t)(s->end - s->p));
	s->p = nl ? nl + 1 : s->end;
	s->line++;
}

static int parse_i64(const char *f, size_t len, int64_t *out)
{
	if (len == 0 || len > 18)
		return -1;
	int64_t v = 0;
	for (size_t i = 0; i < len; i++) {
		if (f[i] < '0' || f[i] > '9')
			return -1;
		v = v * 10 + (f[i] - '0');
	}
	*out = v;
	return 0;
}

static int parse_f32(const char *f, size_t len, float *out)
{
	char buf[64];
	if (len == 0 || len >= sizeof buf)
		return -1;
	memcpy(buf, f, len);
	buf[len] = 0;
	char *end;
	errno = 0;
	float v = strtof(buf, &end);
	if (end != buf + len || !isfinite(v))
		return -1;
	*out = v;
	return 0;
}

/* A header line: exactly two integers. */
static int read_header(scan *s, int64_t *V, int64_t *D)
{
	scan t = *s;
	const char *f;
	size_t n;
	n = next_field(&t, &f);
	if (parse_i64(f, n, V) < 0)
		return -1;
	n = next_field(&t, &f);
	if (parse_i64(f, n, D) < 0)
		return -1;
	if (next_field(&t, &f) != 0)
		return -1;
	next_line(&t);
	*s = t;
	return 0;
}

/* Counts the fields of the line at s without moving it. */
static int64_t count_fields(const scan *s)
{
	scan t = *s;
	const char *f;
	int64_t n = 0;
	while (next_field(&t, &f))
		n++;
	return n;
}

ck_embed_format ck_embed_detect_mem(const void *buf, size_t len)
{
	scan s = {buf, (const char *)buf + len, 1};
	int64_t V, D;
	if (read_header(&s, &V, &D) < 0)
		return CK_EMBED_GLOVE;
	/* Text if the first record is a word and D numbers on one line. */
	const char *f;
	if (!next_field(&s, &f) || D < 1 || D > CK_EMBED_MAX_DIM)
		return CK_EMBED_TEXT; /* no record to look at: either reads the same */
	float x;
	for (int64_t i = 0; i < D; i++) {
		size_t n = next_field(&s, &f);
		if (parse_f32(f, n, &x) < 0)
			return CK_EMBED_BINARY;
	}
	return next_field(&s, &f) == 0 ? CK_EMBED_TEXT : CK_EMBED_BINARY;
}

/* ---- records, collected ---------------------------------------------------- */

/* Words met so far (offsets into the input) with a hash index for the
 * duplicates, and the vectors of the rows kept. Rows 0 and 1 are the
 * reserved words. */
typedef struct records {
	const char *base;
	int64_t *off;   /* (rows) word offsets into base; -1 for the reserved rows */
	int32_t *len;   /* (rows) */
	float *vectors; /* (cap, D) */
	int64_t rows, cap;
	int D;
	int64_t *slots;
	size_t nslots;
	ck_embed_import_stats *stats;
} records;

static uint64_t hash_word(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
	return h ^ (h >> 29);
}

static int records_init(records *r, const char *base, int64_t cap, int64_t D,
                        ck_embed_import_stats *stats, ck_err *err)
{
	memset(r, 0, sizeof *r);
	r->base = base;
	r->D = (int)D;
	r->stats = stats;
	r->cap = cap + CK_EMBED_RESERVED;
	r->nslots = 16;
	while (r->nslots < (size_t)r->cap * 2)
		r->nslots *= 2;
	r->off = malloc((size_t)r->cap * sizeof *r->off);
	r->len = malloc((size_t)r->cap * sizeof *r->len);
	r->vectors = calloc((size_t)r->cap * (size_t)D, sizeof *r->vectors);
	r->slots = malloc(r->nslots * sizeof *r->slots);
	if (!r->off || !r->len || !r->vectors || !r->slots)
		return ck_err_set(err, "out of memory for %" PRId64 " x %" PRId64 " vectors", cap, D);
	memset(r->slots, 0xff, r->nslots * sizeof *r->slots);
	r->rows = CK_EMBED_RESERVED;
	r->off[0] = r->off[1] = -1;
	return 0;
}

static void records_free(records *r)
{
	free(r->off);
	free(r->len);
	free(r->vectors);
	free(r->slots);
}

/* Where the vector of word w goes: a new row, a reserved row, or NULL for a
 * duplicate (counted). The caller has checked the word. */
static float *records_add(records *r, const char *w, size_t len)
{
	if (r->stats)
		r->stats->words++;
	if (len == 5 && memcmp(w, CK_EMBED_PAD, 5) == 0)
		return r->vectors;
	if (len == 5 && memcmp(w, CK_EMBED_UNK, 5) == 0)
		return r->vectors + r->D;
	size_t mask = r->nslots - 1, s;
	for (s = hash_word(w, len) & mask; r->slots[s] >= 0; s = (s + 1) & mask) {
		int64_t k = r->slots[s];
		if ((size_t)r->len[k] == len && memcmp(r->base + r->off[k], w, len) == 0) {
			if (r->stats && r->stats->duplicates++ == 0)
				snprintf(r->stats->first_duplicate, sizeof r->stats->first_duplicate, "%.*s",
				         (int)(len < 60 ? len : 60), w);
			return NULL;
		}
	}
	r->slots[s] = r->rows;
	r->off[r->rows] = w - r->base;
	r->len[r->rows] = (int32_t)len;
	return r->vectors + (size_t)r->rows++ * (size_t)r->D;
}

static int check_word(const char *w, size_t len, const char *what, int64_t where, ck_err *err)
{
	if (len > CK_EMBED_MAX_WORD)
		return ck_err_set(err, "%s %" PRId64 ": word longer than %d bytes", what, where,
		                  CK_EMBED_MAX_WORD);
	if (memchr(w, 0, len))
		return ck_err_set(err, "%s %" PRId64 ": word holds a NUL byte", what, where);
	return 0;
}

/* Moves the records into a table. */
static int records_finish(records *r, ck_embed *e, ck_err *err)
{
	size_t bytes = 0;
	for (int64_t i = CK_EMBED_RESERVED; i < r->rows; i++)
		bytes += (size_t)r->len[i] + 1;
	char **words = malloc((size_t)r->rows * sizeof *words);
	char *block = malloc(bytes + 1);
	if (!words || !block) {
		free(words);
		free(block);
		return ck_err_set(err, "out of memory");
	}
	words[0] = CK_EMBED_PAD;
	words[1] = CK_EMBED_UNK;
	char *p = block;
	for (int64_t i = CK_EMBED_RESERVED; i < r->rows; i++) {
		memcpy(p, r->base + r->off[i], (size_t)r->len[i]);
		p[r->len[i]] = 0;
		words[i] = p;
		p += r->len[i] + 1;
	}
	int rc = ck_embed_create(e, (const char *const *)words, r->rows, r->D, err);
	if (rc == 0)
		memcpy(e->vectors, r->vectors, (size_t)r->rows * (size_t)r->D * sizeof(float));
	free(words);
	free(block);
	return rc;
}

/* ---- readers ------------------------------------------------------------------ */

/* Text records from s to the end: "word x1 ... xD" a line, blank lines
 * skipped. expect >= 0: the header's count. */
static int read_text(scan *s, records *r, int64_t expect, ck_err *err)
{
	int64_t seen = 0;
	while (s->p < s->end) {
		const char *w, *f;
		size_t wlen = next_field(s, &w);
		if (wlen == 0) {
			next_line(s);
			continue;
		}
		if (check_word(w, wlen, "line", s->line, err) < 0)
			return -1;
		if (expect >= 0 && seen == expect)
			return ck_err_set(err, "line %" PRId64 ": more records than the %" PRId64
			                  " of the header", s->line, expect);
		if (r->rows == r->cap)
			return ck_err_set(err, "line %" PRId64 ": more records than the file can hold",
			                  s->line);
		seen++;
		float *dst = records_add(r, w, wlen), x;
		for (int i = 0; i < r->D; i++) {
			size_t n = next_field(s, &f);
			if (n == 0)
				return ck_err_set(err, "line %" PRId64 ": %d numbers after the word, expected %d",
				                  s->line, i, r->D);
			if (parse_f32(f, n, &x) < 0)
				return ck_err_set(err, "line %" PRId64 ": \"%.*s\" is not a finite number",
				                  s->line, (int)(n < 40 ? n : 40), f);
			if (dst)
				dst[i] = x;
		}
		if (next_field(s, &f) != 0)
			return ck_err_set(err, "line %" PRId64 ": more than %d numbers after the word",
			                  s->line, r->D);
		next_line(s);
	}
	if (expect >= 0 && seen != expect)
		return ck_err_set(err, "%" PRId64 " records, the header says %" PRId64
		                  " (truncated file?)", seen, expect);
	return 0;
}

static float load_f32_le(const unsigned char *b)
{
	uint32_t u = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	             (uint32_t)b[3] << 24;
	float f;
	memcpy(&f, &u, sizeof f);
	return f;
}

/* Binary records: optional whitespace, the word up to a space, D f32. */
static int read_binary(scan *s, records *r, int64_t V, ck_err *err)
{
	size_t row_bytes = (size_t)r->D * 4;
	for (int64_t k = 1; k <= V; k++) {
		while (s->p < s->end && (*s->p == '\n' || is_blank(*s->p)))
			s->p++;
		const char *w = s->p;
		while (s->p < s->end && *s->p != ' ' && *s->p != '\n' && s->p - w <= CK_EMBED_MAX_WORD)
			s->p++;
		size_t wlen = (size_t)(s->p - w);
		if (s->p == s->end)
			return ck_err_set(err, "record %" PRId64 " of %" PRId64 ": truncated", k, V);
		if (*s->p != ' ' || wlen == 0)
			return ck_err_set(err, "record %" PRId64 ": %s", k,
			                  wlen == 0 ? "empty word" : wlen > CK_EMBED_MAX_WORD
			                  ? "word too long" : "newline inside the word");
		if (check_word(w, wlen, "record", k, err) < 0)
			return -1;
		s->p++;
		if ((size_t)(s->end - s->p) < row_bytes)
			return ck_err_set(err, "record %" PRId64 " of %" PRId64 ": truncated", k, V);
		float *dst = records_add(r, w, wlen);
		const unsigned char *b = (const unsigned char *)s->p;
		for (int i = 0; i < r->D; i++) {
			float x = load_f32_le(b + 4 * (size_t)i);
			if (!isfinite(x))
				return ck_err_set(err, "record %" PRId64 " (\"%.*s\"): value %d is not finite", k,
				                  (int)(wlen < 40 ? wlen : 40), w, i + 1);
			if (dst)
				dst[i] = x;
		}
		s->p += row_bytes;
	}
	while (s->p < s->end && (*s->p == '\n' || is_blank(*s->p)))
		s->p++;
	if (s->p != s->end)
		return ck_err_set(err, "%zu bytes after the %" PRId64 " records of the header",
		                  (size_t)(s->end - s->p), V);
	return 0;
}

int ck_embed_import_mem(ck_embed *e, const void *buf, size_t len, ck_embed_format fmt,
                        ck_embed_import_stats *stats, ck_err *err)
{
	memset(e, 0, sizeof *e);
	if (stats)
		memset(stats, 0, sizeof *stats);
	if (fmt == CK_EMBED_AUTO)
		fmt = ck_embed_detect_mem(buf, len);
	scan s = {buf, (const char *)buf + len, 1};
	int64_t V = -1, D;
	if (fmt != CK_EMBED_GLOVE) {
		if (read_header(&s, &V, &D) < 0)
			return ck_err_set(err, "line 1: expected a header \"WORDS DIMENSION\"");
		if (D < 1 || D > CK_EMBED_MAX_DIM)
			return ck_err_set(err, "header: dimension %" PRId64 " (expected 1 to %d)", D,
			                  CK_EMBED_MAX_DIM);
		/* Each record takes at least a word and D numbers with separators
		 * (text) or a word, a space and 4D bytes (binary). */
		size_t rest = (size_t)(s.end - s.p);
		size_t least = fmt == CK_EMBED_BINARY ? 4 * (size_t)D + 2 : 2 * (size_t)D + 1;
		if (V > CK_EMBED_MAX_ROWS - CK_EMBED_RESERVED || (size_t)V > rest / least + 1)
			return ck_err_set(err, "header: %" PRId64 " words of dimension %" PRId64
			                  " cannot fit in %zu bytes", V, D, rest);
	} else {
		/* D from the first record; V at most the lines, and at most what
		 * the bytes can hold. */
		scan t = s;
		while (t.p < t.end && count_fields(&t) == 0)
			next_line(&t);
		D = count_fields(&t) - 1;
		if (D < 1)
			return ck_err_set(err, "no vectors (a word and its numbers a line)");
		if (D > CK_EMBED_MAX_DIM)
			return ck_err_set(err, "line %" PRId64 ": %" PRId64 " numbers (at most %d)", t.line,
			                  D, CK_EMBED_MAX_DIM);
		V = 1;
		for (const char *p = s.p; p < s.end; p++)
			V += *p == '\n';
		if ((size_t)V > len / (2 * (size_t)D + 1) + 1)
			V = (int64_t)(len / (2 * (size_t)D + 1)) + 1;
		if (V > CK_EMBED_MAX_ROWS - CK_EMBED_RESERVED)
			return ck_err_set(err, "more than %d lines", CK_EMBED_MAX_ROWS - CK_EMBED_RESERVED);
	}
	records r;
	int rc = records_init(&r, buf, V, D, stats, err);
	if (rc == 0) {
		if (fmt == CK_EMBED_BINARY)
			rc = read_binary(&s, &r, V, err);
		else
			rc = read_text(&s, &r, fmt == CK_EMBED_TEXT ? V : -1, err);
	}
	if (rc == 0 && fmt == CK_EMBED_GLOVE && r.rows == CK_EMBED_RESERVED)
		rc = ck_err_set(err, "no vectors");
	if (rc == 0)
		rc = records_finish(&r, e, err);
	records_free(&r);
	return rc;
}

/* Reads the whole of a descriptor that cannot be mapped (a pipe). */
static int read_all(int fd, char **buf, size_t *len, ck_err *err)
{
	size_t cap = 1 << 16, n = 0;
	char *b = malloc(cap);
	if (!b)
		return ck_err_set(err, "out of memory");
	for (;;) {
		if (n == cap) {
			char *nb = cap > SIZE_MAX / 2 ? NULL : realloc(b, cap * 2);
			if (!nb) {
				free(b);
				return ck_err_set(err, "out of memory");
			}
			b = nb;
			cap *= 2;
		}
		ssize_t got = read(fd, b + n, cap - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			int e = errno;
			free(b);
			return ck_err_set(err, "read error: %s", strerror(e));
		}
		if (got == 0)
			break;
		n += (size_t)got;
	}
	*buf = b;
	*len = n;
	return 0;
}

/* The file is read into memory, not mapped: a mapped file that another
 * process truncates kills the reader with SIGBUS, and a read gives what the
 * file held, whole or cut short, which the parser then judges. The cost is
 * one copy of the file in memory while it is parsed. */
int ck_embed_import(ck_embed *e, const char *path, ck_embed_format fmt,
                    ck_embed_import_stats *stats, ck_err *err)
{
	memset(e, 0, sizeof *e);
	int is_stdin = strcmp(path, "-") == 0;
	int fd = is_stdin ? 0 : open(path, O_RDONLY);
	if (fd < 0)
		return ck_err_set(err, "%s: %s", path, strerror(errno));
	char *buf = NULL;
	size_t len = 0;
	int rc = read_all(fd, &buf, &len, err);
	if (!is_stdin)
		close(fd);
	if (rc == 0)
		rc = ck_embed_import_mem(e, buf, len, fmt, stats, err);
	free(buf);
	return rc < 0 ? ck_err_prefix(err, "%s", path) : 0;
}

/* ---- export ------------------------------------------------------------------------ */

typedef struct outbuf {
	char *p;
	size_t len, cap;
	int failed;
} outbuf;

static char *out_room(outbuf *o, size_t n)
{
	if (o->failed)
		return NULL;
	if (o->cap - o->len < n) {
		size_t cap = o->cap ? o->cap : 1 << 16;
		while (cap - o->len < n)
			cap *= 2;
		char *p = realloc(o->p, cap);
		if (!p) {
			o->failed = 1;
			return NULL;
		}
		o->p = p;
		o->cap = cap;
	}
	return o->p + o->len;
}

static void out_bytes(outbuf *o, const void *b, size_t n)
{
	char *dst = out_room(o, n);
	if (dst) {
		memcpy(dst, b, n);
		o->len += n;
	}
}

static int row_is_zero(const float *v, int D)
{
	for (int i = 0; i < D; i++)
		if (v[i] != 0.0f)
			return 0;
	return 1;
}

static int row_written(const ck_embed *e, int64_t i)
{
	return i >= CK_EMBED_RESERVED || !row_is_zero(e->vectors + (size_t)i * (size_t)e->D, e->D);
}

int ck_embed_export_mem(const ck_embed *e, ck_embed_format fmt, char **buf, size_t *len,
                        ck_err *err)
{
	if (fmt != CK_EMBED_TEXT && fmt != CK_EMBED_BINARY && fmt != CK_EMBED_GLOVE)
		return ck_err_set(err, "export needs a format: text, binary or glove");
	int64_t rows = 0;
	for (int64_t i = 0; i < e->V; i++)
		rows += row_written(e, i);
	outbuf o = {0};
	char num[48];
	if (fmt != CK_EMBED_GLOVE) {
		int n = snprintf(num, sizeof num, "%" PRId64 " %d\n", rows, e->D);
		out_bytes(&o, num, (size_t)n);
	}
	for (int64_t i = 0; i < e->V && !o.failed; i++) {
		if (!row_written(e, i))
			continue;
		const float *v = e->vectors + (size_t)i * (size_t)e->D;
		out_bytes(&o, e->words[i], strlen(e->words[i]));
		if (fmt == CK_EMBED_BINARY) {
			out_bytes(&o, " ", 1);
			unsigned char *b = (unsigned char *)out_room(&o, 4 * (size_t)e->D + 1);
			if (!b)
				break;
			for (int k = 0; k < e->D; k++) {
				uint32_t u;
				memcpy(&u, &v[k], 4);
				b[4 * k] = (unsigned char)u;
				b[4 * k + 1] = (unsigned char)(u >> 8);
				b[4 * k + 2] = (unsigned char)(u >> 16);
				b[4 * k + 3] = (unsigned char)(u >> 24);
			}
			b[4 * (size_t)e->D] = '\n';
			o.len += 4 * (size_t)e->D + 1;
			continue;
		}
		for (int k = 0; k < e->D; k++) {
			char *dst = out_room(&o, 24);
			if (!dst)
				break;
			o.len += (size_t)snprintf(dst, 24, " %.9g", (double)v[k]);
		}
		out_bytes(&o, "\n", 1);
	}
	if (o.failed) {
		free(o.p);
		return ck_err_set(err, "out of memory");
	}
	*buf = o.p;
	*len = o.len;
	return 0;
}

int ck_embed_export(const ck_embed *e, const char *path, ck_embed_format fmt, ck_err *err)
{
	int to_stdout = strcmp(path, "-") == 0;
	if (to_stdout && fmt == CK_EMBED_BINARY && isatty(1))
		return ck_err_set(err, "refusing to write binary vectors to a terminal");
	char *buf;
	size_t len;
	if (ck_embed_export_mem(e, fmt, &buf, &len, err) < 0)
		return ck_err_prefix(err, "%s", path);
	int rc = ck_outfile_save(path, 0, buf, len, err);
	free(buf);
	return rc < 0 ? ck_err_prefix(err, "%s", to_stdout ? "standard output" : path) : 0;
}
