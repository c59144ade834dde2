"""The data folders `train --data` reads, for the Python checks (numpy only): MNIST's four
IDX files (gzipped or not) or the plain names train-images.idx, train-labels.idx,
test-images.idx, test-labels.idx; images N x H x W or N x H x W x C, bytes (scaled by 1/255
as TinyConv does) or float32 (big-endian, as IDX fixes)."""
import gzip
import os

import numpy as np

NAMES = {
    "train": [("train-images.idx", "train-labels.idx"), ("train-images-idx3-ubyte", "train-labels-idx1-ubyte")],
    "test": [("test-images.idx", "test-labels.idx"), ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")],
}


def read_idx(path):
    raw = (gzip.open if path.endswith(".gz") else open)(path, "rb").read()
    code, rank = raw[2], raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(rank)]
    body = raw[4 + 4 * rank:]
    if code == 0x08:
        return np.frombuffer(body, np.uint8).reshape(dims)
    if code == 0x0D:
        return np.frombuffer(body, ">f4").reshape(dims).astype(np.float32)
    raise SystemExit(f"{path}: element type 0x{code:02x} is neither bytes nor float32")


def locate(folder, name):
    for candidate in (name, name + ".gz"):
        path = os.path.join(folder, candidate)
        if os.path.exists(path):
            return path
    return None


def load_split(folder, split):
    """(images N x C x H x W float32, labels int64) of the train or test split."""
    for images, labels in NAMES[split]:
        if locate(folder, images):
            x, y = read_idx(locate(folder, images)), read_idx(locate(folder, labels))
            x = x.astype(np.float32) / np.float32(255) if x.dtype == np.uint8 else x
            if x.ndim == 3:
                x = x[..., None]
            return np.ascontiguousarray(x.transpose(0, 3, 1, 2)), y.astype(np.int64)
    raise SystemExit(f"{folder}: no {split} images ({' or '.join(n for n, _ in NAMES[split])})")
