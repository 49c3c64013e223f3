"""Fig 7: CWMP / Top-K efficiency ratio vs cost CV (closed form and simulation).

Input: ``results/theory/curves.json`` key ``efficiency_ratio`` (or ``results/theory/efficiency_ratio.json``),
produced by ``cwmp theory``. One row per (cost family, cv[, beta, dist]):
``{"cost" (e.g. "two-point", "lognormal"), "cv", "beta", "dist",
   "ratio_theory",                       # η_CWMP / η_TopK, closed form / large-d limit
   "ratio_mc", "ratio_mc_se"}``          # simulation mean and SE (optional ratio_mc_lo/hi)
η = Σ kept g² / Σ kept c at equal energy; the ratio is 1 at CV = 0 (T3).
Lines: closed form; markers: simulation with a 95 % CI.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from . import style
from .data import figure, load_theory

NAME = "fig7_efficiency_ratio"
KEY = "efficiency_ratio"
KEYS = ("cv", "ratio_theory")
Z = 1.96
CURVE_COLORS = ["#d62728", "#ff7f0e", "#8c1d40", "#e377c2", "#bcbd22", "#9467bd"]


@figure(7)
def make(results_dir: str | Path, out_dir: str | Path) -> list[Path] | None:
    rows = load_theory(results_dir, KEY, KEYS)
    curves: dict[tuple[str, str, str], list[dict]] = defaultdict(list)
    for r in rows:
        beta = r.get("beta")
        curves[(str(r.get("cost", "")), "" if beta is None else f"{float(beta):g}", str(r.get("dist", "")))].append(r)
    fig, axes = style.new_figure(1, 1, figsize=(6.0, 4.2))
    ax = axes[0, 0]
    for i, ((cost, beta, dist), cr) in enumerate(sorted(curves.items())):
        cr.sort(key=lambda r: r["cv"])
        col = CURVE_COLORS[i % len(CURVE_COLORS)]
        name = ", ".join(filter(None, [cost, f"β={beta}" if beta else "", dist]))
        cv = [float(r["cv"]) for r in cr]
        ax.plot(cv, [float(r["ratio_theory"]) for r in cr], color=col, label=f"{name}: closed form")
        mc = [r for r in cr if r.get("ratio_mc") is not None]
        if mc:
            lo, hi = [], []
            for r in mc:
                m = float(r["ratio_mc"])
                if r.get("ratio_mc_lo") is not None and r.get("ratio_mc_hi") is not None:
                    lo.append(m - float(r["ratio_mc_lo"]))
                    hi.append(float(r["ratio_mc_hi"]) - m)
                else:
                    se = float(r.get("ratio_mc_se") or 0.0)
                    lo.append(Z * se)
                    hi.append(Z * se)
            ax.errorbar([float(r["cv"]) for r in mc], [float(r["ratio_mc"]) for r in mc], yerr=[lo, hi], color=col,
                        ls="none", marker="o", mfc="white", capsize=2.5, label=f"{name}: simulation (95 % CI)")
    ax.axhline(1.0, color=style.color("topk"), lw=1.0, ls=":", label="Top-K (ratio 1)")
    ax.set_xlabel("cost coefficient of variation CV = sd(c)/mean(c) (dimensionless)")
    ax.set_ylabel("efficiency ratio η_CWMP / η_Top-K (×)")
    ax.set_title("Energy-efficiency gain of CWMP over Top-K at equal energy (T3)")
    ax.legend(loc="upper left")
    style.footer(fig, "η = retained Σ g² per joule; lines: large-d closed form; markers: Monte Carlo")
    fig.tight_layout()
    return style.save(fig, out_dir, NAME)
