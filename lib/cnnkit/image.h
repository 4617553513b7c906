/* cnnkit/image.h: image decoding (PNG, JPEG, PNM), colour conversion,
 * resizing, PNG writing and image datasets.
 *
 * An image in memory is 8 bits per channel, channels interleaved, rows top to
 * bottom: data (height, width, channels). Tensors of images are planar:
 * (N, C, H, W). Decoders take a memory buffer, never trust the sizes a file
 * claims (CK_IMAGE_MAX_SIDE, CK_IMAGE_MAX_PIXELS are checked before any
 * allocation) and report a corrupt or truncated file as an error.
 *
 * Pixel values follow Pillow's decoders: 16-bit PNG samples keep their high
 * byte; PNM samples are scaled to 0..255 as round(v * 255 / maxval), ties to
 * even; CMYK JPEGs with an Adobe marker are inverted (Adobe's convention) and
 * converted as R = (255 - C) (255 - K) / 255. Gray is ITU-R 601-2 luma,
 * L = (19595 R + 38470 G + 7471 B + 2^15) >> 16 (Pillow's "L"). Resizing is
 * Pillow's BOX (area averaging) and BILINEAR (support-scaled triangle) filter
 * on pixel centres, horizontal pass first, 8-bit between the passes. */
#ifndef CNNKIT_IMAGE_H
#define CNNKIT_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "base.h"
#include "tnz.h"

#define CK_IMAGE_MAX_SIDE 65535              /* pixels of a width or a height */
#define CK_IMAGE_MAX_PIXELS ((int64_t)1 << 28) /* width * height, exclusive */
#define CK_IMAGE_MAX_FILE ((size_t)1 << 30)  /* bytes of an image file */

typedef struct ck_image {
	int width, height;
	int channels;  /* 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA */
	uint8_t *data; /* (height, width, channels), malloc'ed, owned */
} ck_image;

typedef enum ck_image_format {
	CK_IMAGE_UNKNOWN = 0,
	CK_IMAGE_PNG,
	CK_IMAGE_JPEG,
	CK_IMAGE_PNM,
} ck_image_format;

/* ---- images ------------------------------------------------------------ */

/* Allocates img->data for the given size (checked against the limits). */
int ck_image_alloc(ck_image *img, int width, int height, int channels, ck_err *err);
void ck_image_free(ck_image *img);

/* The format of a file from its first bytes. */
ck_image_format ck_image_sniff(const void *buf, size_t len);

/* Decoders: fill *out (need not be initialised; left empty on failure). A PNG
 * gives 1 to 4 channels as stored (palettes expanded, tRNS as alpha); a JPEG
 * 1 or 3 (CMYK converted to RGB); a PNM 1 or 3.
 * ck_image_decode_jpeg's scale_denom (1, 2, 4 or 8) decodes at 1/scale_denom
 * of the size by DCT scaling (sizes rounded up), which is much faster. */
int ck_image_decode_png(ck_image *out, const void *buf, size_t len, ck_err *err);
int ck_image_decode_jpeg(ck_image *out, const void *buf, size_t len, int scale_denom,
                         ck_err *err);
int ck_image_decode_pnm(ck_image *out, const void *buf, size_t len, ck_err *err);
/* Sniffs the format and calls its decoder (JPEG at full size). */
int ck_image_decode(ck_image *out, const void *buf, size_t len, ck_err *err);
/* Reads a whole file (at most CK_IMAGE_MAX_FILE bytes) into *buf (malloc'ed,
 * *len bytes and one spare byte after them, for a terminating NUL). */
int ck_image_read_file(const char *path, void **buf, size_t *len, ck_err *err);

/* Converts img in place to channels (1 or 3), compositing any alpha over
 * background (RGB; its luma for gray output): out = (s a + b (255 - a)) / 255,
 * rounded. */
int ck_image_convert(ck_image *img, int channels, const uint8_t background[3], ck_err *err);

/* ---- resizing ---------------------------------------------------------- */

typedef enum ck_image_filter {
	CK_IMAGE_BOX = 0,      /* area average: for shrinking */
	CK_IMAGE_BILINEAR = 1, /* triangle, support 1 scaled when shrinking */
	CK_IMAGE_AUTO = 2,     /* BOX when shrinking, BILINEAR when growing (per axis) */
} ck_image_filter;

/* Resizes the rectangle (x0, y0, sw, sh) of src into dst (dst's size and
 * src's channel count; dst->data allocated by the caller). */
int ck_image_resize(ck_image *dst, const ck_image *src, int x0, int y0, int sw, int sh,
                    ck_image_filter filter, ck_err *err);

/* ---- preparing images for a network ------------------------------------ */

typedef enum ck_image_fit {
	CK_IMAGE_STRETCH = 0, /* resize to width x height, ignoring the aspect ratio */
	CK_IMAGE_LETTERBOX,   /* fit inside, pad with the background colour */
	CK_IMAGE_CROP,        /* cover, cut the centre */
} ck_image_fit;

typedef struct ck_image_prep {
	int channels;          /* 1 or 3 */
	int width, height;     /* target size; 0, 0 = keep the decoded size */
	ck_image_fit fit;
	ck_image_filter filter;
	uint8_t background[3]; /* RGB under alpha and in letterbox bars */
	int jpeg_scale;        /* 1: decode JPEGs DCT-scaled (1/2, 1/4, 1/8) while
	                          still at least twice the target size: 2-3x faster,
	                          but no longer Pillow's BOX within 1 (a few levels
	                          off on noisy content); 0: full size (default) */
} ck_image_prep;

