"""Checks a TinyConv training run against PyTorch doing the same run.

usage: check-pytorch.py DATA INITIAL.safetensors FINAL.safetensors RUN.json [LOGITS.npy]

DATA is the folder `train --data` read; INITIAL is its `--initial-checkpoint`, FINAL its
`--checkpoint`, RUN.json its `--json`; LOGITS (optional) is `train --evaluate FINAL --logits`.
PyTorch rebuilds the spec (conv, pool, avgpool, fc, bn, l2) from the checkpoint's initial
weights, walks the same sample order (TinyConv's counter-based Fisher-Yates shuffle, ported
below), the same minibatches and per-step learning rates, with torch.optim.AdamW or, for sgd,
the Keras momentum update TinyConv implements (v = m v - lr g; w += v).

Tolerance: PyTorch runs in float64 (the reference) and RUNS times in float32, each from the
initial weights moved by at most one unit in the last place and each minibatch's samples in
another order (so sums round differently, as in another engine).
Float32 rounding alone moves a run away from the exact one, and AdamW amplifies it where a
gradient is nearly zero (a channel almost dead: its update is lr * m / sqrt(v), whatever the
gradient's size), by an amount that varies from run to run. So each epoch's mean training
loss, each final tensor (batch-norm running statistics included) and, with LOGITS, the test
logits in evaluation mode must be no farther from the float64 run than twice the farthest of
PyTorch's float32 runs, or within a floor of 1e-5 relative (to max(1, the largest value)).

Mapping: conv weights HWIO -> OIHW, dense [in][out] -> [out][in], the flatten in NHWC order;
a conv/dense followed by bn has no bias in PyTorch (TinyConv freezes it at zero); AdamW's
weight decay applies to conv and dense weights only (a parameter group per kind); the spec's
l2:LAMBDA adds LAMBDA * sum(w^2) of those weights to the loss. Dropout draws different masks in
the two engines, so a spec with dropout is refused.
"""
import json
import math
import struct
import sys

import numpy as np
import torch
from idxdata import load_split
import torch.nn as nn

M64 = (1 << 64) - 1


