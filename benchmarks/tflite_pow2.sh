#!/usr/bin/env bash
# tflite_pow2.sh — what power-of-two activation scales cost (benchmarks/results/tflite_kbit.md): EfficientNet-Lite0
# quantized at k = 31 (tflite rounding, 64 imagenet_trainlike calibration images), then for k = 8, 4, 3 the
# same model re-derived at k bits (base) and with every activation scale rounded up to a power of two
# (scripts/tflite/pow2_scales.py), both via export -> `ratq import-tflite --rescale-bits K`; top-1 of each with
# ratq's engine (`ratq eval`) on the N imagenet_sample images, and LiteRT's exactness / agreement on 32 of them
# (scripts/tflite/kbit_table.py).
# usage: benchmarks/tflite_pow2.sh BUILD_DIR SHARED_DATA WORK [N]
set -euo pipefail
build=$1 shared=$2 work=$3 n=${4:-650}
root="$(cd "$(dirname "$0")/.." && pwd)"
py="${RATQ_PYTHON:-python3}"
t="$root/scripts/tflite"
build="$(cd "$build" && pwd)" shared="$(cd "$shared" && pwd)"  # absolute: the script runs in WORK
mkdir -p "$work" && cd "$work"
[ -f lite0_31.ratqm ] || "$build/ratq" quantize --model "$build/weights/efficientnet-lite0.ratqw" \
  --calib "$shared/imagenet_trainlike" --calib-images 64 --rescale-bits 31 --rounding tflite -o lite0_31.ratqm >/dev/null
"$py" "$t/pow2_scales.py" lite0_31.ratqm pow2_31.ratqm
"$py" "$t/ratq_tflite.py" export-plain lite0_31.ratqm base.tflite
"$py" "$t/ratq_tflite.py" export-plain pow2_31.ratqm pow2.tflite
for k in 31 8 4 3; do
  for v in base pow2; do
    "$build/ratq" import-tflite --model $v.tflite -o ${v}_k$k.ratqm --rescale-bits $k --rounding tflite
    echo "{\"variant\": \"$v\", \"k\": $k, \"eval\": $("$build/ratq" eval --model ${v}_k$k.ratqm \
      --data "$shared/imagenet_sample" --limit "$n" --threads 2 --json)}"
    if [ $k != 31 ]; then
      "$build/ratq" qmodel-trace --model ${v}_k$k.ratqm --data "$shared/imagenet_sample" --images 32 -o t.trace
      "$py" "$t/kbit_table.py" ${v}_k$k.ratqm t.trace 2>/dev/null
      rm -f t.trace
    fi
  done
done
