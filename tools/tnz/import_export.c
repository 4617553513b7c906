/* import_export.c: tnz import and tnz export, NumPy, IDX and CSV/TSV
 * (lib/cnnkit/io.h). */
#include "tnz.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A tensor's name from its file: no directories, no ".gz", no last
 * extension ("data/train.npy" -> "train"). */
static void file_stem(const char *path, char *buf, size_t cap)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	size_t n = strlen(base);
	if (n > 3 && strcmp(base + n - 3, ".gz") == 0)
		n -= 3;
	for (size_t i = n; i > 1; i--)
		if (base[i - 1] == '.') {
			n = i - 1;
			break;
		}
	snprintf(buf, cap, "%.*s", (int)n, base);
}

static int ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), t = strlen(tail);
	return n >= t && strcmp(s + n - t, tail) == 0;
}

/* Standard input into memory, for the io.h readers' _mem entry points;
 * NULL on a read error. */
static unsigned char *slurp_stdin(size_t *len)
{
	size_t cap = 1 << 16, n = 0, got;
	unsigned char *buf = xmalloc(cap);
	while ((got = fread(buf + n, 1, cap - n, stdin)) > 0)
		if ((n += got) == cap)
			buf = xrealloc(buf, cap *= 2);
	if (ferror(stdin)) {
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}

/* Appends the rows of t to the tensor of the same name in all (formats/tnz.md
 * section 5), or moves t into all when the name is new. t->data is taken. */
static int take_tensor(ck_tnz *all, ck_tensor *t, ck_err *err)
{
	ck_tensor *d = ck_tnz_find(all, t->name);
	if (!d) {
		d = ck_tnz_add(all, t->name, t->dtype, t->rank, t->dims, NULL, err);
		if (!d)
			return -1;
		free(d->data);
		d->data = t->data;
		d->nbytes = t->nbytes;
		t->data = NULL;
		return 0;
	}
	if (!can_append(t->name, d->dtype, d->rank, d->dims, t->dtype, t->rank, t->dims, err))
		return -1;
	d->data = xrealloc(d->data, d->nbytes + t->nbytes);
	memcpy((char *)d->data + d->nbytes, t->data, t->nbytes);
	d->nbytes += t->nbytes;
	d->dims[0] += t->dims[0];
	free(t->data);
	t->data = NULL;
	return 0;
}

/* Moves every tensor and metadata entry of one input into all; quiet: no
 * warning when "classes" changes. */
static int take_all(ck_tnz *all, ck_tnz *one, const char *path, int quiet, ck_err *err)
{
	for (size_t i = 0; i < one->meta.count; i++) {
		const ck_meta_entry *e = &one->meta.items[i];
		size_t len;
		const char *old = ck_meta_get(&all->meta, e->key, &len);
		if (old && strcmp(e->key, "classes") == 0 && (len != e->len || memcmp(old, e->value, len)) &&
		    !quiet)
			errmsg("%s: warning: \"classes\" differs from an earlier input; using this one",
			     in_name(path));
		if (ck_meta_set(&all->meta, e->key, e->value, e->len, err) < 0)
			return -1;
	}
	for (size_t i = 0; i < one->count; i++)
		if (take_tensor(all, &one->tensors[i], err) < 0)
			return -1;
	return 0;
}

/* Reads one input into one (a tensor, or several for .npz and CSV). IDX
 * files go to idx[] instead, to be paired at the end. Errors of io.h's path
 * functions already start with the path. */
static int import_one(const struct opts *o, const char *path, ck_tnz *one,
                      ck_tensor *idx, int *nidx, ck_err *err)
{
	int is_stdin = strcmp(path, "-") == 0;
	unsigned char *buf = NULL;
	size_t len = 0;
	ck_io_format f = o->format;
	if (is_stdin) {
		if (!(buf = slurp_stdin(&len)))
			return ck_err_set(err, "standard input: read error: %s", strerror(errno));
		if (f == CK_IO_UNKNOWN)
			f = ck_io_detect_mem(buf, len, NULL);
	} else if (f == CK_IO_UNKNOWN && ck_io_detect(path, &f, err) < 0) {
		return -1;
	}
	ck_tensor t = {0};
	ck_csv_opts copts = {o->label, o->header};
	int rc = -1;
	switch (f) {
	case CK_IO_NPY:
		rc = is_stdin ? ck_npy_read_mem(buf, len, &t, err) : ck_npy_read(path, &t, err);
		if (rc == 0) {
			char name[CK_TNZ_MAX_NAME + 1];
			if (o->name || is_stdin)
				snprintf(name, sizeof name, "%s", o->name ? o->name : "x");
			else
				file_stem(path, name, sizeof name);
			snprintf(t.name, sizeof t.name, "%s", name);
			rc = take_tensor(one, &t, err);
		}
		break;
	case CK_IO_NPZ:
		rc = is_stdin ? ck_npz_read_mem(buf, len, one, err) : ck_npz_read(path, one, err);
		break;
	case CK_IO_IDX:
		rc = is_stdin ? ck_idx_read_mem(buf, len, &t, err) : ck_idx_read(path, &t, err);
		if (rc == 0) {
			if (o->name || is_stdin)
				snprintf(t.name, sizeof t.name, "%s", o->name ? o->name : "x");
			else
				file_stem(path, t.name, sizeof t.name);
			idx[(*nidx)++] = t;
			t.data = NULL;
		}
		break;
	case CK_IO_CSV:
	case CK_IO_TSV: {
		char delim = f == CK_IO_TSV ? '\t' : ',';
		rc = is_stdin ? ck_csv_read_mem(buf, len, delim, &copts, one, err)
		              : ck_csv_read(path, delim, &copts, one, err);
		break;
	}
	default:
		rc = ck_err_set(err, "%s: not a .npy, .npz, IDX, CSV or TSV file (try -f)",
		                in_name(path));
	}
	if (rc < 0 && is_stdin && f != CK_IO_UNKNOWN)
		ck_err_prefix(err, "standard input");
	free(t.data);
	free(buf);
	return rc;
}

int cmd_import(const struct opts *o, int argc, char **argv)
{
	if (argc < 1)
		usage_error("no FILE to import");
	if (o->name && argc != 1)
		usage_error("--name takes a single FILE");
	int nstdin = 0;
	for (int i = 0; i < argc; i++)
		nstdin += strcmp(argv[i], "-") == 0;
	if (nstdin > 1)
		usage_error("standard input can be read once");
	const char *out = one_output(o);
	ck_tnz all = {0};
	ck_tensor *idx = xmalloc((size_t)argc * sizeof *idx);
	const char **idx_path = calloc((size_t)argc, sizeof *idx_path);
	int nidx = 0, status = 0;
	if (!idx_path)
		die("out of memory");
	ck_err err = {{0}};
	for (int i = 0; i < argc && !status; i++) {
		ck_tnz one = {0};
		if (import_one(o, argv[i], &one, idx, &nidx, &err) < 0) {
			errmsg("%s", err.msg);
			status = 1;
		} else if (take_all(&all, &one, argv[i], o->quiet, &err) < 0) {
			status = fail(in_name(argv[i]), &err);
		}
		if (nidx && !idx_path[nidx - 1])
			idx_path[nidx - 1] = argv[i];
		ck_tnz_free(&one);
	}
	if (!status && nidx == 2) {
		/* An images file and a labels file: x (N,1,H,W) u8 and y (N) i32. */
		ck_tnz pair = {0};
		if (ck_idx_pair(&idx[0], &idx[1], &pair, &err) < 0 ||
		    take_all(&all, &pair, idx_path[1], o->quiet, &err) < 0) {
			errmsg("%s and %s: %s", in_name(idx_path[0]), in_name(idx_path[1]), err.msg);
			status = 1;
		}
		ck_tnz_free(&pair);
	} else {
		for (int i = 0; i < nidx && !status; i++)
			if (take_tensor(&all, &idx[i], &err) < 0)
				status = fail(in_name(idx_path[i]), &err);
	}
	for (int i = 0; i < nidx; i++)
		free(idx[i].data);
	free(idx);
	free(idx_path);
	if (!status) {
		if (ck_meta_set(&all.meta, "created_by", o->cmdline, (size_t)-1, &err) < 0)
			status = fail("created_by", &err);
	}
	if (!status) {
		ck_tnz_opts wo = CK_TNZ_OPTS_DEFAULT;
		if (o->level >= 0)
			wo.level = o->level;
		if (o->shuffle != KEEP_FILTER)
			wo.shuffle = o->shuffle;
		wo.threads = o->threads;
		if (ck_tnz_save(&all, out, &wo, &err) < 0)
			status = fail(out_name(out), &err);
	}
	ck_tnz_free(&all);
	return status;
}

int cmd_export(const struct opts *o, int argc, char **argv)
{
	if (argc > 1)
		usage_error("one FILE only");
	const char *in = argc ? argv[0] : "-", *out = one_output(o);
	ck_io_format f = o->format;
	if (f == CK_IO_UNKNOWN)
		f = ends_with(out, ".npy")                          ? CK_IO_NPY
		    : ends_with(out, ".npz")                        ? CK_IO_NPZ
		    : ends_with(out, ".tsv") || ends_with(out, ".tab") ? CK_IO_TSV
		    : ends_with(out, ".csv") || ends_with(out, ".txt") ? CK_IO_CSV
		                                                    : CK_IO_UNKNOWN;
	if (f == CK_IO_UNKNOWN)
		usage_error("give -o with .npy, .npz, .csv or .tsv, or -f");
	if (f == CK_IO_IDX)
		usage_error("IDX can be imported, not exported");
	if (f == CK_IO_NPZ && strcmp(out, "-") == 0)
		usage_error(".npz needs -o FILE (a zip archive cannot go to a pipe)");

	ck_tnz t = {0};
	ck_err err = {{0}};
	if (ck_tnz_load(&t, in, o->threads, &err) < 0)
		return fail(in_name(in), &err);
	/* The chosen tensors (struct copies sharing t's data), in -t order. */
	size_t n = o->ntensors ? (size_t)o->ntensors : t.count;
	ck_tnz pick = {.tensors = xmalloc((n ? n : 1) * sizeof *pick.tensors), .count = n, .cap = n};
	int status = 0;
	for (size_t i = 0; i < n && !status; i++) {
		const ck_tensor *x = o->ntensors ? ck_tnz_find(&t, o->tensors[i]) : &t.tensors[i];
		if (!x) {
			errmsg("%s: no tensor \"%s\"", in_name(in), o->tensors[i]);
			status = 1;
		} else {
			pick.tensors[i] = *x;
		}
	}
	if (!status && f != CK_IO_NPZ && n != 1) {
		errmsg("%s: %zu tensors: choose one with -t NAME (or export to .npz)", in_name(in), n);
		status = 1;
	}
	if (!status) {
		int rc;
		if (f == CK_IO_NPY)
			rc = ck_npy_write(out, &pick.tensors[0], &err);
		else if (f == CK_IO_NPZ)
			rc = ck_npz_write(out, &pick, o->level >= 0 ? o->level : 0, &err);
		else
			rc = ck_csv_write(out, &pick.tensors[0], f == CK_IO_TSV ? '\t' : ',', &err);
		if (rc < 0) {
			errmsg("%s", err.msg);
			status = 1;
		}
	}
	free(pick.tensors);
	ck_tnz_free(&t);
	return status;
}
