#!/usr/bin/env python3
"""Regenerate the PyTorch golden files in tests/golden/data/.

    /usr/bin/python3 tests/golden/generate.py

Needs torch and numpy (Debian's python3-torch); writes safetensors by hand, so the
`safetensors` package is not needed. Every case seeds its own generator, runs in
float32 on the CPU with deterministic algorithms and one thread, so a rerun writes
byte-identical files. After writing, every file is read back and checked.
"""

import gzip
import json
import os
import struct
import sys
import warnings

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")
FASHION_IMAGES = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"
FASHION_LABELS = "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz"
FASHION_MEAN, FASHION_STD = 0.2860, 0.3530
MAX_TOTAL_BYTES = 1 << 20

torch.set_default_dtype(torch.float32)
torch.use_deterministic_algorithms(True)
torch.set_num_threads(1)
# conv_same_even pads 'same' asymmetrically on purpose; PyTorch warns that this costs a copy.
warnings.filterwarnings("ignore", message="Using padding='same' with even kernel lengths")

DTYPES = {torch.float32: ("F32", "<f4"), torch.int64: ("I64", "<i8")}

# Every file written in this run: name -> (tensors, metadata), for the read-back check.
WRITTEN = {}


# --------------------------------------------------------------------- safetensors

def encode_safetensors(tensors, metadata):
    """tensors: list of (name, torch.Tensor); metadata: dict str -> str.

    Layout: u64 LE header length N, N bytes of JSON padded with spaces to a multiple
    of 8, then the tensors' little-endian bytes back to back in the given order.
    """
    header, chunks, offset = {}, [], 0
    for name, t in tensors:
        t = t.detach().cpu().contiguous()
        if t.dtype not in DTYPES:
            raise TypeError(f"{name}: unsupported dtype {t.dtype}")
        tag, np_dtype = DTYPES[t.dtype]
        raw = t.numpy().astype(np_dtype, copy=False).tobytes(order="C")
        if name in header or name == "__metadata__":
            raise ValueError(f"duplicate or reserved tensor name {name!r}")
        header[name] = {"dtype": tag, "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    for k, v in metadata.items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise TypeError(f"metadata must map str to str: {k!r}: {v!r}")
    header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(chunks)


def decode_safetensors(blob):
    """Independent reader used for the check: returns ({name: np.ndarray}, metadata)."""
    (n,) = struct.unpack("<Q", blob[:8])
    assert n % 8 == 0, "header length not a multiple of 8"
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    data = blob[8 + n:]
    metadata = header.pop("__metadata__", {})
    out, expected_begin = {}, 0
    np_types = {"F32": "<f4", "I64": "<i8"}
    for name, info in header.items():           # json keeps file order
        begin, end = info["data_offsets"]
        assert begin == expected_begin, f"{name}: gap or overlap in data"
        dt = np.dtype(np_types[info["dtype"]])
        count = int(np.prod(info["shape"], dtype=np.int64))
        assert end - begin == count * dt.itemsize, f"{name}: size mismatch"
        out[name] = np.frombuffer(data[begin:end], dtype=dt).reshape(info["shape"])
        expected_begin = end
    assert expected_begin == len(data), "trailing bytes after the last tensor"
    return out, metadata


def save(filename, tensors, metadata):
    meta = {"torch_version": torch.__version__, "generator": "tests/golden/generate.py"}
    meta.update({k: str(v) for k, v in metadata.items()})
    blob = encode_safetensors(tensors, meta)
    path = os.path.join(DATA, filename)
    with open(path, "wb") as f:
        f.write(blob)
    WRITTEN[filename] = ([(n, t.detach().clone()) for n, t in tensors], meta)
    desc = ", ".join(f"{n}{list(t.shape)}" + ("i64" if t.dtype == torch.int64 else "")
                     for n, t in tensors)
    print(f"wrote {filename} ({len(blob)} B): {desc}")


def hw(v):
    """A 2-D setting as 'H,W' (an int means the same value for both)."""
    if isinstance(v, str):
        return v
    if isinstance(v, int):
        v = (v, v)
    return f"{v[0]},{v[1]}"


def seed(n):
    torch.manual_seed(n)


def grads_of(module, y, dy, x):
    """Backward of loss = (y * dy).sum(); returns dx, leaves .grad on parameters."""
    module.zero_grad(set_to_none=True)
    (y * dy).sum().backward()
    return x.grad.detach().clone()


# --------------------------------------------------------------------- layer cases

def layer_case(filename, module, x_shape, metadata, case_seed, x_scale=1.0):
    """Generic single-layer case: x, params, y, dy, dx, d<param>."""
    # The caller seeded the generator with case_seed and then built the module, so
    # the parameters come first from the stream, then x, then dy.
    x = (torch.randn(*x_shape) * x_scale).requires_grad_()
    y = module(x)
    dy = torch.randn_like(y)
    dx = grads_of(module, y, dy, x)
    params = list(module.named_parameters())
    tensors = [("x", x)] + [(n, p) for n, p in params] + [("y", y), ("dy", dy), ("dx", dx)]
    tensors += [("d" + n, p.grad) for n, p in params]
    save(filename, tensors, metadata)


def conv_meta(conv, extra=None):
    m = {
        "layer": "Conv2d",
        "in_channels": conv.in_channels,
        "out_channels": conv.out_channels,
        "kernel": hw(conv.kernel_size),
        "stride": hw(conv.stride),
        "padding": hw(conv.padding),
        "dilation": hw(conv.dilation),
        "groups": conv.groups,
        "padding_mode": conv.padding_mode,
        "bias": "true" if conv.bias is not None else "false",
    }
    if conv.padding == "same":
        # PyTorch pads 'same' asymmetrically when the dilated kernel extent is even:
        # the extra row/column goes at the end (bottom/right).
        r = conv._reversed_padding_repeated_twice   # [left, right, top, bottom]
        m["same_pad_top_bottom_left_right"] = f"{r[2]},{r[3]},{r[0]},{r[1]}"
    m.update(extra or {})
    return m


def conv_case(filename, case_seed, x_shape, *args, **kwargs):
    seed(case_seed)
    conv = nn.Conv2d(*args, **kwargs)
    layer_case(filename, conv, x_shape, conv_meta(conv), case_seed)


def pool_case(filename, case_seed, x_shape, pool):
    seed(case_seed)
    if isinstance(pool, nn.MaxPool2d):
        m = {"layer": "MaxPool2d", "kernel": hw(pool.kernel_size), "stride": hw(pool.stride),
             "padding": hw(pool.padding), "dilation": hw(pool.dilation),
             "ceil_mode": str(pool.ceil_mode).lower()}
    else:
        m = {"layer": "AvgPool2d", "kernel": hw(pool.kernel_size), "stride": hw(pool.stride),
             "padding": hw(pool.padding), "ceil_mode": str(pool.ceil_mode).lower(),
             "count_include_pad": str(pool.count_include_pad).lower(),
             "divisor_override": str(pool.divisor_override)}
    layer_case(filename, pool, x_shape, m, case_seed)


def activations(case_seed):
    seed(case_seed)
    x = torch.randn(2, 3, 4, 5) * 3
    dy = torch.randn(2, 3, 4, 5)
    tensors = [("x", x), ("dy", dy)]
    fns = [("relu", nn.ReLU()), ("leaky_relu", nn.LeakyReLU(0.01)),
           ("leaky_relu_02", nn.LeakyReLU(0.2)), ("sigmoid", nn.Sigmoid()),
           ("tanh", nn.Tanh())]
    for name, fn in fns:
        xi = x.clone().requires_grad_()
        y = fn(xi)
        (y * dy).sum().backward()
        tensors += [(f"{name}.y", y), (f"{name}.dx", xi.grad)]
    save("activations.safetensors", tensors,
         {"layers": "relu,leaky_relu,leaky_relu_02,sigmoid,tanh",
          "leaky_relu.negative_slope": "0.01", "leaky_relu_02.negative_slope": "0.2",
          "x": "randn*3", "loss": "(y*dy).sum() per activation, same dy"})


def softmax(case_seed):
    seed(case_seed)
    x = torch.randn(3, 10) * 4
    dy = torch.randn(3, 10)
    x4 = torch.randn(2, 3, 2, 2)
    dy4 = torch.randn(2, 3, 2, 2)
    tensors = [("x", x), ("dy", dy)]
    for name, fn in [("softmax", lambda t: F.softmax(t, dim=1)),
                     ("log_softmax", lambda t: F.log_softmax(t, dim=1))]:
        xi = x.clone().requires_grad_()
        y = fn(xi)
        (y * dy).sum().backward()
        tensors += [(f"{name}.y", y), (f"{name}.dx", xi.grad)]
    xi = x4.clone().requires_grad_()
    y4 = F.softmax(xi, dim=1)
    (y4 * dy4).sum().backward()
    tensors += [("x4", x4), ("dy4", dy4), ("softmax4.y", y4), ("softmax4.dx", xi.grad)]
    save("softmax.safetensors", tensors,
         {"softmax.dim": "1", "log_softmax.dim": "1", "softmax4.dim": "1",
          "x": "randn*4", "x4": "randn", "loss": "(y*dy).sum()"})


def linear(case_seed):
    seed(case_seed)
    lin = nn.Linear(7, 5)
    layer_case("linear.safetensors", lin, (3, 7),
               {"layer": "Linear", "in_features": "7", "out_features": "5", "bias": "true"},
               case_seed)


# --------------------------------------------------------------------- networks

def read_idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    magic = struct.unpack(">I", raw[:4])[0]
    ndim = magic & 0xFF
    assert magic >> 8 == 0x08, f"{path}: expected unsigned-byte idx data"
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def lenet5():
    seed(0)
    net = nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(),
        nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10))
    state = list(net.state_dict().items())
    n_params = sum(p.numel() for p in net.parameters())
    assert n_params == 61706, n_params
    arch = ("Sequential(Conv2d(1,6,5,padding=2),ReLU,MaxPool2d(2),Conv2d(6,16,5),ReLU,"
            "MaxPool2d(2),Flatten,Linear(400,120),ReLU,Linear(120,84),ReLU,Linear(84,10))")
    save("lenet5_weights.safetensors", state,
         {"model": "LeNet5", "architecture": arch, "init": "PyTorch default, torch.manual_seed(0)",
          "parameter_count": str(n_params)})

    n = 4
    images = read_idx(FASHION_IMAGES)[:n].astype(np.float32) / 255.0
    labels = torch.from_numpy(read_idx(FASHION_LABELS)[:n].astype(np.int64))
    x = ((torch.from_numpy(images.copy()) - FASHION_MEAN) / FASHION_STD).reshape(n, 1, 28, 28)
    x = x.float().requires_grad_()
    y = net(x)
    dy = torch.randn_like(y)          # generator continues from seed 0 after init
    dx = grads_of(net, y, dy, x)
    grads = [(f"grad.{name}", p.grad.detach().clone()) for name, p in net.named_parameters()]

    logits = y.detach().clone().requires_grad_()
    ce = nn.CrossEntropyLoss()(logits, labels)
    ce.backward()
    tensors = [("x", x), ("labels", labels), ("y", y), ("dy", dy), ("dx", dx)] + grads
    tensors += [("ce_loss", ce), ("ce_dlogits", logits.grad)]
    save("lenet5_io.safetensors", tensors,
         {"model": "LeNet5", "weights": "lenet5_weights.safetensors",
          "data": "Fashion-MNIST t10k images/labels 0..3",
          "preprocess": f"x = (pixel/255 - {FASHION_MEAN}) / {FASHION_STD}",
          "normalize_mean": str(FASHION_MEAN), "normalize_std": str(FASHION_STD),
          "loss": "(y*dy).sum() for dx and grad.*; ce_loss = CrossEntropyLoss(mean)(y, labels)"})


