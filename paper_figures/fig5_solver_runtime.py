"""Fig 5: solver runtime vs d (greedy, LP, CVXPY MILP, fast paths), log–log.

Inputs, first found wins:
1. ``results/bench/*.json`` from ``cwmp bench``: ``rows[]`` with ``method`` (or ``solver``),
   ``d`` and a time in seconds (``seconds``, ``median_s``, ``median_seconds`` or ``time_s``);
   optional ``min_s``/``max_s`` (or ``q25_s``/``q75_s``) for the band, and ``family``.
2. ``results/solvers/compare.json`` from ``cwmp compare`` (rows[].method, .d, .seconds):
   the per-instance wall time of each method, over families, budgets and seeds.
Line: median over repeats/instances; band: the recorded spread, else the interquartile range.
Time-limited MILP runs (exact_proven false in compare.json) are drawn as hollow markers.
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
TIME_KEYS = ("seconds", "median_s", "median_seconds", "time_s")


def _bench_rows(results_dir: Path) -> tuple[list[dict], str] | None:
    files = sorted((results_dir / "bench").glob("*.json")) if (results_dir / "bench").is_dir() else []
    out: list[dict] = []
    for f in files:
        doc = read_json(f, BENCH_COMMAND)
        rows = doc.get("rows", []) if isinstance(doc, dict) else doc
        for r in rows if isinstance(rows, list) else []:
            if not isinstance(r, dict):
                continue
            method = r.get("method", r.get("solver"))
            t = next((r[k] for k in TIME_KEYS if r.get(k) is not None), None)
            if method is None or r.get("d") is None or t is None:
                continue
            lo = r.get("min_s", r.get("q25_s"))
            hi = r.get("max_s", r.get("q75_s"))
            out.append({"method": str(method), "d": int(r["d"]), "t": float(t),
                        "lo": None if lo is None else float(lo), "hi": None if hi is None else float(hi),
                        "limited": r.get("proven") is False or r.get("timed_out") is True})
    return (out, f"bench/*.json ({len(files)} file(s); band: recorded spread)") if out else None


def _compare_rows(results_dir: Path) -> tuple[list[dict], str]:
    path = results_dir / "solvers" / "compare.json"
    try:
        doc = read_json(path, f"{BENCH_COMMAND} (or {COMPARE_COMMAND})")
    except MissingResults as e:
        e.reason = f"no {results_dir / 'bench'}/*.json and {e.reason}"
        raise
    rows = doc.get("rows") if isinstance(doc, dict) else None
    out = [{"method": r["method"], "d": int(r["d"]), "t": float(r["seconds"]), "lo": None, "hi": None,
            "limited": r["method"].startswith("exact") and r.get("proven") is False}
           for r in rows or [] if isinstance(r, dict) and r.get("method") in COMPARE_METHODS
           and r.get("d") is not None and r.get("seconds") is not None]
    if not out:
        raise MissingResults(f"{path}: no rows with method, d, seconds", f"{BENCH_COMMAND} (or {COMPARE_COMMAND})")
    return out, "solvers/compare.json (no bench results; per-instance times over families, budgets, seeds; band: interquartile range)"


def load(results_dir: str | Path) -> tuple[list[dict], str]:
    results_dir = Path(results_dir)
    return _bench_rows(results_dir) or _compare_rows(results_dir)


def _band(rs: list[dict], side: str) -> float:
    """Recorded spread when the source has one, else the quartile of the per-instance times."""
    rec = [r[side] for r in rs if r[side] is not None]
    if rec:
        return min(rec) if side == "lo" else max(rec)
    return float(np.percentile([r["t"] for r in rs], 25 if side == "lo" else 75))


@figure(5)
def make(results_dir: str | Path, out_dir: str | Path) -> list[Path] | None:
    rows, source = load(results_dir)
    by: dict[str, dict[int, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        by[r["method"]][r["d"]].append(r)
    fig, axes = style.new_figure(1, 1, figsize=(6.0, 4.2))
    ax = axes[0, 0]
    for method in sorted(by, key=lambda m: (style.base_method(m)[0] != "cwmp", m)):
        ds = sorted(by[method])
        med = np.array([np.median([r["t"] for r in by[method][d]]) for d in ds])
        lo = np.array([_band(by[method][d], "lo") for d in ds])
        hi = np.array([_band(by[method][d], "hi") for d in ds])
        col = style.color(method)
        ax.plot(ds, med, color=col, marker=style.marker(method), label=style.label(method))
        style.band(ax, ds, lo, hi, col)
        limited = [d for d in ds if any(r["limited"] for r in by[method][d])]
        if limited:
            ax.plot(limited, [med[ds.index(d)] for d in limited], ls="none", marker="o", ms=9, mfc="none",
                    mec=col, label=f"{style.label(method)}: hit time limit")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("dimension d (coordinates)")
    ax.set_ylabel("wall time per solve (s)")
    ax.set_title("Solver runtime vs problem size")
    ax.legend(loc="upper left")
    style.footer(fig, f"source: {source}; line: median")
    fig.tight_layout()
    return style.save(fig, out_dir, NAME)
