"""C1-C9: randomized property checks of the solvers' public API against independent oracles.

Oracles: ``solve_exact(backend="bruteforce")`` (d <= 14), ``solve_lp(backend="cvxpy")``,
``scipy.optimize.linprog`` (HiGHS) written here from the definition of P_LP, and
sympy for the LP proof steps (theory.symbolic). C6's counterexample is found by
``hypothesis.find``; C7's instances by a seeded search. Every function takes an
explicit ``numpy.random.Generator`` and returns a :class:`~theory.claim.ClaimResult`.
"""

from __future__ import annotations

import math
import random
import time

import numpy as np
from scipy import optimize

from .claim import ClaimResult, failed_sub_results, status_of

GREEDIES = ("dantzig", "fill", "safe")
SCORES = ("l2", "paper")
REL = 1e-9  # float64 sums of <= 14 terms of O(1..1e3) values: 1e-9 relative is far above rounding


def _instance(rng: np.random.Generator, d_max: int = 12) -> tuple[np.ndarray, np.ndarray, float]:
    """A random instance: mixed-scale g (some zeros), lognormal/uniform costs, budget from 0 to > sum c."""
    d = int(rng.integers(1, d_max + 1))
    g = rng.standard_normal(d) * np.exp(rng.normal(0, 1.0, d))
    g[rng.random(d) < 0.1] = 0.0
    c = rng.lognormal(0, 1.2, d) if rng.random() < 0.5 else rng.uniform(0.05, 3.0, d)
    u = rng.random()
    B = 0.0 if u < 0.03 else float(rng.uniform(0, 1.2) * c.sum()) if u < 0.9 else float(rng.uniform(0, 1) * c.min())
    return g, c, B


def _all_selections(g, c, B):
    from solvers import cwmp_mask, topk_mask

    sel = {f"cwmp-{s}-{gr}": cwmp_mask(g, c, budget=B, score=s, greedy=gr) for s in SCORES for gr in GREEDIES}
    sel.update({f"topk-{gr}": topk_mask(g, c=c, budget=B, greedy=gr) for gr in GREEDIES})
    return sel


def _timed(fn):
    def wrapper(*args, **kwargs) -> ClaimResult:
        t0 = time.perf_counter()
        res = fn(*args, **kwargs)
        res.evidence["seconds"] = round(time.perf_counter() - t0, 2)
        return res

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper


@_timed
def check_c1(rng: np.random.Generator, n: int = 1000) -> ClaimResult:
    """C1 feasibility: every greedy mask (CWMP l2/paper x dantzig/fill/safe, budget-mode Top-K) has sum m c <= B."""
    from solvers import random_mask

    worst, count, bad = -math.inf, 0, []
    for _ in range(n):
        g, c, B = _instance(rng)
        sels = _all_selections(g, c, B)
        sels["random-fill"] = random_mask(g, c=c, budget=B, rng=rng)
        for name, s in sels.items():
            m = np.asarray(s.mask)
            energy = float(c[m].sum())  # recomputed here, not taken from the Selection
            excess = (energy - B) / max(B, 1e-300)
            worst = max(worst, excess)
            count += 1
            # tolerance: an independent re-summation in index order differs from the solver's
            # sorted cumsum by a few ulps; 1e-12 relative is 4 orders above that
            if energy > B * (1 + 1e-12):
                bad.append({"rule": name, "g": g.tolist(), "c": c.tolist(), "B": B, "energy": energy})
    sub = {"no_mask_over_budget": not bad}
    return ClaimResult(
        "C1", "every greedy mask satisfies sum_i m_i c_i <= B",
        f"{n} random instances (d<=12, zeros in g, B from 0 to 1.2*sum c) x 10 rules; energy re-summed independently",
        status_of(sub, "verified_numeric"),
        {"sub_results": sub, "failed_sub_results": failed_sub_results(sub), "instances": n, "masks_checked": count, "max_relative_excess": worst, "violations": bad[:3]},
        f"{count} masks, max (E-B)/B = {worst:.2e}, {len(bad)} violations")


def _linprog_value(g: np.ndarray, c: np.ndarray, B: float) -> tuple[float, float]:
    """P_LP by scipy HiGHS from its definition (items with c_i > B fixed at 0): (value, dual price)."""
    v = g * g
    ub = np.where(c <= B, 1.0, 0.0)
    res = optimize.linprog(-v, A_ub=c[None, :], b_ub=[B], bounds=list(zip(np.zeros_like(v), ub)), method="highs")
    if res.status != 0:
        raise RuntimeError(f"linprog failed: {res.message}")
    return float(-res.fun), float(-res.ineqlin.marginals[0])


