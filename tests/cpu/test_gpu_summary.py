#!/usr/bin/env python3
"""test_gpu_summary.py ROOT — scripts/gpu_summary.py (the summary of scripts/gpu_check.sh) on stage outputs made up
here: the derived loop step, every target ratio and its PASS / FAIL, "-" for a missing figure, the rehearsal's
summary without figures, figures.json well-formed. Exit 0 when every check holds (label cpu, standard library)."""
import json
import os
import subprocess
import sys
import tempfile

root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..")
script = os.path.join(root, "scripts", "gpu_summary.py")
checks = failures = 0


def check(cond, what):
    global checks, failures
    checks += 1
    if not cond:
        failures += 1
        print(f"FAIL: {what}")


def run(work, out, mode, failed):
    p = subprocess.run([sys.executable, script, work, out, mode, failed], capture_output=True, text=True)
    check(p.returncode == 0, f"gpu_summary.py exit {p.returncode}: {p.stderr}")
    with open(os.path.join(out, "figures.json")) as f:
        fig = json.load(f)
    with open(os.path.join(out, "summary.md")) as f:
        text = f.read()
    check(text in p.stdout, "the printed summary is summary.md")
    return fig, text


def put(work, name, text):
    with open(os.path.join(work, name), "w") as f:
        f.write(text)


def row(text, what):
    for l in text.splitlines():
        if l.startswith("| " + what + " |"):
            return [c.strip() for c in l.strip("|").split("|")]
    return None


with tempfile.TemporaryDirectory() as d:
    work, out = os.path.join(d, "work"), os.path.join(d, "out")
    os.makedirs(work)
    os.makedirs(out)
    put(work, "env.tsv", "gpu\tNVIDIA H200, 143771 MiB, 9.0\n")
    put(work, "stages.tsv", "ctest\tok\t61.5\t14 passed\nrat_step\tok\t20.0\t\n")
    put(work, "bench.jsonl",
        json.dumps({"bench": "rat_step_cuda", "tf32_graph_ips": 1100.0, "tf32_eager_ips": 880.0, "fp32_graph_ips": 500.0,
                    "bf16_graph_ips": 1200.0, "host_path_ips": 110.0, "forward_ms": 30.0, "bwd_frac": 0.73,
                    "best_step_ms": 116.4}) + "\n" +
        json.dumps({"bench": "cuda_epilogue", "fused_frac_copy": 0.65, "copy_gbs": 3900.0, "fused_gbs": 2535.0}) + "\n" +
        json.dumps({"bench": "dist_scaling", "gpu8_nvlink_img_s": 8700, "gpu8_nvlink_eff": 0.999}) + "\n" +
        "not json\n")
    put(work, "pytorch.json", json.dumps({"fp32_img_s": 1000.0, "qat_img_s": 500.0}) + "\n")
    put(work, "ratq_step.tsv", "4\t0\t20.0\n8\t0\t20.4\n")  # steps 4-7: 0.4 s, 0.1 s a step, 1280 images/s
    fig, text = run(work, out, "device", "0")
    check(text.startswith("# gpu_check (device): PASSED"), "heading")
    check(abs(fig["ratq_step"]["img_s"] - 1280.0) < 1e-6, f"loop images/s {fig['ratq_step'].get('img_s')}, 1280")
    expect = {"bench_vs_pytorch_qat": (2.2, "PASS"), "bench_vs_pytorch_fp32": (1.1, "PASS"),
              "loop_vs_pytorch_qat": (2.56, "PASS"), "loop_vs_pytorch_fp32": (1.28, "PASS"),
              "epilogue_vs_copy_bw": (0.65, "FAIL")}
    for k, (v, verdict) in expect.items():
        t = fig["targets"][k]
        check(abs(t["value"] - v) < 1e-9 and t["verdict"] == verdict, f"target {k}: {t}, expected {v} {verdict}")
        r = row(text, t["what"])
        check(r is not None and r[1] == f"{v:.2f}" and r[3] == verdict, f"summary row of {k}: {r}")
    check(abs(fig["ratios"]["loop_vs_bench"] - 1280 / 1100) < 1e-9, "loop / bench ratio")
    check(abs(fig["ratios"]["resident_vs_host_path"] - 10.0) < 1e-9, "resident / host path ratio")
    check(row(text, "ratq finetune --device cuda (the loop, input stream), images/s")[1] == "1280.0", "loop row")

    # a figure missing (PyTorch did not run, the loop failed): no verdict, no exception; FAILED heading
    os.remove(os.path.join(work, "pytorch.json"))
    put(work, "ratq_step.tsv", "4\t0\t20.0\n8\t1\t3.0\n")
    fig, text = run(work, out, "device", "1")
    check(text.startswith("# gpu_check (device): FAILED"), "heading when failed")
    check("ratq_step" not in fig, "no loop figure from a failed run")
    for k in ("bench_vs_pytorch_qat", "loop_vs_pytorch_fp32"):
        t = fig["targets"][k]
        check(t["value"] is None and t["verdict"] is None and row(text, t["what"])[3] == "-", f"{k} without figures")
    check(fig["targets"]["epilogue_vs_copy_bw"]["verdict"] == "FAIL", "epilogue verdict still given")

    # the rehearsal: stages only
    fig, text = run(work, out, "rehearse", "0")
    check("target" not in text and "| stage |" in text, "rehearsal summary: stages, no targets")

print(f"test_gpu_summary: {checks} checks, {failures} failed")
sys.exit(1 if failures or not checks else 0)
