#!/usr/bin/env python3
"""Writes a small learnable image data set in the IDX layout `train --data` reads: the plain
names train-images.idx, train-labels.idx, test-images.idx, test-labels.idx.

usage: make-images.py FOLDER [--shape HxWxC] [--classes K] [--train N] [--test M]
                             [--dtype uint8|float32] [--seed S]

Each image is noise plus a faint patch, half a cell in size, anywhere in its cell; the label is the patch's
position (a grid of K cells), and in colour images the patch is brightest in channel
label % C, so a net must use space and colour. Images are N x H x W (C = 1) or N x H x W x C; uint8 images are bytes
0..255 (TinyConv scales them by 1/255), float32 ones are in [0, 1], big-endian as IDX fixes.
For tests and examples (own-data training, PyTorch and ONNX checks); numpy only.
"""
import argparse
import os

import numpy as np


def write_idx(path, array):
    code = {np.dtype(np.uint8): 0x08, np.dtype(np.float32): 0x0D}[array.dtype]
    header = bytes([0, 0, code, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    data = array.astype(">f4").tobytes() if array.dtype == np.float32 else array.tobytes()
    tmp = path + ".part"
    with open(tmp, "wb") as f:
        f.write(header + data)
    os.replace(tmp, path)  # whole or not at all


NOISE, PATCH = 0.6, 0.3  # the signal is weaker than the noise in any one pixel


def images(count, h, w, c, classes, rng):
    labels = rng.integers(0, classes, count)
    cols = int(np.ceil(np.sqrt(classes)))
    rows = int(np.ceil(classes / cols))
    x = rng.uniform(0.0, NOISE, (count, h, w, c)).astype(np.float32)
    ph, pw = max(1, h // rows), max(1, w // cols)
    for i, label in enumerate(labels):
        r, q = divmod(int(label), cols)
        # a patch half the cell's size, anywhere in the cell, so position alone is not a lookup
        sh, sw = max(1, ph // 2), max(1, pw // 2)
        y0, x0 = r * ph + int(rng.integers(0, ph - sh + 1)), q * pw + int(rng.integers(0, pw - sw + 1))
        ys, xs = slice(y0, y0 + sh), slice(x0, x0 + sw)
        x[i, ys, xs, :] += PATCH
        x[i, ys, xs, label % c] += PATCH
    return np.clip(x, 0, 1), labels.astype(np.uint8)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("folder")
    p.add_argument("--shape", default="28x28x1")
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--train", type=int, default=2000)
    p.add_argument("--test", type=int, default=500)
    p.add_argument("--dtype", choices=["uint8", "float32"], default="uint8")
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    h, w, c = (int(v) for v in a.shape.split("x"))
    if not 2 <= a.classes <= 255:
        p.error("--classes must be in 2...255 (labels are bytes)")
    rng = np.random.default_rng(a.seed)
    os.makedirs(a.folder, exist_ok=True)
    for split, n in (("train", a.train), ("test", a.test)):
        x, y = images(n, h, w, c, a.classes, rng)
        if c == 1:
            x = x[..., 0]
        if a.dtype == "uint8":
            x = np.round(x * 255).astype(np.uint8)
        write_idx(os.path.join(a.folder, f"{split}-images.idx"), x)
        write_idx(os.path.join(a.folder, f"{split}-labels.idx"), y)
    print(f"make-images: {a.folder}: {a.train} train + {a.test} test images of {h}x{w}x{c} ({a.dtype}), {a.classes} classes")


if __name__ == "__main__":
    main()
