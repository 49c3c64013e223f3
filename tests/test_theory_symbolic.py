"""theory.symbolic: every derivation reduces to its identity and matches scipy quadrature."""

from __future__ import annotations

import pytest

from theory import symbolic


@pytest.mark.parametrize("check", symbolic.ALL_CHECKS, ids=lambda f: f.__name__)
def test_symbolic_check_passes(check):
    res = check()
    assert res.passed, res.residuals
    if res.numeric_max_abs_err is not None:
        assert res.numeric_max_abs_err <= res.numeric_tol


def test_zero_helper_rejects_nonzero():
    import sympy as sp

    a = sp.symbols("a", positive=True)
    assert symbolic._zero(sp.atan(a) + sp.atan(1 / a) - sp.pi / 2, a)
    assert not symbolic._zero(sp.atan(a) - a / (1 + a**2), a)  # not an identity
    assert not symbolic._zero(sp.erfc(a) - 1 + sp.erf(a) + a**2, a)
