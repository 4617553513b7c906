#!/usr/bin/python3
"""Writes the small NumPy and IDX files under tests/data/io/ that
tests/unit/test_io.c reads, so that the C tests need no NumPy at run time.

Run from the top of the repository with a Python that has NumPy:
    /usr/bin/python3 tools/make_io_fixtures.py
Every array holds value(i) = i * scale + offset for element i in row-major
order (see values()); the C tests compute the same numbers.
"""
import gzip
import os
import struct
import zipfile

import numpy as np

OUT = os.path.join("tests", "data", "io")

# dtype code -> (scale, offset): every value exact in its dtype.
KINDS = {
    "u1": (1, 0), "i1": (1, -3), "u2": (1, 0), "i2": (1, -3),
    "u4": (1, 0), "i4": (1, -3), "u8": (1, 0), "i8": (1, -3),
    "f2": (0.25, -1), "f4": (0.5, -1), "f8": (0.125, -1), "b1": None,
}


def values(code, shape, order="C"):
    n = int(np.prod(shape))
    i = np.arange(n)
    if code == "b1":
        v = (i % 3 == 1)
    else:
        scale, offset = KINDS[code]
        v = i * scale + offset
    a = v.astype(code).reshape(shape)
    return np.asfortranarray(a) if order == "F" else a


def save(name, arr, version=None):
    path = os.path.join(OUT, name)
    with open(path, "wb") as f:
        if version is None:
            np.save(f, arr, allow_pickle=False)
        else:
            np.lib.format.write_array(f, arr, version=version, allow_pickle=False)


def write_idx(path, arr, code, compress):
    head = bytes([0, 0, code, arr.ndim]) + b"".join(struct.pack(">I", d) for d in arr.shape)
    big = arr.astype(arr.dtype.newbyteorder(">"))
    data = head + big.tobytes()
    if compress:
        data = gzip.compress(data, mtime=0)
    with open(path, "wb") as f:
        f.write(data)


def main():
    os.makedirs(OUT, exist_ok=True)
    for code in KINDS:
        save(f"le_{code}.npy", values(code, (2, 3)))
        if code not in ("u1", "i1", "b1"):
            save(f"be_{code}.npy", values(code, (2, 3)).astype(">" + code))
    save("fortran_f4.npy", values("f4", (3, 4), order="F"))
    save("fortran_i2_3d.npy", values("i2", (2, 3, 4), order="F"))
    save("be_fortran_f8.npy", values("f8", (3, 2), order="F").astype(">f8"))
    save("scalar_f8.npy", np.array(2.5))
    save("empty_0x3_f4.npy", np.zeros((0, 3), dtype="<f4"))
    save("v2_i4.npy", values("i4", (2, 3)), version=(2, 0))
    save("v3_i4.npy", values("i4", (2, 3)), version=(3, 0))
    save("bad_unicode.npy", np.array(["hello", "x"]))
    save("bad_complex.npy", np.zeros(2, dtype=np.complex64))
    save("bad_struct.npy", np.zeros(2, dtype=[("a", "<i4"), ("b", "<f4")]))
    with open(os.path.join(OUT, "bad_object.npy"), "wb") as f:
        np.save(f, np.array([1, "a"], dtype=object), allow_pickle=True)

    arrays = {"x": values("f4", (4, 3)), "y": values("i4", (4,)),
              "empty": np.zeros((0,), dtype="u1"), "scalar": np.array(7, dtype="<i8")}
    np.savez(os.path.join(OUT, "stored.npz"), **arrays)
    np.savez_compressed(os.path.join(OUT, "deflated.npz"), **arrays)
    # ZIP64 records on small members: lower zipfile's limits while NumPy
    # writes (central directory ZIP64 extra fields, ZIP64 end records).
    limits = zipfile.ZIP64_LIMIT, zipfile.ZIP_FILECOUNT_LIMIT
    zipfile.ZIP64_LIMIT, zipfile.ZIP_FILECOUNT_LIMIT = 64, 1
    try:
        np.savez(os.path.join(OUT, "zip64.npz"), **arrays)
        np.savez_compressed(os.path.join(OUT, "zip64_deflated.npz"), **arrays)
    finally:
        zipfile.ZIP64_LIMIT, zipfile.ZIP_FILECOUNT_LIMIT = limits
    # An archive made by zip tools rather than NumPy: a directory entry,
    # and a member that is not an array.
    with zipfile.ZipFile(os.path.join(OUT, "with_dir.npz"), "w") as z:
        z.writestr("sub/", b"")
        z.writestr("sub/a.npy", npy_bytes(values("u1", (3,))))
    with zipfile.ZipFile(os.path.join(OUT, "bad_member.npz"), "w") as z:
        z.writestr("a.npy", npy_bytes(values("u1", (3,))))
        z.writestr("notes.txt", b"hello\n")
    with zipfile.ZipFile(os.path.join(OUT, "bad_bzip2.npz"), "w",
                         compression=zipfile.ZIP_BZIP2) as z:
        z.writestr("a.npy", npy_bytes(values("u1", (3,))))

    images = (np.arange(3 * 4 * 5) % 256).astype("u1").reshape(3, 4, 5)
    labels = np.array([7, 0, 255], dtype="u1")
    write_idx(os.path.join(OUT, "images-idx3-ubyte"), images, 0x08, False)
    write_idx(os.path.join(OUT, "labels-idx1-ubyte"), labels, 0x08, False)
    write_idx(os.path.join(OUT, "images-idx3-ubyte.gz"), images, 0x08, True)
    write_idx(os.path.join(OUT, "labels-idx1-ubyte.gz"), labels, 0x08, True)
    write_idx(os.path.join(OUT, "f4.idx"), values("f4", (2, 3)), 0x0D, False)
    write_idx(os.path.join(OUT, "f8.idx.gz"), values("f8", (2, 3)), 0x0E, True)
    write_idx(os.path.join(OUT, "i2.idx"), values("i2", (2, 3)), 0x0B, False)
    write_idx(os.path.join(OUT, "i4.idx"), values("i4", (2, 3)), 0x0C, False)
    write_idx(os.path.join(OUT, "i1.idx"), values("i1", (2, 3)), 0x09, False)


def npy_bytes(arr):
    import io
    f = io.BytesIO()
    np.save(f, arr, allow_pickle=False)
    return f.getvalue()


if __name__ == "__main__":
    main()
