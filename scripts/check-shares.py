#!/usr/bin/env python3
"""Fails if a bench --json file reports any share of peak above 100% (a peak probed while
another process had a core, or FLOPs a process did not compute), or a machine peak below the
one-core peak. Usage: check-shares.py BENCH.json..."""
import json
import sys

bad = []
for path in sys.argv[1:]:
    r = json.load(open(path))
    found = []
    if r["machinePeakGflops"] < r["singleCorePeakGflops"]:
        found.append(f"{path}: machine peak {r['machinePeakGflops']:.1f} below one core's {r['singleCorePeakGflops']:.1f}")
    for v in r["variants"]:
        shares = [("step", v["percentOfMachinePeak"])]
        for l in v["layers"]:
            shares += [(l["layer"] + " forward", l["forwardPercentOfPeak"]), (l["layer"] + " backward", l["backwardPercentOfPeak"])]
        found += [f"{path}: {v['name']} {name}: {pct:.1f}% of peak" for name, pct in shares if pct > 100]
    if not found:
        print(f"shares of peak: {path}: every figure <= 100% ({len(r['variants'])} variants)")
    bad += found
if bad:
    sys.exit("\n".join(bad))
