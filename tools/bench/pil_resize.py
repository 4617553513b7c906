#!/usr/bin/python3
"""Peer side of the image benchmark: Pillow decoding and resizing a folder of JPEGs.

    pil_resize.py make DIR N     write N deterministic 640x480 JPEG "photos" to DIR
    pil_resize.py time DIR W H   decode every DIR/*.jpg, convert to RGB, resize with
                                 BOX to WxH and stack into one (N,3,H,W) uint8 array,
                                 in this one process; prints "pillow <images/s>"

The photos are smooth random colour fields (a coarse random grid enlarged
with bicubic interpolation) plus mild pixel noise, saved at quality 90 with
4:2:0 chroma subsampling: roughly what a camera picture costs to decode.
"""
import os
import sys
import time

import numpy as np
from PIL import Image


def make(directory: str, n: int) -> None:
    os.makedirs(directory, exist_ok=True)
    rng = np.random.default_rng(1)
    for i in range(n):
        coarse = (rng.random((6, 8, 3)) * 255).astype(np.uint8)
        smooth = np.asarray(Image.fromarray(coarse).resize((640, 480), Image.Resampling.BICUBIC))
        noise = rng.normal(0.0, 4.0, smooth.shape)
        pixels = np.clip(smooth + noise, 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(os.path.join(directory, f"{i:05d}.jpg"), quality=90)


def run(directory: str, w: int, h: int) -> None:
    paths = sorted(os.path.join(directory, f) for f in os.listdir(directory)
                   if f.endswith(".jpg"))
    t = time.perf_counter()
    images = [np.asarray(Image.open(p).convert("RGB").resize((w, h), Image.Resampling.BOX))
              for p in paths]
    x = np.stack(images).transpose(0, 3, 1, 2).copy()
    elapsed = time.perf_counter() - t
    assert x.shape == (len(paths), 3, h, w)
    print(f"pillow {len(paths) / elapsed:.0f}")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "make":
        make(sys.argv[2], int(sys.argv[3]))
    elif len(sys.argv) == 5 and sys.argv[1] == "time":
        run(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        sys.exit(__doc__)
