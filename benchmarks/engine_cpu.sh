#!/usr/bin/env bash
# engine_cpu.sh — the fast CPU integer engine against its baselines, side by side in one run, ROUNDS interleaved
# rounds (every contender once per round), medians reported (benchmarks/results/engine_cpu.md):
#   1. `ratq eval` end to end (data loading included) on the integer EfficientNet-Lite0: --engine fast vs --engine ref
#   2. forward only, same images, 2 threads: the fast engine (bench_engine) vs PyTorch fp32 eager vs LiteRT int8
#      (XNNPACK) on the `ratq export-tflite` export of the same integer model (k = 31, tflite rounding: LiteRT's
#      arithmetic); the LiteRT row is "pending" when `ratq export-tflite` or ai-edge-litert is missing.
# usage: benchmarks/engine_cpu.sh BUILD_DIR [ROUNDS]   (needs BUILD_DIR/weights/efficientnet-lite0.ratqw, ../shared)
set -euo pipefail
BUILD=${1:?usage: engine_cpu.sh BUILD_DIR [ROUNDS]}
ROUNDS=${2:-3}
SRC=$(cd "$(dirname "$0")/.." && pwd)
DATA=${RATQ_SHARED_DATA:-$SRC/../shared/data}
RATQ=$BUILD/ratq
WORK=$BUILD/engine_cpu
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
N_FAST=${N_FAST:-256}  # images for `ratq eval --engine fast`
N_REF=${N_REF:-32}     # images for `ratq eval --engine ref` (about 3 images/s)
N_FWD=${N_FWD:-64}     # images for the forward-only rows
mkdir -p "$WORK"
for m in "k8 8 single" "k31 31 tflite"; do
  set -- $m
  [ -f "$WORK/lite0_$1.ratqm" ] || "$RATQ" quantize --model "$BUILD/weights/efficientnet-lite0.ratqw" \
    --calib "$DATA/imagenet_trainlike" --calib-images 64 --rescale-bits "$2" --rounding "$3" -o "$WORK/lite0_$1.ratqm" >&2
done
TFLITE=""
if "$RATQ" export-tflite --help >/dev/null 2>&1 && python3 -c "import ai_edge_litert" 2>/dev/null; then
  [ -f "$WORK/lite0_k31.tflite" ] || "$RATQ" export-tflite --model "$WORK/lite0_k31.ratqm" -o "$WORK/lite0_k31.tflite" >&2
  TFLITE=$WORK/lite0_k31.tflite
elif [ -n "${RATQ_TFLITE:-}" ]; then
  TFLITE=$RATQ_TFLITE # a .tflite exported from $WORK/lite0_k31.ratqm by another build's `ratq export-tflite`
fi
NPZ=$DATA/imagenet_sample/val_part0.npz
LOG=$WORK/log.jsonl
: > "$LOG"
rate() { python3 -c 'import json,sys; print(json.loads(sys.stdin.readlines()[-1])["images_per_s"])'; }
for r in $(seq "$ROUNDS"); do
  echo "round $r/$ROUNDS" >&2
  for e in ref fast; do
    n=$([ $e = ref ] && echo "$N_REF" || echo "$N_FAST")
    v=$("$RATQ" eval --model "$WORK/lite0_k8.ratqm" --data "$DATA/imagenet_sample" --limit "$n" --engine $e --json | rate)
    echo "{\"row\":\"eval_$e\",\"round\":$r,\"images_per_s\":$v}" >> "$LOG"
  done
  for m in k8 k31; do
    v=$("$BUILD/benchmarks/bench_engine" --model "$WORK/lite0_$m.ratqm" --data "$DATA/imagenet_sample" --images "$N_FWD" --iters 1 | rate)
    echo "{\"row\":\"fwd_fast_$m\",\"round\":$r,\"images_per_s\":$v}" >> "$LOG"
  done
  v=$(python3 "$SRC/benchmarks/engine_cpu_baselines.py" torch "$NPZ" --images "$N_FWD" --iters 1 | rate)
  echo "{\"row\":\"fwd_torch\",\"round\":$r,\"images_per_s\":$v}" >> "$LOG"
  if [ -n "$TFLITE" ]; then
    v=$(python3 "$SRC/benchmarks/engine_cpu_baselines.py" litert "$NPZ" --tflite "$TFLITE" --images "$N_FWD" --iters 1 2>/dev/null | rate)
    echo "{\"row\":\"fwd_litert\",\"round\":$r,\"images_per_s\":$v}" >> "$LOG"
  fi
done
python3 - "$LOG" "$TFLITE" <<'PY'
import json, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    o = json.loads(line)
    rows.setdefault(o["row"], []).append(o["images_per_s"])
med = {k: statistics.median(v) for k, v in rows.items()}
def show(k): return f"{med[k]:.2f} (runs: {', '.join(f'{x:.2f}' for x in rows[k])})" if k in med else "pending"
print("| row | images/s, median (runs) |\n| --- | ---: |")
for k in ["eval_ref", "eval_fast", "fwd_fast_k8", "fwd_fast_k31", "fwd_torch", "fwd_litert"]:
    print(f"| {k} | {show(k)} |")
def ratio(a, b): return f"{med[a] / med[b]:.2f}x" if a in med and b in med else "pending"
print()
print(f"ratq eval fast / ref (target >= 10x): {ratio('eval_fast', 'eval_ref')}")
print(f"forward fast (k=8 single) / PyTorch fp32 eager (target >= 1x): {ratio('fwd_fast_k8', 'fwd_torch')}")
print(f"forward fast (k=31 tflite) / LiteRT XNNPACK int8 (target >= 0.5x): {ratio('fwd_fast_k31', 'fwd_litert')}")
PY
