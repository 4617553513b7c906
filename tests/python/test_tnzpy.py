#!/usr/bin/python3
"""Tests of tools/tnz.py, run by tests/bats/tnzpy.bats.

    /usr/bin/python3 tests/python/test_tnzpy.py GROUP [--trials N] [--seed S]

Groups: examples, spec, roundtrip, writer, corrupt, truncate. Each prints one
line per check that failed and a summary line "GROUP: N checks, M failed",
and exits 1 if any failed. Run from the repository top (or anywhere: paths
are found from this file).
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import re
import sys
import tempfile
import zlib

import numpy as np

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(TOP, "tools"))
import make_tnz_examples  # noqa: E402
import tnz  # noqa: E402

EXAMPLES_DIR = os.path.join(TOP, "formats", "examples")


class Checks:
    """Counts checks and prints the failed ones."""

    def __init__(self, group: str) -> None:
        self.group, self.count, self.failed = group, 0, 0

    def check(self, ok: bool, what: str) -> bool:
        self.count += 1
        if not ok:
            self.failed += 1
            print(f"FAIL {self.group}: {what}")
        return ok

    def finish(self) -> int:
        print(f"{self.group}: {self.count} checks, {self.failed} failed")
        return 1 if self.failed or not self.count else 0


class Trickle(io.RawIOBase):
    """A non-seekable file object handing out at most a few bytes per read,
    like a pipe under load."""

    def __init__(self, data: bytes, rng: np.random.Generator) -> None:
        self.data, self.at, self.rng = data, 0, rng

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        if n < 0:
            n = len(self.data)
        n = min(n, int(self.rng.integers(1, 8)))
        piece = self.data[self.at:self.at + n]
        self.at += len(piece)
        return piece


def same_array(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal dtype, shape and bytes (so NaNs and -0.0 count)."""
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def outcome(data: bytes) -> tuple[str, object]:
    """("ok", Tnz) or ("error", message) for a stream; any other exception
    propagates (and is a failure of the reader)."""
    try:
        return "ok", tnz.load(io.BytesIO(data))
    except tnz.TNZError as e:
        return "error", str(e)


def same_content(t: tnz.Tnz, u: tnz.Tnz) -> bool:
    return (t.meta == u.meta and t.dtypes == u.dtypes and list(t) == list(u)
            and all(same_array(t[n], u[n]) for n in t))


# ---- groups ----------------------------------------------------------------

