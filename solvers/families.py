"""Instance families for greedy-vs-exact comparisons.

Pisinger's classic knapsack generators (data range R; "Where are the hard knapsack
problems?", Computers & OR 32, 2005), mapped to P by value v = g² (so g = √v) and
cost c; plus gradient-like instances (Gaussian / heavy-tailed g with two-point
layer costs, THEORY.md C9) and the adversarial C6 family.
"""

from __future__ import annotations

from dataclasses import dataclass

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


def make_instance(family: str, d: int, budget_fraction: float, seed: int) -> Instance:
    """One seeded instance of `family` with d coordinates and B = budget_fraction · Σc."""
    if d < 2:
        raise ValueError(f"d must be >= 2, got {d}")
    if not 0 <= budget_fraction <= 1:
        raise ValueError(f"budget_fraction must be in [0, 1], got {budget_fraction}")
    rng = np.random.default_rng([seed, d, FAMILIES.index(family) if family in FAMILIES else 99])
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
