/* npz.c: NumPy .npz archives, i.e. zip files of .npy members, with a zip
 * reader and writer of their own (PKWARE APPNOTE 6.3, the parts numpy uses).
 *
 * Layout, all integers little-endian:
 *   for each member: local header (30 bytes + name + extra), data
 *   central directory: one header per member (46 bytes + name + extra + comment)
 *   [ZIP64 end of central directory record (56) and locator (20)]
 *   end of central directory record (22 bytes + comment)
 * ZIP64: a 32-bit size or offset of 0xffffffff (a 16-bit count of 0xffff)
 * means "the real value is in the ZIP64 extra field / record".
 *
 * The reader trusts nothing: every offset and size is checked against the
 * bytes present, members may not overlap (which bounds what a small file can
 * inflate to), inflated sizes are checked as data arrives, and every
 * member's CRC-32 is verified. */
#include "io_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <zlib.h>

#define SIG_LOCAL 0x04034b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_EOCD 0x06054b50u
#define SIG_EOCD64 0x06064b50u
#define SIG_LOCATOR64 0x07064b50u
#define LOCAL_SIZE 30
#define CENTRAL_SIZE 46
#define EOCD_SIZE 22
#define EOCD64_SIZE 56
#define LOCATOR64_SIZE 20
#define ZIP64_EXTRA_ID 0x0001
#define DEFLATE_MAX_RATIO 1032 /* deflate never expands a stream more than this */

/* ======================================================================== */
/* Reading                                                                  */
/* ======================================================================== */

typedef struct zip_entry {
	const unsigned char *name;
	size_t name_len;
	int method; /* 0 stored, 8 deflate */
	uint32_t crc;
	uint64_t csize, usize, offset; /* offset of the local header */
	uint64_t data_off;             /* of the data, after the local header */
	size_t index;                  /* position in the central directory */
} zip_entry;

/* The end of central directory values that matter. */
typedef struct zip_end {
	uint64_t entries, cd_size, cd_off;
	uint64_t cd_limit; /* the central directory must end by here */
} zip_end;

static int find_end(const unsigned char *buf, size_t len, zip_end *end, ck_err *err)
{
	if (len < EOCD_SIZE)
		return ck_err_set(err, "not a zip archive (%zu bytes)", len);
	/* The record is the last thing in the file, followed only by its comment
	 * (at most 65535 bytes). Scan back for a signature whose comment length
	 * reaches exactly the end of the file. */
	size_t pos = len - EOCD_SIZE, lowest = len - EOCD_SIZE > 65535 ? len - EOCD_SIZE - 65535 : 0;
	for (;; pos--) {
		if (ck_io_le32(buf + pos) == SIG_EOCD &&
		    pos + EOCD_SIZE + ck_io_le16(buf + pos + 20) == len)
			break;
		if (pos == lowest)
			return ck_err_set(err, "not a zip archive (no end of central directory record)");
	}
	const unsigned char *e = buf + pos;
	uint32_t disk = ck_io_le16(e + 4), cd_disk = ck_io_le16(e + 6);
	uint64_t n_disk = ck_io_le16(e + 8);
	end->entries = ck_io_le16(e + 10);
	end->cd_size = ck_io_le32(e + 12);
	end->cd_off = ck_io_le32(e + 16);
	end->cd_limit = pos;
	if (pos >= LOCATOR64_SIZE && ck_io_le32(e - LOCATOR64_SIZE) == SIG_LOCATOR64) {
		const unsigned char *l = e - LOCATOR64_SIZE;
		uint64_t off64 = ck_io_le64(l + 8);
		if (ck_io_le32(l + 4) != 0 || ck_io_le32(l + 16) > 1)
			return ck_err_set(err, "multi-disk zip archives are not supported");
		if (off64 > pos - LOCATOR64_SIZE || pos - LOCATOR64_SIZE - off64 < EOCD64_SIZE)
			return ck_err_set(err, "bad ZIP64 locator (record offset %llu)",
			                  (unsigned long long)off64);
		const unsigned char *z = buf + off64;
		if (ck_io_le32(z) != SIG_EOCD64)
			return ck_err_set(err, "bad ZIP64 end of central directory signature");
		disk = ck_io_le32(z + 16);
		cd_disk = ck_io_le32(z + 20);
		n_disk = ck_io_le64(z + 24);
		end->entries = ck_io_le64(z + 32);
		end->cd_size = ck_io_le64(z + 40);
		end->cd_off = ck_io_le64(z + 48);
		end->cd_limit = off64;
	}
	if (disk != 0 || cd_disk != 0 || n_disk != end->entries)
		return ck_err_set(err, "multi-disk zip archives are not supported");
	if (end->cd_off > end->cd_limit || end->cd_size > end->cd_limit - end->cd_off)
		return ck_err_set(err, "central directory (offset %llu, %llu bytes) outside the file",
		                  (unsigned long long)end->cd_off, (unsigned long long)end->cd_size);
	if (end->entries > end->cd_size / CENTRAL_SIZE)
		return ck_err_set(err, "%llu entries cannot fit a central directory of %llu bytes",
		                  (unsigned long long)end->entries, (unsigned long long)end->cd_size);
	return 0;
}

