#!/usr/bin/env bash
# gpu_check.sh — everything that needs a GPU, in one call on the lent GPU machine (see .library device docs):
# configure + build with CUDA, run `ctest -L gpu` (fails if any GPU test is skipped: there must be a device),
# run the kernel benchmarks, print a short table last. Target: under 8 minutes.
# Hints for libraries outside the CUDA toolkit: CUDNN_ROOT / NCCL_ROOT (e.g. the nvidia/ folders of PyTorch).
# Data: ../shared does not travel to the GPU machine. Copy what the GPU tests read (the lite0 weights .ratqw,
# data/imagenet_sample, data/cifar10/test.npz) into a folder ignored by .git/info/exclude, `carry` it, and point
# RATQ_SHARED_DIR (folder holding data/) and RATQ_LITE0_WEIGHTS (the .ratqw file) at it.
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${RATQ_GPU_BUILD:-$root/build-gpu}"
out="${OUT:-$build}"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
cmake -S "$root" -B "$build" -DRATQ_CUDA=ON -DCMAKE_BUILD_TYPE=Release ${CUDNN_ROOT:+-DCUDNN_ROOT=$CUDNN_ROOT} \
      ${NCCL_ROOT:+-DNCCL_ROOT=$NCCL_ROOT} ${RATQ_SHARED_DIR:+-DRATQ_SHARED_DIR=$RATQ_SHARED_DIR} \
      ${RATQ_LITE0_WEIGHTS:+-DRATQ_LITE0_WEIGHTS=$RATQ_LITE0_WEIGHTS} 2>&1 | grep 'ratq:'
cmake --build "$build" -j"$(nproc)" 2>&1 | tail -n 3
ctest --test-dir "$build" -L gpu --output-on-failure 2>&1 | tee "$out/ctest_gpu.log"
rc=${PIPESTATUS[0]}
if grep -q "Skipped" "$out/ctest_gpu.log"; then echo "gpu_check: some GPU tests were skipped"; rc=1; fi
for b in "$build"/benchmarks/bench_*; do
  [ -x "$b" ] && { echo "== $(basename "$b")"; "$b" | tee "$out/$(basename "$b").md"; }
done
echo "gpu_check: ctest exit $rc"
exit $rc