@_timed
def check_c2(rng: np.random.Generator, n: int = 120, symbolic: list | None = None) -> ClaimResult:
    """C2 LP exactness: Dantzig's value = LP optimum (cvxpy/HiGHS and scipy linprog), plus the sympy proof."""
    from solvers import solve_lp

    from .symbolic import exchange_argument, lp_kkt_dual

    sym = symbolic if symbolic is not None else [lp_kkt_dual(), exchange_argument()]
    worst_cvx = worst_lin = worst_dual = 0.0
    statuses: dict[str, int] = {}
    bad = []
    n_dual = 0
    for _ in range(n):
        g, c, B = _instance(rng, d_max=30)
        dz = solve_lp(g, c, B, backend="dantzig")
        cv = solve_lp(g, c, B, backend="cvxpy")
        statuses[cv.status] = statuses.get(cv.status, 0) + 1
        lin, lam = _linprog_value(g, c, B)
        scale = max(dz.value, 1e-300)
        e_cvx = abs(dz.value - cv.value) / scale if dz.value > 0 else abs(cv.value)
        e_lin = abs(dz.value - lin) / scale if dz.value > 0 else abs(lin)
        worst_cvx, worst_lin = max(worst_cvx, e_cvx), max(worst_lin, e_lin)
        b = dz.break_index
        if b is not None and 1e-6 < dz.x[b] < 1 - 1e-6:  # nondegenerate: the dual price is unique
            n_dual += 1
            worst_dual = max(worst_dual, abs(lam - dz.dual_price) / dz.dual_price)
        # tolerances: HiGHS works to ~1e-9 primal/dual feasibility; 1e-7 relative on the value
        if cv.status != "optimal" or e_cvx > 1e-7 or e_lin > 1e-7:
            bad.append({"g": g.tolist(), "c": c.tolist(), "B": B, "dantzig": dz.value, "cvxpy": cv.value,
                        "linprog": lin, "cvxpy_status": cv.status})
    sub = {"values_match_cvxpy_and_linprog": not bad,
           "dual_price_matches_highs": worst_dual <= 1e-6}  # dual price: HiGHS marginals, 1e-6 relative
    if sym:  # the sympy certificate counts when it ran; symbolic=[] runs the numeric part only
        sub["sympy_certificate"] = all(s.passed for s in sym)
    status = c2_status(sub)
    cert = C2_CERTIFICATE if sym else "not run (symbolic=[])"
    return ClaimResult(
        "C2", "Dantzig's rule attains the LP optimum of P_LP (dual price v_b/c_b)",
        f"numeric: {n} random instances (d<=30) vs solve_lp(backend='cvxpy') (HiGHS) and scipy.optimize.linprog, "
        "rel. tol 1e-7, dual price vs HiGHS marginals 1e-6; sympy: a zero-gap KKT certificate for one symbolic "
        "4-item instance and one exchange step (no general-d proof, so the status is numeric)",
        status,
        {"sub_results": sub, "failed_sub_results": failed_sub_results(sub), "symbolic_certificate": cert,
         "symbolic": [s.as_dict() for s in sym], "instances": n, "cvxpy_statuses": statuses,
         "max_rel_err_vs_cvxpy": worst_cvx, "max_rel_err_vs_linprog": worst_lin,
         "nondegenerate_instances": n_dual, "max_rel_err_dual_price": worst_dual, "failures": bad[:3]},
        f"{n} LPs, max rel err {max(worst_cvx, worst_lin):.1e}, dual {worst_dual:.1e}; sympy 4-item KKT "
        f"certificate {'ok' if sub.get('sympy_certificate') else ('not run' if not sym else 'FAILED')} "
        "(not a general-d proof)")


C2_CERTIFICATE = ("zero-gap KKT certificate for one symbolic 4-item instance with strict ratios (not a general-d "
                  "proof); the general-d strong-duality residual is zero by algebra (the sort-order step "
                  "sum (v_i - lambda* c_i)_+ = V - lambda* C is typed in), stationarity is zero by the definitions "
                  "of the multipliers, and the exchange step is one exchange (it does not show that repeated "
                  "exchanges reach Dantzig's point)")


def c2_status(sub_results: dict[str, bool]) -> str:
    """C2's status: numeric agreement with two LP solvers (and the 4-item certificate when it ran).

    Never ``proved_symbolic``: nothing symbolic here is a general-d derivation that could fail."""
    return status_of(sub_results, "verified_numeric")


@_timed
def check_c3(rng: np.random.Generator, n: int = 400) -> ClaimResult:
    """C3 sandwich dantzig <= fill <= OPT <= LP* <= dantzig + v_b; certified gap >= true gap."""
    from solvers import cwmp_mask, solve_exact, solve_lp

    bad = []
    counts = {k: 0 for k in C3_SUB}  # violations per sub-result
    worst_slack = 0.0  # max (LP* - dantzig)/v_b: <= 1 by the claim
    gap_ratio_max = 0.0  # max true gap / (max_i v_i / LP*)
    worst_ub_vs_linprog = 0.0
    n_gap = 0
    for _ in range(n):
        g, c, B = _instance(rng, d_max=14)
        dz = cwmp_mask(g, c, budget=B, greedy="dantzig")
        fi = cwmp_mask(g, c, budget=B, greedy="fill")
        sa = cwmp_mask(g, c, budget=B, greedy="safe")
        opt = solve_exact(g, c, B, backend="bruteforce")
        lp = solve_lp(g, c, B, backend="dantzig")
        lin, _lam = _linprog_value(g, c, B)  # independent LP*: HiGHS on P_LP with items c_i > B fixed at 0
        v = g * g
        vb = float(v[lp.break_index]) if lp.break_index is not None else 0.0
        tol = REL * max(1.0, lp.value)
        chain = [dz.value, fi.value, opt.value, lp.value]
        viol = {"order_chain": not all(a <= b + tol for a, b in zip(chain, chain[1:])),
                "lp_within_dantzig_plus_v_b": lp.value > dz.value + vb + tol,
                "safe_below_OPT": sa.value > opt.value + tol}
        # the certified bound the selection carries vs an LP solver that shares no code with it;
        # tolerance: HiGHS primal/dual feasibility ~1e-9, so 1e-7 relative on the value (as in C2)
        ub_err = abs(dz.upper_bound - lin) / max(abs(lin), 1e-300) if lin > 0 else abs(dz.upper_bound)
        worst_ub_vs_linprog = max(worst_ub_vs_linprog, ub_err)
        viol["upper_bound_equals_independent_lp"] = ub_err > 1e-7
        viol["certified_gap_bounds_true_gap"] = False
        viol["true_gap_within_max_v_over_LP"] = False
        if opt.value > 0:
            true_gap = (opt.value - dz.value) / opt.value
            viol["certified_gap_bounds_true_gap"] = dz.certified_gap < true_gap - 1e-9
            fit = v[(c <= B)]
            bound = float(fit.max()) / lp.value if len(fit) else 0.0
            viol["true_gap_within_max_v_over_LP"] = true_gap > bound + 1e-9
            if bound > 0:
                n_gap += 1
                gap_ratio_max = max(gap_ratio_max, true_gap / bound)
        if vb > 0:
            worst_slack = max(worst_slack, (lp.value - dz.value) / vb)
        for k, flag in viol.items():
            counts[k] += bool(flag)
        if any(viol.values()):
            bad.append({"g": g.tolist(), "c": c.tolist(), "B": B, "chain": chain, "v_b": vb, "linprog": lin,
                        "upper_bound": dz.upper_bound, "violated": [k for k, f in viol.items() if f]})
    sub = {k: counts[k] == 0 for k in C3_SUB}
    return ClaimResult(
        "C3", "dantzig <= fill <= OPT <= LP* <= dantzig + v_b; certified gap (LP*-value)/LP* bounds the true gap",
        f"{n} random instances (d<=14), OPT by solve_exact(backend='bruteforce'), LP* by solve_lp (rel. tol 1e-9); "
        "the selection's upper_bound vs scipy.optimize.linprog (HiGHS) on the same instance with items c_i > B "
        "dropped (rel. tol 1e-7)",
        c3_status(sub),
        {"sub_results": sub, "failed_sub_results": failed_sub_results(sub), "violation_counts": counts,
         "instances": n, "max_(LP*-dantzig)/v_b": worst_slack, "max_true_gap_over_(max v/LP*)": gap_ratio_max,
         "max_rel_err_upper_bound_vs_linprog": worst_ub_vs_linprog,
         "instances_with_gap_bound": n_gap, "violations": bad[:3]},
        f"{n} instances, {len(bad)} with a violation ({', '.join(f'{k} {v}' for k, v in counts.items() if v) or 'none'}); "
        f"upper_bound vs linprog max rel err {worst_ub_vs_linprog:.1e}")


