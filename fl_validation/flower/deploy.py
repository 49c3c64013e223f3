"""``cwmp fl --engine flower --flower-backend deployment``: submit runs to a running SuperLink.

For each selected config this runs ``flwr run <app> cwmp --stream --run-config <file>``,
where ``cwmp`` is a SuperLink connection in a private, temporary ``FLWR_HOME`` (so the
user's ``~/.flwr`` is neither needed nor changed) and ``<file>`` sets *every* FLConfig
field, plus where the ServerApp writes (``results``, ``preset``, ``tag``): the run is
exactly the selected config, whatever the app's defaults. The per-round lines of the
ServerApp (``[flower <run_id>] round r/R ...``) and Flower's ERROR lines are forwarded.

``flwr run`` exits 0 even when the app crashed, so the outcome comes from two other
sources, and both must agree that the run succeeded:

1. the run's final status from the SuperLink (``flwr ls --run-id N --format json``):
   ``finished:completed``, not ``finished:failed``/``stopped``;
2. the run directory's metrics.json (when the SuperLink writes where this machine can
   read, e.g. the same host or a shared folder): ``complete``, every round, the same
   config identity; its ``error`` (e.g. a client's exception) is shown.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import deque
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Callable

from ..config import FLConfig
from .results import RunOutput

CONNECTION = "cwmp"  # the SuperLink connection's name in the private FLWR_HOME
# FLConfig fields not sent in the run config: how this process shows progress is not the app's business.
NOT_SENT = frozenset({"progress"})
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_STARTED = re.compile(r"Successfully started run (\d+)")
_ADDRESS = re.compile(r"(\[[0-9a-fA-F:]+\]|[A-Za-z0-9._-]+):(\d{1,5})")
# How long to wait for the SuperLink to mark a run finished after the log stream ended.
STATUS_WAIT_S = 30.0


class DeploymentError(RuntimeError):
    """``flwr`` could not be run or the SuperLink could not be asked (not a failed run: that is an outcome)."""


@dataclass(frozen=True)
class SuperLinkTarget:
    """The SuperLink's Control API (``flower-superlink --port``, default 8000) and its TLS trust.

    ``root_certificates`` None means an insecure connection, as ``flower-superlink --insecure``
    serves: for a trusted network only.
    """

    address: str
    root_certificates: str | None = None

    @classmethod
    def parse(cls, address: str, root_certificates: str | None = None) -> "SuperLinkTarget":
        """Check HOST:PORT (and that the certificate file exists); ValueError naming the flag otherwise."""
        m = _ADDRESS.fullmatch(address or "")
        if not m or not 0 < int(m.group(2)) < 65536:
            raise ValueError(f"--superlink {address!r}: expected HOST:PORT, e.g. 127.0.0.1:8000")
        if root_certificates is not None:
            p = Path(root_certificates).expanduser()
            if not p.is_file():
                raise ValueError(f"--superlink-root-certificates {root_certificates!r}: no such file")
            root_certificates = str(p.resolve())
        return cls(address=address, root_certificates=root_certificates)

    def config_toml(self) -> str:
        lines = ["[superlink]", f'default = "{CONNECTION}"', "", f"[superlink.{CONNECTION}]",
                 f"address = {json.dumps(self.address)}"]
        if self.root_certificates:
            lines.append(f"root-certificates = {json.dumps(self.root_certificates)}")
        else:
            lines.append("insecure = true")
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class DeploymentOutcome:
    """One submitted run. ``ok`` only when the SuperLink says completed and metrics.json agrees."""

    run_id: str
    flower_run_id: int | None
    status: str  # the SuperLink's status text (finished:completed, finished:failed, ...) or why there is none
    ok: bool
    message: str  # one line: the reason when not ok, where the results are when ok
    run_dir: Path


def run_config_for(cfg: FLConfig, output: RunOutput, data_path: str) -> dict[str, object]:
    """The run config overrides: every FLConfig field (dashes) but :data:`NOT_SENT`, and the output keys."""
    out: dict[str, object] = {}
    for f in fields(FLConfig):
        if f.name not in NOT_SENT:
            out[f.name.replace("_", "-")] = getattr(cfg, f.name)
    out["data"] = data_path
    out.update(results=output.results, preset=output.preset, tag=output.tag)
    return out


def app_config_keys(app_dir: Path) -> set[str]:
    """The ``[tool.flwr.app.config]`` keys of the app's pyproject.toml (``flwr run`` accepts only those)."""
    import tomllib

    try:
        doc = tomllib.loads((app_dir / "pyproject.toml").read_text())
    except OSError as exc:
        raise ValueError(f"--flower-app {str(app_dir)!r}: no readable pyproject.toml ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"--flower-app {str(app_dir)!r}: pyproject.toml is not valid TOML ({exc})") from None
    app = doc.get("tool", {}).get("flwr", {}).get("app", {})
    if "components" not in app:
        raise ValueError(f"--flower-app {str(app_dir)!r}: pyproject.toml has no [tool.flwr.app.components]")
    return set(app.get("config", {}))


def check_app(app_dir: Path, cfg: FLConfig) -> None:
    """ValueError when the app cannot take the run config :func:`run_config_for` sends."""
    missing = sorted(set(run_config_for(cfg, RunOutput(), "")) - app_config_keys(app_dir))
    if missing:
        raise ValueError(f"--flower-app {str(app_dir)!r}: [tool.flwr.app.config] lacks key(s) {', '.join(missing)} "
                         "(flwr run accepts only keys the app declares; see fl_validation/flower/flwr-app.toml)")


def flwr_executable() -> str:
    """The ``flwr`` CLI of this Python environment (beside ``sys.executable``), else the one on PATH."""
    here = Path(sys.executable).with_name("flwr")
    found = str(here) if here.is_file() else shutil.which("flwr")
    if not found:
        raise DeploymentError("the flwr command is not installed (pip install -e '.[flower]')")
    return found


def _toml_value(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    return json.dumps(str(v))


def _run_status(flwr: str, env: dict[str, str], flower_run_id: int) -> tuple[str, str]:
    """(status, status-details) of one run, from the SuperLink via ``flwr ls``."""
    proc = subprocess.run([flwr, "ls", CONNECTION, "--run-id", str(flower_run_id), "--format", "json"],
                          env=env, capture_output=True, text=True, timeout=60)
    try:
        doc = json.loads(proc.stdout[proc.stdout.index("{"):])
        run = doc["runs"][0]
        return str(run["status"]), str(run.get("status-details", ""))
    except (ValueError, KeyError, IndexError, TypeError):
        tail = " ".join((proc.stdout + proc.stderr).split())[-300:]
        raise DeploymentError(f"flwr ls --run-id {flower_run_id} (exit {proc.returncode}): {tail}") from None


def _final_status(flwr: str, env: dict[str, str], flower_run_id: int) -> tuple[str, str]:
    deadline = time.monotonic() + STATUS_WAIT_S
    while True:
        status, details = _run_status(flwr, env, flower_run_id)
        if status.startswith("finished") or time.monotonic() > deadline:
            return status, details
        time.sleep(1.0)


def _check_metrics(cfg: FLConfig, run_dir: Path) -> str | None:
    """None when metrics.json shows the whole run with this config; else the reason (one line)."""
    path = run_dir / "metrics.json"
    try:
        m = json.loads(path.read_text())
    except FileNotFoundError:
        return f"no {path} here (does the SuperLink write to a folder this machine can read?)"
    except (OSError, ValueError) as exc:
        return f"{path} unreadable: {exc}"
    if m.get("error"):
        return f"{m['error']} (after {m.get('rounds_done', 0)}/{cfg.rounds} rounds)"
    if FLConfig.from_dict(m.get("config", {})).identity() != cfg.identity():
        return f"{path} holds another config than the one submitted"
    if not m.get("complete") or m.get("rounds_done") != cfg.rounds:
        return f"{path}: {m.get('rounds_done', 0)}/{cfg.rounds} rounds, not complete"
    return None


def submit(cfg: FLConfig, *, app_dir: Path, target: SuperLinkTarget, output: RunOutput, data_path: str,
           log: Callable[[str], None] = print, timeout_s: float | None = None) -> DeploymentOutcome:
    """Run ``cfg`` on the SuperLink ``target``; the outcome from the run's status and metrics.json."""
    flwr = flwr_executable()
    run_dir = output.run_dir(cfg)
    with tempfile.TemporaryDirectory(prefix="cwmp-flwr-home-") as home:
        Path(home, "config.toml").write_text(target.config_toml())
        overrides = Path(home, "run-config.toml")
        overrides.write_text("".join(f"{k} = {_toml_value(v)}\n"
                                     for k, v in run_config_for(cfg, output, data_path).items()))
        env = {**os.environ, "FLWR_HOME": home}
        for k, v in (("FLWR_TELEMETRY_ENABLED", "0"), ("FLWR_DISABLE_UPDATE_CHECK", "1")):
            env.setdefault(k, v)
        cmd = [flwr, "run", str(app_dir), CONNECTION, "--stream", "--run-config", str(overrides)]
        tail: deque[str] = deque(maxlen=400)
        flower_run_id: int | None = None
        t0 = time.monotonic()
        # Same process group as this command: a Ctrl-C or a kill of `cwmp` reaches `flwr run` too.
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                bufsize=1)
        timed_out = False
        try:
            assert proc.stdout is not None
            for raw in proc.stdout:
                line = _ANSI.sub("", raw.rstrip("\n"))
                tail.append(line)
                if flower_run_id is None and (m := _STARTED.search(line)):
                    flower_run_id = int(m.group(1))
                    log(f"[{cfg.run_id}] Flower run {flower_run_id} on {target.address}")
                elif line.startswith("[flower ") or "ERROR" in line:
                    log(line.strip())
                if timeout_s is not None and time.monotonic() - t0 > timeout_s:
                    timed_out = True
                    break
            if timed_out:
                proc.terminate()
            rc = proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        if flower_run_id is None:
            why = next((ln for ln in reversed(tail) if ln.strip()), f"exit {rc}")
            return DeploymentOutcome(cfg.run_id, None, "not-started", False,
                                     f"flwr run did not start a run: {' '.join(why.split())}", run_dir)
        if timed_out:
            subprocess.run([flwr, "stop", str(flower_run_id), CONNECTION], env=env, capture_output=True, timeout=60)
        status, details = _final_status(flwr, env, flower_run_id)
    problem = _check_metrics(cfg, run_dir)
    if timed_out:
        return DeploymentOutcome(cfg.run_id, flower_run_id, status, False,
                                 f"no result within --flower-timeout {timeout_s:g} s; run stopped", run_dir)
    if status != "finished:completed" or problem is not None:
        errors = [ln.strip() for ln in tail if "ERROR" in ln or "Error" in ln]
        reason = problem or (details if details not in ("", "N/A") else None) or \
            (errors[-1] if errors else "no error reported")
        if problem and problem.startswith("no ") and errors:
            reason = f"{problem}; last error: {errors[-1]}"
        return DeploymentOutcome(cfg.run_id, flower_run_id, status, False, f"{status}: {reason}", run_dir)
    return DeploymentOutcome(cfg.run_id, flower_run_id, status, True, f"{status} -> {run_dir}", run_dir)
