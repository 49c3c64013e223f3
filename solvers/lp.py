"""P_LP, the LP relaxation of the energy-constrained projection.

`max Σ x_i v_i  s.t.  Σ x_i c_i ≤ B, 0 ≤ x ≤ 1`, v = g². Dantzig's rule solves it
exactly: sort by v/c, fill, take a fraction of the break item b. Items with
c_i > B can never be kept by P, so by default the LP is taken over the rest
(THEORY.md §2: otherwise the half-approximation C5 fails).

Two relaxations, both valid upper bounds on OPT (P's optimum):
- reduced (``reduce=True``, the default, and every ``Selection.upper_bound``): the LP over
  the items with c_i ≤ B. Fixing x_i = 0 for them is valid because no 0/1 solution of P
  keeps them, and it can only lower the LP's value: LP_reduced ≤ LP_textbook.
- textbook (``reduce=False``): the LP over all d items, 0 ≤ x ≤ 1. An item with c_i > B
  still enters it fractionally (x_i ≤ B/c_i < 1), so whenever such an item's ratio v_i/c_i
  exceeds the reduced LP's price λ*, the textbook bound is strictly larger (looser).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._arrays import check_budget, check_choice, make_problem


@dataclass(frozen=True, eq=False)
class LPResult:
    """Optimum of P_LP with its certificate."""

    value: float
    x: np.ndarray  # fractional solution in [0,1]^d (float64)
    dual_price: float  # λ*: the price of energy; x_i = 1 where v_i/c_i > λ*, 0 where <
    status: str
    backend: str
    solver: str | None = None
    break_index: int | None = None  # the fractional item b of Dantzig's rule (None: all fit)
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


def ratio_order(v: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Indices by v/c descending, ties by lower index (stable)."""
    return np.argsort(-(v / c), kind="stable")


def eligible(v: np.ndarray, c: np.ndarray, budget: float) -> np.ndarray:
    """Boolean mask of items a budget-mode rule may keep: fits alone and has value."""
    return (c <= budget) & (v > 0)


def dantzig_lp(v: np.ndarray, c: np.ndarray, budget: float, *, drop_unfittable: bool = True,
               order: np.ndarray | None = None) -> tuple[float, np.ndarray, float, int | None]:
    """Dantzig's LP optimum: (value, x, λ*, break index). `order` may pass a precomputed ratio order."""
    keep = (v > 0) & ((c <= budget) if drop_unfittable else True)
    if order is None:
        idx = np.flatnonzero(keep)
        idx = idx[ratio_order(v[idx], c[idx])]
    else:
        idx = order[keep[order]]
    x = np.zeros_like(v)
    cum = np.cumsum(c[idx])
    n_full = int(np.searchsorted(cum, budget, side="right"))  # items with prefix cost ≤ B
    x[idx[:n_full]] = 1.0
    value = float(v[idx[:n_full]].sum())
    if n_full == len(idx):
        return float(value), x, 0.0, None
    b = int(idx[n_full])
    used = float(cum[n_full - 1]) if n_full else 0.0
    frac = min(max((budget - used) / c[b], 0.0), 1.0)
    x[b] = frac
    return float(value + frac * float(v[b])), x, float(v[b] / c[b]), b


def _fast_lp(g: Any, c: Any, budget: Any, impl: str) -> LPResult | None:
    """The no-sort Dantzig LP (issue 15); None sends the call to the sort-based path (and its errors)."""
    from . import fast

    shape = getattr(g, "shape", None)
    d = int(shape[0]) if shape is not None and len(shape) == 1 else 0
    if impl == "auto" and d < fast.AUTO_MIN_D:
        return None
    try:
        B = check_budget(budget)
    except ValueError:
        return None  # the sort-based path raises it, after judging g and c first
    t0 = time.perf_counter()
    r = fast.lp_dantzig(g, c, B)
    if r is None:
        return None
    return LPResult(value=r.value, x=r.x, dual_price=r.dual_price, status="optimal", backend="dantzig",
                    break_index=r.break_index, seconds=time.perf_counter() - t0, extra={"impl": "fast", **r.info})


