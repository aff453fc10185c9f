#!/usr/bin/env python3
# pow2_scales.py — the power-of-two activation scale option, as a measurement (benchmarks/tflite_pow2.sh): every
# activation scale of an EfficientNet-Lite model rounded UP to a power of two, S' = 2^ceil(log2 S) (the real range
# only grows, nothing new clips), so every ratio S_y / S_x is a power of two and LiteRT's recomputed multipliers
# can equal any k-bit (m, s) exactly. Zero points keep the real lower end: z' = clamp(round(-128 - lo / S'));
# ReLU6 ops (stem, expand, depthwise, head) get TFLite's ReLU6 clamp for S', z'; biases keep their real value:
# q_b' = round(q_b S_x / S_x'). Weights and weight scales are unchanged. The rescalers are left (0, 0): the
# driver derives them in C (`ratq import-tflite --rescale-bits K` of the plain export).
# usage: pow2_scales.py IN.ratqm OUT.ratqm
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import litert_math as lm  # noqa: E402
import ratqm  # noqa: E402

RELU6 = ("_conv_stem", "_expand_conv", "_depthwise_conv", "_conv_head")


def main(src, dst):
    m = ratqm.load(src)
    scale = {-1: (m.input_scale, m.input_scale)}  # producer -> (old, new)
    for i, op in enumerate(m.ops):
        new = 2.0 ** math.ceil(math.log2(op.s_y))
        lo = op.s_y * (-128 - op.z_y)
        z = int(min(127, max(-128, math.floor(-128 - lo / new + 0.5))))
        old_x, new_x = scale[op.inp]
        if op.kind in ratqm.HAS_WEIGHTS:
            op.bias = np.clip(np.floor(op.bias.astype(np.float64) * old_x / new_x + 0.5), -2**31, 2**31 - 1).astype(np.int32)
        op.s_x = new_x
        if op.kind == ratqm.ADD:
            op.s_x2 = scale[op.in2][1]
        if op.kind == ratqm.AVGPOOL:
            new, z = new_x, op.z_x
        op.z_x = m.ops[op.inp].z_y if op.inp >= 0 else m.input_zero_point
        if op.kind == ratqm.ADD:
            op.z_x2 = m.ops[op.in2].z_y if op.in2 >= 0 else m.input_zero_point
        scale[i] = (op.s_y, new)
        op.s_y, op.z_y = new, z
        relu6 = op.name.endswith(RELU6)
        op.act_min, op.act_max = (max(-128, z), lm.relu6_max(new, z)) if relu6 else (-128, 127)
        op.rescale = np.zeros((ratqm.n_rescale(op), 2), np.int32)
    m.k, m.rounding = 31, 0
    with open(dst, "wb") as f:
        f.write(ratqm.dumps(m))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
