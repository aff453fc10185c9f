#!/usr/bin/env python3
# bench_litert.py — LiteRT's speed on an exported int8 model: images/s with the XNNPACK delegate (default
# resolver) and T threads, batch 1 (one invoke per image), on the first N images of an .npz with "images"
# [N][H][W][C] u8. The u8 -> int8 rule of the model's input quantization is ratq's (scale 1/128, zero point -1:
# q = u8 - 128). One warm-up invoke is not timed. Prints one JSON line {images, seconds, images_per_s, top1}.
# usage: bench_litert.py MODEL.tflite DATA.npz [--images N] [--threads T]
import argparse
import json
import sys
import time

import numpy as np
from ai_edge_litert import interpreter as litert


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("npz")
    ap.add_argument("--images", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    z = np.load(a.npz)
    img, lab = z["images"][:a.images], z["labels"][:a.images]
    it = litert.Interpreter(model_path=a.model, num_threads=a.threads)
    it.allocate_tensors()
    d = it.get_input_details()[0]
    s, zp = d["quantization"]
    if (s, zp) != (1.0 / 128, -1):
        sys.exit(f"ratq: {a.model}: input quantization {s}, {zp} is not ratq's (1/128, -1)")
    out = it.get_output_details()[0]["index"]
    q = (img.astype(np.int16) - 128).astype(np.int8)
    it.set_tensor(d["index"], q[:1])
    it.invoke()
    ok, t0 = 0, time.perf_counter()
    for n in range(len(q)):
        it.set_tensor(d["index"], q[n:n + 1])
        it.invoke()
        ok += int(np.argmax(it.get_tensor(out)[0]) == lab[n])
    dt = time.perf_counter() - t0
    print(json.dumps({"images": len(q), "seconds": dt, "images_per_s": len(q) / dt, "top1": ok / len(q),
                      "threads": a.threads}))


if __name__ == "__main__":
    main()
