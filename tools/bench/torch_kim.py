#!/usr/bin/python3
"""torch_kim.py: the PyTorch side of tools/bench/textcnn.sh, a Kim (2014) CNN.

The network is the one cnnkit trains from

    embedding D; conv1d F 3,4,5 relu; globalmaxpool; dropout P; dense 1 sigmoid

in PyTorch 1.13 (CPU): nn.Embedding(V, D, padding_idx=0) with N(0,1) rows,
one nn.Conv1d(D, F, w) per width w over the (D, T) sequence, ReLU, the
maximum over the positions t < length - w + 1 (clipped to [1, T - w + 1]:
windows that reach into the padding do not take part, as in cnnkit's
globalmaxpool), the branches concatenated, dropout, nn.Linear(3F, 1) and
BCE on the logit (BCEWithLogitsLoss). Adam with PyTorch's defaults.

Two commands, each on TNZ datasets written by `tokenize --label-field 1`
(x (N,L) i32 ids, lengths (N), y (N) 0/1, vocab metadata):

  speed    sentences per second of training epochs over TRAIN in file order
           (each repeat from a fresh model; the timed span includes making the
           batch tensors, the loss and the optimiser step), and of inference:
             RESULT torch train|eval threads=N batch=B best=S/S median=S/S worst=S/S
  accuracy trains on TRAIN with a validation part held out (the last
           --val-split of TRAIN's rows, taken in file order), keeps the epoch
           with the best validation accuracy, and prints its TEST accuracy:
             RESULT torch accuracy=A epoch=E val_acc=V

--full (speed) takes every row as T real tokens, as textcnn_bench --full does.

Usage: torch_kim.py speed [--threads N] [--batch B] [--repeat R] [--epochs E]
                          [--dim D] [--filters F] [--seed S] [--full] TRAIN.tnz
       torch_kim.py accuracy [--threads N] [--batch B] [--epochs E] [--lr X]
                          [--val-split F] [--seed S] TRAIN.tnz TEST.tnz
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

WIDTHS = (3, 4, 5)


class KimCNN(nn.Module):
    def __init__(self, vocab, dim, filters, dropout):
        super().__init__()
        self.embedding = nn.Embedding(vocab, dim, padding_idx=0)
        self.convs = nn.ModuleList(nn.Conv1d(dim, filters, w) for w in WIDTHS)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(filters * len(WIDTHS), 1)

    def forward(self, ids, lengths):
        e = self.embedding(ids).transpose(1, 2)  # (N, D, T)
        pooled = []
        for w, conv in zip(WIDTHS, self.convs):
            h = torch.relu(conv(e))  # (N, F, T - w + 1)
            steps = h.shape[2]
            valid = (lengths - (w - 1)).clamp(1, steps)
            pad = torch.arange(steps).unsqueeze(0) >= valid.unsqueeze(1)  # (N, steps)
            pooled.append(h.masked_fill(pad.unsqueeze(1), float("-inf")).amax(2))
        return self.out(self.dropout(torch.cat(pooled, 1))).squeeze(1)


def load(path):
    t = tnz.load(path)
    x = torch.from_numpy(np.ascontiguousarray(t["x"]).astype(np.int64))
    lengths = torch.from_numpy(np.ascontiguousarray(t["lengths"]).astype(np.int64))
    y = torch.from_numpy(np.ascontiguousarray(t["y"]).astype(np.float32))
    vocab = len(t.meta["vocab"].splitlines())
    return x, lengths, y, vocab


def make_net(vocab, args):
    torch.manual_seed(args.seed)
    return KimCNN(vocab, args.dim, args.filters, args.dropout)


def train_epoch(net, opt, x, lengths, y, batch, order=None):
    net.train()
    loss_fn = nn.BCEWithLogitsLoss()
    n = x.shape[0]
    total = 0.0
    for i in range(0, n, batch):
        idx = order[i:i + batch] if order is not None else slice(i, i + batch)
        xb, lb, yb = x[idx], lengths[idx], y[idx]
        opt.zero_grad()
        logits = net(xb, lb)
        loss = loss_fn(logits, yb)
        loss.backward()
        opt.step()
        total += loss.item() * xb.shape[0]
    return total / n


def accuracy(net, x, lengths, y, batch):
    net.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, x.shape[0], batch):
            logits = net(x[i:i + batch], lengths[i:i + batch])
            correct += ((logits > 0).float() == y[i:i + batch]).sum().item()
    return correct / x.shape[0]


def cmd_speed(args):
    x, lengths, y, vocab = load(args.train)
    if args.full:
        lengths = torch.full_like(lengths, x.shape[1])
    n = x.shape[0]
    print(f"# torch {torch.__version__}: {n} sentences of up to {x.shape[1]} tokens, "
          f"vocabulary {vocab}; threads {args.threads}, batch {args.batch}, "
          f"{args.epochs} epoch(s) a repeat, repeats {args.repeat}"
          f"{'; --full: lengths ignored' if args.full else ''}", flush=True)
    train, evals = [], []
    for r in range(args.repeat):
        net = make_net(vocab, args)
        opt = torch.optim.Adam(net.parameters(), lr=args.lr)
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(args.epochs):
            loss = train_epoch(net, opt, x, lengths, y, args.batch)
        tr = args.epochs * n / (time.perf_counter() - t0)
        trc = args.epochs * n / (time.process_time() - c0)
        t0, c0 = time.perf_counter(), time.process_time()
        acc = accuracy(net, x, lengths, y, args.batch)
        ev = n / (time.perf_counter() - t0)
        evc = n / (time.process_time() - c0)
        train.append(tr)
        evals.append(ev)
        print(f"# repeat {r + 1}: train {tr:.0f} sentences/s, {trc:.0f} per CPU-second "
              f"(loss {loss:.4f}); eval {ev:.0f} sentences/s, {evc:.0f} per CPU-second "
              f"(accuracy {acc:.4f})", flush=True)
    for phase, rate in (("train", train), ("eval", evals)):
        rate = sorted(rate)
        hi, lo, med = rate[-1], rate[0], rate[len(rate) // 2]
        print(f"RESULT torch {phase} threads={args.threads} batch={args.batch} best={hi:.1f} "
              f"median={med:.1f} worst={lo:.1f}")


def cmd_accuracy(args):
    x, lengths, y, vocab = load(args.train)
    tx, tl, ty, _ = load(args.test)
    n = x.shape[0]
    nval = int(round(n * args.val_split))
    vx, vl, vy = x[n - nval:], lengths[n - nval:], y[n - nval:]
    x, lengths, y = x[:n - nval], lengths[:n - nval], y[:n - nval]
    net = make_net(vocab, args)
    opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    gen = torch.Generator().manual_seed(args.seed)
    best = (-1.0, 0, 0.0)  # val_acc, epoch, test accuracy
    for epoch in range(1, args.epochs + 1):
        order = torch.randperm(x.shape[0], generator=gen)
        loss = train_epoch(net, opt, x, lengths, y, args.batch, order)
        val = accuracy(net, vx, vl, vy, args.batch)
        test = accuracy(net, tx, tl, ty, args.batch)
        print(f"# epoch {epoch}: loss {loss:.4f} val_acc {val:.4f}", flush=True)
        if val > best[0]:
            best = (val, epoch, test)
    print(f"RESULT torch accuracy={best[2]:.4f} epoch={best[1]} val_acc={best[0]:.4f}")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("speed", "accuracy"):
        s = sub.add_parser(name)
        s.add_argument("--threads", type=int, default=1)
        s.add_argument("--batch", type=int, default=50)
        s.add_argument("--epochs", type=int, default=1 if name == "speed" else 20)
        s.add_argument("--lr", type=float, default=0.001)
        s.add_argument("--dim", type=int, default=128)
        s.add_argument("--filters", type=int, default=100)
        s.add_argument("--dropout", type=float, default=0.5)
        s.add_argument("--seed", type=int, default=1)
        s.add_argument("train")
        if name == "speed":
            s.add_argument("--repeat", type=int, default=3)
            s.add_argument("--full", action="store_true")
        else:
            s.add_argument("--val-split", type=float, default=0.1)
            s.add_argument("test")
    args = p.parse_args()
    if not 1 <= args.threads <= 1024 or not 1 <= args.batch <= 65536 or \
            not 1 <= args.epochs <= 1000 or getattr(args, "repeat", 1) < 1 or \
            not 0 <= getattr(args, "val_split", 0) < 1:
        p.error("a number is out of range")
    torch.set_num_threads(args.threads)
    if args.cmd == "speed":
        cmd_speed(args)
    else:
        cmd_accuracy(args)


if __name__ == "__main__":
    main()
