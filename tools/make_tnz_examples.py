#!/usr/bin/python3
"""make_tnz_examples.py: write the TNZ reference files of formats/examples/.

    /usr/bin/python3 tools/make_tnz_examples.py [OUTDIR]   (default formats/examples)

Valid files are written by tools/tnz.py; invalid ones are assembled record by
record with correct CRCs wherever the point is a check deeper than the CRC.
Writes every .tnz file, expected.tsv (file, outcome, message, what) and
README.md (the same list for humans).
tests/python/test_tnzpy.py imports EXAMPLES to compare what a reader returns
for the valid files with the tensors and metadata they were made from.
"""

from __future__ import annotations

import io
import os
import struct
import sys
import zlib
from dataclasses import dataclass, field

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tnz  # noqa: E402  (tools/tnz.py, beside this script)

MAGIC = tnz.MAGIC
record = tnz.encode_record


@dataclass
class Example:
    """One reference file: its bytes, the outcome a reader must give, and for
    a valid file the tensors (appended, as load() returns them) and metadata
    it holds; dtypes names the TNZ dtype where NumPy's would not (bf16)."""
    name: str
    data: bytes
    what: str
    message: str = ""  # substring of the error message; "" for a valid file
    tensors: dict[str, np.ndarray] = field(default_factory=dict)
    meta: dict[str, str] = field(default_factory=dict)
    dtypes: dict[str, str] = field(default_factory=dict)

    @property
    def outcome(self) -> str:
        return "error" if self.message else "ok"


# ---- record builders (bodies as in formats/tnz.md section 4) -------------

def head(major: int = 1, minor: int = 0, flags: int = 0) -> bytes:
    return record(b"HEAD", struct.pack("<HHI", major, minor, flags))


def meta(key: bytes, value: bytes) -> bytes:
    return record(b"META", bytes([len(key)]) + key + value)


def tens(name: bytes, dtype: int, dims: list[int], filt: int = 0,
         reserved: bytes = b"\0\0", rank: int | None = None) -> bytes:
    rank = len(dims) if rank is None else rank
    body = bytes([len(name)]) + name + bytes([dtype, rank, filt]) + reserved
    return record(b"TENS", body + b"".join(struct.pack("<Q", d) for d in dims))


def data(payload: bytes, codec: int = 0, raw: int | None = None, reserved: bytes = b"\0\0\0") -> bytes:
    raw = len(payload) if raw is None else raw
    return record(b"DATA", bytes([codec]) + reserved + struct.pack("<I", raw) + payload)


def tend(rows: int) -> bytes:
    return record(b"TEND", struct.pack("<Q", rows))


def fend(tensors: int, metas: int) -> bytes:
    return record(b"FEND", struct.pack("<II", tensors, metas))


def saved(tensors: dict[str, np.ndarray], meta_: dict[str, str] | None = None, **opts) -> bytes:
    """The bytes tnz.save writes for these tensors and metadata."""
    out = io.BytesIO()
    tnz.save(out, tensors, meta_, **opts)
    return out.getvalue()


def split_records(blob: bytes) -> list[bytes]:
    """A single valid file cut into [magic, record, record, ...]."""
    parts, at = [blob[:8]], 8
    while at < len(blob):
        (length,) = struct.unpack("<I", blob[at + 4:at + 8])
        parts.append(blob[at:at + 12 + length])
        at += 12 + length
    return parts


# ---- the examples ----------------------------------------------------------

def all_dtype_arrays() -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """One small tensor per dtype with its extreme values; bf16 as bits."""
    arrays = {
        "u8": np.array([0, 1, 255], np.uint8),
        "i8": np.array([-128, 0, 127], np.int8),
        "u16": np.array([0, 1, 65535], np.uint16),
        "i16": np.array([-32768, 0, 32767], np.int16),
        "u32": np.array([0, 1, 2**32 - 1], np.uint32),
        "i32": np.array([-2**31, 0, 2**31 - 1], np.int32),
        "u64": np.array([0, 1, 2**64 - 1], np.uint64),
        "i64": np.array([-2**63, 0, 2**63 - 1], np.int64),
        "f16": np.array([1.5, -0.0, np.inf, 65504.0], np.float16),
        "bf16": tnz.f32_to_bf16(np.array([1.0, -2.5, 3.0e38, -np.inf], np.float32)),
        "f32": np.array([np.pi, -1e-45, np.finfo(np.float32).max, np.nan], np.float32),
        "f64": np.array([np.e, -5e-324, np.finfo(np.float64).max, -np.inf], np.float64),
        "bool": np.array([True, False, True]),
    }
    return arrays, {"bf16": "bf16"}


