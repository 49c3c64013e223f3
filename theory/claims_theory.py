"""T1-T3: the probabilistic efficiency claims, by numerical integration and Monte Carlo.

Each check takes an explicit ``numpy.random.Generator`` and a :class:`Sizes`
(quick or full) and returns ``(ClaimResult, figure_data)``. Agreement rule, as
the spec asks: an estimate passes when |estimate - theory| <= K_SE * SE AND its
relative error is small (tolerances stated where used).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
from scipy import stats

from .bounds import finite_d_bounds, influence_moments, prob_cwmp_beats_topk
from .claim import ClaimResult
from .distributions import GRAD_DISTS, LogNormal, TwoPoint
from .model import DEFAULT_COST, cwmp_curve, efficiency_ratio, small_cv_coefficient, topk_curve
from .montecarlo import MCEstimate, clopper_pearson, loglog_slope, simulate_pairs, wilson_interval

K_SE = 4.0  # |estimate - theory| <= 4 SE: two-sided false-alarm rate 6e-5 per comparison under normality


@dataclass(frozen=True)
class Sizes:
    """Sample sizes of one run (quick: under a minute in total; full: minutes)."""

    quick: bool
    t1_d: int  # dimension of the T1 grid cells
    t1_reps: int  # replicates per T1 cell
    t1_costs: tuple  # cost laws of the T1 grid
    t1_fracs: tuple  # budgets beta / E[c] of the T1 grid
    t1_big_d_reps: int  # replicates at d = 1e6 for the cwmp_curve check
    fig6_d: int
    fig6_reps: int
    fig6_fracs: tuple
    t2_dims: tuple  # dimensions of T2
    t2_reps: tuple  # replicates per dimension (same length as t2_dims)
    t3_d: int
    t3_reps: int
    t3_cvs_p02: tuple  # CV grid for the two-point law with p_high = 0.2
    t3_cvs_p05: tuple  # CV grid for p_high = 0.5 (CV < 1)
    t3_cvs_ln: tuple  # CV grid for the lognormal law


QUICK = Sizes(
    quick=True, t1_d=2000, t1_reps=40,
    t1_costs=(TwoPoint.from_cv(0.0, 0.2), TwoPoint.from_cv(0.8, 0.2), LogNormal.from_cv(1.0)),
    t1_fracs=(0.05, 0.3), t1_big_d_reps=2,
    fig6_d=10_000, fig6_reps=8, fig6_fracs=(0.05, 0.1, 0.2, 0.4, 0.7),
    t2_dims=(100, 1000, 10_000, 100_000), t2_reps=(600, 300, 80, 12),
    t3_d=10_000, t3_reps=12, t3_cvs_p02=(0.0, 0.5, 1.0, 1.5), t3_cvs_p05=(0.5, 0.9), t3_cvs_ln=(0.5, 2.0),
)
FULL = Sizes(
    quick=False, t1_d=10_000, t1_reps=80,
    t1_costs=(TwoPoint.from_cv(0.0, 0.2), TwoPoint.from_cv(0.3, 0.2), TwoPoint.from_cv(0.8, 0.2),
              TwoPoint.from_cv(1.5, 0.2), LogNormal.from_cv(0.5), LogNormal.from_cv(1.0), LogNormal.from_cv(2.0)),
    t1_fracs=(0.02, 0.1, 0.3, 0.6), t1_big_d_reps=6,
    fig6_d=100_000, fig6_reps=20, fig6_fracs=(0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.7, 0.9),
    t2_dims=(100, 1000, 10_000, 100_000, 1_000_000), t2_reps=(2000, 1000, 300, 60, 12),
    t3_d=50_000, t3_reps=24,
    t3_cvs_p02=(0.0, 0.1, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 1.95),
    t3_cvs_p05=(0.1, 0.25, 0.5, 0.75, 0.95), t3_cvs_ln=(0.1, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0),
)


def _label(cost) -> str:
    if isinstance(cost, TwoPoint):
        return f"two-point p={cost.p_high:g} CV={cost.cv:.2f}"
    return f"lognormal CV={cost.cv:.2f}"


def _tqdm_write(msg: str) -> None:
    try:
        from tqdm import tqdm

        tqdm.write(msg)
    except ImportError:  # pragma: no cover
        print(msg)


# --------------------------------------------------------------------------- T1
def check_t1(rng: np.random.Generator, sz: Sizes) -> tuple[ClaimResult, dict]:
    t0 = time.perf_counter()
    # (a) theory: r_CWMP >= r_TopK on a fine grid; equality at CV = 0
    fine = np.linspace(0.01, 0.99, 50)
    costs_th = (TwoPoint.from_cv(0.0, 0.2), TwoPoint.from_cv(0.1, 0.2), TwoPoint.from_cv(0.8, 0.2),
                TwoPoint.from_cv(1.9, 0.2), TwoPoint.from_cv(0.9, 0.5), LogNormal.from_cv(0.5), LogNormal.from_cv(3.0))
    min_gap, eq_err, n_th = math.inf, 0.0, 0
    for dist in GRAD_DISTS:
        for cost in costs_th:
            for f in fine:
                b = f * cost.mean
                gap = cwmp_curve(b, dist, cost).retained - topk_curve(b, dist, cost).retained
                n_th += 1
                if cost.cv == 0:
                    eq_err = max(eq_err, abs(gap))
                else:
                    min_gap = min(min_gap, gap)
    theory_ok = min_gap > 0 and eq_err <= 1e-12  # 1e-12: two root-finds to ~1e-15
    # (b) Monte Carlo grid at equal energy
    cells, mc_ok, n_dom, n_tot, n_sandwich_bad = [], True, 0, 0, 0
    worst_z = 0.0
    for dist in GRAD_DISTS:
        for cost in sz.t1_costs:
            for f in sz.t1_fracs:
                b = f * cost.mean
                pr = simulate_pairs(rng, sz.t1_d, sz.t1_reps, b, dist, cost)
                cw, tk = cwmp_curve(b, dist, cost), topk_curve(b, dist, cost)
                ec, et = MCEstimate.of(pr.ret_cwmp), MCEstimate.of(pr.ret_topk)
                ed = MCEstimate.of(pr.ret_cwmp - pr.ret_topk)  # paired: the same draws for both rules
                gap = cw.retained - tk.retained
                # the paired gap has finite variance for every law (for large |g| both rules keep g and
                # psi_C - psi_T is bounded); 5 % of r_TopK is the gross-error guard, as for the levels
                agree_gap = ed.zscore(gap) <= K_SE and abs(ed.mean - gap) <= 0.05 * tk.retained
                if dist == "student_t3":
                    # E[g^4] = inf: a replicate's R_d has infinite variance, so the sample SE of the levels is
                    # not a valid SE (typical samples miss the rare huge g^2: mean low, SE small). The levels are
                    # reported, not tested; the paired gap (finite variance) is the test, and T2 shows the rate.
                    agree_lvl = True
                else:
                    # 5 %: gross-error guard; the statistical test is the k SE one (bias is O(1/d) ~ 2/d)
                    agree_lvl = ec.agrees(cw.retained, K_SE, 0.05) and et.agrees(tk.retained, K_SE, 0.05)
                if dist != "student_t3":
                    worst_z = max(worst_z, ec.zscore(cw.retained), et.zscore(tk.retained))
                worst_z = max(worst_z, ed.zscore(gap))
                agree = agree_gap and agree_lvl
                dom = int(np.sum(pr.ret_cwmp >= pr.ret_topk))
                # pathwise finite-d version of T1: Top-K <= LP* and CWMP >= LP* - max_i v_i
                sandwich = bool(np.all(pr.ret_topk <= pr.lp_cwmp * (1 + 1e-12))
                                and np.all(pr.ret_cwmp >= pr.lp_cwmp - pr.max_v - 1e-12))
                n_sandwich_bad += not sandwich
                n_dom += dom
                n_tot += pr.reps
                mc_ok &= agree
                cells.append({"dist": dist, "cost": _label(cost), "cv": cost.cv, "beta_over_mean_cost": f,
                              "theory": {"cwmp": cw.retained, "topk": tk.retained},
                              "mc_cwmp": ec.as_dict(), "mc_topk": et.as_dict(), "mc_gap": ed.as_dict(),
                              "theory_gap": gap, "agrees": agree,
                              "dominance": dom, "reps": pr.reps, "dominance_ci95": wilson_interval(dom, pr.reps)})
    # (c) cwmp_curve vs Monte Carlo at d = 1e6 (plug-in SE per replicate, pooled)
    b = 0.2 * DEFAULT_COST.mean
    pr = simulate_pairs(rng, 1_000_000, sz.t1_big_d_reps, b, "gaussian", DEFAULT_COST)
    r_th = cwmp_curve(b, "gaussian", DEFAULT_COST).retained
    m = float(pr.ret_cwmp.mean())
    se = float(math.sqrt(np.sum(pr.se_plugin_cwmp**2)) / pr.reps)
    big = {"d": 1_000_000, "reps": pr.reps, "mc_mean": m, "plugin_se": se, "theory": r_th,
           "z": abs(m - r_th) / se, "rel_err": abs(m - r_th) / r_th}
    big_ok = big["z"] <= K_SE and big["rel_err"] <= 1e-3
    dom_rate = n_dom / n_tot
    ok = theory_ok and mc_ok and big_ok and n_sandwich_bad == 0
    res = ClaimResult(
        "T1", "at equal energy, r_CWMP(beta) >= r_TopK(beta) for every beta, equality iff costs are constant",
        f"sympy pointwise Lagrangian lemma; numeric: {n_th} (dist, cost, beta) points of the large-d limits; Monte "
        f"Carlo: {len(cells)} cells (3 g laws x {len(sz.t1_costs)} cost laws x {len(sz.t1_fracs)} budgets) at "
        f"d={sz.t1_d}, {sz.t1_reps} reps: levels within k={K_SE:g} SE and 5% rel. (Student-t3 levels reported only: "
        f"infinite 4th moment, no valid SE), paired gap r_C - r_T within k SE and 5% of r_T (all laws); cwmp_curve vs d=1e6 MC",
        "verified_montecarlo" if ok else "failed",
        {"theory_grid": {"points": n_th, "min_gap_cv_positive": min_gap, "max_abs_gap_cv_zero": eq_err},
         "montecarlo_cells": cells, "k_se": K_SE, "worst_z": worst_z, "dominance_rate": dom_rate,
         "dominance_ci95": wilson_interval(n_dom, n_tot), "dominance_n": n_tot,
         "finite_d_sandwich_violations": n_sandwich_bad,
         "finite_d_note": "at finite d dominance holds up to one item: CWMP >= LP* - max_i g_i^2 >= TopK - max_i g_i^2",
         "d_1e6_check": big, "seconds": round(time.perf_counter() - t0, 2)},
        f"min theory gap {min_gap:.2e} (>0), CV=0 gap {eq_err:.1e}; MC worst z={worst_z:.2f}; dominance "
        f"{dom_rate:.4f} [{wilson_interval(n_dom, n_tot)[0]:.4f}, 1]; d=1e6 z={big['z']:.2f}")
    return res, {"cells": cells, "d_1e6_check": big}


def fig6_data(rng: np.random.Generator, sz: Sizes) -> dict:
    """Retained and energy vs beta: theory curves and Monte Carlo with 95 % CI (two panels)."""
    panels = []
    for dist, cost in (("gaussian", DEFAULT_COST), ("gaussian", LogNormal.from_cv(1.0, DEFAULT_COST.mean))):
        fine = np.linspace(0.005, 1.0, 100)
        th = {"beta_over_mean_cost": fine.tolist(), "beta": (fine * cost.mean).tolist()}
        cws = [cwmp_curve(f * cost.mean, dist, cost) for f in fine]
        tks = [topk_curve(f * cost.mean, dist, cost) for f in fine]
        th["cwmp"] = {"retained": [p.retained for p in cws], "energy": [p.energy for p in cws],
                      "tau": [p.threshold for p in cws]}
        th["topk"] = {"retained": [p.retained for p in tks], "energy": [p.energy for p in tks],
                      "a": [p.threshold for p in tks]}
        mc = {"beta_over_mean_cost": list(sz.fig6_fracs), "beta": [f * cost.mean for f in sz.fig6_fracs]}
        for name in ("cwmp", "topk"):
            mc[name] = {k: [] for k in ("retained_mean", "retained_se", "retained_ci95", "energy_mean", "energy_se",
                                        "energy_ci95")}
        z = float(stats.norm.isf(0.025))
        for f in sz.fig6_fracs:
            pr = simulate_pairs(rng, sz.fig6_d, sz.fig6_reps, f * cost.mean, dist, cost)
            for name, rr, ee in (("cwmp", pr.ret_cwmp, pr.en_cwmp), ("topk", pr.ret_topk, pr.en_topk)):
                for q, arr in (("retained", rr), ("energy", ee)):
                    est = MCEstimate.of(arr)
                    mc[name][f"{q}_mean"].append(est.mean)
                    mc[name][f"{q}_se"].append(est.se)
                    mc[name][f"{q}_ci95"].append([est.mean - z * est.se, est.mean + z * est.se])
        panels.append({"dist": dist, "cost": cost.describe(), "label": f"{dist} g, {_label(cost)}",
                       "d": sz.fig6_d, "reps": sz.fig6_reps, "theory": th, "montecarlo": mc})
    return {"figure": 6, "description": "retained fraction of E[g^2] and energy per coordinate vs per-coordinate "
            "budget beta; large-d theory and finite-d Monte Carlo (mean, SE, 95% CI)", "panels": panels}


# --------------------------------------------------------------------------- T2
def _binom_pvalue_ge(k: int, n: int, p: float) -> float:
    """P(Binomial(n, p) >= k): is the violation count significantly above delta?"""
    return float(stats.binom.sf(k - 1, n, p)) if k > 0 else 1.0


def check_t2(rng: np.random.Generator, sz: Sizes, delta: float = 0.05) -> tuple[ClaimResult, dict, dict]:
    t0 = time.perf_counter()
    settings = {
        "A": ("gaussian", DEFAULT_COST, 0.2),
        "B": ("laplace", LogNormal.from_cv(1.0, 2.0), 0.1),
        "C": ("student_t3", DEFAULT_COST, 0.2),
        "D": ("gaussian", TwoPoint.from_cv(0.02, 0.2), 0.1),
        "E": ("gaussian", TwoPoint.from_cv(0.05, 0.2), 0.1),
    }
    out: dict[str, dict] = {}
    p_alarm = 1e-3  # coverage fails only if P(Bin(n, delta) >= violations) < 1e-3 (per cell)
    ok = True
    problems = []
    for key, (dist, cost, frac) in settings.items():
        beta = frac * cost.mean
        cw = cwmp_curve(beta, dist, cost)
        rows = []
        for d, reps in zip(sz.t2_dims, sz.t2_reps):
            if key in ("D", "E") and d > 100_000 and sz.quick:
                continue
            pr = simulate_pairs(rng, d, reps, beta, dist, cost)
            er = MCEstimate.of(pr.ret_cwmp)
            ee = MCEstimate.of(pr.en_cwmp)
            q75, q25 = np.percentile(pr.ret_cwmp, [75, 25])
            row = {"d": d, "reps": reps, "retained": er.as_dict(), "energy": ee.as_dict(),
                   "retained_limit": cw.retained, "energy_limit": cw.energy,
                   "bias_retained": er.mean - cw.retained, "sd_retained_sqrt_d": float(np.std(pr.ret_cwmp, ddof=1) * math.sqrt(d)),
                   "iqr_retained": float(q75 - q25),
                   "max_abs_energy_dev": float(np.max(np.abs(pr.en_cwmp - beta)))}
            beat = int(np.sum(pr.ret_cwmp > pr.ret_topk))
            tie = int(np.sum(pr.ret_cwmp == pr.ret_topk))
            gap_est = MCEstimate.of(pr.ret_cwmp - pr.ret_topk)
            row.update({"p_beat": beat / reps, "p_beat_ci95": wilson_interval(beat, reps), "p_tie": tie / reps,
                        "p_lose": (reps - beat - tie) / reps, "mean_gap": gap_est.as_dict()})
            if dist != "student_t3":
                row["p_beat_normal_approx"] = prob_cwmp_beats_topk(d, beta, dist, cost)
                for method in ("clt", "cantelli"):
                    bd = finite_d_bounds(beta, d, delta, dist, cost, method=method)
                    v_r = int(np.sum((pr.ret_cwmp < bd.retained_lo) | (pr.ret_cwmp > bd.retained_hi)))
                    v_e = int(np.sum((pr.en_cwmp < bd.energy_lo) | (pr.en_cwmp > bd.energy_hi)))
                    v_any = int(np.sum(~np.array([bd.contains(r, e) for r, e in zip(pr.ret_cwmp, pr.en_cwmp)])))
                    pval = _binom_pvalue_ge(v_any, reps, delta)
                    row[f"bound_{method}"] = {
                        "retained": [bd.retained_lo, bd.retained_hi], "energy": [bd.energy_lo, bd.energy_hi],
                        "violations_retained": v_r, "violations_energy": v_e, "violations_any": v_any,
                        "violation_rate": v_any / reps, "violation_ci95": clopper_pearson(v_any, reps),
                        "p_value_vs_delta": pval}
                    if pval < p_alarm:
                        ok = False
                        problems.append(f"{key} d={d} {method}: {v_any}/{reps} violations (p={pval:.1e})")
            rows.append(row)
        entry = {"dist": dist, "cost": cost.describe(), "beta": beta, "beta_over_mean_cost": frac, "rows": rows}
        dims = np.array([r["d"] for r in rows], float)
        entry["iqr_slope"] = loglog_slope(dims, [r["iqr_retained"] for r in rows])
        if dist != "student_t3":
            mom = influence_moments(beta, dist, cost)
            entry["sd_influence_theory"] = mom.sd_cwmp
            entry["sd_diff_theory"] = mom.sd_diff
            entry["gap_theory"] = mom.r_cwmp - mom.r_topk
        out[key] = entry
    # convergence criteria
    for key in ("A", "B"):
        e = out[key]
        # IQR rate: -1/2 expected; +-0.1 allows the sampling noise of IQRs from 12..2000 reps
        if abs(e["iqr_slope"] + 0.5) > 0.1:
            ok = False
            problems.append(f"{key}: IQR slope {e['iqr_slope']:.3f} not -1/2")
        for r in e["rows"]:
            if r["reps"] >= 200:
                # sqrt(d) sd -> sd(psi); sd of a sample sd ~ sd/sqrt(2 reps) (more for heavy tails): 4 of those + 5 %
                tol = K_SE * math.sqrt(2.0 / r["reps"]) + 0.05 if r["d"] >= 1000 else 0.25
                if abs(r["sd_retained_sqrt_d"] / e["sd_influence_theory"] - 1) > tol:
                    ok = False
                    problems.append(f"{key} d={r['d']}: sqrt(d) sd {r['sd_retained_sqrt_d']:.3f} vs {e['sd_influence_theory']:.3f}")
        e["bias_times_d"] = [r["bias_retained"] * r["d"] for r in e["rows"]]
    for key in ("A", "B", "C", "D", "E"):
        for r in out[key]["rows"]:
            # pathwise: E_d in (beta - c_max/d, beta]; lognormal maxima are random, so only check A, C, D, E
            if isinstance(settings[key][1], TwoPoint) and r["max_abs_energy_dev"] > settings[key][1].high / r["d"] + 1e-12:
                ok = False
                problems.append(f"{key} d={r['d']}: energy off by {r['max_abs_energy_dev']:.3g}")
    # P(beat): the largest d of every gaussian setting; Wilson CI must reach the normal approximation's range
    pbeat_rows = []
    for key in ("A", "D", "E"):
        for r in out[key]["rows"]:
            lo, hi = r["p_beat_ci95"]
            pbeat_rows.append({"setting": key, "d": r["d"], "p_beat": r["p_beat"], "ci95": [lo, hi],
                               "normal_approx": r["p_beat_normal_approx"]})
    last = {k: out[k]["rows"][-1] for k in ("A", "D", "E")}
    pbeat_ok = all(r["p_beat_ci95"][1] >= min(r["p_beat_normal_approx"], 0.999) - 0.02 for r in last.values())
    ok &= pbeat_ok
    if not pbeat_ok:
        problems.append("P(beat) at the largest d below its normal approximation")
    t3_slope = out["C"]["iqr_slope"]
    fig8 = {"figure": 8, "description": "P(CWMP retains strictly more than budget-mode Top-K at the same budget) vs d; "
            "Monte Carlo with Wilson 95% CI and the delta-method normal approximation",
            "series": []}
    for key in ("D", "E", "A"):
        e = out[key]
        dist, cost, frac = settings[key]
        d_fine = np.logspace(2, 6, 41)
        fig8["series"].append({
            "label": f"{dist} g, {_label(cost)}, beta={frac:g} E[c]", "setting": key, "dist": dist,
            "cost": cost.describe(), "beta": e["beta"],
            "d": [r["d"] for r in e["rows"]], "reps": [r["reps"] for r in e["rows"]],
            "p_beat": [r["p_beat"] for r in e["rows"]], "ci95": [r["p_beat_ci95"] for r in e["rows"]],
            "p_tie": [r["p_tie"] for r in e["rows"]], "p_lose": [r["p_lose"] for r in e["rows"]],
            "mean_gap": [r["mean_gap"]["mean"] for r in e["rows"]], "mean_gap_se": [r["mean_gap"]["se"] for r in e["rows"]],
            "gap_theory": e["gap_theory"],
            "normal_approx": [r["p_beat_normal_approx"] for r in e["rows"]],
            "d_fine": d_fine.tolist(),
            "normal_approx_fine": [prob_cwmp_beats_topk(int(d), e["beta"], dist, cost) for d in d_fine]})
    cov = {k: {m: [(r["d"], r[f"bound_{m}"]["violations_any"], r["reps"]) for r in out[k]["rows"]]
               for m in ("clt", "cantelli")} for k in ("A", "B", "D", "E")}
    worst_clt = max(v / n for k in cov for (d, v, n) in cov[k]["clt"])
    worst_can = max(v / n for k in cov for (d, v, n) in cov[k]["cantelli"])
    res = ClaimResult(
        "T2", "per-coordinate retained/energy of the finite-d selections converge to r, e at rate d^-1/2 "
        "(finite E[g^4]); explicit (1-delta) bounds hold; P(CWMP beats Top-K) -> 1",
        f"Monte Carlo, d in {list(sz.t2_dims)} with reps {list(sz.t2_reps)}; settings A (gaussian, two-point), "
        f"B (laplace, lognormal), C (student-t3), D/E (gaussian, CV 0.02/0.05); bounds: delta-method CLT and "
        f"non-asymptotic Cantelli/LP-duality, delta={delta}; coverage fails if P(Bin(n,delta) >= violations) < {p_alarm:g}",
        "verified_montecarlo" if ok else "failed",
        {"settings": out, "delta": delta, "coverage_summary": cov, "worst_violation_rate_clt": worst_clt,
         "worst_violation_rate_cantelli": worst_can, "p_beat": pbeat_rows, "problems": problems,
         "p_beat_note": "the delta-method normal approximation ignores the O(1/d) one-item granularity (each greedy "
                        "leaves part of the budget unused at its break item, worth ~a^2 c/d); at small CV the gap "
                        "r_C - r_T ~ CV^2 is below that until d ~ 1e5, so P(beat) lags the approximation there and "
                        "Top-K can win more often than not while CWMP still wins on average (mean_gap > 0)",
         "student_t3_note": f"E[g^4] = inf: no sqrt(d) CLT; measured IQR slope {t3_slope:.3f} "
                            "(stable-law prediction -1/3); the (1-delta) retained bound is vacuous there, energy still pathwise",
         "seconds": round(time.perf_counter() - t0, 2)},
        f"IQR slopes A {out['A']['iqr_slope']:.3f}, B {out['B']['iqr_slope']:.3f} (-0.5), t3 {t3_slope:.3f} (-1/3); "
        f"worst violation rate CLT {worst_clt:.3f}, Cantelli {worst_can:.3f} (delta {delta}); "
        f"P(beat) at max d: " + ", ".join(f"{k} {r['p_beat']:.3f}" for k, r in last.items()))
    return res, fig8, {"t2_settings": out}


# --------------------------------------------------------------------------- T3
def check_t3(rng: np.random.Generator, sz: Sizes, frac: float = 0.1, symbolic=None) -> tuple[ClaimResult, dict]:
    t0 = time.perf_counter()
    from .symbolic import t3_two_point

    sym = symbolic if symbolic is not None else t3_two_point()
    dist = "gaussian"
    series_def = (("two-point p=0.2", lambda cv: TwoPoint.from_cv(cv, 0.2), sz.t3_cvs_p02, 1.99),
                  ("two-point p=0.5", lambda cv: TwoPoint.from_cv(cv, 0.5), sz.t3_cvs_p05, 0.995),
                  ("lognormal", lambda cv: LogNormal.from_cv(cv), sz.t3_cvs_ln, 3.0))
    series, ok, worst_z, worst_rel, problems = [], True, 0.0, 0.0, []
    for label, make, cvs, cv_max in series_def:
        cv_fine = np.linspace(0.0, cv_max, 60)
        fine = [efficiency_ratio(frac * make(cv).mean, dist, make(cv)) for cv in cv_fine]
        s = {"label": label, "cv": list(cvs), "closed_form": [], "mc_mean": [], "mc_se": [], "mc_ci95": [],
             "cv_fine": cv_fine.tolist(), "closed_form_fine": fine,
             "small_cv_law_fine": [1 + small_cv_coefficient(frac, dist) * cv**2 for cv in cv_fine]}
        for cv in cvs:
            cost = make(cv)
            beta = frac * cost.mean
            th = efficiency_ratio(beta, dist, cost)
            pr = simulate_pairs(rng, sz.t3_d, sz.t3_reps, beta, dist, cost)
            est = MCEstimate.of(pr.eff_ratio)
            z = est.zscore(th)
            rel = abs(est.mean - th) / th
            worst_z, worst_rel = max(worst_z, z), max(worst_rel, rel)
            # k SE is the statistical test; 3 % relative is the gross-error guard (4 SE of 12..24
            # replicates at d = 1e4..5e4 is 1-2 % of the ratio, so 3 % never decides a pass on its own)
            if not (z <= K_SE and rel <= 0.03):
                ok = False
                problems.append(f"{label} CV={cv}: MC {est.mean:.5f} +- {est.se:.5f} vs {th:.5f}")
            s["closed_form"].append(th)
            s["mc_mean"].append(est.mean)
            s["mc_se"].append(est.se)
            s["mc_ci95"].append([est.mean - 1.96 * est.se, est.mean + 1.96 * est.se])
        series.append(s)
    # ratio = 1 at CV = 0 (numeric, every law) and the small-CV law, extrapolated to CV -> 0
    at0 = max(abs(efficiency_ratio(frac * m(0.0).mean, dist, m(0.0)) - 1) for _, m, _, _ in series_def)
    kappa = small_cv_coefficient(frac, dist)
    small = {}
    for label, make, _, _ in series_def:
        cvs = np.array([0.004, 0.008, 0.016])
        q = np.array([(efficiency_ratio(frac * make(cv).mean, dist, make(cv)) - 1) / cv**2 for cv in cvs])
        intercept = float(np.polyfit(cvs, q, 2)[-1])  # quadratic in CV: removes the O(CV^3), O(CV^4) terms
        small[label] = {"kappa_extrapolated": intercept, "kappa_formula": kappa, "rel_err": abs(intercept / kappa - 1)}
        if abs(intercept / kappa - 1) > 1e-3:  # extrapolation error of a 3-point fit at CV <= 0.016
            ok = False
            problems.append(f"{label}: small-CV coefficient {intercept:.5f} vs {kappa:.5f}")
    ok &= at0 <= 1e-12 and sym.passed
    mono = all(all(b >= a - 1e-12 for a, b in zip(s["closed_form_fine"], s["closed_form_fine"][1:])) for s in series)
    fig7 = {"figure": 7, "description": "efficiency ratio eta_CWMP/eta_TopK at equal energy vs cost CV: closed form "
            "(two-point: explicit erfc forms + one root; lognormal: 1-D integral + root), its small-CV law "
            "1 + kappa CV^2, and Monte Carlo (mean, SE, 95% CI)",
            "dist": dist, "budget_fraction": frac, "d": sz.t3_d, "reps": sz.t3_reps, "kappa": kappa, "series": series}
    res = ClaimResult(
        "T3", "eta_CWMP/eta_TopK grows with the cost CV from 1 at CV=0; two-point closed form; "
        "gain = a^3 f(a)/(4 M2(a)) CV^2 + O(CV^3)",
        f"sympy (closed form, CV=0 identity, second-order expansion for every two-point shape) + scipy quadrature; "
        f"Monte Carlo d={sz.t3_d}, {sz.t3_reps} reps per CV, k={K_SE:g} SE and 3% rel., beta={frac:g} E[c], gaussian g",
        "verified_montecarlo" if ok else "failed",
        {"symbolic": sym.as_dict(), "ratio_minus_1_at_cv0": at0, "small_cv": small, "monotone_in_cv": mono,
         "worst_z": worst_z, "worst_rel_err": worst_rel, "problems": problems,
         "max_ratio": {s["label"]: max(s["closed_form_fine"]) for s in series},
         "seconds": round(time.perf_counter() - t0, 2)},
        f"MC vs closed form: worst z={worst_z:.2f}, rel {worst_rel:.1e}; kappa={kappa:.4f}; ratio at max CV: "
        + ", ".join(f"{s['label']} {s['closed_form_fine'][-1]:.3f}" for s in series))
    return res, fig7