def tiny_net(case_seed):
    seed(case_seed)
    x_shape = (3, 2, 13, 11)
    head = [
        nn.Conv2d(2, 4, 3, stride=2, padding=1, dilation=2), nn.LeakyReLU(0.01),
        nn.AvgPool2d(2, ceil_mode=True),
        nn.Conv2d(4, 3, (2, 3), padding=(1, 1), padding_mode="reflect"), nn.Tanh(),
        nn.MaxPool2d(2, padding=1), nn.Flatten()]
    shapes, t = [], torch.zeros(1, *x_shape[1:])
    with torch.no_grad():                      # dry run to size the Linear
        for layer in head:
            t = layer(t)
            shapes.append(list(t.shape[1:]))
    in_features = t.shape[1]
    net = nn.Sequential(*head, nn.Linear(in_features, 5), nn.Sigmoid())
    shapes += [[5], [5]]
    x = torch.randn(*x_shape).requires_grad_()
    y = net(x)
    dy = torch.randn_like(y)
    dx = grads_of(net, y, dy, x)
    state = list(net.state_dict().items())
    grads = [(f"grad.{name}", p.grad.detach().clone()) for name, p in net.named_parameters()]
    arch = ("Sequential(Conv2d(2,4,3,stride=2,padding=1,dilation=2),LeakyReLU(0.01),"
            "AvgPool2d(2,ceil_mode=True),Conv2d(4,3,(2,3),padding=(1,1),padding_mode='reflect'),"
            f"Tanh,MaxPool2d(2,padding=1),Flatten,Linear({in_features},5),Sigmoid)")
    save("tiny_net.safetensors", state + [("x", x), ("y", y), ("dy", dy), ("dx", dx)] + grads,
         {"architecture": arch, "linear_in_features": str(in_features),
          "per_sample_output_shapes": json.dumps(shapes), "loss": "(y*dy).sum()"})


