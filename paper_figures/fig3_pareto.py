"""Fig 3 (headline): the accuracy–energy Pareto frontier over sparsity 1/5/10/20 %.

Input: ``results/fl/<preset>/*/metrics.json`` (keys used: config.method, config.mode,
config.sparsity, config.seed, final_test_acc, total_energy_J — or the last round's
test_acc / cum_energy_J), produced by ``cwmp fl --preset paper``.
One point per (method, mode, sparsity): mean over seeds, error bars min–max over seeds in
both directions for count mode; for budget mode (CWMP at Top-K's count-mode energy, at every
level ρ run) mean ± the 95 % Student-t interval over the seeds present, labelled "ρ, n=seeds"; the points of a method are joined in energy order; dense FedAvg is the
grey star. Only complete runs are used (partial ones when no run is complete).
Right panel (when Top-K runs exist): each method's final accuracy minus Top-K's with the
same seed and sparsity (same partition and initial model, so the pairing removes most of
the seed spread): small dots per seed, large marker the mean, label the mean energy ratio;
symlog y axis (linear within ±1 point) so a collapse and a sub-point gain both show.
"""

from __future__ import annotations

from pathlib import Path

from . import style
from .data import FL_COMMAND, MissingResults, _method_order, figure, load_fl, pct, spread, t_interval95

NAME = "fig3_pareto"
_LABEL_OFFSETS = [(4, -9, "left"), (-5, 5, "right"), (5, 5, "left"), (-5, -10, "right")]


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
    n_seeds: dict[tuple[str, str, float], int] = {}
    for (method, mode, rho), runs in groups.items():
        # count mode: min–max over seeds; budget mode: mean ± 95 % Student-t interval over seeds
        stat = t_interval95 if mode == "budget" else spread
        e = stat([r.total_energy_J for r in runs])
        a = stat([r.final_acc for r in runs])
        if not (e[3] and a[3]):
            continue
        lines.setdefault((method, mode), []).append((rho, *e[:3], *a[:3]))
        n_seeds[(method, mode, rho)] = min(e[3], a[3])
    if not lines:
        raise MissingResults(f"{fl.root}: no run has final_test_acc and total_energy_J",
                             f"cwmp fl --preset {fl.preset}")
    paired = _paired_differences(groups)
    fig, axes = style.new_figure(1, 2 if paired else 1, figsize=(11.0 if paired else 6.4, 4.4),
                                 **({"gridspec_kw": {"width_ratios": [1.6, 1]}} if paired else {}))
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
                     mfc="white" if budget else col, ls=":" if budget else "-", capsize=3 if budget else 2,
                     lw=1.3 if budget else None, elinewidth=1.4 if budget else None,
                     label=style.label(method) + (" (budget mode, mean ± 95 % t)" if budget else ""))
        if budget:
            # ρ and the number of seeds behind each interval, below the point
            dy = -10 if _method_order(method)[0] % 2 == 0 else -18
            for r_, x_, y_, lo_ in zip(rho, e, a, alo):
                ax.annotate(f"{pct(r_)}, n={n_seeds[(method, mode, r_)]}", (x_, lo_), xytext=(0, dy),
                            textcoords="offset points", fontsize=6.5, color=col, ha="center")
        else:
            # one label corner per method so labels of coinciding points (10 %, 20 %) stay apart
            dx, dy, ha = _LABEL_OFFSETS[_method_order(method)[0] % len(_LABEL_OFFSETS)]
            for r_, x_, y_ in zip(rho, e, a):
                ax.annotate(pct(r_), (x_, y_), xytext=(dx, dy), textcoords="offset points", fontsize=6.5,
                            color=col, ha=ha)
    ax.set_xscale("log")
    style.joules(ax.xaxis)
    ax.set_xlabel("total energy over training, all clients (J, log scale)")
    ax.set_ylabel("final test accuracy (%)")
    ax.set_title(f"Accuracy–energy Pareto frontier ({fl.describe()})", fontsize=9.5)
    ax.legend(loc="lower right")
    if paired:
        _draw_paired(axes[0, 1], paired)
    note = fl.note().replace("; bands: min–max over seeds", "; count-mode bars: min–max over seeds")
    style.footer(fig, "; ".join(filter(None, [partial_note, note, "budget-mode bars: 95 % Student-t interval of "
                                              "the mean over its n seeds (none when n = 1)", "labels: sparsity ρ"])))
    fig.tight_layout()
    return style.save(fig, out_dir, NAME)


