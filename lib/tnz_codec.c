/* tnz_codec.c: the bytes of one DATA chunk: CRC-32, the byte-shuffle filter,
 * deflate on the way out and a bounded inflate on the way in. */
#include "cnnkit.h"
#include "tnz_internal.h"

#include <string.h>
#include <zlib.h>

uint32_t ck_crc32(uint32_t crc, const void *buf, size_t len)
{
	return (uint32_t)crc32_z(crc, buf, len);
}

void tnz_tag_str(uint32_t tag, char out[5])
{
	for (int i = 0; i < 4; i++) {
		unsigned char c = (unsigned char)(tag >> (8 * i));
		out[i] = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ? (char)c : '?';
	}
	out[4] = '\0';
}

void tnz_shuffle(unsigned char *dst, const unsigned char *src, size_t n, size_t s)
{
	size_t e = n / s;
	for (size_t j = 0; j < s; j++) {
		unsigned char *out = dst + j * e;
		const unsigned char *in = src + j;
		for (size_t i = 0; i < e; i++)
			out[i] = in[i * s];
	}
}

void tnz_unshuffle(unsigned char *dst, const unsigned char *src, size_t n, size_t s)
{
	size_t e = n / s;
	for (size_t j = 0; j < s; j++) {
		const unsigned char *in = src + j * e;
		unsigned char *out = dst + j;
		for (size_t i = 0; i < e; i++)
			out[i * s] = in[i];
	}
}