/* Replaces the 0xffffffff fields of e by those of its ZIP64 extra field. */
static int read_zip64_extra(const unsigned char *x, size_t xlen, zip_entry *e, int need_usize,
                            int need_csize, int need_offset, ck_err *err)
{
	while (xlen >= 4) {
		unsigned id = ck_io_le16(x), n = ck_io_le16(x + 2);
		if (n > xlen - 4)
			return ck_err_set(err, "extra field overruns its header");
		if (id == ZIP64_EXTRA_ID) {
			const unsigned char *p = x + 4;
			unsigned left = n;
			uint64_t *want[3] = {need_usize ? &e->usize : NULL, need_csize ? &e->csize : NULL,
			                     need_offset ? &e->offset : NULL};
			for (int i = 0; i < 3; i++) {
				if (!want[i])
					continue;
				if (left < 8)
					return ck_err_set(err, "ZIP64 extra field too short");
				*want[i] = ck_io_le64(p);
				p += 8;
				left -= 8;
			}
			return 0;
		}
		x += 4 + n;
		xlen -= 4 + n;
	}
	return 0; /* no ZIP64 field: the 0xffffffff values are taken as they are */
}

static int is_dir_entry(const zip_entry *e)
{
	return e->name_len > 0 && e->name[e->name_len - 1] == '/' && e->usize == 0;
}

/* Parses central header i at *p (advanced past it) into e. */
static int read_central(const unsigned char *buf, const zip_end *end, const unsigned char **p,
                        zip_entry *e, ck_err *err)
{
	const unsigned char *c = *p, *cd_end = buf + end->cd_off + end->cd_size;
	if ((size_t)(cd_end - c) < CENTRAL_SIZE || ck_io_le32(c) != SIG_CENTRAL)
		return ck_err_set(err, "bad central directory header");
	unsigned flags = ck_io_le16(c + 8);
	size_t nlen = ck_io_le16(c + 28), xlen = ck_io_le16(c + 30), clen = ck_io_le16(c + 32);
	if (nlen + xlen + clen > (size_t)(cd_end - c) - CENTRAL_SIZE)
		return ck_err_set(err, "central directory header overruns the directory");
	e->method = ck_io_le16(c + 10);
	e->crc = ck_io_le32(c + 16);
	e->csize = ck_io_le32(c + 20);
	e->usize = ck_io_le32(c + 24);
	e->offset = ck_io_le32(c + 42);
	e->name = c + CENTRAL_SIZE;
	e->name_len = nlen;
	unsigned disk = ck_io_le16(c + 34);
	if (read_zip64_extra(c + CENTRAL_SIZE + nlen, xlen, e, e->usize == 0xffffffffu,
	                     e->csize == 0xffffffffu, e->offset == 0xffffffffu, err) < 0)
		return -1;
	*p = c + CENTRAL_SIZE + nlen + xlen + clen;
	if (memchr(e->name, '\0', nlen) || nlen == 0)
		return ck_err_set(err, "member with an empty name or a NUL byte in its name");
	if (disk != 0 && disk != 0xffff)
		return ck_err_set(err, "multi-disk zip archives are not supported");
	if (flags & 0x41) /* bit 0: encrypted, bit 6: strong encryption */
		return ck_err_set(err, "member '%.*s' is encrypted", (int)nlen, (const char *)e->name);
	if (e->method != 0 && e->method != 8)
		return ck_err_set(err, "member '%.*s': compression method %d is not supported "
		                       "(only stored and deflate)",
		                  (int)nlen, (const char *)e->name, e->method);
	return 0;
}