C3_SUB = ("order_chain", "lp_within_dantzig_plus_v_b", "safe_below_OPT", "upper_bound_equals_independent_lp",
          "certified_gap_bounds_true_gap", "true_gap_within_max_v_over_LP")


def c3_status(sub_results: dict[str, bool]) -> str:
    return status_of(sub_results, "verified_numeric")


def _dyadic(rng, d):
    return rng.integers(1, 64, d) / 8.0  # multiples of 1/8: prefix sums are exact in float64


@_timed
def check_c4(rng: np.random.Generator, n: int = 200) -> ClaimResult:
    """C4 exactness: all items fit; residual budget 0 (LP integral); all costs equal (CWMP = Top-K = OPT)."""
    from solvers import cwmp_mask, scores, solve_exact, solve_lp, topk_mask

    counts = {"all_fit": 0, "residual_zero": 0, "equal_costs": 0}
    bad = []
    for _ in range(n):
        d = int(rng.integers(1, 13))
        g = rng.standard_normal(d) * np.exp(rng.normal(0, 1, d))
        # (a) every item fits
        c = rng.lognormal(0, 1, d)
        B = float(c.sum()) * float(rng.uniform(1.0, 2.0))
        opt = solve_exact(g, c, B, backend="bruteforce").value
        for gr in GREEDIES:
            s = cwmp_mask(g, c, budget=B, greedy=gr)
            if abs(s.value - opt) > REL * max(1, opt) or abs(opt - float((g * g).sum())) > REL * max(1, opt):
                bad.append({"case": "all_fit", "g": g.tolist(), "c": c.tolist(), "B": B})
        counts["all_fit"] += 1
        # (b) budget = a prefix of the ratio order exactly (residual 0, LP solution integral)
        c = _dyadic(rng, d)
        order = np.argsort(-scores(g, c, "l2"), kind="stable")
        k = int(rng.integers(0, d + 1))
        B = float(c[order[:k]].sum())
        lp = solve_lp(g, c, B)
        integral = bool(np.all((lp.x == 0) | (lp.x == 1)))
        opt = solve_exact(g, c, B, backend="bruteforce").value
        s = cwmp_mask(g, c, budget=B, greedy="dantzig")
        if not integral or abs(s.value - opt) > REL * max(1, opt):
            bad.append({"case": "residual_zero", "g": g.tolist(), "c": c.tolist(), "B": B, "integral": integral})
        counts["residual_zero"] += 1
        # (c) equal costs: CWMP (l2 and paper) = Top-K count mode with K = floor(B/c) = OPT
        cc = float(rng.uniform(0.1, 3.0))
        c = np.full(d, cc)
        K = int(rng.integers(0, d + 1))
        B = cc * K + cc * float(rng.uniform(0, 0.999))
        K_eff = min(int(math.floor(B / cc)), d)
        tk = topk_mask(g, k=K_eff)
        opt = solve_exact(g, c, B, backend="bruteforce").value
        for sc in SCORES:
            s = cwmp_mask(g, c, budget=B, score=sc, greedy="dantzig")
            same = np.array_equal(np.asarray(s.mask), np.asarray(tk.mask))
            if not same or abs(s.value - opt) > REL * max(1, opt):
                bad.append({"case": "equal_costs", "score": sc, "g": g.tolist(), "c": cc, "B": B, "K": K_eff})
        counts["equal_costs"] += 1
    sub = {f"greedy_optimal_{k}": not any(b["case"] == k for b in bad) for k in counts}
    return ClaimResult(
        "C4", "greedy = OPT when every item fits, when the residual budget is 0, and when all costs are equal "
        "(then CWMP = Top-K with K = floor(B/c))",
        f"{n} instances per case (d<=12, dyadic costs for exact prefix sums); OPT by bruteforce; masks compared exactly",
        status_of(sub, "verified_numeric"),
        {"sub_results": sub, "failed_sub_results": failed_sub_results(sub), "cases": counts,
         "violations_by_case": {k: sum(b["case"] == k for b in bad) for k in counts}, "violations": bad[:3]},
        f"3 x {n} instances, {len(bad)} violations")


