#!/usr/bin/env bash
# check_tflite_lite0.sh — LiteRT judges EfficientNet-Lite0 (k = 31, tflite rounding) op by op on N real
# ImageNet validation images (../shared/data/imagenet_sample; calibration on imagenet_trainlike). Without the
# shared data it is skipped (exit 77) unless RATQ_REQUIRE_SHARED=1.
# usage: check_tflite_lite0.sh RATQ WORK WEIGHTS SHARED_DATA SOURCE_ROOT [N]
set -euo pipefail
ratq=$1 work=$2 weights=$3 shared=$4 root=$5 n=${6:-8}
py="${RATQ_PYTHON:-python3}"
if [ ! -d "$shared/imagenet_sample" ] || [ ! -d "$shared/imagenet_trainlike" ]; then
  if [ "${RATQ_REQUIRE_SHARED:-0}" = 1 ]; then echo "FAIL: $shared/imagenet_sample is missing"; exit 1; fi
  echo "skipped: no shared data at $shared (imagenet_sample, imagenet_trainlike)"; exit 77
fi
[ -f "$weights" ] || { echo "FAIL: $weights missing (scripts/get_weights.py)"; exit 1; }
rm -rf "$work" && mkdir -p "$work" && cd "$work"
"$ratq" quantize --model "$weights" --calib "$shared/imagenet_trainlike" --calib-images 64 --rescale-bits 31 \
  --rounding tflite -o lite0.ratqm
"$ratq" export-tflite --model lite0.ratqm -o lite0.tflite
"$ratq" import-tflite --model lite0.tflite -o lite0.back.ratqm
cmp lite0.ratqm lite0.back.ratqm || { echo "FAIL: export -> import is not byte-identical"; exit 1; }
for r in tflite single; do
  "$ratq" qmodel-trace --model lite0.ratqm --data "$shared/imagenet_sample" --images "$n" --rounding $r -o $r.trace
done
"$py" "$root/scripts/tflite/judge.py" --model lite0.ratqm --tflite lite0.tflite --trace tflite=tflite.trace \
  --trace single=single.trace --json judge_lite0.json --check
