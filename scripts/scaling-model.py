#!/usr/bin/env python3
"""The data-parallel scaling model (docs/distributed.md), checked against the runs of
scripts/measure-scaling.sh and projected to 32 nodes.

usage: scaling-model.py DIR [--svg FILE] [--markdown FILE]

A step is compute, then the exchange (TinyConv does not overlap them):
  compute  = the slowest rank's compute, as each rank measured it in the run (its shards'
             forward and backward and the update, `bench`'s per-rank line); with more one-thread
             ranks than cores (P = 4 here) the ranks also wait for each other's time slices, so
             there compute = max(slowest rank, all ranks' compute / cores) and the figure is
             reported apart: the OS's time slicing is outside the model
  projected compute = ceil(k / 2) * t_shard + t_update / 2 on a node of 2 cores, k the most shards
             any rank has, t_shard one shard's forward + backward and t_update the optimizer
             over all parameters, both from the one-process, one-thread run
  tree     = L * m(4n) + L * m(4n) + L * a     (L = ceil(log2 P): the reduce up the tree, Open
             MPI's binomial broadcast of the total, the loss-figures all-gather; m(s) the one-way
             time of an s-byte message: on the emulated links the line through the ping-pong's
             256 KB and 1 MB times, since a shaped link lets its token bucket through at once)
  gather   = (P - 1) * a + (S - S/P) * 4n / b            (ring all-gather of the shards' vectors)
with n parameters, S shards, a the link's latency and b its bandwidth, both measured by
scripts/mpi-pingpong.c on the same transport. Projection: P nodes like this one (2 cores,
2 threads a rank, so c = 1 and a rank's k shards take ceil(k/2) shard times), a = 20 us,
b = 10 and 100 Gbit/s, global batch 128 and 1,024.
"""
import json
import math
import os
import sys

SHARD = 8


def tree_ranges(ranks, shards):
    """TreeSchedule.range for every rank (Sources/TinyConv/Training/ShardExchange.swift)."""
    out = [None] * ranks

    def walk(first, count, lo, hi):
        if count == 1 or hi - lo <= 1:
            for r in range(first, first + count):
                out[r] = (lo, hi) if r == first else (hi, hi)
            return
        mid, left = lo + (hi - lo) // 2, count // 2
        walk(first, left, lo, mid)
        walk(first + left, count - left, mid, hi)
    walk(0, ranks, 0, shards)
    return out