def _tight_c5(eps: float) -> tuple[np.ndarray, np.ndarray, float]:
    """B = 1; item 0: c = eps, v = 2 eps (best ratio); items 1, 2: c = v = 1/2.
    fill takes 0 and 1 (item 2 no longer fits): 1/2 + 2 eps; best single 1/2; OPT = {1, 2} = 1."""
    v = np.array([2 * eps, 0.5, 0.5])
    return np.sqrt(v), np.array([eps, 0.5, 0.5]), 1.0


@_timed
def check_c5(rng: np.random.Generator, n: int = 400) -> ClaimResult:
    """C5: safe >= OPT/2 on random instances, and a family whose ratio tends to 1/2."""
    from solvers import cwmp_mask, solve_exact

    worst = math.inf
    worst_inst = None
    bad = []
    for _ in range(n):
        g, c, B = _instance(rng, d_max=14)
        opt = solve_exact(g, c, B, backend="bruteforce").value
        if opt <= 0:
            continue
        for sc in SCORES:
            s = cwmp_mask(g, c, budget=B, score=sc, greedy="safe")
            ratio = s.value / opt
            if ratio < worst:
                worst, worst_inst = ratio, {"score": sc, "g": g.tolist(), "c": c.tolist(), "B": B}
            if s.value < opt / 2 - REL * opt:
                bad.append(worst_inst)
    family = []
    for eps in (1e-1, 1e-2, 1e-3, 1e-4, 1e-6):
        g, c, B = _tight_c5(eps)
        s = cwmp_mask(g, c, budget=B, greedy="safe")
        opt = solve_exact(g, c, B, backend="bruteforce").value
        family.append({"eps": eps, "safe": s.value, "OPT": opt, "ratio": s.value / opt})
    ratios = [f["ratio"] for f in family]
    tight = all(r >= 0.5 for r in ratios) and all(a > b for a, b in zip(ratios, ratios[1:])) and ratios[-1] - 0.5 < 1e-5
    sub = {"safe_at_least_half_OPT": not bad, "tight_family_ratio_to_half": bool(tight)}
    return ClaimResult(
        "C5", "safe (better of fill and best single item) >= OPT/2, and the bound is tight",
        f"{n} random instances (d<=14) x scores l2/paper vs bruteforce OPT; tight family "
        "B=1, (c,v) = (eps,2eps), (1/2,1/2), (1/2,1/2) with ratio 1/2 + 2 eps",
        status_of(sub, "verified_numeric"),
        {"sub_results": sub, "failed_sub_results": failed_sub_results(sub),
         "instances": n, "min_safe_over_OPT": worst, "argmin_instance": worst_inst, "tight_family": family,
         "violations": bad[:3]},
        f"min safe/OPT = {worst:.4f} (>= 0.5); tight family ratio -> {ratios[-1]:.6f}")


