#!/usr/bin/python3
"""torch_train.py: the PyTorch side of tools/bench/train.sh.

The same benchmark as build/bench/train_bench, in PyTorch (1.13, CPU): the
reference network, one epoch over the examples in file order (SGD with
momentum 0.9, lr 0.05, softmax cross-entropy, batch 64), then one inference
pass over the same examples, each repeat from a freshly initialised model.
The timed spans include turning each batch of u8 pixels into f32 / 255, as
train_bench's do.

Prints, like train_bench:
  RESULT torch train|eval threads=N batch=B best=IMG/S median=IMG/S worst=IMG/S

Usage: torch_train.py [--threads N] [--batch B] [--eval-batch B] [--repeat R]
                      [--seed S] DATA.tnz
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402
import tnz  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402


def reference_net(channels, height, width, classes):
    """conv 32 3 pad=same relu; maxpool 2; conv 64 3 pad=same relu; maxpool 2;
    dense 128 relu; dense 10"""
    flat = 64 * (height // 4) * (width // 4)
    return nn.Sequential(
        nn.Conv2d(channels, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(flat, 128), nn.ReLU(), nn.Linear(128, classes))


def to_float(xb):
    return xb.float().div_(255.0) if xb.dtype == torch.uint8 else xb


def run_once(x, y, classes, args):
    torch.manual_seed(args.seed)
    net = reference_net(x.shape[1], x.shape[2], x.shape[3], classes)
    opt = torch.optim.SGD(net.parameters(), lr=args.lr, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    n = x.shape[0]

    net.train()
    total, correct = 0.0, 0
    t0, c0 = time.perf_counter(), time.process_time()
    for i in range(0, n, args.batch):
        xb, yb = to_float(x[i:i + args.batch]), y[i:i + args.batch]
        opt.zero_grad()
        logits = net(xb)
        loss = loss_fn(logits, yb)
        loss.backward()
        opt.step()
        total += loss.item() * xb.shape[0]
        correct += (logits.argmax(1) == yb).sum().item()
    train_ips = n / (time.perf_counter() - t0)
    train_cps = n / (time.process_time() - c0)
    train_loss, train_acc = total / n, correct / n

    net.eval()
    correct = 0
    t0, c0 = time.perf_counter(), time.process_time()
    with torch.no_grad():
        for i in range(0, n, args.eval_batch):
            xb, yb = to_float(x[i:i + args.eval_batch]), y[i:i + args.eval_batch]
            correct += (net(xb).argmax(1) == yb).sum().item()
    eval_ips = n / (time.perf_counter() - t0)
    eval_cps = n / (time.process_time() - c0)
    return train_ips, train_cps, eval_ips, eval_cps, train_loss, train_acc, correct / n


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--eval-batch", type=int, default=0)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("data")
    args = p.parse_args()
    if not 1 <= args.threads <= 1024 or not 1 <= args.batch <= 65536 or \
            not 0 <= args.eval_batch <= 65536 or not 1 <= args.repeat <= 100:
        p.error("a number is out of range")
    args.eval_batch = args.eval_batch or args.batch

    torch.set_num_threads(args.threads)
    t = tnz.load(args.data)
    x = torch.from_numpy(np.ascontiguousarray(t["x"]))
    if x.dtype != torch.uint8:
        x = x.float()
    y = torch.from_numpy(np.ascontiguousarray(t["y"]).astype(np.int64))
    classes = int(y.max().item()) + 1
    print(f"# torch {torch.__version__}: {x.shape[0]} images {args.data}, {classes} classes; "
          f"threads {args.threads}, batch {args.batch}, eval batch {args.eval_batch}, "
          f"repeats {args.repeat}", flush=True)

    train, evals = [], []
    for r in range(args.repeat):
        tr, trc, ev, evc, loss, acc, eacc = run_once(x, y, classes, args)
        train.append(tr)
        evals.append(ev)
        print(f"# repeat {r + 1}: train {tr:.0f} img/s, {trc:.0f} per CPU-second "
              f"(loss {loss:.4f}, accuracy {acc:.4f}); eval {ev:.0f} img/s, {evc:.0f} per "
              f"CPU-second (accuracy {eacc:.4f})", flush=True)
    for phase, ips, batch in (("train", train, args.batch), ("eval", evals, args.eval_batch)):
        ips = sorted(ips)
        hi, lo, med = ips[-1], ips[0], ips[len(ips) // 2]
        print(f"{phase:5s} {hi:8.0f} img/s best, {med:8.0f} median, {lo:8.0f} worst "
              f"(spread {100 * (hi - lo) / hi:4.1f}%)")
        print(f"RESULT torch {phase} threads={args.threads} batch={batch} best={hi:.1f} "
              f"median={med:.1f} worst={lo:.1f}")


if __name__ == "__main__":
    main()