def most_shards(exchange, ranks, shards):
    if exchange == "tree":
        return max(hi - lo for lo, hi in tree_ranges(ranks, shards))
    return max(shards * (r + 1) // ranks - shards * r // ranks for r in range(ranks))


def levels(p):
    return math.ceil(math.log2(p)) if p > 1 else 0


def message(link, size):
    """One-way seconds of a message: the line through the ping-pong's 256 KB and 1 MB times."""
    t = link["oneWaySeconds"]
    return float(t["262144"]) + (size - 262144) / link["bytesPerSecond"]


def exchange_seconds(exchange, p, shards, n, link):
    if p == 1:
        return 0.0
    L, a = levels(p), link["latencySeconds"]
    if exchange == "tree":
        return 2 * L * message(link, 4 * n) + L * a
    own = shards // p
    return (p - 1) * a + (shards - own) * 4 * n / link["bytesPerSecond"]


def one_process(path):
    """(seconds per shard on one thread, seconds of the update) from a 1-thread batch-32 bench."""
    v = json.load(open(path))["variants"][0]
    step = v["stepSeconds"]["median"]
    layers = {l["layer"]: l for l in v["layers"]}
    update = (layers["optimizer"]["forwardMs"] + layers["optimizer"]["backwardMs"]) / 1e3
    profiled = sum(l["forwardMs"] + l["backwardMs"] for l in v["layers"]) / 1e3
    update *= step / profiled  # the profile's split of the unprofiled step
    return (step - update) / 4, update, v["parameters"]


def main():
    d = sys.argv[1]
    svg = sys.argv[sys.argv.index("--svg") + 1] if "--svg" in sys.argv else None
    md = sys.argv[sys.argv.index("--markdown") + 1] if "--markdown" in sys.argv else None
    machine = json.load(open(os.path.join(d, "machine.json")))
    cores = machine["cores"]
    base = {m: one_process(os.path.join(d, f"one-process_{m}.json")) for m in ("lenet5", "custom")}
    links = {t: json.load(open(os.path.join(d, f"link_{t}.json"))) for t in ("shm", "1gbit", "10gbit")
             if os.path.exists(os.path.join(d, f"link_{t}.json"))}
    runs = [json.loads(l) for l in open(os.path.join(d, "runs.jsonl")) if l.strip()]

    lines = [f"Model vs measured, {machine['cpu']}, {cores} cores ({d}/runs.jsonl; step = median of 6 repeats)", "",
             "| transport | P | model | batch | exchange | measured ms | model ms | error | slowest rank's compute ms | exchange ms: rank 0 measured / model |",
             "|---|---:|---|---:|---|---:|---:|---:|---:|---|"]
    errors = {True: [], False: []}  # by "one rank per core"
    for r in runs:
        n = r["parameters"]
        link = links[r["transport"]]
        p, shards = r["ranks"], -(-r["batch"] // SHARD)
        per_rank = [x["computeMs"] / 1e3 for x in r["perRank"]]
        compute = max(per_rank) if p <= cores else max(max(per_rank), sum(per_rank) / cores)
        ex = exchange_seconds(r["exchange"], p, shards, n, link)
        model = compute + ex
        err = model / r["stepSeconds"] - 1
        errors[p <= cores].append(abs(err))
        measured_ex = r["perRank"][0]["exchangeMs"] if r["perRank"] else float("nan")
        lines.append(f"| {r['transport']} | {p} | {r['model']} | {r['batch']} | {r['exchange']} | {r['stepSeconds'] * 1e3:.2f} | "
                     f"{model * 1e3:.2f} | {err:+.0%} | {max(per_rank) * 1e3:.2f} | {measured_ex:.2f} / {ex * 1e3:.2f} |")
    lines.append("")
    for fits, name in ((True, f"one rank per core (P <= {cores})"), (False, f"oversubscribed (P > {cores} one-thread ranks)")):
        e = errors[fits]
        if e:
            lines.append(f"- {name}: {sum(x <= 0.2 for x in e)} of {len(e)} runs within 20% "
                         f"(median |error| {sorted(e)[len(e) // 2]:.0%}, largest {max(e):.0%}).")
    for t, link in links.items():
        lines.append(f"- link {t}: latency {link['latencySeconds'] * 1e6:.1f} us, bandwidth {link['bytesPerSecond'] / 1e9:.2f} GB/s "
                     f"({d}/link_{t}.json)")
    for m, (t_shard, t_update, n) in base.items():
        lines.append(f"- {m}: {n} parameters, {t_shard * 1e3:.3f} ms a shard of 8 on one thread, update {t_update * 1e3:.3f} ms "
                     f"({d}/one-process_{m}.json)")

    # Projection: P nodes of 2 cores, 2 threads per rank
    a = 20e-6
    proj = {}
    lines += ["", "Projection (nodes like this one: 2 cores, a rank of 2 threads each; latency 20 us):", "",
              "| model | batch | link | exchange | " + " | ".join(f"P={p}" for p in (1, 2, 4, 8, 16, 32)) + " | best P |",
              "|---|---:|---|---|" + "---:|" * 7]
    for m, (t_shard, t_update, n) in base.items():
        for batch in (32, 128, 1024):
            shards = batch // SHARD
            for gbit in (10, 100):
                b = gbit * 1e9 / 8
                link = {"latencySeconds": a, "bytesPerSecond": b, "oneWaySeconds": {"262144": a + 262144 / b}}
                for e in ("tree", "gather"):
                    rates = []
                    for p in (1, 2, 4, 8, 16, 32):
                        k = most_shards(e, p, shards)
                        step = math.ceil(k / 2) * t_shard + t_update / 2 + exchange_seconds(e, p, shards, n, link)
                        rates.append(batch / step)
                    proj[(m, batch, gbit, e)] = rates
                    best = (1, 2, 4, 8, 16, 32)[rates.index(max(rates))]
                    lines.append(f"| {m} | {batch} | {gbit} Gbit/s | {e} | " + " | ".join(f"{x:,.0f}" for x in rates) + f" | {best} |")
    lines.append("")
    lines.append("(images per second; P=1 is one node with no exchange)")
    text = "\n".join(lines) + "\n"
    print(text)
    if md:
        open(md, "w").write(text)
    if svg:
        write_svg(svg, proj)


def write_svg(path, proj):
    W, H, pad = 880, 360, 50
    ps = (1, 2, 4, 8, 16, 32)
    panels = [("lenet5", "LeNet-5"), ("custom", "Custom")]
    colours = {("tree", 100): "#1b7837", ("tree", 10): "#7fbf7b", ("gather", 100): "#762a83", ("gather", 10): "#c2a5cf"}
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="11">',
           f'<rect width="{W}" height="{H}" fill="white"/>']
    pw = (W - 3 * pad) / 2
    for i, (m, title) in enumerate(panels):
        x0, y0, ph = pad + i * (pw + pad), 30, H - 90
        top = max(max(v) for k, v in proj.items() if k[0] == m and k[1] != 32) * 1.1
        out.append(f'<text x="{x0 + pw / 2}" y="18" text-anchor="middle" font-size="13">{title}: images/s vs nodes (model)</text>')
        out.append(f'<line x1="{x0}" y1="{y0 + ph}" x2="{x0 + pw}" y2="{y0 + ph}" stroke="black"/>')
        out.append(f'<line x1="{x0}" y1="{y0}" x2="{x0}" y2="{y0 + ph}" stroke="black"/>')
        for j, p in enumerate(ps):
            x = x0 + j * pw / (len(ps) - 1)
            out.append(f'<text x="{x}" y="{y0 + ph + 14}" text-anchor="middle">{p}</text>')
        for f in (0, 0.25, 0.5, 0.75, 1.0):
            y = y0 + ph - f * ph
            out.append(f'<text x="{x0 - 4}" y="{y + 4}" text-anchor="end">{top * f / 1000:.0f}k</text>')
            out.append(f'<line x1="{x0}" y1="{y}" x2="{x0 + pw}" y2="{y}" stroke="#eee"/>')
        for (mm, batch, gbit, e), rates in proj.items():
            if mm != m or batch == 32:
                continue
            pts = " ".join(f"{x0 + j * pw / (len(ps) - 1):.1f},{y0 + ph - r / top * ph:.1f}" for j, r in enumerate(rates))
            dash = ' stroke-dasharray="5,3"' if batch == 128 else ""
            out.append(f'<polyline points="{pts}" fill="none" stroke="{colours[(e, gbit)]}" stroke-width="2"{dash}/>')
    ly = H - 30
    for j, ((e, gbit), c) in enumerate(colours.items()):
        lx = pad + j * 190
        out.append(f'<line x1="{lx}" y1="{ly}" x2="{lx + 24}" y2="{ly}" stroke="{c}" stroke-width="2"/>')
        out.append(f'<text x="{lx + 28}" y="{ly + 4}">{e}, {gbit} Gbit/s</text>')
    out.append(f'<text x="{pad}" y="{H - 10}">solid: global batch 1,024; dashed: 128 (batch 32 in the table). Nodes of 2 cores, latency 20 us '
               f'(scripts/scaling-model.py)</text>')
    out.append("</svg>")
    open(path, "w").write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
