/* outfile.c: output files replaced atomically (cnnkit/file.h). */
#ifdef __linux__
#define _GNU_SOURCE /* sync_file_range */
#endif
#include "cnnkit.h"
#include "io_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

struct ck_outfile {
	int fd;
	FILE *f;    /* the stream, once asked for */
	char *path; /* NULL when written in place */
	char *tmp;  /* the temporary file, when path is set */
	int is_stdout;
	uint64_t written, kicked; /* bytes written through the descriptor; write-back started for */
};

/* Write-behind: a temporary file is fsync'd at commit, so its write-back may
 * as well start while the program is still writing. Every WRITE_BEHIND bytes
 * the range just written is handed to the disk (sync_file_range with
 * SYNC_FILE_RANGE_WRITE: it starts the write and does not wait for it), and
 * the fsync at commit waits only for the tail instead of the whole file. */
#define WRITE_BEHIND ((uint64_t)8 << 20)

static void write_behind(ck_outfile *o)
{
#ifdef SYNC_FILE_RANGE_WRITE
	if (o->tmp && o->written - o->kicked >= WRITE_BEHIND) {
		/* A failure here is harmless: commit's fsync reports real ones. */
		sync_file_range(o->fd, (off_t)o->kicked, (off_t)(o->written - o->kicked),
		                SYNC_FILE_RANGE_WRITE);
		o->kicked = o->written;
	}
#else
	(void)o;
#endif
}

/* A name no other writer is likely to pick: the process, a counter, the
 * clock, mixed (splitmix64) into six letters and digits. O_EXCL settles any
 * clash that remains. */
static void temp_suffix(char out[7])
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	static uint64_t counter;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t x = (uint64_t)getpid() << 32 ^ __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED) ^
	             (uint64_t)ts.tv_sec * 1000000000u ^ (uint64_t)ts.tv_nsec;
	x += 0x9e3779b97f4a7c15u;
	x = (x ^ x >> 30) * 0xbf58476d1ce4e5b9u;
	x = (x ^ x >> 27) * 0x94d049bb133111ebu;
	x ^= x >> 31;
	for (int i = 0; i < 6; i++, x /= 62)
		out[i] = abc[x % 62];
	out[6] = '\0';
}

/* Creates "<dir>/.<base>.tmpXXXXXX" with mode 0666 (less the umask, applied
 * by open itself: unlike mkstemp's 0600 this needs no umask() call, which
 * would race with other threads). */
static int create_temp(ck_outfile *o, const char *path, const char *base, ck_err *err)
{
	size_t dirlen = (size_t)(base - path), cap = strlen(path) + 12;
	o->tmp = malloc(cap);
	if (!o->tmp)
		return ck_err_set(err, "out of memory");
	for (int attempt = 0; attempt < 100; attempt++) {
		char suffix[7];
		temp_suffix(suffix);
		snprintf(o->tmp, cap, "%.*s.%s.tmp%s", (int)dirlen, path, base, suffix);
		o->fd = open(o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
		if (o->fd >= 0)
			return 0;
		if (errno != EEXIST)
			break;
	}
	return ck_err_set(err, "cannot create a temporary file: %s", strerror(errno));
}

ck_outfile *ck_outfile_open(const char *path, int flags, ck_err *err)
{
	ck_outfile *o = calloc(1, sizeof *o);
	if (!o) {
		ck_err_set(err, "out of memory");
		return NULL;
	}
	o->fd = -1;
	if (strcmp(path, "-") == 0) {
		if ((flags & CK_OUTFILE_BINARY) && isatty(STDOUT_FILENO)) {
			ck_err_set(err, "refusing to write binary data to a terminal");
			goto fail;
		}
		o->fd = STDOUT_FILENO;
		o->is_stdout = 1;
		return o;
	}
	struct stat st;
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		if (S_ISDIR(st.st_mode)) {
			ck_err_set(err, "%s", strerror(EISDIR));
			goto fail;
		}
		o->fd = open(path, O_WRONLY | O_CLOEXEC);
		if (o->fd < 0) {
			ck_err_set(err, "%s", strerror(errno));
			goto fail;
		}
		return o;
	}
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
		ck_err_set(err, "not a file name");
		goto fail;
	}
	o->path = strdup(path);
	if (!o->path) {
		ck_err_set(err, "out of memory");
		goto fail;
	}
	if (create_temp(o, path, base, err) == 0)
		return o;
