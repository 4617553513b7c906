#!/usr/bin/python3
"""Generates lib/unicode_tables.c: the character classes, simple lowercase
mapping and accent stripping of lib/cnnkit/text.h, from the Unicode Character
Database in Python's unicodedata module.

    /usr/bin/python3 tools/gen_unicode_tables.py > lib/unicode_tables.c

The rules (one place; tests/python/tokenize_ref.py restates them for testing):
  class   L* letter, M* mark, Nd digit, Nl No number, Z* and Cc space,
          Cf format (deleted), anything else punctuation;
  lower   the simple (one to one) lowercase mapping: str.lower() when it
          gives one character; only U+0130 gives more ("i" + U+0307), and
          its simple mapping, UnicodeData.txt field 13, is the first, "i";
  strip   a nonspacing mark (Mn) is deleted; ø ł đ ħ ŧ and capitals go to
          o l d h t; otherwise the canonical decomposition (NFD) without its
          Mn marks, when that is one character (or composes to one), else
          the character itself; repeated until nothing changes (Ǿ, Ø + acute,
          goes to Ø and on to O), so strip(strip(c)) == strip(c).
Lower-casing and stripping never change a character's class (checked here).

Layout of the tables, all sorted for binary search:
  below U+0800 (ASCII, Latin, Greek, Cyrillic, Hebrew, Arabic: the two-byte
  UTF-8 sequences) direct arrays: class, lowercase, stripped (0 = delete);
  above, class_runs: (first code point << 3 | class) where each run lasts
  until the next one starts; mn_runs likewise with 1 = nonspacing mark;
  lower_runs: (first, count, stride, delta): first + k*stride for k < count
  maps to itself + delta; strip_pairs: (code point, stripped).
"""
import sys
import unicodedata

MAX_CP = 0x10FFFF
DIRECT = 0x800

PUNCT, LETTER, MARK, DIGIT, NUMBER, SPACE, FORMAT = range(7)
NAMES = ["CK_UC_PUNCT", "CK_UC_LETTER", "CK_UC_MARK", "CK_UC_DIGIT", "CK_UC_NUMBER",
         "CK_UC_SPACE", "CK_UC_FORMAT"]

# Letters with a stroke or bar, which have no canonical decomposition.
STRIP_EXTRA = {"ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "đ": "d", "Đ": "D",
               "ħ": "h", "Ħ": "H", "ŧ": "t", "Ŧ": "T"}


def char_class(c):
    cat = unicodedata.category(c)
    if cat[0] == "L":
        return LETTER
    if cat[0] == "M":
        return MARK
    if cat == "Nd":
        return DIGIT
    if cat[0] == "N":
        return NUMBER
    if cat[0] == "Z" or cat == "Cc":
        return SPACE
    if cat == "Cf":
        return FORMAT
    return PUNCT


def lower(c):
    low = c.lower()
    if len(low) != 1:
        assert c == "\u0130", "unexpected multi-character lowercase for U+%04X" % ord(c)
        return low[0]
    return low


def strip_once(c):
    """One step of stripping: the character, "" to delete it."""
    if unicodedata.category(c) == "Mn":
        return ""
    if c in STRIP_EXTRA:
        return STRIP_EXTRA[c]
    d = unicodedata.normalize("NFD", c)
    kept = "".join(x for x in d if unicodedata.category(x) != "Mn")
    if kept == d:
        return c
    if len(kept) == 1:
        return kept
    composed = unicodedata.normalize("NFC", kept)
    return composed if len(composed) == 1 else c


def strip(c):
    """The stripped character, "" to delete it: strip_once until nothing
    changes, so that stripping is idempotent. One step is not enough when the
    decomposition leaves a letter that strips again: U+01FE Ǿ is Ø + acute,
    and Ø goes to O."""
    while True:
        s = strip_once(c)
        if s == c or s == "":
            return s
        c = s


def runs(values):
    """[(first, value)] where value changes, from a list indexed by code point."""
    out = []
    for cp, v in enumerate(values):
        if not out or out[-1][1] != v:
            out.append((cp, v))
    return out


def lower_runs(pairs):
    """Groups (cp, delta) into (first, count, stride, delta) arithmetic runs."""
    out = []
    for cp, delta in pairs:
        if out:
            first, count, stride, d = out[-1]
            last = first + (count - 1) * stride
            if d == delta and count == 1 and cp - last in (1, 2):
                out[-1] = (first, 2, cp - last, d)
                continue
            if d == delta and count > 1 and cp - last == stride:
                out[-1] = (first, count + 1, stride, d)
                continue
        out.append((cp, 1, 1, delta))
    return out


def emit_array(f, decl, items, per_line):
    f.write(decl + " = {\n")
    for i in range(0, len(items), per_line):
        f.write("\t" + ", ".join(items[i:i + per_line]) + ",\n")
    f.write("};\n\n")


