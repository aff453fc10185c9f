#!/usr/bin/env bash
# test.sh — the README's test command: install dependencies, build (CUDA too when nvcc exists, warnings are
# errors), run every CPU test (CTest label `cpu`). GPU tests (label `gpu`) are run by scripts/gpu_check.sh.
# usage: scripts/test.sh [build-dir]     (extra ctest arguments via RATQ_CTEST_ARGS)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build}"
"$root/scripts/install_deps.sh"
cmake -S "$root" -B "$build" -DRATQ_WERROR=ON >/dev/null
cmake --build "$build" -j"$(nproc)"
ctest --test-dir "$build" -L cpu --output-on-failure ${RATQ_CTEST_ARGS:-}
