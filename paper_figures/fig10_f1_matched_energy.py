"""Fig 10: claim F1 at matched energy, and the energy each method needs to reach a target accuracy.

Input: ``results/fl/<preset>/summary.json`` (keys used: f1[].id, .status, .interim_status,
.complete, .levels[].sparsity, .n_pairs, .delta_pts, .delta_mean_pts, .ci95_pts,
.bootstrap95_pts, .energy_ratio; energy_to_target[].target_acc, .rows[].method, .mode,
.sparsity, .n_seeds, .n_reached, .min_J, .max_J, .best_over_sparsity), produced by
``cwmp fl --preset paper --summary`` (schema: fl_validation/verdict.py).

Left: per matched level ρ, Δ = final test accuracy of CWMP in budget mode (each client-round
spends Top-K's count-mode energy at ρ on the same update) minus Top-K count mode at ρ, same
seed, in accuracy points; one column per CWMP score (g²/c, |g|/c) side by side. Small dots:
the per-seed Δ; large marker: the mean; thick capped bar: the 95 % Student-t interval (the
interval the F1 rule uses); thin dashed bar beside it: the paired percentile bootstrap 95 %
interval; n = number of seed pairs. The claim's status is in the legend ("interim" while a
level has fewer than five pairs).
Right: per target accuracy, each method's median energy to reach it (cumulative energy at the
first round with test accuracy ≥ target; median over seeds, "never" counted as +∞) at the
sparsity that minimises it (label under the marker); bar: min–max over the seeds that reached
it at that sparsity; × at the top: the median never reaches the target at any sparsity run.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import style
from .data import SUMMARY_COMMAND, MissingResults, _method_order, figure, load_fl_summary, pct

NAME = "fig10_f1_matched_energy"
SCORES = (("F1", "cwmp-l2"), ("F1-paper", "cwmp-paper"))
# energy-to-target series, in drawing order (absent ones are left out)
ETT_KEYS = ("topk/count", "cwmp-l2/budget", "cwmp-paper/budget", "cwmp-l2/count", "cwmp-paper/count",
            "dense/count")


@figure(10, SUMMARY_COMMAND)
def make(results_dir: str | Path, out_dir: str | Path, *, fl_preset: str | None = "paper") -> list[Path] | None:
    doc, path = load_fl_summary(results_dir, fl_preset, keys=("f1", "energy_to_target"))
    claims = {c["id"]: c for c in doc["f1"] if isinstance(c, dict) and "id" in c}
    targets = [t for t in doc["energy_to_target"] if isinstance(t, dict) and t.get("rows")]
    if not any(e["n_pairs"] for c in claims.values() for e in c["levels"]) and not targets:
        raise MissingResults(f"{path}: no matched (budget, Top-K) pair and no energy-to-target rows",
                             "cwmp fl --preset paper (budget-mode runs), then cwmp fl --preset paper --summary")
    fig, axes = style.new_figure(1, 2, figsize=(12.0, 4.6), gridspec_kw={"width_ratios": [1.15, 1]})
    _draw_f1(axes[0, 0], claims)
    _draw_energy_to_target(axes[0, 1], targets)
    preset = doc.get("preset", fl_preset)
    style.footer(fig, f"{path} (preset {preset}); left: Δ paired by seed, bars 95 % t (thick) and bootstrap "
                      f"(thin dashed); right: median over seeds, bars min–max over seeds that reached the target")
    fig.tight_layout()
    return style.save(fig, out_dir, NAME)


def _status_text(c: dict) -> str:
    if c.get("complete"):
        return c["status"].replace("_", " ")
    return f"interim: {c.get('interim_status', c['status']).replace('_', ' ')}"


def _draw_f1(ax, claims: dict) -> None:
    from matplotlib.lines import Line2D

    present = [(cid, m) for cid, m in SCORES if cid in claims]
    if not present:
        ax.text(0.5, 0.5, "no F1 claim in summary.json\n(needs budget-mode runs)", ha="center", va="center",
                transform=ax.transAxes, color="#555555")
        ax.set_xticks([])
        return
    levels = sorted({float(e["sparsity"]) for cid, _ in present for e in claims[cid]["levels"]})
    width = 0.36
    allv: list[float] = []
    for j, (cid, method) in enumerate(present):
        col = style.color(method)
        off = (j - (len(present) - 1) / 2) * width
        for e in claims[cid]["levels"]:
            x = levels.index(float(e["sparsity"])) + off
            d = [float(v) for v in e.get("delta_pts") or []]
            if not d:
                ax.text(x, 0, "no\npairs", ha="center", va="center", fontsize=6, color="#888888", zorder=5,
                        bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none"})
                continue
            allv += d
            jitter = np.linspace(-0.05, 0.05, len(d)) if len(d) > 1 else [0.0]
            ax.scatter(np.asarray(jitter) + x - 0.04, d, s=11, color=col, alpha=0.55, lw=0, zorder=3)
            mean = float(e["delta_mean_pts"]) if e.get("delta_mean_pts") is not None else float(np.mean(d))
            t = e.get("ci95_pts")
            if t:
                allv += list(map(float, t))
                ax.errorbar([x + 0.04], [mean], yerr=[[mean - t[0]], [t[1] - mean]], color=col, lw=2.2,
                            capsize=4, capthick=1.6, ls="none", zorder=4)
            b = e.get("bootstrap95_pts")
            if b:
                allv += list(map(float, b))
                eb = ax.errorbar([x + 0.12], [mean], yerr=[[mean - b[0]], [b[1] - mean]], color=col, lw=0.9,
                                 capsize=2, ls="none", zorder=4)
                eb[-1][0].set_linestyle("--")
            ax.plot([x + 0.04], [mean], marker="o", ms=7, color=col, mec="white", mew=0.8, ls="none", zorder=5)
            ratio = e.get("energy_ratio")
            e_txt = f"\nE×{ratio:.3f}" if ratio is not None else ""
            e["_label"] = (x, f"n={e['n_pairs']}{e_txt}", col)
    ax.axhline(0, color="#444444", lw=0.9, zorder=1)
    lo, hi = (min(allv), max(allv)) if allv else (-1.0, 1.0)
    pad = 0.12 * max(hi - lo, 1.0)
    ymin, ymax = min(lo, 0) - 2.6 * pad, max(hi, 0) + pad
    ax.set_ylim(ymin, ymax)
    for cid, _ in present:  # n pairs (and energy ratio) along the bottom
        for e in claims[cid]["levels"]:
            if "_label" in e:
                x, txt, col = e.pop("_label")
                ax.text(x + 0.04, ymin + 0.35 * pad, txt, ha="center", va="bottom", fontsize=6, color=col)
    ax.set_xticks(range(len(levels)), [pct(r) for r in levels])
    ax.set_xlim(-0.6, len(levels) - 0.4)
    ax.set_xlabel("matched level ρ (CWMP budget = Top-K's count-mode energy at ρ)")
    ax.set_ylabel("Δ final test accuracy (points)")
    ax.set_title("F1 at matched energy: CWMP (budget) − Top-K (count), same seed", fontsize=9.5)
    handles = [Line2D([], [], color=style.color(m), marker="o", ls="none", ms=7,
                      label=f"{style.label(m)} ({cid}): {_status_text(claims[cid])}") for cid, m in present]
    handles += [Line2D([], [], color="#555555", marker="o", ms=3.5, ls="none", alpha=0.6, label="per-seed Δ"),
                Line2D([], [], color="#555555", lw=2.2, label="95 % t-interval (rule)"),
                Line2D([], [], color="#555555", lw=0.9, ls="--", label="95 % bootstrap interval")]
    ax.legend(handles=handles, loc="upper left", fontsize=7, ncol=1)


def _ett_label(key: str) -> str:
    method, mode = key.split("/", 1)
    if method == "dense":
        return style.label("dense")
    return f"{style.label(method)} ({mode})"


def _draw_energy_to_target(ax, targets: list[dict]) -> None:
    if not targets:
        ax.text(0.5, 0.5, "no energy_to_target in summary.json", ha="center", va="center", transform=ax.transAxes,
                color="#555555")
        return
    seen = {f"{r['method']}/{r['mode']}" for t in targets for r in t["rows"]}
    keys = [k for k in ETT_KEYS if k in seen]
    keys += sorted(seen - set(keys), key=lambda k: _method_order(k.split("/")[0]))
    rhos_run = {k: sorted({float(r["sparsity"]) for t in targets for r in t["rows"]
                           if f"{r['method']}/{r['mode']}" == k}) for k in keys}
    width = 0.8 / max(len(keys), 1)
    finite = [float(v["median_J"]) for t in targets for v in t.get("best_over_sparsity", {}).values()
              if v.get("median_J")]
    finite += [float(r[k]) for t in targets for r in t["rows"] for k in ("min_J", "max_J") if r.get(k)]
    if not finite:
        finite = [1.0]
    y_never = max(finite) * 3.0
    drew_never = False
    for j, key in enumerate(keys):
        method, mode = key.split("/", 1)
        col = style.color(method)
        budget = mode == "budget"
        mk = "*" if method == "dense" else ("s" if budget else "o")
        lab = _ett_label(key)
        if method != "dense":
            lab += f"; ρ run: {', '.join(pct(r) for r in rhos_run[key])}"
        for i, t in enumerate(targets):
            x = i + (j - (len(keys) - 1) / 2) * width
            rows = [r for r in t["rows"] if f"{r['method']}/{r['mode']}" == key]
            if not rows:
                continue
            best = t.get("best_over_sparsity", {}).get(key)
            if not best or best.get("median_J") is None:
                ax.plot([x], [y_never], marker="x", ms=7, mew=1.8, color=col, ls="none", zorder=4,
                        label=lab)
                drew_never = True
                continue
            med = float(best["median_J"])
            row = next((r for r in rows if abs(float(r["sparsity"]) - float(best["sparsity"])) < 1e-9), None)
            lo = float(row["min_J"]) if row and row.get("min_J") else med
            hi = float(row["max_J"]) if row and row.get("max_J") else med
            ax.errorbar([x], [med], yerr=[[med - lo], [hi - med]], color=col, marker=mk,
                        ms=10 if method == "dense" else 6, mfc="white" if budget else col, ls="none", capsize=2,
                        lw=1.1, zorder=4, label=lab)
            txt = pct(float(best["sparsity"])) if method != "dense" else ""
            if best.get("n_reached") is not None and best.get("n_seeds") and best["n_reached"] < best["n_seeds"]:
                txt += f"\n{best['n_reached']}/{best['n_seeds']}"
            if txt:
                ax.annotate(txt, (x, lo), xytext=(0, -3), textcoords="offset points", ha="center", va="top",
                            fontsize=5.5, color=col, rotation=90 if "\n" not in txt else 0)
    ax.set_yscale("log")
    ymin = min(finite) / 3.0
    ax.set_ylim(ymin, y_never * (5.0 if drew_never else 1.0))
    if drew_never:
        ax.axhline(y_never * 1.45, color="#999999", lw=0.6, ls=":")
        ax.text(0.995, y_never * 1.5, "× never: median not reached at any ρ run", ha="right", va="bottom",
                fontsize=6.5, color="#333333", transform=ax.get_yaxis_transform())
    style.joules(ax.yaxis)
    ax.set_xticks(range(len(targets)), [f"{100 * float(t['target_acc']):g} %" for t in targets])
    ax.set_xlim(-0.5, len(targets) - 0.5)
    ax.set_xlabel("target test accuracy")
    ax.set_ylabel("energy to reach target, best ρ (J, log)")
    ax.set_title("Energy to target accuracy: median over seeds at the best sparsity", fontsize=9.5)
    handles, labels = style.unique_legend([ax])
    ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, -0.13), fontsize=6.5, ncol=2)
