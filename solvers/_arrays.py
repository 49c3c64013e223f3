"""Boundary checks and array-kind handling shared by every solver entry point.

All maths runs in float64 numpy; torch inputs (CPU or CUDA) are converted at the
boundary and masks are converted back to the caller's kind and device.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np


def is_torch(x: Any) -> bool:
    """True for a torch.Tensor, without importing torch when it is absent."""
    return type(x).__module__.startswith("torch") and hasattr(x, "detach")


def _first_bad(arr: np.ndarray, bad: np.ndarray) -> str:
    i = int(np.flatnonzero(bad)[0])
    return f"index {i} (value {float(arr[i])!r}); {int(bad.sum())} bad entries in total"


def as_vector(x: Any, name: str) -> np.ndarray:
    """Return `x` as a finite 1-D float64 numpy array, or raise ValueError naming `name`."""
    if x is None:
        raise ValueError(f"{name} is required, got None")
    if is_torch(x):
        arr = x.detach().to("cpu").double().numpy()
    else:
        try:
            arr = np.asarray(x, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{name} must be a numeric 1-D array, got {type(x).__name__}: {exc}") from None
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {tuple(arr.shape)}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty (shape {tuple(arr.shape)}); need at least one coordinate")
    bad = ~np.isfinite(arr)
    if bad.any():
        raise ValueError(f"{name} must be finite (no NaN/inf); bad entry at {_first_bad(arr, bad)}")
    return arr


@dataclass(frozen=True)
class Problem:
    """A validated instance: values v = g², costs c (None in pure count mode)."""

    g: np.ndarray
    v: np.ndarray  # g**2, the retained-energy objective of P
    c: np.ndarray | None
    like: Any  # the caller's g, to return masks of the same kind/device


def make_problem(g: Any, c: Any | None, *, require_c: bool) -> Problem:
    garr = as_vector(g, "g")
    with np.errstate(over="ignore"):
        v = garr * garr
    if not np.isfinite(v).all():
        raise ValueError(f"g**2 overflows float64 at {_first_bad(garr, ~np.isfinite(v))}")
    carr = None
    if c is not None:
        carr = as_vector(c, "c")
        if carr.shape != garr.shape:
            raise ValueError(f"shape mismatch: g has shape {garr.shape}, c has shape {carr.shape}")
        bad = carr <= 0
        if bad.any():
            raise ValueError(f"c must be > 0 (energy per coordinate, J); bad entry at {_first_bad(carr, bad)}")
    elif require_c:
        raise ValueError("c is required (energy cost per coordinate, J), got None")
    return Problem(g=garr, v=v, c=carr, like=g)


def check_budget(budget: Any) -> float:
    if isinstance(budget, bool) or not isinstance(budget, numbers.Real):
        if is_torch(budget) and budget.numel() == 1:
            budget = float(budget.item())
        else:
            raise ValueError(f"budget must be a real number (J), got {budget!r}")
    b = float(budget)
    if math.isnan(b) or math.isinf(b):
        raise ValueError(f"budget must be finite, got {b!r}")
    if b < 0:
        raise ValueError(f"budget must be >= 0 (J), got {b!r}")
    return b


def check_k(k: Any, d: int) -> int:
    if isinstance(k, bool) or not isinstance(k, numbers.Integral):
        raise ValueError(f"k must be an integer count, got {k!r}")
    k = int(k)
    if not 0 <= k <= d:
        raise ValueError(f"k must be in [0, d={d}], got k={k}")
    return k


def exactly_one(budget: Any, k: Any) -> None:
    if (budget is None) == (k is None):
        raise ValueError(
            f"give exactly one of budget (energy, J) or k (count); got budget={budget!r}, k={k!r}")


def check_choice(value: Any, name: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {allowed}, got {value!r}")
    return value


def mask_like(mask: np.ndarray, like: Any) -> Any:
    """Return the bool mask in the caller's array kind (numpy, or torch on g's device)."""
    if is_torch(like):
        import torch

        return torch.from_numpy(np.ascontiguousarray(mask)).to(like.device)
    return mask
