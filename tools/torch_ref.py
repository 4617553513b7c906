#!/usr/bin/python3
"""torch_ref.py: reference values from PyTorch for tests/unit/test_torch_ref.c.

Usage: /usr/bin/python3 tools/torch_ref.py [OUTDIR]     (default tests/data/torch)

Needs torch (1.13) and numpy; run by hand, not in CI: the files it writes are
committed. Each file is a small TNZ:

  layer_*.tnz   a cnnkit model file (metadata arch, input_shape, input_kind,
                vocab_size; one f32 tensor per parameter, named and laid out
                as cnnkit's, e.g. "0.conv1d.weight" (F,w,C)) plus
                  x (n, input...) f32 or i32 ids, lengths (n) i32 (optional),
                  out (n, K)    the training-mode forward (batch statistics),
                  R (n, K)      the upstream gradient: loss = sum(out * R),
                  grad.x        d loss / d x (f32 inputs only),
                  grad.<param>  d loss / d param for every trainable one,
                  after.<param> batchnorm running statistics after the forward.
  loss_*.tnz    pred or logits (N,K), target (N,K) f32 or labels (N) i32,
                loss (1) f64 (the mean), grad (N,K).
  optim_*.tnz   a model file plus x, labels, metadata optim, lr, momentum,
                weight_decay, steps; after.<param>: the parameters after that
                many steps of CCE (mean) with torch.optim.
  textcnn_*.tnz a Kim CNN model file ending in one sigmoid output, plus
                  x (n,T) i32 ids, lengths (n) i32 (rows of length 0 and
                  rows shorter than a filter among them), y (n) i32 0/1,
                  out (n,1)     the logits with dropout off (evaluation),
                  prob (n,1)    their sigmoid,
                  loss (1) f64  the mean BCE of the logits against y,
                  grad.<param>  its gradient w.r.t. every parameter,
                computed with dropout off (its rate stands in the spec).

A model's forward returns logits: a final softmax or sigmoid (a layer or the
word on the last layer) is left to predict, so no case ends with one.
Conventions match formats/arch.md and lib/cnnkit/arch.h: "same" padding is
TF's (the extra row or column at the bottom or right, done with F.pad),
conv1d and sequences are channels-last (N,T,C), global max pooling over time
ignores steps past length - (width - 1).
"""
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tnz  # noqa: E402

torch.set_default_dtype(torch.float32)


def param(shape, scale=0.5):
    return torch.nn.Parameter((torch.rand(shape) * 2 - 1) * scale)


def same_pads(n, k, s):
    out = (n + s - 1) // s
    total = max((out - 1) * s + k - n, 0)
    return total // 2, total - total // 2


# ---- layers: each has .spec, .params (list of (suffix, tensor, to_cnnkit)),
#      forward(x, ctx) on torch tensors in cnnkit's layout (channels-last text).

class Conv:
    def __init__(self, c, f, kh, kw, stride=1, pad="valid", bias=True, act=None):
        self.spec = f"conv {f} {kh}" + (f"x{kw}" if kw != kh else "")
        if stride != 1:
            self.spec += f" stride={stride}"
        if pad != "valid":
            self.spec += f" pad={pad}"
        if not bias:
            self.spec += " bias=no"
        if act:
            self.spec += f" {act}"
        self.k, self.s, self.pad, self.act = (kh, kw), stride, pad, act
        self.w = param((f, c, kh, kw))
        self.b = param((f,)) if bias else None
        self.params = [("weight", self.w, None)] + ([("bias", self.b, None)] if bias else [])

    def forward(self, x, ctx):
        if self.pad == "same":
            t, b = same_pads(x.shape[2], self.k[0], self.s)
            l, r = same_pads(x.shape[3], self.k[1], self.s)
            x = F.pad(x, (l, r, t, b))
            y = F.conv2d(x, self.w, self.b, stride=self.s)
        else:
            p = 0 if self.pad == "valid" else int(self.pad)
            y = F.conv2d(x, self.w, self.b, stride=self.s, padding=p)
        return activate(y, self.act, channel_dim=1)