# --------------------------------------------------------------------- losses, optimizers

def losses(case_seed):
    seed(case_seed)
    logits = torch.randn(4, 6) * 2
    target = torch.randint(0, 6, (4,), dtype=torch.int64)
    pred = torch.randn(4, 3)
    mse_target = torch.randn(4, 3)
    logp = F.log_softmax(logits, dim=1)
    out = [("logits", logits), ("target", target), ("logp", logp),
           ("pred", pred), ("mse_target", mse_target)]

    def run(name, grad_name, fn, inp, *rest):
        v = inp.clone().requires_grad_()
        loss = fn(v, *rest)
        loss.backward()
        out.extend([(f"{name}.loss", loss), (f"{name}.{grad_name}", v.grad)])

    run("ce", "dlogits", nn.CrossEntropyLoss(), logits, target)
    run("ce_ls", "dlogits", nn.CrossEntropyLoss(label_smoothing=0.1), logits, target)
    run("nll", "dinput", nn.NLLLoss(), logp, target)
    run("mse", "dinput", nn.MSELoss(), pred, mse_target)
    save("losses.safetensors", out,
         {"ce": "CrossEntropyLoss(reduction='mean')(logits, target)",
          "ce_ls": "CrossEntropyLoss(reduction='mean', label_smoothing=0.1)(logits, target)",
          "nll": "NLLLoss(reduction='mean')(logp, target), logp = log_softmax(logits, dim=1)",
          "mse": "MSELoss(reduction='mean')(pred, mse_target)",
          "loss_shape": "[] (scalar)"})


