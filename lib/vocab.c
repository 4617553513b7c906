/* vocab.c: vocabularies, a hash table from token bytes to id and count
 * (cnnkit/text.h).
 *
 * Tokens are stored one after another, NUL-terminated, in one growing pool;
 * entries (offset, length, hash, count) are indexed by id; the table is open
 * addressing with linear probing over a power-of-two array of id + 1 (0 =
 * empty), kept at most half full. A lookup compares the stored 32-bit hash
 * before the bytes, so a miss rarely touches the pool. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnnkit/file.h"
#include "cnnkit/text.h"
#include "cnnkit/tnz.h"

typedef struct entry {
	size_t off;     /* of the token in the pool */
	uint32_t len;   /* bytes, without the NUL */
	uint32_t hash;  /* low half of the 64-bit hash */
	int64_t count;
} entry;

struct ck_vocab {
	char *pool;
	size_t pool_len, pool_cap;
	entry *ents;
	size_t n, ents_cap;
	uint32_t *slots; /* id + 1, or 0 for an empty slot */
	size_t mask;     /* slot count - 1 */
};

#define MAX_TOKEN_BYTES UINT32_MAX
#define MAX_IDS ((size_t)INT32_MAX) /* ids are stored as i32 in datasets */

static inline uint64_t rotl(uint64_t x, int r) { return x << r | x >> (64 - r); }

/* A 64-bit hash of len bytes, eight at a time. */
static uint64_t hash_bytes(const char *s, size_t len)
{
	const uint64_t k1 = 0x9E3779B97F4A7C15ull, k2 = 0xC2B2AE3D27D4EB4Full;
	uint64_t h = len * k1;
	while (len >= 8) {
		uint64_t w;
		memcpy(&w, s, 8);
		h = rotl(h ^ (w * k2), 31) * k1;
		s += 8;
		len -= 8;
	}
	if (len) {
		uint64_t w = 0;
		memcpy(&w, s, len);
		h = rotl(h ^ (w * k2), 31) * k1;
	}
	h ^= h >> 33; /* murmur3's finaliser */
	h *= 0xFF51AFD7ED558CCDull;
	h ^= h >> 33;
	h *= 0xC4CEB9FE1A85EC53ull;
	h ^= h >> 33;
	return h;
}

ck_vocab *ck_vocab_new(ck_err *err)
{
	ck_vocab *v = calloc(1, sizeof *v);
	if (v) {
		v->mask = 1023;
		v->slots = calloc(v->mask + 1, sizeof *v->slots);
	}
	if (!v || !v->slots) {
		free(v);
		ck_err_set(err, "out of memory");
		return NULL;
	}
	return v;
}

void ck_vocab_free(ck_vocab *v)
{
	if (!v)
		return;
	free(v->pool);
	free(v->ents);
	free(v->slots);
	free(v);
}

size_t ck_vocab_size(const ck_vocab *v) { return v->n; }

/* The slot holding tok, or the empty slot where it would go. */
static size_t probe(const ck_vocab *v, const char *tok, size_t len, uint64_t h)
{
	size_t i = (size_t)(h >> 32) & v->mask; /* the high half: the low half is stored */
	for (;; i = (i + 1) & v->mask) {
		uint32_t s = v->slots[i];
		if (!s)
			return i;
		const entry *e = &v->ents[s - 1];
		if (e->hash == (uint32_t)h && e->len == len && memcmp(v->pool + e->off, tok, len) == 0)
			return i;
	}
}

static int rehash(ck_vocab *v, size_t nslots)
{
	uint32_t *slots = calloc(nslots, sizeof *slots);
	if (!slots)
		return -1;
	free(v->slots);
	v->slots = slots;
	v->mask = nslots - 1;
	for (size_t id = 0; id < v->n; id++) {
		const entry *e = &v->ents[id];
		size_t i = probe(v, v->pool + e->off, e->len, hash_bytes(v->pool + e->off, e->len));
		v->slots[i] = (uint32_t)(id + 1);
	}
	return 0;
}

int64_t ck_vocab_find(const ck_vocab *v, const char *tok, size_t len)
{
	uint32_t s = v->slots[probe(v, tok, len, hash_bytes(tok, len))];
	return s ? (int64_t)s - 1 : -1;
}