def mix64(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def uniform(seed, stream, index):  # tc_uniform (Sources/CKernels/dropout.c)
    key = mix64(seed ^ mix64((stream + 0x9E3779B97F4A7C15) & M64))
    return np.float32(mix64((key + index * 0x9E3779B97F4A7C15) & M64) >> 40) * np.float32(1.0 / 16777216.0)


def permutation(count, seed, epoch):  # Trainer.permutation
    order = list(range(count))
    for i in range(count - 1, 0, -1):
        j = min(i, int(float(uniform(seed, 0x5EED0000 + epoch, i)) * (i + 1)))
        order[i], order[j] = order[j], order[i]
    return order


def rate(schedule, lr, t, steps_per_epoch, epochs):  # LearningRateSchedule.rate
    parts = schedule.split(":")
    if parts[0] == "constant":
        return lr
    if parts[0] == "step":
        e, g = int(parts[1]), float(parts[2])
        return float(np.float32(lr * g ** (t // max(steps_per_epoch, 1) // e)))
    w = int(parts[1]) if len(parts) > 1 else 0
    total = max(epochs * steps_per_epoch, 1)
    warmup = min(w * steps_per_epoch, total - 1)
    if t < warmup:
        return float(np.float32(lr * (t + 1) / warmup))
    progress = (t - warmup) / max(total - warmup, 1)
    return float(np.float32(lr * 0.5 * (1 + math.cos(math.pi * min(progress, 1)))))


def safetensors(path):
    d = open(path, "rb").read()
    n = struct.unpack("<Q", d[:8])[0]
    header, body = json.loads(d[8:8 + n]), d[8 + n:]
    out = {}
    for k, v in header.items():
        if k != "__metadata__":
            a, b = v["data_offsets"]
            out[k] = np.frombuffer(body[a:b], "<f4").reshape(v["shape"]).copy()
    return out


class NHWCFlatten(nn.Module):
    def forward(self, x):
        return x.permute(0, 2, 3, 1).flatten(1) if x.dim() == 4 else x


def build(spec, input_shape, t, dtype):
    """(model, decayed weights, l2 lambda, per TinyConv tensor name: the torch tensor and its
    layout change back to TinyConv's), in dtype."""
    tokens = [s for s in spec.split(",") if not s.startswith("l2:")]
    l2 = sum(float(s[3:]) for s in spec.split(",") if s.startswith("l2:"))
    if any(s.startswith("dropout") for s in tokens):
        sys.exit("check-pytorch: the spec has dropout; the two engines draw different masks, so runs cannot agree")
    c, h, w = input_shape["channels"], input_shape["height"], input_shape["width"]
    last_dense = max(i for i, s in enumerate(tokens) if s.startswith("fc"))
    layers, names, decayed, counts, flat = [], {}, [], {}, False
    for i, s in enumerate(tokens):
        follows_bn = i + 1 < len(tokens) and tokens[i + 1] == "bn"
        kind = "conv" if s.startswith("conv") else "fc" if s.startswith("fc") else s.rstrip("0123456789.")
        counts[kind] = counts.get(kind, 0) + 1
        name = f"{kind}{counts[kind]}"
        if kind == "conv":
            k, f = int(s[4:].split("x")[0]), int(s.split(":")[0].split("x")[2])
            pad = k // 2 if s.endswith(":same") else 0
            m = (nn.Conv2d(c, f, k, padding=pad, bias=not follows_bn)).to(dtype)
            with torch.no_grad():
                m.weight.copy_(torch.from_numpy(t[f"{name}.weight"]).permute(3, 2, 0, 1).to(dtype))
                if m.bias is not None:
                    m.bias.copy_(torch.from_numpy(t[f"{name}.bias"]))
            names[f"{name}.weight"] = (m.weight, lambda p: p.permute(2, 3, 1, 0))
            if m.bias is not None:
                names[f"{name}.bias"] = (m.bias, None)
            decayed.append(m.weight)
            layers += [m] + ([] if follows_bn else [nn.ReLU()])
            c, h, w = f, h + 2 * pad - k + 1, w + 2 * pad - k + 1
        elif kind in ("pool", "avgpool"):
            layers.append(nn.MaxPool2d(2, 2) if kind == "pool" else nn.AvgPool2d(2, 2))
            h, w = h // 2, w // 2
        elif kind == "fc":
            if not flat:
                layers.append(NHWCFlatten())
                c, h, w, flat = c * h * w, 1, 1, True
            units = int(s[2:])
            m = (nn.Linear(c, units, bias=not follows_bn)).to(dtype)
            with torch.no_grad():
                m.weight.copy_(torch.from_numpy(t[f"{name}.weight"]).T)
                if m.bias is not None:
                    m.bias.copy_(torch.from_numpy(t[f"{name}.bias"]))
            names[f"{name}.weight"] = (m.weight, lambda p: p.T)
            if m.bias is not None:
                names[f"{name}.bias"] = (m.bias, None)
            decayed.append(m.weight)
            layers += [m] + ([] if follows_bn or i == last_dense else [nn.ReLU()])
            c = units
        elif kind == "bn":
            m = (nn.BatchNorm2d(c) if not flat else nn.BatchNorm1d(c)).to(dtype)  # momentum 0.1, eps 1e-5
            with torch.no_grad():
                for field in ("weight", "bias", "running_mean", "running_var"):
                    getattr(m, field).copy_(torch.from_numpy(t[f"{name}.{field}"]))
            for field in ("weight", "bias", "running_mean", "running_var"):
                names[f"{name}.{field}"] = (getattr(m, field), None)
            prev = i - 1
            layers += [m] + ([] if tokens[prev].startswith("fc") and prev == last_dense else [nn.ReLU()])
        else:
            sys.exit(f"check-pytorch: token {s} is not mapped")
        # a frozen bias (before bn) must be exactly zero, as PyTorch's bias=False
        if follows_bn and np.any(t[f"{name}.bias"] != 0):
            sys.exit(f"check-pytorch: {name}.bias is not zero before bn")
    return nn.Sequential(*layers), decayed, l2, names


RUNS = 6


def train(cfg, folder, start, dtype, test_images, jitter=None):
    """PyTorch's run in dtype: (epoch losses, final tensors in TinyConv's layout, test logits).
    jitter: a seed to move every initial value by up to one float32 ulp."""
    if jitter is not None:
        rng = np.random.default_rng(jitter)
        start = {k: (v * (1 + rng.integers(-1, 2, v.shape) * np.float32(2 ** -23))).astype(np.float32) for k, v in start.items()}
    model, decayed, l2, names = build(cfg["spec"], cfg["input"], start, dtype)
    x_all, y_all = load_split(folder, "train")
    limit = cfg.get("limit") or len(y_all)
    n = min(limit, len(y_all)) - cfg["validation"]
    x, y = torch.from_numpy(x_all[:n]).to(dtype), torch.from_numpy(y_all[:n])
    batch, epochs, lr0 = cfg["batchSize"], cfg["epochs"], cfg["learningRate"]
    steps_per_epoch = (n + batch - 1) // batch
    decayed_ids = {id(p) for p in decayed}
    params = list(model.parameters())
    opt = cfg["optimizer"]
    if opt["kind"] == "adamw":
        groups = [{"params": [p for p in params if id(p) in decayed_ids], "weight_decay": opt["weightDecay"]},
                  {"params": [p for p in params if id(p) not in decayed_ids], "weight_decay": 0.0}]
        optimizer = torch.optim.AdamW(groups, lr=lr0, betas=(opt["beta1"], opt["beta2"]), eps=opt["epsilon"])
    else:
        velocity = {id(p): torch.zeros_like(p) for p in params}
    ce = nn.CrossEntropyLoss(reduction="sum")
    losses, t = [], 0
    model.train()
    for epoch in range(epochs):
        order = torch.tensor(permutation(n, cfg["seed"], epoch))
        total = 0.0
        for s in range(steps_per_epoch):
            idx = order[s * batch:(s + 1) * batch]
            if jitter is not None:  # the same minibatch summed in another order
                idx = idx[torch.from_numpy(rng.permutation(len(idx)))]
            lr = rate(cfg["schedule"], lr0, t, steps_per_epoch, epochs)
            loss_sum = ce(model(x[idx]), y[idx])
            total += loss_sum.item()
            loss = loss_sum / len(idx) + l2 * sum((w * w).sum() for w in decayed)
            model.zero_grad()
            loss.backward()
            if opt["kind"] == "adamw":
                for g in optimizer.param_groups:
                    g["lr"] = lr
                optimizer.step()
            else:
                with torch.no_grad():
                    for p in params:
                        v = velocity[id(p)]
                        v.mul_(cfg["momentum"]).sub_(lr * p.grad)
                        p.add_(v)
            t += 1
        losses.append(total / n)
    tensors = {k: (f(p.detach()) if f else p.detach()).contiguous().double().numpy() for k, (p, f) in names.items()}
    model.eval()
    with torch.no_grad():
        logits = model(torch.from_numpy(test_images).to(dtype)).double().numpy()
    return np.array(losses), tensors, logits, steps_per_epoch


def distance(a, b):
    return float(np.max(np.abs(np.asarray(a, np.float64) - b)) / max(1.0, float(np.max(np.abs(b)))))


def main():
    folder, initial, final, run_json = sys.argv[1:5]
    logits_path = sys.argv[5] if len(sys.argv) > 5 else None
    run = json.load(open(run_json))
    cfg, opt = run["config"], run["config"]["optimizer"]
    torch.set_num_threads(1)
    start, end = safetensors(initial), safetensors(final)
    test_images, _ = load_split(folder, "test")
    exact, tensors64, logits64, steps_per_epoch = train(cfg, folder, start, torch.float64, test_images)
    runs32 = [train(cfg, folder, start, torch.float32, test_images, jitter=j if j else None) for j in range(RUNS)]
    ours = np.array([e["loss"] for e in run["epochs"]])
    assert len(ours) == len(exact), (ours, exact)

    failures, report = [], []
    def compare(what, mine, reference, float32):
        ours_off, theirs_off = distance(mine, reference), max(distance(f, reference) for f in float32)
        report.append((ours_off, theirs_off, what))
        if ours_off > max(2 * theirs_off, 1e-5):
            failures.append(f"{what}: TinyConv is {ours_off:.2e} from the float64 run, PyTorch float32 at most {theirs_off:.2e}")
    compare("epoch losses", ours, exact, [r[0] for r in runs32])
    for key in tensors64:
        compare(key, end[key].reshape(tensors64[key].shape), tensors64[key], [r[1][key] for r in runs32])
    if logits_path:
        compare("test logits", np.load(logits_path), logits64, [r[2] for r in runs32])
    if failures:
        sys.exit("check-pytorch: " + "; ".join(failures))
    worst = max(report)
    print(f"pytorch: {cfg['spec']} on {cfg['input']['height']}x{cfg['input']['width']}x{cfg['input']['channels']}, "
          f"{opt['kind']}, {cfg['schedule']}, {cfg['epochs']} epochs x {steps_per_epoch} steps: all {len(report)} checks "
          f"within 2x the farthest of {RUNS} PyTorch float32 runs from float64 (largest: {worst[2]}, TinyConv {worst[0]:.1e}, "
          f"PyTorch float32 up to {worst[1]:.1e})")


if __name__ == "__main__":
    main()
