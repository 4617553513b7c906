/* dataset_vocab.c: are a dataset's token ids those of a model (or of the
 * training data)? Compares the `vocab` metadata token by token
 * (cnnkit/data.h). */
#include <inttypes.h>
#include <string.h>

#include "cnnkit.h"

#define SHOWN 40 /* bytes of a token quoted in a message */

static int64_t count_lines(const char *text, size_t len)
{
	int64_t n = 0;
	for (size_t i = 0; i < len; i++)
		n += text[i] == '\n';
	return n + (len > 0 && text[len - 1] != '\n');
}

/* Length of the line at p (up to end), without its '\n'. */
static size_t line_len(const char *p, const char *end)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	return (size_t)((nl ? nl : end) - p);
}

int ck_dataset_check_vocab(const ck_dataset *d, const ck_meta *ref, const char *ref_name,
                           ck_err *err)
{
	size_t dlen, rlen;
	const char *dv = ck_meta_get(&d->file.meta, "vocab", &dlen);
	const char *rv = ck_meta_get(ref, "vocab", &rlen);
	if (!dv)
		return 1;
	if (!rv)
		return 2;
	if (dlen == rlen && memcmp(dv, rv, dlen) == 0)
		return 0;
	int64_t dn = count_lines(dv, dlen), rn = count_lines(rv, rlen);
	if (dn != rn)
		return ck_err_set(err, "the vocabulary has %" PRId64 " tokens, the %s's %" PRId64, dn,
		                  ref_name, rn);
	const char *p = dv, *q = rv, *pend = dv + dlen, *qend = rv + rlen;
	for (int64_t id = 0; id < dn; id++) {
		size_t a = line_len(p, pend), b = line_len(q, qend);
		if (a != b || memcmp(p, q, a) != 0)
			return ck_err_set(err, "the vocabulary differs from the %s's: id %" PRId64
			                  " is \"%.*s\"%s here, \"%.*s\"%s in the %s", ref_name, id,
			                  (int)(a < SHOWN ? a : SHOWN), p, a > SHOWN ? "..." : "",
			                  (int)(b < SHOWN ? b : SHOWN), q, b > SHOWN ? "..." : "", ref_name);
		p += a + (p + a < pend);
		q += b + (q + b < qend);
	}
	return 0; /* the same tokens; only a final newline differs */
}