OPTIMIZERS = [
    ("sgd", torch.optim.SGD, dict(lr=0.1)),
    ("sgd_momentum", torch.optim.SGD, dict(lr=0.1, momentum=0.9)),
    ("sgd_dampening", torch.optim.SGD, dict(lr=0.1, momentum=0.9, dampening=0.5)),
    ("sgd_nesterov", torch.optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True)),
    ("sgd_wd", torch.optim.SGD, dict(lr=0.1, momentum=0.9, weight_decay=0.01)),
    ("adam", torch.optim.Adam, dict(lr=1e-2)),
    ("adam_betas", torch.optim.Adam, dict(lr=1e-2, betas=(0.8, 0.99), eps=1e-6)),
    ("adam_wd", torch.optim.Adam, dict(lr=1e-2, weight_decay=0.1)),
    ("adam_amsgrad", torch.optim.Adam, dict(lr=1e-2, amsgrad=True)),
    ("adamw", torch.optim.AdamW, dict(lr=1e-2)),
    ("adamw_wd", torch.optim.AdamW, dict(lr=1e-2, weight_decay=0.1)),
    ("adamw_amsgrad", torch.optim.AdamW, dict(lr=1e-2, weight_decay=0.05, amsgrad=True)),
]
OPT_KEYS = {torch.optim.SGD: ["lr", "momentum", "dampening", "weight_decay", "nesterov"],
            torch.optim.Adam: ["lr", "betas", "eps", "weight_decay", "amsgrad"],
            torch.optim.AdamW: ["lr", "betas", "eps", "weight_decay", "amsgrad"]}


def optimizers(case_seed):
    seed(case_seed)
    steps = 5
    p0 = torch.randn(16)
    g = torch.randn(steps, 16)
    tensors = [("p0", p0), ("g", g)]
    meta = {"steps": str(steps),
            "procedure": "p = p0; for t in 0..4: p.grad = g[t]; opt.step(); row t of <name>.p = p"}
    for name, cls, kwargs in OPTIMIZERS:
        p = p0.clone().requires_grad_()
        opt = cls([p], **kwargs)
        rows = []
        for t in range(steps):
            p.grad = g[t].clone()
            opt.step()
            rows.append(p.detach().clone())
        tensors.append((f"{name}.p", torch.stack(rows)))
        d = opt.defaults                         # the full, resolved hyper-parameters
        hp = {"optimizer": cls.__name__}
        hp.update({k: list(d[k]) if isinstance(d[k], tuple) else d[k] for k in OPT_KEYS[cls]})
        meta[name] = json.dumps(hp)
    save("optimizers.safetensors", tensors, meta)


