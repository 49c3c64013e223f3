"""Summary of a preset's finished runs: final accuracy and total energy per method and sparsity.

``cwmp fl --preset paper --summary`` groups the complete runs of
``<results>/fl/<preset>/`` by (method, mode, sparsity), averages over seeds
(mean, sample std, min, max), flags the accuracy-energy Pareto frontier, and
writes ``summary.json`` and ``summary.md`` next to the runs.
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


def format_markdown(rows: list[dict], runs: list[dict], partial: list[str], preset: str) -> str:
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
              "| method | mode | sparsity | seeds | final acc | total energy (J) | vs dense | MB sent | s/round (wall) | CPU s/round |",
              "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        acc, en = r["final_test_acc"], r["total_energy_J"]
        cpu = f"{r['cpu_s_per_round']['mean']:.1f}" if r["cpu_s_per_round"] else "-"
        rel = f"{100 * r['energy_vs_dense']:.2f} %" if r["energy_vs_dense"] is not None else "-"
        lines.append(
            f"| {r['method']}{' *' if r['pareto'] else ''} | {r['mode']} | {r['sparsity']:g} | {len(r['seeds'])} | "
            f"{acc['mean']:.4f} +- {acc['std']:.4f} | {en['mean']:.4g} +- {en['std']:.2g} | {rel} | "
            f"{r['total_bytes']['mean'] / 1e6:.2f} | {r['wall_s_per_round']['mean']:.1f} | {cpu} |")
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
    md = format_markdown(rows, runs, partial, preset)
    atomic_write_json(preset_dir / "summary.json", {"preset": preset, "rows": rows, "incomplete": sorted(partial),
                                                    "note": RECONSTRUCTION_NOTE})
    atomic_write_text(preset_dir / "summary.md", md)
    return md, preset_dir / "summary.md"
