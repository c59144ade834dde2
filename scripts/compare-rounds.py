#!/usr/bin/env python3
"""Per-round ratios of two sets of bench --json files run alternately (A_r1, B_r1, A_r2, ...):
median step time of each variant, B / A per round, and the median of those ratios.
Usage: compare-rounds.py 'A_r*.json' 'B_r*.json' [--markdown]"""
import glob
import json
import statistics
import sys

a_files, b_files = sorted(glob.glob(sys.argv[1])), sorted(glob.glob(sys.argv[2]))
assert a_files and len(a_files) == len(b_files), (a_files, b_files)
rows = {}
for fa, fb in zip(a_files, b_files):
    ra, rb = json.load(open(fa)), json.load(open(fb))
    for va, vb in zip(ra["variants"], rb["variants"]):
        assert va["name"] == vb["name"]
        rows.setdefault(va["name"], []).append((va["stepSeconds"]["median"], vb["stepSeconds"]["median"],
                                               va["percentOfMachinePeak"], vb["percentOfMachinePeak"]))
md = "--markdown" in sys.argv
if md:
    print("| model | A ms (min-max) | B ms (min-max) | B / A per round | median | B % of peak (min-max) |")
    print("|---|---:|---:|---|---:|---:|")
for name, rs in rows.items():
    ratios = [b / a for a, b, _, _ in rs]
    a_ms = [1e3 * a for a, _, _, _ in rs]
    b_ms = [1e3 * b for _, b, _, _ in rs]
    pct = [p for _, _, _, p in rs]
    cells = (name, f"{min(a_ms):.3f}-{max(a_ms):.3f}", f"{min(b_ms):.3f}-{max(b_ms):.3f}",
             " ".join(f"{x:.2f}" for x in ratios), f"{statistics.median(ratios):.3f}", f"{min(pct):.1f}-{max(pct):.1f}")
    print(("| " + " | ".join(cells) + " |") if md else "  ".join(cells))
