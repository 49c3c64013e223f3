"""Summary of a preset's finished runs: final accuracy and total energy per method and sparsity.

``cwmp fl --preset paper --summary`` groups the complete runs of
``<results>/fl/<preset>/`` by (method, mode, sparsity), averages over seeds
(mean, sample std, min, max), flags the accuracy-energy Pareto frontier,
compares every other method with Top-K seed by seed (same seed = same
partition and initial model, so the paired difference removes most of the
seed-to-seed spread), and writes ``summary.json`` and ``summary.md`` next to
the runs.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from .config import FLConfig
from .dataset import JPEG_CAVEAT
from .run import RECONSTRUCTION_NOTE

_ORDER = {"dense": 0, "topk": 1, "cwmp-l2": 2, "cwmp-paper": 3, "random-k": 4}


class SummaryError(ValueError):
    """Runs that cannot be pooled or paired (their configs differ outside the sweep axes)."""


F1_PRESET = "paper"  # the sweep F1's rule is stated for (docs/THEORY.md section 6)
REPRODUCTION_FILE = "reproduction.json"  # written by scripts/check_reproduction.py --record


def proven_classes(path: Path) -> dict[str, tuple[str, str]]:
    """platform -> (cpu_model, torch_cpu_capability), from bitwise reproduction checks.

    A committed run whose env.json names only its platform gets the numeric class of
    a machine that recomputed its first rounds bit for bit. Only checks that matched
    count; a platform reproduced on two different classes is left unknown.
    A missing file means no checks; a corrupt one raises SummaryError naming it.
    """
    if not path.exists():
        return {}
    try:
        checks = json.loads(path.read_text())["checks"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise SummaryError(f"{path}: not a reproduction record ({e})") from None
    seen: dict[str, set] = {}
    for chk in checks:
        cls = (chk["machine"].get("cpu_model"), chk["machine"].get("torch_cpu_capability"))
        if not all(cls):
            continue
        for r in chk["runs"]:
            if r["identical"] and r.get("committed_platform"):
                seen.setdefault(r["committed_platform"], set()).add(cls)
    return {plat: next(iter(c)) for plat, c in seen.items() if len(c) == 1}


def collect(preset_dir: Path) -> tuple[list[dict], list[str]]:
    """(complete metrics dicts, ids of runs present but not complete).

    Each metrics dict gets ``_env``: the run's env.json (machine facts), or {};
    and ``_proven_classes``: what the preset's reproduction.json proves about
    machines whose env.json predates the numeric-class fields.
    """
    done, partial = [], []
    proven = proven_classes(Path(preset_dir) / REPRODUCTION_FILE)
    for p in sorted(Path(preset_dir).glob("*/metrics.json")):
        try:
            m = json.loads(p.read_text())
        except (OSError, ValueError):
            partial.append(p.parent.name)
            continue
        if m.get("complete"):
            try:
                m["_env"] = json.loads((p.parent / "env.json").read_text())
            except (OSError, ValueError):
                m["_env"] = {}
            m["_proven_classes"] = proven
            done.append(m)
        else:
            partial.append(p.parent.name)
    return done, partial


def _fixed_part(m: dict) -> dict:
    """What must agree between runs that are pooled or paired: the config less the sweep axes, and the data."""
    from .config import SWEEP_AXES, FLConfig

    ident = FLConfig.from_dict(m["config"]).identity()
    for k in SWEEP_AXES:
        ident.pop(k, None)
    ident["dataset_sha256"] = (m.get("dataset") or {}).get("sha256")
    return ident


def check_compatible(runs: list[dict], where: str = "") -> None:
    """Raise SummaryError naming every field on which the runs differ outside the sweep axes."""
    if len(runs) < 2:
        return
    fixed = [_fixed_part(m) for m in runs]
    keys = sorted(set().union(*fixed))
    diffs = []
    for k in keys:
        vals: dict[str, list[str]] = defaultdict(list)
        for m, f in zip(runs, fixed):
            vals[json.dumps(f.get(k), sort_keys=True)].append(m.get("run_id") or FLConfig.from_dict(m["config"]).run_id)
        if len(vals) > 1:
            parts = "; ".join(f"{v} ({len(ids)} run{'s' if len(ids) > 1 else ''}, e.g. {ids[0]})"
                              for v, ids in sorted(vals.items(), key=lambda kv: -len(kv[1])))
            diffs.append(f"{k} = {parts}")
    if diffs:
        raise SummaryError(f"runs{' under ' + where if where else ''} differ outside the sweep axes "
                           f"(method, mode, sparsity, seed), so they are not pooled or paired: "
                           + " | ".join(diffs) + "; put differing runs under separate --tag folders")


LAST_N = 5  # rounds averaged for the "last-5" accuracy: non-IID FedAvg accuracy moves ~1 point round to round


def _last_n_acc(m: dict, n: int = LAST_N) -> float | None:
    """Mean test accuracy over the last ``n`` rounds (None when the per-round list is absent)."""
    accs = [r["test_acc"] for r in m.get("rounds", [])][-n:]
    return float(np.mean(accs)) if accs else None


def _stats(xs: list[float]) -> dict:
    """Mean, sample std (None for one value: no spread to report), min, max, n."""
    a = np.asarray(xs, dtype=float)
    return {"mean": float(a.mean()), "std": float(a.std(ddof=1)) if len(a) > 1 else None,
            "min": float(a.min()), "max": float(a.max()), "n": int(a.size)}


def _spread(s: dict, scale: float = 1.0, fmt: str = ".4f") -> str:
    """'+- std', or '(n = 1, no spread)' for a single value."""
    return f"+- {scale * s['std']:{fmt}}" if s.get("std") is not None else "(n = 1, no spread)"


def summarize(runs: list[dict]) -> list[dict]:
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for m in runs:
        c = m["config"]
        groups[(c["method"], c["mode"], float(c["sparsity"]))].append(m)
    dense_e = [m["total_energy_J"] for (meth, _, _), ms in groups.items() if meth == "dense" for m in ms]
    dense_mean = float(np.mean(dense_e)) if dense_e else None
    rows = []
    for (method, mode, rho), ms in groups.items():
        ms = sorted(ms, key=lambda m: m["config"]["seed"])
        energy = _stats([m["total_energy_J"] for m in ms])
        rows.append({
            "method": method,
            "mode": mode,
            "sparsity": rho,
            "seeds": [m["config"]["seed"] for m in ms],
            "rounds": sorted({m["rounds_done"] for m in ms}),
            "final_test_acc": _stats([m["final_test_acc"] for m in ms]),
            "best_test_acc": _stats([m["best_test_acc"] for m in ms]),
            "last5_test_acc": (_stats(last) if None not in (last := [_last_n_acc(m) for m in ms]) else None),
            "total_energy_J": energy,
            "energy_vs_dense": energy["mean"] / dense_mean if dense_mean else None,
            "total_bytes": _stats([m["total_bytes"] for m in ms]),
            "wall_s_per_round": _stats([m["wall_s_per_round_mean"] for m in ms]),
            "cpu_s_per_round": (_stats([m["cpu_s_per_round_mean"] for m in ms])
                                if all(m.get("cpu_s_per_round_mean") is not None for m in ms) else None),
            "profile": ms[0]["cost_model"]["profile"],
            "cost_cv": ms[0]["cost_model"]["cost_cv"],
        })
    for r in rows:  # Pareto frontier on (mean final accuracy up, mean total energy down)
        a, e = r["final_test_acc"]["mean"], r["total_energy_J"]["mean"]
        r["pareto"] = not any(
            (o["final_test_acc"]["mean"] >= a and o["total_energy_J"]["mean"] <= e)
            and (o["final_test_acc"]["mean"] > a or o["total_energy_J"]["mean"] < e)
            for o in rows if o is not r)
    rows.sort(key=lambda r: (_ORDER.get(r["method"], 9), r["method"], r["mode"] != "count", r["sparsity"]))
    return rows


INTERPOLANTS = ("linear", "pchip")
# The matched-energy column of the table: linear in log energy (the committed
# README numbers use it). Over a concave accuracy-energy curve a chord lies below
# the curve, which slightly favours the method compared; the shape-preserving
# PCHIP interpolant (scipy) is reported beside it as the check.
TABLE_INTERPOLANT = "linear"


def _interp_log_energy(points: list[tuple[float, float]], energy: float, kind: str = "linear") -> float | None:
    """Accuracy of the curve through ``points`` (in log energy) at ``energy``; None outside their range.

    ``kind``: ``linear`` (piecewise linear in log energy) or ``pchip``
    (scipy's monotone cubic PchipInterpolator in log energy).
    """
    pts = sorted(points)
    if len(pts) < 2 or not pts[0][0] <= energy <= pts[-1][0]:
        return None
    le = np.log([e for e, _ in pts])
    acc = [a for _, a in pts]
    if kind == "linear":
        return float(np.interp(np.log(energy), le, acc))
    if kind == "pchip":
        from scipy.interpolate import PchipInterpolator

        return float(PchipInterpolator(le, acc)(np.log(energy)))
    raise ValueError(f"interpolant must be one of {INTERPOLANTS}, got {kind!r}")


def compare_to_topk(runs: list[dict]) -> list[dict]:
    """Seed-paired comparison of every non-dense, non-Top-K group with Top-K.

    * ``d_final_acc`` / ``d_last5_acc``: accuracy minus Top-K's (count mode, same
      sparsity, same seed). In budget mode each round's budget is the energy Top-K
      would spend on that run's own update, so that Top-K run is the natural pair.
    * ``energy_ratio``: total energy over that Top-K run's.
    * ``d_acc_matched_energy``: accuracy minus Top-K's accuracy *at the same total
      energy*, read off the same seed's Top-K curve over all swept sparsities
      (linear in log energy); None when the energy lies outside that curve. This is
      the accuracy-energy Pareto comparison the paper's claim is about.
    """
    topk: dict[tuple[int, float], dict] = {}
    for m in runs:
        c = m["config"]
        if c["method"] == "topk" and c["mode"] == "count":
            topk[(c["seed"], float(c["sparsity"]))] = m
    curves: dict[int, list[tuple[float, float]]] = defaultdict(list)
    for (seed, _), m in topk.items():
        curves[seed].append((m["total_energy_J"], m["final_test_acc"]))
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for m in runs:
        c = m["config"]
        if c["method"] not in ("dense", "topk"):
            groups[(c["method"], c["mode"], float(c["sparsity"]))].append(m)
    out = []
    for (method, mode, rho), ms in groups.items():
        pairs = [(m, topk[(m["config"]["seed"], rho)]) for m in sorted(ms, key=lambda m: m["config"]["seed"])
                 if (m["config"]["seed"], rho) in topk]
        if not pairs:
            continue
        last = [(_last_n_acc(a), _last_n_acc(b)) for a, b in pairs]

        def matched_for(kind: str) -> list[float | None]:
            return [(a["final_test_acc"] - ref) if (ref := _interp_log_energy(
                curves[a["config"]["seed"]], a["total_energy_J"], kind)) is not None else None for a, _ in pairs]

        matched = matched_for("linear")
        matched_p = matched_for("pchip")
        out.append({
            "method": method, "mode": mode, "sparsity": rho,
            "seeds": [a["config"]["seed"] for a, _ in pairs],
            "d_final_acc": _stats([a["final_test_acc"] - b["final_test_acc"] for a, b in pairs]),
            "d_final_acc_pts": [100.0 * (a["final_test_acc"] - b["final_test_acc"]) for a, b in pairs],
            "d_last5_acc": (_stats([x - y for x, y in last]) if all(None not in t for t in last) else None),
            "energy_ratio": _stats([a["total_energy_J"] / b["total_energy_J"] for a, b in pairs]),
            "d_acc_matched_energy": (_stats([x for x in matched if x is not None])
                                     if any(x is not None for x in matched) else None),
            "d_acc_matched_energy_pchip": (_stats([x for x in matched_p if x is not None])
                                           if any(x is not None for x in matched_p) else None),
            "matched_energy_seeds": sum(x is not None for x in matched),
        })
    out.sort(key=lambda r: (_ORDER.get(r["method"], 9), r["method"], r["mode"] != "count", r["sparsity"]))
    return out


def _pm(s: dict | None, scale: float = 1.0, fmt: str = "+.2f") -> str:
    return "-" if s is None else f"{scale * s['mean']:{fmt}} {_spread(s, scale, '.2f')}"


def format_markdown(rows: list[dict], runs: list[dict], partial: list[str], preset: str,
                    paired: list[dict] | None = None) -> str:
    lines = [f"# FL sweep `{preset}`: final accuracy and total energy", ""]
    if runs:
        c = runs[0]["config"]
        cm = runs[0]["cost_model"]
        lines += [
            f"Model {c['model']} ({cm['d']} parameters), {c['n_clients']} clients, Dirichlet alpha={c['alpha']}, "
            f"{c['rounds']} rounds x {c['local_epochs']} local epochs (batch {c['batch_size']}, lr {c['lr']}, "
            f"momentum {c['momentum']}), error feedback {'on' if c['error_feedback'] else 'off'}. "
            f"Energy profile `{cm['profile']}` (cost CV {cm['cost_cv']:.4g}). "
            f"Mean +- sample std over seeds; * = on the accuracy-energy Pareto frontier of the means.",
            "",
        ]
        if runs[0]["dataset"].get("caveat"):
            lines += [f"Data: {JPEG_CAVEAT}", ""]
    lines += [f"{RECONSTRUCTION_NOTE}", "",
              "| method | mode | sparsity | seeds | final acc | last-5 acc | total energy (J) | vs dense | MB sent "
              "| s/round (wall) | CPU s/round |",
              "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        acc, en = r["final_test_acc"], r["total_energy_J"]
        cpu = f"{r['cpu_s_per_round']['mean']:.1f}" if r["cpu_s_per_round"] else "-"
        rel = f"{100 * r['energy_vs_dense']:.2f} %" if r["energy_vs_dense"] is not None else "-"
        l5 = r.get("last5_test_acc")
        l5s = f"{l5['mean']:.4f} {_spread(l5)}" if l5 else "-"
        lines.append(
            f"| {r['method']}{' *' if r['pareto'] else ''} | {r['mode']} | {r['sparsity']:g} | {len(r['seeds'])} | "
            f"{acc['mean']:.4f} {_spread(acc)} | {l5s} | {en['mean']:.4g} {_spread(en, fmt='.2g')} | {rel} | "
            f"{r['total_bytes']['mean'] / 1e6:.2f} | {r['wall_s_per_round']['mean']:.1f} | {cpu} |")
    if paired:
        lines += ["", "## Against Top-K, seed by seed", "",
                  "Differences in accuracy points (mean +- sample std over the paired seeds). Same sparsity: the "
                  "Top-K run with the same seed and sparsity (budget mode spends, each round, what Top-K at that sparsity "
                  "would spend on the same update). "
                  "At matched energy: Top-K's accuracy at the same total energy, interpolated in log energy "
                  "on that seed's Top-K runs over all swept sparsities; '-' when outside them. The column the "
                  f"verdicts quote uses the {TABLE_INTERPOLANT} interpolant; the shape-preserving PCHIP "
                  "interpolant is beside it (a chord under a concave curve slightly favours the method compared). "
                  "A gap inside the seed spread is not a win.", "",
                  "| method | mode | sparsity | seeds | d final acc (pts) | d last-5 acc (pts) | energy / Top-K "
                  "| d acc at matched energy, linear (pts) | same, PCHIP (pts) |",
                  "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
        for r in paired:
            er = r["energy_ratio"]
            me = r["d_acc_matched_energy"]
            n_me = r["matched_energy_seeds"]  # _pm already says "n = 1" for a single seed
            mes = (_pm(me, 100) + (f" (n={n_me})" if n_me > 1 else "")) if me else "-"
            mep = _pm(r.get("d_acc_matched_energy_pchip"), 100)
            lines.append(
                f"| {r['method']} | {r['mode']} | {r['sparsity']:g} | {len(r['seeds'])} | {_pm(r['d_final_acc'], 100)} "
                f"| {_pm(r['d_last5_acc'], 100)} | {er['mean']:.3f} {_spread(er, fmt='.3f')} "
                f"| {mes} | {mep} |")
    if partial:
        lines += ["", f"Not complete (left out): {', '.join(sorted(partial))}"]
    return "\n".join(lines) + "\n"


def _ci(x: list | None, fmt: str = "+.2f") -> str:
    return "-" if not x else f"[{x[0]:{fmt}}, {x[1]:{fmt}}]"


def format_verdict(claims: list[dict], targets: list[dict], gve: list[dict]) -> str:
    """Markdown: the F1 rows, energy to target accuracy, greedy vs exact on the real updates."""
    from .verdict import F1_RULE

    lines = []
    if claims:
        lines += ["", "## F1 at matched energy (docs/THEORY.md section 6)", "", F1_RULE, "",
                  "| claim | status | sparsity | pairs | seeds | mean d (pts) | 95 % t-interval | 95 % bootstrap "
                  "| energy ratio | cross-machine pairs |",
                  "|---|---|---:|---:|---|---:|---:|---:|---:|---:|"]
    for c in claims:
        st = c["status"] + ("" if c["complete"] else f" (interim: {c['interim_status']})")
        for e in c["levels"]:
            dm = "-" if e["delta_mean_pts"] is None else f"{e['delta_mean_pts']:+.2f}"
            er = "-" if e["energy_ratio"] is None else f"{e['energy_ratio']:.4f}"
            flag = f" (outside 2 %: seeds {e['energy_ratio_outside_2pct']})" if e["energy_ratio_outside_2pct"] else ""
            lines.append(f"| {c['id']} | {st} | {e['sparsity']:g} | {e['n_pairs']} | "
                         f"{','.join(map(str, e['seeds'])) or '-'} | {dm} | {_ci(e['ci95_pts'])} | "
                         f"{_ci(e['bootstrap95_pts'])} | {er}{flag} | {e['cross_machine_pairs']} |")
        if c.get("note"):
            lines += ["", f"{c['id']}: {c['note']}."]
    if targets:
        lines += ["", "## Energy to a target test accuracy", "",
                  "Cumulative energy at the first round whose test accuracy reaches the target: median over seeds "
                  "(a seed that never reaches it counts as infinite, so '-' when half or more never do), range over "
                  "the seeds that reached it, and seeds reached / seeds.", "",
                  "| target | method | mode | sparsity | median (J) | range (J) | reached |",
                  "|---:|---|---|---:|---:|---:|---:|"]
        for t in targets:
            for r in t["rows"]:
                med = "-" if r["median_J"] is None else f"{r['median_J']:.4g}"
                rng = "-" if r["min_J"] is None else f"{r['min_J']:.3g} - {r['max_J']:.3g}"
                lines.append(f"| {100 * t['target_acc']:g} % | {r['method']} | {r['mode']} | {r['sparsity']:g} | "
                             f"{med} | {rng} | {r['n_reached']}/{r['n_seeds']} |")
        lines += ["", "Best over sparsity (the least median energy at which each method reaches the target):", "",
                  "| target | " + " | ".join(sorted({k for t in targets for k in t["best_over_sparsity"]})) + " |",
                  "|---:|" + "---:|" * len({k for t in targets for k in t["best_over_sparsity"]})]
        keys = sorted({k for t in targets for k in t["best_over_sparsity"]})
        for t in targets:
            b = t["best_over_sparsity"]
            cells = [f"{b[k]['median_J']:.4g} J at {b[k]['sparsity']:g}" if k in b else "never" for k in keys]
            lines.append(f"| {100 * t['target_acc']:g} % | " + " | ".join(cells) + " |")
    if gve:
        lines += ["", "## Greedy vs exact on the real updates (budget mode, C9 cost-class solver)", "",
                  "Per client-round, P solved exactly for the same update and budget (solvers core); "
                  "value ratio = greedy / exact retained squared norm.", "",
                  "| method | sparsity | seeds | solves | proven | min ratio | mean ratio | max true gap "
                  "| mean certified gap | exact s (median) |",
                  "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
        for g in gve:
            tg = "-" if g["true_gap_max"] is None else f"{g['true_gap_max']:.2e}"
            cg = "-" if g["certified_gap_mean"] is None else f"{g['certified_gap_mean']:.2e}"
            lines.append(f"| {g['method']} | {g['sparsity']:g} | {','.join(map(str, g['seeds']))} | {g['n_solves']} "
                         f"| {g['n_proven']} | {g['ratio_min']:.6f} | {g['ratio_mean']:.6f} | {tg} | {cg} "
                         f"| {g['exact_s_median']:.3f} |")
    return "\n".join(lines) + "\n"


def format_retained(rvt: list[dict], eas: list[dict] | None = None) -> str:
    """Markdown: measured eta_CWMP/eta_TopK per budget group; energy saved at Top-K's accuracy."""
    lines = []
    if eas:
        lines += ["", "## Energy saved at Top-K's final accuracy", "",
                  "Per seed: 1 - (the method's cumulative energy at the first round reaching the same-seed Top-K "
                  "run's final accuracy) / (that Top-K run's total energy); '-' where it never reaches it.", "",
                  "| method | sparsity | seeds | saving per seed (%) | mean (%) | 95 % t-interval (%) |",
                  "|---|---:|---|---|---:|---:|"]
        for e in eas:
            per = ", ".join("-" if x is None else f"{100 * x:+.1f}" for x in e["saving"])
            mean = "-" if e["saving_mean"] is None else f"{100 * e['saving_mean']:+.1f}"
            ci = "-" if not e["saving_ci95"] else f"[{100 * e['saving_ci95'][0]:+.1f}, {100 * e['saving_ci95'][1]:+.1f}]"
            lines.append(f"| {e['method']} | {e['sparsity']:g} | {','.join(map(str, e['seeds']))} | {per} "
                         f"| {mean} | {ci} |")
    if not rvt:
        return "\n".join(lines) + "\n" if lines else ""
    lines += ["", "## CWMP vs Top-K retained fraction on the same update at the same budget", "",
             "Per client-round, ||m.g||^2/||g||^2 of the method over Top-K's (its count-mode mask spends the "
             "budget): the efficiency ratio at equal energy; theory.linkcost gives the i.i.d. large-d prediction.",
             "", "| method | sparsity | cost CV | seeds | client-rounds | mean | median | 10-90 % | "
             "95 % t-interval of seed means |", "|---|---:|---:|---|---:|---:|---:|---:|---:|"]
    for r in rvt:
        cv = "-" if r["cost_cv"] is None else f"{r['cost_cv']:.3g}"
        lines.append(f"| {r['method']} | {r['sparsity']:g} | {cv} | {','.join(map(str, r['seeds']))} | "
                     f"{r['n_client_rounds']} | {r['ratio_mean']:.4f} | {r['ratio_median']:.4f} | "
                     f"{r['ratio_p10']:.4f} - {r['ratio_p90']:.4f} | {_ci(r['seed_mean_ci95'], '.4f')} |")
    return "\n".join(lines) + "\n"


