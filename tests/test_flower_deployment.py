"""CWMP on a real Flower deployment: one ``flower-superlink``, two ``flower-supernode``s on 127.0.0.1.

Through the ``cwmp`` command (``cwmp fl --engine flower --flower-backend deployment``), on a
tiny subset of the shipped CIFAR-10. Oracle: the in-process driver (``run_inprocess``, no
network) on the same config and seeds, itself checked against ``fl_validation``'s loop in
tests/test_flower_cwmp.py. Every process started here is stopped by its process group,
also when a test fails (fixture finalizer); telemetry, update checks and runtime
dependency installation are off; FLWR_HOME is a temporary folder.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("flwr")

# The two end-to-end tests: marked `deployment`, 120 s each (fixture setup and teardown included).
E2E = [pytest.mark.deployment, pytest.mark.timeout(120)]


def e2e(test):
    for mark in E2E:
        test = mark(test)
    return test

REPO = Path(__file__).resolve().parents[1]
RUN_ID = "cwmp-l2_budget_s0.10_seed0"
# 2 rounds of CWMP g^2/c in budget mode (B = Top-K's energy at 10 %), 2 clients, 200 training images.
SMALL = ["--preset", "smoke", "--runs", RUN_ID, "--n-clients", "2", "--min-client-size", "5",
         "--train-subset", "200", "--test-subset", "100", "--batch-size", "32", "--rounds", "2",
         "--local-epochs", "1", "--quiet"]
QUIET_ENV = {"FLWR_TELEMETRY_ENABLED": "0", "FLWR_DISABLE_UPDATE_CHECK": "1", "RAY_USAGE_STATS_ENABLED": "0",
             "FLWR_DISABLE_RUNTIME_DEPENDENCY_INSTALLATION": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
             # SuperExec polls for new ServerApp/ClientApp tasks every 1 s by default (flwr 1.42)
             "FLWR_SUPEREXEC_TASK_POLL_INTERVAL": "0.2"}


def _shipped_data() -> Path:
    """The CIFAR-10 source ``cwmp fl`` itself loads by default ($CWMP_CIFAR10, else the shipped archive
    in ``shared/`` beside the repository). Missing: a skip on a developer machine, a failure under
    CI=true (CI runs in a fresh clone with ``shared/`` beside it; a skip there would hide both tests
    behind a passing suite), as in tests/test_fl_dataset.py."""
    from fl_validation import dataset as ds

    try:
        return ds.resolve_data_path(None)
    except ds.DatasetError as exc:
        if os.environ.get("CI", "").strip().lower() in ("true", "1", "yes"):
            pytest.fail(f"CI=true but the CIFAR-10 data were not found: {exc}")
        pytest.skip(f"CIFAR-10 data not present: {exc}")


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _wait_listening(port: int, proc: subprocess.Popen, log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited {proc.returncode}: {log.read_text()[-2000:]}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout} s: {log.read_text()[-2000:]}")


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stop_groups(procs: list[subprocess.Popen], grace: float = 5.0) -> list[str]:
    """SIGTERM to every process group (SuperLink/SuperNode and the SuperExec, ServerApp and ClientApp
    processes they started), SIGKILL to all of them after ``grace`` s (in ``finally``: also when the
    wait is interrupted, e.g. by pytest-timeout); returns the groups that survive even that."""
    pgids = [p.pid for p in procs]  # start_new_session: each group id is its leader's pid

    def signal_all(sig: int) -> None:
        for g in pgids:
            try:
                os.killpg(g, sig)
            except ProcessLookupError:
                pass

    def reap_until(deadline: float) -> None:
        while time.monotonic() < deadline and any(_group_alive(g) for g in pgids):
            for p in procs:
                p.poll()  # reap the leaders, or they stay zombies in their group
            time.sleep(0.1)

    try:
        signal_all(signal.SIGTERM)
        reap_until(time.monotonic() + grace)
    finally:
        signal_all(signal.SIGKILL)
        reap_until(time.monotonic() + 5.0)
    for p in procs:
        p.poll()
    return [f"{p.args[0]} (pgid {p.pid})" for p in procs if _group_alive(p.pid)]


@pytest.fixture
def federation(tmp_path, request):
    """A SuperLink and 2 SuperNodes (partition-id 0, 1) on free loopback ports; returns the SuperLink address."""
    _shipped_data()
    env = {**os.environ, **QUIET_ENV, "FLWR_HOME": str(tmp_path / "flwr-home")}
    link, node0, node1 = _free_ports(3)
    bindir = Path(sys.executable).parent
    exe = {n: str(bindir / n) if (bindir / n).is_file() else (shutil.which(n) or n)
           for n in ("flower-superlink", "flower-supernode")}
    procs: list[subprocess.Popen] = []
    logs: list[Path] = []

    def start(name: str, cmd: list[str]) -> subprocess.Popen:
        log = tmp_path / f"{name}.log"
        with log.open("w") as fh:
            p = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=fh, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, start_new_session=True)
        procs.append(p)
        logs.append(log)
        return p

    def stop_all() -> None:
        survivors = _stop_groups(procs)
        for log in logs:  # captured: pytest shows it when the test fails
            print(f"--- {log.name}\n{log.read_text()[-3000:]}")
        assert not survivors, f"still running after SIGKILL: {survivors}"

    request.addfinalizer(stop_all)  # registered before the first start: runs however the test ends
    sl = start("superlink", [exe["flower-superlink"], "--insecure", "--disable-runtime-dependency-installation",
                             "--host", "127.0.0.1", "--port", str(link)])
    _wait_listening(link, sl, logs[0])
    # Both SuperNodes at once, once the SuperLink listens (they back off exponentially while it does not).
    nodes = [start(f"supernode{k}", [exe["flower-supernode"], "--insecure", "--superlink", f"127.0.0.1:{link}",
                                     "--host", "127.0.0.1", "--port", str(port),
                                     "--node-config", f"partition-id={k} num-partitions=2"])
             for k, port in enumerate((node0, node1))]
    for port, p, log in zip((node0, node1), nodes, logs[1:]):
        _wait_listening(port, p, log)

    def cwmp(args: list[str]) -> tuple[int, str, str]:
        """The ``cwmp`` console script (``python -m cwmp_cli`` if not installed), in its own process group
        (it and the ``flwr run`` it starts), stopped by the finalizer if the test ends first."""
        script = Path(sys.executable).with_name("cwmp")
        cmd = [str(script)] if script.is_file() else [sys.executable, "-m", "cwmp_cli"]
        p = subprocess.Popen(cmd + args, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             stdin=subprocess.DEVNULL, text=True, start_new_session=True)
        procs.append(p)
        out, err = p.communicate()
        return p.returncode, out, err

    return {"address": f"127.0.0.1:{link}", "env": env, "cwmp": cwmp}


def _selected_config(args: list[str]):
    from fl_validation.cli import build_parser, select_configs

    _, configs = select_configs(build_parser().parse_args(args))
    assert [c.run_id for c in configs] == [RUN_ID]
    return configs[0]


@e2e
def test_deployment_run_matches_inprocess_driver(federation, tmp_path, monkeypatch, capsys):
    from fl_validation.dataset import load_cifar10
    from fl_validation.flower.driver import run_inprocess

    t0 = time.monotonic()
    data = load_cifar10()  # also warms the decoded-array cache every node reads
    res_dir = tmp_path / "results"
    args = ["fl", *SMALL, "--results", str(res_dir), "--engine", "flower", "--flower-backend", "deployment",
            "--superlink", federation["address"], "--flower-timeout", "100"]
    rc, stdout, stderr = federation["cwmp"](args)
    out = stdout + stderr
    print(out[-4000:])
    assert rc == 0, out[-4000:]
    assert f"[flower {RUN_ID}] round 1/2" in out and f"[flower {RUN_ID}] round 2/2" in out  # streamed

    run_dir = res_dir / "fl" / "smoke-flower" / RUN_ID
    m = json.loads((run_dir / "metrics.json").read_text())
    conf = json.loads((run_dir / "config.json").read_text())
    env = json.loads((run_dir / "env.json").read_text())
    assert m["schema"] == "cwmp-fl-metrics/1" and m["complete"] and m["rounds_done"] == 2
    # the ServerApp labels what it can know: Flower, its run id, and a SuperLink's grid class
    assert m["engine"] == "flower" and isinstance(m["flower_run_id"], int) and m["flower_grid"] != "InMemoryGrid"
    assert m["dataset"]["sha256"] == data.sha256 and conf["dataset"]["sha256"] == data.sha256
    assert conf["run_id"] == RUN_ID and len(env["calls"]) == 1
    assert [c["client"] for r in m["rounds"] for c in r["clients"]] == [0, 1, 0, 1]

    cfg = _selected_config(SMALL)
    from fl_validation.config import FLConfig

    assert FLConfig.from_dict(m["config"]).identity() == cfg.identity()
    ref = run_inprocess(cfg, lambda c: data)
    assert len(ref.history) == 2
    for rec, h in zip(m["rounds"], ref.history, strict=True):
        assert rec["round"] == h["round"]
        assert rec["energy_J"] == pytest.approx(h["cwmp.energy-J"], rel=1e-12, abs=0)
        assert rec["energy_J"] > 0
        assert rec["bytes"] == h["cwmp.bytes"] and rec["kept"] == h["cwmp.kept"]
        for c, hc in zip(rec["clients"], h["clients"], strict=True):
            assert c["energy_J"] == pytest.approx(hc["cwmp.energy-J"], rel=1e-12, abs=0)
            assert c["kept"] == hc["cwmp.kept"] and c["n_samples"] == hc["num-examples"]
            assert c["budget_J"] is not None and c["energy_J"] <= c["budget_J"] * (1 + 1e-12)  # budget mode
        assert rec["test_acc"] == pytest.approx(ref.evaluations[rec["round"]]["test_acc"], abs=1e-12)
    assert m["total_energy_J"] == pytest.approx(sum(h["cwmp.energy-J"] for h in ref.history), rel=1e-12)

    # The run directory reads like any `cwmp fl` run: summary and figures from it (in this process:
    # the same `cwmp` entry point, without two more interpreter starts).
    import cwmp_cli

    capsys.readouterr()
    assert cwmp_cli.main(["fl", "--preset", "smoke", "--tag", "flower", "--summary", "--results", str(res_dir)]) == 0
    s = json.loads((res_dir / "fl" / "smoke-flower" / "summary.json").read_text())
    row = next(r for r in s["rows"] if r["method"] == "cwmp-l2")
    assert row["mode"] == "budget" and row["seeds"] == [0]
    assert row["total_energy_J"]["mean"] == pytest.approx(m["total_energy_J"], rel=1e-12)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    assert cwmp_cli.main(["figures", "--results", str(res_dir), "--fl-preset", "smoke-flower", "--only", "1", "2",
                          "--out", str(tmp_path / "figs")]) == 0
    figs = capsys.readouterr().out
    assert "fig 1:" in figs and "fig 2:" in figs, figs
    assert (tmp_path / "figs").is_dir() and any((tmp_path / "figs").glob("fig1*.png"))
    print(f"deployment test: {time.monotonic() - t0:.1f} s after the federation started")


FAILING_APP = '''"""A ClientApp whose partition 1 raises in round 1 (test_flower_deployment)."""
from fl_validation.flower.apps import make_client_app


def _raise_in_round_1(msg, context, call_next):
    conf = msg.content.config_records.get("config")
    if conf is not None and int(conf["server-round"]) == 1 and int(context.node_config["partition-id"]) == 1:
        raise RuntimeError("injected client failure in round 1 (partition 1)")
    return call_next(msg, context)


client_app = make_client_app(mods=[_raise_in_round_1])
'''


def _failing_app(root: Path) -> Path:
    """A copy of this repository's Flower app whose ClientApp raises in round 1."""
    app = root / "failing-app"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for pkg in ("fl_validation", "solvers"):
        shutil.copytree(REPO / pkg, app / pkg, ignore=ignore)
    text = (REPO / "pyproject.toml").read_text()
    old = 'clientapp = "fl_validation.flower.app:client_app"'
    assert old in text
    text = text.replace(old, 'clientapp = "failing_clientapp:client_app"')
    text = text.replace('fab-include = ["pyproject.toml",', 'fab-include = ["pyproject.toml", "failing_clientapp.py",')
    assert "failing_clientapp.py" in text
    (app / "pyproject.toml").write_text(text)
    (app / "failing_clientapp.py").write_text(FAILING_APP)
    return app