def valid_examples() -> list[Example]:
    ex = []
    ex.append(Example("ok_minimal.tnz", saved({}), "magic, HEAD and FEND only: no tensor, no metadata"))

    # Section 9 of the spec, byte for byte.
    x = np.array([[1, 2, 3], [4, 5, 6]], np.uint8)
    ex.append(Example("ok_spec_example.tnz", saved({"x": x}, {"classes": "cat\ndog"}, level=0),
                      "the example of section 9: classes=cat\\ndog, x u8 (2, 3) stored",
                      tensors={"x": x}, meta={"classes": "cat\ndog"}))

    arrays, dtypes = all_dtype_arrays()
    ex.append(Example("ok_all_dtypes.tnz", saved(arrays, dtypes=dtypes),
                      "one tensor of each of the 13 dtypes, named after it, holding its extreme values",
                      tensors=arrays, dtypes=dtypes))

    ranks = {"scalar": np.array(-7.25, np.float32),
             "rank8": np.arange(2 * 1 * 2 * 1 * 2 * 1 * 2 * 3, dtype=np.int16).reshape(2, 1, 2, 1, 2, 1, 2, 3)}
    ex.append(Example("ok_rank0_rank8.tnz", saved(ranks),
                      "a rank-0 f32 scalar and a rank-8 i16 tensor of shape (2, 1, 2, 1, 2, 1, 2, 3)",
                      tensors=ranks))

    empty = {"none": np.zeros((0, 3), np.float32), "flat": np.zeros((2, 0), np.uint8)}
    ex.append(Example("ok_empty_tensor.tnz", saved(empty),
                      "tensors with no elements: f32 (0, 3) and u8 (2, 0), no DATA records",
                      tensors=empty))

    rng = np.random.default_rng(1)
    weights = (rng.standard_normal((16, 8)) * 0.1).astype(np.float32)
    ex.append(Example("ok_shuffled.tnz", saved({"w": weights}, level=9, shuffle=True),
                      "f32 (16, 8) byte-shuffled (filter 1) and zlib-compressed (codec 1)",
                      tensors={"w": weights}))

    ints = np.arange(40, dtype=np.int32).reshape(10, 4)
    ex.append(Example("ok_stored.tnz", saved({"ids": ints}, level=0),
                      "i32 (10, 4) stored (codec 0, filter 0)", tensors={"ids": ints}))

    stream = io.BytesIO()
    with tnz.Writer(stream, chunk_bytes=16) as w:
        w.meta("note", "rows appended in three pieces")
        w.begin("x", "u16", (None, 3))
        for piece in (np.arange(6, dtype=np.uint16).reshape(2, 3), np.zeros((0, 3), np.uint16),
                      np.arange(6, 15, dtype=np.uint16).reshape(3, 3)):
            w.append(piece)
        w.end()
    ex.append(Example("ok_streamed.tnz", stream.getvalue(),
                      "u16 tensor streamed with dims[0] unknown (2^64-1); TEND gives 5 rows",
                      tensors={"x": np.arange(15, dtype=np.uint16).reshape(5, 3)},
                      meta={"note": "rows appended in three pieces"}))

    # 7 rows of 20 bytes in chunks of 24 bytes: chunks split rows; the zero
    # rows compress (codec 1), the random ones do not (codec 0).
    mixed = np.concatenate([np.zeros((4, 5), np.float32),
                            rng.standard_normal((3, 5)).astype(np.float32)])
    ex.append(Example("ok_chunks.tnz", saved({"m": mixed}, shuffle=False, chunk_bytes=24),
                      "f32 (7, 5) in six chunks of at most 24 bytes that split rows; zlib and stored mixed",
                      tensors={"m": mixed}))

    vocab = "".join(f"token{i:04d}\n" for i in range(800))
    metas = {"vocab": vocab, "empty": "", "utf8": "naïve 日本語", "created_by": "make_tnz_examples.py"}
    blob = (MAGIC + head() + meta(b"vocab", vocab.encode()) + meta(b"empty", b"")
            + meta(b"utf8", metas["utf8"].encode()) + meta(b"created_by", b"an older value")
            + meta(b"created_by", b"make_tnz_examples.py") + fend(0, 5))
    ex.append(Example("ok_big_meta.tnz", blob,
                      "an 8000-byte vocab, an empty value, UTF-8 text, and a key given twice (the last wins)",
                      meta=metas))

    part1 = saved({"x": np.array([[1, 2, 3], [4, 5, 6]], np.uint8), "y": np.array([0, 1], np.int32)},
                  {"classes": "a\nb", "shard": "1"})
    part2 = saved({"x": np.array([[7, 8, 9]], np.uint8), "y": np.array([1], np.int32)}, {"shard": "2"})
    ex.append(Example("ok_concatenated.tnz", part1 + part2,
                      "two files back to back (cat): x (2, 3) + (1, 3) and y (2) + (1) append; shard=2 wins",
                      tensors={"x": np.arange(1, 10, dtype=np.uint8).reshape(3, 3),
                               "y": np.array([0, 1, 1], np.int32)},
                      meta={"classes": "a\nb", "shard": "2"}))

    y = np.array([3, 1, 2], np.int64)
    parts = split_records(saved({"y": y}))
    blob = parts[0] + parts[1] + record(b"tIME", b"2024-01-01T00:00:00Z") + b"".join(parts[2:])
    ex.append(Example("ok_ancillary.tnz", blob,
                      'an unknown ancillary record "tIME" before the tensor, to be skipped',
                      tensors={"y": y}))

    parts = split_records(saved({"y": y}))
    blob = parts[0] + head(1, 7) + record(b"zNEW", b"\x01\x02") + b"".join(parts[2:])
    ex.append(Example("ok_minor_version.tnz", blob,
                      'version 1.7 with an ancillary record "zNEW": a newer minor must be accepted',
                      tensors={"y": y}))
    return ex