class Conv1d:
    """weight (F,w,C) in cnnkit, (F,C,w) in torch."""

    def __init__(self, c, f, widths, act=None, bias=True):
        self.spec = f"conv1d {f} " + ",".join(str(w) for w in widths) + ("" if bias else " bias=no") + (f" {act}" if act else "")
        self.widths, self.act = widths, act
        self.ws = [param((f, c, w)) for w in widths]
        self.bs = [param((f,)) if bias else None for _ in widths]
        to_ck = lambda t: t.permute(0, 2, 1)  # noqa: E731
        self.params = []
        for w, wt, bt in zip(widths, self.ws, self.bs):
            sfx = f"_w{w}" if len(widths) > 1 else ""
            self.params.append(("weight" + sfx, wt, to_ck))
            if bias:
                self.params.append(("bias" + sfx, bt, None))

    def forward(self, x, ctx):  # (N,T,C) -> list of (N,T-w+1,F)
        outs = []
        for w, wt, bt in zip(self.widths, self.ws, self.bs):
            y = F.conv1d(x.permute(0, 2, 1), wt, bt).permute(0, 2, 1)
            outs.append(activate(y, self.act, channel_dim=2))
        ctx["shrink"] = [w - 1 for w in self.widths]
        return outs if len(outs) > 1 else outs[0]


class Pool:
    def __init__(self, kind, k, stride=None):
        self.spec = f"{kind} {k}" + (f" stride={stride}" if stride else "")
        self.kind, self.k, self.s = kind, k, stride or k
        self.params = []

    def forward(self, x, ctx):
        if self.kind == "maxpool":
            return F.max_pool2d(x, self.k, self.s)
        return F.avg_pool2d(x, self.k, self.s)


class GlobalPool:
    def __init__(self, kind):
        self.spec, self.kind, self.params = kind, kind, []

    def forward(self, x, ctx):
        if isinstance(x, list) or x.dim() == 3:  # sequences (N,T,C), maybe branches
            branches = x if isinstance(x, list) else [x]
            shrink = ctx.get("shrink", [0] * len(branches))
            outs = []
            for y, lost in zip(branches, shrink):
                if self.kind == "globalavgpool":
                    outs.append(y.mean(dim=1))
                    continue
                T = y.shape[1]
                if ctx.get("lengths") is not None:
                    valid = (ctx["lengths"] - lost).clamp(1, T)
                    mask = torch.arange(T)[None, :, None] >= valid[:, None, None]
                    y = y.masked_fill(mask, float("-inf"))
                outs.append(y.max(dim=1).values)
            return torch.cat(outs, dim=1)
        if self.kind == "globalavgpool":
            return x.mean(dim=(2, 3))
        return x.flatten(2).max(dim=2).values


class Dense:
    def __init__(self, inp, units, act=None, bias=True):
        self.spec = f"dense {units}" + ("" if bias else " bias=no") + (f" {act}" if act else "")
        self.act = act
        self.w = param((units, inp))
        self.b = param((units,)) if bias else None
        self.params = [("weight", self.w, None)] + ([("bias", self.b, None)] if bias else [])

    def forward(self, x, ctx):
        return activate(F.linear(x.flatten(1), self.w, self.b), self.act, channel_dim=1)


class Embedding:
    def __init__(self, vocab, dim):
        self.spec = f"embedding {dim}"
        w = torch.randn(vocab, dim)
        w[0] = 0
        self.w = torch.nn.Parameter(w)
        self.params = [("weight", self.w, None)]

    def forward(self, x, ctx):
        return F.embedding(x, self.w, padding_idx=0)


class Dropout:
    """Off: the evaluation-mode identity (its masks are cnnkit's own)."""

    def __init__(self, p):
        self.spec, self.params = f"dropout {p}", []

    def forward(self, x, ctx):
        return x


class BatchNorm:
    def __init__(self, c):
        self.spec = "batchnorm"
        self.w, self.b = param((c,), 1.0), param((c,))
        self.rm, self.rv = torch.rand(c) * 0.2, 1 + torch.rand(c)
        self.params = [("weight", self.w, None), ("bias", self.b, None),
                       ("running_mean", self.rm, None), ("running_var", self.rv, None)]

    def forward(self, x, ctx):
        if x.dim() == 3:  # (N,T,C) channels last
            y = F.batch_norm(x.permute(0, 2, 1), self.rm, self.rv, self.w, self.b, True, 0.1, 1e-5)
            return y.permute(0, 2, 1)
        return F.batch_norm(x, self.rm, self.rv, self.w, self.b, True, 0.1, 1e-5)


class Act:
    def __init__(self, act):
        self.spec, self.act, self.params = act, act, []

    def forward(self, x, ctx):
        return activate(x, self.act, channel_dim=1 if x.dim() != 3 else 2)