fail:
	free(o->tmp);
	free(o->path);
	free(o);
	return NULL;
}

int ck_outfile_fd(const ck_outfile *o)
{
	return o->fd;
}

FILE *ck_outfile_stream(ck_outfile *o, ck_err *err)
{
	if (!o->f) {
		o->f = o->is_stdout ? stdout : fdopen(o->fd, "wb");
		if (!o->f)
			ck_err_set(err, "%s", strerror(errno));
	}
	return o->f;
}

int ck_io_writev(int fd, struct iovec *iov, int n, uint64_t *count, ck_err *err)
{
	for (;;) {
		while (n > 0 && iov->iov_len == 0) {
			iov++;
			n--;
		}
		if (n == 0)
			return 0;
		ssize_t w = writev(fd, iov, n < IOV_MAX ? n : IOV_MAX);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return ck_err_set(err, "write error: %s", strerror(errno));
		if (w == 0) /* not seen for n > 0 bytes; never loop on it */
			return ck_err_set(err, "write error: nothing written");
		if (count)
			*count += (uint64_t)w;
		for (size_t k = (size_t)w; k > 0;) { /* step past what went out */
			size_t d = k < iov->iov_len ? k : iov->iov_len;
			iov->iov_base = (char *)iov->iov_base + d;
			iov->iov_len -= d;
			k -= d;
			if (iov->iov_len == 0) {
				iov++;
				n--;
			}
		}
	}
}

int ck_outfile_writev(ck_outfile *o, struct iovec *iov, int n, ck_err *err)
{
	if (o->f) {
		for (int i = 0; i < n; i++)
			if (iov[i].iov_len > 0 && fwrite(iov[i].iov_base, 1, iov[i].iov_len, o->f) != iov[i].iov_len)
				return ck_err_set(err, "write error: %s", strerror(errno));
		return 0;
	}
	int rc = ck_io_writev(o->fd, iov, n, &o->written, err);
	write_behind(o);
	return rc;
}

int ck_outfile_write(ck_outfile *o, const void *p, size_t n, ck_err *err)
{
	struct iovec one = {(void *)p, n};
	return ck_outfile_writev(o, &one, 1, err);
}

/* Makes the rename durable. A failure loses nothing that was asked for (the
 * file is in place), so it is not reported. */
static void sync_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : NULL;
	int fd = open(dir ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(dir);
}

int ck_outfile_commit(ck_outfile *o, ck_err *err)
{
	int e = 0; /* the first failure's errno */
	errno = 0;
	/* A stream error whose errno was overwritten since shows as EIO. */
	if (o->f && (fflush(o->f) != 0 || ferror(o->f)))
		e = errno ? errno : EIO;
	if (!o->is_stdout) { /* stdout stays open: the program closes it at exit */
		if (!e && o->tmp && fsync(o->fd) != 0)
			e = errno;
		if ((o->f ? fclose(o->f) : close(o->fd)) != 0 && !e)
			e = errno;
	}
	if (e)
		ck_err_set(err, "write error: %s", strerror(e));
	if (o->tmp && !e && rename(o->tmp, o->path) != 0) {
		e = errno;
		ck_err_set(err, "cannot rename the temporary file into place: %s", strerror(e));
	}
	if (o->tmp && !e)
		sync_dir(o->path);
	else if (o->tmp)
		unlink(o->tmp);
	free(o->tmp);
	free(o->path);
	free(o);
	errno = e;
	return e ? -1 : 0;
}

void ck_outfile_abort(ck_outfile *o)
{
	if (!o)
		return;
	if (!o->is_stdout) {
		if (o->f)
			fclose(o->f);
		else
			close(o->fd);
		if (o->tmp)
			unlink(o->tmp);
	}
	free(o->tmp);
	free(o->path);
	free(o);
}

int ck_outfile_save(const char *path, int flags, const void *p, size_t n, ck_err *err)
{
	ck_outfile *o = ck_outfile_open(path, flags, err);
	if (!o)
		return -1;
	if (!ck_outfile_stream(o, err) || ck_outfile_write(o, p, n, err) != 0) {
		ck_outfile_abort(o);
		return -1;
	}
	return ck_outfile_commit(o, err);
}
