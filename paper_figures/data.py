"""Reading saved results (never producing them) and the skip protocol.

A loader raises `MissingResults(reason, command)` when its input is absent or
lacks a key it needs; `figure(...)` turns that into one printed line
``fig N skipped: <reason>; produce it with: <command>`` and a ``None`` return.
"""

from __future__ import annotations

import functools
import json
import math
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

FL_COMMAND = "cwmp fl --preset paper"
COMPARE_COMMAND = "cwmp compare"
BENCH_COMMAND = "cwmp bench"
THEORY_COMMAND = "cwmp theory"


class MissingResults(Exception):
    def __init__(self, reason: str, command: str):
        super().__init__(reason)
        self.reason = reason
        self.command = command


def figure(number: int, command: str) -> Callable:
    """Decorator for ``make(results_dir, out_dir, ...)``: a MissingResults (or an input of an
    unexpected shape: KeyError, TypeError, ValueError, IndexError) becomes one printed line and a
    None return; that figure's old PNG/PDF in out_dir (made from other results) is removed."""

    def wrap(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def inner(results_dir, out_dir, *args, **kw):
            try:
                return fn(results_dir, out_dir, *args, **kw)
            except MissingResults as e:
                reason, cmd = e.reason, e.command
            except (KeyError, TypeError, ValueError, IndexError) as e:
                tb, where = e.__traceback__, "?"
                while tb is not None:  # innermost frame of this package
                    if Path(tb.tb_frame.f_code.co_filename).parent == Path(__file__).parent:
                        where = f"{Path(tb.tb_frame.f_code.co_filename).name}:{tb.tb_lineno}"
                    tb = tb.tb_next
                reason, cmd = f"its input has an unexpected shape ({type(e).__name__}: {e} at {where})", command
            if "matplotlib.pyplot" in sys.modules:
                sys.modules["matplotlib.pyplot"].close("all")
            name = getattr(sys.modules[fn.__module__], "NAME", None)
            stale = [p for ext in ("png", "pdf") if name and (p := Path(out_dir) / f"{name}.{ext}").is_file()]
            for p in stale:
                p.unlink()
            note = " (old output removed)" if stale else ""
            print(f"fig {number} skipped{note}: {reason}; produce it with: {cmd}", flush=True)
            return None

        return inner

    return wrap


def read_json(path: Path, command: str) -> Any:
    if not path.is_file():
        raise MissingResults(f"{path} not found", command)
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise MissingResults(f"{path} unreadable ({e.__class__.__name__})", command) from e


def require(obj: Any, keys: tuple[str, ...] | list[str], where: str, command: str) -> None:
    if not isinstance(obj, dict):
        raise MissingResults(f"{where}: expected an object", command)
    missing = [k for k in keys if k not in obj]
    if missing:
        raise MissingResults(f"{where}: missing key(s) {', '.join(missing)}", command)


def rows_of(doc: Any, keys: tuple[str, ...], where: str, command: str, list_key: str = "rows") -> list[dict]:
    rows = doc.get(list_key) if isinstance(doc, dict) else doc
    if not isinstance(rows, list) or not rows:
        raise MissingResults(f"{where}: no {list_key}", command)
    for r in rows:
        require(r, keys, where, command)
    return rows


def spread(values) -> tuple[float, float, float, int]:
    """(mean, min, max, n) of the finite values; the band of every figure is min-max over seeds."""
    a = np.asarray([v for v in values if v is not None and math.isfinite(v)], float)
    if a.size == 0:
        return (math.nan, math.nan, math.nan, 0)
    return float(a.mean()), float(a.min()), float(a.max()), int(a.size)


# ----------------------------------------------------------------------------- FL runs


@dataclass
class Run:
    run_id: str
    method: str
    mode: str
    sparsity: float  # 1.0 for dense
    seed: int
    complete: bool
    rounds: list[dict]
    final_acc: float | None  # percent
    total_energy_J: float | None
    path: Path
    config: dict = field(default_factory=dict)


@dataclass
class FLResults:
    preset: str
    runs: list[Run]
    root: Path

    def groups(self, complete_only: bool = False) -> dict[tuple[str, str, float], list[Run]]:
        """(method, mode, sparsity) -> runs over seeds, in a stable order."""
        out: dict[tuple[str, str, float], list[Run]] = defaultdict(list)
        for r in self.runs:
            if complete_only and not r.complete:
                continue
            out[(r.method, r.mode, r.sparsity)].append(r)
        return dict(sorted(out.items(), key=lambda kv: (kv[0][2], kv[0][1] != "count", kv[0][1],
                                                        _method_order(kv[0][0]))))

    def require_methods(self, methods: tuple[str, ...] | None = None, what: str = "sparsified") -> None:
        """MissingResults unless some run uses one of ``methods`` (default: any method but dense)."""
        if not any((r.method in methods) if methods else r.method != "dense" for r in self.runs):
            raise MissingResults(f"{self.root}: no {what} runs yet ({len(self.runs)} run(s) found)",
                                 f"cwmp fl --preset {self.preset}")

    def sparsities(self) -> list[float]:
        return sorted({r.sparsity for r in self.runs if r.method != "dense"})

    def describe(self) -> str:
        """'cnn, 10 clients, Dir(α=0.5), profile on-device' from the first run's config."""
        c = self.runs[0].config
        parts = [str(c["model"])] if "model" in c else []
        if "n_clients" in c:
            parts.append(f"{c['n_clients']} clients")
        if "alpha" in c:
            parts.append(f"Dir(α={c['alpha']:g})")
        if "profile" in c:
            parts.append(f"profile {c['profile']}")
        return ", ".join(parts)

    def note(self) -> str:
        n_seeds = len({r.seed for r in self.runs})
        partial = sum(not r.complete for r in self.runs)
        n = len(self.runs)
        s = f"preset {self.preset}: {n} run{'s' if n != 1 else ''}, {n_seeds} seed{'s' if n_seeds != 1 else ''}"
        if partial:
            s += f", {partial} partial"
        return s + "; bands: min–max over seeds"


METHOD_ORDER = ("dense", "topk", "cwmp-l2", "cwmp-paper", "cwmp-exact", "random-k")


def _method_order(m: str) -> tuple[int, str]:
    return (METHOD_ORDER.index(m) if m in METHOD_ORDER else len(METHOD_ORDER), m)


def acc_percent(x: Any) -> float | None:
    """Accuracy as %, whether stored as a fraction in [0, 1] or already in %."""
    if x is None:
        return None
    x = float(x)
    return x * 100.0 if x <= 1.0 else x


def _parse_run(path: Path) -> Run | None:
    try:
        m = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    cfg = m.get("config") if isinstance(m, dict) else None
    rounds = m.get("rounds") if isinstance(m, dict) else None
    if not isinstance(cfg, dict) or not isinstance(rounds, list) or not rounds or "method" not in cfg:
        return None
    if not all(isinstance(r, dict) and "round" in r and "test_acc" in r for r in rounds):
        return None
    method = str(cfg["method"])
    rho = cfg.get("sparsity")
    rho = 1.0 if (rho is None or method == "dense") else float(rho)
    mode = str(cfg.get("mode") or "count")
    # cumulative energy, computed if only per-round energy is stored
    if any("cum_energy_J" not in r for r in rounds) and all("energy_J" in r for r in rounds):
        cum = np.cumsum([float(r["energy_J"]) for r in rounds])
        rounds = [{**r, "cum_energy_J": float(e)} for r, e in zip(rounds, cum)]
    final = m.get("final_test_acc", rounds[-1]["test_acc"])
    total = m.get("total_energy_J", rounds[-1].get("cum_energy_J"))
    return Run(run_id=str(m.get("run_id", path.parent.name)), method=method, mode=mode, sparsity=rho,
               seed=int(cfg.get("seed", 0)), complete=bool(m.get("complete", True)), rounds=rounds,
               final_acc=acc_percent(final), total_energy_J=None if total is None else float(total),
               path=path, config=cfg)


_NOTED: set[tuple[Path, str]] = set()  # preset fallbacks already reported (one line per run of the cli)


def load_fl(results_dir: str | Path, preset: str | None = "paper") -> FLResults:
    """Runs of ``results/fl/<preset>/*/metrics.json``.

    When that preset has no sparsified run (none at all, or dense only), another preset
    that has some is used instead, with a one-line note; the figures name the preset used.
    """
    root = Path(results_dir) / "fl"
    want = preset or "paper"
    command = f"cwmp fl --preset {want}"
    if not root.is_dir():
        raise MissingResults(f"{root} not found", command)
    found: list[FLResults] = []
    for name in [want] + sorted(p.name for p in root.iterdir() if p.is_dir() and p.name != want):
        d = root / name
        runs = [r for p in sorted(d.glob("*/metrics.json")) if (r := _parse_run(p)) is not None] if d.is_dir() else []
        if runs:
            found.append(FLResults(preset=name, runs=runs, root=d))
    if not found:
        raise MissingResults(f"no readable metrics.json under {root}", command)
    chosen = next((f for f in found if any(r.method != "dense" for r in f.runs)), found[0])
    if chosen.preset != want and (root, want) not in _NOTED:
        _NOTED.add((root, want))
        have = "runs" if found[0].preset != want else "sparsified runs"
        print(f"note: no {have} under {root / want}; using preset {chosen.preset!r}", flush=True)
    return chosen


def round_curve(runs: list[Run], key: str, scale: Callable[[Any], float | None] = lambda v: v):
    """Per round: x (round numbers), mean, min, max over the runs that reached that round."""
    by_round: dict[int, list[float]] = defaultdict(list)
    for run in runs:
        for r in run.rounds:
            v = r.get(key)
            if v is not None:
                by_round[int(r["round"])].append(scale(v))
    xs = sorted(by_round)
    stats = [spread(by_round[x]) for x in xs]
    return (np.array(xs), np.array([s[0] for s in stats]), np.array([s[1] for s in stats]),
            np.array([s[2] for s in stats]))


def pct(rho: float) -> str:
    return f"{rho * 100:g} %"


# ----------------------------------------------------------------------------- theory curves

def load_theory(results_dir: str | Path, name: str, list_key: str, keys: tuple[str, ...]) -> tuple[dict, list[dict]]:
    """``results/theory/<name>`` (written by ``cwmp theory``, schema in theory/report.py): the document
    and its ``list_key`` items, each checked for ``keys``."""
    path = Path(results_dir) / "theory" / name
    doc = read_json(path, THEORY_COMMAND)
    items = rows_of(doc, keys, f"{path} [{list_key}]", THEORY_COMMAND, list_key=list_key)
    return doc, items


def ci_errors(mean, ci95=None, se=None, z: float = 1.96) -> tuple[list[float], list[float]]:
    """Error-bar lengths (below, above) from [lo, hi] pairs, else ±z·SE, else zero."""
    mean = [float(m) for m in mean]
    if ci95 is not None and len(ci95) == len(mean):
        return ([max(m - float(c[0]), 0.0) for m, c in zip(mean, ci95)],
                [max(float(c[1]) - m, 0.0) for m, c in zip(mean, ci95)])
    if se is not None and len(se) == len(mean):
        e = [z * float(x) if x is not None and math.isfinite(float(x)) else 0.0 for x in se]
        return e, e
    return [0.0] * len(mean), [0.0] * len(mean)


# ----------------------------------------------------------------------------- FL summary (verdict)

SUMMARY_COMMAND = "cwmp fl --preset paper --summary"

# two-sided 95 % Student-t quantiles t_{0.975, df} (df = n - 1), so no scipy is needed here
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145,
         2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048,
         2.045, 2.042)


