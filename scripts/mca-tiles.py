#!/usr/bin/env python3
"""Predicts, with llvm-mca, how many FMAs per cycle each GEMM microkernel's inner loop issues on
CPUs this machine may not have. For each ISA file it compiles the kernels to assembly (clang, as
the package does: -O3, the ISA's target attributes come from the file), takes each plain tile's
loop with the most FMAs (the k loop), and asks llvm-mca for its block reciprocal throughput on
each -mcpu. Two FMA pipes give 2.0; a load- or shuffle-bound tile gives less.
Usage: scripts/mca-tiles.py [OUT.txt]"""
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SRC = os.path.join(ROOT, "Sources", "CKernels")
CPUS = {"avx512": ["skylake-avx512", "icelake-server", "sapphirerapids", "znver4"],
        "avx2": ["znver2", "znver3", "skylake", "icelake-server"]}


def loops(asm, isa):
    """tile name -> the instructions of its densest loop (label to backward jump)."""
    out = {}
    funcs = re.split(r"\n(?=tc_gemm_f32_\w+_%s:)" % isa, asm)
    for f in funcs:
        m = re.match(r"tc_gemm_f32_(\d+x\d+)_%s:" % isa, f)
        if not m:
            continue
        lines = f.split("\n")
        best = []
        labels = {l.split(":")[0]: i for i, l in enumerate(lines) if re.match(r"^\.LBB\w+:", l)}
        for i, l in enumerate(lines):
            j = re.match(r"\s+j\w+\s+(\.LBB\w+)", l)
            if j and j.group(1) in labels and labels[j.group(1)] < i:
                body = [x for x in lines[labels[j.group(1)] + 1:i + 1] if x.strip() and not x.strip().startswith(("#", "."))]
                if sum("vfmadd" in x for x in body) > sum("vfmadd" in x for x in best):
                    best = body
        out[m.group(1)] = best
    return out


def main():
    rows = ["tile  cpu               FMAs/iter  cycles/iter  FMAs/cycle"]
    for isa, cpus in CPUS.items():
        with tempfile.TemporaryDirectory() as d:
            s = os.path.join(d, "k.s")
            subprocess.run(["clang", "-O3", "-I" + os.path.join(SRC, "include"), "-S", os.path.join(SRC, f"isa_{isa}.c"), "-o", s],
                           check=True)
            for tile, body in sorted(loops(open(s).read(), isa).items(), key=lambda kv: [int(x) for x in kv[0].split("x")]):
                fmas = sum("vfmadd" in x for x in body)
                if not fmas:
                    continue
                open(os.path.join(d, "loop.s"), "w").write("\n".join(body) + "\n")
                for cpu in cpus:
                    r = subprocess.run(["llvm-mca", f"-mcpu={cpu}", "-iterations=200", os.path.join(d, "loop.s")],
                                       capture_output=True, text=True)
                    t = re.search(r"Block RThroughput:\s+([\d.]+)", r.stdout)
                    if not t:
                        continue
                    cyc = float(t.group(1))
                    rows.append(f"{isa} {tile:6s} {cpu:16s} {fmas:9d} {cyc:12.2f} {fmas / cyc:10.2f}")
    text = "\n".join(rows) + "\n"
    print(text, end="")
    if len(sys.argv) > 1:
        open(sys.argv[1], "w").write(text)


main()
