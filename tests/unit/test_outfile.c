/* test_outfile.c: output files replaced atomically (lib/outfile.c): the
 * rename on commit, nothing left by an abort or a failure, devices and FIFOs
 * written in place, unwritable directories, standard output, gathered writes
 * (more pieces than one writev takes, empty pieces, a partial write). */
#define _XOPEN_SOURCE 600 /* posix_openpt, grantpt, unlockpt, ptsname */
#include "cnnkit.h"
#include "check.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static char tmpdir[64];

static const char *path_in(const char *name)
{
	static char buf[4][256];
	static int next;
	char *p = buf[next++ % 4];
	snprintf(p, sizeof buf[0], "%s/%s", tmpdir, name);
	return p;
}

/* Entries of tmpdir, "." and ".." aside. */
static int dir_entries(void)
{
	DIR *d = opendir(tmpdir);
	int n = 0;
	for (struct dirent *e; d && (e = readdir(d));)
		n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	if (d)
		closedir(d);
	return n;
}

/* The whole content of path, or "" (at most 255 bytes). */
static const char *slurp(const char *path)
{
	static char buf[256];
	buf[0] = '\0';
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return buf;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	buf[n > 0 ? n : 0] = '\0';
	close(fd);
	return buf;
}

static void test_commit_renames(void)
{
	ck_err e = {{0}};
	const char *out = path_in("out.txt");
	mode_t old_mask = umask(027);
	ck_outfile *o = ck_outfile_open(out, 0, &e);
	CHECK(o != NULL, "%s", e.msg);
	if (!o) {
		umask(old_mask);
		return;
	}
	CHECK(dir_entries() == 1, "one temporary file while writing");
	CHECK(access(out, F_OK) == -1, "the final name is not there yet");
	CHECK(ck_outfile_write(o, "hello ", 6, &e) == 0, "%s", e.msg);
	CHECK(write(ck_outfile_fd(o), "world", 5) == 5, "the descriptor is the file");
	CHECK(ck_outfile_commit(o, &e) == 0, "%s", e.msg);
	umask(old_mask);
	CHECK(strcmp(slurp(out), "hello world") == 0, "content: %s", slurp(out));
	struct stat st;
	CHECK(stat(out, &st) == 0 && (st.st_mode & 0777) == 0640, "mode 0666 less the umask: %o",
	      (unsigned)(st.st_mode & 0777));
	CHECK(dir_entries() == 1, "only the file is left");

	/* Through the stream, replacing the file: the old contents stay until commit. */
	o = ck_outfile_open(out, 0, &e);
	FILE *f = o ? ck_outfile_stream(o, &e) : NULL;
	CHECK(f != NULL, "%s", e.msg);
	if (!f)
		return;
	fprintf(f, "%d lines\n", 2);
	CHECK(ck_outfile_write(o, "end\n", 4, &e) == 0, "%s", e.msg);
	fflush(f);
	CHECK(strcmp(slurp(out), "hello world") == 0, "old contents until commit");
	CHECK(ck_outfile_commit(o, &e) == 0, "%s", e.msg);
	CHECK(strcmp(slurp(out), "2 lines\nend\n") == 0, "replaced: %s", slurp(out));
	CHECK(dir_entries() == 1, "only the file is left");

	CHECK(ck_outfile_save(out, CK_OUTFILE_BINARY, "abc", 3, &e) == 0, "save: %s", e.msg);
	CHECK(strcmp(slurp(out), "abc") == 0, "saved: %s", slurp(out));
	unlink(out);
}

static void test_abort_keeps_old(void)
{
	ck_err e = {{0}};
	const char *out = path_in("keep.txt");
	CHECK(ck_outfile_save(out, 0, "old", 3, &e) == 0, "%s", e.msg);
	ck_outfile *o = ck_outfile_open(out, 0, &e);
	CHECK(o && ck_outfile_write(o, "new", 3, &e) == 0, "%s", e.msg);
	ck_outfile_abort(o);
	CHECK(strcmp(slurp(out), "old") == 0, "the old file is intact: %s", slurp(out));
	CHECK(dir_entries() == 1, "abort leaves no temporary file");
	ck_outfile_abort(NULL);

	/* A new name: abort leaves nothing at all. */
	o = ck_outfile_open(path_in("new.txt"), 0, &e);
	CHECK(o && ck_outfile_stream(o, &e), "%s", e.msg);
	ck_outfile_abort(o);
	CHECK(access(path_in("new.txt"), F_OK) == -1 && dir_entries() == 1, "nothing new");
	unlink(out);
}

