"""The link-energy sweep of issue "Where CWMP pays off" (theory.linkcost, mixed profiles).

Oracles: the profile TOML constants read with tomllib and combined by hand; an
independent Gaussian two-point closed form (erfc sums, its own root find); T3's
small-CV law 1 + kappa CV^2 far out on the link axis.
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path

import numpy as np
import pytest
from scipy import optimize, special, stats

from theory.linkcost import (CNN_ON_DEVICE, CostClasses, breakeven_energy_per_bit, energy_per_bit_for_cv,
                             link_ratio, link_table)
from theory.model import small_cv_coefficient

PROFILES = Path(__file__).resolve().parents[1] / "fl_validation" / "profiles"
N_CONV, N_LIN = 2872, 59134  # the compact CNN: conv weights+biases, fc1-fc3 (fl_validation/model.py)


def _hand_costs(toml: dict) -> tuple[float, float, int]:
    """(conv/SRAM cost, linear/DRAM cost, bits) of the CNN from a profile's raw constants."""
    t, m = toml["transmission"], toml["memory"]
    bits = t["value_bits"]["value"] + math.ceil(math.log2(N_CONV + N_LIN))
    c_tx = bits * t["energy_per_bit"]["value"]
    add = m["adds_per_update"]["value"] * m["fp32_add"]["value"]
    acc = m["accesses_per_update"]["value"]
    return c_tx + acc * m["sram_access"]["value"] + add, c_tx + acc * m["dram_access"]["value"] + add, bits


@pytest.mark.parametrize("name, target", [("mixed-cv0.10", 0.10), ("mixed-cv0.03", 0.03), ("mixed-cv0.01", 0.01)])
def test_mixed_profile_cvs_recomputed_from_the_toml_constants(name, target):
    toml = tomllib.loads((PROFILES / f"{name}.toml").read_text())
    lo, hi, bits = _hand_costs(toml)
    c = np.concatenate([np.full(N_CONV, lo), np.full(N_LIN, hi)])
    cv = c.std() / c.mean()
    assert abs(cv / target - 1) < 0.10  # the tolerance; the shipped values are within 0.1 %
    assert abs(cv / target - 1) < 1e-3
    assert "assumption" in toml["transmission"]["energy_per_bit"]["source"]
    from fl_validation.energy import cost_model_for

    assert cost_model_for("cnn", name).cv == pytest.approx(cv, rel=1e-12)  # what --profile-info prints


def test_cnn_constants_match_fl_validations_cost_model():
    from fl_validation.energy import cost_model_for

    cm = cost_model_for("cnn", "on-device")
    s = cm.summary()
    assert (s["classes"]["conv/sram"]["count"], s["classes"]["linear/dram"]["count"]) == CNN_ON_DEVICE.counts
    assert s["classes"]["conv/sram"]["c_J"] == pytest.approx(CNN_ON_DEVICE.c_mem_J[0], rel=1e-12)
    assert s["classes"]["linear/dram"]["c_J"] == pytest.approx(CNN_ON_DEVICE.c_mem_J[1], rel=1e-12)
    assert cm.bits_per_coordinate == CNN_ON_DEVICE.bits_per_coordinate
    lo, hi, _ = _hand_costs(tomllib.loads((PROFILES / "on-device.toml").read_text()))
    assert (lo, hi) == pytest.approx(CNN_ON_DEVICE.c_mem_J, rel=1e-12)


def _closed_form_ratio(L: float, H: float, p: float, rho: float) -> float:
    """Gaussian g, two-point costs: r(tau*)/M2(a), written out from docs/THEORY.md T3."""
    M2 = lambda a: 2.0 * (a * stats.norm.pdf(a) + stats.norm.sf(a))  # noqa: E731
    beta = rho * ((1 - p) * L + p * H)
    e = lambda t: (1 - p) * L * special.erfc(math.sqrt(t * L / 2)) + p * H * special.erfc(math.sqrt(t * H / 2))  # noqa: E731
    u = optimize.brentq(lambda u: e(math.exp(u)) - beta, -80.0, 80.0, xtol=1e-14)
    tau = math.exp(u)
    r = (1 - p) * M2(math.sqrt(tau * L)) + p * M2(math.sqrt(tau * H))
    return r / M2(stats.norm.isf(rho / 2))


@pytest.mark.parametrize("rho", [0.01, 0.05, 0.10, 0.20])
@pytest.mark.parametrize("e_bit", [0.0, 30e-12, 160e-12])
def test_link_ratio_equals_the_two_point_closed_form(rho, e_bit):
    lo, hi = (48 * e_bit + c for c in CNN_ON_DEVICE.c_mem_J)
    # costs rescaled to O(1) for the oracle's root find (the ratio is scale-free)
    want = _closed_form_ratio(lo / hi, 1.0, N_LIN / (N_CONV + N_LIN), rho)
    assert link_ratio(e_bit, rho) == pytest.approx(want, rel=1e-9)


def test_link_ratio_falls_to_one_as_the_link_grows():
    grid = np.logspace(-13, -6, 29)
    for rho in (0.05, 0.10):
        r = np.array([link_ratio(e, rho) for e in grid])
        assert np.all(np.diff(r) < 0) and r[0] > 1.0 and np.all(r > 1.0)  # T1: never below Top-K
        assert r[-1] - 1.0 < 1e-9
        # far out, T3's small-CV law takes over: (ratio - 1) / (kappa CV^2) -> 1
        e = 1e-8
        cv = CNN_ON_DEVICE.law(e).cv
        assert (link_ratio(e, rho) - 1.0) / (small_cv_coefficient(rho) * cv ** 2) == pytest.approx(1.0, abs=0.02)


def test_breakeven_and_cv_inverse():
    for rho, gain in [(0.05, 0.01), (0.10, 0.001)]:
        e = breakeven_energy_per_bit(rho, gain)
        assert e > 0 and link_ratio(e, rho) == pytest.approx(1 + gain, rel=1e-9)
    assert breakeven_energy_per_bit(0.10, 0.5) == 0.0  # a 50 % gain is never reached at 10 %
    for cv in (0.1, 0.03, 0.01):
        assert CNN_ON_DEVICE.law(energy_per_bit_for_cv(cv)).cv == pytest.approx(cv, rel=1e-12)
    t = link_table(np.array([0.0, 1e-11]), rhos=(0.1,), gains=(0.01,))
    assert t["rows"][0]["ratio"][0] == link_ratio(0.0, 0.1)
    assert t["cost_cv"][0] == pytest.approx(0.218415, abs=1e-6)


@pytest.mark.parametrize("kw, msg", [
    (dict(counts=(0, 5), c_mem_J=(1.0, 2.0)), "every class"),
    (dict(counts=(1, 5), c_mem_J=(2.0, 1.0)), "ascending"),
    (dict(counts=(1, 5), c_mem_J=(float("nan"), 1.0)), "finite"),
])
def test_cost_classes_reject_bad_input(kw, msg):
    with pytest.raises(ValueError, match=msg):
        CostClasses(name="x", bits_per_coordinate=48, **kw)
    with pytest.raises(ValueError, match="energy_per_bit"):
        CNN_ON_DEVICE.law(-1.0)
    with pytest.raises(ValueError, match="rho"):
        link_ratio(0.0, 1.0)
