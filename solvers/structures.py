"""Benchmark and test instances for fast selection (issue 15): four cost structures.

Each builder returns (g, c) as float32 or float64 numpy arrays of length d,
deterministic in `seed`; `cwmp bench` times them at d = 1.1e7 and
tests/test_fast_structures.py checks every fast path against the reference on them.

  a_bench          the bench's own instance: 62 layers with lognormal scales, heavy
                   tails inside a layer, costs c_tx + c_mem(layer kind) jittered ±10 %
                   (gradient_like below; `cwmp bench` used it since issue 7)
  b_two_point      Gaussian g, costs in {1, 10} with P(c = 10) = 0.3 (massive cost ties)
  c_t3_lognormal   Student-t3 g, lognormal(0, 2) costs (heavy tails in both)
  d_resnet18       ResNet-18's parameter layout (62 tensors, 11,173,962 coordinates) with
                   the `on-device` profile's per-layer costs, and g with a lognormal scale
                   per tensor; below the full size the tensors shrink in proportion

solvers imports none of the other packages, so (d)'s layout and costs are data
here, with their source: fl_validation/model.py (ResNet18, parameter_layout) and
fl_validation/profiles/on-device.toml (Horowitz, ISSCC 2014, 45 nm). A test checks
them against fl_validation's own cost model, so a change there cannot go unseen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

# ResNet-18 (CIFAR variant) as fl_validation.model.parameter_layout(build_model("resnet18", 0))
# lists it: (name, numel, kind of the owning layer, numel of the owning layer).
RESNET18_LAYOUT: tuple[tuple[str, int, str, int], ...] = (
    ('conv1.weight', 1728, 'conv', 1728),
    ('bn1.weight', 64, 'norm', 128),
    ('bn1.bias', 64, 'norm', 128),
    ('layer1.0.conv1.weight', 36864, 'conv', 36864),
    ('layer1.0.bn1.weight', 64, 'norm', 128),
    ('layer1.0.bn1.bias', 64, 'norm', 128),
    ('layer1.0.conv2.weight', 36864, 'conv', 36864),
    ('layer1.0.bn2.weight', 64, 'norm', 128),
    ('layer1.0.bn2.bias', 64, 'norm', 128),
    ('layer1.1.conv1.weight', 36864, 'conv', 36864),
    ('layer1.1.bn1.weight', 64, 'norm', 128),
    ('layer1.1.bn1.bias', 64, 'norm', 128),
    ('layer1.1.conv2.weight', 36864, 'conv', 36864),
    ('layer1.1.bn2.weight', 64, 'norm', 128),
    ('layer1.1.bn2.bias', 64, 'norm', 128),
    ('layer2.0.conv1.weight', 73728, 'conv', 73728),
    ('layer2.0.bn1.weight', 128, 'norm', 256),
    ('layer2.0.bn1.bias', 128, 'norm', 256),
    ('layer2.0.conv2.weight', 147456, 'conv', 147456),
    ('layer2.0.bn2.weight', 128, 'norm', 256),
    ('layer2.0.bn2.bias', 128, 'norm', 256),
    ('layer2.0.shortcut.0.weight', 8192, 'conv', 8192),
    ('layer2.0.shortcut.1.weight', 128, 'norm', 256),
    ('layer2.0.shortcut.1.bias', 128, 'norm', 256),
    ('layer2.1.conv1.weight', 147456, 'conv', 147456),
    ('layer2.1.bn1.weight', 128, 'norm', 256),
    ('layer2.1.bn1.bias', 128, 'norm', 256),
    ('layer2.1.conv2.weight', 147456, 'conv', 147456),
    ('layer2.1.bn2.weight', 128, 'norm', 256),
    ('layer2.1.bn2.bias', 128, 'norm', 256),
    ('layer3.0.conv1.weight', 294912, 'conv', 294912),
    ('layer3.0.bn1.weight', 256, 'norm', 512),
    ('layer3.0.bn1.bias', 256, 'norm', 512),
    ('layer3.0.conv2.weight', 589824, 'conv', 589824),
    ('layer3.0.bn2.weight', 256, 'norm', 512),
    ('layer3.0.bn2.bias', 256, 'norm', 512),
    ('layer3.0.shortcut.0.weight', 32768, 'conv', 32768),
    ('layer3.0.shortcut.1.weight', 256, 'norm', 512),
    ('layer3.0.shortcut.1.bias', 256, 'norm', 512),
    ('layer3.1.conv1.weight', 589824, 'conv', 589824),
    ('layer3.1.bn1.weight', 256, 'norm', 512),
    ('layer3.1.bn1.bias', 256, 'norm', 512),
    ('layer3.1.conv2.weight', 589824, 'conv', 589824),
    ('layer3.1.bn2.weight', 256, 'norm', 512),
    ('layer3.1.bn2.bias', 256, 'norm', 512),
    ('layer4.0.conv1.weight', 1179648, 'conv', 1179648),
    ('layer4.0.bn1.weight', 512, 'norm', 1024),
    ('layer4.0.bn1.bias', 512, 'norm', 1024),
    ('layer4.0.conv2.weight', 2359296, 'conv', 2359296),
    ('layer4.0.bn2.weight', 512, 'norm', 1024),
    ('layer4.0.bn2.bias', 512, 'norm', 1024),
    ('layer4.0.shortcut.0.weight', 131072, 'conv', 131072),
    ('layer4.0.shortcut.1.weight', 512, 'norm', 1024),
    ('layer4.0.shortcut.1.bias', 512, 'norm', 1024),
    ('layer4.1.conv1.weight', 2359296, 'conv', 2359296),
    ('layer4.1.bn1.weight', 512, 'norm', 1024),
    ('layer4.1.bn1.bias', 512, 'norm', 1024),
    ('layer4.1.conv2.weight', 2359296, 'conv', 2359296),
    ('layer4.1.bn2.weight', 512, 'norm', 1024),
    ('layer4.1.bn2.bias', 512, 'norm', 1024),
    ('linear.weight', 5120, 'linear', 5130),
    ('linear.bias', 10, 'linear', 5130),
)
RESNET18_D = 11_173_962  # sum of the numels above

# fl_validation/profiles/on-device.toml: c = c_tx + c_mem(tier), c_tx = 0 (link not charged),
# c_mem = accesses_per_update * access(tier) + adds_per_update * fp32_add, Horowitz ISSCC 2014 45 nm.
_ON_DEVICE = dict(dram_access=640e-12, sram_access=5e-12, fp32_add=0.9e-12, accesses_per_update=2,
                  adds_per_update=1, onchip_capacity=65536, bytes_per_param=4)
# [placement]: conv "by-size" (sram iff the layer's fp32 parameters fit onchip_capacity), linear dram, norm sram


def on_device_tier(kind: str, layer_numel: int) -> str:
    """The on-device profile's memory tier for a layer (its [placement] rule)."""
    if kind == "conv":
        fits = layer_numel * _ON_DEVICE["bytes_per_param"] <= _ON_DEVICE["onchip_capacity"]
        return "sram" if fits else "dram"
    return "dram" if kind == "linear" else "sram"