def t_interval95(values) -> tuple[float, float, float, int]:
    """(mean, lo, hi, n) of the 95 % Student-t interval of the mean of the finite values;
    lo = hi = mean when n < 2 (no interval), NaNs when n = 0."""
    a = np.asarray([v for v in values if v is not None and math.isfinite(v)], float)
    if a.size == 0:
        return (math.nan, math.nan, math.nan, 0)
    m = float(a.mean())
    if a.size < 2:
        return (m, m, m, 1)
    df = a.size - 1
    t = _T975[df - 1] if df <= len(_T975) else 1.960 + 2.4 / df
    half = t * float(a.std(ddof=1)) / math.sqrt(a.size)
    return (m, m - half, m + half, int(a.size))


def load_fl_summary(results_dir: str | Path, preset: str | None = "paper", keys: tuple[str, ...] = ()) -> tuple[dict, Path]:
    """``results/fl/<preset>/summary.json`` (written by ``cwmp fl --preset <preset> --summary``, schema in
    fl_validation/report.py write_summary and fl_validation/verdict.py), checked for ``keys``.

    Falls back, with a one-line note, to another preset's summary that has all ``keys`` when the
    requested preset has none.
    """
    want = preset or "paper"
    command = f"cwmp fl --preset {want} --summary"
    root = Path(results_dir) / "fl"
    path = root / want / "summary.json"
    if not path.is_file() and root.is_dir():
        for d in sorted(p for p in root.iterdir() if p.is_dir() and p.name != want):
            if (d / "summary.json").is_file():
                try:
                    doc = json.loads((d / "summary.json").read_text())
                except (OSError, ValueError):
                    continue
                if isinstance(doc, dict) and all(k in doc for k in keys):
                    if (root, "summary:" + want) not in _NOTED:
                        _NOTED.add((root, "summary:" + want))
                        print(f"note: no {path}; using preset {d.name!r}", flush=True)
                    return doc, d / "summary.json"
    doc = read_json(path, command)
    require(doc, keys, str(path), command)
    return doc, path
