"""sympy derivations of the proof steps and closed forms (docs/THEORY.md, Sections 3-4).

Each function derives an identity symbolically, reduces "derived - expected"
to zero, and (for closed forms) evaluates both sides against scipy numerical
integration. They return :class:`SymbolicCheck`; nothing runs at import time
(sympy itself is imported lazily: it takes a second).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
from scipy import integrate, optimize

from .distributions import GRAD_DISTS, TwoPoint, LogNormal, abs_isf, scipy_law, tail_moment


@dataclass(frozen=True)
class SymbolicCheck:
    """Outcome of one symbolic derivation."""

    name: str
    statement: str
    passed: bool  # every residual reduced to 0 and every numeric comparison within tolerance
    residuals: dict[str, str] = field(default_factory=dict)  # identity -> simplified (derived - expected)
    derived: dict[str, str] = field(default_factory=dict)  # key derived expressions, as text
    numeric_max_abs_err: float | None = None  # worst |closed form - scipy quadrature|
    numeric_tol: float | None = None  # tolerance that numeric error was held to
    seconds: float = 0.0
    # what the derivation establishes and what it does not: which residuals are zero by
    # construction (could not fail) and which steps are typed in rather than derived
    scope: str = ""

    def as_dict(self) -> dict:
        return {"name": self.name, "statement": self.statement, "passed": self.passed, "scope": self.scope,
                "residuals": self.residuals, "derived": self.derived,
                "numeric_max_abs_err": self.numeric_max_abs_err, "numeric_tol": self.numeric_tol,
                "seconds": round(self.seconds, 3)}


def _sp():
    import sympy

    return sympy


def _zero(expr, var=None) -> bool:
    """True when expr is identically 0: directly, after rewriting erfc as 1 - erf and
    atan(1/a) as pi/2 - atan(a) (a > 0), or because its derivative in ``var`` is 0 and
    it vanishes at var = 1 (an identity on the connected domain a > 0)."""
    sp = _sp()
    if var is not None:
        expr = expr.subs(sp.atan(1 / var), sp.pi / 2 - sp.atan(var))
    for e in (expr, expr.rewrite(sp.erf)):
        if sp.simplify(e) == 0:
            return True
    if var is not None:
        if sp.simplify(sp.diff(expr, var).rewrite(sp.erf)) == 0 and sp.simplify(expr.subs(var, 1)) == 0:
            return True
    return False


def lp_kkt_dual() -> SymbolicCheck:
    """KKT conditions and dual of P_LP; Dantzig's solution with lambda* = v_b/c_b satisfies them.

    General d, via prefix sums: items before the break item b have total value V
    and cost C, so Dantzig's value is V + v_b (B - C)/c_b; the dual objective at
    lambda* = v_b/c_b, mu_i = (v_i - lambda* c_i)_+ is lambda* B + (V - lambda* C).
    That last step (sum of mu_i = V - lambda* C) uses the sort order and is written
    in, not derived, so the general-d residual is zero by algebra and proves nothing.
    The part that can fail is a concrete 4-item instance with every v, c, B symbolic
    (strict ratio gaps): stationarity, complementary slackness, multiplier signs and a
    zero primal-dual gap, i.e. a KKT certificate for that instance. ``scope`` says so.
    """
    sp = _sp()
    t0 = time.perf_counter()
    res: dict[str, str] = {}
    der: dict[str, str] = {}
    ok = True
    # Lagrangian of max v.x s.t. c.x <= B, 0 <= x <= 1 (one generic item i, multipliers lam, mu_i, nu_i)
    v, c, x, lam, mu, nu, B = sp.symbols("v_i c_i x_i lambda mu_i nu_i B", real=True)
    lagr = v * x - lam * (c * x) - mu * (x - 1) + nu * x
    coeff = sp.expand(lagr).coeff(x, 1)
    der["stationarity (coefficient of x_i in the Lagrangian)"] = f"{coeff} = 0"
    der["dual of P_LP"] = "min lambda*B + sum_i mu_i  s.t.  mu_i >= v_i - lambda*c_i, mu_i >= 0, lambda >= 0"
    der["dual function"] = "q(lambda) = lambda*B + sum_i max(v_i - lambda*c_i, 0)  (convex, piecewise linear)"
    # weak duality as an identity: dual - primal = lam (B - c.x) + mu (1 - x) + (lam c + mu - v) x, all terms >= 0
    wd = (lam * B + mu) - v * x - (lam * (B - c * x) + mu * (1 - x) + (lam * c + mu - v) * x)
    res["weak duality decomposition"] = str(sp.simplify(wd))
    ok &= sp.simplify(wd) == 0
    # strong duality for general d by prefix sums
    V, C, vb, cb, Bp = sp.symbols("V C v_b c_b B", positive=True)
    primal = V + vb * (Bp - C) / cb
    lam_star = vb / cb
    dual = lam_star * Bp + (V - lam_star * C)
    res["strong duality (general d, prefix sums)"] = str(sp.simplify(primal - dual))
    ok &= sp.simplify(primal - dual) == 0
    der["lambda*"] = str(lam_star)
    # concrete 4-item instance: ratios r1 > r2 > r3 = lambda > r4, budget hits item 3 at fraction theta
    c1, c2, c3, c4, L, d1, d2, s, wq = sp.symbols("c1 c2 c3 c4 lambda delta1 delta2 s w", positive=True)
    ratios = [L + d1 + d2, L + d2, L, L / (1 + wq)]
    cs = [c1, c2, c3, c4]
    vs = [r * ci for r, ci in zip(ratios, cs)]
    theta = 1 / (1 + s)  # in (0, 1)
    Bc = c1 + c2 + theta * c3
    xs = [1, 1, theta, 0]
    mus = [sp.Max(vi - L * ci, 0) for vi, ci in zip(vs, cs)]
    nus = [sp.Max(L * ci - vi, 0) for vi, ci in zip(vs, cs)]
    stat = [sp.simplify(vi - L * ci - mi + ni) for vi, ci, mi, ni in zip(vs, cs, mus, nus)]
    slack = [sp.simplify(mi * (1 - xi)) for mi, xi in zip(mus, xs)] + [sp.simplify(ni * xi) for ni, xi in zip(nus, xs)]
    budget_slack = sp.simplify(L * (Bc - sum(ci * xi for ci, xi in zip(cs, xs))))
    gap = sp.simplify(sum(vi * xi for vi, xi in zip(vs, xs)) - (L * Bc + sum(mus)))
    nonneg = all(bool(sp.simplify(m).is_nonnegative) for m in mus + nus)
    res["4-item stationarity v_i - lambda c_i - mu_i + nu_i"] = str(stat)
    res["4-item complementary slackness"] = str(slack + [budget_slack])
    res["4-item primal - dual"] = str(gap)
    der["4-item multipliers mu, nu nonnegative"] = str(nonneg)
    ok &= all(e == 0 for e in stat + slack) and budget_slack == 0 and gap == 0 and nonneg
    scope = ("zero-gap KKT certificate for one symbolic 4-item instance with strict ratios (not a general-d "
             "proof). Residuals that could not fail: the weak-duality decomposition and the general-d 'strong "
             "duality' residual V + v_b(B - C)/c_b - (lambda* B + V - lambda* C) are zero by algebra; the step "
             "that matters, sum_i (v_i - lambda* c_i)_+ = V - lambda* C, needs the sort order and is typed in, "
             "not derived; the 4-item stationarity residuals reduce to x - x_+ + (-x)_+ = 0 by the definitions "
             "of mu, nu. What can fail: the 4-item complementary slackness, zero primal-dual gap and the "
             "sign of the multipliers (sympy must decide them from the ordering assumptions)")
    return SymbolicCheck("lp_kkt_dual", "Dantzig's rule satisfies the KKT conditions of P_LP; LP* = dual optimum",
                         bool(ok), res, der, seconds=time.perf_counter() - t0, scope=scope)


def exchange_argument() -> SymbolicCheck:
    """Moving energy eps from a lower-ratio item j to a higher-ratio item i.

    x_i += eps/c_i, x_j -= eps/c_j keeps the energy and changes the objective by
    eps (v_i/c_i - v_j/c_j) = eps * delta >= 0 when v_i/c_i = v_j/c_j + delta.
    Repeating it turns any LP-feasible x into the ratio-threshold (Dantzig) solution
    without lowering the objective, so Dantzig's rule is LP-optimal.
    """
    sp = _sp()
    t0 = time.perf_counter()
    ci, cj, vj, delta, eps = sp.symbols("c_i c_j v_j delta epsilon", positive=True)
    vi = ci * (vj / cj + delta)  # item i has the higher ratio by delta > 0
    d_energy = sp.simplify(ci * (eps / ci) - cj * (eps / cj))
    d_obj = sp.simplify(vi * (eps / ci) - vj * (eps / cj))
    res = {"energy change": str(d_energy), "objective change - eps*delta": str(sp.simplify(d_obj - eps * delta))}
    ok = d_energy == 0 and sp.simplify(d_obj - eps * delta) == 0 and bool(d_obj.is_nonnegative)
    der = {"objective change": str(d_obj), "nonnegative": str(d_obj.is_nonnegative)}
    scope = ("one exchange step between two items (energy unchanged, objective change eps*delta >= 0); it does "
             "not show that repeated exchanges reach Dantzig's point, so it is not a proof of LP optimality")
    return SymbolicCheck("exchange_argument", "exchanging mass toward the higher v/c ratio never lowers the LP objective",
                         bool(ok), res, der, seconds=time.perf_counter() - t0, scope=scope)


def threshold_rule_lemma() -> SymbolicCheck:
    """Pointwise Lagrangian bound behind T1: (x - l y) m <= max(x - l y, 0) for m in [0, 1].

    With x = g^2, y = c, l = tau: E[g^2 m] <= tau E[c m] + E[(g^2 - tau c)_+] <= tau beta + H(tau) = r(tau)
    for every fractional m with E[c m] <= beta; the threshold rule attains it. Both sign cases are
    reduced to a product of nonnegative symbols.
    """
    sp = _sp()
    t0 = time.perf_counter()
    s, m, q = sp.symbols("s m q", positive=True)  # s = |x - l y| > 0, m in (0,1) via m = 1/(1+q)
    mm = 1 / (1 + q)
    pos_case = sp.simplify(sp.Max(s, 0) - s * mm)  # x - l y = s > 0
    neg_case = sp.simplify(sp.Max(-s, 0) - (-s) * mm)  # x - l y = -s < 0
    ok = bool(pos_case.is_nonnegative) and bool(neg_case.is_nonnegative)
    res = {"case x-ly>0: max - (x-ly)m": str(pos_case), "case x-ly<0: max - (x-ly)m": str(neg_case)}
    scope = ("the pointwise inequality (x - l y) m <= (x - l y)_+ for m in (0, 1), in its two sign cases: a "
             "one-line fact that sympy decides from the positivity assumptions (it could fail only if the case "
             "split were wrong); integrating it over (g, c) and attainment by the threshold rule are argued in the "
             "docstring, not derived")
    return SymbolicCheck("threshold_rule_lemma", "the threshold rule g^2 >= tau c solves the continuous LP (T1)",
                         ok, res, {}, seconds=time.perf_counter() - t0, scope=scope)


def topk_closed_forms() -> SymbolicCheck:
    """E[|g|^k 1{|g|>=a}] for the three laws (unit variance), k = 0, 2 (and 4 where finite).

    Gaussian: 2 int_t^oo x^2 phi = 2[t phi(t) + 1 - Phi(t)]; Laplace b = 1/sqrt2:
    b^k Gamma(k+1, a/b); Student-t3 scaled by 1/sqrt3:
    1 - (2/pi)(atan a -+ a/(1+a^2)). Each is then compared with scipy.integrate.quad.
    """
    sp = _sp()
    t0 = time.perf_counter()
    x = sp.symbols("x", real=True)
    a = sp.symbols("a", positive=True)
    res: dict[str, str] = {}
    der: dict[str, str] = {}
    ok = True
    phi = sp.exp(-x**2 / 2) / sp.sqrt(2 * sp.pi)
    Phi = (1 + sp.erf(a / sp.sqrt(2))) / 2
    expected = {
        ("gaussian", 0): 2 * (1 - Phi),
        ("gaussian", 2): 2 * (a * phi.subs(x, a) + 1 - Phi),
        ("gaussian", 4): 2 * (a**3 + 3 * a) * phi.subs(x, a) + 6 * (1 - Phi),
        ("student_t3", 0): 1 - 2 / sp.pi * (sp.atan(a) + a / (1 + a**2)),
        ("student_t3", 2): 1 - 2 / sp.pi * (sp.atan(a) - a / (1 + a**2)),
    }
    b = 1 / sp.sqrt(2)
    for k in (0, 2, 4):
        sl = a / b
        expected[("laplace", k)] = b**k * sp.factorial(k) * sp.exp(-sl) * sum(sl**j / sp.factorial(j) for j in range(k + 1))
    t3pdf = 2 / (sp.pi * sp.sqrt(3)) * (1 + x**2 / 3) ** -2  # Student-t, nu = 3
    integrals = {
        "gaussian": lambda k: 2 * sp.integrate(x**k * phi, (x, a, sp.oo)),
        "laplace": lambda k: 2 * sp.integrate(x**k * sp.exp(-x / b) / (2 * b), (x, a, sp.oo)),
        # g = T/sqrt3: E[|g|^k 1{|g|>=a}] = 2 int_{a sqrt3}^oo (x/sqrt3)^k f_T(x) dx
        "student_t3": lambda k: 2 * sp.integrate((x / sp.sqrt(3)) ** k * t3pdf, (x, a * sp.sqrt(3), sp.oo)),
    }
    for (dist, k), exp_ in expected.items():
        derived = integrals[dist](k)
        zero = _zero(derived - exp_, a)
        res[f"{dist} M{k}: derived - closed form"] = "0" if zero else str(sp.simplify(derived - exp_))
        der[f"{dist} M{k}(a)"] = str(sp.simplify(derived))
        ok &= zero
    # numeric: closed forms (as implemented in theory.distributions) vs scipy quad
    worst = 0.0
    for dist in GRAD_DISTS:
        law = scipy_law(dist)
        for av in (0.0, 0.3, 1.0, 1.6448536, 2.5, 4.0):
            for k in (0, 2) + ((4,) if dist != "student_t3" else ()):
                q = 2 * integrate.quad(lambda z: z**k * law.pdf(z), av, np.inf, epsabs=0, epsrel=1e-13, limit=200)[0]
                worst = max(worst, abs(float(tail_moment(av, dist, k)) - q))
                lam = sp.lambdify(a, expected[(dist, k)], "mpmath")
                worst = max(worst, abs(float(lam(av)) - q) if av > 0 else 0.0)
    tol = 1e-10  # quad at epsrel 1e-13 on smooth integrands; values are O(1)
    ok &= worst <= tol
    scope = ("sympy integrates each tail moment from the density and compares it with the closed form used by "
             "theory.distributions; both are also compared with scipy quadrature (can fail on either side)")
    return SymbolicCheck("topk_closed_forms", "Top-K tail moments: Gaussian 2[t phi(t) + 1 - Phi(t)], Laplace, Student-t3",
                         bool(ok), res, der, worst, tol, time.perf_counter() - t0, scope=scope)


def _gauss_tail_exprs():
    sp = _sp()
    z = sp.symbols("z", positive=True)
    phi = sp.exp(-z**2 / 2) / sp.sqrt(2 * sp.pi)
    return z, sp.erfc(z / sp.sqrt(2)), 2 * z * phi + sp.erfc(z / sp.sqrt(2))


def cwmp_two_point_closed_form() -> SymbolicCheck:
    """e(tau), r(tau) of CWMP for Gaussian g and two-point costs, and the lognormal integrals.

    Conditioning on c and substituting the Gaussian tail moments at t = sqrt(tau c):
    e(tau) = (1-p) L erfc(sqrt(tau L/2)) + p H erfc(sqrt(tau H/2)),
    r(tau) = sum_c w_c [2 t_c phi(t_c) + erfc(t_c/sqrt2)]. For lognormal costs the same
    inner forms integrated against the lognormal density. All checked against
    scipy 2-D quadrature of the defining expectations E[c 1{g^2 >= tau c}], E[g^2 1{...}].
    """
    sp = _sp()
    t0 = time.perf_counter()
    tau, L, H, p, c = sp.symbols("tau L H p c", positive=True)
    z, M0, M2 = _gauss_tail_exprs()
    # the inner conditional integrals, derived (not assumed): 2 int_{sqrt(tau c)}^oo x^k phi(x) dx
    x = sp.symbols("x", real=True)
    phi_x = sp.exp(-x**2 / 2) / sp.sqrt(2 * sp.pi)
    inner0 = 2 * sp.integrate(phi_x, (x, sp.sqrt(tau * c), sp.oo))
    inner2 = 2 * sp.integrate(x**2 * phi_x, (x, sp.sqrt(tau * c), sp.oo))
    res = {"P(g^2>=tau c|c) - erfc": "0" if _zero(inner0 - M0.subs(z, sp.sqrt(tau * c))) else str(inner0),
           "E[g^2 1|c] - closed": "0" if _zero(inner2 - M2.subs(z, sp.sqrt(tau * c))) else str(inner2)}
    ok = all(v == "0" for v in res.values())
    e_two = (1 - p) * L * inner0.subs(c, L) + p * H * inner0.subs(c, H)
    r_two = (1 - p) * inner2.subs(c, L) + p * inner2.subs(c, H)
    der = {"e(tau) two-point": str(sp.simplify(e_two)), "r(tau) two-point": str(sp.simplify(r_two))}
    mu, sg = sp.symbols("mu sigma", positive=True)
    ln_pdf = sp.exp(-(sp.log(c) - mu) ** 2 / (2 * sg**2)) / (c * sg * sp.sqrt(2 * sp.pi))
    e_ln = sp.Integral(c * inner0 * ln_pdf, (c, 0, sp.oo))
    r_ln = sp.Integral(inner2 * ln_pdf, (c, 0, sp.oo))
    der["e(tau) lognormal"] = str(e_ln)
    der["r(tau) lognormal"] = str(r_ln)
    # numeric checks vs scipy 2-D quadrature of the definitions
    f_e2 = sp.lambdify((tau, L, H, p), e_two, "scipy")
    f_r2 = sp.lambdify((tau, L, H, p), r_two, "scipy")
    in0 = sp.lambdify((tau, c), inner0, "scipy")
    in2 = sp.lambdify((tau, c), inner2, "scipy")
    worst = 0.0
    pdf = lambda g: math.exp(-0.5 * g * g) / math.sqrt(2 * math.pi)  # noqa: E731
    for tv, Lv, Hv, pv in ((0.3, 1.0, 5.0, 0.25), (2.0, 0.5, 3.0, 0.5), (0.05, 1.0, 40.0, 0.1)):
        def by_quad(k, cost_weight):
            tot = 0.0
            for cv, wv in ((Lv, 1 - pv), (Hv, pv)):
                thr = math.sqrt(tv * cv)
                val = 2 * integrate.quad(lambda g: g**k * pdf(g), thr, np.inf, epsabs=0, epsrel=1e-13)[0]
                tot += wv * (cv if cost_weight else 1.0) * val
            return tot
        worst = max(worst, abs(float(f_e2(tv, Lv, Hv, pv)) - by_quad(0, True)),
                    abs(float(f_r2(tv, Lv, Hv, pv)) - by_quad(2, False)))
    for tv, cost in ((0.4, LogNormal.from_cv(1.0, 2.0)), (1.5, LogNormal(0.0, 0.5))):
        mv, sv = cost.mu, cost.sigma
        lnp = lambda cc: math.exp(-(math.log(cc) - mv) ** 2 / (2 * sv * sv)) / (cc * sv * math.sqrt(2 * math.pi))  # noqa: E731
        # symbolic inner form integrated over c (1-D quad) vs the raw 2-D definition (dblquad)
        lo_c, hi_c = math.exp(mv - 12 * sv), math.exp(mv + 12 * sv)
        e_sym = integrate.quad(lambda cc: cc * float(in0(tv, cc)) * lnp(cc), lo_c, hi_c, epsrel=1e-12, limit=400)[0]
        r_sym = integrate.quad(lambda cc: float(in2(tv, cc)) * lnp(cc), lo_c, hi_c, epsrel=1e-12, limit=400)[0]
        e_2d = 2 * integrate.dblquad(lambda g, zz: math.exp(mv + sv * zz) * pdf(g) * pdf(zz), -12, 12,
                                     lambda zz: math.sqrt(tv * math.exp(mv + sv * zz)), lambda zz: 40.0,
                                     epsabs=1e-13, epsrel=1e-11)[0]
        r_2d = 2 * integrate.dblquad(lambda g, zz: g * g * pdf(g) * pdf(zz), -12, 12,
                                     lambda zz: math.sqrt(tv * math.exp(mv + sv * zz)), lambda zz: 40.0,
                                     epsabs=1e-13, epsrel=1e-11)[0]
        from .model import cwmp_energy, cwmp_retained

        worst = max(worst, abs(e_sym - e_2d), abs(r_sym - r_2d),
                    abs(cwmp_energy(tv, "gaussian", cost) - e_2d), abs(cwmp_retained(tv, "gaussian", cost) - r_2d))
    tol = 1e-8  # 2-D adaptive quadrature at epsrel 1e-11 over a truncated domain
    ok &= worst <= tol
    scope = ("the conditional Gaussian integrals are derived by sympy; the two-point forms and the lognormal "
             "integrals (as implemented in theory.model) are compared with 2-D scipy quadrature of the definitions")
    return SymbolicCheck("cwmp_closed_forms", "CWMP energy e(tau) and retained r(tau): two-point closed form, lognormal integrals",
                         bool(ok), res, der, worst, tol, time.perf_counter() - t0, scope=scope)


def t3_two_point() -> SymbolicCheck:
    """T3 for Gaussian g and two-point costs: the ratio's closed form, ratio = 1 at CV = 0,
    and the small-CV law eta_C/eta_T = 1 + a^3 f(a)/(4 M2(a)) CV^2 + O(CV^3).

    Costs c = 1 + eps u with E u = 0, Var u = 1 (so CV = eps), u in {w, -1/w},
    P(u = w) = 1/(1+w^2): every two-point shape. tau(eps) = a^2 + tau1 eps + tau2 eps^2
    solves e(tau) = beta = erfc(a/sqrt2) order by order; r(tau(eps)) is then expanded.
    """
    sp = _sp()
    t0 = time.perf_counter()
    a, w, eps, cc = sp.symbols("a w epsilon c", positive=True)
    t1, t2 = sp.symbols("tau1 tau2", real=True)
    z, M0, M2 = _gauss_tail_exprs()
    res: dict[str, str] = {}
    der: dict[str, str] = {}
    # ratio = 1 at CV = 0 (L = H = c): Top-K threshold a satisfies c erfc(a/sqrt2) = beta; CWMP tau = a^2/c
    e_eq = cc * M0.subs(z, sp.sqrt((a**2 / cc) * cc))
    r_eq = M2.subs(z, sp.sqrt((a**2 / cc) * cc))
    res["CV=0: e(a^2/c) - beta"] = str(sp.simplify(e_eq - cc * M0.subs(z, a)))
    res["CV=0: r_CWMP - r_TopK"] = str(sp.simplify(r_eq - M2.subs(z, a)))
    ok = sp.simplify(e_eq - cc * M0.subs(z, a)) == 0 and sp.simplify(r_eq - M2.subs(z, a)) == 0
    p = 1 / (1 + w**2)
    tau = a**2 + t1 * eps + t2 * eps**2

    def expect(fn):
        return (1 - p) * fn(1 - eps / w) + p * fn(1 + eps * w)

    e = expect(lambda c: c * M0.subs(z, sp.sqrt(tau * c)))
    r = expect(lambda c: M2.subs(z, sp.sqrt(tau * c)))
    es = sp.series(e, eps, 0, 3).removeO()
    rs = sp.series(r, eps, 0, 3).removeO()
    s1 = sp.solve(sp.simplify(es.coeff(eps, 1)), t1)[0]
    s2 = sp.solve(sp.simplify(es.coeff(eps, 2).subs(t1, s1)), t2)[0]
    r1 = sp.simplify(rs.coeff(eps, 1).subs(t1, s1))
    r2 = sp.simplify(rs.coeff(eps, 2).subs({t1: s1, t2: s2}))
    phi_a = sp.exp(-a**2 / 2) / sp.sqrt(2 * sp.pi)
    expected_r2 = a**3 * (2 * phi_a) / 4
    der.update({"tau1": str(s1), "tau2": str(sp.simplify(s2)), "r_CWMP eps^1 coefficient": str(r1),
                "r_CWMP eps^2 coefficient": str(r2),
                "ratio": "eta_C/eta_T = r(tau*)/M2(a), tau* root of e(tau) = beta, a = isf_|g|(beta/E[c])",
                "small-CV law": "1 + a^3 f_|g|(a) / (4 M2(a)) * CV^2 + O(CV^3)"})
    res["eps^0 of e - beta"] = str(sp.simplify(es.coeff(eps, 0) - M0.subs(z, a)))
    res["eps^1 of r"] = str(r1)
    res["eps^2 of r - a^3 f(a)/4"] = str(sp.simplify(r2 - expected_r2))
    ok &= sp.simplify(es.coeff(eps, 0) - M0.subs(z, a)) == 0 and r1 == 0 and sp.simplify(r2 - expected_r2) == 0
    # numeric: the closed-form ratio (sympy expressions, root by brentq) vs scipy quadrature of the definitions
    tau_s, L, H, pp = sp.symbols("tau L H p", positive=True)
    e_two = sp.lambdify((tau_s, L, H, pp), (1 - pp) * L * M0.subs(z, sp.sqrt(tau_s * L)) + pp * H * M0.subs(z, sp.sqrt(tau_s * H)), "scipy")
    r_two = sp.lambdify((tau_s, L, H, pp), (1 - pp) * M2.subs(z, sp.sqrt(tau_s * L)) + pp * M2.subs(z, sp.sqrt(tau_s * H)), "scipy")
    worst = 0.0
    pdf = lambda g: math.exp(-0.5 * g * g) / math.sqrt(2 * math.pi)  # noqa: E731
    for cv, ph, frac in ((0.5, 0.2, 0.1), (1.5, 0.2, 0.05), (0.8, 0.5, 0.3)):
        cost = TwoPoint.from_cv(cv, ph)
        beta = frac * cost.mean
        tstar = math.exp(optimize.brentq(lambda u: e_two(math.exp(u), cost.low, cost.high, ph) - beta, -30, 30, xtol=1e-15))
        ratio_cf = float(r_two(tstar, cost.low, cost.high, ph)) / float(tail_moment(abs_isf(frac, "gaussian"), "gaussian", 2))

        def e_quad(tv):
            return sum(wv * cv_ * 2 * integrate.quad(pdf, math.sqrt(tv * cv_), np.inf, epsabs=0, epsrel=1e-13)[0]
                       for cv_, wv in ((cost.low, 1 - ph), (cost.high, ph)))

        tq = math.exp(optimize.brentq(lambda u: e_quad(math.exp(u)) - beta, -30, 30, xtol=1e-14))
        r_q = sum(wv * 2 * integrate.quad(lambda g: g * g * pdf(g), math.sqrt(tq * cv_), np.inf, epsabs=0, epsrel=1e-13)[0]
                  for cv_, wv in ((cost.low, 1 - ph), (cost.high, ph)))
        a_q = optimize.brentq(lambda av: 2 * integrate.quad(pdf, av, np.inf, epsabs=0, epsrel=1e-13)[0] - frac, 0, 10, xtol=1e-15)
        rt_q = 2 * integrate.quad(lambda g: g * g * pdf(g), a_q, np.inf, epsabs=0, epsrel=1e-13)[0]
        worst = max(worst, abs(ratio_cf - r_q / rt_q))
    tol = 1e-9  # two nested root-finds on quadratures at epsrel 1e-13
    ok &= worst <= tol
    scope = ("series expansion of e and r in the CV for every two-point shape, solved order by order (the "
             "eps^1 and eps^2 coefficients are derived, not assumed); the closed-form ratio is compared with "
             "quadrature at three points. The CV = 0 identity is zero by construction (same threshold)")
    return SymbolicCheck("t3_two_point", "T3 two-point closed form; ratio 1 at CV=0; gain = a^3 f(a)/(4 M2(a)) CV^2 + O(CV^3)",
                         bool(ok), res, der, worst, tol, time.perf_counter() - t0, scope=scope)


ALL_CHECKS = (lp_kkt_dual, exchange_argument, threshold_rule_lemma, topk_closed_forms, cwmp_two_point_closed_form, t3_two_point)


def run_all() -> list[SymbolicCheck]:
    return [f() for f in ALL_CHECKS]
