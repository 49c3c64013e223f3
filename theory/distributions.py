"""Gradient and cost distributions of the probabilistic model (docs/THEORY.md, Section 4).

Gradients are taken with unit variance: every retained quantity is a fraction of
E[g^2], so the scale sigma cancels. For each gradient law we need the tail
moments ``M_k(a) = E[|g|^k 1{|g| >= a}]`` for k = 0, 2, 4 in closed form; the
symbolic module derives them with sympy and the tests check them against
scipy quadrature.

Costs are positive i.i.d. draws independent of g: a two-point mixture
(compute-efficient vs memory-intensive coordinates) or a lognormal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy import integrate, special, stats

GRAD_DISTS: tuple[str, ...] = ("gaussian", "laplace", "student_t3")

_LAPLACE_B = 1.0 / math.sqrt(2.0)  # Laplace scale with variance 2 b^2 = 1
_T3_SCALE = 1.0 / math.sqrt(3.0)  # Student-t(3) has variance 3; divide by sqrt(3)


def check_dist(dist: str) -> str:
    if dist not in GRAD_DISTS:
        raise ValueError(f"dist must be one of {GRAD_DISTS}, got {dist!r}")
    return dist


def tail_prob(a, dist: str):
    """P(|g| >= a) for unit-variance g (vectorised over a >= 0)."""
    a = np.asarray(a, dtype=float)
    if dist == "gaussian":
        return special.erfc(a / math.sqrt(2.0))
    if dist == "laplace":
        return np.exp(-a / _LAPLACE_B)
    if dist == "student_t3":
        return 1.0 - (2.0 / math.pi) * (np.arctan(a) + a / (1.0 + a * a))
    raise ValueError(f"dist must be one of {GRAD_DISTS}, got {dist!r}")


def tail_moment(a, dist: str, k: int):
    """M_k(a) = E[|g|^k 1{|g| >= a}] for unit-variance g, k in {0, 2, 4}.

    Student-t(3) has no fourth moment: M_4 is +inf there (and so is every
    variance built on it; see theory.bounds).
    """
    if k == 0:
        return tail_prob(a, dist)
    a = np.asarray(a, dtype=float)
    if dist == "gaussian":
        phi = np.exp(-0.5 * a * a) / math.sqrt(2.0 * math.pi)
        q2 = special.erfc(a / math.sqrt(2.0))  # = 2 (1 - Phi(a))
        if k == 2:
            return 2.0 * a * phi + q2
        if k == 4:
            return 2.0 * (a**3 + 3.0 * a) * phi + 3.0 * q2
    elif dist == "laplace":
        # E[|g|^k 1{|g|>=a}] = b^k * Gamma(k+1, a/b) = b^k k! e^{-s} sum_{j<=k} s^j/j!
        s = a / _LAPLACE_B
        poly = sum(s**j / math.factorial(j) for j in range(k + 1))
        return _LAPLACE_B**k * math.factorial(k) * np.exp(-s) * poly
    elif dist == "student_t3":
        if k == 2:
            return 1.0 - (2.0 / math.pi) * (np.arctan(a) - a / (1.0 + a * a))
        if k == 4:
            return np.full_like(a, np.inf)
    else:
        raise ValueError(f"dist must be one of {GRAD_DISTS}, got {dist!r}")
    raise ValueError(f"k must be 0, 2 or 4, got {k!r}")


def abs_isf(rho: float, dist: str) -> float:
    """The threshold a with P(|g| >= a) = rho (unit-variance g)."""
    if dist == "gaussian":
        return float(stats.norm.isf(rho / 2.0))
    if dist == "laplace":
        return float(-_LAPLACE_B * math.log(rho))
    if dist == "student_t3":
        return float(stats.t.isf(rho / 2.0, 3) * _T3_SCALE)
    raise ValueError(f"dist must be one of {GRAD_DISTS}, got {dist!r}")


def abs_pdf(a, dist: str):
    """Density of |g| at a >= 0 (unit-variance g)."""
    a = np.asarray(a, dtype=float)
    if dist == "gaussian":
        return 2.0 * stats.norm.pdf(a)
    if dist == "laplace":
        return np.exp(-a / _LAPLACE_B) / _LAPLACE_B
    if dist == "student_t3":
        return 2.0 * stats.t.pdf(a / _T3_SCALE, 3) / _T3_SCALE
    raise ValueError(f"dist must be one of {GRAD_DISTS}, got {dist!r}")


def scipy_law(dist: str):
    """The frozen scipy distribution of unit-variance g (an independent oracle)."""
    if dist == "gaussian":
        return stats.norm()
    if dist == "laplace":
        return stats.laplace(scale=_LAPLACE_B)
    if dist == "student_t3":
        return stats.t(3, scale=_T3_SCALE)
    raise ValueError(f"dist must be one of {GRAD_DISTS}, got {dist!r}")


def sample_grad(rng: np.random.Generator, dist: str, size) -> np.ndarray:
    """Unit-variance gradient coordinates drawn from ``rng``."""
    if dist == "gaussian":
        return rng.standard_normal(size)
    if dist == "laplace":
        return rng.laplace(0.0, _LAPLACE_B, size)
    if dist == "student_t3":
        return rng.standard_t(3, size) * _T3_SCALE
    raise ValueError(f"dist must be one of {GRAD_DISTS}, got {dist!r}")


def _gl_nodes(lo: float = -14.0, hi: float = 14.0, panels: int = 14, order: int = 48):
    x, w = np.polynomial.legendre.leggauss(order)
    edges = np.linspace(lo, hi, panels + 1)
    half = 0.5 * np.diff(edges)
    mid = 0.5 * (edges[:-1] + edges[1:])
    z = (mid[:, None] + half[:, None] * x[None, :]).ravel()
    wz = (half[:, None] * w[None, :]).ravel()
    return z, wz


_GL_NODES = _gl_nodes()


def _positive(name: str, x: float) -> float:
    x = float(x)
    if not (math.isfinite(x) and x > 0):
        raise ValueError(f"{name} must be a finite positive number, got {x!r}")
    return x


@dataclass(frozen=True)
class TwoPoint:
    """Cost c = high with probability p_high, else low (memory-intensive vs cached)."""

    low: float  # cost of a compute-efficient (cached) coordinate, > 0
    high: float  # cost of a memory-intensive coordinate, >= low
    p_high: float  # fraction of memory-intensive coordinates, in [0, 1]

    def __post_init__(self) -> None:
        _positive("low", self.low)
        _positive("high", self.high)
        if self.high < self.low:
            raise ValueError(f"high must be >= low, got high={self.high!r} < low={self.low!r}")
        if not (0.0 <= float(self.p_high) <= 1.0):
            raise ValueError(f"p_high must be in [0, 1], got {self.p_high!r}")

    @classmethod
    def from_cv(cls, cv: float, p_high: float = 0.2, mean: float = 1.0) -> "TwoPoint":
        """The two-point law with given mean, CV and p_high (needs cv < sqrt((1-p)/p))."""
        if not (0.0 < p_high < 1.0):
            raise ValueError(f"p_high must be in (0, 1), got {p_high!r}")
        if not (cv >= 0.0 and math.isfinite(cv)):
            raise ValueError(f"cv must be finite and >= 0, got {cv!r}")
        _positive("mean", mean)
        spread = cv * mean / math.sqrt(p_high * (1.0 - p_high))  # high - low
        low = mean - p_high * spread
        if low <= 0:
            raise ValueError(
                f"cv={cv!r} too large for p_high={p_high!r}: needs cv < {math.sqrt((1 - p_high) / p_high):.4g}"
            )
        return cls(low=low, high=low + spread, p_high=p_high)

    @property
    def mean(self) -> float:
        return (1.0 - self.p_high) * self.low + self.p_high * self.high

    @property
    def var(self) -> float:
        return self.p_high * (1.0 - self.p_high) * (self.high - self.low) ** 2

    @property
    def cv(self) -> float:
        return math.sqrt(self.var) / self.mean

    @property
    def max_cost(self) -> float:
        return self.high

    def cost_quantile_upper(self, alpha: float) -> float:
        """A q with P(c > q) <= alpha (bounded law: the maximum itself)."""
        return self.high

    def expect(self, fn: Callable[[np.ndarray], np.ndarray]) -> float:
        """E[fn(c)] for a vectorised fn (exact: two atoms)."""
        vals = np.asarray(fn(np.array([self.low, self.high])), dtype=float)
        return float((1.0 - self.p_high) * vals[0] + self.p_high * vals[1])

    def sample(self, rng: np.random.Generator, size) -> np.ndarray:
        return np.where(rng.random(size) < self.p_high, self.high, self.low)

    def describe(self) -> dict:
        return {"law": "two_point", "low": self.low, "high": self.high, "p_high": self.p_high,
                "mean": self.mean, "cv": self.cv}


@dataclass(frozen=True)
class LogNormal:
    """Cost c = exp(mu + sigma Z), Z ~ N(0, 1)."""

    mu: float  # location of log c
    sigma: float  # scale of log c, >= 0; CV = sqrt(exp(sigma^2) - 1)

    def __post_init__(self) -> None:
        if not math.isfinite(float(self.mu)):
            raise ValueError(f"mu must be finite, got {self.mu!r}")
        if not (math.isfinite(float(self.sigma)) and self.sigma >= 0):
            raise ValueError(f"sigma must be finite and >= 0, got {self.sigma!r}")

    @classmethod
    def from_cv(cls, cv: float, mean: float = 1.0) -> "LogNormal":
        if not (cv >= 0.0 and math.isfinite(cv)):
            raise ValueError(f"cv must be finite and >= 0, got {cv!r}")
        _positive("mean", mean)
        sigma = math.sqrt(math.log1p(cv * cv))
        return cls(mu=math.log(mean) - 0.5 * sigma * sigma, sigma=sigma)

    @property
    def mean(self) -> float:
        return math.exp(self.mu + 0.5 * self.sigma**2)

    @property
    def var(self) -> float:
        return math.expm1(self.sigma**2) * self.mean**2

    @property
    def cv(self) -> float:
        return math.sqrt(math.expm1(self.sigma**2))

    @property
    def max_cost(self) -> float:
        return math.inf if self.sigma > 0 else math.exp(self.mu)

    def cost_quantile_upper(self, alpha: float) -> float:
        """q with P(c > q) = alpha."""
        return math.exp(self.mu + self.sigma * float(stats.norm.isf(alpha)))

    def expect(self, fn: Callable[[np.ndarray], np.ndarray]) -> float:
        """E[fn(c)] by composite Gauss-Legendre over z = (log c - mu)/sigma (vectorised).

        The integrand is smooth in z; z in [-14, 14] leaves < 1e-40 of the
        normal mass outside. ``expect_quad`` is the adaptive (slow) reference.
        """
        if self.sigma == 0:
            return float(np.asarray(fn(np.array([math.exp(self.mu)])), dtype=float)[0])
        z, w = _GL_NODES
        c = np.exp(self.mu + self.sigma * z)
        vals = np.asarray(fn(c), dtype=float)
        return float(np.sum(w * vals * np.exp(-0.5 * z * z)) / math.sqrt(2.0 * math.pi))

    def expect_quad(self, fn: Callable[[np.ndarray], np.ndarray]) -> float:
        """E[fn(c)] by scipy adaptive quadrature (reference for ``expect``)."""
        if self.sigma == 0:
            return float(np.asarray(fn(np.array([math.exp(self.mu)])), dtype=float)[0])

        def integrand(z: float) -> float:
            c = math.exp(self.mu + self.sigma * z)
            return float(np.asarray(fn(np.array([c])), dtype=float)[0]) * math.exp(-0.5 * z * z)

        total = 0.0
        for lo, hi in ((-14.0, -4.0), (-4.0, 0.0), (0.0, 4.0), (4.0, 14.0)):
            val, _ = integrate.quad(integrand, lo, hi, epsabs=0.0, epsrel=1e-12, limit=200)
            total += val
        return total / math.sqrt(2.0 * math.pi)

    def sample(self, rng: np.random.Generator, size) -> np.ndarray:
        return rng.lognormal(self.mu, self.sigma, size)

    def describe(self) -> dict:
        return {"law": "lognormal", "mu": self.mu, "sigma": self.sigma, "mean": self.mean, "cv": self.cv}


CostDist = TwoPoint | LogNormal


def check_cost(cost) -> CostDist:
    if not isinstance(cost, (TwoPoint, LogNormal)):
        raise ValueError(f"cost must be a TwoPoint or LogNormal, got {type(cost).__name__}")
    return cost