def invalid_examples() -> list[Example]:
    ex = []

    def bad(name: str, blob: bytes, message: str, what: str) -> None:
        ex.append(Example(name, blob, what, message))

    x = np.array([[1, 2, 3], [4, 5, 6]], np.uint8)
    good = saved({"x": x}, {"classes": "cat\ndog"}, level=0)
    compressed = saved({"w": np.zeros((64, 4), np.float32)})

    bad("err_empty.tnz", b"", "empty file", "zero bytes")
    bad("err_bad_magic.tnz", b"\x89TNZ\n\x1a\n" + good[8:], "bad magic",
        "the magic after a CR LF -> LF conversion")
    bad("err_major2.tnz", MAGIC + head(2, 0) + fend(0, 0), "newer than this reader", "HEAD says version 2.0")
    bad("err_flags.tnz", MAGIC + head(1, 0, 1) + fend(0, 0), "unknown flags", "HEAD flags = 1")

    flipped = bytearray(good)
    flipped[good.index(bytes([1, 2, 3, 4, 5, 6])) + 2] ^= 0x01
    bad("err_crc.tnz", bytes(flipped), "CRC mismatch", "one bit flipped in the DATA payload of the section 9 example")

    data_at = good.index(b"DATA")
    bad("err_truncated_data.tnz", good[:data_at + 15], "truncated", "input ends in the middle of a DATA record")
    bad("err_truncated_fend.tnz", good[:good.index(b"FEND")], "truncated", "input ends after TEND: no FEND")
    bad("err_trailing.tnz", good + b"\n", "trailing data", "a newline after FEND")
    bad("err_too_long.tnz", MAGIC + head() + tens(b"x", 1, [1]) + b"DATA" + struct.pack("<I", (1 << 26) + 9),
        "too long", "a DATA record claiming 2^26 + 9 body bytes (one over the maximum), then end of input: "
        "the length is checked first")
    bad("err_unknown_critical.tnz", MAGIC + head() + record(b"XTRA", b"must understand") + fend(0, 0),
        "unknown record", 'a critical record "XTRA" no reader knows (CRC correct)')
    bad("err_unknown_dtype.tnz", MAGIC + head() + tens(b"x", 14, [1]) + data(b"\0") + tend(1) + fend(1, 0),
        "unknown dtype", "dtype 14")
    bad("err_rank9.tnz", MAGIC + head() + tens(b"x", 1, [1] * 9) + data(b"\0") + tend(1) + fend(1, 0),
        "rank 9", "a tensor of rank 9")
    bad("err_reserved.tnz", MAGIC + head() + tens(b"x", 1, [1], reserved=b"\0\1") + data(b"\0") + tend(1)
        + fend(1, 0), "reserved", "the second reserved byte of TENS is 1")
    bad("err_unknown_filter.tnz", MAGIC + head() + tens(b"x", 1, [1], filt=2) + data(b"\0") + tend(1)
        + fend(1, 0), "filter", "filter 2")
    bad("err_unknown_codec.tnz", MAGIC + head() + tens(b"x", 1, [1]) + data(b"\0", codec=2) + tend(1)
        + fend(1, 0), "codec", "DATA codec 2")
    bad("err_too_large.tnz", MAGIC + head() + tens(b"x", 12, [1 << 20, 1 << 20, 1 << 20]) + tend(1 << 20)
        + fend(1, 0), "too large", "f64 (2^20, 2^20, 2^20): 2^60 elements, 2^63 bytes, over the 2^62 limit")
    bad("err_dims_lie.tnz", MAGIC + head() + tens(b"x", 1, [1 << 30, 1 << 30]) + data(b"\1\2\3")
        + tend(1 << 30) + fend(1, 0), "size mismatch",
        "u8 (2^30, 2^30) claims 2^60 bytes (legal) but holds 3: must fail, never allocate 2^60")
    bad("err_dim_limit.tnz", MAGIC + head() + tens(b"x", 1, [0, 1 << 48]) + tend(0) + fend(1, 0),
        "too large", "a dimension after the first of 2^48 (limit: below 2^48), even with no rows")

    bomb = zlib.compress(bytes(1 << 20), 9)
    bad("err_zlib_bomb.tnz", MAGIC + head() + tens(b"x", 1, [16]) + data(bomb, codec=1, raw=16) + tend(16)
        + fend(1, 0), "corrupt chunk", f"a {len(bomb)}-byte zlib chunk with raw 16 that inflates to 1 MiB")
    bad("err_zlib_short.tnz", MAGIC + head() + tens(b"x", 1, [16]) + data(zlib.compress(bytes(15)), codec=1,
                                                                           raw=16)
        + tend(16) + fend(1, 0), "corrupt chunk", "a zlib chunk with raw 16 that inflates to 15 bytes")
    bad("err_zlib_corrupt.tnz", MAGIC + head() + tens(b"x", 1, [4]) + data(b"\x78\x9c\xff\xff\xff", codec=1,
                                                                          raw=4)
        + tend(4) + fend(1, 0), "corrupt chunk", "a DATA payload that is not a zlib stream (CRC correct)")
    bad("err_zlib_tail.tnz", MAGIC + head() + tens(b"x", 1, [4]) + data(zlib.compress(b"abcd") + b"\0",
                                                                       codec=1, raw=4)
        + tend(4) + fend(1, 0), "corrupt chunk", "a zlib stream followed by one more byte in its payload")
    bad("err_stored_length.tnz", MAGIC + head() + tens(b"x", 1, [4]) + data(b"abc", raw=4) + tend(4)
        + fend(1, 0), "corrupt chunk", "a stored chunk whose payload (3 bytes) is not its raw (4)")
    bad("err_chunk_elements.tnz", MAGIC + head() + tens(b"x", 11, [2]) + data(bytes(6)) + data(bytes(2))
        + tend(2) + fend(1, 0), "element", "an f32 tensor with a 6-byte chunk (not whole elements)")
    bad("err_chunk_sum.tnz", MAGIC + head() + tens(b"x", 1, [2, 2]) + data(b"\1\2\3") + tend(2) + fend(1, 0),
        "size mismatch", "u8 (2, 2) whose chunks hold 3 bytes")
    bad("err_tend_rows.tnz", MAGIC + head() + tens(b"x", 1, [2, 3]) + data(bytes(6)) + tend(3) + fend(1, 0),
        "size mismatch", "TENS says 2 rows, TEND says 3")
    bad("err_streamed_rows.tnz", MAGIC + head() + tens(b"x", 1, [tnz.ROWS_UNKNOWN, 3]) + data(bytes(6))
        + tend(3) + fend(1, 0), "size mismatch", "dims[0] unknown; chunks hold 2 rows, TEND says 3")
    bad("err_fend_counts.tnz", good[:good.index(b"FEND")] + fend(2, 1), "FEND",
        "FEND counts 2 tensors, the file has 1")
    bad("err_meta_nul_key.tnz", MAGIC + head() + meta(b"cla\0sses", b"cat") + fend(0, 1), "NUL",
        "a metadata key with a NUL byte")
    bad("err_meta_in_tensor.tnz", MAGIC + head() + tens(b"x", 1, [1]) + meta(b"k", b"v") + data(b"\0")
        + tend(1) + fend(1, 1), "META", "a META record between TENS and TEND")
    bad("err_no_head.tnz", MAGIC + meta(b"k", b"v") + head() + fend(0, 1), "HEAD",
        "a META record before HEAD")

    shard1 = saved({"x": np.zeros((2, 3), np.uint8)})
    bad("err_append_shape.tnz", shard1 + saved({"x": np.zeros((2, 4), np.uint8)}), "cannot append",
        "two files concatenated: x u8 (2, 3) then x u8 (2, 4)")
    bad("err_append_dtype.tnz", shard1 + saved({"x": np.zeros((2, 3), np.int8)}), "cannot append",
        "two files concatenated: x u8 (2, 3) then x i8 (2, 3)")
    bad("err_append_rank0.tnz", saved({"s": np.array(1.0)}) + saved({"s": np.array(2.0)}), "cannot append",
        "two files concatenated, each with a rank-0 tensor s")
    bad("err_second_truncated.tnz", good + compressed[:40], "truncated",
        "a valid file followed by the first 40 bytes of another")
    return ex


