#!/usr/bin/env bash
# python.sh — print the path of a Python 3 that can import LiteRT and the TFLite schema (scripts/tflite/
# requirements.txt), installing them from PyPI into that Python if missing. Used by scripts/install_deps.sh
# and the CTest fixtures; `ratq export-tflite / import-tflite` take it from $RATQ_PYTHON (default python3).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
check='import numpy, flatbuffers; from ai_edge_litert import schema_py_generated, interpreter'
for py in "${RATQ_PYTHON:-}" python3 /usr/bin/python3; do
  [ -n "$py" ] && command -v "$py" >/dev/null 2>&1 && "$py" -c "$check" 2>/dev/null && { command -v "$py"; exit 0; }
done
py="$(command -v python3)"
"$py" -m pip install --quiet -r "$here/requirements.txt" >&2 || "$py" -m pip install --quiet --break-system-packages -r "$here/requirements.txt" >&2
"$py" -c "$check" && echo "$py"
