#!/usr/bin/env python3
# judge.py — LiteRT as the judge of a ratq integer model: run the exported .tflite with LiteRT's own interpreter
# on the network inputs of a ratq trace (`ratq qmodel-trace`) and compare every op's int8 output with ratq's CPU
# engine.
#
#   isolated   each op alone (a one-op model built by export.build(ops=[i]), its inputs = ratq's inputs of that
#              op): the op's rounding behaviour with identical inputs, op by op.
#   graph      the whole model, all intermediates kept (experimental_preserve_all_tensors): per-op agreement
#              (differences propagate) and top-1 agreement of the logits.
# Runtimes: "ref" = OpResolverType.BUILTIN_REF (LiteRT's reference kernels), "xnnpack" = the default resolver with
# the XNNPACK delegate (2 threads). Each runtime is compared with one trace per ratq rounding mode given.
#
# usage: judge.py --model M.ratqm --tflite M.tflite --trace MODE=TRACE [--trace MODE=TRACE ...]
#                 [--runtime ref|xnnpack ...] [--json OUT.json] [--check]
# --check exits 1 unless, for ref vs the tflite trace, every CONV / DWCONV / ADD / AVGPOOL output is identical
# (isolated and graph) and every FC / MEAN output differs by at most 1; xnnpack vs the single trace: at most 1.
import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import export  # noqa: E402
import ratqm  # noqa: E402
from ai_edge_litert import interpreter as litert  # noqa: E402

EXACT_KINDS = ("conv", "dwconv", "add", "avgpool")


def read_trace(path, m):
    with open(path, "rb") as f:
        head = f.read(20)
        if head[:8] != b"RATQTRC1":
            raise SystemExit(f"ratq: {path}: magic: not a ratq trace")
        n, n_ops, in_count = np.frombuffer(head[8:], "<i4")
        outs = np.frombuffer(f.read(4 * n_ops), "<i4")
    if n_ops != len(m.ops) or any(int(outs[i]) != m.ops[i].out_count() for i in range(n_ops)):
        raise SystemExit(f"ratq: {path}: n_ops: the trace is not of this model")
    rec = 4 + int(in_count) + int(outs.sum())
    raw = np.memmap(path, np.int8, "r", offset=20 + 4 * int(n_ops), shape=(int(n), rec))
    labels = raw[:, :4].view("<i4")[:, 0].copy()
    x = raw[:, 4:4 + in_count]
    acts, at = [], 4 + int(in_count)
    for c in outs:
        acts.append(raw[:, at:at + int(c)])
        at += int(c)
    return labels, x, acts


def interpreter(content, runtime):
    if runtime == "ref":
        return litert.Interpreter(model_content=content, experimental_preserve_all_tensors=True,
                                  experimental_op_resolver_type=litert.OpResolverType.BUILTIN_REF)
    return litert.Interpreter(model_content=content, num_threads=2)


def delegated(it):
    """True when the XNNPACK delegate took every node: one DELEGATE node producing the graph's outputs (the op
    list keeps the replaced nodes too; a node left to LiteRT's kernels splits the delegated partition)."""
    dn = [d for d in it._get_ops_details() if d["op_name"] == "DELEGATE"]
    return len(dn) == 1 and sorted(dn[0]["outputs"]) == sorted(d["index"] for d in it.get_output_details())


class Tally:
    def __init__(self):
        self.count = self.differ = self.maxdiff = 0
        self.hist = {}

    def add(self, a, b):
        d = np.abs(a.astype(np.int32) - b.astype(np.int32))
        self.count += d.size
        self.differ += int(np.count_nonzero(d))
        self.maxdiff = max(self.maxdiff, int(d.max()) if d.size else 0)
        for v, c in zip(*np.unique(d[d > 0], return_counts=True)):
            self.hist[int(v)] = self.hist.get(int(v), 0) + int(c)

    def as_dict(self):
        return {"outputs": self.count, "differ": self.differ, "max_abs_diff": self.maxdiff,
                "diff_hist": {str(k): v for k, v in sorted(self.hist.items())}}


def isolated(m, path, x, acts, runtime):
    """Per op: Tally of LiteRT's output vs the trace, every op run alone on the trace's inputs."""
    res, full_delegation = [], True
    for i, op in enumerate(m.ops):
        model, _ = export.build(m, path, ops=[i], keep_metadata=False)
        it = interpreter(export.serialize(model), runtime)
        it.allocate_tensors()
        if runtime == "xnnpack":
            full_delegation &= delegated(it)
        ins = it.get_input_details()
        srcs = [op.inp] + ([op.in2] if op.kind == ratqm.ADD else [])
        if op.kind == ratqm.ADD and op.in2 == op.inp:
            srcs = [op.inp]
        out = it.get_output_details()[0]["index"]
        t = Tally()
        for n in range(x.shape[0]):
            for d, s in zip(ins, srcs):
                v = x[n] if s < 0 else acts[s][n]
                it.set_tensor(d["index"], np.asarray(v).reshape(d["shape"]))
            it.invoke()
            t.add(it.get_tensor(out).reshape(-1), np.asarray(acts[i][n]))
        res.append(t)
    return res, full_delegation