def on_device_cost(tier: str) -> float:
    """J per kept coordinate in `tier`, computed as fl_validation.energy.Profile.c_mem does (c_tx = 0)."""
    access = float(_ON_DEVICE[f"{tier}_access"])
    return (float(_ON_DEVICE["accesses_per_update"]) * access
            + float(_ON_DEVICE["adds_per_update"]) * float(_ON_DEVICE["fp32_add"]))


@dataclass(frozen=True)
class Structure:
    """One named cost structure; `make(d, seed, dtype)` -> (g, c) numpy arrays."""

    name: str
    description: str
    make: Callable[[int, int, Any], tuple[np.ndarray, np.ndarray]]
    full_d: int  # the size `cwmp bench` times it at


def gradient_like(d: int, seed: int, *, classes: int | None = None):
    """A gradient-like update (heavy-tailed, per-layer scale) with per-coordinate costs, float32 torch.

    classes=None: costs c_tx + c_mem(layer) jittered per coordinate (general costs);
    classes=L: exactly L cost values, one per layer kind (FL's structure, C9).
    """
    import torch

    gen = torch.Generator().manual_seed(seed)
    n_layers = 62  # ResNet-18 has 62 parameter tensors
    edges = torch.linspace(0, d, n_layers + 1).long()
    g = torch.empty(d)
    kind = torch.empty(d, dtype=torch.long)
    for i in range(n_layers):
        a, b = int(edges[i]), int(edges[i + 1])
        scale = float(torch.exp(torch.randn(1, generator=gen) * 1.5)) * 1e-3
        g[a:b] = torch.randn(b - a, generator=gen) * scale
        kind[a:b] = i % 3
    g *= torch.exp(torch.randn(d, generator=gen) * 0.5)  # heavy tails within a layer
    c_tx = 1.0e-9  # J per transmitted coordinate
    c_mem = torch.tensor([0.3e-9, 1.1e-9, 2.4e-9])  # J per memory update, by layer kind
    if classes is None:
        c = (c_tx + c_mem[kind]) * (1 + 0.1 * torch.rand(d, generator=gen))
    else:
        c = c_tx + c_mem[kind % classes] if classes > 1 else torch.full((d,), c_tx)
    return g.contiguous(), c.float().contiguous()


