#!/usr/bin/env bash
# quickstart.sh — the README's main job on its built-in default: install dependencies (Debian packages, incl.
# dataset-fashion-mnist), build, and run `ratq run`: a small EfficientNet-Lite-style network trained from scratch on
# Fashion-MNIST, int8 with 32-bit rescalers (post-training and quantization-aware training), the post-training k
# sweep, Rescale-Aware Training at k = 4 and 3 (with and without scale snapping), the integer model and its standalone
# C export, and the hardware table (Liberty library when found or given with --liberty FILE, else the library-free
# yosys proxy). Output: OUT_DIR/report.md (+ PNG plots when matplotlib is installed).
# usage: scripts/quickstart.sh [OUT_DIR] [ratq run options...]      (default OUT_DIR: ratq-run)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-ratq-run}"
shift || true
"$root/scripts/install_deps.sh"
cmake -S "$root" -B "$root/build" >/dev/null
cmake --build "$root/build" -j"$(nproc)" --target ratq >/dev/null
exec "$root/build/ratq" run -o "$out" "$@"
