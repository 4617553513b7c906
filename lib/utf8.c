/* utf8.c: UTF-8 decoding with U+FFFD for invalid sequences, and encoding.
 *
 * Well-formed sequences (Unicode 14, table 3-7):
 *   00..7F
 *   C2..DF 80..BF
 *   E0     A0..BF 80..BF        E1..EC 80..BF 80..BF
 *   ED     80..9F 80..BF        EE..EF 80..BF 80..BF
 *   F0     90..BF 80..BF 80..BF F1..F3 80..BF 80..BF 80..BF
 *   F4     80..8F 80..BF 80..BF
 * An ill-formed sequence is replaced by one U+FFFD per maximal subpart: the
 * longest prefix of a well-formed sequence that is there, or else one byte.
 * This is what Python's bytes.decode("utf-8", "replace") and the WHATWG
 * decoder do, so counts agree with them. */
#include "cnnkit/text.h"

size_t ck_utf8_decode(const unsigned char *s, size_t len, uint32_t *cp, size_t *invalid)
{
	unsigned b = s[0];
	if (b < 0x80) {
		*cp = b;
		return 1;
	}
	size_t need;  /* continuation bytes */
	unsigned lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
	uint32_t c;
	if (b >= 0xC2 && b <= 0xDF) {
		need = 1;
		c = b & 0x1F;
	} else if (b >= 0xE0 && b <= 0xEF) {
		need = 2;
		c = b & 0x0F;
		if (b == 0xE0)
			lo = 0xA0; /* overlong */
		else if (b == 0xED)
			hi = 0x9F; /* surrogates */
	} else if (b >= 0xF0 && b <= 0xF4) {
		need = 3;
		c = b & 0x07;
		if (b == 0xF0)
			lo = 0x90; /* overlong */
		else if (b == 0xF4)
			hi = 0x8F; /* above U+10FFFF */
	} else {
		goto bad; /* a continuation byte, C0, C1 or F5..FF */
	}
	size_t i = 1;
	for (; i <= need; i++) {
		if (i >= len)
			goto bad_at;
		unsigned t = s[i];
		if (t < lo || t > hi)
			goto bad_at;
		lo = 0x80, hi = 0xBF;
		c = c << 6 | (t & 0x3F);
	}
	*cp = c;
	return need + 1;
bad:
	i = 1;
bad_at:
	*cp = CK_UTF8_REPLACEMENT;
	if (invalid)
		++*invalid;
	return i;
}

size_t ck_utf8_encode(uint32_t cp, char out[4])
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xE0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

size_t ck_utf8_invalid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;
	size_t invalid = 0;
	uint32_t cp;
	while (p < end) {
		if (*p < 0x80) {
			p++;
			continue;
		}
		p += ck_utf8_decode(p, (size_t)(end - p), &cp, &invalid);
	}
	return invalid;
}