@_timed
def check_c6(rng: np.random.Generator, max_examples: int = 1000, symbolic_note: str = "") -> ClaimResult:
    """C6: greedy is not always optimal and plain greedy is unbounded; found by hypothesis.find."""
    from hypothesis import HealthCheck, find, settings
    from hypothesis import strategies as st
    from solvers import cwmp_mask, solve_exact, solve_lp, topk_mask

    # knapsack-shaped instances: log-uniform magnitudes, budget on the scale of one item's cost
    mag = st.integers(-3, 3).map(lambda k: 10.0**k)
    inst = st.integers(2, 4).flatmap(lambda d: st.tuples(st.lists(mag, min_size=d, max_size=d),
                                                         st.lists(mag, min_size=d, max_size=d),
                                                         st.integers(0, d - 1), st.integers(1, 20)))

    def unpack(t):
        g, c = np.array(t[0]), np.array(t[1])
        return g, c, float(c[t[2]]) * t[3] / 10.0

    def ratio(t, greedy, ref):
        g, c, B = unpack(t)
        val = cwmp_mask(g, c, budget=B, greedy=greedy).value
        other = solve_exact(g, c, B, backend="bruteforce").value if ref == "OPT" else \
            topk_mask(g, c=c, budget=B, greedy="dantzig").value
        return val / other if other > 0 else 1.0

    found = {}
    cfg = settings(max_examples=max_examples, database=None, deadline=None,
                   suppress_health_check=list(HealthCheck))
    seed = int(rng.integers(2**31))
    for key, greedy, ref in (("dantzig_vs_OPT", "dantzig", "OPT"), ("fill_vs_OPT", "fill", "OPT"),
                             ("dantzig_vs_topk_budget", "dantzig", "topk")):
        try:
            t = find(inst, lambda t, gr=greedy, rf=ref: ratio(t, gr, rf) <= 0.01, settings=cfg,
                     random=random.Random(seed))
            g, c, B = unpack(t)
            found[key] = {"g": g.tolist(), "c": c.tolist(), "B": B, "ratio": ratio(t, greedy, ref)}
        except Exception as exc:  # hypothesis.errors.NoSuchExample
            found[key] = {"not_found": type(exc).__name__}
    # the explicit instance of docs/THEORY.md: v = (1, 100), c = (0.01, 10), B = 10
    g, c, B = np.array([1.0, 10.0]), np.array([0.01, 10.0]), 10.0
    explicit = {
        "g": g.tolist(), "v": (g * g).tolist(), "c": c.tolist(), "B": B,
        "dantzig": cwmp_mask(g, c, budget=B, greedy="dantzig").value,
        "fill": cwmp_mask(g, c, budget=B, greedy="fill").value,
        "safe": cwmp_mask(g, c, budget=B, greedy="safe").value,
        "topk_budget_dantzig": topk_mask(g, c=c, budget=B, greedy="dantzig").value,
        "OPT": solve_exact(g, c, B, backend="bruteforce").value,
        "LP*": solve_lp(g, c, B).value,
    }
    # unboundedness: v = (1, M), c = (1/M, 10), B = 10: item 0 has the better ratio (M vs M/10),
    # then item 1 no longer fits, so dantzig = fill = 1 while OPT = M
    family = []
    for M in (1e2, 1e4, 1e6, 1e8):
        g, c = np.array([1.0, math.sqrt(M)]), np.array([1.0 / M, 10.0])
        dz = cwmp_mask(g, c, budget=B, greedy="dantzig").value
        opt = solve_exact(g, c, B, backend="bruteforce").value
        family.append({"M": M, "dantzig": dz, "OPT": opt, "ratio": dz / opt})
    # the sense in which greedy IS optimal, measured on random instances
    n_int = n_int_opt = 0
    worst_gap_bound = 0.0
    for _ in range(200):
        gg, cc, BB = _instance(rng, d_max=12)
        lp = solve_lp(gg, cc, BB)
        opt = solve_exact(gg, cc, BB, backend="bruteforce").value
        dz = cwmp_mask(gg, cc, budget=BB, greedy="dantzig").value
        if bool(np.all((lp.x == 0) | (lp.x == 1))):
            n_int += 1
            n_int_opt += abs(dz - opt) <= REL * max(1, opt)
        if lp.value > 0:
            fit = (gg * gg)[cc <= BB]
            worst_gap_bound = max(worst_gap_bound, ((opt - dz) / lp.value) / (float(fit.max()) / lp.value))
    sub = {
        # the counterexamples the claim states: found by hypothesis, the explicit instance, the unbounded family
        "hypothesis_found_all_three": all("ratio" in f for f in found.values()),
        "explicit_instance": (explicit["dantzig"] == 1.0 and explicit["OPT"] == 100.0
                              and explicit["topk_budget_dantzig"] == 100.0 and explicit["fill"] == 1.0),
        "unbounded_family_ratio_1_over_M": all(abs(f["ratio"] * f["M"] - 1.0) <= 1e-9 for f in family),
        # the positive statements: greedy = OPT when the LP solution is integral; gap <= max_i v_i / LP*
        "optimal_when_LP_integral": n_int_opt == n_int,
        "gap_within_max_v_over_LP": worst_gap_bound <= 1.0 + 1e-9,
    }
    status = c6_status(sub)
    return ClaimResult(
        "C6", "greedy CWMP is 'optimal' only in a precise sense: plain dantzig/fill can be arbitrarily worse than OPT "
        "and than budget-mode Top-K",
        f"hypothesis.find (max_examples={max_examples}, seeded; d in 2..4, magnitudes 10^-3..10^3) for dantzig/OPT "
        "<= 0.01, fill/OPT <= 0.01, dantzig/Top-K <= 0.01; the explicit instance; the family v=(1,M), c=(1/M,10), "
        "B=10 (ratio 1/M); 200 random instances for the "
        "positive statements",
        status,
        {"sub_results": sub, "failed_sub_results": failed_sub_results(sub),
         "found_by_hypothesis": found, "explicit_instance": explicit, "unbounded_family": family,
         "in_which_sense_greedy_is_optimal": {
             "P_LP": "optimal: Dantzig's rule = LP optimum (C2: verified numerically against two LP solvers)",
             "P_when_LP_integral": f"optimal: {n_int_opt}/{n_int} random instances with an integral LP solution had dantzig = OPT",
             "P_in_general": "near-optimal: (OPT - dantzig)/LP* <= v_b/LP* <= max_i v_i/LP*; measured max of "
                             f"(gap/LP*)/(max v/LP*) = {worst_gap_bound:.3f} (<= 1); safe >= OPT/2 (C5)",
             "note": symbolic_note or "the greedy is optimal for the relaxation, not for the 0/1 problem"}},
        f"explicit: dantzig={explicit['dantzig']:g}, OPT={explicit['OPT']:g}, Top-K={explicit['topk_budget_dantzig']:g}; "
        f"hypothesis found {sum('ratio' in f for f in found.values())}/3; dantzig = OPT on {n_int_opt}/{n_int} "
        f"integral-LP instances; max gap/(max v/LP*) = {worst_gap_bound:.3f} (<= 1)")


def c6_status(sub_results: dict[str, bool]) -> str:
    """C6 states counterexamples (so the label is counterexample_found) and positive statements; all count."""
    return status_of(sub_results, "counterexample_found")


