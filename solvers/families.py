"""Instance families for greedy-vs-exact comparisons.

Pisinger's classic knapsack generators (data range R; "Where are the hard knapsack
problems?", Computers & OR 32, 2005), mapped to P by value v = g² (so g = √v) and
cost c; plus gradient-like instances (Gaussian / heavy-tailed g with two-point
layer costs, THEORY.md C9) and the adversarial C6 family.

Two entry points:
- `make_instance(family, d, budget_fraction, seed)`: the names of FAMILIES (the
  original grid of `cwmp compare`, unchanged, R = 1000) and of HARD_FAMILIES
  (Pisinger 2005's harder families at their usual parameters, R = 1000 unless
  `data_range` is given).
- `pisinger(family, n, R, rng, ...)`: the integer profits, weights and capacity of
  every family of Pisinger 2005, with the paper's parameters exposed (spanner v, m;
  profit ceiling d; circle d), drawn from a numpy Generator the caller passes.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

PISINGER_R = 1000  # Pisinger's data range for the integer families


@dataclass(frozen=True, eq=False)
class Instance:
    family: str
    g: np.ndarray
    c: np.ndarray
    budget: float
    budget_fraction: float  # B / Σc (the adversarial family fixes B instead)
    seed: int


def _integer_pair(family: str, d: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    R = PISINGER_R
    w = rng.integers(1, R + 1, size=d)
    if family == "uncorrelated":
        p = rng.integers(1, R + 1, size=d)
    elif family == "weakly_correlated":
        p = np.maximum(1, w + rng.integers(-R // 10, R // 10 + 1, size=d))
    elif family == "strongly_correlated":
        p = w + R // 10
    elif family == "inverse_strongly_correlated":
        p = rng.integers(1, R + 1, size=d)
        w = p + R // 10
    elif family == "subset_sum":
        p = w.copy()
    else:
        raise ValueError(f"family must be one of {FAMILIES}, got {family!r}")
    return p.astype(float), w.astype(float)


def _layer_costs(d: int, rng: np.random.Generator, low: float = 1.0, high: float = 10.0,
                 p_high: float = 0.3) -> np.ndarray:
    """Two cost values in contiguous 'layers' (about 8 blocks), a fraction p_high of them costly."""
    n_blocks = max(1, min(8, d))
    edges = np.linspace(0, d, n_blocks + 1).astype(int)
    c = np.empty(d)
    for a, b in zip(edges[:-1], edges[1:]):
        c[a:b] = high if rng.random() < p_high else low
    return c


FAMILIES = ("uncorrelated", "weakly_correlated", "strongly_correlated", "inverse_strongly_correlated",
            "subset_sum", "gradient_gaussian", "gradient_student_t3", "adversarial_c6")

# ----------------------------------------------------------------------------- Pisinger 2005

PISINGER_FAMILIES = ("uncorrelated", "weakly_correlated", "strongly_correlated", "inverse_strongly_correlated",
                     "almost_strongly_correlated", "subset_sum", "spanner", "profit_ceiling", "circle")
SPANNER_BASES = ("uncorrelated", "weakly_correlated", "strongly_correlated")

# The hard families at the parameters of the paper's tables, by the names `cwmp compare
# --families` and `cwmp bench` use: (Pisinger family, its parameters).
HARD_FAMILIES: dict[str, tuple[str, dict[str, object]]] = {
    "almost_strongly_correlated": ("almost_strongly_correlated", {}),
    "spanner_2_10": ("spanner", {"v": 2, "m": 10, "spanner_of": "strongly_correlated"}),
    "profit_ceiling_3": ("profit_ceiling", {"d": 3}),
    "circle_2_3": ("circle", {"d": Fraction(2, 3)}),
}


@dataclass(frozen=True, eq=False)
class PisingerInstance:
    """Integer profits p ≥ 1, weights w in [1, R] and capacity ⌊fraction · Σw⌋ (int64 arrays)."""

    family: str
    p: np.ndarray
    w: np.ndarray
    capacity: int
    R: int
    params: dict[str, object]


def _uniform(rng: np.random.Generator, lo: int, hi: int, n: int) -> np.ndarray:
    """n integers uniform on [lo, hi] (both included), int64."""
    return rng.integers(lo, hi + 1, size=n, dtype=np.int64)


def _floor_sqrt(y: np.ndarray) -> np.ndarray:
    """⌊√y⌋ exactly for int64 y ≥ 0 (< 2^62): float estimate, then integer correction."""
    s = np.floor(np.sqrt(y.astype(np.float64))).astype(np.int64)
    for _ in range(2):
        s = np.where(s * s > y, s - 1, s)
        s = np.where((s + 1) * (s + 1) <= y, s + 1, s)
    return s


def _pair(family: str, n: int, R: int, rng: np.random.Generator, d: Fraction) -> tuple[np.ndarray, np.ndarray]:
    """(p, w) of one of the non-spanner families (Pisinger 2005, section 2)."""
    if family == "inverse_strongly_correlated":
        p = _uniform(rng, 1, R, n)
        return p, p + R // 10
    w = _uniform(rng, 1, R, n)
    if family == "uncorrelated":
        p = _uniform(rng, 1, R, n)
    elif family == "weakly_correlated":
        p = np.maximum(1, w + _uniform(rng, -(R // 10), R // 10, n))
    elif family == "strongly_correlated":
        p = w + R // 10
    elif family == "almost_strongly_correlated":
        p = w + R // 10 + _uniform(rng, -(R // 500), R // 500, n)
    elif family == "subset_sum":
        p = w.copy()
    elif family == "profit_ceiling":
        di = int(d)
        p = di * ((w + di - 1) // di)
    elif family == "circle":
        # p = ⌊d √(4R² − (w − 2R)²)⌋ = ⌊√(a² X / b²)⌋ with X = w(4R − w), d = a/b (exact integers)
        X = w * (4 * R - w)
        p = _floor_sqrt((d.numerator ** 2 * X) // d.denominator ** 2)
    else:  # pragma: no cover - pisinger() checked the name
        raise ValueError(f"family must be one of {PISINGER_FAMILIES}, got {family!r}")
    return p.astype(np.int64), w.astype(np.int64)


def pisinger(family: str, n: int, R: int, rng: np.random.Generator, *, capacity_fraction: float = 0.5,
             v: int = 2, m: int = 10, d: int | float | Fraction | None = None,
             spanner_of: str = "strongly_correlated") -> PisingerInstance:
    """One instance of a family of Pisinger, "Where are the hard knapsack problems?" (C&OR 2005).

    Weights w_j are uniform integers in [1, R] unless said otherwise, R/10 and R/500
    are integer divisions, and the capacity is ⌊capacity_fraction · Σw⌋ (the paper
    uses h/(H+1) · Σw for instance h of a series of H):
      uncorrelated                 p_j uniform in [1, R]
      weakly_correlated            p_j uniform in [w_j − R/10, w_j + R/10], p_j ≥ 1
      strongly_correlated          p_j = w_j + R/10
      inverse_strongly_correlated  p_j uniform in [1, R], w_j = p_j + R/10
      almost_strongly_correlated   p_j uniform in [w_j + R/10 − R/500, w_j + R/10 + R/500]
      subset_sum                   p_j = w_j
      spanner (span(v, m))         v items of the `spanner_of` family (uncorrelated, weakly or
                                   strongly correlated; the paper's hard set uses all three) are
                                   normalised by dividing profit and weight by m + 1 (rounded up,
                                   so ≥ 1); each of the n items is a_j · (p_k, w_k) for a spanner
                                   item k and a multiplier a_j, both uniform (k in 1..v, a_j in 1..m)
      profit_ceiling (pceil(d))    p_j = d ⌈w_j / d⌉, integer d (the paper: d = 3)
      circle (circle(d))           p_j = ⌊d √(4R² − (w_j − 2R)²)⌋ (the paper: d = 2/3), computed
                                   exactly in integers
    Every draw comes from `rng` (a numpy Generator the caller seeds), so one seed gives one
    instance on every platform numpy's PCG64 runs on.
    """
    if family not in PISINGER_FAMILIES:
        raise ValueError(f"family must be one of {', '.join(PISINGER_FAMILIES)}, got {family!r}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
    if isinstance(R, bool) or not isinstance(R, (int, np.integer)) or not 10 <= R <= 10**9:
        raise ValueError(f"R must be an integer in [10, 1e9], got {R!r}")
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    if not 0 < capacity_fraction < 1:
        raise ValueError(f"capacity_fraction must be in (0, 1), got {capacity_fraction!r}")
    n, R = int(n), int(R)
    params: dict[str, object] = {}
    if family == "profit_ceiling":
        dd = 3 if d is None else d
        if isinstance(dd, bool) or int(dd) != dd or dd < 1:
            raise ValueError(f"profit_ceiling needs an integer d >= 1, got {d!r}")
        dfr = Fraction(int(dd))
        params["d"] = int(dd)
    elif family == "circle":
        dfr = Fraction(2, 3) if d is None else Fraction(d).limit_denominator(10**6)
        if not 0 < dfr <= 10:
            raise ValueError(f"circle needs 0 < d <= 10, got {d!r}")
        params["d"] = str(dfr)
    else:
        dfr = Fraction(1)
    if family == "spanner":
        if spanner_of not in SPANNER_BASES:
            raise ValueError(f"spanner_of must be one of {', '.join(SPANNER_BASES)}, got {spanner_of!r}")
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"spanner v must be an integer >= 1, got {v!r}")
        if isinstance(m, bool) or not isinstance(m, int) or m < 1:
            raise ValueError(f"spanner m must be an integer >= 1, got {m!r}")
        params.update(v=v, m=m, spanner_of=spanner_of)
        sp, sw = _pair(spanner_of, v, R, rng, dfr)
        sp, sw = -(-sp // (m + 1)), -(-sw // (m + 1))  # ⌈x / (m+1)⌉ ≥ 1
        k = rng.integers(0, v, size=n)
        a = _uniform(rng, 1, m, n)
        p, w = a * sp[k], a * sw[k]
    else:
        p, w = _pair(family, n, R, rng, dfr)
    frac = Fraction(capacity_fraction).limit_denominator(10**9)
    cap = int(Fraction(int(w.sum())) * frac)  # ⌊fraction · Σw⌋, exactly
    params["capacity_fraction"] = float(capacity_fraction)
    return PisingerInstance(family, p, w, cap, R, params)


def hard_instance(name: str, n: int, R: int, seed: int, capacity_fraction: float = 0.3) -> PisingerInstance:
    """A Pisinger family by its `cwmp` name (PISINGER_FAMILIES or HARD_FAMILIES) with a seed.

    The Generator is numpy's default_rng([seed, n, R, family index]), so instances of
    different families, sizes and ranges are drawn independently of one another.
    """
    if name in HARD_FAMILIES:
        family, params = HARD_FAMILIES[name]
    elif name in PISINGER_FAMILIES:
        family, params = name, {}
    else:
        raise ValueError(f"family must be one of {', '.join(PISINGER_FAMILIES + tuple(HARD_FAMILIES))}, "
                         f"got {name!r}")
    code = (PISINGER_FAMILIES + tuple(HARD_FAMILIES)).index(name)
    rng = np.random.default_rng([int(seed), int(n), int(R), 1000 + code])
    return pisinger(family, n, R, rng, capacity_fraction=capacity_fraction, **params)  # type: ignore[arg-type]


def make_instance(family: str, d: int, budget_fraction: float, seed: int, *,
                  data_range: int = PISINGER_R) -> Instance:
    """One seeded instance of `family` with d coordinates and B = budget_fraction · Σc.

    FAMILIES keep the generator they always had (R = 1000, so that recorded results
    stay reproducible); HARD_FAMILIES, and Pisinger's families at any other
    `data_range`, come from `hard_instance` (capacity ⌊budget_fraction · Σw⌋).
    """
    if d < 2:
        raise ValueError(f"d must be >= 2, got {d}")
    if not 0 <= budget_fraction <= 1:
        raise ValueError(f"budget_fraction must be in [0, 1], got {budget_fraction}")
    if family in HARD_FAMILIES or (family in PISINGER_FAMILIES and data_range != PISINGER_R):
        if not 0 < budget_fraction < 1:
            raise ValueError(f"budget_fraction must be in (0, 1) for {family}, got {budget_fraction}")
        pi = hard_instance(family, d, data_range, seed, budget_fraction)
        return Instance(family, np.sqrt(pi.p.astype(float)), pi.w.astype(float), float(pi.capacity),
                        budget_fraction, seed)
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {', '.join(FAMILIES + tuple(HARD_FAMILIES))}, got {family!r}")
    rng = np.random.default_rng([seed, d, FAMILIES.index(family)])
    if family.startswith("gradient_"):
        g = rng.normal(size=d) if family == "gradient_gaussian" else rng.standard_t(3, size=d)
        c = _layer_costs(d, rng)
        return Instance(family, g, c, budget_fraction * float(c.sum()), budget_fraction, seed)
    if family == "adversarial_c6":
        # d−1 cheap items of ratio d block one item of ratio d/2 whose cost is the whole budget.
        v = np.full(d, 1e-6 * d)
        c = np.full(d, 1e-6)
        v[-1], c[-1] = d / 2, 1.0
        perm = rng.permutation(d)
        return Instance(family, np.sqrt(v[perm]), c[perm], 1.0, 1.0 / float(c.sum()), seed)
    v, c = _integer_pair(family, d, rng)
    return Instance(family, np.sqrt(v), c, float(np.floor(budget_fraction * c.sum())), budget_fraction, seed)
