#!/usr/bin/env bash
# Own nets and images, end to end, on generated data sets (scripts/make-images.py); run by
# scripts/test.sh after its release builds of train and export.
#   1. colour images (32x32x3 bytes, 10 classes): a net with bn, AdamW and a cosine schedule
#      learns them (test accuracy at least 90% after 3 epochs);
#   2. 47 classes of float32 28x28 images (EMNIST's balanced split's count): a spec ending in
#      fc47 learns them (at least 90%), lenet5 (fc10) is refused with a clear message;
#   3. PyTorch repeats two runs from their initial checkpoints and agrees (scripts/check-pytorch.py):
#      AdamW + cosine warm-up + bn on float32 colour images, SGD + step decay + bn (conv and
#      dense) + l2 + avgpool + 1x1 conv on grey bytes; both with a partial last batch;
#   4. ONNX Runtime agrees with the exported bn net (bn folded into the convs).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
TRAIN=.build/release/train EXPORT=.build/release/export
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
TORCH_PY="$(scripts/venv.sh torch torch numpy)"
ONNX_PY="$(scripts/venv.sh onnx "onnx==1.23.2" "onnxruntime==1.32.0" numpy)"
accuracy() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['epochs'][-1]['testAccuracy'])" "$1"; }

# 1. colour images
"$TORCH_PY" scripts/make-images.py "$WORK/colour" --shape 32x32x3 --classes 10 --train 3000 --test 500 --seed 4
$TRAIN --data "$WORK/colour" --model "conv3x3x16:same,bn,pool,conv3x3x32:same,bn,pool,fc64,fc10" --optimizer adamw \
    --lr 0.003 --schedule cosine:1 --epochs 3 --validation 500 --json "$WORK/colour.json" > "$WORK/colour.log"
grep -q "on 32x32x3 images, 10 classes" "$WORK/colour.log"
acc="$(accuracy "$WORK/colour.json")"
python3 -c "import sys; a = float(sys.argv[1]); assert a >= 0.9, f'colour images: test accuracy {a}'" "$acc"
echo "own data: 32x32x3 colour images, bn + AdamW + cosine: test accuracy $acc after 3 epochs"

# 2. 47 classes of float32 images
"$TORCH_PY" scripts/make-images.py "$WORK/many" --shape 28x28x1 --classes 47 --train 2350 --test 470 --dtype float32 --seed 5
$TRAIN --data "$WORK/many" --model "conv5x5x8:same,bn,pool,conv5x5x16,bn,pool,fc64,fc47" --epochs 4 --optimizer adamw \
    --lr 0.003 --schedule step:2:0.3 --validation 0 --json "$WORK/many.json" > "$WORK/many.log"
grep -q "on 28x28x1 images, 47 classes" "$WORK/many.log"
acc="$(accuracy "$WORK/many.json")"
python3 -c "import sys; a = float(sys.argv[1]); assert a >= 0.9, f'47 classes: test accuracy {a}'" "$acc"
echo "own data: 47 classes of float32 images, bn + AdamW + step decay: test accuracy $acc after 4 epochs (chance 2.1%)"
set +e
$TRAIN --data "$WORK/many" --model lenet5 --epochs 1 --validation 0 > /dev/null 2> "$WORK/err.txt"; code=$?
set -e
[[ $code -eq 64 && $(wc -l < "$WORK/err.txt") -le 3 ]] && grep -q "the data has 47 classes" "$WORK/err.txt" || {
    echo "lenet5 on 47 classes: exit $code, wanted 64 and a short message naming the classes:"; cat "$WORK/err.txt"; exit 1; }
echo "own data: $(head -1 "$WORK/err.txt")"

# 3. PyTorch repeats the run from the same initial weights
pytorch_check() {  # data folder, train flags...
    local data="$1"; shift
    rm -f "$WORK"/run.*
    $TRAIN --data "$data" "$@" --initial-checkpoint "$WORK/run.init.safetensors" \
        --checkpoint "$WORK/run.safetensors" --json "$WORK/run.json" > "$WORK/run.log"
    $TRAIN --evaluate "$WORK/run.safetensors" --data "$data" --logits "$WORK/run.npy" > "$WORK/run.eval"
    "$TORCH_PY" scripts/check-pytorch.py "$data" "$WORK/run.init.safetensors" "$WORK/run.safetensors" "$WORK/run.json" "$WORK/run.npy"
}
"$TORCH_PY" scripts/make-images.py "$WORK/small-colour" --shape 12x10x3 --classes 5 --train 96 --test 40 --dtype float32
"$TORCH_PY" scripts/make-images.py "$WORK/small-grey" --shape 20x20x1 --classes 7 --train 100 --test 30
pytorch_check "$WORK/small-colour" --model "conv3x3x6:same,bn,pool,conv3x3x8:same,bn,pool,fc16,fc5" --optimizer adamw \
    --lr 0.01 --schedule cosine:1 --epochs 3 --batch-size 32 --validation 16 --threads 2
pytorch_check "$WORK/small-grey" --model "conv5x5x6:same,bn,avgpool,conv1x1x4,conv3x3x8,bn,pool,fc24,bn,fc7,l2:0.001" \
    --lr 0.05 --schedule step:1:0.5 --epochs 3 --batch-size 24 --validation 5 --threads 2

# 4. ONNX Runtime on the exported colour bn net (the last PyTorch-checked run is grey; redo colour)
pytorch_check "$WORK/small-colour" --model "conv3x3x6:same,bn,pool,conv3x3x8,bn,pool,fc16,bn,fc5" --epochs 2 \
    --batch-size 16 --validation 0 --lr 0.05 --seed 2
$EXPORT "$WORK/run.safetensors" -o "$WORK/run.onnx" > /dev/null
correct="$(sed -E 's/.*\(([0-9]+)\/[0-9]+\)$/\1/' < "$WORK/run.eval")"
"$ONNX_PY" scripts/check-onnx.py "$WORK/run.onnx" "$WORK/run.npy" "$WORK/small-colour" "$correct"
