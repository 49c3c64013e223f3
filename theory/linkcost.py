"""Where CWMP pays off: eta_CWMP/eta_TopK as the link's energy per bit grows.

A coordinate costs ``c_i = c_tx + c_mem(class)`` with ``c_tx = bits * e_bit``:
the link shifts every cost by the same amount, which keeps the spread of the
memory costs and shrinks their CV. With the large-d model of docs/THEORY.md
section 4 (g i.i.d., unit variance, independent of c) and a cost law with the
model's class shares, the efficiency ratio at equal energy is T3's
``r_CWMP(beta)/r_TopK(beta)`` at ``beta = rho E[c]`` (the energy Top-K spends
keeping a fraction rho): :func:`theory.model.efficiency_ratio` on a two-point law.

The *break-even* link energy per bit for a gain ``gain`` is the e_bit at which the
ratio falls to ``1 + gain``; below it CWMP retains at least that much more of the
update than Top-K for the same joules. Real updates are not independent of the
layer (the FL runs log both retained fractions per client-round to show where
the model and the CNN part).

Run ``python -m theory.linkcost [--results DIR]`` to write
``results/theory/link_breakeven.json`` (figure 12 plots it).
"""

from __future__ import annotations

import argparse
import sys
import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from .distributions import TwoPoint, check_dist
from .model import efficiency_ratio, small_cv_coefficient


@dataclass(frozen=True)
class CostClasses:
    """A model's cost structure: coordinate counts and memory-update cost per class."""

    name: str
    counts: tuple[int, int]  # coordinates per class (low-cost class first)
    c_mem_J: tuple[float, float]  # memory-update energy per coordinate of each class, J
    # Bits charged to the link per kept coordinate (value + index), bit.
    bits_per_coordinate: int

    def __post_init__(self) -> None:
        if len(self.counts) != 2 or len(self.c_mem_J) != 2:
            raise ValueError(f"{self.name}: two cost classes expected, got counts={self.counts!r}")
        if min(self.counts) < 1:
            raise ValueError(f"{self.name}: every class needs >= 1 coordinate, got {self.counts!r}")
        if not all(math.isfinite(c) and c > 0 for c in self.c_mem_J) or self.c_mem_J[0] > self.c_mem_J[1]:
            raise ValueError(f"{self.name}: c_mem_J must be finite, > 0 and ascending, got {self.c_mem_J!r}")
        if self.bits_per_coordinate < 1:
            raise ValueError(f"{self.name}: bits_per_coordinate must be >= 1, got {self.bits_per_coordinate!r}")

    @property
    def d(self) -> int:
        return sum(self.counts)

    def law(self, energy_per_bit: float) -> TwoPoint:
        """The cost law c = c_tx + c_mem(class) with the class shares as probabilities."""
        e = float(energy_per_bit)
        if not (math.isfinite(e) and e >= 0):
            raise ValueError(f"energy_per_bit must be finite and >= 0 J/bit, got {energy_per_bit!r}")
        c_tx = self.bits_per_coordinate * e
        return TwoPoint(low=c_tx + self.c_mem_J[0], high=c_tx + self.c_mem_J[1], p_high=self.counts[1] / self.d)


#: The compact CNN under the `on-device` profile (fl_validation/profiles/on-device.toml):
#: 2,872 conv coordinates held in SRAM (2 x 5 pJ + 0.9 pJ = 10.9 pJ), 59,134 linear
#: ones in DRAM (2 x 640 pJ + 0.9 pJ = 1280.9 pJ), 32 value + 16 index bits.
#: Source: `cwmp fl --profile-info`; tests/test_linkcost.py checks these numbers
#: against fl_validation's cost model (theory does not import fl_validation).
CNN_ON_DEVICE = CostClasses(name="cnn/on-device", counts=(2872, 59134), c_mem_J=(10.9e-12, 1280.9e-12),
                            bits_per_coordinate=48)


def link_ratio(energy_per_bit: float, rho: float, dist: str = "gaussian",
               classes: CostClasses = CNN_ON_DEVICE) -> float:
    """eta_CWMP/eta_TopK at the energy Top-K spends keeping a fraction rho (large d)."""
    if not (0.0 < float(rho) < 1.0):
        raise ValueError(f"rho must be in (0, 1), got {rho!r}")
    law = classes.law(energy_per_bit)
    return efficiency_ratio(float(rho) * law.mean, check_dist(dist), law)


