"""The FL verdict: claim F1 at matched energy, energy to a target accuracy, frontiers.

docs/THEORY.md section 6 fixes the rule (before the 5-seed data): at each level
rho, Delta = final test accuracy of CWMP in budget mode (each client-round spends
what Top-K's count-mode mask at rho would spend on the same update) minus that of
Top-K in count mode at rho, paired by seed; a 95 % Student-t interval of the mean
of Delta, a paired percentile bootstrap interval as a check; and one status per
CWMP score from the t-intervals at the four levels.

Everything here is a pure function of metrics dicts (``metrics.json`` of
complete runs, see run.py), so tests feed it hand-made runs.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Iterable, Sequence

import numpy as np

F1_LEVELS = (0.01, 0.05, 0.10, 0.20)
F1_SEEDS = (0, 1, 2, 3, 4)  # the rule's five seeds: a level with fewer pairs is an interim reading
F1_SCORES = (("F1", "cwmp-l2", "g^2/c"), ("F1-paper", "cwmp-paper", "|g|/c"))
TARGETS = (0.40, 0.45, 0.50, 0.55)  # test accuracies for "energy to target" (docs/THEORY.md section 6)
CONFIDENCE = 0.95
BOOTSTRAP_RESAMPLES = 10_000
BOOTSTRAP_SEED = 0
# A budget run's total energy must lie within this relative distance of its
# Top-K pair's (issue "The FL verdict"): the per-round budget equals Top-K's
# energy on the *same* update, so only the trajectories' drift separates them.
ENERGY_MATCH_RTOL = 0.02
STATUSES = ("reproduced", "partly_reproduced", "contradicted", "unresolved")
F1_STATEMENT = ("CWMP consistently establishes a superior performance-energy Pareto frontier compared to the "
                "Top-K baseline (non-IID CIFAR-10)")
F1_RULE = ("Per level rho in {1, 5, 10, 20} %: Delta = final test accuracy (pts) of CWMP in budget mode (each "
           "client-round spends Top-K's count-mode energy at rho on the same update) minus Top-K count mode at rho, "
           "paired by seed (seeds 0-4). 95 % Student-t interval of mean Delta. reproduced: every interval above 0; "
           "partly_reproduced: some above 0, none below; contradicted: any below 0; unresolved: otherwise "
           "(docs/THEORY.md section 6).")


# ------------------------------------------------------------------ intervals


def t_interval(xs: Sequence[float], confidence: float = CONFIDENCE) -> tuple[float, float] | None:
    """Student-t interval for the mean: mean +- t_{(1+conf)/2, n-1} * s / sqrt(n); None when n < 2."""
    from scipy import stats

    a = np.asarray(xs, dtype=float)
    if a.size < 2:
        return None
    half = float(stats.t.ppf(0.5 + confidence / 2, a.size - 1)) * float(a.std(ddof=1)) / math.sqrt(a.size)
    m = float(a.mean())
    return m - half, m + half


def bootstrap_interval(xs: Sequence[float], confidence: float = CONFIDENCE, n_resamples: int = BOOTSTRAP_RESAMPLES,
                       seed: int = BOOTSTRAP_SEED) -> tuple[float, float] | None:
    """Percentile bootstrap interval of the mean (scipy.stats.bootstrap, seeded); None when n < 2.

    The pairs are resampled whole (Delta is already the within-seed difference).
    """
    from scipy import stats

    a = np.asarray(xs, dtype=float)
    if a.size < 2:
        return None
    if np.all(a == a[0]):
        return float(a[0]), float(a[0])  # every resample has this mean
    res = stats.bootstrap((a,), np.mean, n_resamples=n_resamples, confidence_level=confidence,
                          method="percentile", rng=np.random.default_rng(seed))
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def f1_status(intervals: Iterable[tuple[float, float] | None]) -> str:
    """The rule of docs/THEORY.md section 6 on one score's per-level intervals (None = no interval)."""
    iv = list(intervals)
    if not iv:
        return "unresolved"
    above = [x is not None and x[0] > 0 for x in iv]
    below = [x is not None and x[1] < 0 for x in iv]
    if any(below):
        return "contradicted"
    if all(above):
        return "reproduced"
    if any(above):
        return "partly_reproduced"
    return "unresolved"


# -------------------------------------------------------------------- pairing


def _key(m: dict) -> tuple[str, str, float, int]:
    c = m["config"]
    return c["method"], c["mode"], round(float(c["sparsity"]), 9), int(c["seed"])


