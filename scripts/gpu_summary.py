#!/usr/bin/env python3
"""gpu_summary.py WORK OUT MODE FAILED — figures.json and summary.md of scripts/gpu_check.sh (standard library only).

Reads what the stages left in WORK: env.tsv, stages.tsv (stage, status, seconds, note), ctest_gpu.xml, sanitizer.tsv,
bench.jsonl (one {"bench": NAME, ...} object per line: cuda_epilogue, cuda_train, rat_step_cuda, dist_scaling),
pytorch.json, eval.json, ratq_step.tsv (steps, exit status, seconds of `ratq finetune --stop-after steps`).

Derived figures:
  ratq_step.img_s   128 / ((t8 - t4) / 4): the steady step of `ratq finetune --device cuda` (runs stopped after 4 and 8
                    steps: everything but steps 4-7 cancels)
  targets           issues 13 / 15, each a ratio of two figures of the same call, PASS when >= its threshold:
                      RAT step (bench_rat_step_cuda, TF32 graph)         / PyTorch eager fake-quant QAT  >= 2
                      RAT step (bench_rat_step_cuda, TF32 graph)         / PyTorch fp32 eager            >= 1
                      RAT step (`ratq finetune --device cuda`, the loop) / PyTorch eager fake-quant QAT  >= 2
                      RAT step (`ratq finetune --device cuda`, the loop) / PyTorch fp32 eager            >= 1
                      fused epilogue bandwidth / device copy bandwidth                                >= 0.70
                    a missing figure gives "-" (no verdict). Targets record where the code stands; they do not change
                    gpu_check.sh's exit status.
  also (no target)  loop / benchmark step, TF32 graph / eager (the graph's gain), GPU-resident / host-driven step,
                    the scaling model (8 GPUs NVLink, 2 nodes 100 Gb/s) from the measured step.
Writes OUT/figures.json and OUT/summary.md (atomically: temp + rename) and prints the summary. Exit 0, or 1 if WORK is
unreadable.
"""
import json
import os
import sys
import xml.etree.ElementTree as ET

TARGETS = [  # (key, what, numerator (figure, field), denominator (figure, field) or None, threshold)
    ("bench_vs_pytorch_qat", "RAT step (bench, TF32 graph) / PyTorch fake-quant QAT",
     ("rat_step_cuda", "tf32_graph_ips"), ("pytorch", "qat_img_s"), 2.0),
    ("bench_vs_pytorch_fp32", "RAT step (bench, TF32 graph) / PyTorch fp32 eager",
     ("rat_step_cuda", "tf32_graph_ips"), ("pytorch", "fp32_img_s"), 1.0),
    ("loop_vs_pytorch_qat", "RAT step (ratq finetune --device cuda) / PyTorch fake-quant QAT",
     ("ratq_step", "img_s"), ("pytorch", "qat_img_s"), 2.0),
    ("loop_vs_pytorch_fp32", "RAT step (ratq finetune --device cuda) / PyTorch fp32 eager",
     ("ratq_step", "img_s"), ("pytorch", "fp32_img_s"), 1.0),
    ("epilogue_vs_copy_bw", "fused epilogue / device copy bandwidth",
     ("cuda_epilogue", "fused_frac_copy"), None, 0.70),
]
INFO = [  # (key, what, numerator, denominator): ratios without a target
    ("loop_vs_bench", "ratq finetune --device cuda / bench step (TF32 graph)", ("ratq_step", "img_s"),
     ("rat_step_cuda", "tf32_graph_ips")),
    ("graph_vs_eager", "bench step: TF32 graph / TF32 eager", ("rat_step_cuda", "tf32_graph_ips"),
     ("rat_step_cuda", "tf32_eager_ips")),
    ("resident_vs_host_path", "bench step: GPU-resident (TF32 graph) / host-driven (cuda-host)",
     ("rat_step_cuda", "tf32_graph_ips"), ("rat_step_cuda", "host_path_ips")),
]


def rows(work, name):
    p = os.path.join(work, name)
    return [l.rstrip("\n").split("\t") for l in open(p)] if os.path.exists(p) else []


def jsonl(work, name):
    p = os.path.join(work, name)
    res = []
    for l in (open(p) if os.path.exists(p) else []):
        try:
            res.append(json.loads(l))
        except ValueError:
            pass
    return res


def num(x):
    return x if isinstance(x, (int, float)) and not isinstance(x, bool) and x == x and x > 0 else None


def get(fig, ref):
    return None if ref is None else num(fig.get(ref[0], {}).get(ref[1]))


def figures(work, mode, failed):
    fig = {"mode": mode, "passed": not failed, "env": {r[0]: r[1] for r in rows(work, "env.tsv") if len(r) >= 2},
           "stages": [{"stage": s, "status": st, "seconds": float(t), "note": n}
                      for s, st, t, n in rows(work, "stages.tsv")]}
    tests = []
    if os.path.exists(os.path.join(work, "ctest_gpu.xml")):
        for t in ET.parse(os.path.join(work, "ctest_gpu.xml")).getroot().iter("testcase"):
            tests.append({"test": t.get("name"), "status": t.get("status"), "seconds": float(t.get("time", 0))})
    fig["gpu_tests"] = tests
    fig["sanitizer"] = [{"test": a, "result": b, "summary": c} for a, b, c in rows(work, "sanitizer.tsv")]
    for b in jsonl(work, "bench.jsonl"):
        fig[b.pop("bench", "unnamed")] = b
    pt = jsonl(work, "pytorch.json")
    if pt:
        fig["pytorch"] = pt[-1]
    ev = jsonl(work, "eval.json")
    if ev:
        fig["cpu_eval_packed"] = ev[-1]
    st = {int(s): (int(rc), float(t)) for s, rc, t in rows(work, "ratq_step.tsv")}
    if 4 in st and 8 in st and st[4][0] == 0 and st[8][0] == 0:
        step = (st[8][1] - st[4][1]) / 4
        fig["ratq_step"] = {"batch": 128, "seconds_stop_after_4": st[4][1], "seconds_stop_after_8": st[8][1],
                            "step_s": step, "img_s": 128 / step if step > 0 else None}
    fig["targets"] = {}
    for key, what, a, b, thr in TARGETS:
        v = get(fig, a) if b is None else (get(fig, a) / get(fig, b) if get(fig, a) and get(fig, b) else None)
        fig["targets"][key] = {"what": what, "value": v, "threshold": thr,
                               "verdict": None if v is None else ("PASS" if v >= thr else "FAIL")}
    fig["ratios"] = {key: (get(fig, a) / get(fig, b) if get(fig, a) and get(fig, b) else None)
                     for key, _, a, b in INFO}
    return fig


