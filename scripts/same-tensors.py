#!/usr/bin/env python3
"""Exits non-zero unless two safetensors checkpoints hold the same tensors, byte for byte
(metadata aside). Usage: same-tensors.py A.safetensors B.safetensors"""
import json
import struct
import sys


def tensors(path):
    d = open(path, "rb").read()
    n = struct.unpack("<Q", d[:8])[0]
    header, body = json.loads(d[8:8 + n]), d[8 + n:]
    return {k: body[v["data_offsets"][0]:v["data_offsets"][1]] for k, v in header.items() if k != "__metadata__"}


a, b = tensors(sys.argv[1]), tensors(sys.argv[2])
bad = [k for k in a if a[k] != b.get(k)]
if bad or a.keys() != b.keys():
    sys.exit(f"{sys.argv[1]} and {sys.argv[2]}: tensors differ: {bad[:4]}")