static void test_devices_in_place(void)
{
	ck_err e = {{0}};
	struct stat st;
	CHECK(ck_outfile_save("/dev/null", 0, "x", 1, &e) == 0, "/dev/null: %s", e.msg);
	CHECK(stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode), "/dev/null is still a device");
	if (access("/dev/full", W_OK) == 0) {
		/* write(2): the error comes at once. */
		ck_outfile *o = ck_outfile_open("/dev/full", 0, &e);
		CHECK(o && ck_outfile_write(o, "x", 1, &e) == -1 && strstr(e.msg, "No space left"),
		      "/dev/full, descriptor: %s", e.msg);
		ck_outfile_abort(o);
		/* stdio: the error comes with the flush at commit, errno kept. */
		e.msg[0] = '\0';
		o = ck_outfile_open("/dev/full", 0, &e);
		FILE *f = o ? ck_outfile_stream(o, &e) : NULL;
		if (f)
			fputs("x", f);
		CHECK(f && ck_outfile_commit(o, &e) == -1 && errno == ENOSPC &&
		          strcmp(e.msg, "write error: No space left on device") == 0,
		      "/dev/full, stream: %s", e.msg);
		CHECK(stat("/dev/full", &st) == 0 && S_ISCHR(st.st_mode), "/dev/full still a device");
	}
	/* A FIFO is written, not replaced. */
	const char *fifo = path_in("fifo");
	CHECK(mkfifo(fifo, 0600) == 0, "mkfifo");
	int rd = open(fifo, O_RDONLY | O_NONBLOCK);
	CHECK(rd >= 0, "reader");
	CHECK(ck_outfile_save(fifo, 0, "through", 7, &e) == 0, "fifo: %s", e.msg);
	char buf[16] = {0};
	CHECK(read(rd, buf, sizeof buf - 1) == 7 && strcmp(buf, "through") == 0, "read: %s", buf);
	close(rd);
	CHECK(stat(fifo, &st) == 0 && S_ISFIFO(st.st_mode), "still a FIFO");
	unlink(fifo);
	CHECK(dir_entries() == 0, "nothing left");
}

static void test_bad_paths(void)
{
	ck_err e = {{0}};
	CHECK(ck_outfile_open(tmpdir, 0, &e) == NULL && strstr(e.msg, "Is a directory"),
	      "a directory: %s", e.msg);
	CHECK(ck_outfile_open(path_in("sub/"), 0, &e) == NULL && strcmp(e.msg, "not a file name") == 0,
	      "dir/: %s", e.msg);
	CHECK(ck_outfile_open("", 0, &e) == NULL && strcmp(e.msg, "not a file name") == 0,
	      "empty: %s", e.msg);
	CHECK(ck_outfile_open(path_in("no/such/x"), 0, &e) == NULL &&
	          strcmp(e.msg, "cannot create a temporary file: No such file or directory") == 0,
	      "missing directory: %s", e.msg);
	CHECK(dir_entries() == 0, "nothing left");
}

/* A directory without write permission. Root ignores the mode bits, so as
 * root the check runs in a child that has become nobody. */
static void test_unwritable_dir(void)
{
	const char *ro = path_in("ro");
	CHECK(mkdir(ro, 0555) == 0 && chmod(ro, 0555) == 0, "mkdir");
	char out[300];
	snprintf(out, sizeof out, "%s/x.tnz", ro);
	pid_t pid = fork();
	if (pid == 0) {
		if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
			_exit(3);
		ck_err e = {{0}};
		ck_outfile *o = ck_outfile_open(out, 0, &e);
		_exit(o ? 1 : strcmp(e.msg, "cannot create a temporary file: Permission denied") ? 2 : 0);
	}
	int status = -1;
	waitpid(pid, &status, 0);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 3)
		printf("# cannot become nobody: unwritable directory not tested\n");
	else
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
	DIR *d = opendir(ro);
	int n = 0;
	for (struct dirent *de; d && (de = readdir(d));)
		n += de->d_name[0] != '.';
	if (d)
		closedir(d);
	CHECK(n == 0, "nothing created");
	rmdir(ro);
}

/* "-" is standard output: written in place, left open; binary output is
 * refused on a terminal. */
static void test_stdout(void)
{
	ck_err e = {{0}};
	const char *out = path_in("stdout.txt");
	int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	int saved = dup(1);
	fflush(stdout);
	dup2(fd, 1);
	int rc = ck_outfile_save("-", CK_OUTFILE_BINARY, "to stdout", 9, &e);
	int still_open = fcntl(1, F_GETFD) != -1;
	dup2(saved, 1);
	close(saved);
	close(fd);
	CHECK(rc == 0, "%s", e.msg);
	CHECK(still_open, "standard output left open");
	CHECK(strcmp(slurp(out), "to stdout") == 0, "content: %s", slurp(out));
	unlink(out);

	int master = posix_openpt(O_RDWR | O_NOCTTY);
	if (master >= 0 && grantpt(master) == 0 && unlockpt(master) == 0) {
		int slave = open(ptsname(master), O_RDWR | O_NOCTTY);
		saved = dup(1);
		fflush(stdout);
		dup2(slave, 1);
		ck_outfile *bin = ck_outfile_open("-", CK_OUTFILE_BINARY, &e);
		ck_outfile *text = ck_outfile_open("-", 0, NULL);
		dup2(saved, 1);
		close(saved);
		close(slave);
		CHECK(!bin && strcmp(e.msg, "refusing to write binary data to a terminal") == 0,
		      "binary to a terminal: %s", e.msg);
		CHECK(text != NULL, "text to a terminal is fine");
		ck_outfile_abort(text);
	}
	if (master >= 0)
		close(master);
}