class Flatten:
    spec, params = "flatten", []

    def forward(self, x, ctx):
        return x.flatten(1)


class Residual:
    """residual; <inner layers>; end"""

    def __init__(self, inner):
        self.inner = inner
        self.spec = "; ".join(["residual"] + [l.spec for l in inner] + ["end"])
        self.params = []

    def forward(self, x, ctx):
        y = x
        for l in self.inner:
            y = l.forward(y, ctx)
        return y + x


def activate(y, act, channel_dim):
    if act is None:
        return y
    if act.startswith("leakyrelu"):
        alpha = float(act.split()[1]) if " " in act else 0.01
        return F.leaky_relu(y, alpha)
    return {"relu": F.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh,
            "softmax": lambda t: torch.softmax(t, dim=channel_dim)}[act](y)


def flat_layers(layers):
    """Layer objects in cnnkit's numbering (a residual block is residual,
    its layers, end), with None where a layer has no parameters."""
    out = []
    for l in layers:
        if isinstance(l, Residual):
            out.append(None)
            out.extend(flat_layers(l.inner))
            out.append(None)
        else:
            out.append(l)
    return out


def kind_word(l):
    return l.spec.split()[0]


def np32(t):
    return t.detach().numpy().astype(np.float32)


def save(path, tensors, meta):
    tnz.save(path, tensors, meta)
    print(f"{path}: {os.path.getsize(path)} bytes", file=sys.stderr)


def model_case(outdir, name, layers, input_shape, n, vocab=0, lengths=None, seed=0):
    torch.manual_seed(seed)
    layers = layers()  # built after seeding: parameters are reproducible
    arch = "; ".join(l.spec for l in layers)
    if vocab:
        x = torch.randint(1, vocab, (n,) + tuple(input_shape), dtype=torch.int64)
        if lengths is not None:
            for i, L in enumerate(lengths):
                x[i, L:] = 0
        xin = x
    else:
        x = torch.randn((n,) + tuple(input_shape))
        xin = x.clone().requires_grad_(True)
    tensors = {}
    for i, l in enumerate(flat_layers(layers)):
        for sfx, t, to_ck in (l.params if l else []):
            v = t if to_ck is None else to_ck(t)
            tensors[f"{i}.{kind_word(l)}.{sfx}"] = np32(v)
    ctx = {"lengths": torch.tensor(lengths) if lengths is not None else None}
    y = xin
    for l in layers:
        y = l.forward(y, ctx)
    out = y.reshape(n, -1)
    R = torch.rand(out.shape) * 2 - 1
    (out * R).sum().backward()
    tensors["x"] = x.numpy().astype(np.int32) if vocab else np32(x)
    if lengths is not None:
        tensors["lengths"] = np.array(lengths, dtype=np.int32)
    tensors["out"] = np32(out)
    tensors["R"] = np32(R)
    if not vocab:
        tensors["grad.x"] = np32(xin.grad)
    for i, l in enumerate(flat_layers(layers)):
        for sfx, t, to_ck in (l.params if l else []):
            key = f"{i}.{kind_word(l)}.{sfx}"
            if isinstance(t, torch.nn.Parameter):
                g = t.grad if to_ck is None else to_ck(t.grad)
                tensors["grad." + key] = np32(g)
            else:  # batchnorm running statistics, updated in place
                tensors["after." + key] = np32(t)
    meta = {"arch": arch, "input_shape": ",".join(str(d) for d in input_shape),
            "input_kind": "tokens" if vocab else "f32", "vocab_size": str(vocab),
            "created_by": "tools/torch_ref.py (torch %s)" % torch.__version__}
    save(os.path.join(outdir, f"layer_{name}.tnz"), tensors, meta)


