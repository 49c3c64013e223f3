"""Fig 6: theory vs Monte Carlo — retained fraction and energy vs budget, with CIs.

Input: ``results/theory/curves.json`` key ``budget_curves`` (or ``results/theory/budget_curves.json``),
produced by ``cwmp theory``. One row per (dist, cost, method, beta):
``{"dist", "cost", "method" ("topk" | "cwmp-l2" | ...), "beta",
   "retained_theory", "energy_theory",            # large-d limits r(β), e(β)
   "retained_mc", "retained_mc_se", "energy_mc", "energy_mc_se",   # finite-d Monte Carlo mean and SE
   "d", "n_trials"}`` (optional ``retained_mc_lo/hi``, ``energy_mc_lo/hi``: explicit CI bounds).
Retained is a fraction of E[g²]; β and energy are per coordinate, in the cost profile's units;
the energy panel shows energy / β in % (the limit is 100 % while β < E[c]).
Lines: theory; markers: Monte Carlo mean with a 95 % CI (±1.96 SE unless lo/hi are given).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from . import style
from .data import figure, load_theory

NAME = "fig6_theory_vs_mc"
KEY = "budget_curves"
KEYS = ("method", "beta", "retained_theory", "energy_theory", "retained_mc", "energy_mc")
Z = 1.96


def _ci(r: dict, q: str) -> tuple[float, float]:
    m = float(r[f"{q}_mc"])
    if r.get(f"{q}_mc_lo") is not None and r.get(f"{q}_mc_hi") is not None:
        return m - float(r[f"{q}_mc_lo"]), float(r[f"{q}_mc_hi"]) - m
    se = float(r.get(f"{q}_mc_se") or 0.0)
    return Z * se, Z * se


@figure(6)
def make(results_dir: str | Path, out_dir: str | Path) -> list[Path] | None:
    rows = load_theory(results_dir, KEY, KEYS)
    panels: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for r in rows:
        panels[(str(r.get("dist", "")), str(r.get("cost", "")))].append(r)
    fig, axes = style.new_figure(len(panels), 2, figsize=(8.0, 2.9 * len(panels)))
    for ((dist, cost), prs), (ax_r, ax_e) in zip(panels.items(), axes):
        methods = sorted({r["method"] for r in prs}, key=lambda m: (m != "topk", m))
        for m in methods:
            mr = sorted((r for r in prs if r["method"] == m), key=lambda r: r["beta"])
            beta = [float(r["beta"]) for r in mr]
            col = style.color(m)
            for ax, q in ((ax_r, "retained"), (ax_e, "energy")):
                # retained: % of E[g²]; energy: % of the budget β (the finite-d greedy leaves a remainder)
                scale = [100.0 if q == "retained" else 100.0 / float(r["beta"]) for r in mr]
                ax.plot(beta, [k * float(r[f"{q}_theory"]) for k, r in zip(scale, mr)], color=col,
                        label=f"{style.label(m)}: theory")
                err = [_ci(r, q) for r in mr]
                ax.errorbar(beta, [k * float(r[f"{q}_mc"]) for k, r in zip(scale, mr)],
                            yerr=[[k * e[0] for k, e in zip(scale, err)], [k * e[1] for k, e in zip(scale, err)]],
                            color=col, ls="none",
                            marker=style.marker(m) if style.base_method(m)[1] else "o", mfc="white", capsize=2.5,
                            label=f"{style.label(m)}: Monte Carlo (95 % CI)")
        d = sorted({int(r["d"]) for r in prs if r.get("d") is not None})
        n = sorted({int(r["n_trials"]) for r in prs if r.get("n_trials") is not None})
        law = ", ".join(filter(None, [f"g ~ {dist}" if dist else "", f"cost {cost}" if cost else ""]))
        mc = ", ".join(filter(None, [f"Monte Carlo d = {'/'.join(map(str, d))}" if d else "",
                                     f"{'/'.join(map(str, n))} trials" if n else ""]))
        ax_r.set_title(f"retained — {law}" if law else "retained", fontsize=8)
        ax_e.set_title(f"energy — {mc}" if mc else "energy", fontsize=8)
        ax_r.set_ylabel("retained Σ kept g² / Σ g² (%)")
        ax_e.set_ylabel("energy spent / budget βd (%)")
        for ax in (ax_r, ax_e):
            ax.set_xlabel("per-coordinate budget β = B/d (cost units)")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    style.footer(fig, "lines: large-d limit; markers: finite-d Monte Carlo mean, 95 % CI")
    fig.tight_layout()
    style.top_legend(fig, handles, labels, "Theory vs Monte Carlo: retained fraction and energy at budget β", ncol=2)
    return style.save(fig, out_dir, NAME)
