"""Fig 3 (headline): the accuracy–energy Pareto frontier over sparsity 1/5/10/20 %.

Input: ``results/fl/<preset>/*/metrics.json`` (keys used: config.method, config.mode,
config.sparsity, config.seed, final_test_acc, total_energy_J — or the last round's
test_acc / cum_energy_J), produced by ``cwmp fl --preset paper``.
One point per (method, mode, sparsity): mean over seeds, error bars min–max over seeds in
both directions; the points of a method are joined in energy order; dense FedAvg is the
grey star. Only complete runs are used (partial ones when no run is complete).
"""

from __future__ import annotations

from pathlib import Path

from . import style
from .data import FL_COMMAND, MissingResults, figure, load_fl, pct, spread

NAME = "fig3_pareto"


@figure(3, FL_COMMAND)
def make(results_dir: str | Path, out_dir: str | Path, *, fl_preset: str | None = "paper") -> list[Path] | None:
    fl = load_fl(results_dir, fl_preset)
    fl.require_methods()
    groups = fl.groups(complete_only=True)
    partial_note = ""
    if not groups:
        groups = fl.groups()
        partial_note = "PARTIAL runs (none complete)"
    lines: dict[tuple[str, str], list[tuple[float, float, float, float, float, float, float]]] = {}
    for (method, mode, rho), runs in groups.items():
        e = spread([r.total_energy_J for r in runs])
        a = spread([r.final_acc for r in runs])
        if not (e[3] and a[3]):
            continue
        lines.setdefault((method, mode), []).append((rho, *e[:3], *a[:3]))
    if not lines:
        raise MissingResults(f"{fl.root}: no run has final_test_acc and total_energy_J",
                             f"cwmp fl --preset {fl.preset}")
    fig, axes = style.new_figure(1, 1, figsize=(6.4, 4.4))
    ax = axes[0, 0]
    for (method, mode), pts in lines.items():
        pts.sort(key=lambda p: p[1])
        col = style.color(method)
        rho, e, elo, ehi, a, alo, ahi = zip(*pts)
        xerr = [[m - lo for m, lo in zip(e, elo)], [hi - m for m, hi in zip(e, ehi)]]
        yerr = [[m - lo for m, lo in zip(a, alo)], [hi - m for m, hi in zip(a, ahi)]]
        if method == "dense":
            ax.errorbar(e, a, xerr=xerr, yerr=yerr, color=col, marker="*", ms=13, ls="none",
                        capsize=2, label=style.label("dense") + " (reference)", zorder=5)
            continue
        budget = mode == "budget"
        ax.errorbar(e, a, xerr=xerr, yerr=yerr, color=col, marker="s" if budget else "o",
                     mfc="white" if budget else col, ls=":" if budget else "-", capsize=2,
                     label=style.label(method) + (" (budget mode)" if budget else ""))
        if not budget:
            for r_, x_, y_ in zip(rho, e, a):
                ax.annotate(pct(r_), (x_, y_), xytext=(4, -9), textcoords="offset points", fontsize=6.5,
                            color=col)
    ax.set_xscale("log")
    style.joules(ax.xaxis)
    ax.set_xlabel("total energy over training, all clients (J, log scale)")
    ax.set_ylabel("final test accuracy (%)")
    ax.set_title(f"Accuracy–energy Pareto frontier, sparsity 1/5/10/20 % ({fl.describe()})")
    ax.legend(loc="lower right")
    style.footer(fig, "; ".join(filter(None, [partial_note, fl.note(), "labels: sparsity ρ"])))
    fig.tight_layout()
    return style.save(fig, out_dir, NAME)