def summary(fig):
    fmt = lambda x, d=2: "-" if x is None else f"{x:.{d}f}"
    L = [f"# gpu_check ({fig['mode']}): {'PASSED' if fig['passed'] else 'FAILED'}", ""]
    L += [f"- {k}: {v}" for k, v in fig["env"].items()] + ["", "| stage | status | s | note |", "|---|---|---|---|"]
    L += [f"| {s['stage']} | {s['status']} | {s['seconds']:.1f} | {s['note']} |" for s in fig["stages"]]
    if fig["gpu_tests"]:
        L += ["", "| GPU test | status | s |", "|---|---|---|"]
        L += [f"| {t['test']} | {t['status']} | {t['seconds']:.1f} |" for t in fig["gpu_tests"]]
    if fig["sanitizer"]:
        L += ["", "| memcheck | result | summary |", "|---|---|---|"]
        L += [f"| {s['test']} | {s['result']} | {s['summary']} |" for s in fig["sanitizer"]]
    if fig["mode"] != "device":
        return "\n".join(L) + "\n"
    p, r, b = fig.get("pytorch", {}), fig.get("ratq_step", {}), fig.get("rat_step_cuda", {})
    e, tr, sc = fig.get("cuda_epilogue", {}), fig.get("cuda_train", {}), fig.get("dist_scaling", {})
    g = lambda d, k, n=1: fmt(num(d.get(k)), n)
    L += ["", "| figure (EfficientNet-Lite0, batch 128) | value |", "|---|---|",
          f"| PyTorch fp32 eager train step, images/s | {g(p, 'fp32_img_s')} |",
          f"| PyTorch fake-quant QAT train step, images/s | {g(p, 'qat_img_s')} |",
          f"| ratq RAT step, bench, TF32 graph, images/s | {g(b, 'tf32_graph_ips')} |",
          f"| ratq RAT step, bench, TF32 eager / FP32 graph / bf16 graph, images/s | {g(b, 'tf32_eager_ips')} / "
          f"{g(b, 'fp32_graph_ips')} / {g(b, 'bf16_graph_ips')} |",
          f"| ratq RAT step, host-driven path (cuda-host), images/s | {g(b, 'host_path_ips')} |",
          f"| ratq finetune --device cuda (the loop, input stream), images/s | {g(r, 'img_s')} |",
          f"| forward alone, ms / backward fraction of the step | {g(b, 'forward_ms', 2)} / {g(b, 'bwd_frac', 2)} |",
          f"| fused epilogue, GB/s (copy {g(e, 'copy_gbs', 0)} GB/s) | {g(e, 'fused_gbs', 0)} |",
          f"| STE prologue / copy bandwidth | {g(tr, 'ste_frac_copy', 2)} |",
          f"| depthwise backward (all Lite0 layers) / copy bandwidth | {g(tr, 'dw_bwd_frac_copy', 2)} |",
          f"| scaling model: 8 GPUs NVLink ({g(sc, 'nvlink_busbw_gbs', 0)} GB/s bus, assumed), images/s, efficiency | "
          f"{g(sc, 'gpu8_nvlink_img_s', 0)}, {g(sc, 'gpu8_nvlink_eff', 3)} |",
          f"| scaling model: 2 nodes x 8 GPUs 100 Gb/s ({g(sc, 'net_busbw_gbs', 0)} GB/s bus, assumed), images/s, "
          f"efficiency | {g(sc, 'node2_100g_img_s', 0)}, {g(sc, 'node2_100g_eff', 3)} |"]
    L += ["", "| target (issues 13 / 15) | ratio | threshold | verdict |", "|---|---|---|---|"]
    for t in fig["targets"].values():
        L.append(f"| {t['what']} | {fmt(t['value'])} | >= {t['threshold']:.2f} | {t['verdict'] or '-'} |")
    L += ["", "| ratio (no target) | value |", "|---|---|"]
    for key, what, _, _ in INFO:
        L.append(f"| {what} | {fmt(fig['ratios'][key])} |")
    return "\n".join(L) + "\n"


def write(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


def main(argv):
    if len(argv) != 5:
        sys.exit("usage: gpu_summary.py WORK OUT MODE FAILED(0|1)")
    work, out, mode, failed = argv[1], argv[2], argv[3], argv[4] == "1"
    if not os.path.isdir(work):
        print(f"gpu_summary: {work}: not a folder", file=sys.stderr)
        return 1
    fig = figures(work, mode, failed)
    text = summary(fig)
    write(os.path.join(out, "figures.json"), json.dumps(fig, indent=1) + "\n")
    write(os.path.join(out, "summary.md"), text)
    print()
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
