#!/usr/bin/env bash
# Builds and runs Tests/KernelCheck/direct_conv_check.c, the direct convolutions' exact checks
# as a plain C program, for a machine without Swift (the device tool's AVX-512 machine):
#   scripts/kernel-check.sh [OUT_BINARY]     builds OUT_BINARY (default .build/direct-conv-check) and runs it
# Copy the binary there and run it; it needs only libc and libm.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-.build/direct-conv-check}"
cc="$(command -v clang || command -v cc)"
mkdir -p "$(dirname "$out")"
"$cc" -std=gnu11 -O2 -ISources/CKernels/include -ISources/CKernels Sources/CKernels/*.c Tests/KernelCheck/direct_conv_check.c \
    -lm -o "$out"
"$out"
