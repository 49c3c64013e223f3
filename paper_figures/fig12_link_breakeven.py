"""Fig 12: where CWMP pays off — its edge over Top-K as the link's energy per bit grows.

Inputs:
* ``results/theory/link_breakeven.json`` (``python -m theory.linkcost``; schema
  cwmp-link-breakeven/1: energy_per_bit_J, cost_cv, rows[].rho, .ratio,
  .breakeven_J_per_bit): the large-d i.i.d. prediction of eta_CWMP/eta_TopK;
* ``results/fl/paper/summary.json`` (on-device, no link) and every
  ``results/fl/paper-cv*/summary.json`` (mixed profiles), written by
  ``cwmp fl --preset <P> --summary``: keys cost_model.energy_per_bit_J / .cost_cv,
  retained_vs_topk, vs_topk[].d_final_acc_pts (budget mode), equal_accuracy_saving.

x axis: the link's energy per bit (log); no link (on-device) is drawn at the left
stub labelled 0; the top axis gives the CNN's cost CV. Panels: (a) eta ratio − 1
(log): theory lines per rho, the FL measurement (mean over client-rounds of the
retained-fraction ratio on the same update and budget; bar 10–90 %); (b) Δ final
accuracy CWMP g²/c budget − Top-K at matched energy, per seed and mean ± 95 %
t-interval; (c) energy saved at Top-K's final accuracy, per seed and mean.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from . import style
from .data import MissingResults, figure, pct, read_json, t_interval95

NAME = "fig12_link_breakeven"
THEORY_FILE = "theory/link_breakeven.json"
COMMAND = "python -m theory.linkcost; cwmp fl --preset paper-cv0.10 (and paper-cv0.03, paper) --summary"
RHO_COLORS = {0.01: "#6a3d9a", 0.05: "#1f78b4", 0.1: "#d62728", 0.2: "#33a02c"}
FL_RHOS = (0.05, 0.1)
ZERO_AT = 0.05e-12  # where "no link" (0 J/bit) is drawn on the log axis
_OFF = {False: 0.8, True: 1.25}  # x offsets (factors on the log axis) of the two rho levels' markers
X_MAX = 2e-8  # 20 nJ/bit: the gain is below 1e-7 beyond; Wi-Fi's 283 nJ/bit (edge-wifi) is far right


def _col(rho: float) -> str:
    return next((c for r, c in RHO_COLORS.items() if abs(r - rho) < 1e-9), "#555555")


def _x(e_bit: float) -> float:
    return ZERO_AT if e_bit == 0 else e_bit


def _fl_summaries(results: Path) -> list[tuple[str, dict]]:
    root = results / "fl"
    out = []
    for d in [root / "paper"] + sorted(root.glob("paper-cv*")):
        f = d / "summary.json"
        if f.is_file():
            doc = read_json(f, COMMAND)
            cm = doc.get("cost_model") if isinstance(doc, dict) else None
            if cm and cm.get("energy_per_bit_J") is not None:
                out.append((d.name, doc))
    return out


def _group(entries: list[dict] | None, method: str, rho: float) -> dict | None:
    return next((e for e in entries or [] if e.get("method") == method and abs(float(e["sparsity"]) - rho) < 1e-9
                 and e.get("mode", "budget") == "budget"), None)


@figure(12, COMMAND)
def make(results_dir: str | Path, out_dir: str | Path) -> list[Path] | None:
    results = Path(results_dir)
    th = read_json(results / THEORY_FILE, "python -m theory.linkcost")
    for k in ("energy_per_bit_J", "cost_cv", "rows"):
        if k not in th:
            raise MissingResults(f"{results / THEORY_FILE}: missing key {k}", "python -m theory.linkcost")
    fl = _fl_summaries(results)
    e = np.asarray(th["energy_per_bit_J"], float)
    x = np.where(e == 0, ZERO_AT, e)
    fig, axes = style.new_figure(1, 3, figsize=(14.0, 4.6))
    ax_r, ax_d, ax_s = axes[0]
    floor = 1e-7
    for row in th["rows"]:
        rho = float(row["rho"])
        ratio = np.maximum(np.asarray(row["ratio"], float) - 1.0, floor)
        be = (row.get("breakeven_J_per_bit") or {}).get("0.01")
        lab = f"theory, ρ = {pct(rho)}" + (f" (1 % gain below {be * 1e12:.3g} pJ/bit)" if be else "")
        ax_r.plot(x, ratio, color=_col(rho), lw=1.4, label=lab)
        if be:
            ax_r.plot([be], [0.01], marker="|", ms=10, color=_col(rho))
    ax_r.axhline(0.01, color="#999999", lw=0.7, ls=":")
    n_meas = 0
    for i_fl, (name, doc) in enumerate(fl):
        xb = _x(float(doc["cost_model"]["energy_per_bit_J"]))
        n_lab, never, top_d = [], [], -math.inf
        for rho in FL_RHOS:
            r = _group(doc.get("retained_vs_topk"), "cwmp-l2", rho)
            if r:
                y = max(float(r["ratio_mean"]) - 1.0, floor)
                lo, hi = max(float(r["ratio_p10"]) - 1.0, floor), max(float(r["ratio_p90"]) - 1.0, floor)
                ax_r.errorbar([xb * _OFF[rho > 0.07]], [y], yerr=[[y - lo], [hi - y]], fmt="o", color=_col(rho), ms=5, capsize=2,
                              mec="black", mew=0.6, zorder=4)
                n_meas += 1
            v = _group(doc.get("vs_topk"), "cwmp-l2", rho)
            if v and v.get("d_final_acc_pts"):
                pts = [float(p) for p in v["d_final_acc_pts"]]
                m, lo, hi, n = t_interval95(pts)
                dx = xb * _OFF[rho > 0.07]
                ax_d.scatter([dx] * n, pts, color=_col(rho), s=10, alpha=0.5, zorder=3)
                ax_d.errorbar([dx], [m], yerr=[[m - lo], [hi - m]], fmt="D", color=_col(rho), ms=5, capsize=3,
                              mec="black", mew=0.6, zorder=4)
                n_lab.append(n)
                top_d = max(top_d, hi)
            s = _group(doc.get("equal_accuracy_saving"), "cwmp-l2", rho)
            if s:
                vals = [100.0 * v for v in s["saving"] if v is not None]
                dx = xb * _OFF[rho > 0.07]
                ax_s.scatter([dx] * len(vals), vals, color=_col(rho), s=10, alpha=0.5, zorder=3)
                if s.get("saving_mean") is not None:
                    ax_s.plot([dx], [100.0 * float(s["saving_mean"])], "D", color=_col(rho), ms=5, mec="black", mew=0.6)
                never.append(len(s["saving"]) - len(vals))
        if n_lab:
            ax_d.annotate("n=" + "/".join(map(str, n_lab)), (xb, top_d), textcoords="offset points", xytext=(0, 3),
                          ha="center", fontsize=6.5)
        if any(never):  # staggered: neighbouring profiles (30 and 160 pJ/bit) would overlap
            ax_s.annotate("never " + "/".join(map(str, never)), (xb, 0), textcoords="offset points",
                          xytext=(0, -9 - 8 * (i_fl % 2)), ha="center", fontsize=6.5)
    e_of = _e_of(th)
    cv_ticks = [c for c in (0.2, 0.1, 0.03, 0.01, 0.001) if min(th["cost_cv"]) <= c <= max(th["cost_cv"])]
    for ax in (ax_r, ax_d, ax_s):
        ax.set_xscale("log")
        ax.set_xlim(ZERO_AT / 2, X_MAX)
        ticks = [t for t in (ZERO_AT, 1e-12, 1e-11, 1e-10, 1e-9, 1e-8) if t <= X_MAX]
        ax.set_xticks(ticks)
        ax.set_xticklabels(["0" if t == ZERO_AT else f"{t * 1e12:g}" for t in ticks])
        ax.minorticks_off()
        ax.set_xlabel("link energy per bit (pJ/bit; 0 = on-device, no link)")
        top = ax.secondary_xaxis("top")
        top.set_xticks([float(e_of(c)) for c in cv_ticks], [f"{c:g}" for c in cv_ticks])
        top.minorticks_off()
        top.set_xlabel("CNN cost CV (on-device memory costs + link)", fontsize=8)
    ax_r.set_yscale("log")
    ax_r.set_ylim(floor, 1.0)
    ax_r.set_ylabel("η_CWMP / η_TopK − 1 at equal energy (log)")
    ax_r.set_title("(a) efficiency gain: large-d i.i.d. theory (lines), real updates (dots, 10–90 %)")
    ax_r.legend(loc="lower left", fontsize=6.5)
    for ax, lab, title in ((ax_d, "Δ final test accuracy (pts)", "(b) CWMP g²/c budget − Top-K at matched energy"),
                           (ax_s, "energy saved at Top-K's final accuracy (%)",
                            "(c) energy saving at equal accuracy")):
        ax.axhline(0.0, color="black", lw=0.8)
        ax.set_ylabel(lab)
        ax.set_title(title)
    from matplotlib.lines import Line2D

    hd = [Line2D([], [], color=_col(r), marker="D", ls="", mec="black", mew=0.6, label=f"ρ = {pct(r)}")
          for r in FL_RHOS]
    ax_d.legend(handles=hd + [Line2D([], [], color="#777777", marker="o", ls="", alpha=0.5, ms=3,
                                     label="one seed")], loc="best", fontsize=7)
    lo, hi = ax_s.get_ylim()
    ax_s.set_ylim(min(lo, -0.12 * (hi - lo)), hi)  # room below 0 for the 'never' labels
    ax_s.text(0.98, 0.98, "never a/b: seeds that never reach\nTop-K's accuracy at ρ = " + " / ".join(pct(r) for r in FL_RHOS),
              transform=ax_s.transAxes, ha="right", va="top", fontsize=6.5)
    presets = ", ".join(f"{n} ({float(d['cost_model']['energy_per_bit_J']) * 1e12:.4g} pJ/bit)" for n, d in fl) or "none yet"
    style.footer(fig, f"{results / THEORY_FILE}; FL summaries: {presets}; {n_meas} measured points; bars in (b): "
                      "95 % t-interval over seeds; Wi-Fi (edge-wifi, 283 nJ/bit, CV 2e-5) lies off the right edge")
    fig.tight_layout()
    return style.save(fig, out_dir, NAME)


def _e_of(th: dict):
    e = np.asarray(th["energy_per_bit_J"], float)
    cv = np.asarray(th["cost_cv"], float)
    xs = np.where(e == 0, ZERO_AT, e)
    order = np.argsort(cv)

    def f(v):
        return np.exp(np.interp(np.asarray(v, float), cv[order], np.log(xs[order])))
    return f

