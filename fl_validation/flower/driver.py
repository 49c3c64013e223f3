"""Drivers: :func:`run_inprocess` (no Ray, no network: tests/CI) and :func:`run_ray` (Flower's Ray simulation).

``InProcessGrid`` is a ``flwr.serverapp.Grid`` that hands each pushed message
straight to ``client_app(message, context)`` in this process, one node per
partition (``node_config = {"partition-id": k, "num-partitions": n}``, a
``Context.state`` per node kept across rounds). It sets ``TaskIdentity`` and
message ids the way Flower's own in-memory grid does; those are flwr
internals, hence the ``flwr==1.42.*`` pin. A client exception propagates (the
round fails loudly) instead of becoming an error reply.
"""

from __future__ import annotations

import os
import time
import uuid
from typing import Any, Iterable

from flwr.app import Context, Message, RecordDict
from flwr.clientapp import ClientApp
from flwr.serverapp import Grid, ServerApp

from ..config import FLConfig
from .apps import DataFn, ServerResult, make_client_app, make_server_app
from .results import RunOutput

QUIET_ENV = {"FLWR_TELEMETRY_ENABLED": "0", "RAY_USAGE_STATS_ENABLED": "0", "FLWR_DISABLE_UPDATE_CHECK": "1"}
NODE_ID_BASE = 1000
SERVER_NODE_ID = 1  # flwr.common.constant.SUPERLINK_NODE_ID


def quiet_environment() -> None:
    """Telemetry and update checks off (call before starting Flower)."""
    for k, v in QUIET_ENV.items():
        os.environ.setdefault(k, v)


class InProcessGrid(Grid):
    def __init__(self, client_app: ClientApp, num_nodes: int, run_config: dict[str, Any] | None = None,
                 run_id: int = 1) -> None:
        self.client_app = client_app
        self.run_id = run_id
        self._run: Any = None
        self.contexts = {
            NODE_ID_BASE + k: Context(run_id=run_id, node_id=NODE_ID_BASE + k,
                                      node_config={"partition-id": k, "num-partitions": num_nodes},
                                      state=RecordDict(), run_config=dict(run_config or {}))
            for k in range(num_nodes)
        }
        self._replies: dict[str, Message] = {}

    def set_run(self, run: Any) -> None:
        self._run = run

    @property
    def run(self) -> Any:
        return self._run

    def create_message(self, content: RecordDict, message_type: str, dst_node_id: int, group_id: str,
                       ttl: float | None = None) -> Message:
        return Message(content, dst_node_id, message_type, ttl=ttl, group_id=group_id)

    def get_node_ids(self) -> Iterable[int]:
        return list(self.contexts)

    def push_messages(self, messages: Iterable[Message]) -> Iterable[str]:
        ids = []
        for msg in messages:
            if msg.metadata.dst_node_id not in self.contexts:
                raise ValueError(f"message for unknown node {msg.metadata.dst_node_id}")
            mid = str(uuid.uuid4())
            msg.metadata.__dict__["_message_id"] = mid
            reply = self.client_app(msg, self.contexts[msg.metadata.dst_node_id])
            self._replies[mid] = reply
            ids.append(mid)
        return ids

    def pull_messages(self, message_ids: Iterable[str]) -> Iterable[Message]:
        return [self._replies.pop(i) for i in list(message_ids) if i in self._replies]

    def send_and_receive(self, messages: Iterable[Message], *, timeout: float | None = None) -> Iterable[Message]:
        return self.pull_messages(self.push_messages(messages))


def run_inprocess(cfg: FLConfig, data_fn: DataFn | None = None, *, sparse: bool = True,
                  server_app: ServerApp | None = None, client_app: ClientApp | None = None,
                  output: RunOutput | None = None) -> ServerResult:
    """Run the Flower apps for ``cfg`` in this process (no Ray); returns the server's result.

    ``output``: also write the run directory there (see :mod:`.results`)."""
    from flwr.supercore.task_identity import TaskIdentity

    quiet_environment()
    out: list[ServerResult] = []
    sapp = server_app or make_server_app(cfg, data_fn, sparse=sparse, on_result=out.append, output=output)
    capp = client_app or make_client_app(cfg, data_fn, sparsify=sparse)
    grid = InProcessGrid(capp, cfg.n_clients)
    saved = (TaskIdentity._task_id, TaskIdentity._run_id, TaskIdentity._node_id)
    TaskIdentity.task_id, TaskIdentity.run_id, TaskIdentity.node_id = 1, grid.run_id, SERVER_NODE_ID
    try:
        sapp(grid, Context(run_id=grid.run_id, node_id=SERVER_NODE_ID, node_config={}, state=RecordDict(),
                           run_config={}))
    finally:
        TaskIdentity._task_id, TaskIdentity._run_id, TaskIdentity._node_id = saved
    if not out:
        raise RuntimeError("server app returned no result (pass on_result to a custom server_app)")
    return out[0]


def run_ray(cfg: FLConfig, data_fn: DataFn | None = None, *, num_cpus: int = 2,
            cpus_per_client: float = 1.0, sparse: bool = True,
            output: RunOutput | None = None) -> tuple[ServerResult | None, float]:
    """Flower's Ray simulation (needs ``flwr[simulation]``); returns (result, wall seconds).

    The ServerApp runs in this process, so its result is returned when Flower
    runs it here; ``None`` when it does not.
    """
    quiet_environment()
    from flwr.simulation import run_simulation

    out: list[ServerResult] = []
    t0 = time.perf_counter()
    run_simulation(
        server_app=make_server_app(cfg, data_fn, sparse=sparse, on_result=out.append, output=output),
        client_app=make_client_app(cfg, data_fn, sparsify=sparse),
        num_supernodes=cfg.n_clients,
        backend_config={"client_resources": {"num_cpus": cpus_per_client, "num_gpus": 0.0},
                        "init_args": {"num_cpus": num_cpus, "include_dashboard": False}},
    )
    return (out[0] if out else None), time.perf_counter() - t0
