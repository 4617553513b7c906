#!/usr/bin/python3
"""tnz.py: read and write TNZ tensor files (formats/tnz.md) with NumPy.

An independent implementation of TNZ 1.0 for people who continue in Python.
It needs only NumPy and the standard library.

Reading a whole stream (concatenated files are joined, section 5 of the spec):

    t = tnz.load("train.tnz")          # or a binary file object, or "-" for stdin
    x, y = t.x, t.y              # np.ndarray, shapes as stored
    classes = t.meta["classes"].splitlines()
    t.dtypes["x"]                      # "u8", "f32", ... ("bf16": see below)

Reading tensor by tensor, without seeking (works on sys.stdin.buffer):

    for name, array in tnz.iter_tensors(sys.stdin.buffer):
        ...

Writing (atomically: temporary file, fsync, rename):

    tnz.save("out.tnz", {"x": x, "y": y}, {"classes": "cat\\ndog\\n"})

Writing a tensor whose first dimension is not known in advance:

    with tnz.Writer("out.tnz") as w:
        w.meta("classes", "cat\\ndog\\n")
        w.begin("x", "f32", (None, 3, 32, 32))
        for batch in batches:          # each (k, 3, 32, 32)
            w.append(batch)
        w.end()

bfloat16 has no NumPy dtype. A bf16 tensor is read as a uint16 array of the
raw bit patterns (t.dtypes[name] == "bf16"); bf16_to_f32() widens it. To write
one, pass dtypes={"name": "bf16"} to save() (or "bf16" to Writer.begin) with
either a uint16 array of bit patterns or a float array, which is rounded to
nearest even by f32_to_bf16().

Every problem with a file raises TNZError with the message of section 7 of
the spec (e.g. "CRC mismatch in DATA record at offset 123"); offsets count
bytes from the start of the stream.

Command line: tnz.py info FILE... | topy FILE.tnz OUT.npz | frompy IN.npz OUT.tnz
(tnz.py --help).
"""

from __future__ import annotations

import argparse
import os
import struct
import sys
import tempfile
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import BinaryIO

import numpy as np

__version__ = "1.0"

MAGIC = b"\x89TNZ\r\n\x1a\n"
VERSION_MAJOR = 1
VERSION_MINOR = 0

MAX_RANK = 8
MAX_NAME = 255                  # bytes of a tensor name or metadata key
MAX_META = 1 << 28              # bytes of one metadata value
MAX_CHUNK = 1 << 26             # raw bytes of one DATA chunk
MAX_DIM = 1 << 48               # every dimension but the first is below this
MAX_TENSOR = 1 << 62            # bytes of one tensor
MAX_ANCILLARY = 1 << 28         # body bytes of an ancillary record
DEFAULT_CHUNK = 1 << 22         # raw bytes per chunk that save() writes
ROWS_UNKNOWN = 0xFFFFFFFFFFFFFFFF  # dims[0] of a tensor streamed by Writer

CODEC_STORED, CODEC_ZLIB = 0, 1
FILTER_NONE, FILTER_SHUFFLE = 0, 1

# dtype code -> (name, bytes per element, NumPy dtype as read). bf16 is read
# as its uint16 bit patterns.
DTYPES: dict[int, tuple[str, int, str]] = {
    1: ("u8", 1, "u1"),
    2: ("i8", 1, "i1"),
    3: ("u16", 2, "<u2"),
    4: ("i16", 2, "<i2"),
    5: ("u32", 4, "<u4"),
    6: ("i32", 4, "<i4"),
    7: ("u64", 8, "<u8"),
    8: ("i64", 8, "<i8"),
    9: ("f16", 2, "<f2"),
    10: ("bf16", 2, "<u2"),
    11: ("f32", 4, "<f4"),
    12: ("f64", 8, "<f8"),
    13: ("bool", 1, "?"),
}
DTYPE_CODES: dict[str, int] = {name: code for code, (name, _, _) in DTYPES.items()}
FLOAT_DTYPES = {"f16", "bf16", "f32", "f64"}

# Body length bounds of the critical records (section 4); TENS is checked
# exactly once its name length and rank are known.
BODY_LIMITS: dict[bytes, tuple[int, int]] = {
    b"HEAD": (8, 8),
    b"META": (2, 1 + MAX_NAME + MAX_META),
    b"TENS": (6 + 1, 6 + MAX_NAME + 8 * MAX_RANK),
    b"DATA": (8, 8 + MAX_CHUNK),
    b"TEND": (8, 8),
    b"FEND": (8, 8),
}

READ_PIECE = 1 << 20  # bodies are read in pieces of this many bytes at most


class TNZError(Exception):
    """A TNZ file is malformed, or a tensor cannot be written as TNZ."""


# ---- dtypes ----------------------------------------------------------------

