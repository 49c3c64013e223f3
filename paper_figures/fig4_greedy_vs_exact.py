"""Fig 4: greedy vs exact — true and certified optimality gap vs d and budget fraction, per family.

Input: ``results/solvers/compare.json`` (keys used: rows[].family, .d, .budget_fraction,
.seed, .method, .true_gap, .certified_gap, .exact_proven), produced by ``cwmp compare``.
Rows: instance families; left column: gap vs d (over every budget fraction), right
column: gap vs budget fraction B/Σc (over every d). Solid = true gap (exact − value)/exact,
using only instances whose optimum is proven; dashed = certified gap (LP − value)/LP,
which needs no solver. Lines: mean; bands: min–max over seeds and the other axis.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from . import style
from .data import COMPARE_COMMAND, MissingResults, figure, read_json, rows_of, spread

NAME = "fig4_greedy_vs_exact"
INPUT = Path("solvers") / "compare.json"
KEYS = ("family", "d", "budget_fraction", "method", "true_gap", "certified_gap", "exact_proven")
METHODS = ("cwmp-l2-dantzig", "cwmp-l2-fill", "cwmp-l2-safe", "cwmp-paper-fill", "topk-fill")
LINTHRESH = 1e-3  # % : gaps below this are drawn on the linear part of the symlog axis (0 is exact)


def load(results_dir: str | Path) -> list[dict]:
    path = Path(results_dir) / INPUT
    rows = rows_of(read_json(path, COMPARE_COMMAND), KEYS, str(path), COMPARE_COMMAND)
    return [r for r in rows if r["method"] in METHODS]


def _curve(rows: list[dict], xkey: str, ykey: str, proven_only: bool):
    by_x: dict[float, list[float]] = defaultdict(list)
    for r in rows:
        if proven_only and not r["exact_proven"]:
            continue
        if r[ykey] is not None:
            by_x[float(r[xkey])].append(100.0 * max(float(r[ykey]), 0.0))  # -1e-16 rounding -> 0
    xs = sorted(by_x)
    s = np.array([spread(by_x[x])[:3] for x in xs]).reshape(-1, 3)
    return np.array(xs), s[:, 0], s[:, 1], s[:, 2]


@figure(4, COMPARE_COMMAND)
def make(results_dir: str | Path, out_dir: str | Path) -> list[Path] | None:
    from matplotlib.lines import Line2D
    from matplotlib.ticker import NullLocator

    rows = load(results_dir)
    fams: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        fams[r["family"]].append(r)
    if not fams:
        raise MissingResults(f"{INPUT}: none of the methods {', '.join(METHODS)}", COMPARE_COMMAND)
    fig, axes = style.new_figure(len(fams), 2, figsize=(8.2, 1.9 * len(fams) + 0.8), sharey=True)
    for (family, frows), row_axes in zip(fams.items(), axes):
        unproven = len({(r["d"], r["budget_fraction"], r.get("seed")) for r in frows if not r["exact_proven"]})
        for ax, xkey in zip(row_axes, ("d", "budget_fraction")):
            xs = sorted({float(r[xkey]) for r in frows})
            if xkey == "budget_fraction" and (len(xs) < 2 or xs[-1] / xs[0] < 1.01):
                ax.text(0.5, 0.5, f"budget fixed by construction\n(B/Σc ≈ {xs[-1]:.3g})", ha="center",
                        va="center", transform=ax.transAxes, fontsize=8, color="#555555")
                ax.set_xticks([])
                ax.set_title(family.replace("_", " "), fontsize=8)
                continue
            for m in METHODS:
                mrows = [r for r in frows if r["method"] == m]
                if not mrows:
                    continue
                col, mk = style.color(m), style.marker(m)
                x, mean, lo, hi = _curve(mrows, xkey, "true_gap", proven_only=True)
                if x.size:
                    ax.plot(x, mean, color=col, marker=mk, label=style.label(m))
                    style.band(ax, x, lo, hi, col, alpha=0.08)
                x, mean, _, _ = _curve(mrows, xkey, "certified_gap", proven_only=False)
                ax.plot(x, mean, color=col, marker=mk, mfc="none", ls="--", lw=1.0)
            ax.set_xscale("log")
            ax.set_xticks(xs, [f"{x:g}" for x in xs])
            ax.xaxis.set_minor_locator(NullLocator())
            ax.set_yscale("symlog", linthresh=LINTHRESH)
            ax.set_title(family.replace("_", " ") + (f"  ({unproven} inst. without proven optimum)"
                                                     if unproven else ""), fontsize=8)
        row_axes[0].set_ylabel("gap (%)")
    axes[0, 0].set_ylim(0, 200)  # shared: gaps are in [0, 100] %
    axes[-1, 0].set_xlabel("dimension d (coordinates)")
    axes[-1, 1].set_xlabel("budget fraction B / Σc")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    handles += [Line2D([], [], color="k", ls="-"), Line2D([], [], color="k", ls="--", mfc="none", marker="o")]
    labels += ["true gap (vs proven MILP optimum)", "certified gap (vs LP bound)"]
    style.footer(fig, f"symlog axis, linear below {LINTHRESH:g} %; bands: min–max over seeds and the other axis")
    fig.tight_layout()
    style.top_legend(fig, handles, labels, "Greedy vs exact on P: optimality gap per instance family", ncol=4)
    return style.save(fig, out_dir, NAME)
