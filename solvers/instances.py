"""Your own instances of P for `cwmp compare --instance PATH`: files told apart by content.

Formats (the first bytes decide, not the file name):

``npz``
    a numpy ``.npz`` (a zip archive) with 1-D arrays ``g`` and ``c`` and, optionally, a
    scalar ``budget`` (``--budget`` overrides it).
``csv`` / ``tsv``
    text whose first line is a header naming the columns ``g`` and ``c`` (other columns are
    ignored), comma- or tab-separated; ``--budget`` is required.
``knapsack``
    the plain-text format of the public 0/1 knapsack benchmark sets: a first line ``n`` or
    ``n capacity``; then n lines ``profit weight`` (a leading item index, as some sets write
    it, is accepted); then the capacity, unless the first line gave it; then, optionally, a
    0/1 solution of n entries. Profit is the value v = g² (so g = √profit), weight the cost.
    A known optimum comes from ``--optimum X`` or from a file beside the instance, the first
    of: ``PATH.opt``, ``PATH.optimum``, ``<folder>-optimum/<name>`` (the layout of the
    low-dimensional and large-scale sets) and ``outp.out`` beside ``test.in``.

A model update (``--update GLOBAL.pt LOCAL.pt``) is no file format of this module: its
costs come from fl_validation's layer layouts and energy profiles, which ``solvers`` does
not import; the ``cwmp`` front door passes the loader in (cwmp_cli.PLUGINS), and the
loader returns an :class:`Instance` like the ones here.

Every problem with a file is an :class:`InstanceError` (a ValueError), one line that starts
with the file's path: the ``cwmp`` boundary prints it and exits 2.
"""

from __future__ import annotations

import math
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ._arrays import check_budget, make_problem

FORMATS = ("npz", "csv", "tsv", "knapsack", "update")
SNIFF_BYTES = 1 << 16  # enough of a text file to read its first line


class InstanceError(ValueError):
    """A bad instance file or value: one line, naming the file and the problem."""


@dataclass(frozen=True, eq=False)
class Instance:
    """One validated instance of P: max Σ m v s.t. Σ m c ≤ budget, v = g²."""

    name: str  # the file name (the row label of the table)
    source: str  # the path(s) read
    fmt: str  # one of FORMATS
    g: np.ndarray  # float64 (d,)
    c: np.ndarray  # float64 (d,), > 0
    budget: float  # ≥ 0, in c's unit
    # Knapsack files carry integer profits; g = √profit rounds, so the exact value is also
    # re-summed from the profits themselves to compare it with a known optimum exactly.
    profits: np.ndarray | None = None
    optimum: float | None = None  # known optimal value of P (benchmark optimum file or --optimum)
    optimum_source: str | None = None
    solution: np.ndarray | None = None  # the file's own 0/1 solution line (knapsack), bool (d,)
    info: dict[str, Any] = field(default_factory=dict)  # format-specific facts (model, profile, ...)

    @property
    def d(self) -> int:
        return len(self.g)


def fail(path: str | Path, problem: str) -> InstanceError:
    """The one-line error for `path` (returned, to be raised by the caller)."""
    return InstanceError(f"{path}: {problem}")


def validated(path: str | Path, name: str, fmt: str, g: Any, c: Any, budget: Any, **extra: Any) -> Instance:
    """An Instance after the solvers' own boundary checks, their message prefixed by `path`.

    Checks: g, c finite 1-D and of equal length, c > 0, budget a finite number ≥ 0.
    """
    try:
        p = make_problem(g, c, require_c=True)
    except ValueError as exc:
        raise fail(path, str(exc)) from None
    if budget is None:
        raise fail(path, "no budget: the file gives none; pass --budget B (same unit as c)")
    try:
        B = check_budget(budget)
    except ValueError as exc:
        raise fail(path, str(exc)) from None
    return Instance(name=name, source=str(path), fmt=fmt, g=p.g, c=p.c, budget=B, **extra)