def numeric_class(env: dict, proven: dict[str, tuple[str, str]] | None = None) -> tuple | None:
    """The machine facts that decide a run's floating-point arithmetic.

    (cpu_model, torch_cpu_capability) when env.json records them: oneDNN/MKL pick
    their kernels by the CPU's vector ISA, and the kernel tag in ``platform`` names
    the VM, not the arithmetic. Older env.json files record only ``platform``; such a
    run gets the class of the machine that reproduced it bitwise (``proven``: platform
    -> class, from ``reproduction.json``), else ("platform", platform): unknown, equal
    only to runs from the same platform.
    """
    if not env:
        return None
    cpu, cap = env.get("cpu_model"), env.get("torch_cpu_capability")
    if cpu and cap:
        return cpu, cap
    plat = env.get("platform")
    if proven and plat in proven:
        return tuple(proven[plat])
    return "platform", plat


def _machine(m: dict) -> tuple | None:
    return numeric_class(m.get("_env") or {}, m.get("_proven_classes"))


def matched_pairs(runs: list[dict], method: str, rho: float) -> list[tuple[dict, dict]]:
    """(CWMP budget run, Top-K count run) at ``rho`` with the same seed, by seed."""
    by = {_key(m): m for m in runs}
    out = []
    for (meth, mode, s, seed), m in sorted(by.items(), key=lambda kv: kv[0][3]):
        if (meth, mode) == (method, "budget") and abs(s - rho) < 1e-9:
            ref = by.get(("topk", "count", round(rho, 9), seed))
            if ref is not None:
                out.append((m, ref))
    return out


def level_evidence(runs: list[dict], method: str, rho: float) -> dict:
    pairs = matched_pairs(runs, method, rho)
    delta = [100.0 * (a["final_test_acc"] - b["final_test_acc"]) for a, b in pairs]
    ratio = [a["total_energy_J"] / b["total_energy_J"] for a, b in pairs]
    t = t_interval(delta)
    boot = bootstrap_interval(delta)
    cross = sum(1 for a, b in pairs if _machine(a) != _machine(b))
    return {
        "sparsity": rho,
        "n_pairs": len(pairs),
        "seeds": [int(a["config"]["seed"]) for a, _ in pairs],
        "delta_pts": delta,
        "delta_mean_pts": float(np.mean(delta)) if delta else None,
        "delta_sd_pts": float(np.std(delta, ddof=1)) if len(delta) > 1 else None,
        "ci95_pts": list(t) if t else None,
        "bootstrap95_pts": list(boot) if boot else None,
        "energy_ratio": float(np.mean(ratio)) if ratio else None,
        "energy_ratios": ratio,
        "energy_ratio_outside_2pct": [int(a["config"]["seed"]) for (a, _), r in zip(pairs, ratio)
                                      if abs(r - 1.0) > ENERGY_MATCH_RTOL],
        # Pairs whose two runs ran on machines of different numeric class (CPU model
        # or ISA, see numeric_class): their float kernels round differently, so the pair
        # shares partition, init and data order but not the last bits
        # (docs/REPRODUCIBILITY.md).
        "cross_machine_pairs": cross,
    }


def f1_claims(runs: list[dict], levels: Sequence[float] = F1_LEVELS, seeds: Sequence[int] = F1_SEEDS) -> list[dict]:
    """F1 (g^2/c) and F1-paper (|g|/c): status, rule and per-level evidence.

    The rule is stated for five seeds. While a level has fewer pairs than
    ``seeds``, ``status`` is ``unresolved`` (sweep incomplete) and
    ``interim_status`` is the rule applied to the pairs at hand.
    """
    out = []
    for cid, method, score in F1_SCORES:
        ev = [level_evidence(runs, method, rho) for rho in levels]
        interim = f1_status(tuple(e["ci95_pts"]) if e["ci95_pts"] else None for e in ev)
        short = [e["sparsity"] for e in ev if e["n_pairs"] < len(seeds)]
        entry = {
            "id": cid,
            "statement": f"{F1_STATEMENT}; CWMP score {score} ({method})",
            "rule": F1_RULE,
            "status": interim if not short else "unresolved",
            "interim_status": interim,
            "complete": not short,
            "levels": ev,
        }
        if short:
            entry["note"] = (f"sweep incomplete: levels {', '.join(f'{100 * s:g} %' for s in short)} have fewer "
                             f"than {len(seeds)} seed pairs; interim_status applies the rule to the pairs at hand")
        out.append(entry)
    return out


# ------------------------------------------------------------ energy to target


def energy_to_target(rounds: list[dict], target: float) -> float | None:
    """Cumulative energy (J) at the first round whose test accuracy >= ``target``; None if never."""
    for r in rounds:
        if r["test_acc"] >= target:
            return float(r["cum_energy_J"])
    return None


def _group_label(m: dict) -> tuple[str, str]:
    c = m["config"]
    return c["method"], ("count" if c["method"] == "dense" else c["mode"])