@_timed
def check_c7(rng: np.random.Generator, n_search: int = 4000) -> ClaimResult:
    """C7: paper (|g|/c) and l2 (g^2/c) rank alike under equal costs, differ otherwise; each beats the other
    on P and on the L1 objective for some instance (seeded search)."""
    from solvers import cwmp_mask, scores

    eq_same = 0
    n_eq = 200
    for _ in range(n_eq):
        d = int(rng.integers(2, 30))
        g = rng.standard_normal(d)
        c = np.full(d, float(rng.uniform(0.1, 5)))
        o1 = np.argsort(-scores(g, c, "l2"), kind="stable")
        o2 = np.argsort(-scores(g, c, "paper"), kind="stable")
        eq_same += bool(np.array_equal(o1, o2))
    n_diff = 0
    wanted = {"l2_beats_paper_on_P": None, "paper_beats_l2_on_P": None,
              "l2_beats_paper_on_L1": None, "paper_beats_l2_on_L1": None}
    for _ in range(n_search):
        d = int(rng.integers(2, 7))
        g = np.round(rng.uniform(0.1, 5, d), 2)
        c = np.round(rng.uniform(0.1, 5, d), 2)
        B = round(float(rng.uniform(0.2, 0.8) * c.sum()), 2)
        o1 = np.argsort(-scores(g, c, "l2"), kind="stable")
        o2 = np.argsort(-scores(g, c, "paper"), kind="stable")
        n_diff += not np.array_equal(o1, o2)
        a = cwmp_mask(g, c, budget=B, score="l2")
        b = cwmp_mask(g, c, budget=B, score="paper")
        ma, mb = np.asarray(a.mask), np.asarray(b.mask)
        l1a, l1b = float(np.abs(g[ma]).sum()), float(np.abs(g[mb]).sum())
        rec = {"g": g.tolist(), "c": c.tolist(), "B": B, "l2": {"P": a.value, "L1": l1a, "mask": ma.tolist()},
               "paper": {"P": b.value, "L1": l1b, "mask": mb.tolist()}}
        for key, cond in (("l2_beats_paper_on_P", a.value > b.value * (1 + 1e-9)),
                          ("paper_beats_l2_on_P", b.value > a.value * (1 + 1e-9)),
                          ("l2_beats_paper_on_L1", l1a > l1b * (1 + 1e-9)),
                          ("paper_beats_l2_on_L1", l1b > l1a * (1 + 1e-9))):
            if cond and wanted[key] is None:
                wanted[key] = rec
        if all(v is not None for v in wanted.values()) and _ > 200:
            break
    sub = {"equal_costs_same_order": eq_same == n_eq, "unequal_costs_orders_differ": n_diff > 0,
           **{f"found_{k}": v is not None for k, v in wanted.items()}}
    return ClaimResult(
        "C7", "paper and l2 rankings coincide under equal costs and differ otherwise; each beats the other on P "
        "and on the L1 objective for some instance",
        f"{n_eq} equal-cost instances (orders compared); seeded search over small unequal-cost instances (dantzig greedy)",
        status_of(sub, "verified_numeric"),
        {"sub_results": sub, "failed_sub_results": failed_sub_results(sub), "equal_cost_instances": n_eq, "equal_cost_same_order": eq_same,
         "unequal_cost_instances_with_different_order": n_diff, "instances": wanted},
        f"equal costs: {eq_same}/{n_eq} same order; found {sum(v is not None for v in wanted.values())}/4 cases")


@_timed
def check_c8(rng: np.random.Generator, n: int = 300) -> ClaimResult:
    """C8: dantzig value non-decreasing in B; masks invariant to scaling g, and to scaling (c, B) together;
    permuting coordinates permutes the mask. (fill/safe monotonicity is measured and reported.)"""
    from solvers import cwmp_mask, solve_lp, topk_mask

    viol = {"monotone_dantzig": 0, "monotone_LP": 0, "scale_g_pow2": 0, "scale_cB_pow2": 0, "permutation": 0,
            "monotone_fill": 0, "monotone_safe": 0, "scale_g_3.7": 0, "scale_cB_3.7": 0}
    examples: dict[str, dict] = {}
    for _ in range(n):
        g, c, _B = _instance(rng, d_max=12)
        c = c.copy()
        grid = np.sort(rng.uniform(0, 1.2 * c.sum(), 12))
        for gr in ("dantzig", "fill", "safe"):
            vals = [cwmp_mask(g, c, budget=float(b), greedy=gr).value for b in grid]
            if any(b_ < a_ * (1 - 1e-12) for a_, b_ in zip(vals, vals[1:])):
                viol[f"monotone_{gr}"] += 1
                examples.setdefault(f"monotone_{gr}", {"g": g.tolist(), "c": c.tolist(), "budgets": grid.tolist(),
                                                       "values": vals})
        lps = [solve_lp(g, c, float(b)).value for b in grid]
        viol["monotone_LP"] += any(b_ < a_ * (1 - 1e-12) for a_, b_ in zip(lps, lps[1:]))
        B = float(grid[int(rng.integers(0, len(grid)))])
        for gr in GREEDIES:
            for sc in SCORES:
                base = np.asarray(cwmp_mask(g, c, budget=B, score=sc, greedy=gr).mask)
                for alpha, tag in ((4.0, "pow2"), (0.125, "pow2"), (3.7, "3.7")):
                    mg = np.asarray(cwmp_mask(alpha * g, c, budget=B, score=sc, greedy=gr).mask)
                    mc = np.asarray(cwmp_mask(g, alpha * c, budget=alpha * B, score=sc, greedy=gr).mask)
                    viol[f"scale_g_{tag}"] += not np.array_equal(base, mg)
                    viol[f"scale_cB_{tag}"] += not np.array_equal(base, mc)
                perm = rng.permutation(len(g))
                mp = np.asarray(cwmp_mask(g[perm], c[perm], budget=B, score=sc, greedy=gr).mask)
                viol["permutation"] += not np.array_equal(mp, base[perm])
        tb = np.asarray(topk_mask(g, c=c, budget=B).mask)
        perm = rng.permutation(len(g))
        viol["permutation"] += not np.array_equal(np.asarray(topk_mask(g[perm], c=c[perm], budget=B).mask), tb[perm])
    # a minimal instance: raising B admits item Y (c_Y = 1 > 0.9), which then blocks X
    gz = np.sqrt(np.array([1.0, 1.1, 0.5]))  # Z, Y, X with v = (1, 1.1, 0.5)
    cz = np.array([0.2, 1.0, 0.5])  # ratios 5, 1.1, 1
    minimal = {"g": gz.tolist(), "v": [1.0, 1.1, 0.5], "c": cz.tolist(),
               "dantzig_at_B=0.9": cwmp_mask(gz, cz, budget=0.9).value,
               "dantzig_at_B=1.0": cwmp_mask(gz, cz, budget=1.0).value,
               "fill_at_B=1.0": cwmp_mask(gz, cz, budget=1.0, greedy="fill").value,
               "LP*_at_B=0.9": solve_lp(gz, cz, 0.9).value, "LP*_at_B=1.0": solve_lp(gz, cz, 1.0).value}
    core = ("monotone_LP", "scale_g_pow2", "scale_cB_pow2", "permutation")
    sub = {f"no_{k}_violation": viol[k] == 0 for k in core}
    dantzig_false = viol["monotone_dantzig"] > 0 or minimal["dantzig_at_B=1.0"] < minimal["dantzig_at_B=0.9"]
    ok = all(sub.values())
    notes = []
    if dantzig_false:
        notes.append("dantzig is NOT monotone in B: items with c_i > B are dropped first (THEORY.md Sec. 2), so a "
                     "larger B can admit a high-ratio item that then becomes the break item and stops the scan early; "
                     "LP*, OPT" + (", fill and safe" if not (viol["monotone_fill"] or viol["monotone_safe"]) else "")
                     + " were monotone on every instance")
    if viol["monotone_fill"]:
        notes.append("fill is NOT monotone in B (example in evidence); dantzig and the LP are")
    if viol["scale_g_3.7"] or viol["scale_cB_3.7"]:
        notes.append("non-power-of-2 scalings can flip near-ties through float rounding")
    status = c8_status(sub, dantzig_false)
    return ClaimResult(
        "C8", "greedy value non-decreasing in B; scaling g, or c and B together, leaves the mask unchanged; "
        "permuting coordinates permutes the mask",
        f"{n} random instances (d<=12, continuous data: no ties), 12 budgets each; scalings by 4 and 1/8 (exact in "
        "float) and by 3.7 (reported); all greedies x scores",
        status,
        {"sub_results": sub, "failed_sub_results": failed_sub_results(sub), "instances": n, "violations": viol,
         "reported_only": ["monotone_fill", "monotone_safe", "scale_g_3.7", "scale_cB_3.7"],
         "minimal_dantzig_counterexample": minimal, "examples": examples, "notes": notes},
        (f"dantzig value drops {minimal['dantzig_at_B=0.9']:g} -> {minimal['dantzig_at_B=1.0']:g} as B goes 0.9 -> 1.0 "
         f"({viol['monotone_dantzig']}/{n} random instances non-monotone); fill {viol['monotone_fill']}, "
         f"safe {viol['monotone_safe']}, LP {viol['monotone_LP']} non-monotone; invariances (scalings by 4, 1/8; "
         f"permutations): {viol['scale_g_pow2'] + viol['scale_cB_pow2'] + viol['permutation']} violations; "
         f"scaling by 3.7 (reported): {viol['scale_g_3.7'] + viol['scale_cB_3.7']} mask changes")
        if ok else f"violations {viol}")


