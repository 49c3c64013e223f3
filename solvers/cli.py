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

`cwmp compare --instance PATH [--budget B] [--optimum X]` (repeatable) and
`--update GLOBAL.pt LOCAL.pt --model M --profile P (--sparsity R | --budget B)` run the
same methods on your own instances (formats: solvers/instances.py) and write
results/solvers/compare_instances.json: {"config", "environment", "instances": [{"name",
"format", "source", "d", "budget", "optimum", "optimum_source", "optimum_check",
"file_solution", "milp", "info"}], "rows" (as above, family = the instance's name),
"summary"}. `--quick` runs (families or instances) write under results/quick/ unless
`--results` is given, so the committed full results stay as they are.
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

from .families import FAMILIES, HARD_FAMILIES, make_instance
from .instances import Instance, InstanceError, load_instance
from .io import atomic_write_json, check_writable_dir, environment_info

# What --families accepts: the default grid's families, and the Pisinger 2005 hard ones on request.
ALL_FAMILIES = FAMILIES + tuple(HARD_FAMILIES)


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
        known = ALL_FAMILIES

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



def _greedy_runs(g, c, B):
    """(method, selection, seconds) for every greedy variant of GREEDY_METHODS at budget B."""
    from . import cwmp_mask, topk_mask

    out = []
    for m in GREEDY_METHODS:
        kind, *rest = m.split("-")
        if kind == "cwmp":
            sel, t = _timed(cwmp_mask, g, c, budget=B, score=rest[0], greedy=rest[1])
        else:
            sel, t = _timed(topk_mask, g, c=c, budget=B, greedy=rest[0])
        out.append((m, sel, t))
    return out

def _have_core() -> bool:
    try:
        from . import core  # noqa: F401
    except ImportError:
        return False
    return True


def run_compare(cfg: CompareConfig, progress: bool = True) -> dict[str, Any]:
    from tqdm import tqdm

    from . import solve_exact, solve_lp

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
        results: list[tuple[str, float, float | None, float, str | None, bool | None]] = [
            (m, sel.value, sel.energy, t, None, None) for m, sel, t in _greedy_runs(g, c, B)]
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


@dataclass(frozen=True)
class InstanceRunConfig:
    """How `cwmp compare --instance/--update` solves each of your instances."""

    milp_solver: str = "HIGHS"
    # Same cap as the families' full run: HiGHS at mip_rel_gap=0 rarely proves optimality on
    # many near-equal ratios (a CNN update with two cost values), so its status is reported.
    milp_time_limit_s: float = 60.0
    # CVXPY MILP above this many coordinates is skipped (reported as such): building the
    # CVXPY problem alone takes seconds from ~1e5 up, and the core solver proves optimality.
    # 62,006 (the compact CNN) is below it.
    milp_max_d: int = 100_000
    # The core solver's own cap; the class path (2-3 cost values) answers in well under a second.
    core_time_limit_s: float = 60.0

    def __post_init__(self) -> None:
        t = self.milp_time_limit_s
        if not (isinstance(t, (int, float)) and math.isfinite(t) and t > 0):
            raise ValueError(f"--milp-time-limit must be a finite number of seconds > 0, got {t!r}")
        m = self.milp_max_d
        if isinstance(m, bool) or not isinstance(m, int) or m < 0:
            raise ValueError(f"--milp-max-d must be an integer >= 0, got {m!r}")
        if self.milp_solver not in ("HIGHS", "SCIP"):
            raise ValueError(f"--milp-solver must be HIGHS or SCIP, got {self.milp_solver!r}")


# Relative tolerance of "the exact value equals the known optimum" for float data: the
# core solver is exact to 1e-12 LP* (rtol), and the profits' g = sqrt(p) round trip adds a
# few ulps per term. Integer profits are compared exactly (re-summed from the profits).
OPTIMUM_RTOL = 1e-9


def _profit_value(inst: Instance, mask: Any) -> float:
    """Σ over the mask of the instance's own values: the profits (exact fsum) for a knapsack file, else g²."""
    m = np.asarray(mask, dtype=bool)
    v = inst.profits if inst.profits is not None else inst.g * inst.g
    return math.fsum(v[m].tolist())


def run_instance(inst: Instance, cfg: InstanceRunConfig) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Every greedy variant × both scores, budget-mode Top-K, the LP bounds, core exact and (d ≤
    milp_max_d) CVXPY MILP on one instance: (the instance's record, its compare rows)."""
    from . import solve_exact, solve_lp

    g, c, B = inst.g, inst.c, inst.budget
    lp, t_lp = _timed(solve_lp, g, c, B)
    lp_all = solve_lp(g, c, B, reduce=False)
    results: list[tuple[str, float, float | None, float, str | None, bool | None, Any]] = [
        (m, sel.value, sel.energy, t, None, None, sel.mask) for m, sel, t in _greedy_runs(g, c, B)]
    results.append(("lp-dantzig", lp.value, None, t_lp, lp.status, True, None))
    core, t_c = _timed(solve_exact, g, c, B, backend="core", time_limit=cfg.core_time_limit_s)
    results.append(("exact-core", core.value, core.selection.energy, t_c, core.status, core.proven_optimal,
                    core.selection.mask))
    milp_rec: dict[str, Any] = {"run": inst.d <= cfg.milp_max_d, "solver": cfg.milp_solver,
                                "time_limit_s": cfg.milp_time_limit_s, "max_d": cfg.milp_max_d}
    milp = None
    if milp_rec["run"]:
        milp, t_m = _timed(solve_exact, g, c, B, backend="cvxpy", solver=cfg.milp_solver,
                           time_limit=cfg.milp_time_limit_s)
        results.append(("exact-cvxpy", milp.value, milp.selection.energy, t_m, milp.status, milp.proven_optimal,
                        milp.selection.mask))
        milp_rec.update(status=milp.status, proven=milp.proven_optimal, value=milp.value, seconds=t_m,
                        bound=milp.bound)
    else:
        milp_rec["skipped"] = f"d = {inst.d} > milp_max_d = {cfg.milp_max_d}"
    best, best_proven = core.value, core.proven_optimal
    if milp is not None and milp.proven_optimal and (not best_proven or milp.value > best):
        best, best_proven = milp.value, True
    rows = []
    frac = B / float(c.sum())
    for method, value, energy, secs, status, proven, _mask in results:
        true_gap = (best - value) / best if best > 0 else 0.0
        cert = (lp.value - value) / lp.value if lp.value > 0 else 0.0
        rows.append(dict(family=inst.name, d=inst.d, budget_fraction=frac, budget=B, seed=None, method=method,
                         value=value, energy=energy, exact_value=best, exact_status=core.status,
                         exact_proven=best_proven, lp_bound=lp.value, true_gap=true_gap, certified_gap=cert,
                         seconds=secs, status=status, proven=proven))
    rec: dict[str, Any] = {
        "name": inst.name, "format": inst.fmt, "source": inst.source, "d": inst.d, "budget": B,
        "budget_fraction": frac, "core": {"value": core.value, "status": core.status, "proven": core.proven_optimal,
                                          "solver": core.solver, "seconds": t_c, "bound": core.bound},
        "milp": milp_rec, "lp_reduced": lp.value, "lp_textbook": lp_all.value,
        "optimum": inst.optimum, "optimum_source": inst.optimum_source, "info": inst.info}
    if milp is not None:
        scale = max(abs(core.value), 1e-300)
        rec["core_minus_milp_rel"] = (core.value - milp.value) / scale
    if inst.optimum is not None:
        z = _profit_value(inst, core.selection.mask)
        integral = inst.profits is not None and bool(np.all(inst.profits == np.round(inst.profits))) \
            and float(inst.optimum).is_integer()
        equal = z == inst.optimum if integral else abs(z - inst.optimum) <= OPTIMUM_RTOL * max(abs(inst.optimum), 1e-300)
        rec["optimum_check"] = {"expected": inst.optimum, "core": z, "equal": bool(equal),
                                "compared": "exactly (integer profits)" if integral else f"rel. tol {OPTIMUM_RTOL:g}"}
    if inst.solution is not None:
        rec["file_solution"] = {"value": _profit_value(inst, inst.solution),
                                "energy": math.fsum(inst.c[inst.solution].tolist()),
                                "feasible": math.fsum(inst.c[inst.solution].tolist()) <= B}
    return rec, rows


def run_instances(instances: list[Instance], cfg: InstanceRunConfig) -> dict[str, Any]:
    records, rows = [], []
    for inst in instances:
        rec, rs = run_instance(inst, cfg)
        records.append(rec)
        rows.extend(rs)
    return {"config": asdict(cfg), "environment": environment_info(), "instances": records, "rows": rows,
            "summary": summarise(rows)}


def format_instances(result: dict[str, Any]) -> str:
    """The usual table, then one line per instance: exact vs MILP and vs the known optimum."""
    lines = [format_table(result), ""]
    for rec in result["instances"]:
        core, milp = rec["core"], rec["milp"]
        line = (f"{rec['name']}: d = {rec['d']}, B = {rec['budget']:.6g} ({rec['budget_fraction']:.3g} of sum c); "
                f"core {core['value']:.12g} ({core['status']}, {core['solver']}, {core['seconds']:.2g} s)")
        if milp.get("skipped"):
            line += f"; MILP skipped ({milp['skipped']})"
        else:
            line += (f"; MILP {milp['value']:.12g} ({milp['status']}, {'proven' if milp['proven'] else 'not proven'}, "
                     f"{milp['seconds']:.2g} s of {milp['time_limit_s']:g})")
        line += f"; LP {rec['lp_reduced']:.6g} (textbook {rec['lp_textbook']:.6g})"
        if "optimum_check" in rec:
            ch = rec["optimum_check"]
            line += (f"; known optimum {ch['expected']:.12g} ({rec['optimum_source']}): "
                     f"{'EQUAL' if ch['equal'] else 'DIFFERENT'} (core {ch['core']:.12g}, {ch['compared']})")
        if "file_solution" in rec:
            fs = rec["file_solution"]
            line += f"; file's solution {fs['value']:.12g}{'' if fs['feasible'] else ' (INFEASIBLE)'}"
        lines.append(line)
    return "\n".join(lines)


def _instances_main(ns: argparse.Namespace, parser: argparse.ArgumentParser, results: Path,
                    update_loader: Any) -> int:
    grid_flags = [f for f, v in (("--families", ns.families), ("--dims", ns.dims),
                                 ("--budget-fractions", ns.budget_fractions), ("--seeds", ns.seeds)) if v]
    if grid_flags:
        parser.error(f"{', '.join(grid_flags)} apply to the built-in families, not to --instance/--update")
    if ns.optimum is not None and (len(ns.instance or []) != 1 or ns.update):
        parser.error("--optimum needs exactly one --instance (and no --update)")
    if ns.update is None and (ns.model or ns.profile or ns.sparsity is not None):
        parser.error("--model, --profile and --sparsity go with --update GLOBAL.pt LOCAL.pt")
    base = QUICK if ns.quick else CompareConfig()
    cfg = InstanceRunConfig(milp_solver=ns.milp_solver or base.milp_solver,
                            milp_time_limit_s=ns.milp_time_limit if ns.milp_time_limit is not None
                            else base.milp_time_limit_s,
                            milp_max_d=ns.milp_max_d if ns.milp_max_d is not None else InstanceRunConfig.milp_max_d)
    instances = [load_instance(p, budget=ns.budget, optimum=ns.optimum) for p in ns.instance or []]
    if ns.update:
        if update_loader is None:
            raise InstanceError("--update needs the model layouts and energy profiles of fl_validation; run it "
                                "through `cwmp compare` or `python -m solvers`")
        if not ns.model or not ns.profile:
            parser.error("--update needs --model (cnn|resnet18) and --profile NAME")
        instances.append(update_loader(ns.update[0], ns.update[1], model=ns.model, profile=ns.profile,
                                       sparsity=ns.sparsity, budget=ns.budget))
    check_writable_dir(results / "solvers")
    result = run_instances(instances, cfg)
    out = results / "solvers" / "compare_instances.json"
    atomic_write_json(out, result)
    print(format_instances(result))
    bad = [s for s in result["summary"] if not s["all_sandwich_ok"]]
    wrong = [r["name"] for r in result["instances"] if not r.get("optimum_check", {}).get("equal", True)]
    print(f"\nwrote {out}  ({len(result['rows'])} rows); sandwich violations: {len(bad)}"
          + (f"; exact value differs from the known optimum: {', '.join(wrong)}" if wrong else ""))
    return 1 if bad or wrong else 0


def main(argv: list[str] | None = None, *, update_loader: Any = None) -> int:
    """`cwmp compare`; `update_loader` (from the `cwmp` front door) reads `--update` files into an Instance."""
    parser = argparse.ArgumentParser(prog="cwmp compare", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small grid, under a minute")
    parser.add_argument("--results", default=None,
                        help="results directory (default: ./results, with --quick ./results/quick)")
    parser.add_argument("--families", nargs="+", choices=ALL_FAMILIES,
                        help="subset of families (default: the first eight; the Pisinger 2005 hard "
                             "families almost_strongly_correlated, spanner_2_10, profit_ceiling_3 and "
                             "circle_2_3 on request; R = 1000)")
    parser.add_argument("--dims", nargs="+", type=int, help="dimensions d")
    parser.add_argument("--budget-fractions", nargs="+", type=float, help="B / Σc values")
    parser.add_argument("--seeds", nargs="+", type=int)
    parser.add_argument("--milp-time-limit", type=float, help="seconds per MILP solve")
    parser.add_argument("--milp-solver", choices=("HIGHS", "SCIP"))
    parser.add_argument("--no-progress", action="store_true")
    own = parser.add_argument_group("your own instances (instead of the families)")
    own.add_argument("--instance", action="append", metavar="PATH",
                     help="an instance file: .npz (g, c[, budget]), csv/tsv (header g,c), or knapsack text; repeatable")
    own.add_argument("--budget", type=float, help="the budget B (same unit as c); overrides a file's")
    own.add_argument("--optimum", type=float, help="the known optimal value of the one --instance")
    own.add_argument("--update", nargs=2, metavar=("GLOBAL.pt", "LOCAL.pt"),
                     help="a model update LOCAL - GLOBAL (state dicts) with the costs of --model/--profile")
    own.add_argument("--model", choices=("cnn", "resnet18"), help="the model of --update")
    own.add_argument("--profile", help="energy profile of --update (name or TOML path)")
    own.add_argument("--sparsity", type=float, help="--update: the budget Top-K spends at K = ceil(rho d)")
    own.add_argument("--milp-max-d", type=int, help=f"skip CVXPY MILP above this d (default {InstanceRunConfig.milp_max_d})")
    ns = parser.parse_args(argv)
    # Quick runs go beside, not over, the committed full results (as `cwmp reproduce` does).
    results = Path(ns.results if ns.results is not None else ("results/quick" if ns.quick else "results"))
    if ns.instance or ns.update:
        return _instances_main(ns, parser, results, update_loader)
    own_flags = [f for f, v in (("--budget", ns.budget), ("--optimum", ns.optimum), ("--model", ns.model),
                                ("--profile", ns.profile), ("--sparsity", ns.sparsity),
                                ("--milp-max-d", ns.milp_max_d)) if v is not None]
    if own_flags:
        parser.error(f"{', '.join(own_flags)} go with --instance PATH or --update GLOBAL.pt LOCAL.pt")
    cfg = QUICK if ns.quick else CompareConfig()
    over = {k: tuple(v) if isinstance(v, list) else v for k, v in dict(
        families=ns.families, dims=ns.dims, budget_fractions=ns.budget_fractions, seeds=ns.seeds,
        milp_time_limit_s=ns.milp_time_limit, milp_solver=ns.milp_solver).items() if v is not None}
    cfg = CompareConfig(**{**asdict(cfg), **over})  # ValueError naming a bad value: exit 2 at `cwmp`
    check_writable_dir(results / "solvers")
    result = run_compare(cfg, progress=not ns.no_progress)
    out = results / "solvers" / "compare.json"
    atomic_write_json(out, result)
    print(format_table(result))
    bad = [s for s in result["summary"] if not s["all_sandwich_ok"]]
    print(f"\nwrote {out}  ({len(result['rows'])} rows); sandwich violations: {len(bad)}")
    return 1 if bad else 0