@e2e
def test_client_error_in_round_1_fails_the_command(federation, tmp_path):
    from fl_validation.dataset import load_cifar10

    load_cifar10()  # warm the cache the nodes read
    res_dir = tmp_path / "results"
    args = ["fl", *SMALL, "--results", str(res_dir), "--engine", "flower", "--flower-backend", "deployment",
            "--superlink", federation["address"], "--flower-app", str(_failing_app(tmp_path)),
            "--flower-timeout", "100"]
    rc, stdout, stderr = federation["cwmp"](args)
    print((stdout + stderr)[-4000:])
    assert rc == 1, (stdout + stderr)[-4000:]
    assert "injected client failure in round 1 (partition 1)" in stderr, stderr
    assert "finished:failed" in stderr, stderr
    m = json.loads((res_dir / "fl" / "smoke-flower" / RUN_ID / "metrics.json").read_text())
    assert not m["complete"] and m["rounds_done"] == 0
    assert "injected client failure in round 1" in m["error"]


# ------------------------------------------------------------ the boundary (no processes started)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("extra,fragment", [
    (["--superlink", "127.0.0.1:8000"], "--superlink needs --engine flower --flower-backend deployment"),
    (["--engine", "flower", "--flower-backend", "deployment"], "needs --superlink HOST:PORT"),
    (["--engine", "flower", "--flower-backend", "deployment", "--superlink", "localhost"], "expected HOST:PORT"),
    (["--engine", "flower", "--flower-backend", "deployment", "--superlink", "h:99999"], "expected HOST:PORT"),
    (["--engine", "flower", "--flower-backend", "deployment", "--superlink", "h:8000",
      "--superlink-root-certificates", "/nonexistent/ca.pem"], "--superlink-root-certificates"),
    (["--engine", "flower", "--flower-backend", "deployment", "--superlink", "h:8000", "--flower-app", "{tmp}"],
     "no readable pyproject.toml"),
    (["--engine", "flower", "--flower-backend", "deployment", "--superlink", "h:8000", "--flower-timeout", "0"],
     "--flower-timeout must be > 0"),
])
def test_deployment_flags_are_checked_before_any_work(extra, fragment, tmp_path, monkeypatch, capsys):
    import cwmp_cli
    import fl_validation.dataset

    def tripwire(*_a, **_k):
        pytest.fail("data loading started before validation refused the input")

    monkeypatch.delenv("CWMP_DEBUG", raising=False)
    monkeypatch.setattr(fl_validation.dataset, "load_cifar10", tripwire)
    argv = ["fl", *SMALL, "--results", str(tmp_path / "res")] + [a.replace("{tmp}", str(tmp_path)) for a in extra]
    assert cwmp_cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("cwmp fl: ") and fragment in err, err


def test_app_run_config_declares_every_flconfig_field():
    """flwr run accepts only declared keys: the app (and its documented copy) must declare what
    the deployment driver sends, with the FLConfig type of each field."""
    import dataclasses
    import tomllib

    from fl_validation.config import FLConfig
    from fl_validation.flower.deploy import check_app, run_config_for
    from fl_validation.flower.results import RunOutput

    cfg = _selected_config(SMALL)
    check_app(REPO, cfg)  # raises naming a missing key
    sent = run_config_for(cfg, RunOutput(), "/data")
    app = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["flwr"]["app"]["config"]
    copy = tomllib.loads((REPO / "fl_validation/flower/flwr-app.toml").read_text())["tool"]["flwr"]["app"]["config"]
    assert set(sent) == set(app) == set(copy)
    assert app == copy
    types = {f.name.replace("_", "-"): f.type if isinstance(f.type, str) else f.type.__name__
             for f in dataclasses.fields(FLConfig)}
    for key, default in app.items():
        if key in types:
            want = {"bool": bool, "int": int, "float": float, "str": str}[types[key]]
            assert type(default) is want, (key, default)