/* White background, RGB, keep size, AUTO filter, no DCT scaling. */
#define CK_IMAGE_PREP_DEFAULT ((ck_image_prep){3, 0, 0, CK_IMAGE_STRETCH, CK_IMAGE_AUTO, \
                                               {255, 255, 255}, 0})

/* Decodes buf and converts, fits and resizes it as p says into *out. */
int ck_image_prepare(ck_image *out, const void *buf, size_t len, const ck_image_prep *p,
                     ck_err *err);

/* Interleaved (H,W,C) to planar (C,H,W): u8 copies; f32 gives
 * (v / 255 - mean[c]) / std[c] (mean, std may be NULL: v / 255). */
void ck_image_to_chw_u8(uint8_t *dst, const ck_image *img);
void ck_image_to_chw_f32(float *dst, const ck_image *img, const float *mean, const float *std);

/* ---- writing ----------------------------------------------------------- */

/* Encodes img (1 to 4 channels) as an 8-bit PNG into *out (malloc'ed). */
int ck_image_encode_png(const ck_image *img, void **out, size_t *len, ck_err *err);
/* Writes img as PNG to path ("-" standard output, refused when a terminal),
 * through a temporary file renamed into place (ck_outfile_open). Messages do
 * not name the path. */
int ck_image_write_png(const ck_image *img, const char *path, ck_err *err);

/* A contact sheet of the first n images of x (N, C, H, W), u8 or f32, C 1 or
 * 3: a grid of cols columns (0: about square) with gap pixels of gray (128)
 * between the cells. f32 values map [lo, hi] to 0..255 (clamped); lo == hi
 * chooses [0, 1] when every value shown is inside it, else their min..max.
 * n = 1 with gap 0 is a single image. */
int ck_image_grid(ck_image *out, const void *x, ck_dtype dtype, const int64_t dims[4],
                  int64_t n, int cols, int gap, float lo, float hi, ck_err *err);

/* ---- datasets ---------------------------------------------------------- */

/* A list of image paths, each with a class (-1: none). */
typedef struct ck_image_list {
	char **paths;
	int32_t *labels;
	size_t count, cap;
} ck_image_list;

/* Adds a file, or every image file under a directory: walked recursively in
 * byte order of the names, keeping files whose extension is an image's (png,
 * jpg, jpeg, jpe, jfif, pbm, pgm, ppm, pnm; any case), skipping names that
 * start with a dot. A file named directly is added whatever its name. */
int ck_image_list_add(ck_image_list *l, const char *path, ck_err *err);
void ck_image_list_free(ck_image_list *l);

/* Class names, in class-id order. */
typedef struct ck_image_classes {
	char **names;
	size_t count, cap;
} ck_image_classes;

/* Labels from each image's parent directory name. With fixed == 0 the classes
 * are every name found, sorted (byte order), replacing c's content; with
 * fixed == 1 they are c as given and an unknown name is an error. */
int ck_image_label_by_dir(ck_image_list *l, ck_image_classes *c, int fixed, ck_err *err);
/* Labels from a file of "path<TAB>class" lines; relative paths are relative
 * to the directory of tsv_path; paths match after resolution (realpath).
 * Classes as in ck_image_label_by_dir (with fixed == 0: the classes named in
 * the file, sorted). An image without a line is an error. */
int ck_image_label_by_tsv(ck_image_list *l, ck_image_classes *c, int fixed,
                          const char *tsv_path, ck_err *err);
/* Parses "name\n" lines (a `classes` metadata value) into c. */
int ck_image_classes_parse(ck_image_classes *c, const char *text, size_t len, ck_err *err);
/* Joins the names, each followed by '\n', into a malloc'ed string. */
char *ck_image_classes_join(const ck_image_classes *c, size_t *len);
void ck_image_classes_free(ck_image_classes *c);

typedef struct ck_image_dataset_opts {
	ck_image_prep prep;
	int f32;               /* 0: x is u8; 1: f32 (v / 255 - mean) / std */
	float mean[3], std[3]; /* per channel, with f32 */
	int skip_bad;          /* leave out unreadable files instead of failing */
	int threads;           /* decoding threads; 0 = all */
	/* Called (from the calling thread, in input order) for each file left
	 * out, and after each batch; either may be NULL. */
	void (*on_skip)(void *ctx, const char *path, const char *msg);
	void (*on_progress)(void *ctx, size_t done, size_t total);
	void *ctx;
} ck_image_dataset_opts;

/* Decodes every image of l (in parallel, in batches that bound the memory)
 * and writes x (N, C, H, W), then y (N) i32 when l has labels, to w, in the
 * order of l. Without a target size every image must have the size of the
 * first. A bad file fails the call (its path in the message) unless
 * skip_bad; *written and *skipped receive the counts. Metadata is the
 * caller's: write it to w before. On failure w is left for the caller to
 * abort. */
int ck_image_dataset_write(ck_tnz_writer *w, const ck_image_list *l,
                           const ck_image_dataset_opts *o, size_t *written, size_t *skipped,
                           ck_err *err);

#endif
