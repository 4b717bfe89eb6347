#!/usr/bin/env python3
"""Plots of the side-by-side benchmark's results files (bench/gdn_vs_fla.py).

    python3 bench/plot.py RESULTS.json [--history 'bench/results/perf-*.json'] [--out-dir DIR]

Writes two PNGs beside RESULTS.json (or in --out-dir):
- <stem>-speedup.png: each system's speedup over flash-linear-attention per case (fla's time /
  the system's, from the same timing method: CUDA-graph replays, or eager calls where a peer
  could not be captured; the bar is hatched then). A case a system does not run has no bar.
- <stem>-history.png: gdn's time per case across the committed harness runs, in the order of
  their dates (x: date and commit), one line per case, log scale.
"""
import argparse
import glob
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

SYSTEMS = [("gdn", "#1f77b4"), ("flashqla", "#2ca02c"), ("flashinfer", "#d62728"),
           ("flashinfer_bf16_state", "#ff9896")]
LABELS = {"gdn": "gdn", "flashqla": "FlashQLA", "flashinfer": "FlashInfer",
          "flashinfer_bf16_state": "FlashInfer (bf16 state)"}


def speedups(case):
    """system -> (speedup over fla, eager?) for the systems that ran the case."""
    found = {"gdn": (case["speedup"], False)}
    for name, row in case.get("peers", {}).items():
        if row.get("ran") and row.get("fla_over_peer"):
            found[name] = (row["fla_over_peer"], not row["timing"].startswith("graph"))
    return found


def plot_speedup(report, path):
    cases = report["cases"]
    systems = [s for s in SYSTEMS if any(s[0] in speedups(c) for c in cases)]
    width = 0.8 / len(systems)
    fig, ax = plt.subplots(figsize=(max(10, 0.75 * len(cases)), 5.5))
    for i, (name, color) in enumerate(systems):
        xs, ys, eager = [], [], []
        for x, case in enumerate(cases):
            s = speedups(case).get(name)
            if s:
                xs.append(x + (i - (len(systems) - 1) / 2) * width)
                ys.append(s[0])
                eager.append(s[1])
        bars = ax.bar(xs, ys, width, color=color, label=LABELS.get(name, name))
        for bar, e in zip(bars, eager):
            if e:
                bar.set_hatch("//")
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_xticks(range(len(cases)))
    ax.set_xticklabels([c["case"] for c in cases], rotation=60, ha="right", fontsize=8)
    ax.set_ylabel("speedup over fla (fla time / system time)")
    ax.set_title(f"{report['device']}, {report['date']}, commit {report['commit']} "
                 f"(hatched: eager timing)", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_history(files, path):
    runs = []
    for f in files:
        try:
            report = json.load(open(f))
        except (OSError, ValueError):
            continue
        if not isinstance(report, dict) or not report.get("cases"):
            continue
        label = f"{report.get('date', '?')}\n{report.get('commit', '?')[:7]}"
        device = report.get("device", "?")
        times = {c["case"]: c["gdn_ms"] for c in report["cases"]
                 if isinstance(c, dict) and c.get("gdn_ms")}
        runs.append((report.get("date", ""), os.path.getmtime(f), label, device, times))
    runs.sort(key=lambda r: (r[0], r[1]))
    cases = sorted({c for r in runs for c in r[4]})
    fig, ax = plt.subplots(figsize=(max(10, 0.6 * len(runs)), 6))
    colors = plt.get_cmap("tab20").colors
    for n, case in enumerate(cases):
        xs = [i for i, r in enumerate(runs) if case in r[4]]
        ax.plot(xs, [runs[i][4][case] for i in xs], marker="os^"[n // 20 % 3], markersize=3,
                color=colors[n % 20], label=case)
    ax.set_yscale("log")
    ax.set_xticks(range(len(runs)))
    ax.set_xticklabels([f"{r[2]} {r[3].replace('NVIDIA ', '')[:4]}".replace("\n", " ")
                        for r in runs], fontsize=7, rotation=70, ha="right")
    ax.set_ylabel("gdn ms (CUDA graph, per call)")
    ax.set_title("gdn's time per case across the committed harness runs", fontsize=10)
    ax.legend(fontsize=6, ncol=2, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser()
    p.add_argument("results")
    p.add_argument("--history", default=os.path.join(here, "results", "perf-*.json"))
    p.add_argument("--out-dir")
    args = p.parse_args()
    report = json.load(open(args.results))
    out_dir = args.out_dir or os.path.dirname(os.path.abspath(args.results))
    stem = os.path.splitext(os.path.basename(args.results))[0]
    plot_speedup(report, os.path.join(out_dir, stem + "-speedup.png"))
    plot_history(sorted(glob.glob(args.history)), os.path.join(out_dir, stem + "-history.png"))
    print(f"plot: {stem}-speedup.png, {stem}-history.png in {out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
