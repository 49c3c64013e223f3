"""Fig 1: test accuracy vs round, one line per method, one panel per sparsity.

Input: ``results/fl/<preset>/*/metrics.json`` (keys used: config.method, config.mode,
config.sparsity, config.seed, rounds[].round, rounds[].test_acc), produced by
``cwmp fl --preset paper``. Dense FedAvg is drawn in every panel as the reference;
budget-mode runs are dashed. Bands: min–max over seeds.
"""

from __future__ import annotations

from pathlib import Path

from . import style
from .data import FL_COMMAND, acc_percent, figure, load_fl, pct, round_curve

NAME = "fig1_accuracy_vs_round"


@figure(1, FL_COMMAND)
def make(results_dir: str | Path, out_dir: str | Path, *, fl_preset: str | None = "paper") -> list[Path] | None:
    from matplotlib.ticker import MaxNLocator

    fl = load_fl(results_dir, fl_preset)
    groups = fl.groups()
    rhos = fl.sparsities() or [1.0]
    dense = [runs for (m, _, _), runs in groups.items() if m == "dense"]
    fig, axes = style.panel_grid(len(rhos))
    for ax, rho in zip(axes.flat, rhos):
        for runs in dense:
            x, mean, lo, hi = round_curve(runs, "test_acc", acc_percent)
            ax.plot(x, mean, color=style.color("dense"), label=style.label("dense"), lw=1.2)
            style.band(ax, x, lo, hi, style.color("dense"))
        for (method, mode, s), runs in groups.items():
            if method == "dense" or abs(s - rho) > 1e-12:
                continue
            x, mean, lo, hi = round_curve(runs, "test_acc", acc_percent)
            col = style.color(method)
            lab = style.label(method) + (" (budget)" if mode == "budget" else "")
            ax.plot(x, mean, color=col, ls="--" if mode == "budget" else "-", label=lab,
                    marker="o" if len(x) <= 12 else None, ms=3)
            style.band(ax, x, lo, hi, col)
        ax.set_title(f"sparsity {pct(rho)}" if rho < 1 else "all runs")
        ax.set_xlabel("communication round (rounds)")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    style.finish_grid(fig, axes, len(rhos), ylabel="test accuracy (%)",
                      note=fl.note() + "; dashed: budget mode (Top-K's energy)",
                      title=f"Non-IID CIFAR-10 FedAvg ({fl.describe()}): test accuracy per round")
    return style.save(fig, out_dir, NAME)
