#!/usr/bin/env bash
# quickstart.sh — the README's main job on its built-in default: install dependencies, build, and run the CPU
# integer engine on the CMSIS-NN bit-exact vectors, first with their 31-bit multipliers (must match exactly),
# then with every multiplier cut to k = 16, 8, 4, 2, 1 bits (how far k-bit rescaling moves a real layer).
# usage: scripts/quickstart.sh [VECTOR_DIR]   (default: $RATQ_SHARED_DATA/cmsis_nn_vectors or ../shared/data/...)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
vectors="${1:-${RATQ_SHARED_DATA:-$root/../shared/data}/cmsis_nn_vectors}"
if [ ! -d "$vectors" ]; then
  echo "ratq: $vectors: no CMSIS-NN vector directory; pass one: scripts/quickstart.sh DIR" >&2
  exit 2
fi
"$root/scripts/install_deps.sh"
cmake -S "$root" -B "$root/build" >/dev/null
cmake --build "$root/build" -j"$(nproc)" --target ratq >/dev/null
echo "== 31-bit multipliers, TFLite double rounding (must equal CMSIS-NN bit for bit)"
"$root/build/ratq" check-vector "$vectors" --rounding tflite
for k in 16 8 4 2 1; do
  "$root/build/ratq" check-vector "$vectors" --rounding single --rescale-bits "$k" | tail -n 1
done