def test_examples(c: Checks, args: argparse.Namespace) -> None:
    """Every reference file gives its expected outcome and content, through
    load() and through iter_tensors() on a trickling pipe; the committed
    files are what the generator makes."""
    rng = np.random.default_rng(args.seed)
    by_name = {e.name: e for e in make_tnz_examples.EXAMPLES}
    with open(os.path.join(EXAMPLES_DIR, "expected.tsv"), newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    c.check(len(rows) == len(by_name), f"expected.tsv has {len(rows)} rows, the generator {len(by_name)}")
    c.check([r["file"] for r in rows] == list(by_name), "expected.tsv lists the generator's files in order")
    listed = {r["file"] for r in rows}
    on_disk = {n for n in os.listdir(EXAMPLES_DIR) if n.endswith(".tnz")}
    c.check(on_disk == listed, f"files not in expected.tsv: {sorted(on_disk ^ listed)}")
    for r in rows:
        name = r["file"]
        path = os.path.join(EXAMPLES_DIR, name)
        with open(path, "rb") as f:
            data = f.read()
        c.check(len(data) < 10_000, f"{name} is under 10 KB")
        e = by_name.get(name)
        if e is not None:
            c.check(e.data == data, f"{name} is what tools/make_tnz_examples.py writes")
            c.check(e.outcome == r["outcome"] and e.message == r["message"], f"{name}: row matches generator")
        got, value = outcome(data)
        if not c.check(got == r["outcome"], f"{name}: expected {r['outcome']}, got {got} ({value})"):
            continue
        if got == "error":
            c.check(r["message"] in value, f'{name}: message "{value}" lacks "{r["message"]}"')
        elif e is not None:
            want = tnz.Tnz(e.tensors, e.meta, {n: e.dtypes.get(n) or tnz.dtype_name(a)
                                                for n, a in e.tensors.items()})
            c.check(same_content(value, want), f"{name}: content differs from the generator's")
        # The same outcome tensor by tensor from a pipe, no seeking.
        try:
            reader = tnz.Reader(Trickle(data, rng))
            parts = list(reader)
            streamed = "ok"
        except tnz.TNZError as err:
            streamed, parts = "error", str(err)
        c.check(streamed == got, f"{name}: iter_tensors gives {streamed}, load {got}")
        if got == "error":
            c.check(parts == value, f"{name}: iter_tensors says {parts!r}, load {value!r}")
        else:
            c.check(reader.meta == value.meta, f"{name}: streamed metadata")
            joined: dict[str, list[np.ndarray]] = {}
            for n, a in parts:
                joined.setdefault(n, []).append(a)
            c.check(all(same_array(np.concatenate(p) if len(p) > 1 else p[0], value[n])
                        for n, p in joined.items()), f"{name}: streamed tensors")
        # A conforming reader must also accept every valid file twice in a row.
        if got == "ok" and name != "ok_rank0_rank8.tnz":
            c.check(outcome(data + data)[0] == "ok", f"{name} concatenated with itself")


def test_spec(c: Checks, args: argparse.Namespace) -> None:
    """The writer reproduces section 9 of formats/tnz.md byte for byte, and
    the CRC check value of section 2 holds."""
    c.check(zlib.crc32(b"123456789") == 0xCBF43926, "CRC-32 check value")
    with open(os.path.join(TOP, "formats", "tnz.md"), encoding="utf-8") as f:
        spec = f.read()
    block = spec[spec.index("## 9. Example"):]
    block = block[block.index("```") + 3:]
    block = block[:block.index("```")]
    want = []  # hex bytes, "xx" for a CRC, each line's leading tokens
    for line in block.splitlines():
        for token in line.split():
            if not re.fullmatch(r"[0-9a-f]{2}|xx", token):
                break
            want.append(token)
    out = io.BytesIO()
    tnz.save(out, {"x": np.array([[1, 2, 3], [4, 5, 6]], np.uint8)}, {"classes": "cat\ndog"}, level=0)
    got = out.getvalue()
    c.check(len(got) == len(want), f"section 9 has {len(want)} bytes, the writer makes {len(got)}")
    c.check(all(w == "xx" or int(w, 16) == g for w, g in zip(want, got)), "section 9 bytes")
    c.check(outcome(got)[0] == "ok", "section 9 reads back")


def random_array(rng: np.random.Generator, dtype: str, shape: tuple[int, ...]) -> np.ndarray:
    """Random values of every bit pattern (floats too: NaNs and infinities)."""
    if dtype == "bool":
        return rng.integers(0, 2, shape).astype(bool)
    np_dtype = np.dtype(tnz.DTYPES[tnz.DTYPE_CODES[dtype]][2])
    raw = rng.integers(0, 256, int(np.prod(shape)) * np_dtype.itemsize, dtype=np.uint8)
    return raw.view(np_dtype).reshape(shape)


def test_roundtrip(c: Checks, args: argparse.Namespace) -> None:
    """save/load of every dtype and rank 0..8, with every option, from
    arrays of any layout and byte order."""
    rng = np.random.default_rng(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "t.tnz")
        for dtype in tnz.DTYPE_CODES:
            for rank in range(9):
                shape = tuple(int(d) for d in rng.integers(1, 4 if rank > 4 else 6, rank))
                a = random_array(rng, dtype, shape)
                level, shuffle = [(0, None), (1, None), (9, True), (6, False)][rank % 4]
                chunk = int(rng.choice([1, 7, 64, tnz.DEFAULT_CHUNK]))
                tnz.save(path, {"a": a}, {"dtype": dtype}, dtypes={"a": dtype}, level=level,
                         shuffle=shuffle, chunk_bytes=chunk)
                t = tnz.load(path)
                c.check(t.dtypes["a"] == dtype and t.meta == {"dtype": dtype},
                        f"{dtype} rank {rank}: dtype and meta")
                want = a.view("<u2") if dtype == "bf16" else a
                c.check(same_array(t["a"], want), f"{dtype} rank {rank} level {level} chunk {chunk}")
        c.check(os.listdir(tmp) == ["t.tnz"], f"no temporary files left: {os.listdir(tmp)}")

        base = np.arange(60, dtype=np.float64).reshape(3, 4, 5)
        odd = {"transposed": base.T, "strided": base[:, ::2, 1::2], "bigendian": base.astype(">f8"),
               "bigint": np.arange(10, dtype=">i4"), "fortran": np.asfortranarray(base),
               "empty0": np.zeros((0, 4, 2), np.int64), "empty1": np.zeros((3, 0), np.uint16),
               "scalar": np.array(True), "pyint": np.int64(-5)}
        tnz.save(path, odd)
        t = tnz.load(path)
        for n, a in odd.items():
            want = np.asarray(a)
            c.check(t[n].shape == want.shape and np.array_equal(t[n], want)
                    and t[n].dtype == want.dtype.newbyteorder("="), f"layout {n}")
            c.check(t[n].flags.writeable and t[n].dtype.isnative, f"{n} is native and writable")

        floats = np.array([1.0, 1.00390625, 1.01171875, -0.0, np.inf, np.nan, np.finfo(np.float32).max], np.float32)
        tnz.save(path, {"w": floats}, dtypes={"w": "bf16"})
        t = tnz.load(path)
        want_bits = np.array([0x3F80, 0x3F80, 0x3F82, 0x8000, 0x7F80, 0x7FC0, 0x7F80], np.uint16)
        c.check(t.dtypes["w"] == "bf16" and same_array(t["w"], want_bits),
                f"bf16 rounds to nearest even: {[hex(v) for v in t['w']]}")
        back = tnz.bf16_to_f32(t["w"])
        c.check(back.dtype == np.float32 and back[2] == np.float32(1.015625), "bf16_to_f32")

        tnz.save(path, t)  # a Tnz keeps its dtypes and metadata
        c.check(tnz.load(path).dtypes["w"] == "bf16", "save(Tnz) keeps bf16")

        for bad, what in [({"c": np.zeros(2, np.complex64)}, "complex"), ({"s": np.array(["a"])}, "strings"),
                          ({"": np.zeros(1)}, "empty name"), ({"a" * 256: np.zeros(1)}, "long name"),
                          ({"r": np.zeros((1,) * 9)}, "rank 9")]:
            try:
                tnz.save(path, bad)
                c.check(False, f"save refuses {what}")
            except tnz.TNZError:
                c.check(True, "")
        c.check(same_array(tnz.load(path)["w"], want_bits), "a refused save leaves the old file")
        for meta, what in [({"k\0": "v"}, "NUL in key"), ({"k": "v\0"}, "NUL in value"), ({"": "v"}, "empty key")]:
            try:
                tnz.save(path, {}, meta)
                c.check(False, f"save refuses {what}")
            except tnz.TNZError:
                c.check(True, "")
        c.check(os.listdir(tmp) == ["t.tnz"], f"no temporary files left: {os.listdir(tmp)}")


def test_writer(c: Checks, args: argparse.Namespace) -> None:
    """The streaming Writer: unknown dims[0], pieces of any size, errors."""
    rng = np.random.default_rng(args.seed)
    rows = rng.standard_normal((37, 3, 5)).astype(np.float32)
    for chunk in (1, 4, 60, 100, 1 << 20):
        out = io.BytesIO()
        with tnz.Writer(out, chunk_bytes=chunk) as w:
            w.begin("x", "f32", (None, 3, 5))
            at = 0
            while at < len(rows):
                k = int(rng.integers(0, 6))
                w.append(rows[at:at + k])
                at += k
            w.end()
            w.meta("after", "tensors")
        t = tnz.load(io.BytesIO(out.getvalue()))
        c.check(same_array(t["x"], rows) and t.meta == {"after": "tensors"}, f"streamed, chunk {chunk}")
        c.check(b"\xff" * 8 in out.getvalue(), "dims[0] written as unknown")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "w.tnz")
        for what, steps in [
            ("too few rows", lambda w: (w.begin("x", "u8", (3,)), w.append(np.zeros(2, np.uint8)), w.end())),
            ("too many rows", lambda w: (w.begin("x", "u8", (1,)), w.append(np.zeros(2, np.uint8)))),
            ("wrong row shape", lambda w: (w.begin("x", "u8", (None, 2)), w.append(np.zeros((1, 3), np.uint8)))),
            ("meta inside a tensor", lambda w: (w.begin("x", "u8", (None,)), w.meta("k", "v"))),
            ("unended tensor", lambda w: w.begin("x", "u8", (None,))),
        ]:
            try:
                with tnz.Writer(path) as w:
                    steps(w)
                c.check(False, f"Writer refuses {what}")
            except tnz.TNZError:
                c.check(not os.listdir(tmp), f"{what}: no file left behind ({os.listdir(tmp)})")
        try:
            with tnz.Writer(path) as w:
                w.tensor("x", np.arange(3))
                raise KeyboardInterrupt
        except KeyboardInterrupt:
            c.check(not os.listdir(tmp), "interrupted: no file left behind")
        with tnz.Writer(path) as w:
            w.tensor("x", np.arange(3))
        mode = os.stat(path).st_mode & 0o777
        umask = os.umask(0)
        os.umask(umask)
        c.check(mode == 0o666 & ~umask, f"file mode {oct(mode)} follows the umask")


