"""Fig 9: energy per round by layer type, transmission vs memory update, for each method.

Input: ``results/fl/<preset>/*/metrics.json`` (keys used: config.method, config.mode,
config.sparsity, rounds[].energy_tx_J, rounds[].energy_mem_J and, when present,
rounds[].energy_mem_by_class_J = {"<layer kind>/<memory tier>": J}), produced by
``cwmp fl --preset paper``. Per run the per-round energies (all clients) are averaged
over rounds, then over seeds; the stacked bar shows transmission and the memory-update
energy split by layer class, the error bar the min–max over seeds of the total.
Bottom row (when rounds[].kept_by_class = {class: count} is recorded): the share of the kept
coordinates in each layer class — where CWMP moves the selection.
One panel per sparsity; dense FedAvg (about 1/ρ times larger) has its own panel.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from . import style
from .data import FL_COMMAND, MissingResults, figure, load_fl, pct, spread

NAME = "fig9_energy_by_layer"
TX_COLOR = "#4c72b0"
MEM_COLORS = ["#55a868", "#8172b3", "#937860", "#ccb974", "#64b5cd"]  # not the method colours
HATCH = {"count": "", "budget": "//"}


def _per_round(run, field: str) -> dict[str, float] | None:
    """Mean over rounds of the dict ``rounds[][field]`` ({class: value}); None if not recorded."""
    acc: dict[str, list[float]] = defaultdict(list)
    for r in run.rounds:
        d = r.get(field)
        if not isinstance(d, dict) or not d:
            return None
        for k, v in d.items():
            acc[k].append(float(v))
    return {k: float(np.mean(v)) for k, v in acc.items()}


def _energy_parts(run) -> dict[str, float] | None:
    """Mean over rounds of {"transmission": J, "memory update: <class>": J, ...}; None if not recorded."""
    if not all("energy_tx_J" in r and "energy_mem_J" in r for r in run.rounds):
        return None
    out = {"transmission": float(np.mean([float(r["energy_tx_J"]) for r in run.rounds]))}
    by_class = _per_round(run, "energy_mem_by_class_J")
    if by_class:
        out.update({f"memory update: {k}": v for k, v in by_class.items()})
    else:
        out["memory update"] = float(np.mean([float(r["energy_mem_J"]) for r in run.rounds]))
    return out


def _mean_dicts(parts: list[dict[str, float]]) -> dict[str, float]:
    keys = sorted({k for p in parts for k in p})
    return {k: float(np.mean([p.get(k, 0.0) for p in parts])) for k in keys}


def _stacked(ax, i: int, values: dict[str, float], keys: list[str], colors: dict[str, str], mode: str) -> None:
    bottom = 0.0
    for k in keys:
        v = values.get(k, 0.0)
        ax.bar(i, v, bottom=bottom, width=0.7, color=colors[k], hatch=HATCH.get(mode, ""), edgecolor="white",
               linewidth=0.5, label=k)
        bottom += v


@figure(9, FL_COMMAND)
def make(results_dir: str | Path, out_dir: str | Path, *, fl_preset: str | None = "paper") -> list[Path] | None:
    fl = load_fl(results_dir, fl_preset)
    fl.require_methods()  # a dense-only sweep has nothing to compare
    bars: dict[float, list[dict]] = defaultdict(list)
    for (method, mode, rho), runs in fl.groups().items():
        parts = [p for r in runs if (p := _energy_parts(r)) is not None]
        if not parts:
            continue
        kept = [k for r in runs if (k := _per_round(r, "kept_by_class")) is not None]
        share = None
        if kept:
            mean_kept = _mean_dicts(kept)
            tot = sum(mean_kept.values())
            share = {k: 100.0 * v / tot for k, v in mean_kept.items()} if tot > 0 else None
        bars[rho].append({"method": method, "mode": mode, "energy": _mean_dicts(parts),
                          "total": spread([sum(p.values()) for p in parts]), "share": share})
    if not bars:
        raise MissingResults(f"{fl.root}: no run records rounds[].energy_tx_J and energy_mem_J",
                             f"cwmp fl --preset {fl.preset}")
    e_keys = sorted({k for g in bars.values() for b in g for k in b["energy"]}, key=lambda k: (k != "transmission", k))
    classes = sorted({k.split(": ", 1)[1] for k in e_keys if ": " in k}
                     | {k for g in bars.values() for b in g if b["share"] for k in b["share"]})
    class_color = {c: MEM_COLORS[i % len(MEM_COLORS)] for i, c in enumerate(classes)}
    colors = {"transmission": TX_COLOR, "memory update": MEM_COLORS[0]}
    colors.update({f"memory update: {c}": class_color[c] for c in classes})
    colors.update({f"kept: {c}": class_color[c] for c in classes})
    has_share = any(b["share"] for g in bars.values() for b in g)
    rhos = sorted(bars)  # dense (1.0) last
    widths = [max(1.2, 0.75 * len(bars[r]) + 0.4) for r in rhos]
    fig, axes = style.new_figure(2 if has_share else 1, len(rhos), figsize=(sum(widths) + 1.2, 6.4 if has_share else 3.6),
                                 gridspec_kw={"width_ratios": widths}, sharex="col")
    for j, rho in enumerate(rhos):
        group = bars[rho]
        ax = axes[0, j]
        for i, b in enumerate(group):
            _stacked(ax, i, b["energy"], e_keys, colors, b["mode"])
            t = b["total"]
            if t[3] > 1:
                ax.errorbar(i, t[0], yerr=[[t[0] - t[1]], [t[2] - t[0]]], color="black", capsize=2, lw=0.8)
        ax.set_title("dense" if rho >= 1 else f"sparsity {pct(rho)}")
        style.joules(ax.yaxis)
        if has_share:
            ax2 = axes[1, j]
            for i, b in enumerate(group):
                if b["share"]:
                    _stacked(ax2, i, {f"kept: {k}": v for k, v in b["share"].items()},
                             [f"kept: {c}" for c in classes], colors, b["mode"])
            ax2.set_ylim(0, 100)
        bottom_ax = axes[-1, j]
        bottom_ax.set_xticks(np.arange(len(group)),
                             [style.label(b["method"]) + ("\n(budget)" if b["mode"] == "budget" else "") for b in group],
                             rotation=35, ha="right", fontsize=7)
        for tick, b in zip(bottom_ax.get_xticklabels(), group):
            tick.set_color(style.color(b["method"]))
        for a in axes[:, j]:
            a.grid(axis="x", visible=False)
    axes[0, 0].set_ylabel("energy per round, all clients (J)")
    if has_share:
        axes[1, 0].set_ylabel("kept coordinates by layer class (%)")
    style.footer(fig, fl.note() + "; error bar: total energy; hatched: budget mode")
    fig.tight_layout()
    handles, labels = style.unique_legend(axes.flat)
    uniq = dict(zip(labels, handles))
    order = [k for k in e_keys if k in uniq]
    style.top_legend(fig, [uniq[k] for k in order], order,
                     f"Energy per round by layer class: transmission vs memory update ({fl.describe()})",
                     ncol=min(len(order), 4))
    return style.save(fig, out_dir, NAME)
