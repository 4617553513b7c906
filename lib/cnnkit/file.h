/* cnnkit/file.h: output files that appear whole or not at all.
 *
 * A path is written to a temporary file beside it (".<name>.tmpXXXXXX", same
 * directory, so on the same file system) and renamed over the name once it
 * is flushed and fsync'ed; the directory is then synced too. Until commit the
 * final name keeps its old contents, and a failure or an abort removes the
 * temporary file. The new file's mode is 0666 less the umask, as for open(2).
 *
 * Two kinds of path are written in place instead:
 *   "-"                standard output (left open at commit, only flushed);
 *   an existing non-regular file other than a directory (/dev/null, a FIFO,
 *                      a terminal): renaming a file over it would replace
 *                      the device, not write to it.
 *
 * Write through the descriptor (ck_outfile_fd, ck_outfile_write) or through
 * the stream (ck_outfile_stream), not both. Messages do not name the path;
 * callers prefix it. */
#ifndef CNNKIT_FILE_H
#define CNNKIT_FILE_H

#include <stddef.h>
#include <stdio.h>

#include "base.h"

typedef struct ck_outfile ck_outfile;

/* ck_outfile_open flags. */
enum {
	CK_OUTFILE_BINARY = 1, /* refuse "-" when standard output is a terminal */
};

/* Opens path for writing as described above. Fails on a directory, on a path
 * that names no file ("", "dir/", "."), on a terminal for binary output and
 * when the temporary file cannot be created (e.g. a directory without write
 * permission: "cannot create a temporary file: Permission denied"). */
ck_outfile *ck_outfile_open(const char *path, int flags, ck_err *err);

/* The descriptor written to: 1 for "-", the device, or the temporary file. */
int ck_outfile_fd(const ck_outfile *o);

/* A stdio stream on the descriptor (stdout for "-"), made on the first call;
 * commit flushes and checks it. NULL (err set) only when out of memory. */
FILE *ck_outfile_stream(ck_outfile *o, ck_err *err);

/* Writes all n bytes: to the stream once there is one, else with write(2),
 * retrying after a signal. */
int ck_outfile_write(ck_outfile *o, const void *p, size_t n, ck_err *err);

/* Writes the n pieces of iov in order, as ck_outfile_write does, with one
 * writev(2) where possible: a record's frame, payload and CRC, or many
 * records, go out as one large write. The iovecs may be changed (advanced
 * past what was written). */
struct iovec;
int ck_outfile_writev(ck_outfile *o, struct iovec *iov, int n, ck_err *err);

/* Finishes the output and frees o, whatever the result: flushes the stream,
 * checks for write errors, and for a temporary file fsyncs, closes, renames
 * it over the path and syncs the directory. On failure the temporary file is
 * removed, the path keeps its old contents and errno holds the cause (for
 * callers whose messages are worded around strerror). */
int ck_outfile_commit(ck_outfile *o, ck_err *err);

/* Gives up: removes the temporary file (a device or standard output keeps
 * what was written) and frees o. NULL is allowed. */
void ck_outfile_abort(ck_outfile *o);

/* open, write n bytes through the stream, commit: a whole buffer saved to
 * path. For "-" the bytes follow whatever stdout already holds. */
int ck_outfile_save(const char *path, int flags, const void *p, size_t n, ck_err *err);

#endif