def valid_files() -> dict[str, bytes]:
    return {e.name: e.data for e in make_tnz_examples.EXAMPLES if e.outcome == "ok"}


def test_corrupt(c: Checks, args: argparse.Namespace) -> None:
    """Random byte changes (bit flips, new values, deletions, insertions) in
    valid files: an error, or identical content (never another exception,
    never different data)."""
    rng = np.random.default_rng(args.seed)
    files = valid_files()
    names = sorted(files)
    originals = {n: tnz.load(io.BytesIO(d)) for n, d in files.items()}
    identical = 0
    for trial in range(args.trials):
        name = names[trial % len(names)]
        data = bytearray(files[name])
        for _ in range(int(rng.integers(1, 4))):
            at = int(rng.integers(0, len(data)))
            change = rng.random()
            if change < 0.45:
                data[at] ^= 1 << int(rng.integers(0, 8))
            elif change < 0.9:
                data[at] = int(rng.integers(0, 256))
            elif change < 0.95:
                del data[at]
            else:
                data.insert(at, int(rng.integers(0, 256)))
        try:
            got, value = outcome(bytes(data))
        except Exception as e:  # noqa: BLE001 (any other exception is the bug we look for)
            c.check(False, f"{name} trial {trial}: {type(e).__name__}: {e}")
            continue
        if got == "ok":
            identical += 1
            c.check(bytes(data) == files[name] and same_content(value, originals[name]),
                    f"{name} trial {trial}: corrupted file read as valid with other content")
        else:
            c.check(True, "")
    print(f"corrupt: {args.trials} trials, {identical} left the file unchanged")


