/* image_internal.h: helpers shared by the image decoders (not public). */
#ifndef CK_IMAGE_INTERNAL_H
#define CK_IMAGE_INTERNAL_H

#include <inttypes.h>

#include "cnnkit.h"

/* 0 if a width x height image is within the limits, else -1 with a message
 * naming the format (what). */
int ck_image_check_size(int64_t width, int64_t height, const char *what, ck_err *err);

/* The size a JPEG declares (its header only is read). */
int ck_image_jpeg_size(const void *buf, size_t len, int *width, int *height, ck_err *err);

#endif
