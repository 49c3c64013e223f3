"""Shared setup: sparsification settings in a ConfigRecord, and the cached cost model."""

from __future__ import annotations

import functools
from dataclasses import dataclass, fields
from typing import Any, Mapping

import torch

from ..config import FLConfig

PREFIX = "cwmp."


@dataclass(frozen=True)
class SparsifySettings:
    """What ``fl_validation.client.sparsify`` reads from a config, plus what the mod needs around it."""

    method: str = "dense"
    mode: str = "count"
    sparsity: float = 1.0
    greedy: str = "dantzig"
    error_feedback: bool = False
    profile: str = "on-device"
    model: str = "cnn"
    seed: int = 0
    # FLConfig.exact_reference, read by ``sparsify`` itself (``client.exact_reference``):
    # budget mode also logs the exact optimum of P per client-round; the selection is unchanged.
    exact_reference: bool = True

    @classmethod
    def from_fl_config(cls, cfg: FLConfig) -> "SparsifySettings":
        return cls(**{f.name: getattr(cfg, f.name) for f in fields(cls)})

    def to_config(self) -> dict[str, Any]:
        """Keys ``cwmp.<field>`` for the train ConfigRecord."""
        return {PREFIX + f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_config(cls, conf: Mapping[str, Any]) -> "SparsifySettings | None":
        """None when the config carries no ``cwmp.method`` (server is not CwmpFedAvg)."""
        if PREFIX + "method" not in conf:
            return None
        kw: dict[str, Any] = {}
        for f in fields(cls):
            if PREFIX + f.name in conf:
                kw[f.name] = conf[PREFIX + f.name]
        s = cls(**kw)
        from ..client import METHODS

        if s.method not in METHODS:
            raise ValueError(f"cwmp.method must be one of {tuple(METHODS)}, got {s.method!r}")
        if s.mode not in ("count", "budget"):
            raise ValueError(f"cwmp.mode must be 'count' or 'budget', got {s.mode!r}")
        if not 0.0 < float(s.sparsity) <= 1.0:
            raise ValueError(f"cwmp.sparsity must be in (0, 1], got {s.sparsity!r}")
        return s


@dataclass(frozen=True)
class ModelSetup:
    param_names: list[str]
    param_numels: list[int]
    buffer_names: list[str]
    cost: Any  # energy.CostModel
    c_t: torch.Tensor
    class_ids_t: torch.Tensor


@functools.lru_cache(maxsize=8)
def model_setup(model_name: str, profile: str) -> ModelSetup:
    """Parameter order, buffers and cost model of ``model_name`` under ``profile`` (cached per process)."""
    from ..energy import build_cost_model, load_profile
    from ..model import build_model, parameter_layout

    m = build_model(model_name, 0)
    layout = parameter_layout(m)
    names = [n for n, _ in m.named_parameters()]
    if names != [e["name"] for e in layout]:
        raise RuntimeError(f"{model_name}: named_parameters order differs from parameter_layout")
    cost = build_cost_model(layout, load_profile(profile))
    return ModelSetup(param_names=names, param_numels=[e["numel"] for e in layout],
                      buffer_names=[n for n, _ in m.named_buffers()], cost=cost,
                      c_t=cost.costs_torch("cpu"), class_ids_t=torch.from_numpy(cost.class_ids))


def flatten(state: Mapping[str, torch.Tensor], names: list[str]) -> torch.Tensor:
    """Parameters ``names`` of a state dict, flattened in order (like ``server.flat_params``)."""
    return torch.cat([state[n].detach().reshape(-1) for n in names]).clone()


RUN_CONFIG_ALIASES = {"num-server-rounds": "rounds"}


def fl_config_from_run_config(run_config: Mapping[str, Any], base: FLConfig | None = None) -> FLConfig:
    """A Flower run config (``[tool.flwr.app.config]``, keys like ``local-epochs``) -> FLConfig.

    Keys are FLConfig field names with ``-`` or ``_``; an unknown key is an error naming it.
    The output keys (``results``, ``preset``, ``tag``: where the ServerApp writes, see
    :mod:`.results`) are skipped.
    """
    import dataclasses

    from .results import OUTPUT_KEYS

    names = {f.name for f in dataclasses.fields(FLConfig)}
    kw: dict[str, Any] = {}
    for key, value in run_config.items():
        if key in OUTPUT_KEYS:
            continue
        k = RUN_CONFIG_ALIASES.get(key, key).replace("-", "_")
        if k not in names:
            raise ValueError(f"run config key {key!r} is not an FLConfig field (known: {sorted(names)})")
        kw[k] = value
    return dataclasses.replace(base or FLConfig(progress=False), **kw).normalized()