int64_t ck_vocab_add(ck_vocab *v, const char *tok, size_t len, int64_t count, ck_err *err)
{
	uint64_t h = hash_bytes(tok, len);
	size_t i = probe(v, tok, len, h);
	if (v->slots[i]) {
		entry *e = &v->ents[v->slots[i] - 1];
		e->count += count;
		return v->slots[i] - 1;
	}
	if (len == 0)
		return ck_err_set(err, "empty token");
	if (len > MAX_TOKEN_BYTES || memchr(tok, '\t', len) || memchr(tok, '\n', len) ||
	    memchr(tok, '\0', len))
		return ck_err_set(err, "token \"%.*s\" holds a tab, a newline or a NUL",
		                  (int)(len < 40 ? len : 40), tok);
	if (v->n >= MAX_IDS)
		return ck_err_set(err, "vocabulary over %zu tokens", MAX_IDS);
	if (v->pool_cap - v->pool_len < len + 1) {
		size_t cap = v->pool_cap ? v->pool_cap : 4096;
		while (cap - v->pool_len < len + 1)
			cap *= 2;
		char *p = realloc(v->pool, cap);
		if (!p)
			return ck_err_set(err, "out of memory");
		v->pool = p;
		v->pool_cap = cap;
	}
	if (v->n == v->ents_cap) {
		size_t cap = v->ents_cap ? v->ents_cap * 2 : 256;
		entry *e = realloc(v->ents, cap * sizeof *e);
		if (!e)
			return ck_err_set(err, "out of memory");
		v->ents = e;
		v->ents_cap = cap;
	}
	memcpy(v->pool + v->pool_len, tok, len);
	v->pool[v->pool_len + len] = '\0';
	v->ents[v->n] = (entry){v->pool_len, (uint32_t)len, (uint32_t)h, count};
	v->pool_len += len + 1;
	v->slots[i] = (uint32_t)(++v->n);
	if (v->n * 2 > v->mask + 1 && rehash(v, (v->mask + 1) * 2) < 0) {
		v->slots[i] = 0; /* the table is unchanged: forget the new token */
		v->n--;
		v->pool_len -= len + 1;
		return ck_err_set(err, "out of memory");
	}
	return (int64_t)v->n - 1;
}

const char *ck_vocab_token(const ck_vocab *v, int64_t id, size_t *len)
{
	const entry *e = &v->ents[id];
	if (len)
		*len = e->len;
	return v->pool + e->off;
}

int64_t ck_vocab_count(const ck_vocab *v, int64_t id) { return v->ents[id].count; }

/* ---- finalize: reserved ids, then by count and bytes -------------------- */

typedef struct sort_key {
	int64_t count;
	const char *s;
	uint32_t len, id;
} sort_key;

static int by_count_then_bytes(const void *pa, const void *pb)
{
	const sort_key *a = pa, *b = pb;
	if (a->count != b->count)
		return a->count > b->count ? -1 : 1;
	int c = memcmp(a->s, b->s, a->len < b->len ? a->len : b->len);
	if (c)
		return c;
	return a->len < b->len ? -1 : a->len > b->len;
}

int ck_vocab_finalize(ck_vocab *v, int64_t min_count, size_t max_size, int32_t **remap,
                      ck_err *err)
{
	if (max_size == 1)
		return ck_err_set(err, "a vocabulary holds at least <pad> and <unk>");
	int64_t pad = ck_vocab_find(v, "<pad>", 5), unk = ck_vocab_find(v, "<unk>", 5);
	sort_key *order = malloc((v->n ? v->n : 1) * sizeof *order);
	int32_t *map = malloc((v->n ? v->n : 1) * sizeof *map);
	ck_vocab *nv = ck_vocab_new(err);
	if (!order || !map || !nv) {
		free(order);
		free(map);
		ck_vocab_free(nv);
		return ck_err_set(err, "out of memory");
	}
	size_t kept = 0;
	int64_t unk_count = unk >= 0 ? v->ents[unk].count : 0;
	for (size_t id = 0; id < v->n; id++) {
		map[id] = CK_VOCAB_UNK;
		const entry *e = &v->ents[id];
		if ((int64_t)id != pad && (int64_t)id != unk)
			order[kept++] = (sort_key){e->count, v->pool + e->off, e->len, (uint32_t)id};
	}
	qsort(order, kept, sizeof *order, by_count_then_bytes);
	size_t limit = max_size ? max_size - 2 : kept;
	int rc = ck_vocab_add(nv, "<pad>", 5, 0, err) < 0 || ck_vocab_add(nv, "<unk>", 5, 0, err) < 0;
	if (pad >= 0)
		map[pad] = CK_VOCAB_PAD;
	for (size_t k = 0; k < kept && !rc; k++) {
		const sort_key *o = &order[k];
		if (o->count < min_count || k >= limit) {
			unk_count += o->count;
			continue;
		}
		int64_t id = ck_vocab_add(nv, o->s, o->len, o->count, err);
		rc = id < 0;
		map[o->id] = (int32_t)id;
	}
	free(order);
	if (rc) {
		free(map);
		ck_vocab_free(nv);
		return -1;
	}
	nv->ents[CK_VOCAB_UNK].count = unk_count;
	/* Move nv's contents into v, keeping the caller's pointer. */
	ck_vocab old = *v;
	*v = *nv;
	*nv = old;
	ck_vocab_free(nv);
	if (remap)
		*remap = map;
	else
		free(map);
	return 0;
}

