#!/usr/bin/env bash
# gpu_rehearsal.sh — CTest driver of `scripts/gpu_check.sh --rehearse` (tests/gpu_rehearsal.cmake, label cpu): makes
# a pack with the CURRENT scripts/gpu_pack.sh in WORK/pack (apt-get download from Debian, cached; the shared data
# subsets; the Lite0 weights), then rehearses the device's configure + build + data checks on it in WORK/build, with
# the system's own -dev packages hidden from CMake. So a dependency missing from the pack fails here, not on the GPU.
# Without the shared data or the weights: exit 77 with one line, or a failure when RATQ_REQUIRE_SHARED=1.
# usage: gpu_rehearsal.sh ROOT WORK WEIGHTS SHARED_DATA
set -uo pipefail
root=$1 work=$2 weights=$3 shared=$4
need() {
  [ "${RATQ_REQUIRE_SHARED:-0}" = 1 ] && { echo "gpu_rehearsal: FAIL: $* (RATQ_REQUIRE_SHARED=1)"; exit 1; }
  echo "gpu_rehearsal: skipped: $*"
  exit 77
}
[ -d "$shared/imagenet_sample" ] || need "no shared data at $shared"
[ -s "$weights" ] || need "no Lite0 weights at $weights (scripts/test.sh converts them)"
RATQ_SHARED_DATA="$shared" RATQ_LITE0_WEIGHTS="$weights" "$root/scripts/gpu_pack.sh" "$work/pack" || exit 1
exec "$root/scripts/gpu_check.sh" --rehearse --pack "$work/pack" --build "$work/build"
