"""The job system: 20 runs at once with 5 concurrent, cancel, restart recovery, the worker pool."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import time

import pytest

from core import bootstrap, store
from core.runs import instance, jobs, progress, service as runs
from sandbox import cgroups, pool
from sandbox import selftest as sandbox_check
from core.strategies import crud as strategies
from core.model import BacktestConfig, Language, RunStatus, StrategyMeta
from tests.conftest import make_settings

pytestmark = pytest.mark.sandbox

WEEK = BacktestConfig(start="2024-01-01", end="2024-01-07")
# Trades normally until it has reported progress (every 2,000 bars), then never returns: once the
# store shows progress, the strategy is certainly running inside its sandbox.
BUSY = ("from backtesting import Strategy\n\n\nclass Busy(Strategy):\n    def init(self):\n"
        "        pass\n\n    def next(self):\n        total = 0\n"
        "        while len(self.data) > 2100 and total >= 0:\n"
        "            total = total + 1\n")
HALF_YEAR = BacktestConfig(start="2024-01-01", end="2024-06-30")


def _save(settings, source: str, name: str) -> int:
    sid, _ = strategies.save_by_name(settings.db_path, meta=StrategyMeta(name=name),
                                     source=source, language=Language.PYTHON)
    return sid


def _wait_status(db, run_id: int, wanted: RunStatus, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while runs.get_run(db, run_id).status is not wanted:
        assert time.monotonic() < deadline, runs.get_run(db, run_id)
        time.sleep(0.05)


def test_twenty_runs_five_at_a_time_all_finish(home, sma_source: str) -> None:
    settings = make_settings(home, pineopt_max_concurrent="5", pineopt_pool_size="2")
    sid = _save(settings, sma_source, "sma")
    manager = jobs.JobManager(settings)
    ids = [runs.request_run(settings, strategy_id=sid, config=WEEK, force=True).id
           for _ in range(20)]
    for rid in ids:
        manager.submit(rid)
    peak = 0
    while manager.active():
        with store.connect(settings.db_path) as con:
            running = con.execute("SELECT count(*) FROM backtests WHERE status = 'running'"
                                  ).fetchone()[0]
        peak = max(peak, running)
        time.sleep(0.1)
    assert manager.wait(ids, timeout_s=5)
    finished = [runs.get_run(settings.db_path, rid) for rid in ids]
    assert [r.status for r in finished] == [RunStatus.COMPLETED] * 20, [r.error for r in finished]
    assert 1 <= peak <= 5
    assert all(r.progress == 1 and runs.run_equity(settings.db_path, r.id).size for r in finished)
    manager.shutdown()
    pool.shutdown_pools()


def test_cancel_running_and_queued(home) -> None:
    # Generous limits: only the cancel may end the endless loop, however loaded the machine is.
    settings = make_settings(home, pineopt_max_concurrent="1", pineopt_pool_size="0",
                             pineopt_timeout_s="900", pineopt_cpu_s="900")
    sid = _save(settings, BUSY, "busy")
    sandbox_check.require_sandbox(settings)  # what the app does at start-up
    manager = jobs.JobManager(settings)
    first = runs.request_run(settings, strategy_id=sid, config=HALF_YEAR).id
    second = runs.request_run(settings, strategy_id=sid, config=HALF_YEAR, force=True).id
    manager.submit(first)
    manager.submit(second)
    _wait_status(settings.db_path, first, RunStatus.RUNNING)
    assert manager.cancel(second)  # still queued: cancelled at once, never started
    queued = runs.get_run(settings.db_path, second)
    assert queued.status is RunStatus.CANCELLED and queued.started_at is None
    deadline = time.monotonic() + 60
    while not (progress.read(settings.home, first) or 0) > 0:  # now inside its endless loop
        assert time.monotonic() < deadline and manager.active(), runs.get_run(settings.db_path,
                                                                               first)
        time.sleep(0.05)
    assert manager.cancel(first), (runs.get_run(settings.db_path, first).status, runs.get_run(settings.db_path, first).error)
    _wait_status(settings.db_path, first, RunStatus.CANCELLED)
    assert manager.wait([first, second], timeout_s=30)
    assert runs.get_run(settings.db_path, second).status is RunStatus.CANCELLED
    manager.shutdown()


def test_restart_marks_orphans_interrupted_and_requeue_completes(home, sma_source: str) -> None:
    settings = make_settings(home, pineopt_pool_size="0")
    sid = _save(settings, sma_source, "sma")
    dead = _dead_pid()
    orphan = runs.request_run(settings, strategy_id=sid, config=WEEK).id
    with store.connect(settings.db_path) as con:
        con.execute("UPDATE backtests SET status = 'running', owner_pid = ?, owner_token = ? "
                    "WHERE id = ?", [dead, "0" * 32, orphan])  # a process that is gone
    mine = runs.request_run(settings, strategy_id=sid, config=WEEK, force=True).id
    with store.connect(settings.db_path) as con:
        con.execute("UPDATE backtests SET status = 'running', owner_pid = ?, owner_token = ? "
                    "WHERE id = ?", [os.getpid(), instance.token(settings.home), mine])
    bootstrap.init_store(settings)  # what the app and the CLI do at start-up
    lost = runs.get_run(settings.db_path, orphan)
    assert lost.status is RunStatus.INTERRUPTED and "Re-queue" in lost.error
    assert runs.get_run(settings.db_path, mine).status is RunStatus.RUNNING  # a live owner
    assert strategies.get_version(settings.db_path, sid).source == sma_source  # nothing damaged
    manager = jobs.JobManager(settings)
    manager.requeue(orphan)
    assert manager.wait([orphan], timeout_s=60)
    assert runs.get_run(settings.db_path, orphan).status is RunStatus.COMPLETED
    manager.shutdown()


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])  # noqa: S603, S607 - a pid that is certainly gone
    proc.wait()
    return proc.pid


def test_pool_hands_out_warm_workers_once_and_shuts_down_cleanly(home) -> None:
    settings = make_settings(home, pineopt_pool_size="1")
    workers = pool.pool_for(settings)
    _idle_pids_once_filled(workers)
    worker = pool.take_worker(settings)
    worker.wait_ready()
    assert worker.proc.pid not in workers.idle_pids()  # handed out once, never shared
    worker.cleanup()
    time.sleep(0.5)
    pids = workers.idle_pids()
    pool.shutdown_pools()
    for pid in pids + [worker.proc.pid]:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_replacements_wait_for_busy_workers_while_an_idle_one_is_left(home) -> None:
    settings = make_settings(home, pineopt_pool_size="2")
    workers = pool.pool_for(settings)
    workers.refill()
    deadline = time.monotonic() + 60
    while len(workers.idle_pids()) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    with workers.working():  # a run from start to stored (JobManager._execute)
        first = pool.take_worker(settings)
        try:
            # one idle worker is left for the next job: no warm-up starts beside the busy one
            assert len(workers.idle_pids()) == 1 and not workers._filling  # noqa: SLF001
            second = pool.take_worker(settings)  # none left now: the replacement starts at once
            assert workers._filling or workers.idle_pids()  # noqa: SLF001
            second.cleanup()
        finally:
            first.cleanup()
        # its worker is gone, but the run is still checking and storing its result: the
        # replacement started for the empty pool is the only one
        deadline = time.monotonic() + 60
        while workers._filling:  # noqa: SLF001
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert len(workers.idle_pids()) == 1
    # nothing busy any more: the pool fills up again
    deadline = time.monotonic() + 60
    while len(workers.idle_pids()) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    pool.shutdown_pools()


def test_a_queued_run_taking_the_last_idle_worker_warms_up_a_replacement_only_if_needed(
        home) -> None:
    settings = make_settings(home, pineopt_pool_size="1")
    workers = pool.pool_for(settings)
    _idle_pids_once_filled(workers)
    workers.expect()  # the job manager queued one run (JobManager.submit)
    with workers.working(expected=True):  # ... which starts (JobManager._execute)
        worker = pool.take_worker(settings)
        try:
            # nothing else is queued: no warm-up beside the run (a take that announced
            # nothing starts one at once: test_replacements_wait_for_busy_workers...)
            assert not workers.idle_pids() and not workers._filling  # noqa: SLF001
            workers.expect()  # a second run is queued behind it: its worker warms up now
            assert workers._filling or workers.idle_pids()  # noqa: SLF001
            deadline = time.monotonic() + 60
            while workers._filling:  # noqa: SLF001 - one replacement for the one queued run
                assert time.monotonic() < deadline
                time.sleep(0.05)
            assert len(workers.idle_pids()) == 1
            workers.unexpect()  # the second run was cancelled before it started
        finally:
            worker.cleanup()
    pool.shutdown_pools()


def test_a_spare_worker_warms_up_at_idle_cpu_weight_until_it_is_taken(home) -> None:
    settings = make_settings(home, pineopt_pool_size="1")
    if not cgroups.for_settings(settings).has("cpu"):
        pytest.skip(f"this host gives runs no cpu group: {cgroups.for_settings(settings).reason}")
    workers = pool.pool_for(settings)
    workers.refill()
    deadline = time.monotonic() + 30
    while not workers.idle_pids():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    with workers._lock:  # noqa: SLF001 - look at the spare without taking it
        spare = workers._idle[0]  # noqa: SLF001
    shares = spare.group.dirs["cpu"] / ("cpu.weight" if spare.group.support.version == 2
                                        else "cpu.shares")
    assert shares.read_text().strip() in ("1", "2")  # the least the kernel allows
    worker = pool.take_worker(settings)
    try:
        assert worker is spare
        assert shares.read_text().strip() in ("100", "1024")  # a run's weight from now on
        worker.wait_ready()
    finally:
        worker.cleanup()
        pool.shutdown_pools()


def _idle_pids_once_filled(workers: pool.WorkerPool) -> list[int]:
    """Refill ``workers`` and return its idle workers' pids once there are some (30 s at most)."""
    workers.refill()
    deadline = time.monotonic() + 30
    while not workers.idle_pids():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    return workers.idle_pids()


