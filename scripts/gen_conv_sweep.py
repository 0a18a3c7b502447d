#!/usr/bin/env python3
"""Writes tests/layers/conv2d_sweep_test.cpp: Conv2d geometries drawn at random
(reproducibly, from --seed) over the region where the kernels choose among their
paths: many channels on small maps, few channels on long rows, stride 2 with
padding 1, zero padding with one-row channel tiles (read in place), few input
channels on short rows (plane lanes), and anything else; every pad mode,
dilation, rectangular kernels, strides and padding, Same, NoBias. Each case runs
conv_test's forward and backward checks (reference loops, batch consistency,
finite differences). Geometries the library rejects are not drawn.

    python3 scripts/gen_conv_sweep.py [--seed S] [--cases N] [--per-test K]

The committed file came from the defaults; a sweep over many more geometries
(not committed, minutes to build) is the same script with --cases 400 --out
DIR/conv2d_sweep_test.cpp, built into test_layers' place.
"""
import argparse
import os
import random

MODES = ["zeros", "reflect", "replicate", "circular"]
CN_MODE = {"zeros": "cn::Zeros", "reflect": "cn::Reflect", "replicate": "cn::Replicate",
           "circular": "cn::Circular"}
REF_MODE = {"zeros": "PadMode::zeros", "reflect": "PadMode::reflect",
            "replicate": "PadMode::replicate", "circular": "PadMode::circular"}

FORWARD_BATCH = 3         # conv_test's forward check; its backward check runs batch 2
MAX_WGRAD_SUM = 800       # FORWARD_BATCH * OH * OW: weight-gradient sums within the tolerance
MAX_MACS = 3_000_000      # per sample (finite differences run ~640 forwards)


def out_extent(n, pb, pa, k, s, d):
    span = n + pb + pa - d * (k - 1) - 1
    return -1 if span < 0 else span // s + 1


WEIGHTS = [30, 20, 15, 12, 18, 5]


def draw(r):
    cat = r.choices(["general", "channels", "rows", "s2p1", "zeros_onerow", "planes"],
                    weights=WEIGHTS)[0]
    g = dict(cat=cat)
    g["mode"] = r.choices(MODES, weights=[55, 15, 15, 15])[0]
    g["bias"] = r.random() < 0.75
    kh = r.randint(1, 7)
    kw = kh if r.random() < 0.6 else r.randint(1, 7)
    sh = r.choice([1, 1, 1, 2, 2, 3, 4]); sw = sh if r.random() < 0.7 else r.randint(1, 4)
    dh = r.choice([1, 1, 1, 1, 2, 3]); dw = dh if r.random() < 0.7 else r.choice([1, 2, 3])
    ci, co = r.randint(1, 70), r.randint(1, 70)
    h, w = r.randint(1, 40), r.randint(1, 40)
    if cat == "channels":
        ci, co = r.randint(16, 64), r.randint(16, 64)
        h, w = r.randint(2, 12), r.randint(2, 12)
        kh = kw = r.choice([1, 2, 3, 3, 3, 5])
    elif cat == "rows":
        ci, co = r.randint(1, 4), r.randint(1, 10)
        h, w = r.randint(1, 12), r.randint(20, 40)
    elif cat == "s2p1":
        sh = sw = 2
        kh = kw = r.choice([2, 3, 3, 4, 5])
        ci, co = r.choice([r.randint(1, 4), r.randint(8, 64)]), r.choice([r.randint(1, 6), r.randint(12, 64)])
        h, w = r.randint(3, 30), r.randint(3, 30)
        dh = dw = 1 if r.random() < 0.8 else 2
    elif cat == "zeros_onerow":
        g["mode"] = "zeros"
        ci, co = r.randint(8, 64), r.randint(16, 64)
        sh = r.choice([1, 1, 1, 2]); sw = r.choice([1, 1, 1, 2])
        kh = r.choice([1, 2, 3, 3, 5, 7]); kw = r.choice([kh, kh, r.randint(1, 7)])
        dh = dw = r.choice([1, 1, 1, 2])
        h = r.randint(1, 16)
        w = r.randint(6, 34) * sw
        w = min(w, 40)
    elif cat == "planes":
        ci, co = r.randint(1, 3), r.randint(4, 40)
        h, w = r.randint(3, 16), r.randint(3, 16)
    # padding
    g["same"] = False
    if sh == 1 and sw == 1 and r.random() < 0.15:
        g["same"] = True
        pt, pb = (dh * (kh - 1)) // 2, dh * (kh - 1) - (dh * (kh - 1)) // 2
        pl, pr = (dw * (kw - 1)) // 2, dw * (kw - 1) - (dw * (kw - 1)) // 2
    else:
        if cat == "s2p1":
            ph = pw = 1
        elif cat == "zeros_onerow":
            ph = r.randint(1, max(1, kh - 1)) if kh > 1 else r.choice([0, 1])
            pw = r.randint(1, max(1, kw - 1)) if kw > 1 else r.choice([0, 1])
        else:
            ph = r.randint(0, kh - 1) if r.random() < 0.8 else 0
            pw = ph if r.random() < 0.6 else r.randint(0, kw - 1)
        pt = pb = ph; pl = pr = pw
    g.update(ci=ci, co=co, h=h, w=w, kh=kh, kw=kw, sh=sh, sw=sw, dh=dh, dw=dw,
             pt=pt, pb=pb, pl=pl, pr=pr)
    return g