def energy_to_target_table(runs: list[dict], targets: Sequence[float] = TARGETS) -> list[dict]:
    """Per target, method, mode and rho: median, range, seeds reached; and each method's best over rho.

    The median is over all seeds with "never reached" counted as +inf, so it is
    None when half or more of the seeds never reach the target.
    """
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for m in runs:
        meth, mode = _group_label(m)
        groups[(meth, mode, round(float(m["config"]["sparsity"]), 9))].append(m)
    out = []
    for t in targets:
        rows = []
        for (meth, mode, rho), ms in sorted(groups.items()):
            es = [energy_to_target(m.get("rounds", []), t) for m in sorted(ms, key=lambda m: m["config"]["seed"])]
            reached = [e for e in es if e is not None]
            med = float(np.median([math.inf if e is None else e for e in es]))
            rows.append({"method": meth, "mode": mode, "sparsity": rho, "n_seeds": len(es),
                         "n_reached": len(reached), "median_J": med if math.isfinite(med) else None,
                         "min_J": min(reached) if reached else None, "max_J": max(reached) if reached else None,
                         "per_seed_J": es})
        best = {}
        for r in rows:
            k = f"{r['method']}/{r['mode']}"
            if r["median_J"] is not None and (k not in best or r["median_J"] < best[k]["median_J"]):
                best[k] = {"sparsity": r["sparsity"], "median_J": r["median_J"], "n_reached": r["n_reached"],
                           "n_seeds": r["n_seeds"]}
        out.append({"target_acc": t, "rows": rows, "best_over_sparsity": best})
    return out


# ------------------------------------------------------------------ frontier


def envelope(points: Iterable[tuple[float, float]], grid: np.ndarray) -> np.ndarray:
    """Upper envelope: for each grid energy E, the best accuracy among points with energy <= E (NaN if none)."""
    pts = sorted(points)
    es = np.array([p[0] for p in pts], dtype=float)
    best = np.maximum.accumulate(np.array([p[1] for p in pts], dtype=float)) if pts else np.array([])
    idx = np.searchsorted(es, grid, side="right") - 1
    out = np.full(grid.shape, np.nan)
    ok = idx >= 0
    out[ok] = best[idx[ok]]
    return out


def trajectory_frontier(runs: list[dict], n_grid: int = 60) -> dict:
    """Per method (and mode): the upper envelope over its runs and rounds of (cumulative energy, test accuracy).

    Built per seed, then mean, min and max over the seeds on a common log-spaced
    energy grid (only where every seed has a point at or below that energy).
    """
    per: dict[str, dict[int, list[tuple[float, float]]]] = defaultdict(lambda: defaultdict(list))
    for m in runs:
        meth, mode = _group_label(m)
        for r in m.get("rounds", []):
            per[f"{meth}/{mode}"][int(m["config"]["seed"])].append((float(r["cum_energy_J"]), float(r["test_acc"])))
    all_e = [e for seeds in per.values() for pts in seeds.values() for e, _ in pts if e > 0]
    if not all_e:
        return {"energy_J": [], "methods": {}}
    grid = np.geomspace(min(all_e), max(all_e), n_grid)
    methods = {}
    for key, seeds in sorted(per.items()):
        env = np.vstack([envelope(pts, grid) for _, pts in sorted(seeds.items())])
        full = ~np.isnan(env).any(axis=0)

        def col(f):
            return [float(v) if ok else None for v, ok in zip(f(np.where(np.isnan(env), 0, env), axis=0), full)]

        methods[key] = {"n_seeds": int(env.shape[0]), "seeds": sorted(seeds), "mean": col(np.mean),
                        "min": col(np.min), "max": col(np.max)}
    return {"energy_J": [float(e) for e in grid], "methods": methods}


# ------------------------------------------------------- greedy vs exact (C9)