/* Byte i of the pattern gathered writes send. */
static unsigned char pattern(size_t i)
{
	return (unsigned char)(i * 2654435761u >> 13);
}

/* 3000 pieces (more than IOV_MAX, 1024), every third empty, 24 MiB in all:
 * past the write-behind step, in several writev calls. The file holds them
 * in order. */
static void test_writev_pieces(void)
{
	enum { PIECES = 3000 };
	static struct iovec iov[PIECES];
	size_t total = 0;
	for (int i = 0; i < PIECES; i++)
		total += i % 3 == 0 ? 0 : (size_t)(i * 37 % 16384 + 1);
	unsigned char *buf = malloc(total);
	CHECK(buf != NULL, "allocated");
	if (!buf)
		return;
	for (size_t i = 0; i < total; i++)
		buf[i] = pattern(i);
	size_t at = 0;
	for (int i = 0; i < PIECES; i++) {
		size_t len = i % 3 == 0 ? 0 : (size_t)(i * 37 % 16384 + 1);
		iov[i] = (struct iovec){buf + at, len};
		at += len;
	}
	ck_err e = {{0}};
	const char *out = path_in("gathered.bin");
	ck_outfile *o = ck_outfile_open(out, 0, &e);
	CHECK(o != NULL, "%s", e.msg);
	if (o) {
		CHECK(ck_outfile_writev(o, iov, PIECES, &e) == 0, "%s", e.msg);
		CHECK(ck_outfile_commit(o, &e) == 0, "%s", e.msg);
	}
	int fd = open(out, O_RDONLY);
	size_t got = 0, bad = 0;
	unsigned char chunk[65536];
	for (ssize_t n; fd >= 0 && (n = read(fd, chunk, sizeof chunk)) > 0; got += (size_t)n)
		for (ssize_t i = 0; i < n; i++)
			bad += got + (size_t)i >= total || chunk[i] != pattern(got + (size_t)i);
	if (fd >= 0)
		close(fd);
	CHECK(got == total && bad == 0, "%zu of %zu bytes, %zu wrong", got, total, bad);
	unlink(out);
	free(buf);
}

/* A write the file-size limit cuts short: the first part goes out, the rest
 * fails (EFBIG); the error is reported and the old file keeps its content.
 * In a child, whose limit does not outlive it. */
static void test_writev_partial(void)
{
	const char *out = path_in("limited.txt");
	int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0 && write(fd, "old", 3) == 3, "old file");
	if (fd >= 0)
		close(fd);
	pid_t pid = fork();
	if (pid == 0) {
		signal(SIGXFSZ, SIG_IGN);
		struct rlimit lim = {100000, 100000};
		setrlimit(RLIMIT_FSIZE, &lim);
		static unsigned char big[3][60000];
		struct iovec iov[3] = {{big[0], 60000}, {big[1], 60000}, {big[2], 60000}};
		ck_err e = {{0}};
		ck_outfile *o = ck_outfile_open(out, 0, &e);
		if (!o)
			_exit(3);
		int rc = ck_outfile_writev(o, iov, 3, &e);
		int efbig = strstr(e.msg, "write error: File too large") != NULL;
		ck_outfile_abort(o);
		_exit(rc == -1 && efbig ? 0 : 4);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "exit status %d", status);
	CHECK(strcmp(slurp(out), "old") == 0, "old file kept: '%s'", slurp(out));
	CHECK(dir_entries() == 1, "no temporary file left (%d entries)", dir_entries());
	unlink(out);
}

int main(void)
{
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(tmpdir, sizeof tmpdir, "%s/test_outfile.XXXXXX", base);
	if (!mkdtemp(tmpdir) || chmod(tmpdir, 0755) != 0) {
		perror("mkdtemp");
		return 1;
	}
	RUN(test_commit_renames);
	RUN(test_abort_keeps_old);
	RUN(test_devices_in_place);
	RUN(test_bad_paths);
	RUN(test_unwritable_dir);
	RUN(test_stdout);
	RUN(test_writev_pieces);
	RUN(test_writev_partial);
	rmdir(tmpdir);
	return check_summary();
}
