#!/usr/bin/env bash
# python_with_numpy.sh — print the path of a Python 3 that can import numpy (the weight converter and the
# dataset packer need it), installing numpy from PyPI or Debian's python3-numpy if none can.
set -euo pipefail
for py in python3 /usr/bin/python3; do
  command -v "$py" >/dev/null 2>&1 && "$py" -c "import numpy" 2>/dev/null && { command -v "$py"; exit 0; }
done
if command -v python3 >/dev/null 2>&1 && python3 -m pip install --quiet numpy >&2 2>/dev/null &&
   python3 -c "import numpy" 2>/dev/null; then
  command -v python3; exit 0
fi
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends python3-numpy python3-pip >&2
/usr/bin/python3 -c "import numpy" && echo /usr/bin/python3
