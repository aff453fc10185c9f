#!/usr/bin/env python3
"""make_data_golden.py — golden outputs of the data transforms, computed with Pillow, for test_data_transform.

The inputs are read from ../shared/data at test time too (never copied here); this file stores only the small
outputs. Each case follows torchvision's Resize(short side) + CenterCrop on a PIL image, written out with plain
Pillow so torchvision is not needed:
  new_short = R, new_long = int(R * long / short); img.resize((w, h), Image.BILINEAR)
  top = round((h - out) / 2), left = round((w - out) / 2)   (Python round: ties to even); crop
Usage: python3 scripts/make_data_golden.py [--shared ../shared/data] [-o tests/golden/data_transform.npz]
"""
import argparse
import json
import os
import platform

import numpy as np
import PIL
from PIL import Image


def eval_transform(arr, out, resize_to):
    img = Image.fromarray(arr)
    w, h = img.size
    if w <= h:
        nw, nh = resize_to, int(resize_to * h / w)
    else:
        nh, nw = resize_to, int(resize_to * w / h)
    img = img.resize((nw, nh), Image.BILINEAR)
    top, left = int(round((nh - out) / 2.0)), int(round((nw - out) / 2.0))
    return np.asarray(img.crop((left, top, left + out, top + out)))


def main():
    ap = argparse.ArgumentParser()
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--shared", default=os.path.join(here, "..", "..", "shared", "data"))
    ap.add_argument("-o", "--out", default=os.path.join(here, "..", "tests", "golden", "data_transform.npz"))
    a = ap.parse_args()
    cifar = np.load(os.path.join(a.shared, "cifar10", "test.npz"))["images"]
    inet = np.load(os.path.join(a.shared, "imagenet_sample", "val_part0.npz"))["images"]
    g = {}
    # CIFAR 32x32: downscale 32 -> 28 (antialiased triangle), crop 24; upscale 32 -> 56, crop 48.
    g["cifar_eval24"] = np.stack([eval_transform(cifar[i], 24, 28) for i in range(4)])
    g["cifar_eval48"] = np.stack([eval_transform(cifar[i], 48, 56) for i in range(4)])
    # Rectangular source (rows 10..209, cols 0..149 = 200 high x 150 wide): 150 -> 64, 200 -> int(64*200/150) = 85,
    # crop top = round(14.5) = 14 (tie to even), left = 4.
    g["inet_rect_eval56"] = np.stack([eval_transform(np.ascontiguousarray(inet[i, 10:210, 0:150]), 56, 64)
                                      for i in range(2)])
    # Plain resizes with unequal scales: 224x224 -> 37 high x 53 wide; 101x77 window -> 60 high x 45 wide.
    g["inet_resize_37x53"] = np.asarray(Image.fromarray(inet[2]).resize((53, 37), Image.BILINEAR))
    g["inet_resize_60x45"] = np.asarray(Image.fromarray(np.ascontiguousarray(inet[3, 0:101, 0:77]))
                                        .resize((45, 60), Image.BILINEAR))
    # Grayscale: Pillow convert('L') of the eval24 outputs.
    g["cifar_eval24_gray"] = np.stack([np.asarray(Image.fromarray(x).convert("L")) for x in g["cifar_eval24"]])
    stamp = {"generator": "scripts/make_data_golden.py", "pillow": PIL.__version__, "numpy": np.__version__,
             "python": platform.python_version(), "seed": None,
             "inputs": "shared/data/cifar10/test.npz images[0:4]; shared/data/imagenet_sample/val_part0.npz images[0:4]"}
    g["stamp"] = np.frombuffer(json.dumps(stamp).encode(), dtype=np.uint8)
    tmp = a.out + ".tmp.npz"
    np.savez_compressed(tmp, **g)
    os.replace(tmp, a.out)
    print(a.out, {k: v.shape for k, v in g.items()})


if __name__ == "__main__":
    main()
