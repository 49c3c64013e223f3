"""Fig 9: energy per round by layer type, transmission vs memory update, for each method.

Input: ``results/fl/<preset>/*/metrics.json`` (keys used: config.method, config.mode,
config.sparsity, rounds[].energy_tx_J, rounds[].energy_mem_J and, when present,
rounds[].energy_mem_by_class_J = {"<layer kind>/<memory tier>": J}), produced by
``cwmp fl --preset paper``. Per run the per-round energies (all clients) are averaged
over rounds, then over seeds; the stacked bar shows transmission and the memory-update
energy split by layer class, the error bar the min–max over seeds of the total.
One panel per sparsity; dense FedAvg (about 1/ρ times larger) has its own panel.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from . import style
from .data import MissingResults, figure, load_fl, pct, spread

NAME = "fig9_energy_by_layer"
TX_COLOR = "#4c72b0"
MEM_COLORS = ["#55a868", "#8172b3", "#937860", "#ccb974", "#64b5cd"]  # not the method colours
HATCH = {"count": "", "budget": "//"}


def _per_round_parts(run) -> dict[str, float] | None:
    """Mean over rounds of {"transmission": J, "memory: <class>": J, ...}; None if not recorded."""
    acc: dict[str, list[float]] = defaultdict(list)
    for r in run.rounds:
        if "energy_tx_J" not in r or "energy_mem_J" not in r:
            return None
        acc["transmission"].append(float(r["energy_tx_J"]))
        by_class = r.get("energy_mem_by_class_J")
        if isinstance(by_class, dict) and by_class:
            for k, v in by_class.items():
                acc[f"memory update: {k}"].append(float(v))
        else:
            acc["memory update"].append(float(r["energy_mem_J"]))
    return {k: float(np.mean(v)) for k, v in acc.items()}


@figure(9)
def make(results_dir: str | Path, out_dir: str | Path, *, fl_preset: str | None = "paper") -> list[Path] | None:
    fl = load_fl(results_dir, fl_preset)
    bars: dict[float, list[tuple[str, str, dict[str, float], tuple]]] = defaultdict(list)
    for (method, mode, rho), runs in fl.groups().items():
        parts = [p for r in runs if (p := _per_round_parts(r)) is not None]
        if not parts:
            continue
        keys = sorted({k for p in parts for k in p})
        mean = {k: float(np.mean([p.get(k, 0.0) for p in parts])) for k in keys}
        total = spread([sum(p.values()) for p in parts])
        bars[rho].append((method, mode, mean, total))
    if not bars:
        raise MissingResults(f"{fl.root}: no run records rounds[].energy_tx_J and energy_mem_J",
                             f"cwmp fl --preset {fl.preset}")
    keys = sorted({k for group in bars.values() for _, _, mean, _ in group for k in mean},
                  key=lambda k: (k != "transmission", k))
    colors = {k: TX_COLOR if k == "transmission" else MEM_COLORS[i % len(MEM_COLORS)]
              for i, k in enumerate(k for k in keys if k != "transmission")}
    colors["transmission"] = TX_COLOR
    rhos = sorted(bars)  # dense (1.0) last
    widths = [max(1.2, 0.75 * len(bars[r]) + 0.4) for r in rhos]
    fig, axes = style.new_figure(1, len(rhos), figsize=(sum(widths) + 1.2, 3.6),
                                 gridspec_kw={"width_ratios": widths})
    for ax, rho in zip(axes[0], rhos):
        group = bars[rho]
        x = np.arange(len(group))
        for i, (method, mode, mean, total) in enumerate(group):
            bottom = 0.0
            for k in keys:
                v = mean.get(k, 0.0)
                ax.bar(i, v, bottom=bottom, width=0.7, color=colors[k], hatch=HATCH.get(mode, ""),
                       edgecolor="white", linewidth=0.5, label=k)
                bottom += v
            if total[3] > 1:
                ax.errorbar(i, total[0], yerr=[[total[0] - total[1]], [total[2] - total[0]]], color="black",
                            capsize=2, lw=0.8)
        ax.set_xticks(x, [style.label(m) + ("\n(budget)" if mode == "budget" else "") for m, mode, _, _ in group],
                      rotation=35, ha="right", fontsize=7)
        for tick, (m, _, _, _) in zip(ax.get_xticklabels(), group):
            tick.set_color(style.color(m))
        ax.set_title("dense" if rho >= 1 else f"sparsity {pct(rho)}")
        ax.grid(axis="x", visible=False)
        style.joules(ax.yaxis)
    axes[0, 0].set_ylabel("energy per round, all clients (J)")
    style.footer(fig, fl.note() + "; error bar: total; hatched: budget mode")
    fig.tight_layout()
    handles, labels = style.unique_legend(axes.flat)
    uniq = dict(zip(labels, handles))
    style.top_legend(fig, [uniq[k] for k in keys if k in uniq], [k for k in keys if k in uniq],
                     f"Energy per round by layer class: transmission vs memory update ({fl.describe()})",
                     ncol=min(len(keys), 4))
    return style.save(fig, out_dir, NAME)
