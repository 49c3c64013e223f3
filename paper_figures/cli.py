"""``cwmp figures`` / ``python -m paper_figures``: every figure from saved results.

Writes PNG and PDF to ``paper_figures/out/`` (or ``--out``). A figure whose inputs are
missing is skipped with one line naming the command that produces them (exit 0).
"""

from __future__ import annotations

import argparse
import importlib
import time
from pathlib import Path

# number -> module (each has make(results_dir, out_dir[, fl_preset=...]))
FIGURES: dict[int, str] = {
    1: "fig1_accuracy_vs_round",
    2: "fig2_accuracy_vs_energy",
    3: "fig3_pareto",
    4: "fig4_greedy_vs_exact",
    5: "fig5_solver_runtime",
    6: "fig6_theory_vs_mc",
    7: "fig7_efficiency_ratio",
    8: "fig8_prob_beats",
    9: "fig9_energy_by_layer",
    10: "fig10_f1_matched_energy",
    11: "fig11_greedy_vs_exact",
    12: "fig12_link_breakeven",
}
FL_FIGURES = {1, 2, 3, 9, 10, 11}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="cwmp figures", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--results", default="results", help="results directory to read (default: results)")
    p.add_argument("--out", default="paper_figures/out", help="output directory (default: paper_figures/out)")
    p.add_argument("--only", nargs="+", type=int, metavar="N", choices=sorted(FIGURES),
                   help="figure numbers to make (default: all)")
    p.add_argument("--fl-preset", default="paper",
                   help="FL preset under results/fl/ for figures 1-3 and 9-11 (default: paper; falls back to "
                        "another preset with runs)")
    return p


def main(argv: list[str] | None = None) -> int:
    ns = build_parser().parse_args(argv)
    results, out = Path(ns.results), Path(ns.out)
    t_all = time.perf_counter()
    made = skipped = 0
    for n in ns.only or sorted(FIGURES):
        mod = importlib.import_module(f"{__package__}.{FIGURES[n]}")
        kw = {"fl_preset": ns.fl_preset} if n in FL_FIGURES else {}
        t0 = time.perf_counter()
        paths = mod.make(results, out, **kw)
        if paths is None:
            skipped += 1
            continue
        made += 1
        print(f"fig {n}: {', '.join(str(p) for p in paths)} ({time.perf_counter() - t0:.1f} s)", flush=True)
    print(f"figures: {made} written, {skipped} skipped, {time.perf_counter() - t_all:.1f} s", flush=True)
    return 0
