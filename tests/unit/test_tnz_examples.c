/* test_tnz_examples.c: the library against the reference files of
 * formats/examples/ (expected.tsv: file, outcome ok|error, message
 * substring, what). Each file is read from its path and through a pipe. */
#include "cnnkit.h"
#include "check.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EXAMPLES "formats/examples/"

struct feed {
	int src, dst;
};

/* Copies a file into a pipe, as cat would. */
static void *feed_pipe(void *arg)
{
	struct feed *f = arg;
	char buf[4096];
	ssize_t n;
	while ((n = read(f->src, buf, sizeof buf)) > 0)
		if (write(f->dst, buf, (size_t)n) != n)
			break;
	close(f->dst);
	close(f->src);
	return NULL;
}

/* Loads every tensor of a stream read from fd (as ck_tnz_load does). */
static int read_fd(int fd, ck_err *e)
{
	ck_tnz_reader *r = ck_tnz_reader_fdopen(fd, 2, e);
	if (!r)
		return -1;
	ck_tnz_header h;
	int rc;
	unsigned char buf[4096];
	while ((rc = ck_tnz_reader_next(r, &h, e)) == 1) {
		int64_t n;
		while ((n = ck_tnz_reader_read(r, buf, sizeof buf, e)) > 0)
			;
		if (n < 0) {
			rc = -1;
			break;
		}
	}
	ck_tnz_reader_close(r);
	return rc;
}

static void check_one(const char *file, const char *outcome, const char *message)
{
	char path[4200];
	snprintf(path, sizeof path, EXAMPLES "%s", file);
	ck_tnz z;
	ck_err e = {{0}};
	int rc = ck_tnz_load(&z, path, 2, &e);
	int want_ok = strcmp(outcome, "ok") == 0;
	if (want_ok)
		CHECK(rc == 0, "%s: %s", file, e.msg);
	else
		CHECK(rc == -1 && strstr(e.msg, message), "%s: want an error with \"%s\", got %s",
		      file, message, rc ? e.msg : "success");
	if (rc == 0)
		ck_tnz_free(&z);

	/* Through a pipe: same outcome (the appending checks are ck_tnz_load's,
	 * so only the outcome of the reader is compared for those). */
	int fds[2], src = open(path, O_RDONLY);
	if (src < 0 || pipe(fds)) {
		CHECK(0, "%s: cannot open", file);
		return;
	}
	struct feed f = {src, fds[1]};
	pthread_t th;
	pthread_create(&th, NULL, feed_pipe, &f);
	int prc = read_fd(fds[0], &e);
	close(fds[0]);
	pthread_join(th, NULL);
	if (strstr(message, "cannot append"))
		CHECK(prc == 0, "%s through a pipe: %s", file, e.msg);
	else if (want_ok)
		CHECK(prc == 0, "%s through a pipe: %s", file, e.msg);
	else
		CHECK(prc == -1 && strstr(e.msg, message), "%s through a pipe: got %s", file,
		      prc ? e.msg : "success");
}

/* A few contents the README describes. */
static void check_contents(void)
{
	ck_tnz z;
	ck_err e;
	if (ck_tnz_load(&z, EXAMPLES "ok_spec_example.tnz", 1, &e) == 0) {
		ck_tensor *x = ck_tnz_find(&z, "x");
		CHECK(x && x->dtype == CK_DTYPE_U8 && x->rank == 2 && x->dims[0] == 2 &&
		          x->dims[1] == 3 && memcmp(x->data, "\1\2\3\4\5\6", 6) == 0,
		      "ok_spec_example: x");
		const char *c = ck_meta_get(&z.meta, "classes", NULL);
		CHECK(c && strcmp(c, "cat\ndog") == 0, "ok_spec_example: classes");
		ck_tnz_free(&z);
	}
	if (ck_tnz_load(&z, EXAMPLES "ok_concatenated.tnz", 1, &e) == 0) {
		ck_tensor *x = ck_tnz_find(&z, "x"), *y = ck_tnz_find(&z, "y");
		CHECK(x && x->dims[0] == 3 && x->dims[1] == 3 && y && y->dims[0] == 3,
		      "ok_concatenated: rows appended");
		const char *s = ck_meta_get(&z.meta, "shard", NULL);
		CHECK(s && strcmp(s, "2") == 0, "ok_concatenated: the last shard wins");
		ck_tnz_free(&z);
	}
	if (ck_tnz_load(&z, EXAMPLES "ok_streamed.tnz", 1, &e) == 0) {
		CHECK(z.count == 1 && z.tensors[0].dims[0] == 5, "ok_streamed: 5 rows");
		ck_tnz_free(&z);
	}
}

static void test_reference_files(void)
{
	FILE *f = fopen(EXAMPLES "expected.tsv", "r");
	if (!f) {
		printf("# SKIP " EXAMPLES "expected.tsv is missing\n");
		return;
	}
	char line[4096];
	int n = 0;
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = '\0';
		/* file TAB outcome TAB message TAB what; message may be empty. */
		char *field[3] = {line, "", ""};
		for (int i = 1; i < 3; i++) {
			char *tab = strchr(field[i - 1], '\t');
			if (!tab)
				break;
			*tab = '\0';
			field[i] = tab + 1;
		}
		char *tab = strchr(field[2], '\t');
		if (tab)
			*tab = '\0';
		char *file = field[0], *outcome = field[1], *message = field[2];
		if (strcmp(file, "file") == 0 || !*outcome)
			continue;
		check_one(file, outcome, message);
		n++;
	}
	fclose(f);
	CHECK(n > 0, "expected.tsv lists files");
	printf("# %d reference files\n", n);
	check_contents();
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN); /* the feeder may outlive a reader that failed */
	RUN(test_reference_files);
	return check_summary();
}