def _budget_groups(runs: list[dict]) -> dict[tuple[str, float], list[dict]]:
    """(method, rho) -> the budget-mode runs of that group."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for m in runs:
        c = m["config"]
        if c["mode"] == "budget":
            groups[(c["method"], round(float(c["sparsity"]), 9))].append(m)
    return groups


def greedy_vs_exact(runs: list[dict]) -> list[dict]:
    """Per budget-mode (method, rho): the logged greedy/exact value ratio on the real updates.

    Reads each client-round's ``exact`` record (cfg.exact_reference). Per round:
    mean and min over seeds and clients; overall: min, mean, proofs, gaps, time.
    """
    groups = _budget_groups(runs)
    out = []
    for (meth, rho), ms in sorted(groups.items()):
        by_round: dict[int, list[dict]] = defaultdict(list)
        for m in ms:
            for r in m.get("rounds", []):
                for cl in r.get("clients", []):
                    if cl.get("exact"):
                        by_round[int(r["round"])].append(cl["exact"])
        recs = [e for v in by_round.values() for e in v]
        if not recs:
            continue
        ratios = np.array([e["value_ratio"] for e in recs])
        gaps = [e["true_gap"] for e in recs if e.get("true_gap") is not None]
        cert = [e["certified_gap"] for e in recs if e.get("certified_gap") is not None]
        rounds = sorted(by_round)
        out.append({
            "method": meth, "sparsity": rho,
            "seeds": sorted({int(m["config"]["seed"]) for m in ms if any(cl.get("exact") for r in m.get("rounds", [])
                                                                         for cl in r.get("clients", []))}),
            "rounds": rounds,
            "ratio_mean_by_round": [float(np.mean([e["value_ratio"] for e in by_round[r]])) for r in rounds],
            "ratio_min_by_round": [float(np.min([e["value_ratio"] for e in by_round[r]])) for r in rounds],
            "n_solves": len(recs),
            "n_proven": int(sum(bool(e.get("proven")) for e in recs)),
            "ratio_min": float(ratios.min()),
            "ratio_mean": float(ratios.mean()),
            "true_gap_max": float(max(gaps)) if gaps else None,
            "certified_gap_mean": float(np.mean(cert)) if cert else None,
            "certified_gap_max": float(np.max(cert)) if cert else None,
            "exact_s_median": float(np.median([e["seconds"] for e in recs])),
        })
    return out


def retained_vs_topk(runs: list[dict]) -> list[dict]:
    """Per budget-mode (method, rho): the measured eta_CWMP/eta_TopK on the real updates.

    Reads each client-round's ``retained_frac`` and ``topk_retained_frac`` (Top-K's
    count-mode mask on the same update spends the budget, so the ratio of the two
    retained fractions is the efficiency ratio at equal energy that theory.linkcost
    predicts for i.i.d. g). Runs made before the field existed contribute nothing.
    Over client-rounds: mean, median, 10th/90th percentile; over seeds: the
    per-seed means and a 95 % t-interval of their mean.
    """
    groups = _budget_groups(runs)
    out = []
    for (meth, rho), ms in sorted(groups.items()):
        per_seed: dict[int, list[float]] = {}
        by_round: dict[int, list[float]] = defaultdict(list)
        for m in ms:
            xs = []
            for r in m.get("rounds", []):
                for cl in r.get("clients", []):
                    t = cl.get("topk_retained_frac")
                    if t:
                        x = cl["retained_frac"] / t
                        xs.append(x)
                        by_round[int(r["round"])].append(x)
            if xs:
                per_seed[int(m["config"]["seed"])] = xs
        if not per_seed:
            continue
        allx = np.array([x for xs in per_seed.values() for x in xs])
        seed_means = [float(np.mean(per_seed[s])) for s in sorted(per_seed)]
        t = t_interval(seed_means)
        cv = {(m.get("cost_model") or {}).get("cost_cv") for m in ms}
        out.append({
            "method": meth, "sparsity": rho, "seeds": sorted(per_seed),
            "cost_cv": cv.pop() if len(cv) == 1 else None,
            "n_client_rounds": int(allx.size),
            "ratio_mean": float(allx.mean()), "ratio_median": float(np.median(allx)),
            "ratio_p10": float(np.quantile(allx, 0.10)), "ratio_p90": float(np.quantile(allx, 0.90)),
            "ratio_min": float(allx.min()),
            "seed_means": seed_means, "seed_mean_ci95": list(t) if t else None,
            "rounds": sorted(by_round),
            "ratio_mean_by_round": [float(np.mean(by_round[r])) for r in sorted(by_round)],
        })
    return out


def equal_accuracy_saving(runs: list[dict]) -> list[dict]:
    """Per budget-mode (method, rho): the energy saved, seed by seed, to reach Top-K's accuracy.

    For each pair (that run, Top-K count at rho, same seed): the target is Top-K's
    final test accuracy; ``E`` is the method's cumulative energy at the first round
    that reaches it (energy_to_target); saving = 1 - E / (Top-K's total energy).
    None when the method never reaches it (counted in ``n_reached``). Read with the
    seed spread: a single round's accuracy is noisy, so is its first crossing.
    """
    out = []
    groups = sorted({(m["config"]["method"], round(float(m["config"]["sparsity"]), 9)) for m in runs
                     if m["config"]["mode"] == "budget"})
    for meth, rho in groups:
        pairs = matched_pairs(runs, meth, rho)
        if not pairs:
            continue
        per = []
        for a, b in pairs:
            e = energy_to_target(a.get("rounds", []), float(b["final_test_acc"]))
            per.append(None if e is None else 1.0 - e / float(b["total_energy_J"]))
        got = [x for x in per if x is not None]
        out.append({"method": meth, "sparsity": rho, "seeds": [int(a["config"]["seed"]) for a, _ in pairs],
                    "saving": per, "n_reached": len(got),
                    "saving_mean": float(np.mean(got)) if got else None,
                    "saving_ci95": (list(t) if (t := t_interval(got)) and len(got) == len(per) else None)})
    return out
