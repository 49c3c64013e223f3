"""Martello–Toth MT2 (exact mode) on one integer instance, through the PyPI package `mknapsack`.

The optional competitor of `cwmp bench --only exact-hard` (issue 18). mknapsack wraps the
Fortran 77 codes of Martello & Toth, "Knapsack Problems" (Wiley 1990), and needs numpy < 2,
so this file runs as a script under an interpreter of its own (made by `scripts/mt2_env.sh`);
it imports nothing from this project:

    python solvers/_mt2_child.py INSTANCE.npz      # p, w (int64 arrays) and C in the .npz

It prints one JSON line: MT2's own seconds (the Fortran call, not the interpreter's start),
the value and weight of its answer. MT2's integers are 32-bit: the caller does not start it
when the capacity, the sum of the profits or max p × max w reaches 2^31 (`solvers.bench._mt2`).
"""

from __future__ import annotations

import json
import sys
import time


def main(path: str) -> int:
    import numpy as np
    from mknapsack import solve_single_knapsack

    with np.load(path) as d:
        p, w, C = d["p"].astype(np.int64), d["w"].astype(np.int64), int(d["C"])
    t0 = time.perf_counter()
    x = solve_single_knapsack(p.tolist(), w.tolist(), C, method="mt2",
                              method_kwargs={"require_exact": 1, "check_inputs": 1})
    seconds = time.perf_counter() - t0
    x = np.asarray(x).astype(bool)
    print(json.dumps({"seconds": seconds, "value": int(p[x].sum()), "weight": int(w[x].sum()),
                      "capacity": C, "mknapsack": _version()}))
    return 0


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("mknapsack")
    except Exception:  # pragma: no cover - metadata missing
        return "unknown"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
