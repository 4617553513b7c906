#!/usr/bin/python3
"""The reference recipe of `make demo` in PyTorch 1.13, for comparison.

Fashion-MNIST, conv 32 3 pad=same relu; maxpool 2; conv 64 3 pad=same relu;
maxpool 2; dense 128 relu; dense 10; SGD momentum 0.9, lr 0.05, batch 64,
pixels scaled to [0,1], no normalisation, PyTorch's default initialisation.
Prints the test accuracy after every epoch.

    /usr/bin/python3 tools/torch_fashion.py [--epochs 5] [--seed 1] [--threads N]
"""
import argparse
import gzip
import struct
import sys
import time

import numpy as np
import torch
from torch import nn

SRC = "/usr/share/datasets/fashion-mnist"


def read_idx(path):
    """An IDX file (gzip-compressed) as a NumPy array."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    zero, dtype, rank = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != 0x08:
        raise ValueError(f"{path}: not a u8 IDX file")
    dims = struct.unpack(">" + "I" * rank, data[4:4 + 4 * rank])
    return np.frombuffer(data, np.uint8, offset=4 + 4 * rank).reshape(dims)


def load(split):
    x = read_idx(f"{SRC}/{split}-images-idx3-ubyte.gz")
    y = read_idx(f"{SRC}/{split}-labels-idx1-ubyte.gz")
    x = torch.from_numpy(x.astype(np.float32) / 255).unsqueeze(1)  # (N,1,28,28)
    return x, torch.from_numpy(y.astype(np.int64))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=0, help="0: PyTorch's default")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=0.05)
    args = ap.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    xtr, ytr = load("train")
    xte, yte = load("t10k")
    model = nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    n = xtr.shape[0]
    for epoch in range(1, args.epochs + 1):
        t0 = time.time()
        model.train()
        perm = torch.randperm(n)
        total = 0.0
        for i in range(0, n, args.batch):
            idx = perm[i:i + args.batch]
            opt.zero_grad()
            loss = loss_fn(model(xtr[idx]), ytr[idx])
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        model.eval()
        with torch.no_grad():
            correct = sum(int((model(xte[i:i + 1000]).argmax(1) == yte[i:i + 1000]).sum())
                          for i in range(0, xte.shape[0], 1000))
        print(f"epoch {epoch}: train loss {total / n:.4f}  test accuracy "
              f"{correct / xte.shape[0]:.4f}  {time.time() - t0:.1f}s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
