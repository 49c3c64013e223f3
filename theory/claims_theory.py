"""T1-T3: the probabilistic efficiency claims, by numerical integration and Monte Carlo.

Each check takes an explicit ``numpy.random.Generator`` and a :class:`Sizes`
(quick or full) and returns ``(ClaimResult, figure_data)``; T2 returns three rows
(rate, coverage of the finite-d bounds, the normal approximation of P(beat)). Each
row's status comes from a pure ``*_status`` function of its ``sub_results``. Agreement rule, as
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
from .claim import ClaimResult, failed_sub_results, status_of
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
    sub = {"theory_dominance_and_cv0_equality": bool(theory_ok), "mc_levels_and_gap_agree": bool(mc_ok),
           "cwmp_curve_vs_d_1e6": bool(big_ok), "finite_d_sandwich": n_sandwich_bad == 0}
    res = ClaimResult(
        "T1", "at equal energy, r_CWMP(beta) >= r_TopK(beta) for every beta, equality iff costs are constant",
        f"sympy pointwise Lagrangian lemma; numeric: {n_th} (dist, cost, beta) points of the large-d limits; Monte "
        f"Carlo: {len(cells)} cells (3 g laws x {len(sz.t1_costs)} cost laws x {len(sz.t1_fracs)} budgets) at "
        f"d={sz.t1_d}, {sz.t1_reps} reps: levels within k={K_SE:g} SE and 5% rel. (Student-t3 levels reported only: "
        f"infinite 4th moment, no valid SE), paired gap r_C - r_T within k SE and 5% of r_T (all laws); cwmp_curve vs d=1e6 MC",
        t1_status(sub),
        {"sub_results": sub, "failed_sub_results": failed_sub_results(sub),
         "reported_only": ["dominance_rate (finite-d dominance holds only up to one item, see finite_d_note)"],
         "theory_grid": {"points": n_th, "min_gap_cv_positive": min_gap, "max_abs_gap_cv_zero": eq_err},
         "montecarlo_cells": cells, "k_se": K_SE, "worst_z": worst_z, "dominance_rate": dom_rate,
         "dominance_ci95": wilson_interval(n_dom, n_tot), "dominance_n": n_tot,
         "finite_d_sandwich_violations": n_sandwich_bad,
         "finite_d_note": "at finite d dominance holds up to one item: CWMP >= LP* - max_i g_i^2 >= TopK - max_i g_i^2",
         "d_1e6_check": big, "seconds": round(time.perf_counter() - t0, 2)},
        f"min theory gap {min_gap:.2e} (>0), CV=0 gap {eq_err:.1e}; MC worst z={worst_z:.2f}; dominance "
        f"{dom_rate:.4f} [{wilson_interval(n_dom, n_tot)[0]:.4f}, 1] (reported); d=1e6 z={big['z']:.2f}")
    return res, {"cells": cells, "d_1e6_check": big}


def t1_status(sub_results: dict[str, bool]) -> str:
    return status_of(sub_results, "verified_montecarlo")


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
T2_P_ALARM = 1e-3  # a (1 - delta) bound fails when P(Bin(n, delta) >= violations) < 1e-3 (per cell, and pooled)
T2_PBEAT_CONF = 0.999  # the normal approximation fails where MC's 99.9 % Clopper-Pearson interval excludes it


def _binom_pvalue_ge(k: int, n: int, p: float) -> float:
    """P(Binomial(n, p) >= k): is the violation count significantly above delta?"""
    return float(stats.binom.sf(k - 1, n, p)) if k > 0 else 1.0


def alarm_count(n: int, delta: float, p_alarm: float = T2_P_ALARM) -> int:
    """Smallest violation count k with P(Bin(n, delta) >= k) < p_alarm: the test's power at sample size n."""
    return int(stats.binom.isf(p_alarm, n, delta)) + 1


