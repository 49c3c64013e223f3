"""Fig 11: greedy vs exact on the real FL updates — the greedy/exact value ratio over rounds.

Input: ``results/fl/<preset>/summary.json`` (keys used: greedy_vs_exact[].method, .sparsity,
.seeds, .rounds, .ratio_mean_by_round, .ratio_min_by_round, .n_solves, .n_proven, .ratio_min,
.ratio_mean), produced by ``cwmp fl --preset paper --summary`` from budget-mode runs that logged
an exact reference solve per client-round (schema: fl_validation/verdict.py greedy_vs_exact).

The ratios sit within about 1e-4 of 1, so the y axis is the shortfall 1 − greedy/exact value
on a log scale (lower is better; a ratio of exactly 1 is drawn at the axis floor and counted in
the legend). Colour: matched level ρ; line style and marker: CWMP score. Thick line: mean over
seeds and clients in that round; thin line of the same style: the worst client-round (min of
the ratio, i.e. the largest shortfall); band between them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import style
from .data import SUMMARY_COMMAND, MissingResults, figure, load_fl_summary, pct

NAME = "fig11_greedy_vs_exact"
KEYS = ("method", "sparsity", "rounds", "ratio_mean_by_round", "ratio_min_by_round")
RHO_COLORS = {0.01: "#6a3d9a", 0.05: "#1f78b4", 0.1: "#d62728", 0.2: "#33a02c"}
METHOD_STYLE = {"cwmp-l2": ("-", "o"), "cwmp-paper": ("--", "s")}


def _rho_color(rho: float) -> str:
    for r, c in RHO_COLORS.items():
        if abs(r - rho) < 1e-9:
            return c
    return style.curve_color(int(round(rho * 1000)))


@figure(11, SUMMARY_COMMAND)
def make(results_dir: str | Path, out_dir: str | Path, *, fl_preset: str | None = "paper") -> list[Path] | None:
    doc, path = load_fl_summary(results_dir, fl_preset, keys=("greedy_vs_exact",))
    entries = doc["greedy_vs_exact"]
    if not isinstance(entries, list) or not entries:
        raise MissingResults(f"{path}: greedy_vs_exact is empty (no budget-mode run logged exact solves)",
                             "cwmp fl --preset PRESET [--tag TAG] (budget-mode runs, exact reference on: the "
                             "default, any --engine), then cwmp fl --preset PRESET [--tag TAG] --summary "
                             f"(folder {path.parent.name} = PRESET[-TAG])")
    for e in entries:
        missing = [k for k in KEYS if k not in e]
        if missing:
            raise MissingResults(f"{path} [greedy_vs_exact]: missing key(s) {', '.join(missing)}", SUMMARY_COMMAND)
    entries = sorted(entries, key=lambda e: (float(e["sparsity"]), e["method"]))
    short = [1.0 - np.asarray(e[k], float) for e in entries for k in ("ratio_mean_by_round", "ratio_min_by_round")]
    pos = np.concatenate([s[s > 0] for s in short]) if short else np.array([])
    floor = 10 ** np.floor(np.log10(pos.min()) - 0.5) if pos.size else 1e-9
    fig, axes = style.new_figure(1, 1, figsize=(8.0, 4.4))
    ax = axes[0, 0]
    for e in entries:
        rho, method = float(e["sparsity"]), str(e["method"])
        col = _rho_color(rho)
        ls, mk = METHOD_STYLE.get(method, (":", style.marker(method)))
        x = np.asarray(e["rounds"], float)
        mean = np.maximum(1.0 - np.asarray(e["ratio_mean_by_round"], float), floor)
        worst = np.maximum(1.0 - np.asarray(e["ratio_min_by_round"], float), floor)
        exact = int(np.sum(np.asarray(e["ratio_min_by_round"], float) >= 1.0))
        seeds = e.get("seeds") or []
        solves = e.get("n_solves")
        lab = f"{style.label(method)}, ρ = {pct(rho)}: seeds {','.join(map(str, seeds)) or '?'}"
        if solves is not None:
            lab += f", {solves} solves ({e.get('n_proven', '?')} proven)"
        if e.get("ratio_min") is not None:
            lab += f"; min ratio {float(e['ratio_min']):.6f}"
        if exact:
            lab += f"; {exact} rounds all exact"
        every = max(len(x) // 10, 1)
        ax.plot(x, mean, color=col, ls=ls, lw=1.8, marker=mk, ms=3.5, markevery=every, label=lab, zorder=3)
        ax.plot(x, worst, color=col, ls=ls, lw=0.8, alpha=0.8, zorder=2)
        ax.fill_between(x, mean, worst, color=col, alpha=0.10, lw=0)
    ax.set_yscale("log")
    ax.set_xlabel("FL round")
    ax.set_ylabel("1 − greedy / exact value (log; lower = closer to optimal)")
    ax.set_title("Greedy vs the exact optimum of P (cost-class solver, C9) on the real client updates: shortfall per round", fontsize=9.5)
    from matplotlib.lines import Line2D

    handles, labels = ax.get_legend_handles_labels()
    handles += [Line2D([], [], color="#555555", lw=1.8), Line2D([], [], color="#555555", lw=0.8)]
    labels += ["mean over seeds × clients in the round", "worst client-round (min ratio)"]
    ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, -0.2), fontsize=7, ncol=1)
    ymin, ymax = ax.get_ylim()
    ax.set_ylim(min(ymin, floor), ymax * 3)
    style.footer(fig, f"{path} (preset {doc.get('preset', fl_preset)}); value = objective of P (retained squared norm, sum of g^2 kept) under the "
                      f"client-round's energy budget; ratio 1 drawn at {floor:.0e}")
    fig.tight_layout()
    return style.save(fig, out_dir, NAME)