/* ---- text forms ---------------------------------------------------------- */

char *ck_vocab_to_meta(const ck_vocab *v, size_t *len, ck_err *err)
{
	size_t total = 0;
	for (size_t id = 0; id < v->n; id++)
		total += v->ents[id].len + 1;
	char *s = malloc(total + 1), *p = s;
	if (!s) {
		ck_err_set(err, "out of memory");
		return NULL;
	}
	for (size_t id = 0; id < v->n; id++) {
		memcpy(p, v->pool + v->ents[id].off, v->ents[id].len);
		p += v->ents[id].len;
		*p++ = '\n';
	}
	*p = '\0';
	*len = total;
	return s;
}

ck_vocab *ck_vocab_parse(const char *text, size_t len, ck_err *err)
{
	ck_vocab *v = ck_vocab_new(err);
	if (!v)
		return NULL;
	const char *p = text, *end = text + len;
	size_t line = 0;
	while (p < end) {
		line++;
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;
		const char *next = nl ? nl + 1 : end;
		if (eol > p && eol[-1] == '\r')
			eol--;
		const char *tab = memchr(p, '\t', (size_t)(eol - p));
		const char *tok_end = tab ? tab : eol;
		int64_t count = 0;
		if (tab) {
			char num[32];
			size_t n = (size_t)(eol - tab - 1);
			char *stop;
			if (n == 0 || n >= sizeof num)
				goto bad_count;
			memcpy(num, tab + 1, n);
			num[n] = '\0';
			errno = 0;
			long long c = strtoll(num, &stop, 10);
			if (*stop || errno || c < 0 || num[0] == '-' || num[0] == '+' || num[0] == ' ')
				goto bad_count;
			count = c;
		}
		if (tok_end == p) {
			ck_err_set(err, "line %zu: empty token", line);
			goto fail;
		}
		if (memchr(p, '\0', (size_t)(tok_end - p))) {
			ck_err_set(err, "line %zu: a NUL byte in the token", line);
			goto fail;
		}
		/* A CR would not survive the metadata form: "tok\r\n" reads back as
		 * "tok" (found by fuzzing). The tokenizer never makes one. */
		if (memchr(p, '\r', (size_t)(tok_end - p))) {
			ck_err_set(err, "line %zu: a carriage return in the token", line);
			goto fail;
		}
		if (ck_vocab_find(v, p, (size_t)(tok_end - p)) >= 0) {
			ck_err_set(err, "line %zu: token \"%.*s\" again", line,
			           (int)(tok_end - p < 40 ? tok_end - p : 40), p);
			goto fail;
		}
		static const char *const reserved[2] = {"<pad>", "<unk>"};
		if (line <= 2 && ((size_t)(tok_end - p) != 5 || memcmp(p, reserved[line - 1], 5))) {
			ck_err_set(err, "line %zu: expected \"%s\" (a vocabulary starts with <pad> and "
			           "<unk>)", line, reserved[line - 1]);
			goto fail;
		}
		if (ck_vocab_add(v, p, (size_t)(tok_end - p), count, err) < 0) {
			ck_err_prefix(err, "line %zu", line);
			goto fail;
		}
		p = next;
		continue;
	bad_count:
		ck_err_set(err, "line %zu: the count after the tab is not a whole number", line);
		goto fail;
	}
	if (v->n < 2) {
		ck_err_set(err, "a vocabulary starts with <pad> and <unk>, and this one is %s",
		           v->n ? "only <pad>" : "empty");
		goto fail;
	}
	return v;
fail:
	ck_vocab_free(v);
	return NULL;
}

