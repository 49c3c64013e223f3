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

from .dataset import JPEG_CAVEAT
from .run import RECONSTRUCTION_NOTE

_ORDER = {"dense": 0, "topk": 1, "cwmp-l2": 2, "cwmp-paper": 3, "random-k": 4}


def collect(preset_dir: Path) -> tuple[list[dict], list[str]]:
    """(complete metrics dicts, ids of runs present but not complete)."""
    done, partial = [], []
    for p in sorted(Path(preset_dir).glob("*/metrics.json")):
        try:
            m = json.loads(p.read_text())
        except (OSError, ValueError):
            partial.append(p.parent.name)
            continue
        (done if m.get("complete") else partial).append(m if m.get("complete") else p.parent.name)
    return done, partial


LAST_N = 5  # rounds averaged for the "last-5" accuracy: non-IID FedAvg accuracy moves ~1 point round to round


def _last_n_acc(m: dict, n: int = LAST_N) -> float | None:
    """Mean test accuracy over the last ``n`` rounds (None when the per-round list is absent)."""
    accs = [r["test_acc"] for r in m.get("rounds", [])][-n:]
    return float(np.mean(accs)) if accs else None


def _stats(xs: list[float]) -> dict:
    a = np.asarray(xs, dtype=float)
    return {"mean": float(a.mean()), "std": float(a.std(ddof=1)) if len(a) > 1 else 0.0,
            "min": float(a.min()), "max": float(a.max())}


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


def _interp_log_energy(points: list[tuple[float, float]], energy: float) -> float | None:
    """Accuracy of the piecewise-linear (in log energy) curve through ``points`` at ``energy``; None outside."""
    pts = sorted(points)
    if len(pts) < 2 or not pts[0][0] <= energy <= pts[-1][0]:
        return None
    le = np.log([e for e, _ in pts])
    return float(np.interp(np.log(energy), le, [a for _, a in pts]))


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
        matched = [(a["final_test_acc"] - ref) if (ref := _interp_log_energy(curves[a["config"]["seed"]],
                                                                           a["total_energy_J"])) is not None
                   else None for a, _ in pairs]
        out.append({
            "method": method, "mode": mode, "sparsity": rho,
            "seeds": [a["config"]["seed"] for a, _ in pairs],
            "d_final_acc": _stats([a["final_test_acc"] - b["final_test_acc"] for a, b in pairs]),
            "d_last5_acc": (_stats([x - y for x, y in last]) if all(None not in t for t in last) else None),
            "energy_ratio": _stats([a["total_energy_J"] / b["total_energy_J"] for a, b in pairs]),
            "d_acc_matched_energy": (_stats([x for x in matched if x is not None])
                                     if any(x is not None for x in matched) else None),
            "matched_energy_seeds": sum(x is not None for x in matched),
        })
    out.sort(key=lambda r: (_ORDER.get(r["method"], 9), r["method"], r["mode"] != "count", r["sparsity"]))
    return out


def _pm(s: dict | None, scale: float = 1.0, fmt: str = "+.2f") -> str:
    return "-" if s is None else f"{scale * s['mean']:{fmt}} +- {scale * s['std']:.2f}"


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
        l5s = f"{l5['mean']:.4f} +- {l5['std']:.4f}" if l5 else "-"
        lines.append(
            f"| {r['method']}{' *' if r['pareto'] else ''} | {r['mode']} | {r['sparsity']:g} | {len(r['seeds'])} | "
            f"{acc['mean']:.4f} +- {acc['std']:.4f} | {l5s} | {en['mean']:.4g} +- {en['std']:.2g} | {rel} | "
            f"{r['total_bytes']['mean'] / 1e6:.2f} | {r['wall_s_per_round']['mean']:.1f} | {cpu} |")
    if paired:
        lines += ["", "## Against Top-K, seed by seed", "",
                  "Differences in accuracy points (mean +- sample std over the paired seeds). Same sparsity: the "
                  "Top-K run with the same seed and sparsity (budget mode spends, each round, what Top-K at that sparsity "
                  "would spend on the same update). "
                  "At matched energy: Top-K's accuracy at the same total energy, interpolated (linear in log energy) "
                  "on that seed's Top-K runs over all swept sparsities; '-' when outside them. "
                  "A gap inside the seed spread is not a win.", "",
                  "| method | mode | sparsity | seeds | d final acc (pts) | d last-5 acc (pts) | energy / Top-K "
                  "| d acc at matched energy (pts) |",
                  "|---|---|---:|---:|---:|---:|---:|---:|"]
        for r in paired:
            er = r["energy_ratio"]
            me = r["d_acc_matched_energy"]
            mes = f"{_pm(me, 100)} (n={r['matched_energy_seeds']})" if me else "-"
            lines.append(
                f"| {r['method']} | {r['mode']} | {r['sparsity']:g} | {len(r['seeds'])} | {_pm(r['d_final_acc'], 100)} "
                f"| {_pm(r['d_last5_acc'], 100)} | {er['mean']:.3f} +- {er['std']:.3f} "
                f"| {mes} |")
    if partial:
        lines += ["", f"Not complete (left out): {', '.join(sorted(partial))}"]
    return "\n".join(lines) + "\n"


def write_summary(results: Path, preset: str, tag: str = "") -> tuple[str, Path | None]:
    """Build, write (atomically) and return the markdown summary; None path when nothing is complete."""
    from solvers.io import atomic_write_json, atomic_write_text

    preset_dir = Path(results) / "fl" / (f"{preset}-{tag}" if tag else preset)
    runs, partial = collect(preset_dir)
    if not runs:
        return f"no complete run under {preset_dir}\n", None
    rows = summarize(runs)
    paired = compare_to_topk(runs)
    md = format_markdown(rows, runs, partial, preset, paired)
    atomic_write_json(preset_dir / "summary.json", {"preset": preset, "rows": rows, "vs_topk": paired,
                                                    "incomplete": sorted(partial), "note": RECONSTRUCTION_NOTE})
    atomic_write_text(preset_dir / "summary.md", md)
    return md, preset_dir / "summary.md"
