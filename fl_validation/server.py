"""Server side: FedAvg over sparse updates, and the evaluation fast path."""

from __future__ import annotations

import torch
from torch import nn

from .client import to_model_format
from .dataset import normalize


def flat_params(model: nn.Module) -> torch.Tensor:
    """All trainable parameters, flattened in ``model.parameters()`` order (a copy)."""
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()]).clone()


def set_flat_params(model: nn.Module, vec: torch.Tensor) -> None:
    i = 0
    with torch.no_grad():
        for p in model.parameters():
            n = p.numel()
            p.copy_(vec[i:i + n].view_as(p))
            i += n
    if i != vec.numel():
        raise ValueError(f"vector has {vec.numel()} entries, model has {i} parameters")


class FedAvgAggregator:
    """Accumulates ``sum_k (n_k / N) * sparse_update_k`` in float64, in client order.

    Only the trainable parameters are sparsified and charged energy. Floating
    buffers (BatchNorm running statistics; ResNet-18 only) are averaged densely
    with the same weights and are not charged; integer buffers take the maximum.
    """

    def __init__(self, global_vec: torch.Tensor, total_samples: int) -> None:
        self.global_vec = global_vec
        self.total = total_samples
        self.acc = torch.zeros_like(global_vec, dtype=torch.float64)
        self.buffers: dict[str, torch.Tensor] = {}

    def add(self, n_samples: int, sparse_update: torch.Tensor, client_model: nn.Module) -> None:
        w = n_samples / self.total
        self.acc.add_(sparse_update.double(), alpha=w)
        for name, buf in client_model.named_buffers():
            if buf.is_floating_point():
                if name not in self.buffers:
                    self.buffers[name] = torch.zeros_like(buf, dtype=torch.float64)
                self.buffers[name].add_(buf.double(), alpha=w)
            else:
                prev = self.buffers.get(name)
                self.buffers[name] = buf.clone() if prev is None else torch.maximum(prev, buf)

    def apply(self, model: nn.Module) -> None:
        new = (self.global_vec.double() + self.acc).to(self.global_vec.dtype)
        set_flat_params(model, new)
        with torch.no_grad():
            for name, buf in model.named_buffers():
                if name in self.buffers:
                    buf.copy_(self.buffers[name].to(buf.dtype))


@torch.no_grad()
def evaluate(model: nn.Module, x_u8: torch.Tensor, y: torch.Tensor, batch: int = 1000) -> tuple[float, float]:
    """(accuracy, mean cross-entropy) on uint8 NCHW images held in memory."""
    model.eval()
    correct, loss_sum = 0, 0.0
    for i in range(0, int(y.shape[0]), batch):
        out = model(to_model_format(normalize(x_u8[i:i + batch]), model))
        yb = y[i:i + batch]
        loss_sum += float(nn.functional.cross_entropy(out, yb, reduction="sum"))
        correct += int((out.argmax(1) == yb).sum())
    n = int(y.shape[0])
    return correct / n, loss_sum / n
