"""Greedy CWMP, Top-K and random selections: the reference (sort-based) implementation.

THEORY.md §2. Scores (ties by lower index):
  l2    s_i = g_i² / c_i   the LP-optimal ranking for P
  paper s_i = |g_i| / c_i  "efficiency density", LP-optimal for max Σ m|g|
Budget mode drops items with c_i > B or g_i = 0 first, then walks the score order:
  dantzig stops at the first item that does not fit, fill skips it and goes on,
  safe keeps the better of fill and the single most valuable fitting item.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ._arrays import (Problem, check_budget, check_choice, check_k, exactly_one, is_torch,
                      make_problem, mask_like)
from .lp import dantzig_lp, eligible

SCORES = ("l2", "paper")
GREEDY = ("dantzig", "fill", "safe")
IMPLS = ("auto", "fast", "reference")  # fast: solvers/fast.py (no full sort); same masks


@dataclass(frozen=True, eq=False)
class Selection:
    """A kept-coordinate mask with its value, energy and optimality certificate."""

    mask: Any  # bool numpy array, or torch bool tensor on g's device
    value: float  # Σ m_i g_i²: retained squared norm (the objective of P)
    energy: float | None  # Σ m_i c_i in J; None when no costs were given
    upper_bound: float | None  # LP optimum of P at `budget`: OPT ≤ upper_bound; None in count mode
    method: str  # e.g. "cwmp-l2-dantzig", "topk-fill", "random", "exact-cvxpy"
    budget: float | None = None
    k: int | None = None
    kept: int = 0
    info: dict[str, Any] | None = None  # optional diagnostics (e.g. a greedy-vs-exact comparison)

    @property
    def certified_gap(self) -> float | None:
        """(upper_bound − value)/upper_bound ≥ the true relative gap to OPT; None in count mode."""
        if self.upper_bound is None:
            return None
        if self.upper_bound <= 0:
            return 0.0
        return max(0.0, (self.upper_bound - self.value) / self.upper_bound)

    def mask_numpy(self) -> np.ndarray:
        return self.mask.detach().cpu().numpy() if is_torch(self.mask) else np.asarray(self.mask)


def scores(g: Any, c: Any, score: str = "l2") -> np.ndarray:
    """CWMP scores as float64 numpy: g²/c ("l2") or |g|/c ("paper")."""
    p = make_problem(g, c, require_c=True)
    return _scores(p, check_choice(score, "score", SCORES))


def _scores(p: Problem, score: str) -> np.ndarray:
    assert p.c is not None
    with np.errstate(over="ignore"):
        s = p.v / p.c if score == "l2" else np.abs(p.g) / p.c
    if not np.isfinite(s).all():
        bad = np.flatnonzero(~np.isfinite(s))[0]
        raise ValueError(f"score g²/c overflows float64 at index {bad} (g={float(p.g[bad])!r}, c={float(p.c[bad])!r})")
    return s


def desc_order(s: np.ndarray) -> np.ndarray:
    """Indices by score descending, ties by lower index."""
    return np.argsort(-s, kind="stable")


def greedy_walk(order: np.ndarray, c: np.ndarray, budget: float, greedy: str) -> np.ndarray:
    """Indices kept by walking `order` (already restricted to eligible items) under `budget`.

    dantzig: the longest prefix whose cumulative cost is ≤ budget.
    fill:    every item that fits in what is left when it is reached.
    """
    cum = np.cumsum(c[order])
    n = int(np.searchsorted(cum, budget, side="right"))
    if greedy == "dantzig" or n == len(order):
        return order[:n]
    taken = [order[:n]]
    left = budget - (float(cum[n - 1]) if n else 0.0)
    rest = order[n + 1:]  # order[n] is the break item: it does not fit by definition
    while len(rest):
        rest = rest[c[rest] <= left]  # items that do not fit now never fit later
        if not len(rest):
            break
        cum = np.cumsum(c[rest])
        m = int(np.searchsorted(cum, left, side="right"))
        # The first candidate fits alone (c ≤ left), so m ≥ 1 up to rounding; guard anyway.
        m = max(m, 1) if c[rest[0]] <= left else m
        taken.append(rest[:m])
        left -= float(c[rest[:m]].sum())
        rest = rest[m:]
    return np.concatenate(taken)


def _budget_select(p: Problem, order_key: np.ndarray, budget: float, greedy: str) -> np.ndarray:
    """Mask from a budget-mode walk over `order_key` (descending, ties by index)."""
    assert p.c is not None
    ok = eligible(p.v, p.c, budget)
    idx = np.flatnonzero(ok)
    order = idx[desc_order(order_key[idx])]
    kept = greedy_walk(order, p.c, budget, "dantzig" if greedy == "dantzig" else "fill")
    mask = np.zeros(len(p.v), dtype=bool)
    mask[kept] = True
    if greedy == "safe" and len(idx):
        best = int(idx[np.argmax(p.v[idx])])  # argmax returns the lowest index among ties
        if p.v[best] > float(p.v[mask].sum()):
            mask[:] = False
            mask[best] = True
    return mask


def _finish(p: Problem, mask: np.ndarray, method: str, budget: float | None, k: int | None,
            upper_bound: float | None) -> Selection:
    value = float(p.v[mask].sum())
    energy = float(p.c[mask].sum()) if p.c is not None else None
    return Selection(mask=mask_like(mask, p.like), value=value, energy=energy, upper_bound=upper_bound,
                     method=method, budget=budget, k=k, kept=int(mask.sum()))


def _lp_bound(p: Problem, budget: float, l2_scores: np.ndarray | None = None) -> float:
    assert p.c is not None
    order = desc_order(l2_scores) if l2_scores is not None else None
    return dantzig_lp(p.v, p.c, budget, order=order)[0]


def _count_select(key: np.ndarray, k: int) -> np.ndarray:
    mask = np.zeros(len(key), dtype=bool)
    mask[desc_order(key)[:k]] = True
    return mask


def _fast(g: Any, c: Any | None, budget: Any, k: Any, kind: str, greedy: str, impl: str,
          method: str) -> Selection | None:
    """The no-sort path of solvers/fast.py; None sends the call to the reference below.

    impl="auto" uses it from AUTO_MIN_D coordinates up (below, sorting is as cheap);
    the fast path itself returns None for input the reference must judge (it then
    raises the reference's error) and for the rare rounding ties it cannot certify.
    """
    from . import fast

    shape = getattr(g, "shape", None)
    d = int(shape[0]) if shape is not None and len(shape) == 1 else len(g) if hasattr(g, "__len__") else 0
    if impl == "auto" and d < fast.AUTO_MIN_D:
        return None
    try:
        if k is not None:
            kk = check_k(k, d)
        else:
            B = check_budget(budget)
    except ValueError:
        return None  # the reference raises it, after judging g and c first as it always does
    if k is not None:
        res = fast.count_mask(g, c, kk, kind)
        if res is None:
            return None
        return Selection(mask=res.mask, value=res.value, energy=res.energy, upper_bound=None,
                         method=method, budget=None, k=kk, kept=len(res.idx))
    res = fast.budget_mask(g, c, B, kind, greedy)
    if res is None:
        return None
    return Selection(mask=res.mask, value=res.value, energy=res.energy, upper_bound=res.upper_bound,
                     method=method, budget=B, k=None, kept=len(res.idx))


def cwmp_mask(g: Any, c: Any, *, budget: float | None = None, k: int | None = None,
              score: str = "l2", greedy: str = "dantzig", impl: str = "auto") -> Selection:
    """Cost-Weighted Magnitude Pruning: keep coordinates by magnitude relative to cost.

    Budget mode (`budget`, J): greedy over the score order under Σ m c ≤ budget;
    the result carries the LP bound and a certified gap. Count mode (`k`): the k
    best scores. `score` in {"l2", "paper"}, `greedy` in {"dantzig", "fill", "safe"}.
    `impl`: "reference" sorts (this module); "fast" selects by threshold without a
    full sort (solvers/fast.py, identical masks); "auto" (default) is "fast" from
    fast.AUTO_MIN_D coordinates up.
    """
    exactly_one(budget, k)
    check_choice(score, "score", SCORES)
    check_choice(greedy, "greedy", GREEDY)
    check_choice(impl, "impl", IMPLS)
    if impl != "reference":
        mode = "count" if k is not None else greedy
        sel = _fast(g, c, budget, k, score, greedy, impl, f"cwmp-{score}-{mode}")
        if sel is not None:
            return sel
    p = make_problem(g, c, require_c=True)
    s = _scores(p, score)
    if k is not None:
        kk = check_k(k, len(p.v))
        return _finish(p, _count_select(s, kk), f"cwmp-{score}-count", None, kk, None)
    B = check_budget(budget)
    mask = _budget_select(p, s, B, greedy)
    ub = _lp_bound(p, B, s if score == "l2" else None)
    return _finish(p, mask, f"cwmp-{score}-{greedy}", B, None, ub)


def topk_mask(g: Any, *, k: int | None = None, c: Any | None = None, budget: float | None = None,
              greedy: str = "dantzig", impl: str = "auto") -> Selection:
    """Top-K by magnitude |g|: count mode (k), or budget mode (c and budget, J) walking |g| order.

    `impl` as in cwmp_mask ("auto", "fast", "reference"; identical masks).
    """
    exactly_one(budget, k)
    check_choice(greedy, "greedy", GREEDY)
    check_choice(impl, "impl", IMPLS)
    if impl != "reference" and (budget is None or c is not None):
        method = "topk-count" if k is not None else f"topk-{greedy}"
        sel = _fast(g, c, budget, k, "abs", greedy, impl, method)
        if sel is not None:
            return sel
    p = make_problem(g, c, require_c=budget is not None)
    key = np.abs(p.g)
    if k is not None:
        kk = check_k(k, len(p.v))
        return _finish(p, _count_select(key, kk), "topk-count", None, kk, None)
    B = check_budget(budget)
    mask = _budget_select(p, key, B, greedy)
    return _finish(p, mask, f"topk-{greedy}", B, None, _lp_bound(p, B))


def random_mask(g: Any, *, k: int | None = None, c: Any | None = None, budget: float | None = None,
                rng: Any = None, greedy: str = "fill") -> Selection:
    """Random-k: k uniformly random coordinates, or a random order filled to `budget`.

    `rng` is required: a numpy Generator or a torch.Generator (never global state).
    """
    exactly_one(budget, k)
    check_choice(greedy, "greedy", GREEDY)
    p = make_problem(g, c, require_c=budget is not None)
    d = len(p.v)
    perm = _permutation(rng, d)
    key = np.empty(d)
    key[perm] = np.arange(d, 0, -1, dtype=float)  # random priority: earlier in perm = higher
    if k is not None:
        kk = check_k(k, d)
        return _finish(p, _count_select(key, kk), "random-count", None, kk, None)
    B = check_budget(budget)
    mask = _budget_select(p, key, B, greedy)
    return _finish(p, mask, f"random-{greedy}", B, None, _lp_bound(p, B))


def _permutation(rng: Any, d: int) -> np.ndarray:
    if isinstance(rng, np.random.Generator):
        return rng.permutation(d)
    if type(rng).__module__.startswith("torch") and type(rng).__name__ == "Generator":
        import torch

        return torch.randperm(d, generator=rng, device=rng.device).cpu().numpy()
    raise ValueError(f"rng must be a numpy.random.Generator or torch.Generator, got {rng!r}")
