#!/usr/bin/env python3
"""plot_report.py DIR — the plots of a `ratq run` output folder (host/cli/run.h), from its JSON artifacts.

Writes DIR/top1_vs_k.png (top-1 vs rescaler bits k: post-training, post-training + snapping, RAT, RAT + snapping),
DIR/rescaler_area_delay_vs_k.png (the k-bit rescaler alone, N = 0, from hw.json; skipped when hw was skipped) and
DIR/accuracy_vs_area.png (best top-1 per k against the rescaler area: the trade-off curve). Needs matplotlib;
`ratq run` calls it when `python3 -c "import matplotlib"` works. report.md is complete without the plots.
"""
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def load(d, name):
    p = os.path.join(d, name)
    if not os.path.exists(p):
        return None
    with open(p) as f:
        return json.load(f)


def series(doc, snap):
    pts = sorted((r["k"], r["top1"]) for r in (doc or {}).get("rows", []) if bool(r.get("snap")) == snap)
    return [p[0] for p in pts], [p[1] for p in pts]


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: plot_report.py DIR")
    d = sys.argv[1]
    sweep, rat, hw = load(d, "sweep.json"), load(d, "rat.json"), load(d, "hw.json")
    flt, i8, qat = load(d, "float.json"), load(d, "int8_k31.json"), load(d, "qat_k31.json")
    if sweep is None or rat is None:
        sys.exit(f"plot_report.py: {d}: sweep.json or rat.json missing")

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for doc, snap, label, style in ((sweep, False, "post-training", "o-"), (sweep, True, "post-training + snapping", "s--"),
                                    (rat, False, "RAT", "^-"), (rat, True, "RAT + snapping", "v--")):
        k, t = series(doc, snap)
        if k:
            ax.plot(k, t, style, label=label)
    if flt:
        ax.axhline(flt["top1"], color="gray", lw=0.8, ls=":", label=f"float {flt['top1']:.1f}%")
    if i8:
        ax.axhline(i8["top1"], color="black", lw=0.8, ls="-.", label=f"int8 k=31 post-training {i8['top1']:.1f}%")
    if qat:
        ax.axhline(qat["top1"], color="tab:green", lw=0.8, ls="--", label=f"int8 k=31 QAT {qat['top1']:.1f}%")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("rescaler multiplier bits k")
    ax.set_ylabel("top-1 (%)")
    ax.set_title("Top-1 vs rescaler bits")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(os.path.join(d, "top1_vs_k.png"), dpi=120)
    plt.close(fig)

    rows = [r for r in (hw or {}).get("rows", []) if r.get("macs") == 0]
    if not rows:
        print("plot_report.py: no hardware rows (hw skipped): area plots not written")
        return
    rows.sort(key=lambda r: r["bits"])
    # a Liberty flow gives um^2 and ps; the library-free proxy (hw.json "proxy") transistors and gate levels
    proxy = bool(hw.get("proxy"))
    akey, alabel = ("transistors", "area proxy (CMOS transistors)") if proxy else ("area_um2", "area (um^2)")
    dkey, dlabel = ("depth", "delay proxy (gate levels)") if proxy else ("delay_ps", "delay (ps)")
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    ks = [r["bits"] for r in rows]
    ax.plot(ks, [r[akey] for r in rows], "o-", color="tab:blue", label="area")
    ax.set_xlabel("rescaler multiplier bits k (32 = conventional)")
    ax.set_ylabel(alabel, color="tab:blue")
    ax2 = ax.twinx()
    ax2.plot(ks, [r[dkey] for r in rows], "s--", color="tab:red", label="delay")
    ax2.set_ylabel(dlabel, color="tab:red")
    ax.set_title(f"k-bit rescaler alone ({hw.get('library', '?')})")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(os.path.join(d, "rescaler_area_delay_vs_k.png"), dpi=120)
    plt.close(fig)

    area = {r["bits"]: r[akey] for r in rows}
    best = {}
    if qat:
        best[32] = qat["top1"]
    for doc in (sweep, rat):
        for r in doc.get("rows", []):
            k = 32 if r["k"] >= 31 else r["k"]
            best[k] = max(best.get(k, -1), r["top1"])
    pts = sorted((area[k], best[k], k) for k in best if k in area)
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-")
    for a, t, k in pts:
        ax.annotate(f"k={k}", (a, t), textcoords="offset points", xytext=(4, 4), fontsize=8)
    ax.set_xlabel("rescaler " + alabel)
    ax.set_ylabel("best top-1 (%)")
    ax.set_title("Accuracy vs rescaler area")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(os.path.join(d, "accuracy_vs_area.png"), dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
