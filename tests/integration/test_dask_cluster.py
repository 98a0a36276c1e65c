"""Sweeps on a real Dask cluster through the real firejail sandbox (issue 20).

A `dask scheduler` and two workers (`pineopt worker`, which becomes `dask worker` with the
PineOpt preload) run as subprocesses on 127.0.0.1, each in its own process group, and are
stopped at the end together with every process they started (sandboxes included). A 40-trial
sweep runs across them while one worker is killed (SIGKILL, with its sandboxes) in the middle
of a task: every trial is still completed and stored once, with stats identical to the local
executor's. Losing the scheduler fails the study with a message saying how to resume, and the
resumed study ends with the same trials.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from core import executors
from core.strategies import crud as strategies
from core.executors import cluster as dask_cluster
from core.model import BacktestConfig, StrategyMeta
from core.settings import Settings
from core.studies import study_store, sweep
from tests.conftest import REPO, make_settings, nan_as_none

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

CONFIG = BacktestConfig(symbol="BTCUSDT", timeframe="1h", start="2024-01-01", end="2024-01-20",
                        cash_usdt=100_000.0, commission=0.001)
SPECS = {"fast": "5:40:5", "slow": "50:90:10"}  # 8 x 5 = 40 trials, all with fast < slow
START_WAIT_S = 180.0  # bound on waiting for processes to come up (not a timing assertion)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _descendants(pid: int) -> list[int]:
    """Every live process below ``pid`` (from /proc), children first found first."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _kill_tree(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL a started process group and every process below it (sandboxes are in their own
    sessions); then reap it."""
    below = _descendants(proc.pid)
    for target in (proc.pid, *below):
        try:
            os.kill(target, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=30)


@dataclass
class Cluster:
    """A scheduler and its workers, started by the test."""

    root: Path
    address: str = ""
    scheduler: subprocess.Popen[bytes] | None = None
    workers: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    logs: list = field(default_factory=list)

    def _spawn(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = (self.root / f"{name}.log").open("wb")
        self.logs.append(log)
        return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env,  # noqa: S603
                                start_new_session=True, cwd=self.root)

    def start_scheduler(self) -> None:
        self.address = f"tcp://127.0.0.1:{_free_port()}"
        port = self.address.rsplit(":", 1)[1]
        self.scheduler = self._spawn("scheduler", [
            sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
            "--port", port, "--dashboard-address", f"127.0.0.1:{_free_port()}"],
            dict(os.environ))

    def start_worker(self, name: str) -> None:
        env = {**os.environ, "PINEOPT_HOME": str(self.root / name)}
        self.workers[name] = self._spawn(name, [
            sys.executable, str(REPO / "cli.py"), "worker", "--scheduler", self.address,
            "--name", name, "--", "--no-dashboard"], env)

    def wait_for_workers(self, count: int) -> None:
        from distributed import Client

        with Client(self.address, timeout=START_WAIT_S, set_as_default=False) as client:
            client.wait_for_workers(count, timeout=START_WAIT_S)

    def stop(self) -> None:
        for proc in [*self.workers.values(), self.scheduler]:
            if proc is not None:
                _kill_tree(proc)
        for log in self.logs:
            log.close()


@pytest.fixture
def dask_cluster_factory(tmp_path: Path) -> Iterator[callable]:
    """Start clusters (a scheduler and N workers); every one is stopped at the end."""
    started: list[Cluster] = []

    def start(workers: int) -> Cluster:
        made = Cluster(root=tmp_path / f"cluster{len(started)}")
        made.root.mkdir()
        started.append(made)
        made.start_scheduler()
        for i in range(workers):
            made.start_worker(f"w{i + 1}")
        made.wait_for_workers(workers)
        return made

    try:
        yield start
    finally:
        dask_cluster.close_all()  # this process's clients first, then the processes
        for made in started:
            made.stop()


def _study(settings: Settings, sid: int) -> int:
    return sweep.create(settings, strategy_id=sid, config=CONFIG, specs=SPECS, method="grid",
                        constraints=["fast < slow"], objective="total_return")


def _busy_worker(client: object) -> str:
    """The name of a worker that is running a task right now ('' if none)."""
    busy = [addr for addr, keys in client.processing().items() if keys]
    info = client.scheduler_info(n_workers=-1)["workers"]
    return str(info[busy[0]]["name"]) if busy and busy[0] in info else ""


def _sweep_in_thread(settings: Settings, study_id: int) -> tuple[threading.Thread, dict,
                                                                 threading.Event]:
    out: dict = {}
    first_batch = threading.Event()

    def work() -> None:
        try:
            out["report"] = sweep.run(settings, study_id, batch_size=4, reuse=False,
                                      on_batch=lambda _r: first_batch.set())
        except BaseException as exc:  # noqa: BLE001 - re-raised by the test thread
            out["error"] = exc
        finally:
            first_batch.set()

    thread = threading.Thread(target=work, name="test-dask-sweep", daemon=True)
    thread.start()
    return thread, out, first_batch


def _kill_when_busy(made: Cluster, first_batch: threading.Event, thread: threading.Thread,
                    kill: callable) -> str:
    """After the first stored batch, wait for a worker with a running task and kill() it."""
    from distributed import Client

    assert first_batch.wait(START_WAIT_S)
    with Client(made.address, timeout=30, set_as_default=False) as client:
        while thread.is_alive():
            name = _busy_worker(client)
            if name:
                kill(name)
                return name
            thread.join(0.2)
    return ""


def test_a_sweep_across_two_workers_survives_a_killed_worker(
        home: Path, sma_source: str, dask_cluster_factory: callable) -> None:
    local = make_settings(home)
    sid, _ = strategies.save(local.db_path, meta=StrategyMeta(name="sma"), source=sma_source)
    reference = _study(local, sid)
    ref = sweep.run(local, reference, workers=2, batch_size=4, reuse=False)
    assert (ref.status, ref.executed) == ("completed", 40)

    made = dask_cluster_factory(2)
    on_dask = make_settings(home, PINEOPT_DASK_SCHEDULER=made.address)
    assert on_dask.executor == "dask"
    study_id = _study(on_dask, sid)
    thread, out, first_batch = _sweep_in_thread(on_dask, study_id)
    victim = _kill_when_busy(made, first_batch, thread,
                             lambda name: _kill_tree(made.workers[name]))
    thread.join(timeout=600)
    assert "error" not in out, out.get("error")
    assert victim, "no worker was busy to be killed: the sweep ended first"
    report = out["report"]
    assert (report.status, report.executed, report.stored, report.errors) == (
        "completed", 40, 40, [])
    frame = study_store.trials_frame(local.db_path, study_id)
    assert sorted(frame["n"]) == list(range(1, 41))  # every trial stored, each once
    assert set(frame["status"]) == {"completed"}
    assert study_store.trial_metrics(local.db_path, study_id) == \
        study_store.trial_metrics(local.db_path, reference)


def test_a_lost_scheduler_fails_the_study_with_how_to_resume_and_resume_completes_it(
        home: Path, sma_source: str, dask_cluster_factory: callable) -> None:
    first = dask_cluster_factory(1)
    on_dask = make_settings(home, PINEOPT_DASK_SCHEDULER=first.address)
    sid, _ = strategies.save(on_dask.db_path, meta=StrategyMeta(name="sma"), source=sma_source)
    study_id = _study(on_dask, sid)
    thread, out, first_batch = _sweep_in_thread(on_dask, study_id)
    assert _kill_when_busy(first, first_batch, thread,
                           lambda _name: _kill_tree(first.scheduler))
    thread.join(timeout=600)
    report = out["report"]
    assert report.status == "failed" and 0 < report.stored < 40
    assert "is gone" in report.errors[0] and "resume the study" in report.errors[0]
    assert study_store.get_study(on_dask.db_path, study_id).status == "failed"

    second = dask_cluster_factory(1)
    again = make_settings(home, PINEOPT_DASK_SCHEDULER=second.address)
    resumed = sweep.run(again, study_id, batch_size=4, reuse=False)
    assert (resumed.status, resumed.stored) == ("completed", 40)
    assert resumed.executed == 40 - report.stored  # only the missing trials ran
    frame = study_store.trials_frame(again.db_path, study_id)
    assert sorted(frame["n"]) == list(range(1, 41))


SPIN = '''from backtesting import Strategy


class Spin(Strategy):
    def init(self):
        pass

    def next(self):
        total = 0
        for i in range(3000000):
            total += i
'''


def test_cancel_stops_the_dask_future_and_kills_the_sandbox(
        home: Path, dask_cluster_factory: callable) -> None:
    from distributed import Client

    from core.runs import service as runs
    from core.model import RunStatus

    made = dask_cluster_factory(1)
    on_dask = make_settings(home, PINEOPT_DASK_SCHEDULER=made.address)
    sid, _ = strategies.save(on_dask.db_path, meta=StrategyMeta(name="spin"), source=SPIN)
    run = runs.request_run(on_dask, strategy_id=sid, config=CONFIG)
    cancel = threading.Event()
    done: dict = {}
    thread = threading.Thread(target=lambda: done.update(
        record=runs.execute(on_dask, run.id, cancel=cancel)), daemon=True)
    thread.start()
    with Client(made.address, timeout=30, set_as_default=False) as client:
        while thread.is_alive() and not _busy_worker(client):
            thread.join(0.2)
        assert thread.is_alive(), done  # the run was still running on the worker
        cancel.set()
        thread.join(timeout=120)
        assert done["record"].status is RunStatus.CANCELLED
    # The worker's task logs the cancel when its sandbox was killed; without the kill the
    # strategy would spin until the worker's 120 s wall-clock limit and end timed_out instead.
    log = made.root / "w1.log"
    line = "PineOpt job cancelled by the app: its sandbox was stopped"
    deadline = time.monotonic() + 100  # a bound on waiting, below the 120 s limit
    while line not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert line in log.read_text(), log.read_text()[-3000:]


def test_an_in_process_local_cluster_runs_a_backtest_identical_to_the_local_pool(
        home: Path, sma_source: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from core.runs import service as runs
    from core.model import RunStatus

    local = make_settings(home)
    sid, _ = strategies.save(local.db_path, meta=StrategyMeta(name="sma"), source=sma_source)
    here = runs.run_sync(local, strategy_id=sid, config=CONFIG)
    monkeypatch.setenv("PINEOPT_HOME", str(tmp_path / "workers"))  # the workers' own home
    in_process = make_settings(home, PINEOPT_EXECUTOR="dask", PINEOPT_DASK_WORKERS="1")
    try:
        where = executors.placement(in_process)
        there = runs.run_sync(in_process, strategy_id=sid, config=CONFIG, force=True)
    finally:
        dask_cluster.close_all()
    assert (where.kind, where.workers, where.address) == ("dask", 1, "")
    assert where.dashboard.startswith("http://")
    assert (here.status, there.status) == (RunStatus.COMPLETED, RunStatus.COMPLETED), there.error
    assert nan_as_none(runs.run_metrics(local.db_path, there.id)) == nan_as_none(
        runs.run_metrics(local.db_path, here.id))
    assert runs.run_trades(local.db_path, there.id).drop(columns="backtest_id", errors="ignore") \
        .equals(runs.run_trades(local.db_path, here.id))
