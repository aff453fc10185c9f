#!/usr/bin/env bash
# tflite_kbit.sh — k-bit EfficientNet-Lite0 in stock LiteRT (benchmarks/results/tflite_kbit.md): for k = 8, 4, 3,
# without and with scale snapping, quantize (tflite rounding, calibration on 64 imagenet_trainlike images),
# export, count the multipliers LiteRT recomputes exactly, and run LiteRT's reference kernels against ratq's
# engine on the first N imagenet_sample images (scripts/tflite/kbit_table.py). One JSON line per model.
# usage: benchmarks/tflite_kbit.sh BUILD_DIR SHARED_DATA WORK [N]
set -euo pipefail
build=$1 shared=$2 work=$3 n=${4:-32}
root="$(cd "$(dirname "$0")/.." && pwd)"
py="${RATQ_PYTHON:-python3}"
build="$(cd "$build" && pwd)" shared="$(cd "$shared" && pwd)"  # absolute: the script runs in WORK
mkdir -p "$work" && cd "$work"
for k in 8 4 3; do
  for snap in "" --snap-scales; do
    name=lite0_k$k${snap:+_snap}
    "$build/ratq" quantize --model "$build/weights/efficientnet-lite0.ratqw" --calib "$shared/imagenet_trainlike" \
      --calib-images 64 --rescale-bits $k --rounding tflite $snap -o $name.ratqm >/dev/null
    "$build/ratq" qmodel-trace --model $name.ratqm --data "$shared/imagenet_sample" --images "$n" -o $name.trace
    "$py" "$root/scripts/tflite/kbit_table.py" $name.ratqm $name.trace --json $name.json 2>/dev/null
    rm -f $name.trace
  done
done
