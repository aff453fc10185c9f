#!/usr/bin/env bash
# install_deps.sh — install what ratq needs from Debian's packages (idempotent; skips what is present).
# Build: cmake, gcc, cJSON, OpenBLAS, libjpeg-turbo, zlib. Hardware model: yosys, iverilog, opensta.
# Distributed: Open MPI. Main job data: dataset-fashion-mnist. Plots of the quickstart report: python3-matplotlib.
# TFLite interop: ai-edge-litert, flatbuffers (PyPI, scripts/tflite/python.sh). Fuzzing (scripts/fuzz.sh): clang
# with libFuzzer (libclang-rt-14-dev). CUDA (nvcc, cuDNN, NCCL) is optional and not
# installed here: CMake builds the CUDA backend when it finds nvcc.
set -euo pipefail
pkgs=(cmake make gcc g++ pkg-config libcjson-dev libopenblas-dev libturbojpeg0-dev zlib1g-dev
      yosys iverilog opensta libopenmpi-dev openmpi-bin dataset-fashion-mnist python3 python3-matplotlib
      clang libclang-rt-14-dev)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "ratq: installing ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# LiteRT and the TFLite schema (PyPI) for export-tflite / import-tflite and the LiteRT judge tests.
"$(dirname "$0")/tflite/python.sh" >/dev/null
