"""Fig 7: CWMP / Top-K efficiency ratio vs cost CV (closed form and simulation).

Input: ``results/theory/fig7_efficiency_vs_cv.json``, produced by ``cwmp theory`` (schema in
theory/report.py). Keys used: top level ``dist``, ``budget_fraction`` (β / E[c]), ``d``, ``reps``,
``kappa``; ``series[]`` with ``label``, ``cv``, ``closed_form``, ``mc_mean``, ``mc_se``, ``mc_ci95``,
``cv_fine``, ``closed_form_fine``, ``small_cv_law_fine`` (1 + κ CV²).
η = retained Σ g² per unit energy at equal energy; the ratio is 1 at CV = 0 (T3).
Lines: closed form (large d); dotted grey: the small-CV law (drawn for CV ≤ 1); markers: Monte Carlo with 95 % CI.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import style
from .data import THEORY_COMMAND, ci_errors, figure, load_theory

NAME = "fig7_efficiency_ratio"
INPUT = "fig7_efficiency_vs_cv.json"
SMALL_CV_MAX = 1.0  # the 1 + κ CV² expansion is drawn up to this CV only (it is a small-CV law)


@figure(7, THEORY_COMMAND)
def make(results_dir: str | Path, out_dir: str | Path) -> list[Path] | None:
    doc, series = load_theory(results_dir, INPUT, "series", ("cv", "closed_form"))
    fig, axes = style.new_figure(1, 1, figsize=(6.2, 4.4))
    ax = axes[0, 0]
    law_drawn = False
    for i, s in enumerate(sorted(series, key=lambda s: -max(s.get("cv_fine") or s["cv"]))):
        col = style.curve_color(i)
        name = s.get("label") or f"series {i + 1}"
        fine = s.get("cv_fine") is not None and s.get("closed_form_fine") is not None
        x, y = (s["cv_fine"], s["closed_form_fine"]) if fine else (s["cv"], s["closed_form"])
        ax.plot(x, y, color=col, label=f"{name}: closed form")
        if not law_drawn and s.get("small_cv_law_fine") is not None and fine:
            kappa = doc.get("kappa")
            cv_f, law = np.asarray(s["cv_fine"], float), np.asarray(s["small_cv_law_fine"], float)
            keep = cv_f <= SMALL_CV_MAX
            ax.plot(cv_f[keep], law[keep], color="#777777", ls=":", lw=1.4,
                    label="small-CV law 1 + κ CV²" + (f" (κ = {float(kappa):.3g})" if kappa is not None else "")
                    + f", CV ≤ {SMALL_CV_MAX:g}")
            law_drawn = True
        if s.get("mc_mean") is not None:
            mean = np.asarray(s["mc_mean"], float)
            lo, hi = ci_errors(mean, s.get("mc_ci95"), s.get("mc_se"))
            ax.errorbar(s["cv"], mean, yerr=[lo, hi], color=col, ls="none", marker="o", mfc="white", capsize=2.5,
                        label=f"{name}: Monte Carlo, 95 % CI")
    ax.axhline(1.0, color=style.color("topk"), lw=1.0, ls="--", label="Top-K (ratio 1)")
    ax.set_xlabel("cost coefficient of variation CV = sd(c) / E[c] (dimensionless)")
    ax.set_ylabel("efficiency ratio η_CWMP / η_Top-K (×)")
    setting = ", ".join(filter(None, [
        f"β = {100 * float(doc['budget_fraction']):g} % of E[c]" if doc.get("budget_fraction") is not None else "",
        f"g {doc['dist']}" if doc.get("dist") else "",
        f"MC d = {doc['d']}" if doc.get("d") else "", f"{doc['reps']} reps" if doc.get("reps") else ""]))
    ax.set_title("CWMP vs Top-K efficiency at equal energy (T3)" + (f"\n{setting}" if setting else ""))
    ax.legend(loc="upper left")
    style.footer(fig, "η = retained Σ g² per unit energy; lines: large-d closed form; markers: Monte Carlo")
    fig.tight_layout()
    return style.save(fig, out_dir, NAME)
