#!/usr/bin/python3
"""LeNet-5 on Fashion-MNIST in PyTorch with the recipe of examples/lenet_fashion_mnist.cpp,
to measure PyTorch on the same machine, and to check that ctcnn's weight files load in PyTorch.

Recipe (as the C++ main job): torch.nn.Sequential of DESIGN.md's LeNet-5, PyTorch's default
initialisation after torch.manual_seed(seed) (which ctcnn's init_default(net, seed) reproduces bit
for bit), Adam lr 1e-3, batch 64, the first 50,000 training images train (shuffled every epoch, the
last partial batch dropped), the last 10,000 validate, pixels (p/255 - 0.2860)/0.3530.

    /usr/bin/python3 scripts/pytorch_lenet.py train [--epochs 3] [--threads 2] [--seed 0] [--data DIR]
    /usr/bin/python3 scripts/pytorch_lenet.py check WEIGHTS.safetensors [--threads 2] [--data DIR]

`train` prints per-epoch training seconds (wall clock and process CPU time), images/s, validation accuracy and the final test
accuracy. `check` loads a ctcnn weights file with load_state_dict(strict=True) into the same
nn.Sequential and prints its test accuracy (the safetensors parser is the 20 lines below, so no
`safetensors` package is needed). Use Debian's /usr/bin/python3 (python3-torch 1.13).
"""
import argparse
import gzip
import json
import struct
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

MEAN, STD = 0.2860, 0.3530


def lenet5():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(),
        nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10))


def read_idx(path):
    with (gzip.open if str(path).endswith(".gz") else open)(path, "rb") as f:
        data = f.read()
    zero, dtype, rank = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != 0x08:
        sys.exit(f"{path}: not a ubyte idx file")
    dims = struct.unpack(">" + "I" * rank, data[4:4 + 4 * rank])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * rank).reshape(dims)


def load(data_dir, prefix):
    d = Path(data_dir)
    images = read_idx(d / f"{prefix}-images-idx3-ubyte.gz")
    labels = read_idx(d / f"{prefix}-labels-idx1-ubyte.gz")
    # The same float32 arithmetic as ctcnn's lookup table: (p / 255 - mean) / std.
    x = (torch.from_numpy(images.astype(np.float32)) / np.float32(255.0) - np.float32(MEAN)) / np.float32(STD)
    return x.unsqueeze(1).contiguous(), torch.from_numpy(labels.astype(np.int64))


def read_safetensors(path):
    raw = Path(path).read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    header.pop("__metadata__", None)
    out = {}
    for name, t in header.items():
        if t["dtype"] != "F32":
            sys.exit(f"{path}: {name} is {t['dtype']}, expected F32")
        begin, end = t["data_offsets"]
        values = np.frombuffer(raw, dtype="<f4", count=(end - begin) // 4, offset=8 + n + begin)
        out[name] = torch.from_numpy(values.copy()).reshape(t["shape"])
    return out


@torch.no_grad()
def accuracy(model, x, y, batch=1000):
    model.eval()
    correct = 0
    for i in range(0, len(x), batch):
        correct += (model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum().item()
    model.train()
    return correct / len(x)


def train(args):
    train_x, train_y = load(args.data, "train")
    test_x, test_y = load(args.data, "t10k")
    tr_x, tr_y = train_x[:50000], train_y[:50000]
    va_x, va_y = train_x[50000:], train_y[50000:]
    torch.manual_seed(args.seed)
    model = lenet5()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    shuffle = torch.Generator().manual_seed(args.seed)
    steps = len(tr_x) // args.batch
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), batch {args.batch}, "
          f"{args.epochs} epoch(s), {steps} steps per epoch")
    for epoch in range(1, args.epochs + 1):
        order = torch.randperm(len(tr_x), generator=shuffle)
        start, cpu_start = time.perf_counter(), time.process_time()
        total = 0.0
        for s in range(steps):
            idx = order[s * args.batch:(s + 1) * args.batch]
            loss = loss_fn(model(tr_x[idx]), tr_y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item()
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        val = accuracy(model, va_x, va_y)
        print(f"epoch {epoch}/{args.epochs}: train loss {total / steps:.4f} | val acc {100 * val:.2f}% | "
              f"{seconds:.1f} s (CPU {cpu:.1f} s), {steps * args.batch / seconds:.0f} img/s", flush=True)
    print(f"test accuracy {100 * accuracy(model, test_x, test_y):.2f}%")


def check(args):
    model = lenet5()
    model.load_state_dict(read_safetensors(args.weights), strict=True)
    test_x, test_y = load(args.data, "t10k")
    print(f"{args.weights}: load_state_dict(strict=True) ok; PyTorch test accuracy "
          f"{100 * accuracy(model, test_x, test_y):.2f}%")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train")
    t.add_argument("--epochs", type=int, default=3)
    t.add_argument("--batch", type=int, default=64)
    t.add_argument("--seed", type=int, default=0)
    c = sub.add_parser("check")
    c.add_argument("weights")
    for q in (t, c):
        q.add_argument("--threads", type=int, default=2)
        q.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    train(args) if args.command == "train" else check(args)


if __name__ == "__main__":
    main()