def textcnn_case(outdir, name, vocab, dim, filters, widths, T, lengths, seed):
    """Embedding, conv1d of several widths, global max pooling over the real
    steps, dropout (off), one sigmoid output; BCE against labels 0/1."""
    torch.manual_seed(seed)
    n = len(lengths)
    layers = [Embedding(vocab, dim), Conv1d(dim, filters, widths, act="relu"),
              GlobalPool("globalmaxpool"), Dropout(0.5), Dense(filters * len(widths), 1)]
    arch = "; ".join(l.spec for l in layers) + " sigmoid"
    x = torch.randint(1, vocab, (n, T), dtype=torch.int64)
    for i, L in enumerate(lengths):
        x[i, L:] = 0
    y = torch.tensor([i % 2 for i in range(n)], dtype=torch.int64)
    ctx = {"lengths": torch.tensor(lengths)}
    out = x
    for l in layers:
        out = l.forward(out, ctx)
    loss = F.binary_cross_entropy_with_logits(out[:, 0], y.float())
    loss.backward()
    tensors = {}
    for i, l in enumerate(layers):
        for sfx, t, to_ck in l.params:
            key = f"{i}.{kind_word(l)}.{sfx}"
            tensors[key] = np32(t if to_ck is None else to_ck(t))
            tensors["grad." + key] = np32(t.grad if to_ck is None else to_ck(t.grad))
    tensors.update({"x": x.numpy().astype(np.int32), "lengths": np.array(lengths, np.int32),
                    "y": y.numpy().astype(np.int32), "out": np32(out),
                    "prob": np32(torch.sigmoid(out)), "loss": np.array([loss.item()])})
    meta = {"arch": arch, "input_shape": str(T), "input_kind": "tokens",
            "vocab_size": str(vocab), "loss": "bce",
            "created_by": "tools/torch_ref.py (torch %s)" % torch.__version__}
    save(os.path.join(outdir, f"textcnn_{name}.tnz"), tensors, meta)


def loss_cases(outdir):
    torch.manual_seed(100)
    N, K = 4, 5
    pred = torch.randn(N, K, requires_grad=True)
    target = torch.randn(N, K)
    loss = F.mse_loss(pred, target)
    loss.backward()
    save(os.path.join(outdir, "loss_mse.tnz"),
         {"pred": np32(pred), "target": np32(target),
          "loss": np.array([loss.item()]), "grad": np32(pred.grad)}, {"loss": "mse"})

    logits = (torch.randn(N, K) * 3).requires_grad_(True)
    target = torch.rand(N, K)
    loss = F.binary_cross_entropy_with_logits(logits, target)
    loss.backward()
    save(os.path.join(outdir, "loss_bce.tnz"),
         {"logits": np32(logits), "target": np32(target),
          "loss": np.array([loss.item()]), "grad": np32(logits.grad)}, {"loss": "bce"})

    logits = (torch.randn(N, K) * 3).requires_grad_(True)
    labels = torch.tensor([0, 4, 2, 2])
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    save(os.path.join(outdir, "loss_cce.tnz"),
         {"logits": np32(logits), "labels": labels.numpy().astype(np.int32),
          "loss": np.array([loss.item()]), "grad": np32(logits.grad)}, {"loss": "cce"})