def _a_bench(d: int, seed: int, dtype: Any) -> tuple[np.ndarray, np.ndarray]:
    g, c = gradient_like(d, seed)
    return g.numpy().astype(dtype), c.numpy().astype(dtype)


def _b_two_point(d: int, seed: int, dtype: Any) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    g = rng.standard_normal(d, dtype=np.float32).astype(dtype)
    c = np.where(rng.random(d, dtype=np.float32) < 0.3, 10.0, 1.0).astype(dtype)
    return g, c


def _c_t3_lognormal(d: int, seed: int, dtype: Any) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    g = rng.standard_t(3, d).astype(dtype)
    c = rng.lognormal(0.0, 2.0, d).astype(dtype)
    return g, c


def resnet18_sizes(d: int) -> np.ndarray:
    """Per-tensor sizes: ResNet-18's at d = RESNET18_D, else shrunk in proportion (≥ 1 each) to sum to d."""
    full = np.array([n for _, n, _, _ in RESNET18_LAYOUT], dtype=np.int64)
    if d == RESNET18_D:
        return full
    if d < len(full):
        raise ValueError(f"d_resnet18 needs d >= {len(full)} (one coordinate per tensor), got d={d}")
    sizes = np.maximum(1, np.floor(full * (d / RESNET18_D)).astype(np.int64))
    sizes[int(np.argmax(sizes))] += d - int(sizes.sum())  # the largest tensor absorbs the remainder
    return sizes


def resnet18_costs(d: int = RESNET18_D) -> np.ndarray:
    """float64 costs of the on-device profile over ResNet-18's layout (layer tiers from the full sizes)."""
    sizes = resnet18_sizes(d)
    per = np.array([on_device_cost(on_device_tier(k, ln)) for _, _, k, ln in RESNET18_LAYOUT])
    return np.repeat(per, sizes)


def _d_resnet18(d: int, seed: int, dtype: Any) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    sizes = resnet18_sizes(d)
    scales = np.exp(rng.standard_normal(len(sizes)) * 1.5) * 1e-3  # one lognormal scale per tensor
    g = rng.standard_normal(d, dtype=np.float32) * np.repeat(scales, sizes).astype(np.float32)
    return g.astype(dtype), resnet18_costs(d).astype(dtype)


STRUCTURES: dict[str, Structure] = {s.name: s for s in (
    Structure("a_bench", "the bench's instance: 62 layers, lognormal scales, heavy tails, costs jittered ±10 %",
              _a_bench, 11_000_000),
    Structure("b_two_point", "Gaussian g, costs in {1, 10}, P(c = 10) = 0.3", _b_two_point, 11_000_000),
    Structure("c_t3_lognormal", "Student-t3 g, lognormal(0, 2) costs", _c_t3_lognormal, 11_000_000),
    Structure("d_resnet18", "ResNet-18 layout (11,173,962 coordinates), on-device per-layer costs, "
              "per-tensor lognormal scales", _d_resnet18, RESNET18_D),
)}


def make(name: str, d: int, seed: int = 0, dtype: Any = np.float32) -> tuple[np.ndarray, np.ndarray]:
    """(g, c) of structure `name` at size d (numpy, `dtype`)."""
    if name not in STRUCTURES:
        raise ValueError(f"structure must be one of {tuple(STRUCTURES)}, got {name!r}")
    return STRUCTURES[name].make(int(d), int(seed), dtype)