def coverage_assessment(cells: list[dict], delta: float, p_alarm: float = T2_P_ALARM) -> dict:
    """Per-cell and pooled binomial tests of a (1 - delta) bound's violation counts (pure function).

    ``cells``: [{"setting", "d", "method", "violations", "n"}]. For every method: each cell's exact
    one-sided p-value P(Bin(n, delta) >= violations), the pooled count over all cells with its
    Clopper-Pearson 95 % interval and the pooled p-value. Sub-results: no cell alarms, and the pooled
    count does not alarm (the pooled test has the power the small cells lack)."""
    out: dict = {"delta": delta, "p_alarm": p_alarm, "methods": {}, "sub_results": {}}
    for method in sorted({c["method"] for c in cells}):
        mc = [c for c in cells if c["method"] == method]
        rows = []
        for c in mc:
            p = _binom_pvalue_ge(int(c["violations"]), int(c["n"]), delta)
            rows.append({**c, "rate": c["violations"] / c["n"], "ci95": list(clopper_pearson(int(c["violations"]), int(c["n"]))),
                         "p_value_vs_delta": p, "alarm": p < p_alarm})
        v, n = sum(int(c["violations"]) for c in mc), sum(int(c["n"]) for c in mc)
        p_pool = _binom_pvalue_ge(v, n, delta)
        pooled = {"violations": v, "n": n, "rate": v / n, "ci95": list(clopper_pearson(v, n)),
                  "p_value_vs_delta": p_pool, "alarm": p_pool < p_alarm}
        power = {str(k): alarm_count(k, delta, p_alarm) / k for k in sorted({int(c["n"]) for c in mc})}
        out["methods"][method] = {"cells": rows, "pooled": pooled, "worst_cell_rate": max(r["rate"] for r in rows),
                                  "per_cell_alarm_rate_by_n": power}
        out["sub_results"][f"{method}_no_cell_alarm"] = not any(r["alarm"] for r in rows)
        out["sub_results"][f"{method}_pooled_not_above_delta"] = not pooled["alarm"]
    return out


def t2_coverage_status(assessment: dict) -> str:
    return status_of(assessment["sub_results"], "verified_montecarlo")


def pbeat_assessment(cells: list[dict], conf: float = T2_PBEAT_CONF) -> dict:
    """Monte Carlo P(beat) vs the normal approximation, cell by cell (pure function).

    ``cells``: [{"setting", "d", "beats", "n", "approx"}]. A cell agrees when the approximation lies in
    the exact (Clopper-Pearson) ``conf`` interval of beats/n; 95 % intervals are reported beside it."""
    rows, sub = [], {}
    for c in cells:
        k, n, a = int(c["beats"]), int(c["n"]), float(c["approx"])
        lo, hi = clopper_pearson(k, n, conf=conf)
        ok = math.isfinite(a) and lo <= a <= hi
        rows.append({**c, "p_beat": k / n, "ci95": list(clopper_pearson(k, n)), f"ci{conf * 100:g}": [lo, hi],
                     "approx_inside_ci": ok})
        sub[f"{c['setting']} d={c['d']}"] = ok
    return {"conf": conf, "cells": rows, "sub_results": sub,
            "excluded": [r for r in rows if not r["approx_inside_ci"]]}


def t2_pbeat_status(assessment: dict) -> str:
    return status_of(assessment["sub_results"], "verified_montecarlo")


def t2_rate_status(sub_results: dict[str, bool]) -> str:
    return status_of(sub_results, "verified_montecarlo")


T2_SETTINGS = {
    "A": ("gaussian", DEFAULT_COST, 0.2),
    "B": ("laplace", LogNormal.from_cv(1.0, 2.0), 0.1),
    "C": ("student_t3", DEFAULT_COST, 0.2),
    "D": ("gaussian", TwoPoint.from_cv(0.02, 0.2), 0.1),
    "E": ("gaussian", TwoPoint.from_cv(0.05, 0.2), 0.1),
}
T2_FINITE = ("A", "B", "D", "E")  # finite E[g^4]: the sqrt(d) CLT, the bounds and the normal approximation apply


def _fmt_d(d: int) -> str:
    e = math.log10(d)
    return f"1e{int(round(e))}" if abs(e - round(e)) < 1e-9 else str(d)


