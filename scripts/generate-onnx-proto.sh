#!/usr/bin/env bash
# Regenerates Sources/ONNXExport/onnx.pb.swift (committed) from the official onnx.proto that
# the `onnx` PyPI package ships, with Debian's protoc and swift-protobuf's protoc-gen-swift
# (built from the version Package.swift pins). Run after changing the onnx or swift-protobuf
# version; the build never runs it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
ONNX_VERSION=1.23.2
dpkg -s protobuf-compiler >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq protobuf-compiler >/dev/null; }
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
python3 -m venv "$WORK/venv"
"$WORK/venv/bin/pip" install -q "onnx==$ONNX_VERSION"
PROTO_DIR="$("$WORK/venv/bin/python" -c 'import onnx, os; print(os.path.dirname(onnx.__file__))')"
swift package resolve
swift build -c release --package-path .build/checkouts/swift-protobuf --product protoc-gen-swift \
    --scratch-path .build-protoc-gen-swift
protoc --plugin=protoc-gen-swift="$ROOT/.build-protoc-gen-swift/release/protoc-gen-swift" \
    --swift_opt=Visibility=Internal --swift_out="$WORK" -I "$PROTO_DIR" "$PROTO_DIR/onnx.proto"
mv "$WORK/onnx.pb.swift" Sources/ONNXExport/onnx.pb.swift
echo "generated Sources/ONNXExport/onnx.pb.swift from onnx $ONNX_VERSION's onnx.proto"
