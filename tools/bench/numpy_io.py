#!/usr/bin/python3
"""Peer side of the TNZ I/O benchmark: numpy save/load of the same arrays.

    numpy_io.py make DIR MIB     write DIR/f32.npy and DIR/u8.npy (MIB MiB each), untimed
    numpy_io.py time DIR [R]     time np.save (with fsync, as TNZ's writer does) and np.load:
                                 best of R saves (default 2) and of the two loads after each

The f32 array holds weight-like values, N(0, 0.05^2); the u8 array holds
image-like bytes: Fashion-MNIST pixels repeated when the dataset is installed,
else a smooth synthetic pattern with few distinct values. Prints one line per
case: "numpy <dtype> save|load <MB/s>" (MB = 10^6 bytes).
"""
import gzip
import os
import sys
import time

import numpy as np

LOADS_PER_SAVE = 2  # as tools/bench/tnz_io.c: loads are cheap and the most exposed to slow fresh pages
FASHION = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"


def make(directory: str, mib: int) -> None:
    n = mib * 1024 * 1024
    rng = np.random.default_rng(1)
    np.save(os.path.join(directory, "f32.npy"),
            (rng.standard_normal(n // 4, dtype=np.float32) * 0.05).astype(np.float32))
    if os.path.exists(FASHION):
        with gzip.open(FASHION) as f:
            pixels = np.frombuffer(f.read()[16:], dtype=np.uint8)
    else:
        i = np.arange(28 * 28 * 1000)
        pixels = ((np.sin(i / 97.0) + 1) * 60).astype(np.uint8) & 0xF0
    reps = -(-n // pixels.size)
    np.save(os.path.join(directory, "u8.npy"), np.tile(pixels, reps)[:n])


def timed_save(path: str, a: np.ndarray) -> float:
    t = time.perf_counter()
    with open(path, "wb") as f:
        np.save(f, a)
        f.flush()
        os.fsync(f.fileno())
    return time.perf_counter() - t


def run(directory: str, repeat: int) -> None:
    for name in ("f32", "u8"):
        a = np.load(os.path.join(directory, name + ".npy"))
        out = os.path.join(directory, name + ".copy.npy")
        best_save = best_load = float("inf")
        for _ in range(repeat):
            best_save = min(best_save, timed_save(out, a))
            for _ in range(LOADS_PER_SAVE):
                t = time.perf_counter()
                b = np.load(out)
                best_load = min(best_load, time.perf_counter() - t)
                del b
        os.remove(out)
        mb = a.nbytes / 1e6
        print(f"numpy {name} save {mb / best_save:.0f}")
        print(f"numpy {name} load {mb / best_load:.0f}")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "make":
        make(sys.argv[2], int(sys.argv[3]))
    elif len(sys.argv) in (3, 4) and sys.argv[1] == "time":
        r = sys.argv[3] if len(sys.argv) == 4 else "2"
        if not r.isdigit() or not 1 <= int(r) <= 100:
            sys.exit(f"numpy_io.py: bad repeat count '{r}'\n" + __doc__)
        run(sys.argv[2], int(r))
    else:
        sys.exit(__doc__)
