/* png.c: tnz png, a tensor of images drawn as a contact sheet. */
#include "tnz.h"

#include <inttypes.h>
#include <string.h>

#define PNG_IMAGES 64 /* images in a contact sheet without -n */

/* The tensor png shows: -t NAME, else the only tensor, else "x". */
static const ck_tensor *png_tensor(const struct opts *o, const ck_tnz *t, const char *in)
{
	const char *name = o->ntensors ? o->tensors[0] : t->count == 1 ? t->tensors[0].name : "x";
	const ck_tensor *x = ck_tnz_find(t, name);
	if (!x && !o->ntensors && t->count != 1)
		errmsg("%s: %zu tensors and none called \"x\": choose one with -t NAME", in_name(in),
		     t->count);
	else if (!x)
		errmsg("%s: no tensor \"%s\"", in_name(in), name);
	return x;
}

int cmd_png(const struct opts *o, int argc, char **argv)
{
	if (argc > 1)
		usage_error("one FILE only");
	if (o->ntensors > 1)
		usage_error("one -t only");
	if (o->nout != 1)
		usage_error("give -o OUT.png (- for standard output)");
	if (o->rows == 0)
		usage_error("-n: at least 1 image");
	if (o->index >= 0 && o->rows > 0)
		usage_error("--index shows one image: no -n with it");
	const char *in = argc ? argv[0] : "-", *out = o->out[0];

	ck_tnz t = {0};
	ck_err err = {{0}};
	if (ck_tnz_load(&t, in, o->threads, &err) < 0)
		return fail(in_name(in), &err);
	const ck_tensor *x = png_tensor(o, &t, in);
	int status = x ? 0 : 1;
	char shape[160];
	if (x)
		ck_tensor_shape_str(x, shape, sizeof shape);
	if (x && (x->rank != 4 || (x->dims[1] != 1 && x->dims[1] != 3))) {
		errmsg("%s: tensor \"%s\" has shape %s, not (N, C, H, W) with C 1 or 3", in_name(in),
		     x->name, shape);
		status = 1;
	} else if (x && x->dtype != CK_DTYPE_U8 && x->dtype != CK_DTYPE_F32) {
		errmsg("%s: tensor \"%s\" is %s, not u8 or f32", in_name(in), x->name,
		     ck_dtype_name(x->dtype));
		status = 1;
	} else if (x && o->index >= x->dims[0]) {
		errmsg("%s: --index %" PRId64 ": tensor \"%s\" has %" PRId64 " images", in_name(in),
		     o->index, x->name, x->dims[0]);
		status = 1;
	} else if (x && x->dims[0] == 0) {
		errmsg("%s: tensor \"%s\" has no images", in_name(in), x->name);
		status = 1;
	}
	if (!status && x->dtype == CK_DTYPE_U8 && o->lo != o->hi && !o->quiet)
		errmsg("--range applies to f32 tensors; u8 values are shown as they are");
	if (!status) {
		const unsigned char *data = x->data;
		int64_t n = o->rows > 0 ? o->rows : PNG_IMAGES;
		int cols = o->cols, gap = o->gap;
		if (o->index >= 0) { /* one image: a grid of one, no border */
			data += (size_t)o->index * ck_tensor_row_bytes(x);
			n = 1;
			cols = 1;
			gap = 0;
		}
		ck_image img = {0};
		if (ck_image_grid(&img, data, x->dtype, x->dims, n, cols, gap, o->lo, o->hi, &err) < 0 ||
		    ck_image_write_png(&img, out, &err) < 0)
			status = fail(out_name(out), &err);
		ck_image_free(&img);
	}
	ck_tnz_free(&t);
	return status;
}
