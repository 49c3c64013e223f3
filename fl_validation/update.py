"""A model update as an instance of P, for ``cwmp compare --update GLOBAL.pt LOCAL.pt``.

The update is g = LOCAL − GLOBAL over the model's trainable parameters, flattened in
``model.parameters()`` order (as ``server.flat_params`` and the FL loop do), and the
costs are the profile's per-coordinate costs for that model's layer classes
(``energy.cost_model_for``): two or three cost values, so ``solve_exact(backend="core")``
takes its cost-class path (THEORY.md C9). The budget is ``--budget`` (J) or, with
``--sparsity ρ``, the energy Top-K spends when it keeps K = ⌈ρd⌉ coordinates of this
update (count mode), the budget of the FL runs' budget mode (without their 1e-12 slack).

This module lives in fl_validation because the layouts and profiles do; ``solvers`` only
receives the arrays (the ``cwmp`` front door passes :func:`load_update` to
``solvers.cli.main``). Every bad input is a ``solvers.instances.InstanceError``: one line
naming the file and the problem.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from solvers.instances import Instance, InstanceError, fail, validated


def _state_dict(path: Path) -> dict[str, Any]:
    """A state dict from `path` (``weights_only=True``); an FL checkpoint's ``"model"`` entry is accepted."""
    import pickle
    import zipfile

    import torch

    if not path.exists():
        raise fail(path, "no such file")
    if path.is_dir():
        raise fail(path, "is a directory, not a state dict file")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, zipfile.BadZipFile, ValueError, OSError) as exc:
        msg = " ".join(str(exc).split())[:160] or type(exc).__name__
        raise fail(path, f"not a PyTorch state dict readable with weights_only=True ({msg})") from None
    if isinstance(obj, dict) and "model" in obj and isinstance(obj["model"], dict):
        obj = obj["model"]  # a `cwmp fl` checkpoint: {"round", "config", "model", ...}
    if not isinstance(obj, dict) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise fail(path, f"not a state dict (a mapping of names to tensors); got {type(obj).__name__}")
    return obj


def _flat_params(path: Path, state: dict[str, Any], model_name: str):
    """The model's trainable parameters from `state`, flattened (float64 numpy), after a strict fit."""
    import torch

    from .model import build_model

    model = build_model(model_name, 0)
    expected = dict(model.state_dict())
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    shapes = [f"{k} {tuple(state[k].shape)} (model: {tuple(v.shape)})" for k, v in expected.items()
              if k in state and tuple(state[k].shape) != tuple(v.shape)]
    if missing or unexpected or shapes:
        parts = []
        if missing:
            parts.append(f"missing {len(missing)} key(s), e.g. {', '.join(missing[:3])}")
        if unexpected:
            parts.append(f"unexpected {len(unexpected)} key(s), e.g. {', '.join(unexpected[:3])}")
        if shapes:
            parts.append(f"shape mismatch: {'; '.join(shapes[:2])}")
        raise fail(path, f"state dict does not fit --model {model_name}: {'; '.join(parts)}")
    names = {id(p): n for n, p in model.named_parameters()}
    vec = []
    for p in model.parameters():
        name = names[id(p)]
        t = state[name]
        if not t.is_floating_point():
            raise fail(path, f"parameter {name} has dtype {t.dtype}, expected floating point")
        x = t.detach().to(torch.float64).reshape(-1)
        if not torch.isfinite(x).all():
            i = int(torch.nonzero(~torch.isfinite(x))[0])
            raise fail(path, f"parameter {name} is not finite at index {i} (value {float(x[i])!r})")
        vec.append(x)
    return torch.cat(vec).numpy()


def load_update(global_path: str | Path, local_path: str | Path, *, model: str, profile: str,
                sparsity: float | None = None, budget: float | None = None) -> Instance:
    """The instance (g = LOCAL − GLOBAL, c from `profile`, budget) of one client update."""
    from .energy import cost_model_for
    from .model import MODELS

    gp, lp = Path(global_path), Path(local_path)
    if model not in MODELS:
        raise InstanceError(f"--model must be one of {', '.join(MODELS)}, got {model!r}")
    if (sparsity is None) == (budget is None):
        raise InstanceError(f"{lp}: give exactly one of --sparsity (Top-K's energy at K = ceil(rho d)) or "
                            f"--budget (J); got sparsity={sparsity!r}, budget={budget!r}")
    if sparsity is not None and not (isinstance(sparsity, (int, float)) and math.isfinite(sparsity)
                                     and 0 < sparsity <= 1):
        raise InstanceError(f"--sparsity must be in (0, 1], got {sparsity!r}")
    w0 = _flat_params(gp, _state_dict(gp), model)
    w1 = _flat_params(lp, _state_dict(lp), model)
    g = w1 - w0
    cost = cost_model_for(model, profile)  # ProfileError (a ValueError) names the profile
    c = cost.costs()
    info: dict[str, Any] = {"model": model, "profile": cost.profile.name, "global": str(gp), "local": str(lp),
                            "cost_cv": cost.cv, "classes": cost.summary()["classes"]}
    if sparsity is not None:
        from solvers import topk_mask

        from .client import count_k

        k = count_k(float(sparsity), len(g))
        mask = np.asarray(topk_mask(g, k=k).mask)
        counts = np.bincount(cost.class_ids[mask], minlength=len(cost.class_names))
        budget = cost.energy(counts)[0]
        info.update(sparsity=float(sparsity), topk_k=k, budget_from=f"Top-K's energy at K = {k}")
    else:
        info.update(budget_from="--budget")
    name = f"update {lp.name} - {gp.name} ({model}, {cost.profile.name})"
    return validated(lp, name, "update", g, c, budget, info=info)