def main():
    classes, lowers, strips, nonspacing = [], [], [], []
    for cp in range(MAX_CP + 1):
        c = chr(cp)
        cls = char_class(c)
        low, st = lower(c), strip(c)
        assert char_class(low) == cls, "lowercase of U+%04X changes class" % cp
        assert st == "" or char_class(st) == cls, "stripped U+%04X changes class" % cp
        assert st == "" or strip(st) == st, "stripping U+%04X twice changes it" % cp
        classes.append(cls)
        lowers.append(ord(low))
        strips.append(ord(st) if st else 0)
        nonspacing.append(1 if unicodedata.category(c) == "Mn" else 0)

    f = sys.stdout
    f.write("/* unicode_tables.c: GENERATED by tools/gen_unicode_tables.py from the Unicode\n"
            " * Character Database %s (Python %d.%d unicodedata). Do not edit; run\n"
            " *     /usr/bin/python3 tools/gen_unicode_tables.py > lib/unicode_tables.c\n"
            " * The rules and the table layout are described in the script. */\n"
            % (unicodedata.unidata_version, sys.version_info[0], sys.version_info[1]))
    f.write("#include <stddef.h>\n#include <stdint.h>\n\n#include \"cnnkit/text.h\"\n\n")
    f.write("#define DIRECT 0x%X /* code points below this use the direct arrays */\n\n" % DIRECT)

    emit_array(f, "static const uint8_t direct_class[DIRECT]",
               [str(v) for v in classes[:DIRECT]], 32)
    emit_array(f, "static const uint16_t direct_lower[DIRECT]",
               ["0x%04X" % v for v in lowers[:DIRECT]], 12)
    emit_array(f, "static const uint16_t direct_strip[DIRECT]",
               ["0x%04X" % v for v in strips[:DIRECT]], 12)

    cr = runs(classes)
    emit_array(f, "static const uint32_t class_runs[%d]" % len(cr),
               ["0x%06X<<3|%d" % (cp, v) for cp, v in cr], 6)
    mr = runs(nonspacing)
    emit_array(f, "static const uint32_t mn_runs[%d]" % len(mr),
               ["0x%06X<<3|%d" % (cp, v) for cp, v in mr], 6)
    lr = lower_runs([(cp, lo - cp) for cp, lo in enumerate(lowers) if lo != cp])
    f.write("static const struct lower_run {\n\tuint32_t first;\n\tuint16_t count, stride;\n"
            "\tint32_t delta;\n} lower_runs[%d] = {\n" % len(lr))
    for first, count, stride, delta in lr:
        f.write("\t{0x%06X, %d, %d, %d},\n" % (first, count, stride, delta))
    f.write("};\n\n")
    sp = [(cp, s) for cp, s in enumerate(strips) if s != cp and not nonspacing[cp]]
    f.write("static const struct strip_pair {\n\tuint32_t cp, base;\n} strip_pairs[%d] = {\n"
            % len(sp))
    for i in range(0, len(sp), 4):
        f.write("\t" + " ".join("{0x%05X, 0x%05X}," % p for p in sp[i:i + 4]) + "\n")
    f.write("};\n\n")

    f.write("""#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* The value of the run holding cp: runs[i] = first << 3 | value. */
static unsigned run_value(const uint32_t *runs, size_t n, uint32_t cp)
{
	size_t lo = 0, hi = n; /* runs[lo] starts at or before cp; answer in [lo, hi) */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (runs[mid] >> 3 <= cp)
			lo = mid;
		else
			hi = mid;
	}
	return runs[lo] & 7;
}

ck_uclass ck_unicode_class(uint32_t cp)
{
	if (cp < DIRECT)
		return (ck_uclass)direct_class[cp];
	if (cp > 0x10FFFF)
		return CK_UC_PUNCT;
	return (ck_uclass)run_value(class_runs, COUNT(class_runs), cp);
}

uint32_t ck_unicode_lower(uint32_t cp)
{
	if (cp < DIRECT)
		return direct_lower[cp];
	size_t lo = 0, hi = COUNT(lower_runs);
	while (lo < hi) { /* the first run starting after cp */
		size_t mid = lo + (hi - lo) / 2;
		if (lower_runs[mid].first <= cp)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return cp;
	const struct lower_run *r = &lower_runs[lo - 1];
	uint32_t k = (cp - r->first) / r->stride;
	if (k < r->count && (cp - r->first) % r->stride == 0)
		return (uint32_t)((int32_t)cp + r->delta);
	return cp;
}

uint32_t ck_unicode_strip(uint32_t cp)
{
	if (cp < DIRECT)
		return direct_strip[cp];
	if (cp > 0x10FFFF)
		return cp;
	if (run_value(mn_runs, COUNT(mn_runs), cp))
		return 0;
	size_t lo = 0, hi = COUNT(strip_pairs);
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strip_pairs[mid].cp < cp)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < COUNT(strip_pairs) && strip_pairs[lo].cp == cp ? strip_pairs[lo].base : cp;
}

const char *ck_unicode_version(void)
{
	return "@VERSION@";
}
""".replace("@VERSION@", unicodedata.unidata_version))


if __name__ == "__main__":
    main()
