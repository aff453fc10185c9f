#!/usr/bin/env bash
# tflite_speed.sh — LiteRT (XNNPACK, 2 threads, batch 1) beside `ratq eval` (CPU integer engine, 2 threads) on the
# same int8 EfficientNet-Lite0 (.ratqm and its export), the same N imagenet_sample images, in one run, alternating
# R times (benchmarks/results/tflite_speed.md). Prints one JSON line per measurement.
# usage: benchmarks/tflite_speed.sh BUILD_DIR SHARED_DATA WORK [N] [R]
set -euo pipefail
build=$1 shared=$2 work=$3 n=${4:-64} reps=${5:-3}
root="$(cd "$(dirname "$0")/.." && pwd)"
py="${RATQ_PYTHON:-python3}"
build="$(cd "$build" && pwd)" shared="$(cd "$shared" && pwd)"  # absolute: the script runs in WORK
mkdir -p "$work" && cd "$work"
[ -f lite0.ratqm ] || "$build/ratq" quantize --model "$build/weights/efficientnet-lite0.ratqw" \
  --calib "$shared/imagenet_trainlike" --calib-images 64 --rescale-bits 31 --rounding tflite -o lite0.ratqm >/dev/null
"$build/ratq" export-tflite --model lite0.ratqm -o lite0.tflite
for r in $(seq "$reps"); do
  for b in 1 32; do
    echo "{\"run\": \"ratq eval batch $b\", \"rep\": $r, \"result\": $("$build/ratq" eval --model lite0.ratqm \
      --data "$shared/imagenet_sample/val_part0.npz" --limit "$n" --batch $b --threads 2 --json)}"
  done
  echo "{\"run\": \"litert xnnpack batch 1\", \"rep\": $r, \"result\": $("$py" "$root/scripts/tflite/bench_litert.py" \
    lite0.tflite "$shared/imagenet_sample/val_part0.npz" --images "$n" --threads 2 2>/dev/null)}"
done
