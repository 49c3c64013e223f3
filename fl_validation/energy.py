"""Energy model: a hardware profile (TOML) -> per-coordinate cost vector c.

docs/THEORY.md section 5: ``c_i = c_tx + c_mem(layer(i))`` with

- ``c_tx = (value_bits + index_bits) * energy_per_bit`` (index_bits may be
  ``"log2d"``: ceil(log2 d) for a model with d coordinates);
- ``c_mem = accesses_per_update * access(tier) + adds_per_update * fp32_add``,
  ``tier`` in {sram, dram} from the profile's ``[placement]`` rule for the
  owning layer's kind (``conv``, ``linear``, ``norm``): a fixed tier, or
  ``"by-size"`` = sram iff the layer's parameters fit ``onchip_capacity``.

Every constant in a profile is a table ``{value, unit, source}``; the loader
refuses a profile with a missing constant, a wrong unit or an empty source.

Coordinates fall into a few *cost classes* ``"<kind>/<tier>"``; energies are
computed exactly from per-class kept counts, which the FL loop records, so any
total can be recomputed from the saved statistics.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np

PROFILE_DIR = Path(__file__).resolve().parent / "profiles"
TIERS = ("sram", "dram")
PLACEMENTS = ("sram", "dram", "by-size")
KINDS = ("conv", "linear", "norm")
# (section, key) -> required unit
REQUIRED: dict[str, str] = {
    "transmission.value_bits": "bit",
    "transmission.index_bits": "bit",
    "transmission.energy_per_bit": "J/bit",
    "memory.dram_access": "J",
    "memory.sram_access": "J",
    "memory.fp32_add": "J",
    "memory.accesses_per_update": "count",
    "memory.adds_per_update": "count",
    "memory.onchip_capacity": "byte",
    "memory.bytes_per_param": "byte",
}


class ProfileError(ValueError):
    """A profile file is missing, malformed, or lacks a unit/source (message names the file and key)."""


@dataclass(frozen=True)
class Constant:
    value: Any
    unit: str
    source: str


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    path: str
    constants: Mapping[str, Constant]
    placement: Mapping[str, str]

    def value(self, key: str) -> Any:
        return self.constants[key].value

    def index_bits(self, d: int) -> int:
        v = self.value("transmission.index_bits")
        return max(1, math.ceil(math.log2(d))) if v == "log2d" else int(v)

    def bits_per_coordinate(self, d: int) -> int:
        """Bits sent per kept coordinate in sparse form: value + index."""
        return int(self.value("transmission.value_bits")) + self.index_bits(d)

    def c_tx(self, d: int) -> float:
        return self.bits_per_coordinate(d) * float(self.value("transmission.energy_per_bit"))

    def c_mem(self, tier: str) -> float:
        access = float(self.value(f"memory.{tier}_access"))
        return (float(self.value("memory.accesses_per_update")) * access
                + float(self.value("memory.adds_per_update")) * float(self.value("memory.fp32_add")))

    def tier(self, kind: str, layer_numel: int) -> str:
        rule = self.placement.get(kind)
        if rule is None:
            raise ProfileError(f"{self.path}: [placement] has no rule for layer kind {kind!r}")
        if rule == "by-size":
            nbytes = layer_numel * int(self.value("memory.bytes_per_param"))
            return "sram" if nbytes <= int(self.value("memory.onchip_capacity")) else "dram"
        return rule

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "description": self.description,
            "path": self.path,
            "constants": {k: {"value": c.value, "unit": c.unit, "source": c.source} for k, c in self.constants.items()},
            "placement": dict(self.placement),
        }


def list_profiles() -> list[str]:
    """Names of the shipped profiles."""
    return sorted(p.stem for p in PROFILE_DIR.glob("*.toml"))


def load_profile(name_or_path: str | Path) -> Profile:
    """A shipped profile by name (``edge-wifi``, ``lte``, ``on-device``) or a TOML file path."""
    p = Path(name_or_path)
    # A shipped name may contain dots (mixed-cv0.10), so test it before reading a suffix.
    if (PROFILE_DIR / f"{name_or_path}.toml").is_file() and p.parent == Path("."):
        p = PROFILE_DIR / f"{name_or_path}.toml"
    elif not p.suffix:
        p = PROFILE_DIR / f"{name_or_path}.toml"
    if not p.is_file():
        raise ProfileError(f"profile {name_or_path!r} not found (shipped: {', '.join(list_profiles())})")
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ProfileError(f"{p}: not valid TOML ({exc})") from exc
    constants: dict[str, Constant] = {}
    for key, unit in REQUIRED.items():
        section, name = key.split(".")
        entry = data.get(section, {}).get(name)
        if not isinstance(entry, dict):
            raise ProfileError(f"{p}: missing constant [{key}] (a table with value, unit, source)")
        missing = [f for f in ("value", "unit", "source") if f not in entry]
        if missing:
            raise ProfileError(f"{p}: [{key}] lacks {', '.join(missing)}")
        if entry["unit"] != unit:
            raise ProfileError(f"{p}: [{key}] unit is {entry['unit']!r}, expected {unit!r}")
        if not str(entry["source"]).strip():
            raise ProfileError(f"{p}: [{key}] has an empty source (cite it or write 'assumption: ...')")
        v = entry["value"]
        if key == "transmission.index_bits" and v == "log2d":
            pass
        elif isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
            raise ProfileError(f"{p}: [{key}] value must be a finite number >= 0, got {v!r}")
        constants[key] = Constant(v, entry["unit"], str(entry["source"]))
    placement = dict(data.get("placement", {}))
    for kind, rule in placement.items():
        if rule not in PLACEMENTS:
            raise ProfileError(f"{p}: [placement] {kind} = {rule!r}, expected one of {PLACEMENTS}")
    for kind in KINDS:
        if kind not in placement:
            raise ProfileError(f"{p}: [placement] lacks a rule for {kind!r}")
    prof = Profile(name=str(data.get("name", p.stem)), description=str(data.get("description", "")),
                   path=str(p), constants=constants, placement=placement)
    for tier in TIERS:
        if prof.c_mem(tier) <= 0 and prof.c_tx(2) <= 0:
            raise ProfileError(f"{p}: {tier} coordinates would cost 0 J; every c_i must be > 0")
    return prof


@dataclass(frozen=True)
class CostModel:
    """Per-coordinate costs of one model under one profile, grouped in cost classes."""

    profile: Profile
    d: int
    class_names: tuple[str, ...]  # "<kind>/<tier>", in order of first appearance
    class_tx: np.ndarray  # J per kept coordinate, transmission part, per class
    class_mem: np.ndarray  # J per kept coordinate, memory-update part, per class
    class_ids: np.ndarray = field(repr=False)  # (d,) int64: the class of each flattened coordinate
    class_counts: np.ndarray = field(repr=False)  # (n_classes,) coordinates per class

    @property
    def class_cost(self) -> np.ndarray:
        return self.class_tx + self.class_mem

    def costs(self) -> np.ndarray:
        """c as float64 numpy (d,)."""
        return self.class_cost[self.class_ids]

    def costs_torch(self, device: Any = "cpu"):
        import torch

        return torch.from_numpy(self.costs()).to(device)

    @property
    def mean(self) -> float:
        return float(np.dot(self.class_counts, self.class_cost) / self.d)

    @property
    def cv(self) -> float:
        """Coefficient of variation (population std / mean) of c over the d coordinates."""
        mu = self.mean
        var = float(np.dot(self.class_counts, (self.class_cost - mu) ** 2) / self.d)
        return math.sqrt(max(var, 0.0)) / mu

    @property
    def bits_per_coordinate(self) -> int:
        return self.profile.bits_per_coordinate(self.d)

    @property
    def dense_tx_per_coordinate(self) -> float:
        """J per coordinate of a dense upload: its value bits only (no index, as bytes_sent counts it)."""
        return int(self.profile.value("transmission.value_bits")) * float(self.profile.value("transmission.energy_per_bit"))

    def energy(self, counts: np.ndarray | list[int], dense: bool = False) -> tuple[float, float, float]:
        """(total, tx, mem) joules for ``counts[j]`` kept coordinates of class j.

        ``dense``: the upload is the whole vector, sent without indices, so the link
        is charged value bits per coordinate rather than the sparse value + index
        bits in ``class_tx`` (the memory update is the same).
        """
        counts = np.asarray(counts, dtype=np.int64)
        if dense:
            tx = float(counts.sum()) * self.dense_tx_per_coordinate
        else:
            tx = float(np.dot(counts, self.class_tx))
        mem = float(np.dot(counts, self.class_mem))
        return tx + mem, tx, mem

    def bytes_sent(self, kept: int, dense: bool) -> int:
        """Dense: d values, no indices. Sparse: kept * (value + index) bits, rounded up to bytes."""
        if dense:
            return self.d * int(self.profile.value("transmission.value_bits")) // 8
        return math.ceil(kept * self.bits_per_coordinate / 8)

    def summary(self) -> dict:
        return {
            "profile": self.profile.name,
            "d": self.d,
            "cost_cv": self.cv,
            "mean_cost_J": self.mean,
            "bits_per_coordinate": self.bits_per_coordinate,
            "classes": {
                n: {"count": int(self.class_counts[j]), "c_J": float(self.class_cost[j]),
                    "c_tx_J": float(self.class_tx[j]), "c_mem_J": float(self.class_mem[j])}
                for j, n in enumerate(self.class_names)
            },
        }


def build_cost_model(layout: list[dict], profile: Profile) -> CostModel:
    """Costs for a model's ``parameter_layout`` (see model.py), in flattened parameter order."""
    d = sum(e["numel"] for e in layout)
    c_tx = profile.c_tx(d)
    names: list[str] = []
    ids = []
    for e in layout:
        name = f"{e['kind']}/{profile.tier(e['kind'], e['layer_numel'])}"
        if name not in names:
            names.append(name)
        ids.append(np.full(e["numel"], names.index(name), dtype=np.int64))
    class_ids = np.concatenate(ids)
    mem = np.array([profile.c_mem(n.split("/")[1]) for n in names])
    return CostModel(profile=profile, d=d, class_names=tuple(names), class_tx=np.full(len(names), c_tx),
                     class_mem=mem, class_ids=class_ids,
                     class_counts=np.bincount(class_ids, minlength=len(names)))


def cost_model_for(model_name: str, profile: str | Profile) -> CostModel:
    from .model import build_model, parameter_layout

    prof = profile if isinstance(profile, Profile) else load_profile(profile)
    return build_cost_model(parameter_layout(build_model(model_name, 0)), prof)


def profile_report(models: tuple[str, ...] = ("cnn", "resnet18"), profiles: list[str] | None = None) -> list[dict]:
    """Cost CV and classes for every (model, profile) pair."""
    rows = []
    for prof_name in profiles or list_profiles():
        prof = load_profile(prof_name)
        for m in models:
            rows.append({"model": m, **cost_model_for(m, prof).summary()})
    return rows


def format_profile_report(rows: list[dict]) -> str:
    lines = [f"{'profile':<16} {'model':<9} {'d':>9} {'cost CV':>9} {'mean c (J)':>11}  classes (count @ c J)"]
    for r in rows:
        cls = ", ".join(f"{n}: {v['count']} @ {v['c_J']:.4g}" for n, v in r["classes"].items())
        lines.append(f"{r['profile']:<16} {r['model']:<9} {r['d']:>9} {r['cost_cv']:>9.4g} {r['mean_cost_J']:>11.4g}  {cls}")
    return "\n".join(lines)
