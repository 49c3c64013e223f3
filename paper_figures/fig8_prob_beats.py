"""Fig 8: P(CWMP beats Top-K at equal energy) vs d.

Input: ``results/theory/fig8_prob_beat_vs_d.json``, produced by ``cwmp theory`` (schema in
theory/report.py). Keys used: ``series[]`` with ``label``, ``d``, ``reps``, ``p_beat``, ``ci95``
(Wilson), ``p_tie``, ``normal_approx``, ``d_fine``, ``normal_approx_fine``; top level
``normal_approx_status`` and ``normal_approx_label``.
Filled markers: Monte Carlo P(CWMP retains strictly more) with its 95 % Wilson interval; crosses:
P(tie) (identical selections). The normal (delta-method CLT) approximation is drawn solid only when
the report verified it (``normal_approx_status == "verified"``); otherwise thin and dashed, with the
report's label (it is withdrawn when Monte Carlo excludes it at finite d, row T2-pbeat), and with
no status given it is labelled as unverified.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import style
from .data import THEORY_COMMAND, ci_errors, figure, load_theory

NAME = "fig8_prob_beats"
INPUT = "fig8_prob_beat_vs_d.json"


@figure(8, THEORY_COMMAND)
def make(results_dir: str | Path, out_dir: str | Path) -> list[Path] | None:
    data, series = load_theory(results_dir, INPUT, "series", ("d", "p_beat"))
    status = data.get("normal_approx_status") if isinstance(data, dict) else None
    verified = status == "verified"
    approx_label = (data.get("normal_approx_label") if isinstance(data, dict) else None) or (
        "normal approximation (CLT)" if verified else "normal approximation (not verified by the report)")
    approx_style = {"lw": 1.3, "ls": "-"} if verified else {"lw": 0.9, "ls": "--", "alpha": 0.7}
    fig, axes = style.new_figure(1, 1, figsize=(7.0, 4.2))
    ax = axes[0, 0]
    for i, s in enumerate(series):
        col = style.curve_color(i)
        name = s.get("label") or f"series {i + 1}"
        if s.get("d_fine") is not None and s.get("normal_approx_fine") is not None:
            ax.plot(s["d_fine"], 100 * np.asarray(s["normal_approx_fine"], float), color=col, **approx_style)
        elif s.get("normal_approx") is not None:
            ax.plot(s["d"], 100 * np.asarray(s["normal_approx"], float), color=col, **approx_style)
        p = np.asarray(s["p_beat"], float)
        lo, hi = ci_errors(p, s.get("ci95"))
        ax.errorbar(s["d"], 100 * p, yerr=[100 * np.asarray(lo), 100 * np.asarray(hi)], color=col, ls="none",
                    marker="o", capsize=2.5, label=name)
        if s.get("p_tie") is not None and any(float(t) > 0 for t in s["p_tie"]):
            ax.plot(s["d"], 100 * np.asarray(s["p_tie"], float), color=col, ls="none", marker="x", ms=5, alpha=0.7)
    from matplotlib.lines import Line2D

    handles, labels = ax.get_legend_handles_labels()
    handles += [Line2D([], [], color="k", **approx_style), Line2D([], [], color="k", marker="o", ls="none"),
                Line2D([], [], color="k", marker="x", ls="none")]
    labels += [approx_label, "Monte Carlo P(beat), 95 % Wilson CI", "Monte Carlo P(tie)"]
    ax.axhline(50, color="#999999", lw=0.8, ls=":")
    ax.set_xscale("log")
    ax.set_ylim(-3, 103)
    ax.set_xlabel("dimension d (coordinates, log scale)")
    ax.set_ylabel("probability (%)")
    ax.set_title("P(CWMP retains strictly more than budget-mode Top-K at the same energy budget)")
    ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)
    style.footer(fig, "both selections on the same draws at budget βd (dantzig greedy)")
    fig.tight_layout()
    return style.save(fig, out_dir, NAME)