def _cost_model(runs: list[dict]) -> dict | None:
    """The runs' energy profile (one per preset, check_compatible holds it fixed) and its link energy per bit."""
    cm = next((m["cost_model"] for m in runs if m.get("cost_model")), None)
    if not cm:
        return None
    c_tx = {v.get("c_tx_J") for v in cm.get("classes", {}).values()}
    bits = cm.get("bits_per_coordinate")
    e_bit = (c_tx.pop() / bits) if len(c_tx) == 1 and bits and None not in c_tx else None
    return {k: cm.get(k) for k in ("profile", "d", "cost_cv", "mean_cost_J", "bits_per_coordinate")} | {
        "energy_per_bit_J": e_bit}


def _public(m: dict) -> dict:
    return {k: v for k, v in m.items() if not k.startswith("_")}


def write_summary(results: Path, preset: str, tag: str = "") -> tuple[str, Path | None]:
    """Build, write (atomically) and return the markdown summary; None path when nothing is complete.

    Raises SummaryError when the complete runs differ outside the sweep axes.
    Writes ``summary.json``, ``summary.md`` and, when the folder holds budget-mode
    runs, ``claims.json`` (F1, F1-paper) next to the runs.
    """
    from solvers.io import atomic_write_json, atomic_write_text

    from .verdict import (energy_to_target_table, equal_accuracy_saving, f1_claims, greedy_vs_exact, retained_vs_topk,
                          trajectory_frontier)

    preset_dir = Path(results) / "fl" / (f"{preset}-{tag}" if tag else preset)
    runs, partial = collect(preset_dir)
    if not runs:
        return f"no complete run under {preset_dir}\n", None
    check_compatible(runs, str(preset_dir))
    rows = summarize(runs)
    paired = compare_to_topk(runs)
    has_budget = any(m["config"]["mode"] == "budget" for m in runs)
    # F1's rule (docs/THEORY.md section 6) is stated for the `paper` sweep: its levels
    # and five seeds. Other presets (paper-cv*, paper-ef, ...) map where it holds and
    # report the seed-paired comparisons only.
    claims = f1_claims(runs) if has_budget and preset == F1_PRESET and not tag else []
    targets = energy_to_target_table(runs)
    gve = greedy_vs_exact(runs)
    rvt = retained_vs_topk(runs)
    eas = equal_accuracy_saving(runs)
    # heading: the folder as written (smoke-flower, paper-cv0.10, ...), not the bare preset
    md = (format_markdown(rows, runs, partial, preset_dir.name, paired) + format_verdict(claims, targets, gve)
          + format_retained(rvt, eas))
    atomic_write_json(preset_dir / "summary.json", {
        "preset": preset, "rows": rows, "vs_topk": paired, "matched_energy_interpolant": TABLE_INTERPOLANT,
        "f1": claims, "energy_to_target": targets, "frontier": trajectory_frontier(runs),
        "cost_model": _cost_model(runs), "greedy_vs_exact": gve, "retained_vs_topk": rvt,
        "equal_accuracy_saving": eas, "incomplete": sorted(partial),
        "note": RECONSTRUCTION_NOTE})
    if claims:
        atomic_write_json(preset_dir / "claims.json", claims)
    atomic_write_text(preset_dir / "summary.md", md)
    return md, preset_dir / "summary.md"
