"""Exact solutions of P (0/1 knapsack with values v = g², costs c, capacity B).

Backends (each an independent oracle for the others):
  cvxpy       boolean MILP; HiGHS with mip_rel_gap=0 by default, or solver="SCIP"
  bruteforce  enumerate all 2^d subsets (d ≤ 20)
  dp          dynamic programming over integer capacity (integer costs and budget)
  core        fast exact solver (solvers/core.py): LP bound, expanding core, cost-class
              enumeration or minknap DP; proves optimality (d = 1e6 in seconds)
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._arrays import Problem, check_budget, check_choice, make_problem
from .lp import dantzig_lp
from .selection import Selection, _finish

BRUTEFORCE_MAX_D = 20  # 2^20 subsets × 20 bits: ~20 MB of work, about a second
DP_MAX_CELLS = 2 * 10**8  # d × (B+1) decision bits kept for reconstruction (~200 MB)


@dataclass(frozen=True, eq=False)
class ExactResult:
    """An exact (or best-found) solution of P and how sure we are of it."""

    selection: Selection
    status: str  # solver status ("optimal", "time_limit", ...), or "optimal" for bruteforce/dp
    proven_optimal: bool  # True only when the backend proved optimality (gap 0 at its tolerance)
    bound: float | None  # a proven upper bound on OPT (LP bound when the solver gives none)
    backend: str
    solver: str | None = None
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def value(self) -> float:
        return self.selection.value


BACKENDS = ("cvxpy", "bruteforce", "dp", "core")


def solve_exact(g: Any, c: Any, budget: float, *, backend: str = "cvxpy", solver: str | None = None,
                time_limit: float | None = None) -> ExactResult:
    """Solve P exactly: max Σ m g² s.t. Σ m c ≤ budget, m ∈ {0,1}^d."""
    if backend == "core":  # the fast exact path (issue 7); it validates g, c and budget itself
        from .core import solve_core

        return solve_core(g, c, budget, time_limit=time_limit)
    p = make_problem(g, c, require_c=True)
    B = check_budget(budget)
    check_choice(backend, "backend", BACKENDS)
    t0 = time.perf_counter()
    if backend == "bruteforce":
        mask = _bruteforce(p, B)
        res = ExactResult(_finish(p, mask, "exact-bruteforce", B, None, None), "optimal", True,
                          None, "bruteforce")
    elif backend == "dp":
        mask = _dp(p, B)
        res = ExactResult(_finish(p, mask, "exact-dp", B, None, None), "optimal", True, None, "dp")
    else:
        res = _cvxpy(p, B, solver or "HIGHS", time_limit)
    ub = dantzig_lp(p.v, p.c, B)[0]
    sel = res.selection
    sel = Selection(mask=sel.mask, value=sel.value, energy=sel.energy, upper_bound=ub, method=sel.method,
                    budget=B, kept=sel.kept)
    bound = sel.value if res.proven_optimal else (res.bound if res.bound is not None else ub)
    return ExactResult(sel, res.status, res.proven_optimal, bound, res.backend, res.solver,
                       time.perf_counter() - t0, res.extra)


def _bruteforce(p: Problem, B: float) -> np.ndarray:
    d = len(p.v)
    if d > BRUTEFORCE_MAX_D:
        raise ValueError(f"g has d={d} coordinates; backend='bruteforce' takes d ≤ {BRUTEFORCE_MAX_D}")
    assert p.c is not None
    subsets = np.arange(2**d, dtype=np.int64)
    bits = ((subsets[:, None] >> np.arange(d)) & 1).astype(bool)
    energy = bits @ p.c
    value = np.where(energy <= B, bits @ p.v, -np.inf)
    best = int(np.argmax(value))  # the empty set (index 0) is always feasible
    return bits[best].copy()


def _dp(p: Problem, B: float) -> np.ndarray:
    assert p.c is not None
    c = p.c
    if not np.all(c == np.round(c)):
        bad = int(np.flatnonzero(c != np.round(c))[0])
        raise ValueError(f"backend='dp' needs integer costs; c[{bad}] = {float(c[bad])!r}")
    cap = int(np.floor(B))
    d = len(c)
    if d * (cap + 1) > DP_MAX_CELLS:
        raise ValueError(f"backend='dp' table too large: d={d} × (budget+1)={cap + 1} cells > {DP_MAX_CELLS}")
    ci = c.astype(np.int64)
    best = np.zeros(cap + 1)
    take = np.zeros((d, cap + 1), dtype=bool)
    for i in range(d):
        w = int(ci[i])
        if w > cap or p.v[i] <= 0:
            continue
        cand = best[:-w] + p.v[i] if w else best + p.v[i]
        better = cand > best[w:]
        take[i, w:] = better
        best[w:] = np.where(better, cand, best[w:])
    mask = np.zeros(d, dtype=bool)
    r = cap
    for i in range(d - 1, -1, -1):
        if take[i, r]:
            mask[i] = True
            r -= int(ci[i])
    return mask


def _cvxpy(p: Problem, B: float, solver: str, time_limit: float | None) -> ExactResult:
    import cvxpy as cp

    assert p.c is not None
    d = len(p.v)
    active = np.flatnonzero((p.c <= B) & (p.v > 0))  # the rest can never be (usefully) kept
    mask = np.zeros(d, dtype=bool)
    if len(active) == 0:
        return ExactResult(_finish(p, mask, "exact-cvxpy", B, None, None), "optimal", True, None,
                           "cvxpy", solver)
    # Scale to O(1) so the solver's absolute tolerances act relatively; the argmax is scale-free.
    v_scale = float(p.v[active].max())
    vs, cs = p.v[active] / v_scale, p.c[active] / B
    x = cp.Variable(len(active), boolean=True)
    prob = cp.Problem(cp.Maximize(vs @ x), [cs @ x <= 1.0])
    opts: dict[str, Any] = {}
    if solver.upper() == "HIGHS":
        # Gap 0 to prove optimality; feasibility tolerances tightened from HiGHS's 1e-6/1e-7:
        # with c scaled to B = 1, a default-tolerance MILP point overspent integer budgets
        # of ~1e6 by one unit at d = 1e4 (measured, results/solvers/compare.json).
        opts = {"mip_rel_gap": 0.0, "mip_abs_gap": 0.0, "mip_feasibility_tolerance": 1e-9,
                "primal_feasibility_tolerance": 1e-9}
        if time_limit is not None:
            opts["time_limit"] = float(time_limit)
    elif solver.upper() == "SCIP":
        params: dict[str, Any] = {"limits/gap": 0.0, "limits/absgap": 0.0}
        if time_limit is not None:
            params["limits/time"] = float(time_limit)
        opts = {"scip_params": params}
    try:
        prob.solve(solver=solver, **opts)
    except cp.error.SolverError as exc:
        return ExactResult(_finish(p, mask, "exact-cvxpy", B, None, None), f"solver_error: {exc}", False,
                           None, "cvxpy", solver)
    status = str(prob.status)
    if x.value is not None:
        mask[active] = np.asarray(x.value) > 0.5
    energy = float(p.c[mask].sum())
    feasible = energy <= B * (1 + 1e-9)  # rounding of a MILP point may exceed B by solver tolerance
    if not feasible:
        status = f"{status}_infeasible_rounding"
    proven = status == "optimal" and feasible
    bound = None
    try:  # HiGHS reports a dual bound through its raw result when it stops early
        stats = prob.solver_stats
        if stats is not None and getattr(stats, "extra_stats", None) is not None:
            info = stats.extra_stats
            db = getattr(info, "mip_dual_bound", None)
            if db is not None and np.isfinite(db):
                bound = float(db) * v_scale
    except Exception:  # noqa: BLE001 - best effort, the LP bound is the fallback
        bound = None
    return ExactResult(_finish(p, mask, "exact-cvxpy", B, None, None), status, proven, bound, "cvxpy",
                       solver)