def dtype_name(array: np.ndarray) -> str:
    """The TNZ dtype name ("u8", "f32", ...) of a NumPy array's dtype."""
    dt = array.dtype
    if dt.kind == "b":
        return "bool"
    kinds = {"u": "u", "i": "i", "f": "f"}
    if dt.kind in kinds and dt.itemsize in (1, 2, 4, 8):
        name = f"{kinds[dt.kind]}{8 * dt.itemsize}"
        if name in DTYPE_CODES:
            return name
    raise TNZError(f"NumPy dtype {dt} has no TNZ dtype")


def f32_to_bf16(array: np.ndarray) -> np.ndarray:
    """bfloat16 bit patterns (uint16, same shape) of a float array, rounded
    to nearest even; NaNs stay quiet NaNs."""
    bits = np.asarray(array, dtype="<f4", order="C").view("<u4").astype(np.uint64)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    nan = np.isnan(np.asarray(array, dtype=np.float32))
    rounded = np.where(nan, (bits >> 16) | 0x40, rounded)
    return rounded.astype("<u2").reshape(np.shape(array))


def bf16_to_f32(bits: np.ndarray) -> np.ndarray:
    """float32 values (same shape) of bfloat16 bit patterns given as uint16."""
    wide = np.asarray(bits, dtype="<u2").astype("<u4") << 16
    return wide.view("<f4").astype(np.float32)


def _as_le_array(array: np.ndarray, dtype: str) -> np.ndarray:
    """array as a C-contiguous little-endian array of TNZ dtype `dtype`."""
    if dtype == "bf16":
        if array.dtype.kind == "f":
            return f32_to_bf16(array)
        if array.dtype.kind not in "ui" or array.dtype.itemsize != 2:
            raise TNZError(f"bf16 wants a float array or uint16 bit patterns, not {array.dtype}")
        return np.asarray(array, dtype="<u2", order="C")
    code = DTYPE_CODES.get(dtype)
    if code is None:
        raise TNZError(f"unknown dtype {dtype!r}")
    target = np.dtype(DTYPES[code][2])
    if array.dtype != target and dtype_name(array) != dtype:
        raise TNZError(f"cannot write a {array.dtype} array as {dtype}")
    return np.asarray(array, dtype=target, order="C")


# ---- records ---------------------------------------------------------------

def encode_record(tag: bytes, body: bytes) -> bytes:
    """One record: tag (4 bytes), body length (u32), body, CRC-32 of all that."""
    head = tag + struct.pack("<I", len(body))
    return head + body + struct.pack("<I", zlib.crc32(body, zlib.crc32(head)))


def _check_string(what: str, raw: bytes, lo: int, hi: int) -> None:
    if not lo <= len(raw) <= hi:
        raise TNZError(f"{what} must be {lo} to {hi} bytes long, not {len(raw)}")
    if b"\0" in raw:
        raise TNZError(f"{what} contains a NUL byte")


def _encode(text: str | bytes) -> bytes:
    return text if isinstance(text, bytes) else text.encode("utf-8", "surrogateescape")


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def shuffle_bytes(raw: bytes | memoryview, size: int) -> bytes:
    """Byte shuffle (filter 1): byte j of element i goes to j*e + i."""
    if size == 1:
        return bytes(raw)
    return np.frombuffer(raw, np.uint8).reshape(-1, size).T.tobytes()


def unshuffle_bytes(raw: bytes, size: int) -> bytes:
    """Inverse of shuffle_bytes."""
    if size == 1:
        return raw
    return np.frombuffer(raw, np.uint8).reshape(size, -1).T.tobytes()


# ---- writing ---------------------------------------------------------------

@dataclass
class _OpenTensor:
    """The tensor a Writer is writing, between begin() and end()."""
    name: str
    dtype: str                 # TNZ dtype name
    size: int                  # bytes per element
    shape: tuple               # shape[0] None when rows are not known
    rows: int | None           # declared rows (1 for rank 0), None if unknown
    shuffle: bool
    level: int
    step: int                  # raw bytes per chunk, whole elements
    written_rows: int = 0
    pending: bytearray = field(default_factory=bytearray)  # bytes of the next chunk


