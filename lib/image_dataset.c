/* image_dataset.c: a list of image files to the tensors x (N, C, H, W) and
 * y (N) of a dataset, decoded in parallel, written in input order.
 *
 * Images go in batches: every thread decodes and prepares images of the
 * batch (dynamic schedule: sizes vary), then the calling thread checks and
 * writes the batch in order. A batch holds at most about BATCH_BYTES of
 * prepared rows, so memory does not grow with the number of images; x is
 * streamed through the TNZ writer with an unknown row count, and y (4 bytes
 * an image) is kept and written after x. */
#include "image_internal.h"
#include "threads_internal.h"

#include <stdlib.h>
#include <string.h>

#define BATCH_BYTES ((size_t)256 << 20) /* prepared rows held at once */
#define BATCH_PER_THREAD 64             /* at most, images per thread and batch */

typedef struct slot {
	void *row;       /* (C, H, W) u8 or f32, malloc'ed; NULL on failure */
	int c, h, w;
	char *msg;       /* why the file was not read, malloc'ed */
} slot;

static void prepare_one(slot *s, const char *path, const ck_image_dataset_opts *o)
{
	ck_err err = {{0}};
	void *buf = NULL;
	size_t len = 0;
	ck_image img = {0};
	memset(s, 0, sizeof *s);
	if (ck_image_read_file(path, &buf, &len, &err) == 0 &&
	    ck_image_prepare(&img, buf, len, &o->prep, &err) == 0) {
		size_t n = (size_t)img.width * img.height * img.channels;
		s->row = malloc(n * (o->f32 ? sizeof(float) : 1));
		if (s->row) {
			if (o->f32)
				ck_image_to_chw_f32(s->row, &img, o->mean, o->std);
			else
				ck_image_to_chw_u8(s->row, &img);
			s->c = img.channels;
			s->h = img.height;
			s->w = img.width;
		} else {
			ck_err_set(&err, "out of memory");
		}
	}
	free(buf);
	ck_image_free(&img);
	if (!s->row)
		s->msg = strdup(err.msg[0] ? err.msg : "cannot be read");
}

int ck_image_dataset_write(ck_tnz_writer *w, const ck_image_list *l,
                           const ck_image_dataset_opts *o, size_t *written, size_t *skipped,
                           ck_err *err)
{
	*written = *skipped = 0;
#ifdef _OPENMP
	int threads = ck_threads_or_default(o->threads);
#else
	int threads = 1; /* whatever the count */
#endif
	int labelled = l->count > 0 && l->labels[0] >= 0;
	size_t elem = o->f32 ? sizeof(float) : 1;
	size_t row_guess = o->prep.width > 0
	                       ? (size_t)o->prep.width * o->prep.height * o->prep.channels * elem
	                       : 0;
	size_t max_batch = (size_t)threads * BATCH_PER_THREAD;
	size_t batch = (size_t)threads; /* until a row size is known */
	int32_t *y = labelled ? malloc((l->count ? l->count : 1) * sizeof *y) : NULL;
	slot *slots = calloc(max_batch, sizeof *slots);
	if (!slots || (labelled && !y)) {
		free(y);
		free(slots);
		return ck_err_set(err, "out of memory");
	}
	int begun = 0, rc = 0;
	int64_t shape[4] = {CK_TNZ_ROWS_UNKNOWN, 0, 0, 0};
	for (size_t i = 0; i < l->count && rc == 0;) {
		if (row_guess) {
			size_t fit = BATCH_BYTES / row_guess;
			batch = fit < (size_t)threads ? (size_t)threads : fit > max_batch ? max_batch : fit;
		}
		size_t b = l->count - i < batch ? l->count - i : batch;
		long nb = (long)b;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
		for (long k = 0; k < nb; k++)
			prepare_one(&slots[k], l->paths[i + (size_t)k], o);
		for (size_t k = 0; k < b; k++) {
			slot *s = &slots[k];
			const char *path = l->paths[i + k];
			if (rc < 0) {
				/* an earlier row failed: only free the rest */
			} else if (!s->row) {
				if (!o->skip_bad) {
					rc = ck_err_set(err, "%s: %s", path, s->msg ? s->msg : "out of memory");
				} else {
					++*skipped;
					if (o->on_skip)
						o->on_skip(o->ctx, path, s->msg ? s->msg : "out of memory");
				}
			} else {
				if (!begun) {
					shape[1] = s->c;
					shape[2] = s->h;
					shape[3] = s->w;
					row_guess = (size_t)s->c * s->h * s->w * elem;
					rc = ck_tnz_writer_begin(w, "x", o->f32 ? CK_DTYPE_F32 : CK_DTYPE_U8, 4,
					                         shape, -1, -1, err);
					begun = rc == 0;
				}
				if (rc == 0 && (s->c != shape[1] || s->h != shape[2] || s->w != shape[3]))
					rc = ck_err_set(err,
					                "%s: %dx%d with %d channels, unlike the first image "
					                "(%" PRId64 "x%" PRId64 "); resize with --size",
					                path, s->w, s->h, s->c, shape[3], shape[2]);
				if (rc == 0)
					rc = ck_tnz_writer_data(w, s->row, row_guess, err);
				if (rc == 0 && labelled)
					y[*written] = l->labels[i + k];
				if (rc == 0)
					++*written;
			}
			free(s->row);
			free(s->msg);
			memset(s, 0, sizeof *s);
		}
		i += b;
		if (rc == 0 && o->on_progress)
			o->on_progress(o->ctx, i, l->count);
	}
	free(slots);
	if (rc == 0 && !begun)
		rc = ck_err_set(err, l->count ? "no image could be read" : "no images");
	if (rc == 0)
		rc = ck_tnz_writer_end(w, err);
	if (rc == 0 && labelled) {
		int64_t n = (int64_t)*written;
		rc = ck_tnz_writer_begin(w, "y", CK_DTYPE_I32, 1, &n, -1, -1, err);
		if (rc == 0)
			rc = ck_tnz_writer_data(w, y, *written * sizeof *y, err);
		if (rc == 0)
			rc = ck_tnz_writer_end(w, err);
	}
	free(y);
	return rc;
}
