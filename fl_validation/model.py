"""Models: the compact CNN (CPU default) and ResNet-18 (CIFAR variant).

``layer_kind`` tags each parameter with the kind of layer that owns it
(``conv``, ``linear``, ``norm``); the energy profile maps kinds and layer sizes
to memory tiers, so the two models get different per-coordinate costs.
"""

from __future__ import annotations

import math

import torch
from torch import nn
import torch.nn.functional as F

MODELS = ("cnn", "resnet18")


class CompactCNN(nn.Module):
    """NIID-Bench's "simple CNN" (LeNet-5 class): 2 conv + 3 FC layers, 62,006 parameters.

    conv(3->6, 5x5) - ReLU - maxpool2 - conv(6->16, 5x5) - ReLU - maxpool2 -
    FC 400->120 - ReLU - FC 120->84 - ReLU - FC 84->10. 95 % of its parameters sit
    in FC layers, 5 % in convolutions: two cost classes with different memory tiers.
    """

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, in_planes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, planes, 1, stride=stride, bias=False), nn.BatchNorm2d(planes)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class ResNet18(nn.Module):
    """ResNet-18 for 32x32 inputs (3x3 stem, stride 1, no max-pool; He et al. 2016 / kuangliu)."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.in_planes = 64
        self.conv1 = nn.Conv2d(3, 64, 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.layer1 = self._make_layer(64, 2, 1)
        self.layer2 = self._make_layer(128, 2, 2)
        self.layer3 = self._make_layer(256, 2, 2)
        self.layer4 = self._make_layer(512, 2, 2)
        self.linear = nn.Linear(512, num_classes)

    def _make_layer(self, planes: int, blocks: int, stride: int) -> nn.Sequential:
        layers = []
        for s in [stride] + [1] * (blocks - 1):
            layers.append(BasicBlock(self.in_planes, planes, s))
            self.in_planes = planes
        return nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer4(self.layer3(self.layer2(self.layer1(out))))
        out = F.adaptive_avg_pool2d(out, 1).flatten(1)
        return self.linear(out)


def build_model(name: str, seed: int, num_classes: int = 10) -> nn.Module:
    """A freshly initialised model; the init depends only on ``seed``.

    Built on the meta device and initialised from ``torch.Generator().manual_seed(seed)``
    (global RNG untouched), with PyTorch's default rules in construction order, so the
    weights are bit-identical to ``torch.manual_seed(seed); Model()``.
    """
    if name not in MODELS:
        raise ValueError(f"model must be one of {MODELS}, got {name!r}")
    with torch.device("meta"):
        model = CompactCNN(num_classes) if name == "cnn" else ResNet18(num_classes)
    model = model.to_empty(device="cpu")
    _default_init_(model, torch.Generator().manual_seed(seed))
    return model


def _default_init_(model: nn.Module, gen: torch.Generator) -> None:
    """PyTorch's default ``reset_parameters`` for every layer, drawing from ``gen``."""
    for mod in model.modules():
        if isinstance(mod, (nn.Conv2d, nn.Linear)):
            # nn.Conv2d / nn.Linear.reset_parameters: kaiming_uniform(a=sqrt 5), bias U(+-1/sqrt fan_in)
            nn.init.kaiming_uniform_(mod.weight, a=math.sqrt(5), generator=gen)
            if mod.bias is not None:
                fan_in, _ = nn.init._calculate_fan_in_and_fan_out(mod.weight)
                bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
                nn.init.uniform_(mod.bias, -bound, bound, generator=gen)
        elif isinstance(mod, (nn.BatchNorm2d, nn.GroupNorm, nn.LayerNorm)):
            mod.reset_parameters()  # deterministic: ones, zeros, fresh running stats
        elif any(True for _ in mod.parameters(recurse=False)) or any(True for _ in mod.buffers(recurse=False)):
            raise TypeError(f"no init rule for {type(mod).__name__}: its tensors would stay uninitialised")


def layer_kind(module: nn.Module) -> str:
    if isinstance(module, nn.Conv2d):
        return "conv"
    if isinstance(module, nn.Linear):
        return "linear"
    if isinstance(module, (nn.BatchNorm2d, nn.GroupNorm, nn.LayerNorm)):
        return "norm"
    raise ValueError(f"no layer kind for module type {type(module).__name__}")


def parameter_layout(model: nn.Module) -> list[dict]:
    """One entry per trainable parameter tensor, in ``model.parameters()`` order.

    Keys: ``name``, ``numel``, ``kind`` (of the owning layer) and ``layer_numel``
    (all parameters of the owning layer, weight + bias: the unit the memory-tier
    rule looks at).
    """
    owner = {}
    for mname, mod in model.named_modules():
        direct = list(mod.named_parameters(recurse=False))
        if direct:
            kind = layer_kind(mod)
            layer_numel = sum(p.numel() for _, p in direct)
            for pname, p in direct:
                owner[id(p)] = (f"{mname}.{pname}" if mname else pname, kind, layer_numel)
    layout = []
    for p in model.parameters():
        name, kind, layer_numel = owner[id(p)]
        layout.append({"name": name, "numel": p.numel(), "kind": kind, "layer_numel": layer_numel})
    return layout
