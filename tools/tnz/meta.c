/* meta.c: tnz meta, metadata listed, shown, or changed in a streamed copy. */
#include "tnz.h"

#include <stdlib.h>
#include <string.h>

/* Reads a whole file for -s KEY=@FILE; one final newline is dropped, so that
 * "tnz meta F KEY > v; tnz meta F -s KEY=@v" gives the value back. */
static char *read_value_file(const char *path, size_t *len)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	if (!f) {
		errmsg("%s:", path);
		return NULL;
	}
	size_t cap = 4096, n = 0;
	char *buf = xmalloc(cap);
	size_t got;
	while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
		n += got;
		if (n > CK_TNZ_MAX_META + 1)
			break;
		if (n == cap)
			buf = xrealloc(buf, cap *= 2);
	}
	int bad = ferror(f);
	if (f != stdin)
		fclose(f);
	if (bad) {
		errmsg("%s: read error", path);
		free(buf);
		return NULL;
	}
	if (n && buf[n - 1] == '\n')
		n--;
	*len = n;
	return buf;
}

/* Lists keys, or prints one value (with a newline after it). */
static int meta_show(const struct opts *o, const char *path, const char *key)
{
	ck_err err = {{0}};
	ck_tnz_reader *r = ck_tnz_reader_open(path, o->threads, &err);
	if (!r)
		return fail(in_name(path), &err);
	ck_tnz_header h;
	int rc;
	while ((rc = ck_tnz_reader_next(r, &h, &err)) == 1)
		;
	int status = 0;
	if (rc < 0) {
		status = fail(in_name(path), &err);
	} else if (key) {
		size_t len;
		const char *v = ck_meta_get(ck_tnz_reader_meta(r), key, &len);
		if (v) {
			fwrite(v, 1, len, stdout);
			putchar('\n');
		} else {
			errmsg("%s: no metadata key \"%s\"", in_name(path), key);
			status = 1;
		}
	} else {
		const ck_meta *m = ck_tnz_reader_meta(r);
		for (size_t i = 0; i < m->count; i++) {
			put_text(stdout, m->items[i].key, strlen(m->items[i].key), 0);
			putchar('\n');
		}
	}
	ck_tnz_reader_close(r);
	return status;
}

int cmd_meta(const struct opts *o, int argc, char **argv)
{
	if (argc < 1 || argc > 2)
		usage_error(argc ? "too many operands" : "no FILE");
	if (o->nedits == 0) {
		if (o->nout || o->in_place)
			usage_error("-o and -i need -s or -d");
		return meta_show(o, argv[0], argc == 2 ? argv[1] : NULL);
	}
	if (argc == 2)
		usage_error("KEY and -s/-d do not go together");
	if (o->in_place == (o->nout > 0))
		usage_error("changing metadata needs either -o OUT or -i");
	if (o->in_place && strcmp(argv[0], "-") == 0)
		usage_error("-i needs a FILE, not standard input");

	/* The edits in order: the last one about a key decides. */
	ck_meta set = {0}, del = {0};
	ck_err err = {{0}};
	int status = 0;
	for (int i = 0; i < o->nedits && !status; i++) {
		const struct edit *e = &o->edits[i];
		if (e->del) {
			ck_meta_remove(&set, e->key);
			if (ck_meta_set(&del, e->key, "", 0, &err) < 0)
				status = fail(e->key, &err);
			continue;
		}
		ck_meta_remove(&del, e->key);
		size_t len = (size_t)-1;
		char *file = NULL;
		const char *v = e->value;
		if (v[0] == '@') {
			if (!(file = read_value_file(v + 1, &len))) {
				status = 1;
				break;
			}
			v = file;
		}
		if (ck_meta_set(&set, e->key, v, len, &err) < 0)
			status = fail(e->key, &err);
		free(file);
	}
	if (!status) {
		struct copier c = {.o = o, .out = o->in_place ? argv[0] : o->out[0], .set = &set,
		                   .del = &del, .max_rows = -1};
		status = copy_all(&c, 1, argv);
	}
	ck_meta_free(&set);
	ck_meta_free(&del);
	return status;
}
