"""Checks an exported TinyConv ONNX model against TinyConv itself.

usage: check-onnx.py MODEL.onnx LOGITS.npy DATA_DIR CORRECT

MODEL.onnx  written by `export`; LOGITS.npy written by `train --evaluate CKPT --logits`
(TinyConv's own forward pass over the test images); CORRECT is the correct count
`train --evaluate` printed. Passes when onnx.checker accepts the model, ONNX Runtime's
logits on the first 1,000 test images (or all, if fewer) match TinyConv's (max |a - b| / max |b| <= 1e-4) with
identical predicted classes, and ONNX Runtime's test accuracy equals TinyConv's.
"""
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort
from idxdata import load_split


def main():
    model_path, logits_path, folder, correct = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    model = onnx.load(model_path)
    onnx.checker.check_model(model, full_check=True)
    meta = {p.key: p.value for p in model.metadata_props}
    assert meta.get("tinyconv.spec"), meta
    assert model.opset_import[0].version >= 13, model.opset_import

    images, labels = load_split(folder, "test")
    ours = np.load(logits_path)
    assert ours.shape[0] == len(labels), ours.shape

    session = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    theirs, probabilities = session.run(["logits", "probabilities"], {"input": images})
    k = min(1000, len(labels))
    first = slice(0, k)
    rel = float(np.max(np.abs(theirs[first] - ours[first])) / np.max(np.abs(ours[first])))
    assert rel <= 1e-4, f"logits differ: relative error {rel:.2e} on the first {k:,} images"
    same = np.argmax(theirs[first], 1) == np.argmax(ours[first], 1)
    assert same.all(), f"{(~same).sum()} of {k:,} predicted classes differ"
    assert np.allclose(probabilities.sum(1), 1, atol=1e-5)
    ort_correct = int((np.argmax(theirs, 1) == labels).sum())
    ours_correct = int((np.argmax(ours, 1) == labels).sum())
    assert ort_correct == correct == ours_correct, f"ONNX Runtime {ort_correct}, TinyConv {correct} / {ours_correct} correct"
    print(f"onnx: {os.path.basename(model_path)} [{meta['tinyconv.spec']}]: checker ok, logits rel. error {rel:.1e}, "
          f"classes identical on {k:,} images, test accuracy {ort_correct / len(labels):.2%} in both")


if __name__ == "__main__":
    main()
