"""Atomic result writing and the environment record stored beside results."""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
import tempfile
from importlib import metadata
from pathlib import Path
from collections.abc import Callable
from typing import Any, BinaryIO

import numpy as np


def _to_jsonable(obj: Any) -> Any:
    """Make numpy scalars/arrays, paths and non-finite floats JSON-safe."""
    if isinstance(obj, dict):
        return {str(k): _to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _to_jsonable(obj.tolist())
    if isinstance(obj, (np.bool_,)):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        x = float(obj)
        # JSON has no inf/nan; keep them readable rather than invalid.
        return x if math.isfinite(x) else str(x)
    if isinstance(obj, Path):
        return str(obj)
    return obj


def atomic_write(path: str | os.PathLike[str], write: Callable[[BinaryIO], None]) -> Path:
    """Call `write(fh)` on a temp file in the same folder, fsync, then rename onto `path`.

    A reader never sees a half-written file, and a crash leaves the old file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write `text` (UTF-8) to `path` atomically."""
    return atomic_write(path, lambda fh: fh.write(text.encode("utf-8")))


def check_writable_dir(path: str | os.PathLike[str], flag: str = "--results") -> Path:
    """Create `path` if needed, then write and remove a file in it, before any work.

    Raises PermissionError naming `flag` and the path (one line) when that fails.
    """
    import tempfile

    p = Path(path)
    try:
        p.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".cwmp-write-check-", dir=p)
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        raise PermissionError(f"{flag} {str(path)!r}: not a writable directory ({exc.strerror or exc})") from None
    return p


def atomic_write_json(path: str | os.PathLike[str], obj: Any, *, indent: int = 2) -> Path:
    """Serialise `obj` (numpy-aware) to JSON atomically."""
    return atomic_write_text(path, json.dumps(_to_jsonable(obj), indent=indent) + "\n")


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def git_commit(cwd: str | os.PathLike[str] | None = None) -> str | None:
    """The current commit hash (with '-dirty' when the tree has changes), or None."""
    try:
        where = cwd or Path(__file__).resolve().parent
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=where, capture_output=True,
                             text=True, timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=where,
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return sha + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def _cpu_model() -> str | None:
    """The processor's model name (Linux /proc/cpuinfo), or None elsewhere."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip() or None
    except OSError:
        pass
    return None


def environment_info() -> dict[str, Any]:
    """Versions, machine and commit: stored beside every result file."""
    info: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor() or None,
        # The CPU model and its vector ISA decide the last bits of float kernels:
        # runs are bitwise reproducible only on the same model/ISA (see
        # docs/REPRODUCIBILITY.md), so both are recorded.
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "git_commit": git_commit(),
        "packages": {name: _version(name) for name in
                     ("numpy", "scipy", "sympy", "cvxpy", "highspy", "torch", "ortools", "pyscipopt",
                      "hypothesis", "matplotlib", "flwr")},
    }
    try:  # torch is optional for the solver layer; report device facts when present
        import torch

        info["torch_threads"] = torch.get_num_threads()
        info["torch_cpu_capability"] = torch.backends.cpu.get_cpu_capability()
        info["cuda"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except ImportError:
        pass
    return info