def c8_status(sub_results: dict[str, bool], dantzig_not_monotone: bool) -> str:
    """C8: the invariances and the LP's monotonicity must hold; a non-monotone dantzig is the counterexample."""
    return status_of(sub_results, "counterexample_found" if dantzig_not_monotone else "verified_numeric")


ALL = (check_c1, check_c2, check_c3, check_c4, check_c5, check_c6, check_c7, check_c8)


# ----------------------------------------------------------------------------- C9

C9_REL = 1e-9  # value agreement: core is exact to 1e-12·LP*; brute force / HiGHS sum ≤ 20 terms or scale to O(1)
C9_MILP_TIME_LIMIT_S = 30.0  # per MILP solve (HiGHS, mip_rel_gap=0); d ≤ 1e3 with 2-3 cost values
C9_SLOPE_BAND = (0.7, 1.3)  # fitted d-exponent of the runtime; d log d over 1e4..1e7 fits ~1.1, d^2 would be 2


def _class_instance(rng: np.random.Generator, d: int, L: int) -> tuple[np.ndarray, np.ndarray, float]:
    """d coordinates, exactly L cost values (each used), g with mixed scales and some ties, B in (0, Σc)."""
    # cost values within a factor ~e of each other: few items exceed B alone, so the LP
    # relaxation is rarely integral and the class enumeration (not the all-fit shortcut) decides
    values = np.sort(rng.lognormal(0, 0.7, L))
    while len(np.unique(values)) < L:  # pragma: no cover - a draw of equal lognormals
        values = np.sort(rng.lognormal(0, 0.7, L))
    cls = np.concatenate([np.arange(L), rng.integers(0, L, d - L)])
    rng.shuffle(cls)
    c = values[cls]
    g = rng.standard_normal(d) * np.exp(rng.normal(0, 0.7, d))
    if rng.random() < 0.3:  # ties within a class: the enumeration must keep the lower index
        g = np.round(g, 1)
    B = float(rng.uniform(0.1, 0.9) * c.sum())
    return g, c, B