def sniff(path: str | Path) -> str:
    """The format of `path` from its content: "npz", "csv", "tsv" or "knapsack" (else InstanceError)."""
    p = Path(path)
    if not p.exists():
        raise fail(p, "no such file")
    if p.is_dir():
        raise fail(p, "is a directory, not an instance file")
    try:
        with open(p, "rb") as fh:
            head = fh.read(SNIFF_BYTES)
    except OSError as exc:
        raise fail(p, f"cannot read ({exc.strerror or exc})") from None
    if not head.strip():
        raise fail(p, "empty file")
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(p) as zf:
                names = zf.namelist()
        except (zipfile.BadZipFile, OSError) as exc:
            raise fail(p, f"a damaged zip/npz archive ({exc})") from None
        if any(n.endswith("data.pkl") for n in names):
            raise fail(p, "a PyTorch file, not an instance: compare a model update with "
                          "--update GLOBAL.pt LOCAL.pt --model M --profile P")
        return "npz"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # text files are read only SNIFF_BYTES far: a multi-byte character may be cut at the end
        if len(head) == SNIFF_BYTES and exc.start >= len(head) - 4:
            text = head[:exc.start].decode("utf-8")
        else:
            raise fail(p, f"unknown format: binary data that is not an .npz ({_EXPECTED})") from None
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    tokens = first.split()
    if 1 <= len(tokens) <= 2 and all(_is_int(t) for t in tokens):
        return "knapsack"
    for fmt, sep in (("tsv", "\t"), ("csv", ",")):
        cols = [x.strip().lower() for x in first.split(sep)]
        if len(cols) >= 2 and "g" in cols and "c" in cols:
            return fmt
    if "," in first or "\t" in first:
        raise fail(p, f"unknown format: a table whose header {first[:60]!r} does not name columns g and c "
                      "(csv/tsv need a header line with g,c)")
    raise fail(p, f"unknown format: first line {first[:60]!r} ({_EXPECTED})")


_EXPECTED = ("expected an .npz with arrays g, c[, budget]; a csv/tsv with header g,c; or a knapsack "
             "text file: 'n [capacity]', n lines 'profit weight', the capacity")


def _is_int(tok: str) -> bool:
    try:
        x = float(tok)
    except ValueError:
        return False
    return math.isfinite(x) and x == int(x) and x >= 0 and not any(ch in tok for ch in "eE.")


def load_instance(path: str | Path, budget: float | None = None, optimum: float | None = None) -> Instance:
    """Read one instance file; `budget` (--budget) and `optimum` (--optimum) override the file's."""
    fmt = sniff(path)
    p = Path(path)
    if budget is not None:
        try:
            check_budget(budget)
        except ValueError as exc:
            raise fail(p, f"--budget: {exc}") from None
    if optimum is not None and not (isinstance(optimum, (int, float)) and math.isfinite(optimum) and optimum >= 0):
        raise fail(p, f"--optimum must be a finite number >= 0, got {optimum!r}")
    if fmt == "npz":
        return _load_npz(p, budget, optimum)
    if fmt in ("csv", "tsv"):
        return _load_table(p, fmt, budget, optimum)
    return _load_knapsack(p, budget, optimum)


def _with_optimum(inst: Instance, optimum: float | None, source: str) -> Instance:
    if optimum is None:
        return inst
    return Instance(**{**inst.__dict__, "optimum": float(optimum), "optimum_source": source})


def _load_npz(p: Path, budget: float | None, optimum: float | None) -> Instance:
    try:
        with np.load(p, allow_pickle=False) as z:
            arrays = {k: np.asarray(z[k]) for k in z.files}
    except (ValueError, OSError, zipfile.BadZipFile) as exc:
        raise fail(p, f"not a readable .npz ({_one_line(exc)})") from None
    missing = [k for k in ("g", "c") if k not in arrays]
    if missing:
        raise fail(p, f"npz lacks array(s) {', '.join(missing)} (has: {', '.join(sorted(arrays)) or 'none'})")
    g, c = arrays["g"], arrays["c"]
    for key, arr in (("g", g), ("c", c)):
        if arr.dtype.kind not in "biuf":
            raise fail(p, f"array {key} has dtype {arr.dtype}, expected numbers")
    B = budget
    if B is None and "budget" in arrays:
        b = arrays["budget"]
        if b.size != 1 or b.dtype.kind not in "biuf":
            raise fail(p, f"budget must be one number, got an array of shape {b.shape} and dtype {b.dtype}")
        B = float(b.reshape(()))
    inst = validated(p, p.name, "npz", g, c, B, info={"budget_from": "--budget" if budget is not None else "file"})
    return _with_optimum(inst, optimum, "--optimum")


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _load_table(p: Path, fmt: str, budget: float | None, optimum: float | None) -> Instance:
    sep = "\t" if fmt == "tsv" else ","
    lines = p.read_text(encoding="utf-8").splitlines()
    rows = [(i + 1, line) for i, line in enumerate(lines) if line.strip()]
    header = [x.strip().lower() for x in rows[0][1].split(sep)]
    ig, ic = header.index("g"), header.index("c")
    g, c = [], []
    for lineno, line in rows[1:]:
        cells = [x.strip() for x in line.split(sep)]
        if len(cells) != len(header):
            raise fail(p, f"line {lineno}: {len(cells)} fields, the header has {len(header)}")
        try:
            g.append(float(cells[ig]))
            c.append(float(cells[ic]))
        except ValueError:
            raise fail(p, f"line {lineno}: not a number in column g or c: {line.strip()[:60]!r}") from None
    if not g:
        raise fail(p, "no data rows after the header")
    if budget is None:
        raise fail(p, f"{fmt} files carry no budget: pass --budget B (same unit as c)")
    inst = validated(p, p.name, fmt, np.array(g), np.array(c), budget, info={"budget_from": "--budget"})
    return _with_optimum(inst, optimum, "--optimum")