EXAMPLES = valid_examples() + invalid_examples()


README_INTRO = """\
# TNZ reference files

Every file here is a small TNZ stream (formats/tnz.md) with the outcome that
**every conforming reader must give**: `ok` files must be read, with the
content described; `error` files must be rejected with an error, never a
crash, a hang, an allocation the input does not justify, or data. Reading
must reach the same outcome through a pipe (no seeking) as from a file.

`expected.tsv` holds the same list for programs: columns `file`, `outcome`
(`ok` or `error`), `message` and `what`. `message` is a substring of the
message cnnkit's readers (libcnnkit and tools/tnz.py) give; the wording of
section 7 of the spec where it has one. Other readers need only the outcome.

The files are made by `tools/make_tnz_examples.py` (valid files with
tools/tnz.py, invalid ones record by record, with correct CRCs wherever the
point is a deeper check than the CRC); do not edit them by hand. They are
checked by tests/bats/tnzpy.bats (tools/tnz.py, and the C `tnz` tool when it
is built). Contents of the valid files are listed in the generator.

| file | outcome | message | what |
| --- | --- | --- | --- |
"""


def readme() -> str:
    """formats/examples/README.md: the list of expected.tsv for humans."""
    lines = [README_INTRO]
    for e in EXAMPLES:
        message = f"`{e.message}`" if e.message else ""
        what = e.what.replace("|", "\\|")
        lines.append(f"| `{e.name}` | {e.outcome} | {message} | {what} |\n")
    return "".join(lines)


def main() -> int:
    top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(top, "formats", "examples")
    os.makedirs(outdir, exist_ok=True)
    rows = ["file\toutcome\tmessage\twhat"]
    for e in EXAMPLES:
        assert len(e.data) < 10_000, e.name
        with open(os.path.join(outdir, e.name), "wb") as f:
            f.write(e.data)
        rows.append(f"{e.name}\t{e.outcome}\t{e.message}\t{e.what}")
    with open(os.path.join(outdir, "expected.tsv"), "w", encoding="utf-8") as f:
        f.write("\n".join(rows) + "\n")
    with open(os.path.join(outdir, "README.md"), "w", encoding="utf-8") as f:
        f.write(readme())
    print(f"{len(EXAMPLES)} examples written to {outdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
