#!/usr/bin/env python3
"""make_corpus.py — writes the text / numpy seed inputs of tests/fuzz/corpus/ (run once by hand after make_corpus.c,
whose JPEGs it packs into the JPEG-bytes .npz; the output is committed):

    python3 tests/fuzz/make_corpus.py tests/fuzz/corpus

npz/   decoded RGB (stored), decoded gray [N,H,W] (deflated), JPEG bytes + offsets (the shared-data forms)
idx/   u32 LE length of the images file, the images file, the labels file (fuzz_idx.c): plain and gzip
cmsis/ small cmsis_nn_vector/v1 cases (conv per channel, depthwise, fully connected) with made-up values
"""
import gzip
import io
import json
import os
import struct
import sys

import numpy as np


def npz_seeds(d, jpeg_dir):
    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(1)
    np.savez(os.path.join(d, "rgb_stored.npz"), images=rng.integers(0, 256, (3, 4, 4, 3), dtype=np.uint8),
             labels=np.array([0, 2, 1], dtype=np.int64))
    np.savez_compressed(os.path.join(d, "gray_deflated.npz"), images=rng.integers(0, 256, (2, 5, 3), dtype=np.uint8),
                        labels=np.array([1, 0], dtype=np.int64))
    blobs = [open(os.path.join(jpeg_dir, f), "rb").read() for f in sorted(os.listdir(jpeg_dir))]
    offsets = np.cumsum([0] + [len(b) for b in blobs]).astype(np.int64)
    np.savez(os.path.join(d, "jpeg_bytes.npz"), jpeg_bytes=np.frombuffer(b"".join(blobs), dtype=np.uint8),
             offsets=offsets, labels=np.arange(len(blobs), dtype=np.int64))


def idx_seeds(d):
    os.makedirs(d, exist_ok=True)
    images = struct.pack(">IIII", 0x803, 2, 4, 4) + bytes(range(0, 64, 2))
    labels = struct.pack(">II", 0x801, 2) + bytes([3, 9])
    open(os.path.join(d, "plain_2x4x4"), "wb").write(struct.pack("<I", len(images)) + images + labels)
    gi, gl = gzip.compress(images, mtime=0), gzip.compress(labels, mtime=0)
    open(os.path.join(d, "gzip_2x4x4"), "wb").write(struct.pack("<I", len(gi)) + gi + gl)


def vec(name, kernel, per_channel, in_shape, out_shape, w_shape, geom, n_mult, seed):
    rng = np.random.default_rng(seed)
    n = lambda s: int(np.prod(s))
    v = {"format": "cmsis_nn_vector/v1", "name": name, "kernel": kernel, "input_offset": 128, "output_offset": -3,
         "filter_offset": 0, "activation_min": -128, "activation_max": 127, "per_channel": per_channel,
         "input_shape": in_shape, "output_shape": out_shape, "weights_shape": w_shape}
    v.update(geom)
    v["input"] = rng.integers(-128, 128, n(in_shape)).tolist()
    v["weights"] = rng.integers(-127, 128, n(w_shape)).tolist()
    v["bias"] = rng.integers(-5000, 5000, out_shape[-1]).tolist()
    v["output_multiplier"] = rng.integers(1 << 30, 1 << 31, n_mult).tolist()
    v["output_shift"] = rng.integers(-10, 1, n_mult).tolist()
    v["expected_output"] = [0] * n(out_shape)
    v["verification"] = {"single_rounding_matches": True}
    return v


def cmsis_seeds(d):
    os.makedirs(d, exist_ok=True)
    win = lambda k, s, p: {"kernel_h": k, "kernel_w": k, "stride_h": s, "stride_w": s, "dilation_h": 1, "dilation_w": 1,
                           "pad_top": p, "pad_left": p, "pad_bottom": p, "pad_right": p}
    seeds = {
        "conv_per_channel.json": vec("conv", "conv", True, [1, 4, 4, 2], [1, 2, 2, 3], [3, 2, 2, 2],
                                     dict(win(2, 2, 0), groups=1), 3, 1),
        "depthwise.json": vec("dw", "depthwise_conv", True, [1, 3, 3, 2], [1, 3, 3, 4], [1, 3, 3, 4],
                              dict(win(3, 1, 1), depth_multiplier=2), 4, 2),
        "fully_connected.json": vec("fc", "fully_connected", False, [2, 5], [2, 3], [3, 5],
                                    {"accumulation_depth": 5}, 1, 3),
    }
    for f, v in seeds.items():
        open(os.path.join(d, f), "w").write(json.dumps(v))


if __name__ == "__main__":
    root = sys.argv[1]
    npz_seeds(os.path.join(root, "npz"), os.path.join(root, "jpeg"))
    idx_seeds(os.path.join(root, "idx"))
    cmsis_seeds(os.path.join(root, "cmsis"))
    print("corpus written to", root)