def test_truncate(c: Checks, args: argparse.Namespace) -> None:
    """Every proper prefix of every valid file is an error saying
    "truncated" (or "empty file" for zero bytes), except where a file of a
    concatenation ends."""
    for name, data in valid_files().items():
        file_ends, at = set(), 8  # where each file of the stream ends
        while at < len(data):
            length = int.from_bytes(data[at + 4:at + 8], "little")
            at += 12 + length
            if data[at - 12 - length:at - 8 - length] == b"FEND":
                file_ends.add(at)
                at += len(tnz.MAGIC)
        for n in range(len(data)):
            got, value = outcome(data[:n])
            if n in file_ends:
                c.check(got == "ok", f"{name}[:{n}] ends a file: readable")
                continue
            want = "empty file" if n == 0 else f"truncated at offset {n}"
            c.check(got == "error" and value == want, f"{name}[:{n}]: {value!r}, not {want!r}")


GROUPS = {"examples": test_examples, "spec": test_spec, "roundtrip": test_roundtrip,
          "writer": test_writer, "corrupt": test_corrupt, "truncate": test_truncate}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("groups", nargs="+", choices=sorted(GROUPS))
    parser.add_argument("--trials", type=int, default=3000, help="corrupt: files to corrupt")
    parser.add_argument("--seed", type=int, default=12345)
    args = parser.parse_args()
    status = 0
    for group in args.groups:
        c = Checks(group)
        GROUPS[group](c, args)
        status |= c.finish()
    return status


if __name__ == "__main__":
    sys.exit(main())
