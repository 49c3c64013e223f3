"""Check that a fresh run reproduces a committed run's first rounds bitwise.

Usage (before adding runs to a committed sweep; same thread count as the sweep)::

    cwmp fl --preset paper --runs topk_count_s0.10_seed0 --rounds 3 --results /tmp/bw --quiet
    python scripts/check_reproduction.py /tmp/bw/fl/paper results/fl/paper --rounds 3

Every run directory under NEW is compared with the same run id under OLD: each
round record, less timings and log-only fields, must be equal to the bit
(floats compared with ==, after the JSON round trip both sides went through).
Exit 0 when every compared round matches, 1 otherwise, 2 on bad input.

``--record OLD/reproduction.json`` appends the check (this machine's numeric class,
each run's committed platform, identical or not) to that file, atomically. `cwmp fl
--summary` reads it: a committed run whose env.json predates ``cpu_model`` and
``torch_cpu_capability`` gets the class of a machine that reproduced it bitwise, so
``cross_machine_pairs`` counts real differences of arithmetic, not VM names.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import sys
import tempfile
from pathlib import Path

TIMING = {"wall_s", "cpu_s", "train_s", "select_s", "eval_s"}
LOG_ONLY = {"exact", "topk_retained_frac"}  # per-client fields that only log, added after runs were made


def _strip(rec: dict) -> dict:
    out = {k: v for k, v in rec.items() if k not in TIMING}
    out["clients"] = [{k: v for k, v in c.items() if k not in LOG_ONLY} for c in rec.get("clients", [])]
    return out


def _diff(a, b, path="") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                if (a.get(k) if k in a else b.get(k)) is None:
                    continue  # a log field one schema version added, empty here
                out.append(f"{path}.{k}: only in {'new' if k in a else 'committed'}")
            else:
                out += _diff(a[k], b[k], f"{path}.{k}")
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: length {len(a)} != {len(b)}"]
        return [x for i, (u, v) in enumerate(zip(a, b)) for x in _diff(u, v, f"{path}[{i}]")]
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("new", type=Path, help="folder of fresh run directories (…/fl/<preset>)")
    p.add_argument("old", type=Path, help="folder of committed run directories")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--record", type=Path, default=None,
                   help="append this check to a reproduction.json (e.g. results/fl/paper/reproduction.json)")
    ns = p.parse_args(argv)
    runs = sorted(d for d in ns.new.iterdir() if (d / "metrics.json").exists()) if ns.new.is_dir() else []
    if not runs:
        print(f"check_reproduction: no run directory with metrics.json under {ns.new}", file=sys.stderr)
        return 2
    bad = 0
    record = []
    for d in runs:
        ref = ns.old / d.name / "metrics.json"
        if not ref.exists():
            print(f"{d.name}: no committed run at {ref}")
            bad += 1
            continue
        new = json.loads((d / "metrics.json").read_text())["rounds"][: ns.rounds]
        old = json.loads(ref.read_text())["rounds"][: ns.rounds]
        if len(new) < ns.rounds or len(old) < ns.rounds:
            print(f"{d.name}: only {len(new)} new / {len(old)} committed rounds, need {ns.rounds}")
            bad += 1
            continue
        diffs = [x for a, b in zip(new, old) for x in _diff(_strip(a), _strip(b), f"round{a['round']}")]
        print(f"{d.name}: rounds 1-{ns.rounds} " + ("bitwise identical" if not diffs else
                                                   f"DIFFER ({len(diffs)} fields), first: {diffs[:3]}"))
        bad += bool(diffs)
        record.append({"run": d.name, "rounds": ns.rounds, "identical": not diffs,
                       "committed_platform": _env(ns.old / d.name).get("platform"),
                       "fresh_platform": _env(d).get("platform")})
    if ns.record is not None and record:
        _append_record(ns.record, _env(runs[0]), record)
    return 1 if bad else 0


def _env(run_dir: Path) -> dict:
    try:
        return json.loads((run_dir / "env.json").read_text())
    except (OSError, ValueError):
        return {}


def _append_record(path: Path, env: dict, runs: list[dict]) -> None:
    """Add one check to ``path`` (temp file, then rename: never half-written)."""
    doc = json.loads(path.read_text()) if path.exists() else {"schema": "cwmp-reproduction/1", "checks": []}
    doc["checks"].append({
        "date": _dt.date.today().isoformat(),
        "machine": {k: env.get(k) for k in ("platform", "cpu_model", "torch_cpu_capability", "torch_threads")},
        "git_commit": env.get("git_commit"),
        "runs": runs,
    })
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)


if __name__ == "__main__":
    raise SystemExit(main())