def solve_lp(g: Any, c: Any, budget: float, *, backend: str = "dantzig", solver: str | None = None,
             reduce: bool = True, drop_unfittable: bool | None = None, impl: str = "auto") -> LPResult:
    """Solve P_LP for update `g`, costs `c` (J) and energy budget `budget` (J).

    backend "dantzig" (exact, O(d log d)) or "cvxpy" (an LP solver: HiGHS by
    default, or `solver=` e.g. "CLARABEL"), used as the independent check of C2.
    `reduce=True` (default): the LP over the items with c_i ≤ B, the bound every
    Selection.upper_bound carries; `reduce=False`: the textbook relaxation over all
    items (≥ the reduced value; see the module docstring). `drop_unfittable` is the
    older name of `reduce` (when given, it wins).
    `impl` (dantzig, reduce only): "reference" sorts; "fast" finds the
    break item by threshold without a full sort (solvers/fast.py, the value to
    ~1e-15 relative); "auto" (default) is "fast" from fast.AUTO_MIN_D coordinates up.
    """
    for name, flag in (("reduce", reduce), ("drop_unfittable", drop_unfittable)):
        if flag is not None and not isinstance(flag, (bool, np.bool_)):
            raise ValueError(f"{name} must be True or False, got {flag!r}")
    drop_unfittable = bool(reduce if drop_unfittable is None else drop_unfittable)
    check_choice(impl, "impl", ("auto", "fast", "reference"))
    if backend == "dantzig" and drop_unfittable and impl != "reference":
        res = _fast_lp(g, c, budget, impl)
        if res is not None:
            return res
    p = make_problem(g, c, require_c=True)
    B = check_budget(budget)
    check_choice(backend, "backend", ("dantzig", "cvxpy"))
    t0 = time.perf_counter()
    if backend == "dantzig":
        value, x, lam, b = dantzig_lp(p.v, p.c, B, drop_unfittable=drop_unfittable)
        return LPResult(value=value, x=x, dual_price=lam, status="optimal", backend="dantzig",
                        break_index=b, seconds=time.perf_counter() - t0)
    import cvxpy as cp

    v, cc = p.v, p.c
    active = np.flatnonzero(cc <= B) if drop_unfittable else np.arange(len(v))
    x = np.zeros_like(v)
    if len(active) == 0:
        return LPResult(value=0.0, x=x, dual_price=0.0, status="optimal", backend="cvxpy",
                        solver=solver, seconds=time.perf_counter() - t0)
    # Scale to O(1) numbers so solver tolerances are relative (the optimum's x is scale-free).
    vs = v[active] / max(float(v[active].max()), np.finfo(float).tiny)
    cs = cc[active] / B if B > 0 else cc[active]
    xv = cp.Variable(len(active))
    budget_con = cs @ xv <= (1.0 if B > 0 else 0.0)
    prob = cp.Problem(cp.Maximize(vs @ xv), [budget_con, xv >= 0, xv <= 1])
    solver = solver or "HIGHS"
    prob.solve(solver=solver)
    status = str(prob.status)
    if xv.value is None:
        return LPResult(value=float("nan"), x=x, dual_price=float("nan"), status=status,
                        backend="cvxpy", solver=solver, seconds=time.perf_counter() - t0)
    x[active] = np.clip(np.asarray(xv.value, dtype=float), 0.0, 1.0)
    scale_v = max(float(v[active].max()), np.finfo(float).tiny)
    dual = budget_con.dual_value
    lam = float(dual) * scale_v / (B if B > 0 else 1.0) if dual is not None else float("nan")
    return LPResult(value=float(prob.value) * scale_v, x=x, dual_price=lam, status=status,
                    backend="cvxpy", solver=solver, seconds=time.perf_counter() - t0)