def valid(g):
    # the library's rules (core/diagnostics.hpp, layers/conv2d.hpp)
    if g["h"] + g["pt"] + g["pb"] < g["dh"] * (g["kh"] - 1) + 1: return False
    if g["w"] + g["pl"] + g["pr"] < g["dw"] * (g["kw"] - 1) + 1: return False
    if g["mode"] == "reflect" and (max(g["pt"], g["pb"]) >= g["h"] or max(g["pl"], g["pr"]) >= g["w"]):
        return False
    if g["mode"] == "circular" and (max(g["pt"], g["pb"]) > g["h"] or max(g["pl"], g["pr"]) > g["w"]):
        return False
    if g["same"] and (g["sh"] != 1 or g["sw"] != 1): return False
    oh = out_extent(g["h"], g["pt"], g["pb"], g["kh"], g["sh"], g["dh"])
    ow = out_extent(g["w"], g["pl"], g["pr"], g["kw"], g["sw"], g["dw"])
    if oh < 1 or ow < 1: return False
    g["oh"], g["ow"] = oh, ow
    if FORWARD_BATCH * oh * ow > MAX_WGRAD_SUM: return False
    if g["co"] * oh * ow * g["ci"] * g["kh"] * g["kw"] > MAX_MACS: return False
    if g["ci"] * g["h"] * g["w"] > 40000: return False
    return True


def cpp_case(g):
    opts = []
    kern = str(g["kh"]) if g["kh"] == g["kw"] else "cn::Kernel{%d, %d}" % (g["kh"], g["kw"])
    if (g["sh"], g["sw"]) != (1, 1):
        opts.append("cn::Stride<%d>" % g["sh"] if g["sh"] == g["sw"] else "cn::Stride<%d, %d>" % (g["sh"], g["sw"]))
    if g["same"]:
        opts.append("cn::Same")
    elif g["pt"] or g["pl"]:
        opts.append("cn::Padding<%d>" % g["pt"] if g["pt"] == g["pl"] else "cn::Padding<%d, %d>" % (g["pt"], g["pl"]))
    if (g["dh"], g["dw"]) != (1, 1):
        opts.append("cn::Dilation<%d>" % g["dh"] if g["dh"] == g["dw"] else "cn::Dilation<%d, %d>" % (g["dh"], g["dw"]))
    if g["mode"] != "zeros":
        opts.append("cn::PadMode<%s>" % CN_MODE[g["mode"]])
    if not g["bias"]:
        opts.append("cn::NoBias")
    layer = "cn::Conv2d<%s>" % ", ".join([str(g["co"]), kern] + opts)
    s = "spec(%d, %d, %d, %d, %d, %d)" % (g["ci"], g["h"], g["w"], g["co"], g["kh"], g["kw"])
    s = "stride(%s, %d, %d)" % (s, g["sh"], g["sw"])
    s = "pad(%s, %d, %d, %d, %d)" % (s, g["pt"], g["pb"], g["pl"], g["pr"])
    s = "dilate(%s, %d, %d)" % (s, g["dh"], g["dw"])
    s = "mode(%s, %s)" % (s, REF_MODE[g["mode"]])
    if not g["bias"]:
        s = "no_bias(%s)" % s
    return "Case<%s, %s>" % (layer, s)


def write(path, seed, cases, per_test):
    r = random.Random(seed)
    drawn = []
    while len(drawn) < cases:
        g = draw(r)
        if valid(g):
            drawn.append(g)
    out = ["// Generated by scripts/gen_conv_sweep.py --seed %d --cases %d --per-test %d;"
           % (seed, cases, per_test),
           "// do not edit. Random Conv2d geometries over the kernels' paths, against the",
           "// reference loops and finite differences (tests/reference/conv2d_check.hpp).",
           "#include <catch2/catch.hpp>", "", '#include "reference/conv2d_check.hpp"', "",
           "namespace {", "",
           "using conv_test::backward;", "using conv_test::Case;", "using conv_test::dilate;",
           "using conv_test::forward;", "using conv_test::list;", "using conv_test::mode;",
           "using conv_test::no_bias;", "using conv_test::pad;", "using conv_test::spec;",
           "using conv_test::stride;", "using ref::PadMode;", "namespace cn = ctcnn;", ""]
    groups = [drawn[i:i + per_test] for i in range(0, len(drawn), per_test)]
    for k, group in enumerate(groups):
        out.append("// %s" % ", ".join(g["cat"] for g in group))
        out.append("using Sweep%d = std::tuple<" % k)
        out.append(",\n".join("    " + cpp_case(g) for g in group) + ">;")
        out.append("")
    out += ["}  // namespace", ""]
    for k in range(len(groups)):
        out.append('TEST_CASE("conv2d forward: random sweep %d", "[conv2d][forward][sweep]") '
                   '{ forward(list<Sweep%d>, %d); }' % (k, k, 5000 + 100 * k))
        out.append('TEST_CASE("conv2d backward: random sweep %d", "[conv2d][backward][sweep]") '
                   '{ backward(list<Sweep%d>, %d); }' % (k, k, 5050 + 100 * k))
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=20261207)
    ap.add_argument("--cases", type=int, default=40)
    ap.add_argument("--per-test", type=int, default=8)
    ap.add_argument("--out", default=os.path.join(root, "tests/layers/conv2d_sweep_test.cpp"))
    a = ap.parse_args()
    write(a.out, a.seed, a.cases, a.per_test)


if __name__ == "__main__":
    main()