int ck_vocab_write_txt(const ck_vocab *v, const char *path, ck_err *err)
{
	ck_outfile *o = ck_outfile_open(path, 0, err);
	FILE *f = o ? ck_outfile_stream(o, err) : NULL;
	if (!f) {
		ck_outfile_abort(o);
		return ck_err_prefix(err, "%s", path);
	}
	for (size_t id = 0; id < v->n; id++)
		fprintf(f, "%s\t%" PRId64 "\n", v->pool + v->ents[id].off, v->ents[id].count);
	if (ck_outfile_commit(o, err) < 0)
		return ck_err_prefix(err, "%s", path);
	return 0;
}

/* ---- loading: vocab.txt or any TNZ file with `vocab` metadata ----------- */

static const unsigned char tnz_magic[8] = {0x89, 'T', 'N', 'Z', '\r', '\n', 0x1A, '\n'};

static ck_vocab *load_tnz(const char *path, ck_meta *meta, int64_t *x_width, ck_err *err)
{
	ck_tnz_reader *r = ck_tnz_reader_open(path, 1, err);
	if (!r)
		return NULL;
	ck_tnz_header h;
	int rc;
	while ((rc = ck_tnz_reader_next(r, &h, err)) == 1)
		if (x_width && strcmp(h.name, "x") == 0 && h.rank == 2)
			*x_width = h.dims[1];
	ck_vocab *v = NULL;
	if (rc == 0) {
		size_t len;
		const char *text = ck_meta_get(ck_tnz_reader_meta(r), "vocab", &len);
		if (!text)
			ck_err_set(err, "no \"vocab\" metadata");
		else if ((v = ck_vocab_parse(text, len, err)) == NULL)
			ck_err_prefix(err, "metadata \"vocab\"");
		else if (meta && ck_meta_merge(meta, ck_tnz_reader_meta(r), err) < 0) {
			ck_vocab_free(v);
			v = NULL;
		}
	}
	ck_tnz_reader_close(r);
	if (!v)
		ck_err_prefix(err, "%s", path);
	return v;
}

ck_vocab *ck_vocab_load(const char *path, ck_meta *meta, int64_t *x_width, ck_err *err)
{
	if (x_width)
		*x_width = 0;
	int is_stdin = strcmp(path, "-") == 0;
	FILE *f = is_stdin ? stdin : fopen(path, "rb");
	if (!f) {
		ck_err_set(err, "%s: %s", path, strerror(errno));
		return NULL;
	}
	char *buf = NULL;
	size_t len = 0, cap = 0;
	unsigned char head[8];
	size_t got = fread(head, 1, sizeof head, f);
	if (got == sizeof head && memcmp(head, tnz_magic, 8) == 0) {
		if (!is_stdin)
			fclose(f);
		if (is_stdin) {
			ck_err_set(err, "standard input: a TNZ vocabulary must be named as a file");
			return NULL;
		}
		return load_tnz(path, meta, x_width, err);
	}
	cap = 1 << 16;
	buf = malloc(cap);
	if (buf) {
		memcpy(buf, head, got);
		len = got;
		for (;;) {
			if (len == cap) {
				char *b = realloc(buf, cap * 2);
				if (!b)
					break;
				buf = b;
				cap *= 2;
			}
			size_t n = fread(buf + len, 1, cap - len, f);
			len += n;
			if (n == 0)
				break;
		}
	}
	int bad = !buf || len == cap || ferror(f);
	int e = errno;
	if (!is_stdin)
		fclose(f);
	ck_vocab *v = NULL;
	if (bad) {
		ck_err_set(err, "%s: %s", path, buf ? strerror(e) : "out of memory");
	} else if ((v = ck_vocab_parse(buf, len, err)) == NULL) {
		ck_err_prefix(err, "%s", path);
	}
	free(buf);
	return v;
}
