"""`cwmp compare` / `python -m solvers`: greedy vs exact vs LP on instance families.

Writes results/solvers/compare.json:
{
  "config": {"families", "dims", "budget_fractions", "seeds", "milp_solver", "milp_time_limit_s", "quick"},
  "environment": {...solvers.io.environment_info()},
  "rows": [{"family", "d", "budget_fraction", "budget", "seed", "method", "value", "energy",
            "exact_value", "exact_status", "exact_proven", "lp_bound", "true_gap", "certified_gap",
            "seconds"}],
  "summary": [{"family", "method", "n", "mean_true_gap", "max_true_gap", "mean_certified_gap",
               "max_certified_gap", "median_seconds", "all_sandwich_ok"}]
}
true_gap = (exact − value)/exact (exact = the MILP optimum; when not proven, the best
bound-certified value found, flagged by exact_proven=false); certified_gap = (LP − value)/LP.
The exact methods appear as rows too ("exact-cvxpy", "exact-core" when available).
"""

from __future__ import annotations

import argparse
import math
import time
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .families import FAMILIES, make_instance
from .io import atomic_write_json, check_writable_dir, environment_info


@dataclass(frozen=True)
class CompareConfig:
    families: tuple[str, ...] = FAMILIES
    dims: tuple[int, ...] = (100, 1000, 10000)
    budget_fractions: tuple[float, ...] = (0.01, 0.05, 0.2, 0.5)
    seeds: tuple[int, ...] = (0, 1, 2)
    milp_solver: str = "HIGHS"
    # CVXPY/HiGHS stalls on strongly correlated and equal-cost structure: cap it, report status.
    milp_time_limit_s: float = 60.0
    quick: bool = False

    def __post_init__(self) -> None:
        """Range checks, so a bad grid is refused before any instance is solved."""
        from .families import FAMILIES as known

        def bad(msg: str) -> None:
            raise ValueError(msg)

        if not self.families or any(f not in known for f in self.families):
            bad(f"--families must be among {', '.join(known)}, got {list(self.families)}")
        if not self.dims or any(isinstance(d, bool) or not isinstance(d, int) or d < 2 for d in self.dims):
            bad(f"--dims must be integers >= 2 (d coordinates), got {list(self.dims)}")
        if not self.budget_fractions or any(not (isinstance(b, (int, float)) and math.isfinite(b) and 0 < b <= 1)
                                            for b in self.budget_fractions):
            bad(f"--budget-fractions must be in (0, 1] (B / sum c), got {list(self.budget_fractions)}")
        if not self.seeds or any(isinstance(s, bool) or not isinstance(s, int) or s < 0 for s in self.seeds):
            bad(f"--seeds must be integers >= 0, got {list(self.seeds)}")
        t = self.milp_time_limit_s
        if not (isinstance(t, (int, float)) and math.isfinite(t) and t > 0):
            bad(f"--milp-time-limit must be a finite number of seconds > 0, got {t!r}")


QUICK = CompareConfig(dims=(100, 1000), budget_fractions=(0.05, 0.2, 0.5), seeds=(0,),
                      milp_time_limit_s=5.0, quick=True)

GREEDY_METHODS = tuple(f"cwmp-{s}-{g}" for s in ("l2", "paper") for g in ("dantzig", "fill", "safe")) + (
    "topk-dantzig", "topk-fill")
TOL = 1e-9  # relative tolerance of the sandwich checks (float sums in different orders)


def _timed(fn, *args, **kw):
    t0 = time.perf_counter()
    out = fn(*args, **kw)
    return out, time.perf_counter() - t0


def _have_core() -> bool:
    try:
        from . import core  # noqa: F401
    except ImportError:
        return False
    return True


def run_compare(cfg: CompareConfig, progress: bool = True) -> dict[str, Any]:
    from tqdm import tqdm

    from . import cwmp_mask, solve_exact, solve_lp, topk_mask

    grid = [(f, d, b, s) for f in cfg.families for d in cfg.dims for b in cfg.budget_fractions
            for s in cfg.seeds if not (f == "adversarial_c6" and b != cfg.budget_fractions[0])]
    core = _have_core()
    rows: list[dict[str, Any]] = []
    bar = tqdm(grid, desc="compare", disable=not progress, unit="inst")
    for family, d, frac, seed in bar:
        bar.set_postfix_str(f"{family} d={d} B={frac}")
        inst = make_instance(family, d, frac, seed)
        g, c, B = inst.g, inst.c, inst.budget
        ex, t_ex = _timed(solve_exact, g, c, B, backend="cvxpy", solver=cfg.milp_solver,
                          time_limit=cfg.milp_time_limit_s)
        lp, t_lp = _timed(solve_lp, g, c, B)
        results: list[tuple[str, float, float | None, float, str | None, bool | None]] = []
        for m in GREEDY_METHODS:
            kind, *rest = m.split("-")
            if kind == "cwmp":
                sel, t = _timed(cwmp_mask, g, c, budget=B, score=rest[0], greedy=rest[1])
            else:
                sel, t = _timed(topk_mask, g, c=c, budget=B, greedy=rest[0])
            results.append((m, sel.value, sel.energy, t, None, None))
        results.append(("lp-dantzig", lp.value, None, t_lp, lp.status, True))
        results.append(("exact-cvxpy", ex.value, ex.selection.energy, t_ex, ex.status, ex.proven_optimal))
        best, best_proven = ex.value, ex.proven_optimal
        if core:
            exc, t_c = _timed(solve_exact, g, c, B, backend="core", time_limit=cfg.milp_time_limit_s)
            results.append(("exact-core", exc.value, exc.selection.energy, t_c, exc.status, exc.proven_optimal))
            if exc.proven_optimal and (not best_proven or exc.value > best):
                best, best_proven = exc.value, True
        for method, value, energy, secs, status, proven in results:
            true_gap = (best - value) / best if best > 0 else 0.0
            cert = (lp.value - value) / lp.value if lp.value > 0 else 0.0
            rows.append(dict(family=family, d=d, budget_fraction=inst.budget_fraction, budget=B, seed=seed,
                             method=method, value=value, energy=energy, exact_value=best,
                             exact_status=ex.status, exact_proven=best_proven, lp_bound=lp.value,
                             true_gap=true_gap, certified_gap=cert, seconds=secs, status=status,
                             proven=proven))
    return {"config": asdict(cfg), "environment": environment_info(), "rows": rows,
            "summary": summarise(rows)}


