"""Fig 5: solver runtime vs d (greedy, LP, CVXPY MILP, fast paths), log–log.

Inputs, first found wins:
1. ``results/bench/*.json`` (full run) or ``results/bench/quick/*.json`` (``--quick``) from
   ``cwmp bench`` (schema ``cwmp-bench/1`` in solvers/bench.py). Keys used: ``kind``
   (selection | exact | classes: one panel each) and ``records[]`` with ``d``, ``method``,
   ``median_s``, ``seconds`` (every repeat), ``status``, ``proven_optimal``.
2. ``results/solvers/compare.json`` from ``cwmp compare`` (rows[].method, .d, .seconds, .proven):
   the per-instance wall time of each method, over families, budgets and seeds.
Line: median over sparsities/families of the per-record median (repeat-median, so warm-up
outliers do not count); band: min–max of those medians over sparsities/families (bench) or the
interquartile range of the instances (compare.json). Hollow rings: an
exact solver stopped at its time limit there (the true time is larger).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from . import style
from .data import BENCH_COMMAND, COMPARE_COMMAND, MissingResults, figure, read_json

NAME = "fig5_solver_runtime"
# compare.json methods shown (one greedy is enough: they all cost one sort)
COMPARE_METHODS = ("cwmp-l2-dantzig", "topk-fill", "lp-dantzig", "exact-cvxpy", "exact-core")
KIND_TITLES = {
    "selection": "selection: fast vs sort-based (sparsity 1–20 %)",
    "exact": "exact solvers on instance families",
    "classes": "two cost classes (C9): exact vs torch.topk",
    "compare": "greedy vs LP vs exact (cwmp compare instances)",
}


def _limited(r: dict) -> bool:
    status = str(r.get("status") or "")
    return r.get("proven_optimal") is False or "limit" in status


def _bench_points(results_dir: Path) -> tuple[dict[str, list[dict]], str] | None:
    bench = results_dir / "bench"
    for folder, note in ((bench, "cwmp bench"), (bench / "quick", "cwmp bench --quick")):
        files = sorted(folder.glob("*.json")) if folder.is_dir() else []
        panels: dict[str, list[dict]] = defaultdict(list)
        for f in files:
            doc = read_json(f, BENCH_COMMAND)
            if not isinstance(doc, dict) or not isinstance(doc.get("records"), list):
                continue
            kind = str(doc.get("kind") or f.stem)
            for r in doc["records"]:
                if not isinstance(r, dict) or r.get("median_s") is None or r.get("d") is None or "method" not in r:
                    continue  # "skipped: ..." records carry no time
                t = float(r["median_s"])
                panels[kind].append({"method": str(r["method"]), "d": int(r["d"]), "t": t, "lo": t, "hi": t,
                                     "limited": _limited(r)})
        if panels:
            return dict(panels), (f"{note}: {', '.join(f.name for f in files)}; point: median over repeats; "
                                   "band: min–max over sparsities / families")
    return None


def _compare_points(results_dir: Path) -> tuple[dict[str, list[dict]], str]:
    path = results_dir / "solvers" / "compare.json"
    cmd = f"{BENCH_COMMAND} (or {COMPARE_COMMAND})"
    try:
        doc = read_json(path, cmd)
    except MissingResults as e:
        e.reason = f"no {results_dir / 'bench'}/*.json and {e.reason}"
        raise
    rows = doc.get("rows") if isinstance(doc, dict) else None
    by: dict[tuple[str, int], list[dict]] = defaultdict(list)
    for r in rows or []:
        if isinstance(r, dict) and r.get("method") in COMPARE_METHODS and r.get("d") is not None \
                and r.get("seconds") is not None:
            by[(r["method"], int(r["d"]))].append(r)
    if not by:
        raise MissingResults(f"{path}: no rows with method, d, seconds", cmd)
    pts = []
    for (method, d), rs in by.items():
        t = [float(r["seconds"]) for r in rs]
        pts.append({"method": method, "d": d, "t": float(np.median(t)), "lo": float(np.percentile(t, 25)),
                    "hi": float(np.percentile(t, 75)),
                    "limited": method.startswith("exact") and any(r.get("proven") is False for r in rs)})
    return {"compare": pts}, ("solvers/compare.json (no bench results): per-instance times over families, "
                              "budgets, seeds; band: interquartile range")


def load(results_dir: str | Path) -> tuple[dict[str, list[dict]], str]:
    results_dir = Path(results_dir)
    return _bench_points(results_dir) or _compare_points(results_dir)


@figure(5, BENCH_COMMAND)
def make(results_dir: str | Path, out_dir: str | Path) -> list[Path] | None:
    from matplotlib.lines import Line2D

    panels, source = load(results_dir)
    kinds = [k for k in ("selection", "exact", "classes", "compare") if k in panels] + \
        sorted(k for k in panels if k not in KIND_TITLES)
    fig, axes = style.new_figure(1, len(kinds), figsize=(5.0 * len(kinds) + 0.6, 4.4))
    for ax, kind in zip(axes[0], kinds):
        limited_any = False
        by: dict[str, dict[int, list[dict]]] = defaultdict(lambda: defaultdict(list))
        for p in panels[kind]:
            by[p["method"]][p["d"]].append(p)
        for method in sorted(by, key=lambda m: (not m.startswith(("cwmp", "greedy")), m)):
            ds = sorted(by[method])
            med = [float(np.median([p["t"] for p in by[method][d]])) for d in ds]
            lo = [min(p["lo"] for p in by[method][d]) for d in ds]
            hi = [max(p["hi"] for p in by[method][d]) for d in ds]
            col = style.color(method)
            ax.plot(ds, med, color=col, marker=style.marker(method), label=style.label(method))
            style.band(ax, ds, lo, hi, col, alpha=0.12)
            lim = [i for i, d in enumerate(ds) if any(p["limited"] for p in by[method][d])]
            if lim:
                ax.plot([ds[i] for i in lim], [med[i] for i in lim], ls="none", marker="o", ms=11, mfc="none",
                        mec=col, mew=1.2)
                limited_any = True
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("dimension d (coordinates)")
        ax.set_title(KIND_TITLES.get(kind, kind), fontsize=8.5)
        handles, labels = ax.get_legend_handles_labels()
        if limited_any:
            handles.append(Line2D([], [], ls="none", marker="o", ms=9, mfc="none", mec="k"))
            labels.append("hit time limit (true time larger)")
        ax.legend(handles, labels, loc="best", fontsize=6.8)
    axes[0, 0].set_ylabel("wall time per call (s)")
    fig.suptitle("Solver runtime vs problem size (log–log)", y=1.0)
    style.footer(fig, f"source: {source}; line: median")
    fig.tight_layout()
    return style.save(fig, out_dir, NAME)
