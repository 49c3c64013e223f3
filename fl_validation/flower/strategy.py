"""``CwmpFedAvg``: Flower FedAvg that understands CWMP sparse replies.

- ``configure_train`` keeps a copy of the global arrays and adds the ``cwmp.*``
  settings to the train config (the mod reads them).
- ``aggregate_train`` checks every reply's marker and layout (a
  :class:`~.wire.SparseFormatError` naming the client, in the same round),
  rebuilds each dense update from the kept global model, and aggregates with
  ``fl_validation.server.FedAvgAggregator`` (float64, weights n_k / N, in
  partition-id order: the same arithmetic as the ``fl_validation`` loop).
  Energy, bytes and kept counts are summed over clients, not averaged.
- ``history``: per round, the per-client metrics and the sums; ``records`` holds each
  client's entry in the ``fl_validation`` loop's metrics.json format (from the mod's
  ``cwmp.stats``), ``train_s``/``select_s`` the clients' summed times.
"""

from __future__ import annotations

import copy
import json
import logging
import math
from typing import Any, Iterable

import torch
from flwr.app import ArrayRecord, ConfigRecord, Message, MetricRecord
from flwr.serverapp import Grid
from flwr.serverapp.strategy import FedAvg
from torch import nn

from ..server import FedAvgAggregator
from . import wire
from .common import SparsifySettings, flatten, model_setup
from .mod import ARRAYS_KEY, METRICS_KEY, STATS_KEY

log = logging.getLogger(__name__)
SUMMED = ("cwmp.energy-J", "cwmp.energy-tx-J", "cwmp.energy-mem-J", "cwmp.bytes", "cwmp.kept")


def sum_train_metrics(records: list[Any], weighted_by_key: str) -> MetricRecord:
    """Energy, bytes, kept and num-examples summed; other metrics averaged by ``weighted_by_key``."""
    mets = [next(iter(r.metric_records.values())) for r in records]
    total = sum(float(m[weighted_by_key]) for m in mets)
    out: dict[str, Any] = {}
    for key in mets[0].keys():
        vals = [m[key] for m in mets]
        if key in SUMMED or key == weighted_by_key:
            out[key] = sum(vals) if all(isinstance(v, int) for v in vals) else math.fsum(float(v) for v in vals)
        elif key == "cwmp.partition-id":
            continue
        elif all(isinstance(v, (int, float)) for v in vals):
            out[key] = math.fsum(float(v) * float(m[weighted_by_key]) for v, m in zip(vals, mets)) / total
    return MetricRecord(out)


class CwmpFedAvg(FedAvg):
    """FedAvg over CWMP sparse replies (see module doc). ``model``: an instance of ``settings.model``."""

    def __init__(self, model: nn.Module, settings: SparsifySettings, *, allow_failures: bool = False,
                 **fedavg_kwargs: Any) -> None:
        fedavg_kwargs.setdefault("train_metrics_aggr_fn", sum_train_metrics)
        super().__init__(**fedavg_kwargs)
        self.model = model
        self.settings = settings
        self.allow_failures = allow_failures
        self.setup = model_setup(settings.model, settings.profile)
        self._global: dict[str, torch.Tensor] | None = None
        self._scratch = copy.deepcopy(model)
        self.history: list[dict[str, Any]] = []

    def configure_train(self, server_round: int, arrays: ArrayRecord, config: ConfigRecord,
                        grid: Grid) -> Iterable[Message]:
        self._global = {k: t.clone() for k, t in arrays.to_torch_state_dict().items()}
        for k, v in self.settings.to_config().items():
            config[k] = v
        return super().configure_train(server_round, arrays, config, grid)

    def aggregate_train(self, server_round: int,
                        replies: Iterable[Message]) -> tuple[ArrayRecord | None, MetricRecord | None]:
        valid, errors = self._check_and_log_replies(list(replies), is_train=True, validate=False)
        if errors and not self.allow_failures:
            reasons = "; ".join(f"node {m.metadata.src_node_id}: {m.error.reason}" for m in errors)
            raise RuntimeError(f"round {server_round}: {len(errors)} client(s) failed: {reasons}")
        if not valid:
            return None, None
        if self._global is None:
            raise RuntimeError("aggregate_train before configure_train: no global model kept")
        st = self.setup
        rows = []
        for m in valid:
            who = f"round {server_round}, node {m.metadata.src_node_id}"
            recs = m.content.metric_records
            if METRICS_KEY not in recs or self.weighted_by_key not in recs[METRICS_KEY]:
                raise wire.SparseFormatError(f"{who}: reply lacks MetricRecord {METRICS_KEY!r} with "
                                             f"{self.weighted_by_key!r}")
            met = dict(recs[METRICS_KEY])
            if "cwmp.partition-id" in met:
                who = f"round {server_round}, client {met['cwmp.partition-id']} (node {m.metadata.src_node_id})"
            if ARRAYS_KEY not in m.content.array_records:
                raise wire.SparseFormatError(f"{who}: reply has no ArrayRecord {ARRAYS_KEY!r}")
            ar = m.content.array_records[ARRAYS_KEY]
            dec = wire.decode({k: ar[k].numpy() for k in ar.keys()}, st.param_names, st.param_numels,
                              st.buffer_names, who)
            if "cwmp.kept" in met and int(met["cwmp.kept"]) != dec.kept:
                raise wire.SparseFormatError(f"{who}: metrics say cwmp.kept={met['cwmp.kept']}, "
                                             f"arrays hold {dec.kept} indices")
            n = met[self.weighted_by_key]
            if isinstance(n, bool) or not isinstance(n, (int, float)) or n <= 0 or int(n) != n:
                raise wire.SparseFormatError(f"{who}: {self.weighted_by_key}={n!r}, expected a positive integer")
            if STATS_KEY not in m.content.config_records or "json" not in m.content.config_records[STATS_KEY]:
                raise wire.SparseFormatError(f"{who}: reply lacks ConfigRecord {STATS_KEY!r} with 'json' "
                                             "(is cwmp_mod installed on the ClientApp's train function?)")
            rows.append((int(met.get("cwmp.partition-id", m.metadata.src_node_id)), int(n), dec, met, m))
        rows.sort(key=lambda r: r[0])
        total = sum(r[1] for r in rows)
        global_vec = flatten(self._global, st.param_names)
        agg = FedAvgAggregator(global_vec, total)
        for _, n, dec, _, _ in rows:
            with torch.no_grad():
                for name, buf in self._scratch.named_buffers():
                    buf.copy_(torch.from_numpy(dec.buffers[name].copy()))
            agg.add(n, dec.dense, self._scratch)
        self.model.load_state_dict(self._global)
        agg.apply(self.model)
        arrays = ArrayRecord(self.model.state_dict())
        metrics = self.train_metrics_aggr_fn([r[4].content for r in rows], self.weighted_by_key)
        records = []
        for pid, n, _, met, m in rows:
            stats = json.loads(str(m.content.config_records[STATS_KEY]["json"]))
            records.append({"client": pid, "n_samples": n, "steps": int(met.get("steps", 0)),
                            "train_loss": float(met.get("train-loss", float("nan"))), **stats})
        times = {key: math.fsum(r.pop(key, 0.0) for r in records) for key in ("train_s", "select_s")}
        self.history.append({
            "round": server_round,
            "clients": [{"client": pid, "n_samples": n, **met} for pid, n, _, met, _ in rows],
            "records": records,
            **times,
            **dict(metrics),
        })
        return arrays, metrics