def optimum_candidates(p: Path) -> list[Path]:
    """Where a benchmark set keeps the optimum of instance `p`, in the order tried."""
    out = [p.with_name(p.name + ".opt"), p.with_name(p.name + ".optimum"),
           p.parent.parent / f"{p.parent.name}-optimum" / p.name]
    if p.name == "test.in":
        out.append(p.with_name("outp.out"))
    return out


def _read_optimum(p: Path) -> float:
    try:
        tok = p.read_text(encoding="utf-8").split()
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(p, f"cannot read the optimum file ({_one_line(exc)})") from None
    try:
        x = float(tok[0])
    except (IndexError, ValueError):
        raise fail(p, "optimum file: expected a number first, got "
                      f"{(tok[0] if tok else 'nothing')[:40]!r}") from None
    if not math.isfinite(x) or x < 0:
        raise fail(p, f"optimum file: the optimum must be a finite number >= 0, got {x!r}")
    return x


def _load_knapsack(p: Path, budget: float | None, optimum: float | None) -> Instance:
    lines = [(i + 1, line.split()) for i, line in enumerate(p.read_text(encoding="utf-8").splitlines())
             if line.strip()]
    first_no, first = lines[0]
    n = int(float(first[0]))
    if n < 1:
        raise fail(p, f"line {first_no}: n = {n}, need at least one item")
    cap_tok = first[1] if len(first) == 2 else None
    body = lines[1:]
    if len(body) < n:
        raise fail(p, f"says n = {n} items but has only {len(body)} line(s) after the first")
    prof, wt = np.empty(n), np.empty(n)
    for j, (lineno, toks) in enumerate(body[:n]):
        if len(toks) == 3 and _is_int(toks[0]):
            toks = toks[1:]  # "index profit weight"
        if len(toks) != 2:
            raise fail(p, f"line {lineno}: expected 'profit weight' (item {j + 1} of {n}), got {' '.join(toks)[:60]!r}")
        try:
            prof[j], wt[j] = float(toks[0]), float(toks[1])
        except ValueError:
            raise fail(p, f"line {lineno}: not a number in {' '.join(toks)[:60]!r}") from None
    rest = body[n:]
    if cap_tok is None:
        if not rest:
            raise fail(p, f"no capacity line after the {n} items (first line gave only n)")
        cap_no, cap_line = rest[0]
        if len(cap_line) != 1:
            raise fail(p, f"line {cap_no}: expected the capacity (one number), got {' '.join(cap_line)[:60]!r}")
        cap_tok, rest = cap_line[0], rest[1:]
    try:
        capacity = float(cap_tok)
    except ValueError:
        raise fail(p, f"capacity is not a number: {cap_tok!r}") from None
    solution = None
    if rest:
        toks = [t for _, line in rest for t in line]
        if len(toks) != n or any(t not in ("0", "1") for t in toks):
            raise fail(p, f"line {rest[0][0]}: after the capacity only a 0/1 solution of {n} entries may follow, "
                          f"got {len(toks)} token(s) starting {' '.join(toks[:4])[:40]!r}")
        solution = np.array([t == "1" for t in toks])
    bad = ~np.isfinite(prof)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise fail(p, f"profit of item {i + 1} is {float(prof[i])!r}; profits must be finite")
    if (prof < 0).any():
        i = int(np.flatnonzero(prof < 0)[0])
        raise fail(p, f"profit of item {i + 1} is {float(prof[i])!r}; profits (= g^2) must be >= 0")
    bad = ~np.isfinite(wt) | (wt <= 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise fail(p, f"weight of item {i + 1} is {float(wt[i])!r}; weights (costs) must be finite and > 0")
    B = capacity if budget is None else budget
    inst = validated(p, p.name, "knapsack", np.sqrt(prof), wt, B, profits=prof, solution=solution,
                     info={"capacity": capacity, "budget_from": "--budget" if budget is not None else "file"})
    if optimum is not None:
        return _with_optimum(inst, optimum, "--optimum")
    if budget is not None and budget != capacity:  # the set's optimum is for the file's capacity
        inst.info["optimum_file_ignored"] = f"--budget {budget:g} is not the file's capacity {capacity:g}"
        return inst
    for cand in optimum_candidates(p):
        if cand.is_file():
            return _with_optimum(inst, _read_optimum(cand), str(cand))
    return inst
