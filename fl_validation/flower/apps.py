"""ServerApp and ClientApp on the project's model, Dirichlet partition and hardware profile.

Both sides build the same ``FLConfig`` from the Flower run config (or take one
given in code); client k trains exactly as client k of the ``fl_validation``
loop (same partition, ``derive_seed(seed, "train", round, k)``, ``local_train``),
and the server starts from ``build_model(model, derive_seed(seed, "init"))``.
Each node computes the partition from the full training set and keeps its own
part (``partition-id`` from the node config).
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Sequence

import torch
from flwr.app import ArrayRecord, ConfigRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp
from flwr.clientapp.typing import Mod
from flwr.serverapp import Grid, ServerApp
from flwr.serverapp.strategy import FedAvg

from ..client import local_train
from ..config import FLConfig
from ..dataset import CifarArrays
from ..model import build_model
from ..run import Federation, derive_seed, prepare_federation
from ..server import evaluate
from .common import SparsifySettings, fl_config_from_run_config
from .mod import cwmp_mod, partition_id
from .results import RunOutput, RunWriter
from .strategy import CwmpFedAvg

DataFn = Callable[[FLConfig], CifarArrays]


def default_data(cfg: FLConfig) -> CifarArrays:
    from ..dataset import load_cifar10

    return load_cifar10(cfg.data or None)


@dataclass(frozen=True)
class SourceLoader:
    """A picklable data_fn that (re)loads one source through the checksum-keyed cache.

    Use it for Ray: a closure over loaded arrays would ship them to every actor.
    """

    path: str
    any_size: bool = False

    def __call__(self, cfg: FLConfig) -> CifarArrays:
        from ..dataset import CANONICAL_COUNTS, load_cifar10

        return load_cifar10(self.path, expected_counts=None if self.any_size else CANONICAL_COUNTS)


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    prev = torch.get_num_threads()
    torch.set_num_threads(n if n > 0 else prev)
    try:
        yield
    finally:
        torch.set_num_threads(prev)


class _FederationCache:
    """One prepared federation per (config identity, data) in this process."""

    def __init__(self, data_fn: DataFn) -> None:
        self.data_fn = data_fn
        self._lock = threading.Lock()
        self._cache: dict[str, Federation] = {}
        self.dataset_info: dict[str, Any] = {}  # data.info() of the source behind the cached federation

    def __getstate__(self) -> dict[str, Any]:  # Ray pickles the ClientApp: ship no lock, no data
        return {"data_fn": self.data_fn}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["data_fn"])  # type: ignore[misc]

    def get(self, cfg: FLConfig) -> Federation:
        import json

        key = json.dumps({k: v for k, v in cfg.identity().items()
                          if k not in ("method", "mode", "sparsity", "greedy", "error_feedback", "rounds")},
                         sort_keys=True)
        with self._lock:
            if key not in self._cache:
                self._cache.clear()
                data = self.data_fn(cfg)
                self._cache[key] = prepare_federation(cfg, data, torch.device("cpu"))
                self.dataset_info = data.info()
            return self._cache[key]


def _new_model(cfg: FLConfig, seed: int) -> torch.nn.Module:
    m = build_model(cfg.model, seed)
    return m.to(memory_format=torch.channels_last) if cfg.channels_last else m


def make_client_app(cfg: FLConfig | None = None, data_fn: DataFn | None = None, *,
                    sparsify: bool = True, mods: Sequence[Mod] = ()) -> ClientApp:
    """ClientApp whose train function runs ``local_train``; ``sparsify`` installs ``cwmp_mod`` on it.

    ``cfg`` fixed in code, else built from ``context.run_config``. ``mods``: app-level
    mods (outside ``cwmp_mod``: they see the sparse reply). CPU only.
    """
    app = ClientApp(mods=list(mods))
    feds = _FederationCache(data_fn or default_data)
    models: dict[tuple[str, bool], torch.nn.Module] = {}

    def train(msg: Message, context: Context) -> Message:
        c = cfg or fl_config_from_run_config(context.run_config)
        k = partition_id(context)
        fed = feds.get(c)
        if not 0 <= k < len(fed.client_y):
            raise ValueError(f"partition-id {k} out of range [0, {len(fed.client_y)})")
        conf = msg.content.config_records["config"]
        rnd = int(conf["server-round"])
        key = (c.model, c.channels_last)
        if key not in models:
            models[key] = _new_model(c, 0)
        model = models[key]
        model.load_state_dict(msg.content.array_records["arrays"].to_torch_state_dict())
        gen = torch.Generator().manual_seed(derive_seed(c.seed, "train", rnd, k))
        with torch_threads(c.threads):
            loss, steps = local_train(model, fed.client_x[k], fed.client_y[k], c, gen)
        content = RecordDict({
            "arrays": ArrayRecord(model.state_dict()),
            "metrics": MetricRecord({"num-examples": int(fed.client_y[k].shape[0]), "train-loss": float(loss),
                                     "steps": int(steps)}),
        })
        return Message(content, reply_to=msg)

    app.train(mods=[cwmp_mod] if sparsify else [])(train)
    return app


@dataclass
class ServerResult:
    cfg: FLConfig
    arrays: ArrayRecord
    history: list[dict[str, Any]] = field(default_factory=list)  # per round: clients, sums
    evaluations: dict[int, dict[str, float]] = field(default_factory=dict)  # round -> test metrics
    wall_s_per_round: list[float] = field(default_factory=list)


def run_server(grid: Grid, cfg: FLConfig, data_fn: DataFn | None = None, *, sparse: bool = True,
               evaluate_each_round: bool = True, output: RunOutput | None = None,
               flower_run_id: int | None = None) -> ServerResult:
    """Run ``cfg.rounds`` rounds of (CWMP) FedAvg over every node of ``grid``.

    With ``output`` (needs ``sparse`` and ``evaluate_each_round``) the run directory of
    :mod:`.results` is written as the rounds go, and one line per round is printed
    (``flwr run --stream`` shows it). An exception is recorded in metrics.json, then re-raised.
    """
    import time

    model = _new_model(cfg, derive_seed(cfg.seed, "init"))
    kw: dict[str, Any] = dict(fraction_train=1.0, fraction_evaluate=0.0, min_train_nodes=cfg.n_clients,
                              min_available_nodes=cfg.n_clients)
    strategy: FedAvg = (CwmpFedAvg(model, SparsifySettings.from_fl_config(cfg), **kw) if sparse
                        else FedAvg(**kw))
    evaluations: dict[int, dict[str, float]] = {}
    times: list[float] = []
    t_last = [time.perf_counter()]
    if output is not None and not (sparse and evaluate_each_round):
        raise ValueError("run_server: output needs sparse=True and evaluate_each_round=True")
    feds = _FederationCache(data_fn or default_data)
    fed = feds.get(cfg) if evaluate_each_round else None
    writer = None
    if output is not None:
        writer = RunWriter(output, cfg, feds.dataset_info, fed.partition_info, flower_run_id,
                           grid=type(grid).__name__)
        writer.start()

    def evaluate_fn(server_round: int, arrays: ArrayRecord) -> MetricRecord | None:
        if server_round == 0:
            return None
        now = time.perf_counter()
        times.append(now - t_last[0])
        out = None
        if fed is not None:
            m = _new_model(cfg, 0)
            m.load_state_dict(arrays.to_torch_state_dict())
            te = time.perf_counter()
            with torch_threads(cfg.threads):
                acc, loss = evaluate(m, fed.x_test, fed.y_test, cfg.eval_batch)
            evaluations[server_round] = {"test_acc": acc, "test_loss": loss}
            out = MetricRecord({"test-acc": acc, "test-loss": loss})
            hist = getattr(strategy, "history", [])
            if writer is not None and hist and hist[-1]["round"] == server_round:
                rec = writer.add_round(hist[-1], acc, loss, times[-1], time.perf_counter() - te)
                print(f"[flower {cfg.run_id}] round {server_round}/{cfg.rounds} acc {acc:.4f} loss {loss:.3f} "
                      f"E {rec['energy_J']:.6g} J (cum {rec['cum_energy_J']:.6g} J) kept {rec['kept']} "
                      f"{times[-1]:.1f} s", flush=True)
        t_last[0] = time.perf_counter()
        return out

    try:
        result = strategy.start(grid, ArrayRecord(model.state_dict()), num_rounds=cfg.rounds,
                                train_config=ConfigRecord(), evaluate_fn=evaluate_fn)
    except BaseException as exc:
        if writer is not None:
            writer.fail(exc)
            print(f"[flower {cfg.run_id}] failed: {type(exc).__name__}: {exc} (recorded in "
                  f"{writer.run_dir / 'metrics.json'})", flush=True)
        raise
    if writer is not None:
        doc = writer.finish()
        print(f"[flower {cfg.run_id}] {'done' if doc['complete'] else 'stopped'} after round {doc['rounds_done']}/"
              f"{cfg.rounds}: acc {doc['final_test_acc']} total E {doc['total_energy_J']:.6g} J -> {writer.run_dir}",
              flush=True)
    return ServerResult(cfg=cfg, arrays=result.arrays, history=getattr(strategy, "history", []),
                        evaluations=evaluations, wall_s_per_round=times)


def make_server_app(cfg: FLConfig | None = None, data_fn: DataFn | None = None, *, sparse: bool = True,
                    on_result: Callable[[ServerResult], None] | None = None,
                    output: RunOutput | None = None) -> ServerApp:
    """ServerApp running :func:`run_server`; ``on_result`` receives the result (in-process/Ray driver).

    ``cfg`` given in code: results are written only to ``output`` (if given). ``cfg`` None
    (``flwr run``): config and output both from ``context.run_config`` (``results``,
    ``preset``, ``tag``; see :mod:`.results`), so every ``flwr run`` leaves a run directory.
    """
    app = ServerApp()

    @app.main()
    def main(grid: Grid, context: Context) -> None:
        c = cfg or fl_config_from_run_config(context.run_config)
        out = output
        if out is None and cfg is None and sparse:
            out = RunOutput.from_run_config(context.run_config)
        res = run_server(grid, c, data_fn, sparse=sparse, output=out, flower_run_id=context.run_id)
        if on_result is not None:
            on_result(res)
        if out is None:
            for r in res.history:
                print(f"[flower {c.run_id}] round {r['round']}: E {r.get('cwmp.energy-J', float('nan')):.4g} J, "
                      f"bytes {r.get('cwmp.bytes')}, kept {r.get('cwmp.kept')}, "
                      f"test acc {res.evaluations.get(r['round'], {}).get('test_acc')}")

    return app
