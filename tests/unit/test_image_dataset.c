/* test_image_dataset.c: file lists (directory walks), labels (directories,
 * TSV, a fixed class list) and dataset writing: order across threads, bad
 * files failing or skipped, sizes that differ. Works in a temporary tree of
 * small PNGs written with ck_image_write_png. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "cnnkit.h"

static char root[] = "/tmp/ck_image_ds_XXXXXX";

static void put_png(const char *rel, int w, int h, uint8_t seed)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s", root, rel);
	ck_image img;
	if (ck_image_alloc(&img, w, h, 3, NULL) < 0)
		abort();
	for (int i = 0; i < w * h * 3; i++)
		img.data[i] = (uint8_t)(seed + i * 7);
	ck_err err;
	if (ck_image_write_png(&img, path, &err) < 0) {
		printf("# %s: %s\n", path, err.msg);
		abort();
	}
	ck_image_free(&img);
}

static void put_text(const char *rel, const char *text)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s", root, rel);
	FILE *f = fopen(path, "w");
	if (!f)
		abort();
	fputs(text, f);
	fclose(f);
}

static void sub(char *buf, size_t cap, const char *rel)
{
	snprintf(buf, cap, "%s/%s", root, rel);
}

static void make_tree(void)
{
	if (!mkdtemp(root))
		abort();
	char p[256];
	static const char *const dirs[] = {"dog", "cat", "cat/sub", ".hidden", "bad"};
	for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++) {
		sub(p, sizeof p, dirs[i]);
		mkdir(p, 0755);
	}
	put_png("dog/b.png", 6, 5, 10);
	put_png("dog/a.PNG", 6, 5, 20);
	put_png("cat/z.png", 6, 5, 30);
	put_png("cat/sub/m.png", 6, 5, 40);
	put_png(".hidden/h.png", 6, 5, 50);
	put_png("dog/.h.png", 6, 5, 60);
	put_text("cat/notes.txt", "not an image, no image extension\n");
	put_png("bad/big.png", 9, 9, 70);
	put_text("bad/broken.png", "\x89PNG\r\n\x1a\n garbage");
}

static void rm_tree(void)
{
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", root);
}

/* The list relative to root, joined by spaces. */
static void list_str(const ck_image_list *l, char *buf, size_t cap)
{
	buf[0] = '\0';
	size_t rl = strlen(root);
	for (size_t i = 0; i < l->count; i++) {
		const char *p = strncmp(l->paths[i], root, rl) == 0 ? l->paths[i] + rl + 1 : l->paths[i];
		strncat(buf, p, cap - strlen(buf) - 2);
		if (i + 1 < l->count)
			strncat(buf, " ", cap - strlen(buf) - 1);
	}
}

static void test_walk(void)
{
	ck_image_list l = {0};
	ck_err err = {{0}};
	char p[256], s[512];
	sub(p, sizeof p, "cat");
	CHECK(ck_image_list_add(&l, p, &err) == 0, "walk cat: %s", err.msg);
	sub(p, sizeof p, "dog/");
	CHECK(ck_image_list_add(&l, p, &err) == 0, "walk dog/: %s", err.msg);
	sub(p, sizeof p, "cat/notes.txt"); /* named directly: kept, whatever its name */
	CHECK(ck_image_list_add(&l, p, &err) == 0, "a file");
	list_str(&l, s, sizeof s);
	CHECK(strcmp(s, "cat/sub/m.png cat/z.png dog/a.PNG dog/b.png cat/notes.txt") == 0,
	      "sorted, recursive, image extensions, no hidden names: %s", s);
	CHECK(l.labels[0] == -1, "no labels yet");
	ck_image_list_free(&l);
	CHECK(ck_image_list_add(&l, "/nonexistent/dir/x.png", &err) == 0 && l.count == 1,
	      "a missing file is listed (reading it reports it)");
	ck_image_list_free(&l);
}

