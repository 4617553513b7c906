/* augment.c: random horizontal flips and padded random crops of images,
 * decided per example by a counter-based hash (cnnkit/data.h). */
#include <inttypes.h>
#include <stdint.h>
#include <string.h>

#include "cnnkit.h"

int ck_augment_check(const ck_augment *aug, const ck_dataset *d, ck_err *err)
{
	if (!aug || (!aug->flip && aug->crop_pad == 0))
		return 0;
	if (d->input_kind != CK_INPUT_F32 || d->example_rank != 3)
		return ck_err_set(err, "augmentation needs images (N,C,H,W); the examples are not");
	int64_t h = d->example_shape[1], w = d->example_shape[2];
	int64_t side = h < w ? h : w;
	if (aug->crop_pad < 0 || aug->crop_pad >= side)
		return ck_err_set(err, "crop padding %d is outside [0, %" PRId64 ") for %" PRId64
		                  "x%" PRId64 " images", aug->crop_pad, side, h, w);
	return 0;
}

/* Uniform integer in [-p, p] from the top 32 bits of h (multiply-shift:
 * the bias is below 2^-31 for any p used here). */
static int shift_from(uint64_t h, int p)
{
	uint64_t span = 2 * (uint64_t)p + 1;
	return (int)(((h >> 32) * span) >> 32) - p;
}

void ck_augment_decide(const ck_augment *aug, int64_t i, int *flip, int *dy, int *dx)
{
	/* One key per (seed, epoch); three counters per example. */
	uint64_t key = ck_hash_u64(aug->seed, aug->epoch);
	uint64_t c = 3 * (uint64_t)i;
	*flip = aug->flip ? (int)(ck_hash_u64(key, c) >> 63) : 0;
	*dy = aug->crop_pad > 0 ? shift_from(ck_hash_u64(key, c + 1), aug->crop_pad) : 0;
	*dx = aug->crop_pad > 0 ? shift_from(ck_hash_u64(key, c + 2), aug->crop_pad) : 0;
}

void ck_augment_image(float *out, const void *in, int in_u8, int C, int H, int W, int flip,
                      int dy, int dx)
{
	const uint8_t *in8 = in;
	const float *in32 = in;
	/* Output column x reads input column sx = x0 + step*x. */
	int x0 = flip ? W - 1 + dx : dx;
	int step = flip ? -1 : 1;
	for (int c = 0; c < C; c++) {
		for (int y = 0; y < H; y++) {
			float *o = out + ((size_t)c * H + y) * W;
			int sy = y + dy;
			if (sy < 0 || sy >= H) {
				memset(o, 0, (size_t)W * sizeof *o);
				continue;
			}
			size_t row = ((size_t)c * H + sy) * W;
			for (int x = 0; x < W; x++) {
				int sx = x0 + step * x;
				if (sx < 0 || sx >= W)
					o[x] = 0.0f;
				else if (in_u8)
					o[x] = (float)in8[row + sx] / 255.0f;
				else
					o[x] = in32[row + sx];
			}
		}
	}
}
