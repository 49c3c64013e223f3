"""Monte Carlo of the finite-d selections (T1-T3), through the solvers' own greedy.

Every replicate draws d i.i.d. pairs (g_i, c_i) from an explicitly passed
``numpy.random.Generator`` (unit-variance g, so per-coordinate retained is a
fraction of E[g^2]) and runs, at the same budget B = beta d,

* CWMP: ``solvers.cwmp_mask(g, c, budget=B, score="l2", greedy="dantzig")``
* Top-K: ``solvers.topk_mask(g, c=c, budget=B, greedy="dantzig")`` (budget mode).

No second greedy is written here. Estimates carry standard errors; the
binomial rates carry Wilson or Clopper-Pearson intervals.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from .distributions import LogNormal, TwoPoint, check_cost, check_dist, sample_grad


@dataclass(frozen=True)
class MCEstimate:
    """A Monte Carlo mean with its standard error."""

    mean: float
    se: float  # standard error of the mean: between-replicate sd / sqrt(n)
    n: int  # number of replicates

    @classmethod
    def of(cls, x) -> "MCEstimate":
        x = np.asarray(x, dtype=float)
        n = len(x)
        se = float(np.std(x, ddof=1) / math.sqrt(n)) if n > 1 else math.inf
        return cls(float(np.mean(x)), se, n)

    def zscore(self, target: float) -> float:
        diff = abs(self.mean - target)
        if self.se == 0:
            return 0.0 if diff <= 1e-12 * max(1.0, abs(target)) else math.inf
        return diff / self.se

    def agrees(self, target: float, k: float, rel_tol: float) -> bool:
        """|mean - target| <= k SE and relative error <= rel_tol (both, as the spec asks)."""
        rel = abs(self.mean - target) / abs(target) if target != 0 else abs(self.mean)
        return self.zscore(target) <= k and rel <= rel_tol

    def as_dict(self) -> dict:
        return {"mean": self.mean, "se": self.se, "n": self.n}


@dataclass(frozen=True, eq=False)
class PairRuns:
    """Per-replicate results of CWMP and Top-K on the same draws at the same budget."""

    d: int
    beta: float  # per-coordinate budget; B = beta * d
    dist: str
    cost: dict  # the cost law's describe()
    ret_cwmp: np.ndarray  # (1/d) sum kept g^2, CWMP
    en_cwmp: np.ndarray  # (1/d) sum kept c, CWMP
    ret_topk: np.ndarray
    en_topk: np.ndarray
    lp_cwmp: np.ndarray  # LP*/d from the CWMP selection's upper_bound: >= any feasible selection
    max_v: np.ndarray  # (1/d) max_i g_i^2: the one-item slack of the LP sandwich
    se_plugin_cwmp: np.ndarray  # per-replicate plug-in SE of ret_cwmp: sd((g^2 - tau_hat c)_+)/sqrt(d)

    @property
    def reps(self) -> int:
        return len(self.ret_cwmp)

    @property
    def eff_ratio(self) -> np.ndarray:
        """eta_CWMP / eta_TopK per replicate (eta = retained / energy)."""
        return (self.ret_cwmp / self.en_cwmp) / (self.ret_topk / self.en_topk)


def simulate_pairs(rng: np.random.Generator, d: int, reps: int, beta: float, dist: str = "gaussian",
                   cost: TwoPoint | LogNormal | None = None) -> PairRuns:
    """Run ``reps`` replicates at dimension d and per-coordinate budget beta."""
    from solvers import cwmp_mask, topk_mask

    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    check_dist(dist)
    cost = check_cost(cost)
    if int(d) != d or d < 1:
        raise ValueError(f"d must be a positive integer, got {d!r}")
    if int(reps) != reps or reps < 1:
        raise ValueError(f"reps must be a positive integer, got {reps!r}")
    if not (beta > 0 and math.isfinite(beta)):
        raise ValueError(f"beta must be finite and > 0, got {beta!r}")
    d, reps = int(d), int(reps)
    out = np.empty((7, reps))
    budget = beta * d
    for r in range(reps):
        g = sample_grad(rng, dist, d)
        c = cost.sample(rng, d)
        sc = cwmp_mask(g, c, budget=budget, score="l2", greedy="dantzig")
        st = topk_mask(g, c=c, budget=budget, greedy="dantzig")
        v = g * g
        # plug-in influence: tau_hat = smallest kept score (the empirical threshold)
        m = np.asarray(sc.mask)
        tau_hat = float(np.min(v[m] / c[m])) if m.any() else 0.0
        psi = np.maximum(v - tau_hat * c, 0.0)
        out[:, r] = (sc.value / d, sc.energy / d, st.value / d, st.energy / d, sc.upper_bound / d,
                     float(v.max()) / d, float(np.std(psi, ddof=1)) / math.sqrt(d))
    return PairRuns(d, float(beta), dist, cost.describe(), *out)


def wilson_interval(successes: int, n: int, conf: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion."""
    if n == 0:
        return 0.0, 1.0
    z = float(stats.norm.isf((1 - conf) / 2))
    p = successes / n
    den = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return max(0.0, centre - half), min(1.0, centre + half)


def clopper_pearson(successes: int, n: int, conf: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper-Pearson) binomial interval."""
    alpha = 1 - conf
    lo = 0.0 if successes == 0 else float(stats.beta.ppf(alpha / 2, successes, n - successes + 1))
    hi = 1.0 if successes == n else float(stats.beta.ppf(1 - alpha / 2, successes + 1, n - successes))
    return lo, hi


def loglog_slope(d: np.ndarray, y: np.ndarray) -> float:
    """Least-squares slope of log y on log d (the empirical convergence rate)."""
    return float(np.polyfit(np.log(np.asarray(d, float)), np.log(np.asarray(y, float)), 1)[0])
