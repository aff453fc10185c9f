#!/usr/bin/env bash
# check_tflite_tiny.sh — TFLite interop on the tiny network trained briefly on Fashion-MNIST:
#   export -> import is byte-identical (k = 31 tflite rounding, and k = 4 with scale snapping: ratq metadata);
#   a file without ratq metadata (what another converter writes) imports as a k = 31 model whose engine output
#   equals the original's on every op; LiteRT (reference kernels and XNNPACK) judges every op on 200 test images
#   (scripts/tflite/judge.py --check). Leaves WORK/t31.tflite for the bad-input tests (fixture).
# usage: check_tflite_tiny.sh RATQ WORK FASHION_MNIST_DIR SOURCE_ROOT
set -euo pipefail
ratq=$1 work=$2 fm=$3 root=$4
py="${RATQ_PYTHON:-python3}"
rm -rf "$work" && mkdir -p "$work" && cd "$work"
"$ratq" train --data "$fm/train" --images 500 --epochs 1 --seed 7 -o tiny.ratqw
"$ratq" quantize --model tiny.ratqw --calib "$fm/train" --calib-images 100 --rescale-bits 31 --rounding tflite \
  -o t31.ratqm
"$ratq" quantize --model tiny.ratqw --calib "$fm/train" --calib-images 100 --rescale-bits 4 --rounding tflite \
  --snap-scales -o t4s.ratqm
for m in t31 t4s; do
  "$ratq" export-tflite --model $m.ratqm -o $m.tflite
  "$ratq" import-tflite --model $m.tflite -o $m.back.ratqm
  cmp $m.ratqm $m.back.ratqm || { echo "FAIL: $m: export -> import is not byte-identical"; exit 1; }
  echo "ok: $m: export -> import byte-identical"
done
# foreign model: no metadata; ratq derives (m, s) from the float32 scales (= the original's at k = 31)
"$py" "$root/scripts/tflite/ratq_tflite.py" export-plain t31.ratqm plain.tflite
"$ratq" import-tflite --model plain.tflite -o plain.ratqm
"$ratq" qmodel-info --model plain.ratqm | head -1 | grep -q "arch tflite, .* k = 31, rounding tflite" ||
  { echo "FAIL: plain import header"; exit 1; }
"$ratq" qmodel-trace --model t31.ratqm --data "$fm/t10k" --images 200 -o t31.tflite_rounding.trace
"$ratq" qmodel-trace --model plain.ratqm --data "$fm/t10k" --images 200 -o plain.trace
cmp t31.tflite_rounding.trace plain.trace || { echo "FAIL: the foreign import computes differently"; exit 1; }
echo "ok: foreign import equals the original on every op of 200 images"
"$ratq" qmodel-trace --model t31.ratqm --data "$fm/t10k" --images 200 --rounding single -o t31.single.trace
"$py" "$root/scripts/tflite/judge.py" --model t31.ratqm --tflite t31.tflite --trace tflite=t31.tflite_rounding.trace \
  --trace single=t31.single.trace --json judge_tiny.json --check