# --------------------------------------------------------------------- driver

def generate():
    os.makedirs(DATA, exist_ok=True)
    conv_case("conv_s2_p1_d2.safetensors", 1, (2, 3, 9, 11),
              3, 4, kernel_size=3, stride=2, padding=1, dilation=2)
    conv_case("conv_rect.safetensors", 2, (2, 2, 7, 10),
              2, 3, kernel_size=(2, 4), stride=(2, 1), padding=(1, 2), dilation=(1, 2))
    for i, mode in enumerate(["zeros", "reflect", "replicate", "circular"]):
        conv_case(f"conv_pad_{mode}.safetensors", 3 + i, (2, 2, 6, 5),
                  2, 3, kernel_size=3, padding=(2, 1), padding_mode=mode)
    conv_case("conv_same_even.safetensors", 7, (1, 2, 7, 6),
              2, 3, kernel_size=4, padding="same", bias=False)
    conv_case("conv_same_dil.safetensors", 8, (1, 2, 8, 9),
              2, 2, kernel_size=(3, 2), padding="same", dilation=2)

    pool_case("maxpool_p1_ceil.safetensors", 9, (2, 3, 10, 9),
              nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True))
    pool_case("maxpool_dil2.safetensors", 10, (1, 2, 7, 8),
              nn.MaxPool2d(kernel_size=2, stride=1, padding=1, dilation=2))
    pool_case("maxpool_default.safetensors", 11, (2, 2, 9, 8), nn.MaxPool2d(2))
    pool_case("avgpool_p1_ceil.safetensors", 12, (2, 3, 10, 9),
              nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True))
    pool_case("avgpool_p1_ceil_exclude.safetensors", 13, (2, 3, 10, 9),
              nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=False))
    pool_case("avgpool_k2s1.safetensors", 14, (1, 2, 6, 7), nn.AvgPool2d((2, 3), stride=(1, 2)))

    activations(15)
    softmax(16)
    linear(17)
    lenet5()
    losses(18)
    optimizers(19)
    tiny_net(20)


def verify():
    """Read every file back with an independent parser and compare bit for bit."""
    total = 0
    on_disk = sorted(f for f in os.listdir(DATA) if f.endswith(".safetensors"))
    stale = set(on_disk) - set(WRITTEN)
    assert not stale, f"files in data/ that this script does not write: {sorted(stale)}"
    for filename, (tensors, meta) in WRITTEN.items():
        with open(os.path.join(DATA, filename), "rb") as f:
            blob = f.read()
        total += len(blob)
        read, read_meta = decode_safetensors(blob)
        assert read_meta == meta, f"{filename}: metadata differs"
        assert list(read) == [n for n, _ in tensors], f"{filename}: names/order differ"
        for name, t in tensors:
            want = t.numpy()
            got = read[name]
            assert got.shape == want.shape, f"{filename}:{name}: shape {got.shape} != {want.shape}"
            assert got.dtype.newbyteorder("=") == want.dtype.newbyteorder("="), \
                f"{filename}:{name}: dtype"
            assert np.array_equal(got.view(got.dtype.newbyteorder("=")), want), \
                f"{filename}:{name}: values differ"
            if want.dtype == np.float32:
                assert np.isfinite(want).all(), f"{filename}:{name}: non-finite values"
    # The weights file must load straight into the PyTorch model.
    seed(123)
    net = nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
    with open(os.path.join(DATA, "lenet5_weights.safetensors"), "rb") as f:
        w, _ = decode_safetensors(f.read())
    net.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in w.items()}, strict=True)
    with open(os.path.join(DATA, "lenet5_io.safetensors"), "rb") as f:
        io, _ = decode_safetensors(f.read())
    with torch.no_grad():
        y = net(torch.from_numpy(io["x"].copy()))
    assert torch.equal(y, torch.from_numpy(io["y"].copy())), "LeNet-5 reload gives other logits"
    print(f"verified {len(WRITTEN)} files (read back, bit-exact; LeNet-5 weights reload); "
          f"total {total} B ({total / 1024:.1f} KiB)")
    assert total < MAX_TOTAL_BYTES, f"golden data too large: {total} B"


if __name__ == "__main__":
    print(f"torch {torch.__version__}, numpy {np.__version__}, python {sys.version.split()[0]}")
    generate()
    verify()
