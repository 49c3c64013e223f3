"""``cwmp_mod``: a Flower client mod that sparsifies the reply of a train message.

The wrapped train function returns the trained model in ``arrays``; the mod
forms the update ``trained - global`` (global = the incoming arrays, copied
before training), adds the error-feedback residual kept in ``Context.state``
if enabled, selects coordinates with ``fl_validation.client.sparsify`` (the
same code and cost model as the ``fl_validation`` loop; selection RNG seeded
``derive_seed(seed, "select", round, partition_id)``), and replaces the reply's
arrays with the sparse format of :mod:`.wire`. Its MetricRecord gets
``cwmp.energy-J``, ``cwmp.energy-tx-J``, ``cwmp.energy-mem-J``, ``cwmp.bytes``,
``cwmp.kept``, ``cwmp.retained-frac`` and ``cwmp.partition-id``; its ConfigRecord
``cwmp.stats`` holds, under ``json``, ``sparsify``'s full per-client record (the one
the ``fl_validation`` loop writes to metrics.json) plus ``train_s``/``select_s``.

Settings come from the message's ConfigRecord (``cwmp.*``, sent by
:class:`~.strategy.CwmpFedAvg`); without them the reply passes unchanged.
"""

from __future__ import annotations

import json
import logging
import time

import numpy as np
import torch
from flwr.app import Array, ArrayRecord, ConfigRecord, Context, Message, MessageType, MetricRecord
from flwr.clientapp.typing import ClientAppCallable

from ..client import sparsify
from ..run import derive_seed
from . import wire
from .common import SparsifySettings, flatten, model_setup

RESIDUAL_KEY = "cwmp.residual"
ARRAYS_KEY = "arrays"
METRICS_KEY = "metrics"
CONFIG_KEY = "config"
STATS_KEY = "cwmp.stats"  # ConfigRecord {"json": ...}: JSON keeps None, nested dicts and exact floats
log = logging.getLogger(__name__)


def partition_id(context: Context) -> int:
    pid = context.node_config.get("partition-id")
    if pid is None:
        raise KeyError(f"node {context.node_id}: node_config has no 'partition-id' "
                       "(set it with --node-config \"partition-id=K num-partitions=N\")")
    return int(pid)


def cwmp_mod(msg: Message, context: Context, call_next: ClientAppCallable) -> Message:
    """Client mod (``ClientApp(mods=[cwmp_mod])`` or ``@app.train(mods=[cwmp_mod])``)."""
    if not str(msg.metadata.message_type).startswith(MessageType.TRAIN):
        return call_next(msg, context)
    conf = msg.content.config_records.get(CONFIG_KEY)
    settings = SparsifySettings.from_config(dict(conf) if conf is not None else {})
    if settings is None:
        log.warning("cwmp_mod: train message without cwmp.* config; reply left dense")
        return call_next(msg, context)
    setup = model_setup(settings.model, settings.profile)
    global_state = {k: t.clone() for k, t in msg.content.array_records[ARRAYS_KEY].to_torch_state_dict().items()}
    t_train = time.perf_counter()
    reply = call_next(msg, context)
    t_train = time.perf_counter() - t_train
    if reply.has_error():
        return reply
    k = partition_id(context)
    rnd = int(conf["server-round"]) if conf is not None and "server-round" in conf else 0
    trained = reply.content.array_records[ARRAYS_KEY].to_torch_state_dict()
    g = flatten(trained, setup.param_names) - flatten(global_state, setup.param_names)
    res_vec = None
    if settings.error_feedback and RESIDUAL_KEY in context.state.array_records:
        res_vec = torch.from_numpy(context.state.array_records[RESIDUAL_KEY]["residual"].numpy().copy())
        g = g + res_vec
    t_select = time.perf_counter()
    gen = torch.Generator().manual_seed(derive_seed(settings.seed, "select", rnd, k))
    res = sparsify(g, settings, setup.cost, setup.c_t, setup.class_ids_t, gen)
    sparse = torch.where(res.mask, g, torch.zeros((), dtype=g.dtype))
    if settings.error_feedback:
        context.state[RESIDUAL_KEY] = ArrayRecord({"residual": Array((g - sparse).numpy().copy())})
    buffers = {b: trained[b].detach().cpu().numpy().copy() for b in setup.buffer_names}
    enc = wire.encode(g, res.mask, setup.param_names, setup.param_numels, buffers)
    arrays = ArrayRecord({key: Array(np.ascontiguousarray(a)) for key, a in enc.items()})
    old = reply.content.metric_records.get(METRICS_KEY)
    metrics = MetricRecord(dict(old) if old is not None else {})
    s = res.stats
    metrics.update({
        "cwmp.energy-J": float(s["energy_J"]), "cwmp.energy-tx-J": float(s["energy_tx_J"]),
        "cwmp.energy-mem-J": float(s["energy_mem_J"]), "cwmp.bytes": int(s["bytes"]),
        "cwmp.kept": int(s["kept"]), "cwmp.retained-frac": float(s["retained_frac"]),
        "cwmp.partition-id": k,
    })
    reply.content[ARRAYS_KEY] = arrays
    reply.content[METRICS_KEY] = metrics
    reply.content[STATS_KEY] = ConfigRecord({"json": json.dumps(
        {**s, "train_s": t_train, "select_s": time.perf_counter() - t_select})})
    return reply