/* Finds the data of e behind its local header. */
static int read_local(const unsigned char *buf, const zip_end *end, zip_entry *e, ck_err *err)
{
	uint64_t limit = end->cd_off; /* member data lies before the directory */
	if (e->offset > limit || limit - e->offset < LOCAL_SIZE)
		return ck_err_set(err, "member '%.*s': local header offset %llu outside the file",
		                  (int)e->name_len, (const char *)e->name,
		                  (unsigned long long)e->offset);
	const unsigned char *l = buf + e->offset;
	size_t nlen = ck_io_le16(l + 26), xlen = ck_io_le16(l + 28);
	if (ck_io_le32(l) != SIG_LOCAL)
		return ck_err_set(err, "member '%.*s': bad local header signature", (int)e->name_len,
		                  (const char *)e->name);
	uint64_t data_off = e->offset + LOCAL_SIZE + nlen + xlen;
	if (data_off > limit || e->csize > limit - data_off)
		return ck_err_set(err, "member '%.*s': data (%llu bytes) outside the file",
		                  (int)e->name_len, (const char *)e->name,
		                  (unsigned long long)e->csize);
	if (nlen != e->name_len || memcmp(l + LOCAL_SIZE, e->name, nlen) != 0)
		return ck_err_set(err, "member '%.*s': local and central names differ",
		                  (int)e->name_len, (const char *)e->name);
	e->data_off = data_off;
	return 0;
}