def _paired_differences(groups) -> dict[tuple[str, str], list[tuple[float, list[float], float]]]:
    """(method, mode) -> [(sparsity, per-seed accuracy differences in points, mean energy ratio)] vs Top-K."""
    topk = {(r.seed, rho): r for (m, mode, rho), runs in groups.items() if m == "topk" and mode == "count"
            for r in runs}
    out: dict[tuple[str, str], list[tuple[float, list[float], float]]] = {}
    for (method, mode, rho), runs in groups.items():
        if method in ("dense", "topk"):
            continue
        pairs = [(r, topk[(r.seed, rho)]) for r in runs if (r.seed, rho) in topk
                 and None not in (r.final_acc, topk[(r.seed, rho)].final_acc)]
        if pairs:
            ratios = [a.total_energy_J / b.total_energy_J for a, b in pairs if a.total_energy_J and b.total_energy_J]
            out.setdefault((method, mode), []).append(
                (rho, [a.final_acc - b.final_acc for a, b in pairs], spread(ratios)[0]))
    return out


def _draw_paired(ax, paired) -> None:
    import numpy as np

    keys = sorted(paired, key=lambda k: (k[1] != "count", _method_order(k[0])))
    width = 0.8 / max(len(keys), 1)
    rhos = sorted({rho for pts in paired.values() for rho, _, _ in pts})
    for j, (method, mode) in enumerate(keys):
        col = style.color(method)
        budget = mode == "budget"
        for rho, diffs, ratio in paired[(method, mode)]:
            x = rhos.index(rho) + (j - (len(keys) - 1) / 2) * width
            ax.scatter([x] * len(diffs), diffs, s=9, color=col, alpha=0.6, zorder=3)
            ax.plot([x], [np.mean(diffs)], marker="s" if budget else "o", ms=7, color=col,
                    mfc="white" if budget else col, ls="none", zorder=4,
                    label=style.label(method) + (" (budget)" if budget else ""))
            # alternate above/below so neighbouring labels at one sparsity do not collide
            ax.annotate(f"×{ratio:.2f}", (x, np.mean(diffs)), xytext=(0, 7 if j % 2 == 0 else -12),
                        textcoords="offset points", ha="center", fontsize=6, color=col)
    ax.axhline(0, color="#444444", lw=0.8)
    # symlog: a collapse of tens of points and a sub-point gain must both stay readable
    ax.set_yscale("symlog", linthresh=1.0)
    alld = [d for pts in paired.values() for _, diffs, _ in pts for d in diffs]
    lo, hi = min(min(alld), -1.0), max(max(alld), 1.0)
    ymin, ymax = (lo * 1.6 if lo < -1 else lo - 0.5), (hi * 1.6 if hi > 1 else hi + 0.5)
    ax.set_ylim(ymin, ymax)
    ticks = [t for t in (-100, -30, -10, -3, -1, -0.5, 0, 0.5, 1, 3, 10, 30) if ymin <= t <= ymax]
    ax.set_yticks(ticks, [f"{t:+g}" if t else "0" for t in ticks])
    ax.minorticks_off()
    ax.grid(True, which="major", axis="y", alpha=0.3)
    ax.set_xticks(range(len(rhos)), [pct(r) for r in rhos])
    ax.set_xlabel("sparsity ρ (Top-K pair: same seed and ρ)")
    ax.set_ylabel("final accuracy − Top-K's (points, symlog)")
    ax.set_title("Paired by seed vs Top-K; ×: energy / Top-K's", fontsize=9.5)
    handles, labels = style.unique_legend([ax])
    ax.legend(handles, labels, loc="best", fontsize=7)