def energy_per_bit_for_cv(cv: float, classes: CostClasses = CNN_ON_DEVICE) -> float:
    """The e_bit (J/bit) at which the cost CV is ``cv``: e = (sd/cv - mean_mem)/bits."""
    law0 = classes.law(0.0)
    if not (0.0 < cv <= law0.cv):
        raise ValueError(f"cv must be in (0, {law0.cv:.4g}] (the CV with no link), got {cv!r}")
    return (math.sqrt(law0.var) / cv - law0.mean) / classes.bits_per_coordinate


def breakeven_energy_per_bit(rho: float, gain: float, dist: str = "gaussian",
                             classes: CostClasses = CNN_ON_DEVICE) -> float | None:
    """The e_bit (J/bit) where link_ratio falls to 1 + gain; 0.0 if it is below already at no link."""
    if not (gain > 0 and math.isfinite(gain)):
        raise ValueError(f"gain must be a finite number > 0, got {gain!r}")
    if link_ratio(0.0, rho, dist, classes) <= 1.0 + gain:
        return 0.0
    f = lambda u: link_ratio(math.exp(u), rho, dist, classes) - (1.0 + gain)  # noqa: E731
    lo = math.log(1e-18)
    hi = math.log(1e-12)
    while f(hi) > 0:
        hi += math.log(10.0)
    return math.exp(optimize.brentq(f, lo, hi, xtol=1e-10, maxiter=500))


def link_table(energy_per_bit: np.ndarray, rhos: tuple[float, ...] = (0.01, 0.05, 0.10, 0.20),
               gains: tuple[float, ...] = (0.01, 0.001), dist: str = "gaussian",
               classes: CostClasses = CNN_ON_DEVICE) -> dict:
    """The theory curve and break-even points, as a JSON-ready dict."""
    e = np.asarray(energy_per_bit, dtype=float)
    rows = []
    for rho in rhos:
        rows.append({
            "rho": rho,
            "ratio": [link_ratio(x, rho, dist, classes) for x in e],
            # 1 + kappa CV^2 (T3's small-heterogeneity law), to show where it takes over
            "small_cv_law": [1.0 + small_cv_coefficient(rho, dist) * classes.law(x).cv ** 2 for x in e],
            "breakeven_J_per_bit": {f"{g:g}": breakeven_energy_per_bit(rho, g, dist, classes) for g in gains},
        })
    return {
        "schema": "cwmp-link-breakeven/1",
        "model": "large-d, g i.i.d. unit-variance independent of c (docs/THEORY.md section 4, T3)",
        "dist": dist,
        "classes": {"name": classes.name, "counts": list(classes.counts), "c_mem_J": list(classes.c_mem_J),
                    "bits_per_coordinate": classes.bits_per_coordinate},
        "energy_per_bit_J": e.tolist(),
        "cost_cv": [classes.law(x).cv for x in e],
        "gains": list(gains),
        "rows": rows,
    }


def main(argv: list[str] | None = None) -> int:
    from solvers.io import atomic_write_json, check_writable_dir, environment_info

    p = argparse.ArgumentParser(prog="python -m theory.linkcost", description=__doc__.split("\n\n")[0])
    p.add_argument("--results", default="results", help="results root (writes <root>/theory/link_breakeven.json)")
    p.add_argument("--dist", default="gaussian", help="gradient law: gaussian | laplace | student_t3")
    ns = p.parse_args(argv)
    out_dir = check_writable_dir(f"{ns.results}/theory")
    grid = np.concatenate([[0.0], np.logspace(-13, -7, 61)])  # 0.1 pJ/bit ... 100 nJ/bit
    table = link_table(grid, dist=ns.dist)
    table["command"] = "python -m theory.linkcost " + " ".join(argv if argv is not None else sys.argv[1:])
    table["environment"] = environment_info()
    atomic_write_json(out_dir / "link_breakeven.json", table)
    for r in table["rows"]:
        be = ", ".join(f"{100 * float(g):g} % gain below {v * 1e12:.4g} pJ/bit" for g, v in r["breakeven_J_per_bit"].items())
        print(f"rho {100 * r['rho']:g} %: ratio {r['ratio'][0]:.4f} with no link; {be}")
    print(f"wrote {out_dir / 'link_breakeven.json'}")
    return 0


if __name__ == "__main__":
    try:  # the `cwmp` boundary: a bad input is one line on stderr and exit 2
        from cwmp_cli import module_main
    except ImportError:
        raise SystemExit(main())
    raise SystemExit(module_main("theory.linkcost", main))
