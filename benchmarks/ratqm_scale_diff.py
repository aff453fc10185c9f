#!/usr/bin/env python3
# ratqm_scale_diff.py — the channels where two .ratqm files of the same network (same calibration) differ in
# weight scale S_w (benchmarks/results/rat_lite0.md: the bias-fit rule of ratq_weight_scale_bias_fit, A against
# B). Per channel: layer, S_w, max |q_w|, q_b, (m, s), and the channel's output when its weights contribute
# nothing, y0 = clamp(round(q_b m 2^-s) + z_y, act_min, act_max) (acc = q_b, in real arithmetic: a dead channel's
# constant output). One line per channel, then a JSON summary.
# usage: ratqm_scale_diff.py A.ratqm B.ratqm
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts", "tflite"))
import ratqm  # noqa: E402


def channel_weights(op, c):
    s, w = op.shape, op.weights
    if op.kind == ratqm.DWCONV:  # [kh][kw][c]
        return w.reshape(-1, s["out_c"])[:, c]
    return w.reshape(s["out_c"], -1)[c]  # CONV / FC: [oc][...]


def y0(op, c):
    m, s = int(op.rescale[c][0]), int(op.rescale[c][1])
    v = round(float(op.bias[c]) * m * 2.0 ** -s) + op.z_y
    return int(min(op.act_max, max(op.act_min, v)))


def main(a_path, b_path):
    a, b = ratqm.load(a_path), ratqm.load(b_path)
    if len(a.ops) != len(b.ops):
        sys.exit("ratq: different networks")
    rows, layers = [], {}
    for i, (oa, ob) in enumerate(zip(a.ops, b.ops)):
        if oa.kind not in ratqm.HAS_WEIGHTS:
            continue
        if not (oa.s_x == ob.s_x and oa.s_y == ob.s_y):
            sys.exit(f"ratq: op {i} {oa.name}: activation scales differ (not the same calibration)")
        for c in np.nonzero(oa.s_w != ob.s_w)[0]:
            c = int(c)
            r = {"op": i, "name": oa.name, "channel": c,
                 "s_w": [float(oa.s_w[c]), float(ob.s_w[c])],
                 "max_abs_q_w": [int(np.abs(channel_weights(o, c).astype(np.int32)).max()) for o in (oa, ob)],
                 "q_b": [int(oa.bias[c]), int(ob.bias[c])],
                 "rescale": [[int(x) for x in oa.rescale[c]], [int(x) for x in ob.rescale[c]]],
                 "y0": [y0(oa, c), y0(ob, c)], "act_range": [oa.act_min, oa.act_max]}
            rows.append(r)
            layers[oa.name] = layers.get(oa.name, 0) + 1
            print(json.dumps(r))
    print(json.dumps({"channels": len(rows), "layers": layers,
                      "q_b_saturated_in_a": sum(abs(r["q_b"][0]) >= 2**31 - 1 for r in rows),
                      "y0_differs": sum(r["y0"][0] != r["y0"][1] for r in rows)}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