class Writer:
    """Writes one TNZ file to a path (atomically) or to a binary file object.

    For a path, bytes go to a temporary file beside it; close() writes FEND,
    fsyncs and renames it into place, abort() (or an exception inside a
    `with` block) removes it, so no partial file ever carries the name.

    level: zlib level 0..9 (0 = stored); shuffle: None = on for float dtypes;
    chunk_bytes: raw bytes per DATA chunk (rounded down to whole elements).
    """

    def __init__(self, target: str | os.PathLike | BinaryIO, *, level: int = 1,
                 shuffle: bool | None = None, chunk_bytes: int = DEFAULT_CHUNK) -> None:
        if not 0 <= level <= 9:
            raise ValueError(f"level must be 0..9, not {level}")
        if not 1 <= chunk_bytes <= MAX_CHUNK:
            raise ValueError(f"chunk_bytes must be 1..{MAX_CHUNK}, not {chunk_bytes}")
        self.level, self.shuffle, self.chunk_bytes = level, shuffle, chunk_bytes
        self._path: str | None = None
        self._tmp: str | None = None
        if isinstance(target, (str, os.PathLike)):
            self._path = os.fspath(target)
            folder = os.path.dirname(os.path.abspath(self._path))
            fd, self._tmp = tempfile.mkstemp(prefix="." + os.path.basename(self._path) + ".",
                                             suffix=".tmp", dir=folder)
            self._out: BinaryIO = os.fdopen(fd, "wb")
        else:
            self._out = target
        self._tensors = 0
        self._metas = 0
        self._current: _OpenTensor | None = None  # the tensor between begin() and end()
        self._closed = False
        self._out.write(MAGIC)
        self._out.write(encode_record(b"HEAD", struct.pack("<HHI", VERSION_MAJOR, VERSION_MINOR, 0)))

    def __enter__(self) -> Writer:
        return self

    def __exit__(self, kind, value, traceback) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()

    def meta(self, key: str | bytes, value: str | bytes) -> None:
        """A metadata entry (key 1..255 bytes, value up to 256 MiB, no NULs)."""
        if self._current is not None:
            raise TNZError("metadata cannot be written inside a tensor")
        k, v = _encode(key), _encode(value)
        _check_string("metadata key", k, 1, MAX_NAME)
        _check_string(f'metadata value of "{key}"', v, 0, MAX_META)
        self._out.write(encode_record(b"META", bytes([len(k)]) + k + v))
        self._metas += 1

    def begin(self, name: str, dtype: str, shape: tuple[int | None, ...],
              shuffle: bool | None = None, level: int | None = None) -> None:
        """Starts a tensor of the given TNZ dtype and shape; shape[0] may be
        None (rows counted as they are appended). shape () is rank 0."""
        if self._current is not None:
            raise TNZError(f'tensor "{self._current.name}" is not ended')
        n = _encode(name)
        _check_string("tensor name", n, 1, MAX_NAME)
        code = DTYPE_CODES.get(dtype)
        if code is None:
            raise TNZError(f"unknown dtype {dtype!r}")
        size = DTYPES[code][1]
        shape = tuple(shape)
        if len(shape) > MAX_RANK:
            raise TNZError(f'tensor "{name}": rank {len(shape)} is above {MAX_RANK}')
        row_items = 1
        for d in shape[1:]:
            if d is None or not 0 <= int(d) < MAX_DIM:
                raise TNZError(f'tensor "{name}": too large (dimension {d})')
            row_items *= int(d)
        rows = 1 if not shape else shape[0]
        if rows is not None and (rows < 0 or rows * row_items * size > MAX_TENSOR):
            raise TNZError(f'tensor "{name}": too large ({rows} rows)')
        dims = [ROWS_UNKNOWN if (shape and d is None) else int(d) for d in shape]
        if shuffle is None:
            shuffle = self.shuffle
        if shuffle is None:
            shuffle = dtype in FLOAT_DTYPES and (self.level if level is None else level) > 0
        body = (bytes([len(n)]) + n + bytes([code, len(shape), FILTER_SHUFFLE if shuffle else FILTER_NONE, 0, 0])
                + b"".join(struct.pack("<Q", d) for d in dims))
        self._out.write(encode_record(b"TENS", body))
        self._tensors += 1
        step = max(size, self.chunk_bytes // size * size)
        self._current = _OpenTensor(name, dtype, size, shape, rows, bool(shuffle),
                                    self.level if level is None else level, step)

    def append(self, rows: np.ndarray) -> None:
        """Appends rows of the current tensor: an array of shape
        (k, *shape[1:]) (for rank 0: the one value, shape ())."""
        t = self._current
        if t is None:
            raise TNZError("append() outside a tensor: call begin() first")
        a = _as_le_array(np.asarray(rows), t.dtype)
        if not t.shape:
            if a.shape != () or t.written_rows:
                raise TNZError(f'tensor "{t.name}": rank 0 takes one value of shape ()')
            k = 1
        else:
            if a.ndim != len(t.shape) or a.shape[1:] != tuple(t.shape[1:]):
                raise TNZError(f'tensor "{t.name}": rows of shape {a.shape} do not fit '
                               f'{tuple("?" if d is None else d for d in t.shape)}')
            k = a.shape[0]
        if t.rows is not None and t.written_rows + k > t.rows:
            raise TNZError(f'tensor "{t.name}": more than {t.rows} rows appended')
        t.written_rows += k
        data = memoryview(a.reshape(-1).view(np.uint8))  # the bytes, not copied
        pending, step, at = t.pending, t.step, 0
        if pending:  # complete the chunk begun by an earlier append
            at = min(step - len(pending), len(data))
            pending += data[:at]
            if len(pending) == step:
                self._write_chunk(bytes(pending))
                pending.clear()
        while len(data) - at >= step:
            self._write_chunk(data[at:at + step])
            at += step
        pending += data[at:]

    def _write_chunk(self, raw: bytes | memoryview) -> None:
        """One DATA record: raw shuffled if asked, deflated if that helps."""
        t = self._current
        if t.shuffle:
            raw = shuffle_bytes(raw, t.size)
        codec, payload = CODEC_STORED, raw
        if t.level > 0:
            packed = zlib.compress(raw, t.level)
            if len(packed) < len(raw):
                codec, payload = CODEC_ZLIB, packed
        body = struct.pack("<B3xI", codec, len(raw)) + bytes(payload)
        self._out.write(encode_record(b"DATA", body))

    def end(self) -> None:
        """Ends the current tensor; its rows must match a known shape[0]."""
        t = self._current
        if t is None:
            raise TNZError("end() outside a tensor")
        if t.rows is not None and t.written_rows != t.rows:
            raise TNZError(f'tensor "{t.name}": {t.written_rows} rows appended, '
                           f'{t.rows} declared')
        if t.pending:
            self._write_chunk(bytes(t.pending))
        self._out.write(encode_record(b"TEND", struct.pack("<Q", t.written_rows)))
        self._current = None

    def tensor(self, name: str, array: np.ndarray, dtype: str | None = None,
               shuffle: bool | None = None) -> None:
        """Writes a whole tensor: begin + append + end. dtype defaults to the
        array's (dtype_name); give "bf16" for bfloat16."""
        a = np.asarray(array)
        dtype = dtype or dtype_name(a)
        self.begin(name, dtype, a.shape, shuffle=shuffle)
        self.append(a)
        self.end()

    def close(self) -> None:
        """Writes FEND; for a path, flushes, fsyncs and renames into place."""
        if self._closed:
            return
        if self._current is not None:
            self.abort()
            raise TNZError(f'tensor "{self._current.name}" is not ended')
        try:
            self._out.write(encode_record(b"FEND", struct.pack("<II", self._tensors, self._metas)))
            self._out.flush()
            if self._tmp is not None:
                os.fsync(self._out.fileno())
                mask = os.umask(0)
                os.umask(mask)
                os.fchmod(self._out.fileno(), 0o666 & ~mask)
                self._out.close()
                os.replace(self._tmp, self._path)
                self._tmp = None
                _fsync_dir(os.path.dirname(os.path.abspath(self._path)))
        except BaseException:
            self.abort()
            raise
        self._closed = True

    def abort(self) -> None:
        """Discards the file: removes the temporary file (a path target)."""
        self._closed = True
        if self._tmp is not None:
            self._out.close()
            try:
                os.unlink(self._tmp)
            except FileNotFoundError:
                pass
            self._tmp = None


def _fsync_dir(folder: str) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def save(target: str | os.PathLike | BinaryIO, tensors: Mapping[str, np.ndarray],
         meta: Mapping[str, str | bytes] | None = None, *, dtypes: Mapping[str, str] | None = None,
         level: int = 1, shuffle: bool | None = None, chunk_bytes: int = DEFAULT_CHUNK) -> None:
    """Writes metadata then tensors as one TNZ file, atomically for a path.

    tensors: name -> array of any shape up to rank 8 (0-d = rank 0) and any
    of the TNZ dtypes (byte order and layout are converted as needed). A Tnz
    from load() may be passed: its meta and dtypes are then the defaults.
    dtypes: name -> TNZ dtype name to write instead of the array's (e.g.
    "bf16"). level 0..9 (0 = stored), shuffle None = on for float dtypes,
    chunk_bytes = raw bytes per chunk.
    """
    if isinstance(tensors, Tnz):
        meta = tensors.meta if meta is None else meta
        dtypes = {**tensors.dtypes, **(dtypes or {})}
    dtypes = dtypes or {}
    with Writer(target, level=level, shuffle=shuffle, chunk_bytes=chunk_bytes) as w:
        for key, value in (meta or {}).items():
            w.meta(key, value)
        for name, array in tensors.items():
            w.tensor(name, array, dtypes.get(name))


# ---- reading ---------------------------------------------------------------

class _Input:
    """A binary file object read front to back, counting the offset."""

    def __init__(self, f: BinaryIO) -> None:
        self.f = f
        self.offset = 0

    def read_upto(self, n: int) -> bytes:
        """Up to n bytes (fewer only at end of input), read in bounded pieces
        so that a length claimed by hostile input allocates nothing."""
        parts, want = [], n
        while want > 0:
            piece = self.f.read(min(want, READ_PIECE))
            if not piece:
                break
            parts.append(piece)
            want -= len(piece)
        data = b"".join(parts)
        self.offset += len(data)
        return data

    def read_exact(self, n: int) -> bytes:
        data = self.read_upto(n)
        if len(data) != n:
            raise TNZError(f"truncated at offset {self.offset}")
        return data


class Reader:
    """Reads a TNZ stream tensor record by tensor record, without seeking.

    Iterating yields (name, array) for each TENS..TEND in stream order (a
    name seen again is yielded again: use load() to have them appended).
    Every check of the spec is made, including the append rule of section 5.
    As reading goes on, `meta` holds the metadata read so far (last value
    wins), `dtypes` the TNZ dtype of each name, `files` the number of files
    begun, and `stored`/`raw` the record-body and decoded bytes per name.
    """

    def __init__(self, f: BinaryIO) -> None:
        self._in = _Input(f)
        self.meta: dict[str, str] = {}
        self.dtypes: dict[str, str] = {}
        self.files = 0
        self.stored: dict[str, int] = {}
        self.raw: dict[str, int] = {}
        self._shapes: dict[str, tuple[int, int, tuple[int, ...], int]] = {}  # code, rank, dims[1:], rows

    def __iter__(self) -> Iterator[tuple[str, np.ndarray]]:
        return self._tensors()

    # One file: MAGIC HEAD (META | tensor | ancillary)* FEND.
    def _tensors(self) -> Iterator[tuple[str, np.ndarray]]:
        first = self._in.read_upto(len(MAGIC))
        if not first:
            raise TNZError("empty file")
        while True:
            self._check_magic(first)
            self.files += 1
            yield from self._file()
            at = self._in.offset
            first = self._in.read_upto(len(MAGIC))
            if not first:
                return
            if first != MAGIC and not (len(first) < len(MAGIC) and MAGIC.startswith(first)):
                raise TNZError(f"trailing data at offset {at}")

    def _check_magic(self, first: bytes) -> None:
        if len(first) < len(MAGIC) and MAGIC.startswith(first):
            raise TNZError(f"truncated at offset {self._in.offset}")
        if first != MAGIC:
            if self.files:
                raise TNZError(f"trailing data at offset {self._in.offset - len(first)}")
            raise TNZError("not a TNZ file (bad magic)")

    def _record(self) -> tuple[bytes, bytes, int]:
        """Reads one record whose CRC is good: (tag, body, offset)."""
        at = self._in.offset
        frame = self._in.read_exact(8)
        tag, length = frame[:4], struct.unpack("<I", frame[4:])[0]
        shown = tag.decode("latin-1").encode("unicode_escape").decode("ascii")
        if tag in BODY_LIMITS:
            lo, hi = BODY_LIMITS[tag]
        elif all(97 <= c <= 122 or 65 <= c <= 90 for c in tag) and 97 <= tag[0] <= 122:
            lo, hi = 0, MAX_ANCILLARY
        else:
            raise TNZError(f'unknown record "{shown}" at offset {at}')
        if length > hi:
            raise TNZError(f"{shown} record too long ({length} bytes) at offset {at}")
        if length < lo:
            raise TNZError(f"{shown} record too short ({length} bytes) at offset {at}")
        body = self._in.read_exact(length)
        crc = struct.unpack("<I", self._in.read_exact(4))[0]
        if zlib.crc32(body, zlib.crc32(frame)) != crc:
            raise TNZError(f"CRC mismatch in {shown} record at offset {at}")
        return tag, body, at

    def _file(self) -> Iterator[tuple[str, np.ndarray]]:
        tag, body, at = self._record()
        if tag != b"HEAD":
            raise TNZError(f"expected a HEAD record at offset {at}")
        major, minor, flags = struct.unpack("<HHI", body)
        if major != VERSION_MAJOR:
            raise TNZError(f"version {major}.{minor} is newer than this reader ({VERSION_MAJOR}.x)"
                           if major > VERSION_MAJOR else f"version {major}.{minor} is not supported")
        if flags:
            raise TNZError(f"unknown flags 0x{flags:08x} in HEAD record at offset {at}")
        tensors = metas = 0
        while True:
            tag, body, at = self._record()
            if tag == b"META":
                self._meta(body, at)
                metas += 1
            elif tag == b"TENS":
                tensors += 1
                yield self._tensor(body, at)
            elif tag == b"FEND":
                n_tensors, n_metas = struct.unpack("<II", body)
                if (n_tensors, n_metas) != (tensors, metas):
                    raise TNZError(f"FEND record at offset {at} counts {n_tensors} tensors and "
                                   f"{n_metas} metadata records, the file has {tensors} and {metas}")
                return
            elif tag in BODY_LIMITS:
                raise TNZError(f"unexpected {tag.decode()} record at offset {at}")
            # else: an ancillary record, CRC checked, skipped.

    def _meta(self, body: bytes, at: int) -> None:
        klen = body[0]
        if klen == 0 or 1 + klen > len(body):
            raise TNZError(f"bad key length {klen} in META record at offset {at}")
        key, value = body[1:1 + klen], body[1 + klen:]
        if b"\0" in key:
            raise TNZError(f"NUL byte in the key of the META record at offset {at}")
        if b"\0" in value:
            raise TNZError(f"NUL byte in the value of the META record at offset {at}")
        if len(value) > MAX_META:
            raise TNZError(f"META record too long ({len(body)} bytes) at offset {at}")
        self.meta[_decode(key)] = _decode(value)

    def _tensor(self, body: bytes, at: int) -> tuple[str, np.ndarray]:
        """Parses TENS (body at offset at), reads its DATA and TEND records."""
        nlen = body[0]
        if nlen == 0 or len(body) < 6 + nlen:
            raise TNZError(f"bad name length {nlen} in TENS record at offset {at}")
        raw_name = body[1:1 + nlen]
        name = _decode(raw_name)
        if b"\0" in raw_name:
            raise TNZError(f"NUL byte in tensor name at offset {at}")
        code, rank, filt, res1, res2 = body[1 + nlen:6 + nlen]
        if code not in DTYPES:
            raise TNZError(f'tensor "{name}": unknown dtype {code}')
        if rank > MAX_RANK:
            raise TNZError(f'tensor "{name}": rank {rank} is above {MAX_RANK}')
        if filt not in (FILTER_NONE, FILTER_SHUFFLE):
            raise TNZError(f'tensor "{name}": unknown filter {filt}')
        if res1 or res2:
            raise TNZError(f'tensor "{name}": non-zero reserved byte in TENS record at offset {at}')
        if len(body) != 6 + nlen + 8 * rank:
            raise TNZError(f'tensor "{name}": TENS record of {len(body)} bytes at offset {at} '
                           f"does not match rank {rank}")
        dims = struct.unpack(f"<{rank}Q", body[6 + nlen:])
        dname, size, npdtype = DTYPES[code]
        row_bytes = size
        for i, d in enumerate(dims[1:], 1):
            if d >= MAX_DIM:
                raise TNZError(f'tensor "{name}": too large (dimension {i} is {d})')
            row_bytes *= d
        rows = dims[0] if rank else 1
        if rows != ROWS_UNKNOWN:
            _check_size(name, rows, row_bytes)
        if name in self._shapes:
            old_code, old_rank, old_rest, old_rows = self._shapes[name]
            if rank == 0 or old_rank == 0:
                raise TNZError(f'tensor "{name}": cannot append a rank-0 tensor')
            if (old_code, old_rank, old_rest) != (code, rank, dims[1:]):
                raise TNZError(f'tensor "{name}": cannot append {dname} rows of '
                               f"{_shape_str(dims[1:])} to {DTYPES[old_code][0]} rows of "
                               f"{_shape_str(old_rest)}")
            if rows != ROWS_UNKNOWN:
                _check_size(name, old_rows + rows, row_bytes)

        data = bytearray()
        stored = len(body) + 12
        while True:
            tag, rbody, rat = self._record()
            stored += len(rbody) + 12
            if tag == b"DATA":
                chunk = self._chunk(name, rbody, rat, size, filt)
                data += chunk
                expected = rows * row_bytes if rows != ROWS_UNKNOWN else MAX_TENSOR
                if len(data) > expected:
                    if rows == ROWS_UNKNOWN:
                        raise TNZError(f'tensor "{name}": too large (over {MAX_TENSOR} bytes)')
                    raise TNZError(f'tensor "{name}": size mismatch (chunks hold more than '
                                   f"the {expected} bytes of {_shape_str(dims)})")
            elif tag == b"TEND":
                (end_rows,) = struct.unpack("<Q", rbody)
                break
            else:
                raise TNZError(f'tensor "{name}": unexpected {_show(tag)} record at offset {rat} '
                               "inside a tensor")
        if rows == ROWS_UNKNOWN:
            _check_size(name, end_rows, row_bytes)
        elif end_rows != rows:
            raise TNZError(f'tensor "{name}": size mismatch (TEND says {end_rows} rows, '
                           f"the header {rows}) at offset {rat}")
        if len(data) != end_rows * row_bytes:
            raise TNZError(f'tensor "{name}": size mismatch ({end_rows} rows need '
                           f"{end_rows * row_bytes} bytes, the chunks hold {len(data)}) at offset {rat}")
        if name in self._shapes:
            _check_size(name, self._shapes[name][3] + end_rows, row_bytes)

        array = np.frombuffer(data, dtype=np.uint8 if dname == "bool" else npdtype)
        if dname == "bool":
            if array.size and array.max() > 1:
                raise TNZError(f'tensor "{name}": bool value {array.max()} is not 0 or 1')
            array = array.view(np.bool_)
        shape = (end_rows, *dims[1:]) if rank else ()
        array = array.reshape(shape)
        if array.dtype.byteorder not in ("=", "|"):
            array = array.astype(array.dtype.newbyteorder("="))
        prev_rows = self._shapes[name][3] if name in self._shapes else 0
        self._shapes[name] = (code, rank, tuple(dims[1:]), prev_rows + end_rows)
        self.dtypes[name] = dname
        self.stored[name] = self.stored.get(name, 0) + stored
        self.raw[name] = self.raw.get(name, 0) + len(data)
        return name, array

    def _chunk(self, name: str, body: bytes, at: int, size: int, filt: int) -> bytes:
        """Decodes one DATA record body into its raw bytes."""
        codec = body[0]
        (raw,) = struct.unpack("<I", body[4:8])
        payload = body[8:]
        if codec not in (CODEC_STORED, CODEC_ZLIB):
            raise TNZError(f'tensor "{name}": unknown codec {codec} in DATA record at offset {at}')
        if any(body[1:4]):
            raise TNZError(f'tensor "{name}": non-zero reserved byte in DATA record at offset {at}')
        if not 1 <= raw <= MAX_CHUNK:
            raise TNZError(f'tensor "{name}": chunk size {raw} out of range 1..{MAX_CHUNK} '
                           f"at offset {at}")
        if raw % size:
            raise TNZError(f'tensor "{name}": chunk of {raw} bytes splits a {size}-byte element '
                           f"at offset {at}")
        if codec == CODEC_STORED:
            if len(payload) != raw:
                raise TNZError(f'tensor "{name}": corrupt chunk at offset {at} '
                               f"(stored {len(payload)} bytes, raw {raw})")
            out = payload
        else:
            out = _inflate(payload, raw)
            if out is None:
                raise TNZError(f'tensor "{name}": corrupt chunk at offset {at}')
        return unshuffle_bytes(out, size) if filt == FILTER_SHUFFLE else out


def _inflate(payload: bytes, raw: int) -> bytes | None:
    """payload inflated, if it is one zlib stream of exactly raw bytes that
    ends at the end of payload; None otherwise. Never makes more than raw+1
    bytes, whatever the stream claims."""
    d = zlib.decompressobj()
    try:
        out = d.decompress(payload, raw)
        while not d.eof and d.unconsumed_tail:
            if d.decompress(d.unconsumed_tail, 1):
                return None  # wants to make more than raw bytes
    except zlib.error:
        return None
    if not d.eof or d.unused_data or len(out) != raw:
        return None
    return out


def _check_size(name: str, rows: int, row_bytes: int) -> None:
    """rows * row_bytes within 2^62 bytes (and rows within 2^62 when a row
    is empty, so that NumPy can hold the shape)."""
    if rows * row_bytes > MAX_TENSOR or rows > MAX_TENSOR:
        raise TNZError(f'tensor "{name}": too large ({rows} rows of {row_bytes} bytes)')


def _shape_str(dims: tuple[int, ...]) -> str:
    shown = ["?" if d == ROWS_UNKNOWN else str(d) for d in dims]
    return "(" + ", ".join(shown) + ("," if len(shown) == 1 else "") + ")"


def _show(tag: bytes) -> str:
    return tag.decode("latin-1").encode("unicode_escape").decode("ascii")


def iter_tensors(f: BinaryIO) -> Iterator[tuple[str, np.ndarray]]:
    """(name, array) for each tensor record of a stream, in order, as read.
    f: a binary file object read front to back (a pipe is fine)."""
    return iter(Reader(f))


class Tnz(Mapping[str, np.ndarray]):
    """A whole TNZ stream in memory: t[name] -> array, t.meta[key] -> str,
    t.dtypes[name] -> TNZ dtype name, t.files -> number of files."""

    def __init__(self, tensors: dict[str, np.ndarray], meta: dict[str, str],
                 dtypes: dict[str, str], files: int = 1) -> None:
        self.tensors, self.meta, self.dtypes, self.files = tensors, meta, dtypes, files

    def __getitem__(self, name: str) -> np.ndarray:
        return self.tensors[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.tensors)

    def __len__(self) -> int:
        return len(self.tensors)

    def __repr__(self) -> str:
        parts = [f"{n}: {self.dtypes[n]} {a.shape}" for n, a in self.tensors.items()]
        return f"Tnz({', '.join(parts)}; meta {sorted(self.meta)})"


def load(source: str | os.PathLike | BinaryIO) -> Tnz:
    """Reads a whole stream ("-" = standard input): every check of the spec;
    tensors of the same name appended along their first dimension."""
    if isinstance(source, (str, os.PathLike)):
        if os.fspath(source) == "-":
            return load(sys.stdin.buffer)
        with open(source, "rb") as f:
            return load(f)
    reader = Reader(source)
    parts: dict[str, list[np.ndarray]] = {}
    for name, array in reader:
        parts.setdefault(name, []).append(array)
    tensors = {n: p[0] if len(p) == 1 else np.concatenate(p) for n, p in parts.items()}
    return Tnz(tensors, reader.meta, reader.dtypes, reader.files)


# ---- command line ----------------------------------------------------------

def _open_input(path: str):
    return sys.stdin.buffer if path == "-" else open(path, "rb")


def _cmd_info(args: argparse.Namespace) -> None:
    for path in args.files:
        f = _open_input(path)
        try:
            reader = Reader(f)
            shapes: dict[str, tuple[int, ...]] = {}
            for name, array in reader:
                old = shapes.get(name)
                shapes[name] = array.shape if old is None else (old[0] + array.shape[0], *old[1:])
        finally:
            if f is not sys.stdin.buffer:
                f.close()
        if len(args.files) > 1:
            print(f"{path}:")
        print(f"files\t{reader.files}")
        for name, shape in shapes.items():
            raw, stored = reader.raw[name], reader.stored[name]
            ratio = f"{raw / stored:.2f}" if stored else "-"
            print(f"tensor\t{name}\t{reader.dtypes[name]}\t{_shape_str(shape)}\t"
                  f"{raw} bytes\t{stored} stored\tratio {ratio}")
        for key, value in reader.meta.items():
            print(f"meta\t{key}\t{len(_encode(value))} bytes")


META_PREFIX = "__meta__."     # npz entry holding one metadata value (topy/frompy)
DTYPE_PREFIX = "__dtype__."   # npz entry naming a TNZ dtype NumPy lacks (bf16)


def _cmd_topy(args: argparse.Namespace) -> None:
    t = load(args.input)
    entries: dict[str, np.ndarray] = dict(t.tensors)
    for key, value in t.meta.items():
        entries[META_PREFIX + key] = np.array(value)
    for name, dname in t.dtypes.items():
        if dname == "bf16":
            entries[DTYPE_PREFIX + name] = np.array("bf16")
    folder = os.path.dirname(os.path.abspath(args.output))
    fd, tmp = tempfile.mkstemp(prefix=".topy.", suffix=".npz", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **entries)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, args.output)
    except BaseException:
        os.unlink(tmp)
        raise


