#!/usr/bin/env python3
# kbit_table.py — k-bit ratq models in stock LiteRT (benchmarks/results/tflite_kbit.md).
# LiteRT recomputes each multiplier from the float32 scales (litert_math.py); export.py writes the weight scales
# whose recomputed 31-bit multiplier equals ratq's k-bit (m, s) wherever a float32 can. For each model this
# prints the multipliers LiteRT recomputes exactly per op kind (MEAN: its truncated multiplier, reduce.h), and runs the exported model with LiteRT's reference kernels on the images of a ratq trace (same rounding
# as the model): outputs identical to ratq's engine per op kind, logits identical, top-1 agreement, and top-1
# accuracy of both against the labels.
# usage: kbit_table.py MODEL.ratqm TRACE [--json OUT]
import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import export  # noqa: E402
import judge  # noqa: E402
import ratqm  # noqa: E402


def exact_counts(m, path):
    model, stats = export.build(m, path)
    res = {}
    for st in stats:
        a = res.setdefault(st["kind"], {"multipliers": 0, "exact": 0})
        a["multipliers"] += st["multipliers"]
        a["exact"] += st["exact"]
    return res, export.serialize(model)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("trace")
    ap.add_argument("--json")
    a = ap.parse_args()
    m = ratqm.load(a.model)
    counts, content = exact_counts(m, a.model)
    labels, x, acts = judge.read_trace(a.trace, m)
    g, top1, leq = judge.graph(m, content, x, acts, "ref")
    it = judge.interpreter(content, "ref")  # LiteRT's own accuracy: argmax of its logits vs the labels
    it.allocate_tensors()
    inp, out = it.get_input_details()[0], it.get_output_details()[0]["index"]
    lit_ok = ratq_ok = 0
    for n in range(x.shape[0]):
        it.set_tensor(inp["index"], np.asarray(x[n]).reshape(inp["shape"]))
        it.invoke()
        lit_ok += int(np.argmax(it.get_tensor(out).reshape(-1)) == labels[n])
        ratq_ok += int(np.argmax(np.asarray(acts[-1][n])) == labels[n])
    per_kind = {}
    for i, op in enumerate(m.ops):
        t = g[i].as_dict()
        k = per_kind.setdefault(ratqm.KIND_NAMES[op.kind], {"outputs": 0, "differ": 0, "max_abs_diff": 0})
        k["outputs"] += t["outputs"]
        k["differ"] += t["differ"]
        k["max_abs_diff"] = max(k["max_abs_diff"], t["max_abs_diff"])
    r = {"model": a.model, "k": m.k, "rounding": ratqm.ROUNDING_NAMES[m.rounding], "images": int(x.shape[0]),
         "exact_multipliers": counts, "graph_outputs": per_kind, "logits_identical": leq, "top1_agree": top1,
         "top1_litert": lit_ok, "top1_ratq": ratq_ok, "litert_version": judge.litert_version()}
    print(json.dumps(r))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(r, f, indent=1)


if __name__ == "__main__":
    main()