def optim_case(outdir, kind, lr, momentum=0.0, weight_decay=0.0, steps=3):
    torch.manual_seed(200)
    layers = [Dense(5, 4, "tanh"), Dense(4, 3)]
    params = [(f"{i}.dense.{sfx}", t) for i, l in enumerate(layers) for sfx, t, _ in l.params]
    tensors = {name: np32(t) for name, t in params}
    ts = [t for _, t in params]
    if kind == "sgd":
        opt = torch.optim.SGD(ts, lr=lr, weight_decay=weight_decay)
    elif kind in ("momentum", "nesterov"):
        opt = torch.optim.SGD(ts, lr=lr, momentum=momentum, weight_decay=weight_decay,
                              nesterov=kind == "nesterov")
    elif kind == "adam":
        opt = torch.optim.Adam(ts, lr=lr, weight_decay=weight_decay)
    else:
        opt = torch.optim.AdamW(ts, lr=lr, weight_decay=weight_decay)
    x = torch.randn(6, 5)
    labels = torch.tensor([0, 1, 2, 0, 1, 2])
    for _ in range(steps):
        opt.zero_grad()
        y = x
        for l in layers:
            y = l.forward(y, {})
        F.cross_entropy(y, labels).backward()
        opt.step()
    tensors.update({"after." + name: np32(t) for name, t in params})
    tensors["x"] = np32(x)
    tensors["labels"] = labels.numpy().astype(np.int32)
    meta = {"arch": "; ".join(l.spec for l in layers), "input_shape": "5",
            "input_kind": "f32", "vocab_size": "0", "optim": kind, "lr": repr(lr),
            "momentum": repr(momentum), "weight_decay": repr(weight_decay),
            "steps": str(steps)}
    save(os.path.join(outdir, f"optim_{kind}.tnz"), tensors, meta)


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else "tests/data/torch"
    os.makedirs(outdir, exist_ok=True)
    cases = {
        "conv_same": (lambda: [Conv(2, 4, 3, 3, pad="same")], (2, 6, 6), 2),
        "conv_valid": (lambda: [Conv(2, 3, 3, 2, bias=False, act="tanh")], (2, 6, 5), 2),
        "conv_stride2_same": (lambda: [Conv(2, 4, 3, 3, stride=2, pad="same", act="relu")],
                              (2, 7, 8), 2),
        "conv_stride2_pad1": (lambda: [Conv(1, 3, 3, 3, stride=2, pad="1", act="leakyrelu")],
                              (1, 7, 7), 2),
        "maxpool": (lambda: [Pool("maxpool", 2)], (3, 6, 6), 2),
        "maxpool_stride": (lambda: [Pool("maxpool", 3, 2)], (2, 7, 7), 2),
        "avgpool": (lambda: [Pool("avgpool", 2)], (3, 6, 5), 2),
        "globalmaxpool": (lambda: [GlobalPool("globalmaxpool")], (3, 4, 5), 2),
        "globalavgpool": (lambda: [GlobalPool("globalavgpool")], (3, 4, 5), 2),
        "dense": (lambda: [Dense(12, 5)], (3, 2, 2), 3),
        "dense_nobias": (lambda: [Dense(6, 4, bias=False)], (6,), 3),
        "batchnorm_conv": (lambda: [BatchNorm(3)], (3, 4, 4), 4),
        "batchnorm_dense": (lambda: [BatchNorm(6)], (6,), 5),
        "relu": (lambda: [Act("relu")], (7,), 3),
        "leakyrelu": (lambda: [Act("leakyrelu 0.2")], (7,), 3),
        "sigmoid_tanh": (lambda: [Act("sigmoid"), Act("tanh"), Flatten()], (7,), 3),
        "softmax_features": (lambda: [Act("softmax"), Flatten()], (6,), 3),
        "softmax_channels": (lambda: [Act("softmax"), Flatten()], (3, 2, 2), 2),
        "dense_acts": (lambda: [Dense(5, 6, "relu"), Dense(6, 6, "leakyrelu"),
                                Dense(6, 6, "sigmoid"), Dense(6, 6, "tanh"),
                                Dense(6, 5, "softmax"), Dense(5, 3)], (5,), 3),
        "conv1d": (lambda: [Conv1d(4, 3, [2], act="relu")], (6, 4), 2),
        "residual": (lambda: [Conv(2, 3, 3, 3, pad="same"),
                              Residual([Conv(3, 3, 3, 3, pad="same", act="relu"),
                                        BatchNorm(3)]), GlobalPool("globalavgpool")],
                     (2, 5, 5), 2),
        "net": (lambda: [Conv(1, 4, 3, 3, pad="same", act="relu"), Pool("maxpool", 2),
                         Conv(4, 6, 3, 3, pad="same", act="relu"), Pool("maxpool", 2),
                         Dense(36, 8, "relu"), Dense(8, 3)], (1, 8, 12), 2),
    }
    for i, (name, (layers, shape, n)) in enumerate(cases.items()):
        model_case(outdir, name, layers, shape, n, seed=i)
    model_case(outdir, "embedding", lambda: [Embedding(9, 4)], (5,), 3, vocab=9, seed=50)
    model_case(outdir, "text", lambda: [Embedding(12, 4), Conv1d(4, 3, [2, 3, 4], act="relu"),
                                        GlobalPool("globalmaxpool"), Dense(9, 2)],
               (8,), 3, vocab=12, lengths=[5, 8, 2], seed=51)
    textcnn_case(outdir, "bce", vocab=15, dim=6, filters=4, widths=[3, 4, 5], T=9,
                 lengths=[0, 2, 5, 9, 7, 4], seed=52)
    loss_cases(outdir)
    optim_case(outdir, "sgd", 0.1, weight_decay=0.01)
    optim_case(outdir, "momentum", 0.1, momentum=0.9, weight_decay=0.01)
    optim_case(outdir, "nesterov", 0.1, momentum=0.9)
    optim_case(outdir, "adam", 0.01, weight_decay=0.01)
    optim_case(outdir, "adamw", 0.01, weight_decay=0.05)


if __name__ == "__main__":
    main()
