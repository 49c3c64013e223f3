"""Fig 6: theory vs Monte Carlo — retained fraction and energy vs budget, with CIs.

Input: ``results/theory/fig6_budget_curves.json``, produced by ``cwmp theory`` (schema in
theory/report.py). Keys used: ``panels[]`` with ``dist``, ``cost`` ({law, cv, ...}), ``label``,
``d``, ``reps``, ``theory`` {``beta``, ``beta_over_mean_cost``, ``cwmp``/``topk`` {``retained``,
``energy``}} and ``montecarlo`` {``beta``, ``beta_over_mean_cost``, ``cwmp``/``topk``
{``retained_mean``, ``retained_se``, ``retained_ci95``, ``energy_mean``, ``energy_se``, ``energy_ci95``}}.
Retained is a fraction of E[g²] (plotted in %). Energy is drawn as a share of the budget βd (%):
the large-d limit is 100 % while β < E[c], the finite-d greedy leaves a remainder.
x: β / E[c] in % (the budget as a share of the dense energy) when recorded, else β.
Lines: large-d theory; markers: finite-d Monte Carlo mean with its 95 % CI.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import style
from .data import THEORY_COMMAND, MissingResults, ci_errors, figure, load_theory

NAME = "fig6_theory_vs_mc"
INPUT = "fig6_budget_curves.json"
METHODS = (("topk", "topk"), ("cwmp", "cwmp-l2"))  # (key in the file, colour/label key)


def _x(part: dict) -> tuple[np.ndarray, bool]:
    rel = part.get("beta_over_mean_cost")
    if rel is not None and len(rel) == len(part["beta"]):
        return 100.0 * np.asarray(rel, float), True
    return np.asarray(part["beta"], float), False


def _cost_text(cost) -> str:
    if isinstance(cost, dict):
        law = cost.get("law", cost.get("name", "cost"))
        cv = cost.get("cv")
        return f"{law} cost" + (f", CV {float(cv):.2g}" if cv is not None else "")
    return str(cost)


@figure(6, THEORY_COMMAND)
def make(results_dir: str | Path, out_dir: str | Path) -> list[Path] | None:
    _, panels = load_theory(results_dir, INPUT, "panels", ("theory", "montecarlo"))
    for p in panels:
        for part in ("theory", "montecarlo"):
            if not isinstance(p[part], dict) or "beta" not in p[part] or not any(k in p[part] for k, _ in METHODS):
                raise MissingResults(f"{INPUT}: panel {p.get('label', '?')}: {part} lacks beta/cwmp/topk",
                                     THEORY_COMMAND)
    fig, axes = style.new_figure(len(panels), 2, figsize=(8.4, 2.9 * len(panels) + 0.4), squeeze=False)
    relative = False
    for p, (ax_r, ax_e) in zip(panels, axes):
        th, mc = p["theory"], p["montecarlo"]
        x_th, relative = _x(th)
        x_mc, _ = _x(mc)
        beta_th, beta_mc = np.asarray(th["beta"], float), np.asarray(mc["beta"], float)
        for key, m in METHODS:
            col = style.color(m)
            if key in th:
                ax_r.plot(x_th, 100 * np.asarray(th[key]["retained"], float), color=col,
                          label=f"{style.label(m)}: large-d theory")
                ax_e.plot(x_th, 100 * np.asarray(th[key]["energy"], float) / beta_th, color=col)
            if key in mc:
                q = mc[key]
                for ax, name, scale in ((ax_r, "retained", 100.0 * np.ones_like(beta_mc)),
                                        (ax_e, "energy", 100.0 / beta_mc)):
                    mean = np.asarray(q[f"{name}_mean"], float)
                    lo, hi = ci_errors(mean, q.get(f"{name}_ci95"), q.get(f"{name}_se"))
                    ax.errorbar(x_mc, scale * mean, yerr=[scale * np.asarray(lo), scale * np.asarray(hi)],
                                color=col, ls="none", marker="o", mfc="white", ms=4, capsize=2.5,
                                label=f"{style.label(m)}: Monte Carlo, 95 % CI" if name == "retained" else None)
        law = ", ".join(filter(None, [f"g ~ {p['dist']}" if p.get("dist") else "", _cost_text(p.get("cost"))]))
        sim = ", ".join(filter(None, [f"d = {p['d']}" if p.get("d") else "",
                                      f"{p['reps']} replicates" if p.get("reps") else ""]))
        ax_r.set_title(f"retained — {p.get('label') or law}", fontsize=8)
        ax_e.set_title(f"energy — {sim}" if sim else "energy", fontsize=8)
        ax_r.set_ylabel("retained Σ kept g² / Σ g² (%)")
        ax_e.set_ylabel("energy spent / budget βd (%)")
    xlabel = "budget β / E[c] (% of the dense energy)" if relative else "per-coordinate budget β = B/d (cost units)"
    for ax in axes[-1]:
        ax.set_xlabel(xlabel)
    handles, labels = style.unique_legend(axes.flat)
    style.footer(fig, "lines: large-d limit; markers: finite-d Monte Carlo mean with 95 % CI")
    fig.tight_layout()
    style.top_legend(fig, handles, labels, "Theory vs Monte Carlo: retained fraction and energy vs budget", ncol=2)
    return style.save(fig, out_dir, NAME)
