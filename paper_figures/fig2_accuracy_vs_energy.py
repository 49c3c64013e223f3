"""Fig 2: test accuracy vs cumulative energy (J), Top-K vs CWMP, one panel per sparsity.

The title names the methods present (``Top-K vs CWMP`` only when both are).

Input: ``results/fl/<preset>/*/metrics.json`` (keys used: config.method, config.mode,
config.sparsity, config.seed, rounds[].round, rounds[].test_acc, rounds[].cum_energy_J —
or rounds[].energy_J, summed), produced by ``cwmp fl --preset paper``.
Each curve: mean over seeds of (cumulative energy, accuracy) per round; the band is the
min–max accuracy over seeds. Dense FedAvg is left out (its energy is 1/ρ times larger);
its final accuracy is the grey dotted line.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import style
from .data import FL_COMMAND, acc_percent, figure, load_fl, pct, round_curve, spread

NAME = "fig2_accuracy_vs_energy"
METHODS = ("topk", "cwmp-l2", "cwmp-paper", "cwmp-exact")


def _compared(fl) -> str:
    """'Top-K vs CWMP' when both are present, else the labels of the methods drawn."""
    present = [m for m in METHODS if any(r.method == m for r in fl.runs)]
    if "topk" in present and any(m.startswith("cwmp") for m in present):
        return "Top-K vs CWMP"
    return ", ".join(style.label(m) for m in present)


@figure(2, FL_COMMAND)
def make(results_dir: str | Path, out_dir: str | Path, *, fl_preset: str | None = "paper") -> list[Path] | None:
    fl = load_fl(results_dir, fl_preset)
    fl.require_methods(METHODS, "Top-K/CWMP")
    groups = fl.groups()
    rhos = fl.sparsities() or [1.0]
    dense_final = spread([r.final_acc for (m, _, _), runs in groups.items() if m == "dense" for r in runs])
    fig, axes = style.panel_grid(len(rhos))
    for ax, rho in zip(axes.flat, rhos):
        for (method, mode, s), runs in groups.items():
            if method not in METHODS or abs(s - rho) > 1e-12:
                continue
            x_r, acc, lo, hi = round_curve(runs, "test_acc", acc_percent)
            x_e, energy, _, _ = round_curve(runs, "cum_energy_J")
            common = np.intersect1d(x_r, x_e)
            if common.size == 0:
                continue
            ia, ie = np.searchsorted(x_r, common), np.searchsorted(x_e, common)
            col = style.color(method)
            lab = style.label(method) + (" (budget)" if mode == "budget" else "")
            ax.plot(energy[ie], acc[ia], color=col, ls="--" if mode == "budget" else "-", label=lab)
            style.band(ax, energy[ie], lo[ia], hi[ia], col)
        if dense_final[3]:
            ax.axhline(dense_final[0], color=style.color("dense"), ls=":", lw=1.1, label="dense FedAvg (final)")
        ax.set_title(f"sparsity {pct(rho)}" if rho < 1 else "all runs")
        ax.set_xlabel("cumulative energy, all clients (J)")
        style.joules(ax.xaxis, nbins=4)
    style.finish_grid(fig, axes, len(rhos), ylabel="test accuracy (%)",
                      note=fl.note() + "; energy = transmission + memory update of the kept coordinates",
                      title=f"Accuracy vs energy spent, {_compared(fl)} ({fl.describe()})")
    return style.save(fig, out_dir, NAME)