@_timed
def check_c9(rng: np.random.Generator, n_brute: int = 100, n_milp: int = 20, milp_d_max: int = 1000,
             slope_dims: tuple[int, ...] = (10_000, 100_000, 1_000_000, 10_000_000), repeats: int = 3,
             judge_runtime: bool = True) -> ClaimResult:
    """C9: with L ≤ 3 cost values the exact optimum of P comes from a per-class count enumeration (no
    solver): solve_exact(backend="core") takes its "classes" path and equals brute force (d ≤ 20) and
    CVXPY MILP (d ≤ milp_d_max) on random instances with 2 and 3 cost values; its runtime grows like
    d log d (fitted log t vs log d slope over `slope_dims`).

    ``judge_runtime=False`` (``cwmp theory --quick``) still times the solves and reports the slope, but the
    status does not rest on it: a wall-clock exponent over d ≤ 1e6 on a shared machine is a benchmark
    reading (fixed costs dominate at 1e4 and load moves it; seen 0.70-0.85 on a quiet 2-core machine and
    below 0.7 under CI load), not a test. The full report judges it over 1e4..1e7."""
    from solvers import solve_exact

    def core(g, c, B):
        return solve_exact(g, c, B, backend="core")

    def fits(ex, c, B) -> bool:  # feasibility re-summed exactly here, not taken from the result
        return math.fsum(c[np.asarray(ex.selection.mask)].tolist()) <= B

    counts = {"brute": 0, "brute_class_path": 0, "milp": 0, "milp_class_path": 0, "milp_proven": 0}
    worst_brute = worst_milp = 0.0
    bad: list[dict] = []
    for i in range(n_brute):
        L = 2 + i % 2
        g, c, B = _class_instance(rng, int(rng.integers(max(L, 2), 21)), L)
        ex, ref = core(g, c, B), solve_exact(g, c, B, backend="bruteforce")
        counts["brute"] += 1
        counts["brute_class_path"] += ex.solver == "classes"
        err = abs(ex.value - ref.value) / max(ref.value, 1e-300)
        worst_brute = max(worst_brute, err)
        if err > C9_REL or not fits(ex, c, B) or ex.solver not in ("classes", "lp-integral") or not ex.proven_optimal:
            bad.append({"oracle": "bruteforce", "L": L, "g": g.tolist(), "c": c.tolist(), "B": B, "core": ex.value,
                        "bruteforce": ref.value, "solver": ex.solver})
    milp_unproven = []
    for i in range(n_milp):
        L = 2 + i % 2
        g, c, B = _class_instance(rng, int(rng.integers(50, milp_d_max + 1)), L)
        ex = core(g, c, B)
        ref = solve_exact(g, c, B, backend="cvxpy", time_limit=C9_MILP_TIME_LIMIT_S)
        counts["milp"] += 1
        counts["milp_class_path"] += ex.solver == "classes"
        counts["milp_proven"] += ref.proven_optimal
        err = (ex.value - ref.value) / max(ex.value, 1e-300)  # > 0: core better (MILP not proven)
        ok = err >= -C9_REL and fits(ex, c, B) and ex.solver in ("classes", "lp-integral") and ex.proven_optimal
        if ref.proven_optimal:
            worst_milp = max(worst_milp, abs(err))
            ok &= abs(err) <= C9_REL
        else:
            milp_unproven.append({"d": len(g), "L": L, "status": ref.status, "core_minus_milp_rel": err})
        if not ok:
            bad.append({"oracle": "cvxpy", "L": L, "d": len(g), "B": B, "core": ex.value, "milp": ref.value,
                        "milp_status": ref.status, "solver": ex.solver})
    # runtime: FL-like two cost values (5 % of coordinates cheap), budget 5 % of Σc
    times = []
    for d in slope_dims:
        g = rng.standard_normal(d)
        c = np.where(rng.random(d) < 0.05, 1.09e-11, 1.2809e-9)
        B = 0.05 * float(c.sum())
        best, solver = math.inf, None
        for _ in range(repeats):  # the minimum of repeats: the least disturbed by a shared machine
            t0 = time.perf_counter()
            ex = core(g, c, B)
            best = min(best, time.perf_counter() - t0)
            solver = ex.solver
        times.append({"d": d, "seconds_min": best, "repeats": repeats, "solver": solver})
        del g, c
    ld = np.log([t["d"] for t in times])
    slope = float(np.polyfit(ld, np.log([t["seconds_min"] for t in times]), 1)[0])
    dlogd = float(np.polyfit(ld, np.log(np.exp(ld) * ld), 1)[0])  # the slope d log d itself has here
    n_class = counts["brute_class_path"] + counts["milp_class_path"]
    sub = {
        "equals_bruteforce_d_le_20": not any(b["oracle"] == "bruteforce" for b in bad),
        "equals_milp_where_proven_never_below": not any(b["oracle"] == "cvxpy" for b in bad),
        # the oracles must have been met on the class path (not only by the all-fit shortcut)
        "class_path_taken": counts["brute_class_path"] >= 0.8 * max(counts["brute"], 1)
        and counts["milp_class_path"] >= 0.8 * max(counts["milp"], 1),
        "milp_proved_at_least_half": counts["milp_proven"] >= 0.5 * max(counts["milp"], 1),
        "timed_on_class_path": all(t["solver"] == "classes" for t in times),
    }
    if judge_runtime:
        sub[f"runtime_slope_in_{C9_SLOPE_BAND[0]}_{C9_SLOPE_BAND[1]}"] = C9_SLOPE_BAND[0] <= slope <= C9_SLOPE_BAND[1]
    dims = f"{slope_dims[0]:.0e}..{slope_dims[-1]:.0e}".replace("e+0", "e")
    return ClaimResult(
        "C9", "with L <= 3 distinct costs the exact optimum of P is a per-class count enumeration (no solver), "
        "in O(d log d)",
        f"solve_exact(backend='core') vs bruteforce on {n_brute} random instances (d 2..20) and vs CVXPY MILP "
        f"(HiGHS, mip_rel_gap=0, {C9_MILP_TIME_LIMIT_S:g} s limit) on {n_milp} (d 50..{milp_d_max}), half with 2 "
        f"and half with 3 cost values, rel. tol {C9_REL:g}; runtime: min of {repeats} solves at d = {dims} (two "
        f"cost values, B = 5 % of sum c), slope of log t vs log d in [{C9_SLOPE_BAND[0]}, {C9_SLOPE_BAND[1]}]"
        + ("" if judge_runtime else " (reported, not judged: quick grid)"),
        status_of(sub, "verified_numeric"),
        {"sub_results": sub, "failed_sub_results": failed_sub_results(sub), "counts": counts,
         "max_rel_err_vs_bruteforce": worst_brute, "max_rel_err_vs_milp_proven": worst_milp,
         "milp_time_limit_s": C9_MILP_TIME_LIMIT_S, "milp_unproven": milp_unproven[:5], "runtime": times,
         "runtime_slope": slope, "runtime_judged": judge_runtime, "slope_of_d_log_d_on_this_grid": dlogd, "slope_band": list(C9_SLOPE_BAND),
         "class_path_instances": n_class, "violations": bad[:3]},
        f"= bruteforce on {counts['brute']} (max rel err {worst_brute:.1e}), = MILP on {counts['milp_proven']}/"
        f"{counts['milp']} proven (max {worst_milp:.1e}); class path {n_class}/{counts['brute'] + counts['milp']}; "
        f"runtime slope {slope:.2f} over d = {dims} (d log d: {dlogd:.2f})" + ("" if judge_runtime else ", not judged"))