static int by_offset(const void *a, const void *b)
{
	const zip_entry *x = a, *y = b;
	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static int by_index(const void *a, const void *b)
{
	const zip_entry *x = a, *y = b;
	return x->index < y->index ? -1 : x->index > y->index;
}

/* Inflates a raw deflate stream of exactly e->csize bytes into exactly
 * e->usize bytes. The output grows as data arrives. */
static int inflate_member(const unsigned char *src, const zip_entry *e, unsigned char **out,
                          ck_err *err)
{
	if (e->usize > (uint64_t)e->csize * DEFLATE_MAX_RATIO + 64 || e->usize >= SIZE_MAX)
		return ck_err_set(err, "claims %llu bytes from %llu compressed: impossible for deflate",
		                  (unsigned long long)e->usize, (unsigned long long)e->csize);
	size_t want = (size_t)e->usize;
	size_t cap = want < (1u << 20) ? want : (1u << 20);
	unsigned char *b = malloc(cap ? cap : 1);
	if (!b)
		return ck_err_set(err, "out of memory");
	z_stream z;
	memset(&z, 0, sizeof z);
	if (inflateInit2(&z, -MAX_WBITS) != Z_OK) {
		free(b);
		return ck_err_set(err, "cannot start zlib");
	}
	uint64_t in_left = e->csize;
	size_t have = 0;
	int rc = Z_OK;
	z.next_in = (unsigned char *)(uintptr_t)src;
	while (rc != Z_STREAM_END) {
		if (z.avail_in == 0 && in_left > 0) {
			z.avail_in = in_left > (1u << 30) ? (1u << 30) : (uInt)in_left;
			in_left -= z.avail_in;
		}
		if (have == cap) {
			/* Full: either the stream is over the claim, or grow. One extra
			 * byte of room lets inflate show a stream that goes on. */
			size_t ncap = cap < want / 2 ? cap * 2 : want + 1;
			if (have > want)
				break;
			unsigned char *nb = realloc(b, ncap);
			if (!nb) {
				inflateEnd(&z);
				free(b);
				return ck_err_set(err, "out of memory");
			}
			b = nb;
			cap = ncap;
		}
		size_t room = cap - have;
		z.next_out = b + have;
		z.avail_out = room > (1u << 30) ? (1u << 30) : (uInt)room;
		uInt before = z.avail_out;
		rc = inflate(&z, Z_NO_FLUSH);
		have += before - z.avail_out;
		if (rc == Z_STREAM_END)
			break;
		if (rc == Z_BUF_ERROR && z.avail_in == 0 && in_left == 0)
			break; /* input ended before the stream */
		if (rc != Z_OK && rc != Z_BUF_ERROR) {
			const char *msg = z.msg ? z.msg : "corrupt data";
			ck_err_set(err, "bad deflate data: %s", msg);
			inflateEnd(&z);
			free(b);
			return -1;
		}
		if (have > want)
			break;
	}
	int ended = rc == Z_STREAM_END, leftover = z.avail_in > 0 || in_left > 0;
	inflateEnd(&z);
	if (have != want || !ended || leftover) {
		free(b);
		if (have > want)
			return ck_err_set(err, "inflates to more than its stated %zu bytes", want);
		if (!ended)
			return ck_err_set(err, "truncated deflate data (%zu of %zu bytes)", have, want);
		if (have < want)
			return ck_err_set(err, "inflates to %zu bytes, not the stated %zu", have, want);
		return ck_err_set(err, "bytes after the end of the deflate data");
	}
	*out = b;
	return 0;
}

/* Extracts and checks one member, then decodes it as a .npy array. */
static int read_member(const unsigned char *buf, const zip_entry *e, ck_tensor *t, ck_err *err)
{
	unsigned char *raw = NULL;
	if (e->method == 0) {
		if (e->csize != e->usize)
			return ck_err_set(err, "stored member with different sizes (%llu, %llu)",
			                  (unsigned long long)e->csize, (unsigned long long)e->usize);
		raw = malloc(e->usize ? (size_t)e->usize : 1);
		if (!raw)
			return ck_err_set(err, "out of memory");
		memcpy(raw, buf + e->data_off, (size_t)e->usize);
	} else if (inflate_member(buf + e->data_off, e, &raw, err) < 0) {
		return -1;
	}
	uint32_t crc = ck_crc32(0, raw, (size_t)e->usize);
	if (crc != e->crc) {
		free(raw);
		return ck_err_set(err, "CRC mismatch (stored %08x, computed %08x)", e->crc, crc);
	}
	return ck_io_npy_take(raw, (size_t)e->usize, t, err);
}

int ck_npz_read_mem(const void *buf_, size_t len, ck_tnz *out, ck_err *err)
{
	const unsigned char *buf = buf_;
	zip_end end = {0};
	if (find_end(buf, len, &end, err) < 0)
		return -1;
	zip_entry *ents = calloc(end.entries ? (size_t)end.entries : 1, sizeof *ents);
	if (!ents)
		return ck_err_set(err, "out of memory");
	size_t n = (size_t)end.entries, first = out->count;
	const unsigned char *p = buf + end.cd_off;
	for (size_t i = 0; i < n; i++) {
		ents[i].index = i;
		if (read_central(buf, &end, &p, &ents[i], err) < 0 ||
		    read_local(buf, &end, &ents[i], err) < 0)
			goto fail;
	}
	/* Members must not overlap: a small archive could otherwise name the
	 * same huge deflate stream many times. */
	qsort(ents, n, sizeof *ents, by_offset);
	for (size_t i = 0; i + 1 < n; i++)
		if (ents[i].data_off + ents[i].csize > ents[i + 1].offset) {
			ck_err_set(err, "members '%.*s' and '%.*s' overlap", (int)ents[i].name_len,
			           (const char *)ents[i].name, (int)ents[i + 1].name_len,
			           (const char *)ents[i + 1].name);
			goto fail;
		}
	qsort(ents, n, sizeof *ents, by_index);
	for (size_t i = 0; i < n; i++) {
		zip_entry *e = &ents[i];
		if (is_dir_entry(e))
			continue;
		char name[CK_TNZ_MAX_NAME + 1];
		if (e->name_len < 5 || memcmp(e->name + e->name_len - 4, ".npy", 4) != 0) {
			ck_err_set(err, "member '%.*s' is not a .npy array", (int)e->name_len,
			           (const char *)e->name);
			goto fail;
		}
		if (e->name_len - 4 > CK_TNZ_MAX_NAME) {
			ck_err_set(err, "member name of %zu bytes is too long", e->name_len);
			goto fail;
		}
		memcpy(name, e->name, e->name_len - 4);
		name[e->name_len - 4] = '\0';
		ck_tensor t;
		if (read_member(buf, e, &t, err) < 0) {
			ck_err_prefix(err, "member '%s.npy'", name);
			goto fail;
		}
		if (!ck_io_tnz_adopt(out, name, &t, err)) {
			free(t.data);
			ck_err_prefix(err, "member '%s.npy'", name);
			goto fail;
		}
	}
	free(ents);
	return 0;
fail:
	/* Leave out as it was: drop what this call added (the last tensors). */
	while (out->count > first) {
		char name[CK_TNZ_MAX_NAME + 1];
		memcpy(name, out->tensors[out->count - 1].name, sizeof name);
		ck_tnz_remove(out, name);
	}
	free(ents);
	return -1;
}

int ck_npz_read(const char *path, ck_tnz *out, ck_err *err)
{
	unsigned char *buf;
	size_t len;
	if (ck_io_slurp(path, &buf, &len, err) < 0)
		return ck_err_prefix(err, "%s", path);
	int rc = ck_npz_read_mem(buf, len, out, err);
	free(buf);
	return rc < 0 ? ck_err_prefix(err, "%s", path) : 0;
}

/* ======================================================================== */
/* Writing                                                                  */
/* ======================================================================== */

/* DOS date and time of every member: 1980-01-01 00:00, so that the same
 * tensors always give the same bytes. */
#define DOS_TIME 0
#define DOS_DATE ((0 << 9) | (1 << 5) | 1)
#define VERSION_MADE_BY (3 << 8 | 45) /* Unix, spec 4.5 */
#define EXTERNAL_ATTR (0100644u << 16) /* regular file, rw-r--r-- */

typedef struct zip_member {
	char *name;
	size_t name_len;
	int method;
	uint32_t crc;
	uint64_t csize, usize, offset;
} zip_member;

typedef struct zip_writer {
	ck_outfile *out;
	FILE *f;           /* out's stream */
	uint64_t pos;      /* bytes written so far */
	uint64_t zip64_at; /* sizes and offsets from here on need ZIP64 */
	zip_member cur;
	z_stream z;
	int deflating;
	unsigned char zbuf[1 << 16];
} zip_writer;

static int zw_put(zip_writer *w, const void *p, size_t n, ck_err *err)
{
	if (ck_outfile_write(w->out, p, n, err) < 0)
		return -1;
	w->pos += n;
	return 0;
}

/* Sink for the .npy bytes of the member being written. */
static int zw_member_data(void *ctx, const void *p, size_t n, ck_err *err)
{
	zip_writer *w = ctx;
	w->cur.crc = ck_crc32(w->cur.crc, p, n);
	w->cur.usize += n;
	if (!w->deflating) {
		w->cur.csize += n;
		return zw_put(w, p, n, err);
	}
	const unsigned char *src = p;
	while (n > 0) {
		uInt chunk = n > (1u << 30) ? (1u << 30) : (uInt)n;
		w->z.next_in = (unsigned char *)(uintptr_t)src;
		w->z.avail_in = chunk;
		while (w->z.avail_in > 0) {
			w->z.next_out = w->zbuf;
			w->z.avail_out = sizeof w->zbuf;
			if (deflate(&w->z, Z_NO_FLUSH) == Z_STREAM_ERROR)
				return ck_err_set(err, "deflate failed");
			size_t got = sizeof w->zbuf - w->z.avail_out;
			w->cur.csize += got;
			if (zw_put(w, w->zbuf, got, err) < 0)
				return -1;
		}
		src += chunk;
		n -= chunk;
	}
	return 0;
}

static int zw_deflate_finish(zip_writer *w, ck_err *err)
{
	int rc;
	do {
		w->z.next_out = w->zbuf;
		w->z.avail_out = sizeof w->zbuf;
		rc = deflate(&w->z, Z_FINISH);
		if (rc == Z_STREAM_ERROR)
			return ck_err_set(err, "deflate failed");
		size_t got = sizeof w->zbuf - w->z.avail_out;
		w->cur.csize += got;
		if (zw_put(w, w->zbuf, got, err) < 0)
			return -1;
	} while (rc != Z_STREAM_END);
	return 0;
}

/* A local header. With zip64, its sizes are 0xffffffff and the real ones go
 * in a ZIP64 extra field, as Python's zipfile writes them. */
static size_t local_header(unsigned char *h, const zip_member *m, int zip64)
{
	ck_io_put32(h, SIG_LOCAL);
	ck_io_put16(h + 4, zip64 ? 45 : 20);
	ck_io_put16(h + 6, 0x0800); /* names are UTF-8 (or ASCII) */
	ck_io_put16(h + 8, (uint16_t)m->method);
	ck_io_put16(h + 10, DOS_TIME);
	ck_io_put16(h + 12, DOS_DATE);
	ck_io_put32(h + 14, m->crc);
	ck_io_put32(h + 18, zip64 ? 0xffffffffu : (uint32_t)m->csize);
	ck_io_put32(h + 22, zip64 ? 0xffffffffu : (uint32_t)m->usize);
	ck_io_put16(h + 26, (uint16_t)m->name_len);
	ck_io_put16(h + 28, zip64 ? 20 : 0);
	memcpy(h + LOCAL_SIZE, m->name, m->name_len);
	size_t n = LOCAL_SIZE + m->name_len;
	if (zip64) {
		ck_io_put16(h + n, ZIP64_EXTRA_ID);
		ck_io_put16(h + n + 2, 16);
		ck_io_put64(h + n + 4, m->usize);
		ck_io_put64(h + n + 12, m->csize);
		n += 20;
	}
	return n;
}

static int write_member(zip_writer *w, const ck_tensor *t, int level, ck_err *err)
{
	zip_member *m = &w->cur;
	memset(m, 0, sizeof *m);
	size_t base = strnlen(t->name, sizeof t->name);
	if (base == 0 || base > CK_TNZ_MAX_NAME)
		return ck_err_set(err, "tensor name empty or not terminated");
	m->name_len = base + 4;
	m->name = malloc(m->name_len + 1);
	if (!m->name)
		return ck_err_set(err, "out of memory");
	memcpy(m->name, t->name, base);
	memcpy(m->name + base, ".npy", 5);
	m->method = level > 0 ? 8 : 0;
	m->offset = w->pos;
	/* The sizes are known once the data is written: the local header is
	 * written now and again then. Whether it needs ZIP64 must be decided
	 * now, from the largest size the data could take. */
	uint64_t usize = ck_io_npy_size(t);
	uint64_t worst = level > 0 ? usize + usize / 1000 * 5 + 64 * 1024 : usize;
	int zip64 = worst >= w->zip64_at;
	unsigned char h[LOCAL_SIZE + CK_TNZ_MAX_NAME + 4 + 20];
	size_t hlen = local_header(h, m, zip64);
	if (zw_put(w, h, hlen, err) < 0)
		return -1;
	if (level > 0) {
		memset(&w->z, 0, sizeof w->z);
		if (deflateInit2(&w->z, level, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
			return ck_err_set(err, "cannot start zlib");
		w->deflating = 1;
	}
	int rc = ck_io_npy_emit(t, zw_member_data, w, err);
	if (rc == 0 && w->deflating)
		rc = zw_deflate_finish(w, err);
	if (w->deflating)
		deflateEnd(&w->z);
	w->deflating = 0;
	if (rc < 0)
		return -1;
	if (m->usize != usize || (!zip64 && m->csize >= 0xffffffffu))
		return ck_err_set(err, "internal error: member size estimate");
	/* Rewrite the local header with the CRC and sizes. */
	local_header(h, m, zip64);
	FILE *f = w->f;
	if (fflush(f) != 0 || fseeko(f, (off_t)m->offset, SEEK_SET) != 0 ||
	    fwrite(h, 1, hlen, f) != hlen || fseeko(f, 0, SEEK_END) != 0)
		return ck_err_set(err, "write error: %s", strerror(errno));
	return 0;
}

/* A central directory header; ZIP64 fields for the values that need them. */
static int write_central(zip_writer *w, const zip_member *m, ck_err *err)
{
	int big_u = m->usize >= w->zip64_at, big_c = m->csize >= w->zip64_at,
	    big_o = m->offset >= w->zip64_at;
	size_t xlen = big_u || big_c || big_o ? 4 + 8 * (size_t)(big_u + big_c + big_o) : 0;
	unsigned char h[CENTRAL_SIZE + 28];
	ck_io_put32(h, SIG_CENTRAL);
	ck_io_put16(h + 4, VERSION_MADE_BY);
	ck_io_put16(h + 6, xlen ? 45 : 20);
	ck_io_put16(h + 8, 0x0800);
	ck_io_put16(h + 10, (uint16_t)m->method);
	ck_io_put16(h + 12, DOS_TIME);
	ck_io_put16(h + 14, DOS_DATE);
	ck_io_put32(h + 16, m->crc);
	ck_io_put32(h + 20, big_c ? 0xffffffffu : (uint32_t)m->csize);
	ck_io_put32(h + 24, big_u ? 0xffffffffu : (uint32_t)m->usize);
	ck_io_put16(h + 28, (uint16_t)m->name_len);
	ck_io_put16(h + 30, (uint16_t)xlen);
	ck_io_put16(h + 32, 0); /* comment */
	ck_io_put16(h + 34, 0); /* disk */
	ck_io_put16(h + 36, 0); /* internal attributes */
	ck_io_put32(h + 38, EXTERNAL_ATTR);
	ck_io_put32(h + 42, big_o ? 0xffffffffu : (uint32_t)m->offset);
	if (zw_put(w, h, CENTRAL_SIZE, err) < 0 || zw_put(w, m->name, m->name_len, err) < 0)
		return -1;
	if (xlen) {
		unsigned char *x = h, *p = x + 4;
		ck_io_put16(x, ZIP64_EXTRA_ID);
		ck_io_put16(x + 2, (uint16_t)(xlen - 4));
		if (big_u) {
			ck_io_put64(p, m->usize);
			p += 8;
		}
		if (big_c) {
			ck_io_put64(p, m->csize);
			p += 8;
		}
		if (big_o)
			ck_io_put64(p, m->offset);
		if (zw_put(w, x, xlen, err) < 0)
			return -1;
	}
	return 0;
}

static int write_end(zip_writer *w, uint64_t entries, uint64_t cd_off, ck_err *err)
{
	uint64_t cd_size = w->pos - cd_off;
	uint64_t count_limit = w->zip64_at < 0xffff ? w->zip64_at : 0xffff;
	int zip64 = entries >= count_limit || cd_size >= w->zip64_at || cd_off >= w->zip64_at;
	unsigned char h[EOCD64_SIZE];
	if (zip64) {
		uint64_t rec = w->pos;
		ck_io_put32(h, SIG_EOCD64);
		ck_io_put64(h + 4, EOCD64_SIZE - 12);
		ck_io_put16(h + 12, VERSION_MADE_BY);
		ck_io_put16(h + 14, 45);
		ck_io_put32(h + 16, 0);
		ck_io_put32(h + 20, 0);
		ck_io_put64(h + 24, entries);
		ck_io_put64(h + 32, entries);
		ck_io_put64(h + 40, cd_size);
		ck_io_put64(h + 48, cd_off);
		if (zw_put(w, h, EOCD64_SIZE, err) < 0)
			return -1;
		ck_io_put32(h, SIG_LOCATOR64);
		ck_io_put32(h + 4, 0);
		ck_io_put64(h + 8, rec);
		ck_io_put32(h + 16, 1);
		if (zw_put(w, h, LOCATOR64_SIZE, err) < 0)
			return -1;
	}
	ck_io_put32(h, SIG_EOCD);
	ck_io_put16(h + 4, 0);
	ck_io_put16(h + 6, 0);
	ck_io_put16(h + 8, zip64 && entries >= 0xffff ? 0xffff : (uint16_t)entries);
	ck_io_put16(h + 10, zip64 && entries >= 0xffff ? 0xffff : (uint16_t)entries);
	ck_io_put32(h + 12, zip64 ? 0xffffffffu : (uint32_t)cd_size);
	ck_io_put32(h + 16, zip64 ? 0xffffffffu : (uint32_t)cd_off);
	ck_io_put16(h + 20, 0);
	return zw_put(w, h, EOCD_SIZE, err);
}

int ck_io_npz_write_ex(const char *path, const ck_tnz *in, int level, uint64_t zip64_at,
                       ck_err *err)
{
	if (level < 0 || level > 9)
		return ck_err_set(err, "%s: compression level %d is not in 0..9", path, level);
	if (strcmp(path, "-") == 0)
		return ck_err_set(err, "a .npz archive must be written to a file, not standard output");
	for (size_t i = 0; i < in->count; i++)
		for (size_t j = 0; j < i; j++)
			if (strcmp(in->tensors[i].name, in->tensors[j].name) == 0)
				return ck_err_set(err, "%s: two tensors named '%s'", path, in->tensors[i].name);
	zip_writer *w = calloc(1, sizeof *w);
	zip_member *done = calloc(in->count ? in->count : 1, sizeof *done);
	size_t ndone = 0;
	if (!w || !done) {
		free(w);
		free(done);
		return ck_err_set(err, "out of memory");
	}
	w->zip64_at = zip64_at;
	if (!(w->out = ck_io_out_open(path, 1, err))) {
		free(w);
		free(done);
		return ck_err_prefix(err, "%s", path);
	}
	w->f = ck_outfile_stream(w->out, NULL);
	int rc = 0;
	for (size_t i = 0; i < in->count && rc == 0; i++) {
		rc = write_member(w, &in->tensors[i], level, err);
		if (rc < 0)
			ck_err_prefix(err, "tensor '%s'", in->tensors[i].name);
		done[ndone++] = w->cur; /* takes the name, freed below */
	}
	uint64_t cd_off = w->pos;
	for (size_t i = 0; i < ndone && rc == 0; i++)
		rc = write_central(w, &done[i], err);
	if (rc == 0)
		rc = write_end(w, ndone, cd_off, err);
	if (rc == 0)
		rc = ck_outfile_commit(w->out, err);
	else
		ck_outfile_abort(w->out);
	for (size_t i = 0; i < ndone; i++)
		free(done[i].name);
	free(done);
	free(w);
	return rc < 0 ? ck_err_prefix(err, "%s", path) : 0;
}

int ck_npz_write(const char *path, const ck_tnz *in, int level, ck_err *err)
{
	return ck_io_npz_write_ex(path, in, level, 0xffffffffu, err);
}
