#!/usr/bin/env python3
"""The Markdown tables of a side-by-side results file (bench/gdn_vs_fla.py): one row per case,
a column per system (time in ms and speedup over fla), as README and docs/benchmarks.md show.

    python3 bench/table.py RESULTS.json [--training] [--reference]
"""
import argparse
import json
import sys

PEERS = [("flashqla", "FlashQLA"), ("flashinfer", "FlashInfer"),
         ("flashinfer_bf16_state", "FlashInfer, bf16 state")]
# Peers that keep gdn's numerical contract (float32 state); the last column compares gdn with
# the fastest of these. A bf16 state moves half the bytes and rounds the state every step.
SAME_CONTRACT = {"flashqla", "flashinfer"}


def cell(ms, ratio, eager=False):
    mark = " (eager)" if eager else ""
    digits = 4 if ms < 0.01 else 3
    return f"{ms:.{digits}f} ({ratio:.2f}×){mark}"


def peer_cell(row):
    if not row:
        return "—"
    if not row.get("ran"):
        why = row.get("why", "")
        return "n/a" if why.startswith("unsupported") else "error"
    return cell(row["ms"], row["fla_over_peer"], not row["timing"].startswith("graph"))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("results")
    p.add_argument("--training", action="store_true", help="also the forward+backward table")
    p.add_argument("--reference", action="store_true", help="also the float64 checks")
    args = p.parse_args()
    r = json.load(open(args.results))
    peers = [(k, label) for k, label in PEERS if k in r.get("peers", [])]
    print(f"{r['device']}, {r['date']}, commit {r['commit']}; ms per call (speedup over fla; "
          f"last column > 1: gdn faster); "
          f"fla: {', '.join(sorted({c['fla_dispatch']['backend'] for c in r['cases']}))}\n")
    head = (["case", "gdn", "fla"] + [label for _, label in peers]
            + ["best f32-state peer / gdn"])
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|")
    for c in r["cases"]:
        cells = [c["case"].replace("_", " "), cell(c["gdn_ms"], c["speedup"]),
                 f"{c['fla_ms']:.{4 if c['fla_ms'] < 0.01 else 3}f}"]
        best = None
        for key, _ in peers:
            row = c["peers"].get(key)
            cells.append(peer_cell(row))
            if key not in SAME_CONTRACT:
                continue
            if row and row.get("ran") and row["timing"].startswith("graph"):
                best = row["ms"] if best is None else min(best, row["ms"])
            elif row and row.get("ran"):  # eager: compare eager with eager
                t = row["ms"] * c["gdn_ms"] / c["gdn_eager_ms"]
                best = t if best is None else min(best, t)
        cells.append(f"{best / c['gdn_ms']:.2f}×" if best else "—")
        print("| " + " | ".join(cells) + " |")
    if args.training and r.get("training"):
        print("\n| case (forward + backward) | fla ms | FlashQLA ms | fla / FlashQLA | "
              "max rel err of the gradients vs fla |")
        print("|---|---:|---:|---:|---|")
        for t in r["training"]:
            errs = t.get("grad_max_rel_err_vs_fla", {})
            print(f"| {t['case']} | {t.get('fla_fwd_bwd_ms', float('nan')):.3f} | "
                  f"{t.get('flashqla_fwd_bwd_ms', float('nan')):.3f} | "
                  f"{t.get('fla_over_flashqla', float('nan')):.2f}× | "
                  + ", ".join(f"{k} {v:.1e}" for k, v in errs.items()) + " |")
    if args.reference and r.get("reference_checks"):
        systems = ["gdn", "fla"] + [k for k, _ in peers]
        print("\n| shape (max rel err of o / state vs float64) | " + " | ".join(systems) + " |")
        print("|---|" + "---|" * len(systems))
        for row in r["reference_checks"]:
            cells = []
            for s in systems:
                v = row.get(s)
                cells.append(f"{v['o_max_rel_err']:.1e} / {v['state_max_rel_err']:.1e}"
                             if isinstance(v, dict) else ("n/a" if v and "unsupported" in v
                                                          else "error" if v else "—"))
            print(f"| {row['shape']} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
