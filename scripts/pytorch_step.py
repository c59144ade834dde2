"""PyTorch side of scripts/compare-pytorch.sh: training-step throughput of one TinyConv zoo
model rebuilt in PyTorch with identical shapes, batch, threads and optimizer.

usage: pytorch_step.py MODEL THREADS BATCH STEPS REPEATS [--channels-last]
prints one JSON line: {"model", "imagesPerSecond": [per repeat], "channelsLast", "torch"}

The models mirror docs/model-spec.md: ReLU after every conv and hidden dense layer, 2x2 max
pools, NHWC flatten order does not matter for speed; SGD lr 0.01 momentum 0.9, cross-entropy;
the regularized LeNet-5 adds dropout 0.3 after the hidden dense layers and Keras l2(0.001) on
weights (SGD weight_decay 0.002 on weights only: the gradient of 0.001 * w^2 is 0.002 * w).
Data: random images and labels of MNIST's shape, like `bench` (timing needs shapes, not digits).
"""
import json
import sys
import time

import torch
import torch.nn as nn


def conv(cin, cout, k, pad):
    return [nn.Conv2d(cin, cout, k, padding=pad), nn.ReLU()]


def build(name):
    pool = lambda: nn.MaxPool2d(2, 2)
    if name in ("lenet5", "regularized-lenet5"):
        drop = name == "regularized-lenet5"
        layers = conv(1, 6, 5, 2) + [pool()] + conv(6, 16, 5, 0) + [pool(), nn.Flatten(),
                  nn.Linear(400, 120), nn.ReLU()] + ([nn.Dropout(0.3)] if drop else []) + [
                  nn.Linear(120, 84), nn.ReLU()] + ([nn.Dropout(0.3)] if drop else []) + [nn.Linear(84, 10)]
    elif name == "custom":
        layers = conv(1, 120, 5, 0) + [pool()] + conv(120, 6, 1, 0) + conv(6, 150, 3, 0) + [pool()] + \
                 conv(150, 12, 1, 0) + [nn.Flatten(), nn.Linear(300, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                                        nn.Linear(84, 10)]
    elif name == "custom-1x1-then-pool":
        layers = conv(1, 120, 5, 0) + conv(120, 6, 1, 0) + [pool()] + conv(6, 150, 3, 0) + conv(150, 12, 1, 0) + \
                 [pool(), nn.Flatten(), nn.Linear(300, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10)]
    else:
        sys.exit(f"pytorch_step: unknown model {name}")
    return nn.Sequential(*layers)


def main():
    name, threads, batch, steps, repeats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    channels_last = "--channels-last" in sys.argv
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    model = build(name)
    weights = [p for n, p in model.named_parameters() if n.endswith("weight")]
    biases = [p for n, p in model.named_parameters() if n.endswith("bias")]
    wd = 0.002 if name == "regularized-lenet5" else 0.0
    opt = torch.optim.SGD([{"params": weights, "weight_decay": wd}, {"params": biases, "weight_decay": 0.0}],
                          lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    x = torch.rand(batch, 1, 28, 28)
    y = torch.randint(0, 10, (batch,))
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    model.train()

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()

    for _ in range(20):
        step()
    rates = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        rates.append(batch * steps / (time.perf_counter() - t0))
    print(json.dumps({"model": name, "imagesPerSecond": rates, "channelsLast": channels_last, "torch": torch.__version__,
                      "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