def check_t2(rng: np.random.Generator, sz: Sizes, delta: float = 0.05) -> tuple[list[ClaimResult], dict, dict]:
    """T2 as three rows, each with its own status: "T2" (the rate), "T2-coverage" (the finite-d (1-delta)
    bounds) and "T2-pbeat" (the normal approximation of P(CWMP beats Top-K))."""
    t0 = time.perf_counter()
    settings = T2_SETTINGS
    out: dict[str, dict] = {}
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
            row.update({"beats": beat, "p_beat": beat / reps, "p_beat_ci95": wilson_interval(beat, reps),
                        "p_beat_ci95_exact": clopper_pearson(beat, reps), "p_tie": tie / reps,
                        "p_lose": (reps - beat - tie) / reps, "mean_gap": gap_est.as_dict()})
            if dist != "student_t3":
                row["p_beat_normal_approx"] = prob_cwmp_beats_topk(d, beta, dist, cost)
                for method in ("clt", "cantelli"):
                    bd = finite_d_bounds(beta, d, delta, dist, cost, method=method)
                    v_r = int(np.sum((pr.ret_cwmp < bd.retained_lo) | (pr.ret_cwmp > bd.retained_hi)))
                    v_e = int(np.sum((pr.en_cwmp < bd.energy_lo) | (pr.en_cwmp > bd.energy_hi)))
                    v_any = int(np.sum(~np.array([bd.contains(r, e) for r, e in zip(pr.ret_cwmp, pr.en_cwmp)])))
                    row[f"bound_{method}"] = {
                        "retained": [bd.retained_lo, bd.retained_hi], "energy": [bd.energy_lo, bd.energy_hi],
                        "violations_retained": v_r, "violations_energy": v_e, "violations_any": v_any,
                        "violation_rate": v_any / reps, "violation_ci95": clopper_pearson(v_any, reps),
                        "p_value_vs_delta": _binom_pvalue_ge(v_any, reps, delta)}
            rows.append(row)
        entry = {"dist": dist, "cost": cost.describe(), "beta": beta, "beta_over_mean_cost": frac, "rows": rows}
        dims = np.array([r["d"] for r in rows], float)
        entry["iqr_slope"] = loglog_slope(dims, [r["iqr_retained"] for r in rows])
        if dist != "student_t3":
            mom = influence_moments(beta, dist, cost)
            entry["sd_influence_theory"] = mom.sd_cwmp
            entry["sd_diff_theory"] = mom.sd_diff
            entry["gap_theory"] = mom.r_cwmp - mom.r_topk
        entry["bias_times_d"] = [r["bias_retained"] * r["d"] for r in rows]
        out[key] = entry
    elapsed = round(time.perf_counter() - t0, 2)

    # ---- row "T2": the rate. Every stated sub-result counts.
    sub: dict[str, bool] = {}
    problems: list[str] = []

    def note(name: str, ok: bool, msg: str) -> None:
        sub[name] = bool(ok)
        if not ok:
            problems.append(msg)

    for key in T2_FINITE:
        e = out[key]
        # IQR rate: -1/2 expected; +-0.1 allows the sampling noise of IQRs from 12..2000 reps
        note(f"iqr_slope_{key}_near_-1/2", abs(e["iqr_slope"] + 0.5) <= 0.1, f"{key}: IQR slope {e['iqr_slope']:.3f} not -1/2")
        for r in e["rows"]:
            if r["reps"] >= 200:
                # sqrt(d) sd -> sd(psi). The replicates R_d are means of d terms, close to normal for d >= 1000,
                # so the relative sd of their sample sd is 1/sqrt(2 reps); K_SE of those + 5 % for the O(1/d)
                # finite-d corrections. At d = 100 (skewed R_d, one-item granularity) 25 % is the guard.
                tol = K_SE / math.sqrt(2.0 * r["reps"]) + 0.05 if r["d"] >= 1000 else 0.25
                ratio = r["sd_retained_sqrt_d"] / e["sd_influence_theory"]
                r["sd_ratio_tolerance"] = tol
                note(f"sqrt_d_sd_{key}_d={_fmt_d(r['d'])}", abs(ratio - 1) <= tol,
                     f"{key} d={r['d']}: sqrt(d) sd {r['sd_retained_sqrt_d']:.3f} vs {e['sd_influence_theory']:.3f} "
                     f"(ratio {ratio:.3f}, tol {tol:.3f})")
            if r["d"] >= 10_000:
                # convergence of the mean: the O(1/d) bias is below K_SE standard errors from d = 1e4 on
                z = abs(r["bias_retained"]) / r["retained"]["se"]
                note(f"mean_{key}_d={_fmt_d(r['d'])}_within_{K_SE:g}_se", z <= K_SE,
                     f"{key} d={r['d']}: mean retained {r['retained']['mean']:.6f} vs limit {r['retained_limit']:.6f} (z={z:.2f})")
    t3_slope = out["C"]["iqr_slope"]
    # Student-t3: outside T2's hypothesis (E[g^4] = inf); the stated d^(-1/3) rate is checked at the same +-0.1
    note("iqr_slope_C_student_t3_near_-1/3", abs(t3_slope + 1 / 3) <= 0.1, f"C: IQR slope {t3_slope:.3f} not -1/3")
    bad_energy = []
    for key in settings:
        for r in out[key]["rows"]:
            # pathwise: E_d in (beta - c_max/d, beta]; lognormal maxima are random, so only the two-point laws
            if isinstance(settings[key][1], TwoPoint) and r["max_abs_energy_dev"] > settings[key][1].high / r["d"] + 1e-12:
                bad_energy.append(f"{key} d={r['d']}: energy off by {r['max_abs_energy_dev']:.3g}")
    note("energy_within_pathwise_band", not bad_energy, "; ".join(bad_energy))
    slopes = ", ".join(f"{k} {out[k]['iqr_slope']:.3f}" for k in T2_FINITE)
    sd_sub = [k for k in sub if k.startswith("sqrt_d_sd_")]
    mean_sub = [k for k in sub if k.startswith("mean_")]
    rate = ClaimResult(
        "T2", "per-coordinate retained/energy of the finite-d selections converge to r, e at rate d^-1/2 "
        "(finite E[g^4]); Student-t3 (E[g^4] = inf) at d^-1/3",
        f"Monte Carlo, d in {list(sz.t2_dims)} with reps {list(sz.t2_reps)}; settings A (gaussian, two-point), "
        "B (laplace, lognormal), C (student-t3), D/E (gaussian, CV 0.02/0.05); IQR log-log slope within 0.1 of "
        f"-1/2 (A, B, D, E) and of -1/3 (C); sqrt(d) sd vs sd(psi) within {K_SE:g}/sqrt(2 reps) + 5 % "
        f"(reps >= 200, d >= 1000; 25 % at d = 100); mean within {K_SE:g} SE of r for d >= 1e4; energy in the "
        "pathwise band (beta - c_max/d, beta] (two-point laws)",
        t2_rate_status(sub),
        {"sub_results": sub, "failed_sub_results": failed_sub_results(sub), "problems": problems,
         "settings": {k: {kk: vv for kk, vv in v.items() if kk != "rows"} for k, v in out.items()},
         "student_t3_note": f"E[g^4] = inf: no sqrt(d) CLT; measured IQR slope {t3_slope:.3f} "
                            "(stable-law prediction -1/3); the (1-delta) retained bound is vacuous there, energy still pathwise",
         "raw_table": "t2_convergence.json", "seconds": elapsed},
        f"IQR slopes {slopes} (-0.5), t3 {t3_slope:.3f} (-1/3); sqrt(d) sd vs sd(psi): "
        f"{sum(sub[k] for k in sd_sub)}/{len(sd_sub)} within tol; mean within {K_SE:g} SE at d >= 1e4: "
        f"{sum(sub[k] for k in mean_sub)}/{len(mean_sub)}")

    # ---- row "T2-coverage": the finite-d (1 - delta) bounds, per cell and pooled
    cells = [{"setting": k, "d": r["d"], "method": m, "violations": r[f"bound_{m}"]["violations_any"], "n": r["reps"]}
             for k in T2_FINITE for r in out[k]["rows"] for m in ("clt", "cantelli")]
    cov = coverage_assessment(cells, delta)
    mm = cov["methods"]

    def pooled_txt(m: str) -> str:
        p = mm[m]["pooled"]
        return (f"{m.upper() if m == 'clt' else m.capitalize()} pooled {p['violations']}/{p['n']} = {p['rate']:.4f} "
                f"[{p['ci95'][0]:.4f}, {p['ci95'][1]:.4f}] (p vs delta {p['p_value_vs_delta']:.2g})")

    power = mm["clt"]["per_cell_alarm_rate_by_n"]
    coverage = ClaimResult(
        "T2-coverage", f"the explicit finite-d (1-delta) bounds (delta-method CLT, non-asymptotic Cantelli/LP "
        f"duality) cover (R_d, E_d) with probability >= 1-delta, delta={delta}",
        f"violation counts of both bounds in every (setting, d) cell of T2 (A, B, D, E; C has no finite bound); "
        f"a cell fails if P(Bin(n, delta) >= violations) < {T2_P_ALARM:g}, and the pooled count over all cells "
        f"is tested the same way; rates with exact Clopper-Pearson 95 % intervals",
        t2_coverage_status(cov),
        {"sub_results": cov["sub_results"], "failed_sub_results": failed_sub_results(cov["sub_results"]),
         "delta": delta, "assessment": cov,
         "pooled_violation_rate_clt": mm["clt"]["pooled"], "pooled_violation_rate_cantelli": mm["cantelli"]["pooled"],
         "worst_violation_rate_clt": mm["clt"]["worst_cell_rate"],
         "worst_violation_rate_cantelli": mm["cantelli"]["worst_cell_rate"],
         "power_note": "the per-cell test only alarms at violation rates >= "
                       + ", ".join(f"{v:.3f} (n={k})" for k, v in power.items())
                       + "; the pooled test is what can see a rate modestly above delta",
         "problems": [f"{c['setting']} d={c['d']} {m}: {c['violations']}/{c['n']} (p={c['p_value_vs_delta']:.1e})"
                      for m in mm for c in mm[m]["cells"] if c["alarm"]]
                     + [f"{m} pooled: {mm[m]['pooled']['violations']}/{mm[m]['pooled']['n']}" for m in mm
                        if mm[m]["pooled"]["alarm"]]},
        f"{pooled_txt('clt')}; {pooled_txt('cantelli')}; delta {delta}; worst cell CLT "
        f"{mm['clt']['worst_cell_rate']:.3f}, Cantelli {mm['cantelli']['worst_cell_rate']:.3f}; per-cell alarm "
        f"needs rate >= {min(power.values()):.3f}..{max(power.values()):.3f}")

    # ---- row "T2-pbeat": the normal approximation of P(CWMP beats Top-K), at every d
    pcells = [{"setting": k, "d": r["d"], "beats": r["beats"], "n": r["reps"], "approx": r["p_beat_normal_approx"],
               "p_tie": r["p_tie"], "d_mean_gap": r["mean_gap"]["mean"] * r["d"],
               "d_mean_gap_se": r["mean_gap"]["se"] * r["d"], "d_gap_theory": out[k]["gap_theory"] * r["d"]}
              for k in T2_FINITE for r in out[k]["rows"]]
    pb = pbeat_assessment(pcells)
    pstatus = t2_pbeat_status(pb)
    withdrawn = pstatus == "failed"
    excl = pb["excluded"]

    def cell_txt(c: dict) -> str:
        return f"{c['setting']} d={_fmt_d(c['d'])} MC {c['p_beat']:.3f} vs approx {c['approx']:.5g}"

    max_d = {k: out[k]["rows"][-1] for k in T2_FINITE}
    all_beat_at_max_d = all(r["beats"] == r["reps"] for r in max_d.values())
    max_tie = max(pcells, key=lambda c: c["p_tie"])
    a2 = {k: influence_moments(out[k]["beta"], settings[k][0], settings[k][1]).a ** 2 for k in ("D", "E")}
    pbeat = ClaimResult(
        "T2-pbeat", "the delta-method normal approximation Phi(sqrt(d) (r_C - r_T) / sd(psi_C - psi_T)) predicts "
        "P(CWMP retains strictly more than budget-mode Top-K at equal energy) at finite d",
        f"Monte Carlo P(beat) in every (setting, d) cell of T2 (A, B, D, E); the approximation fails in a cell when "
        f"it lies outside the exact Clopper-Pearson {T2_PBEAT_CONF * 100:g} % interval of MC "
        "(95 % intervals reported)",
        pstatus,
        {"sub_results": pb["sub_results"], "failed_sub_results": failed_sub_results(pb["sub_results"]),
         "withdrawn": withdrawn,
         "withdrawal": ("the normal approximation is WITHDRAWN as a finite-d predictor: Monte Carlo excludes it in "
                        f"{len(excl)}/{len(pb['cells'])} cells. No corrected predictor is given. A correct one would "
                        f"have to model ties (identical selections: P(tie) up to {max_tie['p_tie']:.2f}, {max_tie['setting']} "
                        f"d={_fmt_d(max_tie['d'])}), the break items' "
                        "unused budget (each greedy loses up to ~a^2 c/d, correlated between the two through their "
                        "shared prefix) and the resulting O(1/d) bias of the mean gap (measured d*E[gap] vs "
                        "d*(r_C - r_T) in the cells)") if withdrawn else "",
         "cells": pb["cells"], "excluded": excl,
         "mc_at_max_d": {k: {"d": r["d"], "beats": r["beats"], "n": r["reps"], "ci95": r["p_beat_ci95_exact"]}
                         for k, r in max_d.items()},
         "limit_note": "P(beat) -> 1 as d -> oo is argued from T1's strictly positive gap and T2's O(d^-1/2) "
                       "fluctuations, not tested (Monte Carlo cannot test a limit); at the largest d "
                       + ("every replicate of every setting beat Top-K (consistent with it): "
                          if all_beat_at_max_d else "NOT every replicate beat Top-K: ")
                       + ", ".join(f"{k} {r['beats']}/{r['reps']} at d={_fmt_d(r['d'])}" for k, r in max_d.items()),
         "problems": [cell_txt(c) for c in excl],
         "p_beat_note": "The delta-method normal approximation ignores ties and the O(1/d) one-item granularity "
                        "(each greedy leaves part of the budget unused at its break item, worth up to ~a^2 c/d); at "
                        "small CV the gap r_C - r_T ~ CV^2 is of that order for a long way: d (r_C - r_T) vs a^2 = "
                        + ", ".join(f"{k} {a2[k]:.2f}" for k in a2) + ": "
                        + "; ".join(f"{c['setting']} d={_fmt_d(c['d'])} {c['d_gap_theory']:.3g}"
                                    for c in pcells if c["setting"] in a2)
                        + " (each cell in `cells`, with the measured d E[gap] +- SE beside it). Where it is small, "
                        "P(beat) lags the approximation and Top-K can win more often than not while CWMP still "
                        "wins on average (mean gap > 0)"},
        (f"{'WITHDRAWN: ' if withdrawn else ''}MC excludes the approximation in {len(excl)}/{len(pb['cells'])} "
         "cells: " + "; ".join(cell_txt(c) for c in excl[:6]) + ("; ..." if len(excl) > 6 else "")
         + "; MC at max d: " + ", ".join(f"{k} {r['beats']}/{r['reps']}" for k, r in max_d.items())))

    fig8 = {"figure": 8, "description": "P(CWMP retains strictly more than budget-mode Top-K at the same budget) vs d; "
            "Monte Carlo with Wilson 95% CI and the delta-method normal approximation",
            "normal_approx_status": "withdrawn" if withdrawn else "verified",
            "normal_approx_label": ("normal approximation (fails at finite d, see report)" if withdrawn
                                    else "normal approximation (CLT)"),
            "series": []}
    agree = {(c["setting"], c["d"]): c["approx_inside_ci"] for c in pb["cells"]}
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
            "normal_approx_inside_ci": [agree[(key, r["d"])] for r in e["rows"]],
            "d_fine": d_fine.tolist(),
            "normal_approx_fine": [prob_cwmp_beats_topk(int(d), e["beta"], dist, cost) for d in d_fine]})
    return [rate, coverage, pbeat], fig8, {"t2_settings": out}