static void test_labels(void)
{
	ck_image_list l = {0};
	ck_image_classes c = {0};
	ck_err err = {{0}};
	char p[256];
	sub(p, sizeof p, "dog");
	ck_image_list_add(&l, p, &err);
	sub(p, sizeof p, "cat/z.png");
	ck_image_list_add(&l, p, &err);
	CHECK(ck_image_label_by_dir(&l, &c, 0, &err) == 0 && c.count == 2 &&
	          !strcmp(c.names[0], "cat") && !strcmp(c.names[1], "dog"),
	      "classes by directory, sorted: %s", err.msg);
	CHECK(l.labels[0] == 1 && l.labels[1] == 1 && l.labels[2] == 0, "labels by directory");
	size_t len;
	char *joined = ck_image_classes_join(&c, &len);
	CHECK(joined && !strcmp(joined, "cat\ndog\n") && len == 8, "join");

	/* A fixed list: its order rules; a name outside it is an error. */
	CHECK(ck_image_classes_parse(&c, "dog\ncat\nbird\n", 13, &err) == 0 && c.count == 3,
	      "parse: %s", err.msg);
	CHECK(ck_image_label_by_dir(&l, &c, 1, &err) == 0 && l.labels[0] == 0 && l.labels[2] == 1,
	      "fixed class order");
	CHECK(ck_image_classes_parse(&c, "dog\n", 4, &err) == 0 &&
	          ck_image_label_by_dir(&l, &c, 1, &err) < 0 && strstr(err.msg, "\"cat\""),
	      "a class not in the fixed list: %s", err.msg);
	CHECK(ck_image_classes_parse(&c, "a\n\nb\n", 5, &err) < 0, "empty class name refused");
	CHECK(ck_image_classes_parse(&c, "a\nb\na", 5, &err) < 0, "duplicate class refused");

	/* TSV: paths relative to the TSV's directory (or absolute). */
	char tsv[600];
	sub(p, sizeof p, "dog/a.PNG");
	snprintf(tsv, sizeof tsv, "dog/b.png\tpuppy\r\n%s\tpuppy\ncat/z.png\tkitten\n\n"
	         "gone.png\tghost\n", p);
	put_text("labels.tsv", tsv);
	sub(p, sizeof p, "labels.tsv");
	CHECK(ck_image_label_by_tsv(&l, &c, 0, p, &err) == 0, "TSV: %s", err.msg);
	CHECK(c.count == 3 && !strcmp(c.names[0], "ghost") && !strcmp(c.names[2], "puppy"),
	      "TSV classes: every name in the file, sorted");
	CHECK(l.labels[0] == 2 && l.labels[1] == 2 && l.labels[2] == 1, "TSV labels");
	put_text("short.tsv", "dog/b.png\tpuppy\n");
	sub(p, sizeof p, "short.tsv");
	CHECK(ck_image_label_by_tsv(&l, &c, 0, p, &err) < 0 && strstr(err.msg, "no label"),
	      "an image without a line: %s", err.msg);
	put_text("bad.tsv", "dog/b.png puppy\n");
	sub(p, sizeof p, "bad.tsv");
	CHECK(ck_image_label_by_tsv(&l, &c, 0, p, &err) < 0 && strstr(err.msg, ":1:"),
	      "a line without a tab: %s", err.msg);
	put_text("twice.tsv", "dog/b.png\tpuppy\n./dog/b.png\tcat\n");
	sub(p, sizeof p, "twice.tsv");
	CHECK(ck_image_label_by_tsv(&l, &c, 0, p, &err) < 0 && strstr(err.msg, "two classes"),
	      "one image, two classes: %s", err.msg);
	free(joined);
	ck_image_classes_free(&c);
	ck_image_list_free(&l);
}

/* Writes l to a file and loads it back; returns the writer's result. */
static int write_load(const ck_image_list *l, ck_image_dataset_opts *o, const char *name,
                      ck_tnz *t, size_t *written, size_t *skipped, ck_err *err)
{
	char path[256];
	sub(path, sizeof path, name);
	ck_tnz_writer *w = ck_tnz_writer_open(path, NULL, err);
	if (!w)
		return -1;
	if (ck_image_dataset_write(w, l, o, written, skipped, err) < 0) {
		ck_tnz_writer_abort(w);
		return -1;
	}
	if (ck_tnz_writer_close(w, err) < 0)
		return -1;
	return t ? ck_tnz_load(t, path, 1, err) : 0;
}

static int same_file(const char *a, const char *b)
{
	char pa[256], pb[256];
	sub(pa, sizeof pa, a);
	sub(pb, sizeof pb, b);
	void *x, *y;
	size_t nx, ny;
	if (ck_image_read_file(pa, &x, &nx, NULL) < 0 || ck_image_read_file(pb, &y, &ny, NULL) < 0)
		return 0;
	int same = nx == ny && !memcmp(x, y, nx);
	free(x);
	free(y);
	return same;
}