def test_settings_differing_only_in_pool_size_share_the_pool_and_never_close_it(home) -> None:
    app = pool.pool_for(make_settings(home, pineopt_pool_size="1"))
    pids = _idle_pids_once_filled(app)
    one_off = dataclasses.replace(make_settings(home, pineopt_pool_size="1"), pool_size=0)
    assert pool.pool_for(one_off) is app  # e.g. a CLI backtest forwarded to the app's process
    assert app.size == 1 and app.idle_pids() == pids
    worker = pool.take_worker(one_off)
    try:
        assert worker.proc is not None and worker.proc.pid == pids[0]  # a warm one, taken
    finally:
        worker.cleanup()
    assert pool.pool_for(make_settings(home, pineopt_pool_size="3")) is app
    assert app.size == 3  # the largest size asked for is kept
    pool.shutdown_pools()


def test_a_process_keeps_one_pool_so_idle_workers_never_pile_up(home, tmp_path) -> None:
    first = pool.pool_for(make_settings(home, pineopt_pool_size="1"))
    pids = _idle_pids_once_filled(first)
    other = make_settings(tmp_path / "other-home", pineopt_pool_size="1")
    assert pool.pool_for(other) is not first
    assert first.idle_pids() == []
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    pool.shutdown_pools()


def test_an_unexpected_error_in_a_job_ends_the_run_failed_with_the_traceback(
        home, sma_source: str, monkeypatch, caplog) -> None:
    """A programming error inside a job (not a PineOptError) must never leave a run 'running'."""
    from core import logs

    settings = make_settings(home, pineopt_pool_size="0")
    logs.configure(settings)
    sid = _save(settings, sma_source, "sma")

    def broken_store(*_args, **_kwargs):
        raise RuntimeError("injected bug in storing the result")

    monkeypatch.setattr(runs, "_store_result", broken_store)
    manager = jobs.JobManager(settings)
    rid = runs.request_run(settings, strategy_id=sid, config=WEEK).id
    with caplog.at_level("ERROR", logger="pineopt"):
        manager.submit(rid)
        assert manager.wait([rid], timeout_s=120)
    run = runs.get_run(settings.db_path, rid)
    assert run.status is RunStatus.FAILED
    assert "bug in PineOpt" in run.error and "RuntimeError" in run.error
    assert "Traceback" in run.log and "injected bug in storing the result" in run.log
    assert any(r.levelname == "ERROR" and f"run {rid}" in r.getMessage() for r in caplog.records)
    logged = (settings.home / "logs" / "pineopt.log").read_text()
    assert f"run {rid} failed with an unexpected RuntimeError" in logged
    manager.shutdown()
