/* trainlog.c: the training log, a TSV file (formats/log.md).
 *
 *   epoch  step  seconds  lr  loss  acc  [val_loss  val_acc]
 *
 * One row per line, flushed as soon as it is written so that `tail -f` and
 * `lossplot --follow` see it live; a value that does not apply is an empty
 * field. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "train_internal.h"

static const char header_base[] = "epoch\tstep\tseconds\tlr\tloss\tacc";
static const char header_val[] = "\tval_loss\tval_acc";

int ck_train_log_open(ck_train_log *log, const char *path, int val, int append, ck_err *err)
{
	memset(log, 0, sizeof *log);
	snprintf(log->path, sizeof log->path, "%s", path);
	log->val = val;
	char header[128];
	snprintf(header, sizeof header, "%s%s\n", header_base, val ? header_val : "");

	if (append) {
		FILE *f = fopen(path, "r");
		if (f) {
			char line[256] = "";
			int ok = fgets(line, sizeof line, f) != NULL;
			fclose(f);
			if (ok && strcmp(line, header) != 0)
				return ck_err_set(err, "log %s: its header is not that of this run (%s "
				                  "validation columns)", path, val ? "with" : "without");
			log->f = fopen(path, "a");
			if (!log->f)
				return ck_err_set(err, "log %s: %s", path, strerror(errno));
			if (ok)
				return 0;
			goto header;
		}
	}
	log->f = fopen(path, "w");
	if (!log->f)
		return ck_err_set(err, "log %s: %s", path, strerror(errno));
header:
	if (fputs(header, log->f) == EOF || fflush(log->f) == EOF) {
		ck_err_set(err, "log %s: %s", path, strerror(errno));
		fclose(log->f);
		log->f = NULL;
		return -1;
	}
	return 0;
}

/* A field: TAB (unless first) and the value, or nothing for NaN. */
static void field(FILE *f, const char *fmt, double v)
{
	fputc('\t', f);
	if (!isnan(v))
		fprintf(f, fmt, v);
}

int ck_train_log_row(ck_train_log *log, double epoch, int64_t step, double seconds, double lr,
                     double loss, double acc, double val_loss, double val_acc, ck_err *err)
{
	if (!log->f)
		return 0;
	FILE *f = log->f;
	fprintf(f, "%.4f\t%lld", epoch, (long long)step);
	field(f, "%.3f", seconds);
	field(f, "%.6g", lr);
	field(f, "%.6g", loss);
	field(f, "%.6g", acc);
	if (log->val) {
		field(f, "%.6g", val_loss);
		field(f, "%.6g", val_acc);
	}
	fputc('\n', f);
	if (fflush(f) == EOF || ferror(f))
		return ck_err_set(err, "log %s: %s", log->path, strerror(errno));
	return 0;
}

int ck_train_log_close(ck_train_log *log, ck_err *err)
{
	if (!log->f)
		return 0;
	int bad = ferror(log->f);
	int rc = fclose(log->f);
	log->f = NULL;
	if (bad || rc == EOF)
		return ck_err_set(err, "log %s: write error", log->path);
	return 0;
}