# --------------------------------------------------------------------------- T3
def check_t3(rng: np.random.Generator, sz: Sizes, frac: float = 0.1, symbolic=None) -> tuple[ClaimResult, dict]:
    t0 = time.perf_counter()
    from .symbolic import t3_two_point

    sym = symbolic if symbolic is not None else t3_two_point()
    dist = "gaussian"
    series_def = (("two-point p=0.2", lambda cv: TwoPoint.from_cv(cv, 0.2), sz.t3_cvs_p02, 1.99),
                  ("two-point p=0.5", lambda cv: TwoPoint.from_cv(cv, 0.5), sz.t3_cvs_p05, 0.995),
                  ("lognormal", lambda cv: LogNormal.from_cv(cv), sz.t3_cvs_ln, 3.0))
    series, worst_z, worst_rel, problems = [], 0.0, 0.0, []
    mc_ok = small_ok = True
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
                mc_ok = False
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
            small_ok = False
            problems.append(f"{label}: small-CV coefficient {intercept:.5f} vs {kappa:.5f}")
    # "grows with the CV": the closed form is non-decreasing on every series' fine CV grid (1e-12: root finds)
    mono = {s["label"]: all(b >= a - 1e-12 for a, b in zip(s["closed_form_fine"], s["closed_form_fine"][1:]))
            for s in series}
    if not all(mono.values()):
        problems.append(f"closed form not non-decreasing in the CV: {[k for k, v in mono.items() if not v]}")
    sub = {"mc_matches_closed_form": mc_ok, "small_cv_coefficient": small_ok, "ratio_1_at_cv0": at0 <= 1e-12,
           "sympy_derivation": bool(sym.passed), "monotone_in_cv": all(mono.values())}
    fig7 = {"figure": 7, "description": "efficiency ratio eta_CWMP/eta_TopK at equal energy vs cost CV: closed form "
            "(two-point: explicit erfc forms + one root; lognormal: 1-D integral + root), its small-CV law "
            "1 + kappa CV^2, and Monte Carlo (mean, SE, 95% CI)",
            "dist": dist, "budget_fraction": frac, "d": sz.t3_d, "reps": sz.t3_reps, "kappa": kappa, "series": series}
    res = ClaimResult(
        "T3", "eta_CWMP/eta_TopK grows with the cost CV from 1 at CV=0; two-point closed form; "
        "gain = a^3 f(a)/(4 M2(a)) CV^2 + O(CV^3)",
        f"sympy (closed form, CV=0 identity, second-order expansion for every two-point shape) + scipy quadrature; "
        f"Monte Carlo d={sz.t3_d}, {sz.t3_reps} reps per CV, k={K_SE:g} SE and 3% rel., beta={frac:g} E[c], gaussian g; "
        "'grows with the CV': closed form non-decreasing on a 60-point CV grid per series",
        t3_status(sub),
        {"sub_results": sub, "failed_sub_results": failed_sub_results(sub),
         "symbolic": sym.as_dict(), "ratio_minus_1_at_cv0": at0, "small_cv": small,
         "monotone_in_cv": all(mono.values()), "monotone_in_cv_by_series": mono,
         "worst_z": worst_z, "worst_rel_err": worst_rel, "problems": problems,
         "max_ratio": {s["label"]: max(s["closed_form_fine"]) for s in series},
         "seconds": round(time.perf_counter() - t0, 2)},
        f"MC vs closed form: worst z={worst_z:.2f}, rel {worst_rel:.1e}; kappa={kappa:.4f}; ratio at max CV: "
        + ", ".join(f"{s['label']} {s['closed_form_fine'][-1]:.3f}" for s in series))
    return res, fig7


def t3_status(sub_results: dict[str, bool]) -> str:
    return status_of(sub_results, "verified_montecarlo")