def summarise(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        groups[(r["family"], r["method"])].append(r)
    out = []
    for (family, method), rs in groups.items():
        ok = all(_sandwich_ok(r) for r in rs)
        out.append(dict(family=family, method=method, n=len(rs),
                        mean_true_gap=float(np.mean([r["true_gap"] for r in rs])),
                        max_true_gap=float(np.max([r["true_gap"] for r in rs])),
                        mean_certified_gap=float(np.mean([r["certified_gap"] for r in rs])),
                        max_certified_gap=float(np.max([r["certified_gap"] for r in rs])),
                        median_seconds=float(np.median([r["seconds"] for r in rs])),
                        all_exact_proven=all(r["exact_proven"] for r in rs), all_sandwich_ok=ok))
    return out


def _sandwich_ok(r: dict[str, Any]) -> bool:
    """value ≤ exact ≤ LP (exact only when proven) and certified gap ≥ true gap."""
    scale = max(abs(r["lp_bound"]), 1e-300)
    if r["method"] == "lp-dantzig":
        return r["exact_value"] <= r["lp_bound"] + TOL * scale
    ok = r["value"] <= r["lp_bound"] + TOL * scale
    if r["exact_proven"]:
        ok &= r["value"] <= r["exact_value"] + TOL * scale and r["exact_value"] <= r["lp_bound"] + TOL * scale
        ok &= r["certified_gap"] >= r["true_gap"] - TOL
    return bool(ok)


def format_table(result: dict[str, Any]) -> str:
    lines = [f"{'family':<28} {'method':<18} {'n':>3} {'true gap mean/max':>19} {'cert gap mean/max':>19}"
             f" {'median s':>9} {'exact?':>6} {'sandwich':>8}"]
    for s in result["summary"]:
        lines.append(f"{s['family']:<28} {s['method']:<18} {s['n']:>3} "
                     f"{s['mean_true_gap']:>9.2e}/{s['max_true_gap']:<9.2e} "
                     f"{s['mean_certified_gap']:>9.2e}/{s['max_certified_gap']:<9.2e} "
                     f"{s['median_seconds']:>9.2e} {('yes' if s['all_exact_proven'] else 'NO'):>6} "
                     f"{('ok' if s['all_sandwich_ok'] else 'FAIL'):>8}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cwmp compare", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small grid, under a minute")
    parser.add_argument("--results", default="results", help="results directory (default: ./results)")
    parser.add_argument("--families", nargs="+", choices=FAMILIES, help="subset of families")
    parser.add_argument("--dims", nargs="+", type=int, help="dimensions d")
    parser.add_argument("--budget-fractions", nargs="+", type=float, help="B / Σc values")
    parser.add_argument("--seeds", nargs="+", type=int)
    parser.add_argument("--milp-time-limit", type=float, help="seconds per MILP solve")
    parser.add_argument("--milp-solver", choices=("HIGHS", "SCIP"))
    parser.add_argument("--no-progress", action="store_true")
    ns = parser.parse_args(argv)
    cfg = QUICK if ns.quick else CompareConfig()
    over = {k: tuple(v) if isinstance(v, list) else v for k, v in dict(
        families=ns.families, dims=ns.dims, budget_fractions=ns.budget_fractions, seeds=ns.seeds,
        milp_time_limit_s=ns.milp_time_limit, milp_solver=ns.milp_solver).items() if v is not None}
    cfg = CompareConfig(**{**asdict(cfg), **over})  # ValueError naming a bad value: exit 2 at `cwmp`
    check_writable_dir(Path(ns.results) / "solvers")
    result = run_compare(cfg, progress=not ns.no_progress)
    out = Path(ns.results) / "solvers" / "compare.json"
    atomic_write_json(out, result)
    print(format_table(result))
    bad = [s for s in result["summary"] if not s["all_sandwich_ok"]]
    print(f"\nwrote {out}  ({len(result['rows'])} rows); sandwich violations: {len(bad)}")
    return 1 if bad else 0
