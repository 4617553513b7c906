#!/usr/bin/python3
"""A plain Python implementation of tokenize's rules (lib/cnnkit/text.h), the
oracle of tests/bats/tokenize.bats. It shares no code with the C version: it
classifies characters with unicodedata directly and finds words with `re`.

    tokenize_ref.py [--punct] [--char] [--no-lower] [--strip-accents]
                    (--text | --vocab [--min-count N]) [FILE...]

--text prints the tokens of each line space-separated, one line per line,
as `tokenize --text` does; --vocab prints token<TAB>count in the vocabulary
order (<pad>, <unk>, then count descending, bytes ascending) as
`tokenize --vocab-out` does. The number of invalid UTF-8 sequences goes to
standard error as "invalid N".
"""
import argparse
import re
import sys
import unicodedata
from collections import Counter

STRIP_EXTRA = {"ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "đ": "d", "Đ": "D",
               "ħ": "h", "Ħ": "H", "ŧ": "t", "Ŧ": "T"}
APOSTROPHES = "'\u2019"
HYPHENS = "-\u2010\u2011"

invalid = 0


def count_invalid(err):
    global invalid
    invalid += 1
    return ("\ufffd", err.end)


import codecs  # noqa: E402
codecs.register_error("count", count_invalid)


def lower(c):
    low = c.lower()
    return low if len(low) == 1 else low[0]  # only U+0130 has more: "i" + U+0307


def strip_once(c):
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
    k = unicodedata.normalize("NFC", kept)
    return k if len(k) == 1 else c


def strip(c):
    """strip_once until nothing changes: Ǿ (Ø + acute) goes to Ø, then O."""
    s = strip_once(c)
    while s not in ("", c):
        c, s = s, strip_once(s)
    return s


def kind(c):
    """One letter a character: w word, d decimal digit, s space,
    a apostrophe, h hyphen, c . or ,, p other punctuation."""
    cat = unicodedata.category(c)
    if cat == "Nd":
        return "d"
    if cat[0] in "LMN":
        return "w"
    if cat[0] == "Z" or cat == "Cc":
        return "s"
    if c in APOSTROPHES:
        return "a"
    if c in HYPHENS:
        return "h"
    if c in ".,":
        return "c"
    return "p"


WORD = re.compile(r"[wd]+(?:(?:[ah]|(?<=d)c(?=d))[wd]+)*")
WORD_OR_PUNCT = re.compile(r"[wd]+(?:(?:[ah]|(?<=d)c(?=d))[wd]+)*|[ahcp]")

_memo = {}


def normalise(text, opts):
    """(normalised characters, their kinds), format characters and
    stripped marks deleted."""
    chars, kinds = [], []
    for c in text:
        m = _memo.get(c)
        if m is None:
            if unicodedata.category(c) == "Cf":
                m = ("", "")
            else:
                n = lower(c) if opts.lower else c
                if opts.strip_accents:
                    n = strip(n)
                m = (n, kind(c) if n else "")
            _memo[c] = m
        if m[0]:
            chars.append(m[0])
            kinds.append(m[1])
    return chars, "".join(kinds)


def tokens(text, opts):
    chars, kinds = normalise(text, opts)
    if opts.char:
        return [c for c, k in zip(chars, kinds) if k != "s"]
    out = []
    for m in (WORD_OR_PUNCT if opts.punct else WORD).finditer(kinds):
        tok = chars[m.start():m.end()]
        if len(tok) > 1:
            tok = ["'" if k == "a" else "-" if k == "h" else c
                   for c, k in zip(tok, kinds[m.start():m.end()])]
        out.append("".join(tok))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--punct", action="store_true")
    ap.add_argument("--char", action="store_true")
    ap.add_argument("--no-lower", dest="lower", action="store_false")
    ap.add_argument("--strip-accents", action="store_true")
    ap.add_argument("--text", action="store_true")
    ap.add_argument("--vocab", action="store_true")
    ap.add_argument("--min-count", type=int, default=1)
    ap.add_argument("files", nargs="*")
    opts = ap.parse_args()
    counts = Counter()
    out = sys.stdout
    for path in opts.files or ["-"]:
        data = sys.stdin.buffer.read() if path == "-" else open(path, "rb").read()
        lines = data.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        for raw in lines:
            if raw.endswith(b"\r"):
                raw = raw[:-1]
            toks = tokens(raw.decode("utf-8", "count"), opts)
            if opts.text:
                out.write(" ".join(toks) + "\n")
            if opts.vocab:
                counts.update(toks)
    if opts.vocab:
        unk = sum(n for t, n in counts.items() if n < opts.min_count)
        kept = sorted(((t.encode(), n) for t, n in counts.items() if n >= opts.min_count),
                      key=lambda p: (-p[1], p[0]))
        out.write("<pad>\t0\n<unk>\t%d\n" % unk)
        for t, n in kept:
            out.write("%s\t%d\n" % (t.decode(), n))
    print("invalid %d" % invalid, file=sys.stderr)


if __name__ == "__main__":
    main()
