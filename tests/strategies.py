"""Hypothesis strategies and small oracles shared by the solver tests."""

from __future__ import annotations

import numpy as np
from hypothesis import settings
from hypothesis import strategies as st


def scaled_examples(factor: float) -> int:
    """``max_examples`` as a multiple of the loaded hypothesis profile's (tests/conftest.py: ci 60,
    thorough 1000), so that a profile raises or lowers every property test. conftest.py loads the
    profile before test modules are imported; an explicit constant would pin the count instead."""
    return max(1, round(settings().max_examples * factor))


@st.composite
def instances(draw, min_d: int = 1, max_d: int = 10, integer: bool = False, zeros: bool = True):
    """(g, c, B): finite g (some zeros), positive c, budget from 0 to above Σc."""
    d = draw(st.integers(min_d, max_d))
    if integer:
        g = np.sqrt(np.array(draw(st.lists(st.integers(0 if zeros else 1, 100), min_size=d, max_size=d)),
                             dtype=float))
        c = np.array(draw(st.lists(st.integers(1, 30), min_size=d, max_size=d)), dtype=float)
        B = float(draw(st.integers(0, int(c.sum()) + 5)))
        return g, c, B
    # Magnitudes are 0 or ≥ 1e-6: far from float64 underflow of g² (invariance tests scale by 2^±20).
    mag = st.floats(1e-6, 100.0, allow_nan=False, allow_infinity=False)
    if zeros:
        mag = st.one_of(st.just(0.0), mag)
    g = np.array(draw(st.lists(mag, min_size=d, max_size=d)))
    sign = np.array(draw(st.lists(st.sampled_from([-1.0, 1.0]), min_size=d, max_size=d)))
    c = np.array(draw(st.lists(st.floats(1e-2, 50.0, allow_nan=False), min_size=d, max_size=d)))
    frac = draw(st.floats(0.0, 1.2))
    return g * sign, c, float(frac * c.sum())


def brute_opt(v: np.ndarray, c: np.ndarray, B: float) -> float:
    """Independent oracle: enumerate all subsets with itertools (d ≤ 12)."""
    import itertools

    best = 0.0
    for r in range(len(v) + 1):
        for sub in itertools.combinations(range(len(v)), r):
            idx = list(sub)
            if c[idx].sum() <= B:
                best = max(best, float(v[idx].sum()))
    return best
