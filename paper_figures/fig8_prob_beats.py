"""Fig 8: P(CWMP beats Top-K at equal energy) vs d.

Input: ``results/theory/curves.json`` key ``prob_beats`` (or ``results/theory/prob_beats.json``),
produced by ``cwmp theory``. One row per (d[, beta, dist, cost]):
``{"d", "beta", "dist", "cost",
   "p_theory",                 # normal (delta-method CLT) approximation
   "p_mc", "n_trials"[, "wins"]}``   # Monte Carlo frequency (optional p_mc_lo/hi; else a Wilson 95 % CI)
Lines: theory; markers: Monte Carlo with a 95 % binomial CI.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from . import style
from .data import figure, load_theory, wilson

NAME = "fig8_prob_beats"
KEY = "prob_beats"
KEYS = ("d", "p_theory")
CURVE_COLORS = ["#d62728", "#ff7f0e", "#8c1d40", "#e377c2", "#bcbd22", "#9467bd"]


@figure(8)
def make(results_dir: str | Path, out_dir: str | Path) -> list[Path] | None:
    rows = load_theory(results_dir, KEY, KEYS)
    curves: dict[tuple[str, ...], list[dict]] = defaultdict(list)
    for r in rows:
        beta = r.get("beta")
        curves[("" if beta is None else f"β={float(beta):g}", str(r.get("dist", "")), str(r.get("cost", "")))].append(r)
    fig, axes = style.new_figure(1, 1, figsize=(6.0, 4.2))
    ax = axes[0, 0]
    for i, (key, cr) in enumerate(sorted(curves.items())):
        cr.sort(key=lambda r: r["d"])
        col = CURVE_COLORS[i % len(CURVE_COLORS)]
        name = ", ".join(filter(None, key))
        ax.plot([r["d"] for r in cr], [100 * float(r["p_theory"]) for r in cr], color=col,
                label=f"{name}: theory (CLT)" if name else "theory (CLT)")
        mc = [r for r in cr if r.get("p_mc") is not None]
        if mc:
            lo, hi = [], []
            for r in mc:
                p = float(r["p_mc"])
                if r.get("p_mc_lo") is not None and r.get("p_mc_hi") is not None:
                    a, b = float(r["p_mc_lo"]), float(r["p_mc_hi"])
                elif r.get("n_trials"):
                    n = float(r["n_trials"])
                    a, b = wilson(float(r.get("wins", p * n)), n)
                else:
                    a = b = p
                lo.append(100 * max(p - a, 0.0))
                hi.append(100 * max(b - p, 0.0))
            ax.errorbar([r["d"] for r in mc], [100 * float(r["p_mc"]) for r in mc], yerr=[lo, hi], color=col,
                        ls="none", marker="o", mfc="white", capsize=2.5,
                        label=f"{name}: Monte Carlo (95 % CI)" if name else "Monte Carlo (95 % CI)")
    ax.axhline(50, color="#999999", lw=0.8, ls=":")
    ax.set_xscale("log")
    ax.set_ylim(-2, 102)
    ax.set_xlabel("dimension d (coordinates, log scale)")
    ax.set_ylabel("P(CWMP retains more than Top-K) (%)")
    ax.set_title("Probability that CWMP beats Top-K at equal energy")
    ax.legend(loc="lower right")
    style.footer(fig, "both selections at the same per-coordinate budget β")
    fig.tight_layout()
    return style.save(fig, out_dir, NAME)