def _cmd_frompy(args: argparse.Namespace) -> None:
    tensors, meta, dtypes = {}, {}, {}
    if args.input.endswith(".npy"):
        tensors[args.name] = np.load(args.input, allow_pickle=False)
    else:
        with np.load(args.input, allow_pickle=False) as z:
            for key in z.files:
                if key.startswith(META_PREFIX):
                    meta[key[len(META_PREFIX):]] = str(z[key])
                elif key.startswith(DTYPE_PREFIX):
                    dtypes[key[len(DTYPE_PREFIX):]] = str(z[key])
                else:
                    tensors[key] = z[key]
    shuffle = False if args.no_shuffle else None
    save(args.output, tensors, meta, dtypes=dtypes, level=args.level, shuffle=shuffle)


def main(argv: list[str] | None = None) -> int:
    """Command line entry: returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="tnz.py", description="Inspect and convert TNZ tensor files (formats/tnz.md).",
        epilog="Metadata travels through .npz as entries named __meta__.KEY (0-d strings); "
               "bf16 tensors as uint16 with an entry __dtype__.NAME = 'bf16'.")
    parser.add_argument("--version", action="version", version=f"tnz.py {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser("info", help="list tensors (dtype, shape, sizes) and metadata keys")
    p.add_argument("files", nargs="+", metavar="FILE", help='TNZ file ("-" = standard input)')
    p.set_defaults(run=_cmd_info)
    p = sub.add_parser("topy", help="convert a TNZ file to .npz")
    p.add_argument("input", metavar="FILE.tnz")
    p.add_argument("output", metavar="OUT.npz")
    p.set_defaults(run=_cmd_topy)
    p = sub.add_parser("frompy", help="convert .npz (or .npy) to a TNZ file")
    p.add_argument("input", metavar="IN.npz")
    p.add_argument("output", metavar="OUT.tnz")
    p.add_argument("--level", type=int, default=1, choices=range(10), metavar="0..9",
                   help="zlib level, 0 = stored (default 1)")
    p.add_argument("--no-shuffle", action="store_true", help="no byte shuffle for floats")
    p.add_argument("--name", default="x", help="tensor name for a .npy input (default x)")
    p.set_defaults(run=_cmd_frompy)
    args = parser.parse_args(argv)
    try:
        args.run(args)
        sys.stdout.flush()
    except (TNZError, OSError, ValueError) as e:
        print(f"tnz.py: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