static void test_dataset(void)
{
	ck_image_list l = {0};
	ck_image_classes c = {0};
	ck_err err = {{0}};
	char p[256];
	sub(p, sizeof p, "cat");
	ck_image_list_add(&l, p, &err);
	sub(p, sizeof p, "dog");
	ck_image_list_add(&l, p, &err);
	ck_image_label_by_dir(&l, &c, 0, &err);
	/* More images than a batch of one thread: repeat the list. */
	size_t n0 = l.count;
	for (int r = 0; r < 40; r++)
		for (size_t i = 0; i < n0; i++)
			if (ck_image_list_add(&l, l.paths[i], &err) == 0)
				l.labels[l.count - 1] = l.labels[i];

	ck_image_dataset_opts o = {.prep = CK_IMAGE_PREP_DEFAULT, .threads = 1};
	ck_tnz t = {0};
	size_t written, skipped;
	CHECK(write_load(&l, &o, "one.tnz", &t, &written, &skipped, &err) == 0, "write: %s",
	      err.msg);
	ck_tensor *x = ck_tnz_find(&t, "x"), *y = ck_tnz_find(&t, "y");
	CHECK(written == l.count && skipped == 0, "counts");
	CHECK(x && x->dtype == CK_DTYPE_U8 && x->rank == 4 && x->dims[0] == (int64_t)l.count &&
	          x->dims[1] == 3 && x->dims[2] == 5 && x->dims[3] == 6,
	      "x (N,3,5,6) u8");
	/* The class is the directory holding the file: cat/sub/m.png is "sub". */
	CHECK(c.count == 3 && !strcmp(c.names[2], "sub"), "classes cat, dog, sub");
	CHECK(y && y->dtype == CK_DTYPE_I32 && y->dims[0] == (int64_t)l.count &&
	          ((int32_t *)y->data)[0] == 2 && ((int32_t *)y->data)[1] == 0 &&
	          ((int32_t *)y->data)[3] == 1,
	      "y i32, in list order");
	/* Row 2 is dog/a.PNG (seed 20): planar, R of pixel 0 then R of pixel 1. */
	if (x) {
		const uint8_t *r = (const uint8_t *)x->data + 2 * 3 * 5 * 6;
		CHECK(r[0] == 20 && r[1] == 41 && r[30] == 27, "row content is planar");
	}
	ck_tnz_free(&t);

	o.threads = 2;
	CHECK(write_load(&l, &o, "two.tnz", NULL, &written, &skipped, &err) == 0, "2 threads");
	CHECK(same_file("one.tnz", "two.tnz"), "1 and 2 threads: identical bytes");

	/* f32, normalised, gray, resized. */
	ck_image_dataset_opts of = o;
	of.f32 = 1;
	of.prep.channels = 1;
	of.prep.width = 3;
	of.prep.height = 2;
	of.mean[0] = 0.5f;
	of.std[0] = 0.25f;
	CHECK(write_load(&l, &of, "f.tnz", &t, &written, &skipped, &err) == 0, "f32: %s", err.msg);
	x = ck_tnz_find(&t, "x");
	CHECK(x && x->dtype == CK_DTYPE_F32 && x->dims[1] == 1 && x->dims[2] == 2 &&
	          x->dims[3] == 3,
	      "x (N,1,2,3) f32");
	if (x) {
		float v = ((float *)x->data)[0];
		CHECK(v >= -2.0f && v <= 2.0f, "normalised range");
	}
	ck_tnz_free(&t);

	/* Without labels: no y. */
	ck_image_list u = {0};
	sub(p, sizeof p, "dog");
	ck_image_list_add(&u, p, &err);
	CHECK(write_load(&u, &o, "u.tnz", &t, &written, &skipped, &err) == 0 &&
	          ck_tnz_find(&t, "x") && !ck_tnz_find(&t, "y"),
	      "no labels, no y");
	ck_tnz_free(&t);

	/* A bad file fails the run, naming it; with skip_bad it is counted. */
	sub(p, sizeof p, "bad/broken.png");
	ck_image_list_add(&u, p, &err);
	CHECK(write_load(&u, &o, "bad.tnz", NULL, &written, &skipped, &err) < 0 &&
	          strstr(err.msg, "broken.png"),
	      "bad file fails: %s", err.msg);
	sub(p, sizeof p, "bad.tnz");
	CHECK(access(p, F_OK) != 0, "nothing written");
	o.skip_bad = 1;
	CHECK(write_load(&u, &o, "skip.tnz", &t, &written, &skipped, &err) == 0 && written == 2 &&
	          skipped == 1,
	      "skipped: %s", err.msg);
	ck_tnz_free(&t);
	/* A size unlike the first image's is an error, even with skip_bad. */
	sub(p, sizeof p, "bad/big.png");
	ck_image_list_add(&u, p, &err);
	CHECK(write_load(&u, &o, "size.tnz", NULL, &written, &skipped, &err) < 0 &&
	          strstr(err.msg, "--size"),
	      "size differs: %s", err.msg);
	ck_image_list_free(&u);
	/* Every file bad: nothing to write. */
	sub(p, sizeof p, "bad/broken.png");
	ck_image_list_add(&u, p, &err);
	CHECK(write_load(&u, &o, "none.tnz", NULL, &written, &skipped, &err) < 0,
	      "no image could be read");
	ck_image_list_free(&u);
	ck_image_classes_free(&c);
	ck_image_list_free(&l);
}

int main(void)
{
	make_tree();
	RUN(test_walk);
	RUN(test_labels);
	RUN(test_dataset);
	rm_tree();
	return check_summary();
}