def graph(m, content, x, acts, runtime):
    it = interpreter(content, runtime)
    it.allocate_tensors()
    sg_out = [d["index"] for d in it.get_output_details()]
    # operator j of the exported graph is op j; its output tensor index from the op details
    op_out = [d["outputs"][0] for d in it._get_ops_details()] if runtime == "ref" else None
    inp = it.get_input_details()[0]
    tallies, top1, logits_equal = [Tally() for _ in m.ops], 0, 0
    for n in range(x.shape[0]):
        it.set_tensor(inp["index"], np.asarray(x[n]).reshape(inp["shape"]))
        it.invoke()
        if op_out is not None:
            for i in range(len(m.ops)):
                tallies[i].add(it.get_tensor(op_out[i]).reshape(-1), np.asarray(acts[i][n]))
        lo = it.get_tensor(sg_out[0]).reshape(-1)
        ref = np.asarray(acts[-1][n])
        top1 += int(np.argmax(lo) == np.argmax(ref))  # argmax: lowest index on ties, as ratq_qmodel_argmax
        logits_equal += int(np.array_equal(lo, ref))
        if op_out is None:
            tallies[-1].add(lo, ref)
    return tallies, top1, logits_equal


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--tflite", required=True)
    ap.add_argument("--trace", action="append", required=True, help="MODE=PATH, MODE = the trace's ratq rounding")
    ap.add_argument("--runtime", action="append", choices=("ref", "xnnpack"))
    ap.add_argument("--json")
    ap.add_argument("--check", action="store_true")
    a = ap.parse_args()
    m = ratqm.load(a.model)
    with open(a.tflite, "rb") as f:
        content = f.read()
    traces = dict(t.split("=", 1) for t in a.trace)
    out = {"litert_version": litert_version(), "model": a.model, "arch": m.arch, "k": m.k, "results": []}
    ok = True
    for runtime in a.runtime or ["ref", "xnnpack"]:
        for mode, tpath in traces.items():
            labels, x, acts = read_trace(tpath, m)
            iso, full = isolated(m, a.model, x, acts, runtime)
            g, top1, leq = graph(m, content, x, acts, runtime)
            r = {"runtime": runtime, "ratq_rounding": mode, "images": int(x.shape[0]), "top1_agree": top1,
                 "logits_identical": leq, "fully_delegated": full if runtime == "xnnpack" else None,
                 "ops": [{"op": i, "kind": ratqm.KIND_NAMES[op.kind], "name": op.name,
                          "isolated": iso[i].as_dict(), "graph": g[i].as_dict() if runtime == "ref" or
                          i == len(m.ops) - 1 else None} for i, op in enumerate(m.ops)]}
            out["results"].append(r)
            print(summary(r))
            if a.check:
                ok &= check(r, runtime, mode)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)
    return 0 if ok else 1


def by_kind(r, which):
    agg = {}
    for o in r["ops"]:
        t = o[which]
        if t is None:
            continue
        a = agg.setdefault(o["kind"], {"ops": 0, "ops_exact": 0, "outputs": 0, "differ": 0, "max_abs_diff": 0})
        a["ops"] += 1
        a["ops_exact"] += t["differ"] == 0
        a["outputs"] += t["outputs"]
        a["differ"] += t["differ"]
        a["max_abs_diff"] = max(a["max_abs_diff"], t["max_abs_diff"])
    return agg


def summary(r):
    lines = [f"{r['runtime']} vs ratq {r['ratq_rounding']}: {r['images']} images, top-1 agree {r['top1_agree']}, "
             f"logits identical {r['logits_identical']}" +
             (f", fully delegated {r['fully_delegated']}" if r["fully_delegated"] is not None else "")]
    for which in ("isolated", "graph"):
        for kind, a in by_kind(r, which).items():
            lines.append(f"  {which:8s} {kind:7s} ops {a['ops_exact']}/{a['ops']} exact, outputs differ "
                         f"{a['differ']}/{a['outputs']}, max |diff| {a['max_abs_diff']}")
    return "\n".join(lines)


def check(r, runtime, mode):
    ok = True
    for which in ("isolated", "graph"):
        for kind, a in by_kind(r, which).items():
            if runtime == "ref" and mode == "tflite" and which == "isolated":
                bad = a["differ"] if kind in EXACT_KINDS else a["max_abs_diff"] > 1
            elif runtime == "ref" and mode == "tflite" and kind in EXACT_KINDS:
                bad = False  # graph: differences of FC / MEAN upstream propagate; isolated decides
            elif runtime == "xnnpack" and mode == "single" and which == "isolated":
                bad = a["max_abs_diff"] > 1
            else:
                bad = False
            if bad:
                print(f"FAIL: {runtime} vs ratq {mode}: {which} {kind}: {a}")
                ok = False
    return ok


def litert_version():
    try:
        from importlib.metadata import version
        return version("ai-edge-litert")
    except Exception:
        return "unknown"


if __name__ == "__main__":
    sys.exit(main())
