"""Every job ends in a final status (issue 18): a store locked from outside while a run saves, a
full jobs disk, a failure handler that cannot write, owners recognised by instance token (not
PID), SIGTERM during a batch, and the sweep of leftovers."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from core.runs import housekeeping, instance, jobs, progress, service as runs
from sandbox import selftest as sandbox_check
from core import store
from core.strategies import crud as strategies
from core.model import BacktestConfig, Language, RunStatus, StrategyMeta
from sandbox.runner import Worker
from tests.conftest import REPO, make_settings
from tests.integration.test_jobs import BUSY

pytestmark = pytest.mark.sandbox

HALF_YEAR = BacktestConfig(start="2024-01-01", end="2024-06-30")
# Takes a read-only DuckDB connection (which locks writers out) as soon as the file is free,
# says "locked", and keeps it until a line arrives on stdin (or gives up after 60 s).
HOLDER = ("import duckdb, sys, time\ndeadline = time.monotonic() + 60\nwhile True:\n"
          "    try:\n        con = duckdb.connect(sys.argv[1], read_only=True)\n        break\n"
          "    except duckdb.IOException:\n        if time.monotonic() > deadline:\n"
          "            print('timeout', flush=True)\n            sys.exit(1)\n"
          "        time.sleep(0.05)\nprint('locked', flush=True)\nsys.stdin.readline()\n"
          "con.close()\n")


class _Seen(logging.Handler):
    """Sets an event when a log record containing ``text`` arrives; keeps ERROR records."""

    def __init__(self, text: str) -> None:
        super().__init__(logging.DEBUG)
        self.text, self.event, self.errors = text, threading.Event(), []

    def emit(self, record: logging.LogRecord) -> None:
        if self.text in record.getMessage():
            self.event.set()
        if record.levelno >= logging.ERROR:
            self.errors.append(record.getMessage())


def _save(settings, source: str) -> int:
    sid, _ = strategies.save_by_name(settings.db_path, meta=StrategyMeta(name="s"),
                                     source=source, language=Language.PYTHON)
    return sid


def _holder(db: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(db)],  # noqa: S603
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def _release(proc: subprocess.Popen) -> None:
    proc.stdin.write("\n")
    proc.stdin.close()
    proc.wait(30)
    proc.stdout.close()


def test_store_locked_while_saving_results_ends_failed_with_reason(home, sma_source,
                                                                    monkeypatch) -> None:
    settings = make_settings(home, pineopt_pool_size="0")
    run = runs.request_run(settings, strategy_id=_save(settings, sma_source), config=HALF_YEAR)
    monkeypatch.setattr(store, "LOCK_WAIT_S", 1.0)
    seen = _Seen("the store is busy in another process")
    logging.getLogger("pineopt.runs").addHandler(seen)
    holders: list[subprocess.Popen] = []

    def lock_from_outside(_fraction: float) -> None:  # the sandbox is computing right now
        if not holders:
            holders.append(_holder(settings.db_path))

    def release_after_first_timeout() -> None:
        if seen.event.wait(120):
            _release(holders[0])

    releaser = threading.Thread(target=release_after_first_timeout)
    releaser.start()
    try:
        done = runs.execute(settings, run.id, progress=lock_from_outside)
    finally:
        logging.getLogger("pineopt.runs").removeHandler(seen)
        seen.event.set()
        releaser.join(60)
    assert holders, "the run never reported progress"
    assert done.status is RunStatus.FAILED
    assert "store stayed busy" in done.error and "re-queue" in done.error
    assert any("store stayed busy" in m for m in seen.errors)  # the ERROR log line
    assert runs.run_equity(settings.db_path, run.id).empty  # nothing half-stored


def test_failure_handler_never_raises_when_the_store_stays_locked(home, sma_source,
                                                                  monkeypatch) -> None:
    settings = make_settings(home)
    run = runs.request_run(settings, strategy_id=_save(settings, sma_source), config=HALF_YEAR)
    monkeypatch.setattr(store, "LOCK_WAIT_S", 0.2)
    monkeypatch.setattr(runs, "RECORD_WAIT_S", 0.5)
    seen = _Seen("could not record failed")
    logging.getLogger("pineopt.runs").addHandler(seen)
    holder = _holder(settings.db_path)
    try:
        runs.fail_unexpected(settings, run.id, RuntimeError("boom"))  # must not raise
    finally:
        logging.getLogger("pineopt.runs").removeHandler(seen)
        _release(holder)
    assert seen.event.is_set()
    assert runs.get_run(settings.db_path, run.id).status is RunStatus.QUEUED  # lost, but logged


@pytest.fixture
def full_jobs_root(home: Path):
    """A 1 MB tmpfs as the jobs root, beside the machine's (outside /tmp, which firejail
    replaces), root-owned 0711 like the real one."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small filesystem needs root (CI runs as root)")
    root = make_settings(home).jobs_root.parent / f"full-{uuid.uuid4().hex[:12]}"
    root.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0711", "tmpfs", str(root)],
                   check=True)
    try:
        yield root
    finally:
        subprocess.run(["umount", "-l", str(root)], check=True)
        root.rmdir()


def test_full_jobs_disk_ends_failed_with_the_reason(home, sma_source, full_jobs_root) -> None:
    settings = make_settings(home, pineopt_jobs_root=str(full_jobs_root), pineopt_pool_size="0")
    sandbox_check.require_sandbox(settings)  # the self-test passes while there is room
    with (full_jobs_root / "filler").open("wb", buffering=0) as out:  # fill the disk to the last byte
        with contextlib.suppress(OSError):
            while True:
                out.write(b"\0" * 4096)
    seen = _Seen("disk is full")
    logging.getLogger("pineopt.runs").addHandler(seen)
    run = runs.request_run(settings, strategy_id=_save(settings, sma_source),
                           config=BacktestConfig(start="2023-01-01", end="2024-12-31"))
    try:
        done = runs.execute(settings, run.id)
    finally:
        logging.getLogger("pineopt.runs").removeHandler(seen)
    assert done.status is RunStatus.FAILED, done
    assert "disk is full" in done.error and "PINEOPT_JOBS_ROOT" in done.error
    assert seen.errors and "disk is full" in seen.errors[0]


OWNER = ("import sys\nfrom pathlib import Path\nfrom core.runs import instance; from core import store\n"
         "home = Path(sys.argv[1])\nwith store.connect(home / 'pineopt.duckdb') as con:\n"
         "    con.execute(\"UPDATE backtests SET status = 'running', owner_pid = ?, owner_token"
         " = ? WHERE id = ?\", [int(sys.argv[3]), instance.token(home), int(sys.argv[2])])\n"
         "print('owned', flush=True)\nsys.stdin.readline()\n")


def test_a_restart_with_the_same_pid_still_recovers_interrupted_runs(home, sma_source) -> None:
    settings = make_settings(home)
    run = runs.request_run(settings, strategy_id=_save(settings, sma_source), config=HALF_YEAR)
    # A server process owns the run and recorded OUR pid as its own: in a container the
    # server is PID 1 on every start, so the PID of a dead owner is alive again.
    owner = subprocess.Popen(  # noqa: S603
        [sys.executable, "-c", OWNER, str(home), str(run.id), str(os.getpid())], cwd=REPO,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert owner.stdout.readline().strip() == "owned"
    assert jobs.recover_interrupted(settings.db_path) == []  # its owner lives: left alone
    assert runs.get_run(settings.db_path, run.id).status is RunStatus.RUNNING
    owner.kill()  # kill -9: no handler runs
    owner.wait(10)
    owner.stdin.close()
    owner.stdout.close()
    assert jobs.recover_interrupted(settings.db_path) == [run.id]
    lost = runs.get_run(settings.db_path, run.id)
    assert lost.status is RunStatus.INTERRUPTED and "Re-queue" in lost.error
    with store.connect(settings.db_path) as con:
        assert con.execute("SELECT owner_pid FROM backtests WHERE id = ?",
                           [run.id]).fetchone()[0] == os.getpid()  # the PID was alive all along


SERVER = ("import signal, sys, threading\nfrom pathlib import Path\nfrom core.runs import jobs\n"
          "from tests.conftest import make_settings\n"
          "settings = make_settings(Path(sys.argv[1]), pineopt_max_concurrent='2', "
          "pineopt_pool_size='0')\nmanager = jobs.JobManager(settings)\n"
          "for rid in sys.argv[2].split(','):\n    manager.submit(int(rid))\n"
          # Streamlit's own SIGTERM handler stops the server and lets the interpreter exit.
          "signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))\n"
          "print('submitted', flush=True)\nthreading.Event().wait()\n")


def test_sigterm_during_a_batch_leaves_no_run_running(home) -> None:
    settings = make_settings(home)
    sid = _save(settings, BUSY)
    ids = [runs.request_run(settings, strategy_id=sid, config=HALF_YEAR, force=True).id
           for _ in range(6)]
    server = subprocess.Popen(  # noqa: S603
        [sys.executable, "-c", SERVER, str(home), ",".join(map(str, ids))], cwd=REPO,
        stdout=subprocess.PIPE, text=True)
    assert server.stdout.readline().strip() == "submitted"
    deadline = time.monotonic() + 120
    while sum((progress.read(settings.home, rid) or 0) > 0 for rid in ids) < 2:  # 2 computing
        assert time.monotonic() < deadline and server.poll() is None
        time.sleep(0.05)
    server.send_signal(signal.SIGTERM)
    assert server.wait(jobs.SHUTDOWN_GRACE_S + 60) == 0
    server.stdout.close()
    final = [runs.get_run(settings.db_path, rid) for rid in ids]
    assert [r.status for r in final] == [RunStatus.INTERRUPTED] * 6, [r.error for r in final]
    started = [r for r in final if r.started_at is not None]
    assert len(started) == 2  # the queued ones were never started during shutdown
    assert all("before this run started" in r.error for r in final if r.started_at is None)
    left = subprocess.run(["pgrep", "-f", str(settings.jobs_root)], capture_output=True,
                          text=True).stdout.split()
    assert left == [], "sandboxes left running"


def test_sweep_removes_stale_job_folders_and_progress_files_but_not_live_ones(home, sma_source,
                                                                            monkeypatch) -> None:
    settings = make_settings(home)
    run = runs.request_run(settings, strategy_id=_save(settings, sma_source), config=HALF_YEAR)
    runs.record_final(settings.db_path, run.id, RunStatus.FAILED, error="x")
    progress.write(settings.home, run.id, 0.5)  # a finished run's leftover
    stale = settings.jobs_root / ("0" * 32)
    (stale / "out").mkdir(parents=True)
    (stale / "ohlcv.parquet").write_bytes(b"x" * 1000)
    live = Worker(make_settings(home, pineopt_pool_size="0")).start()
    runtimes = sorted(settings.jobs_root.glob("runtime-*"))  # the sandbox's code: never swept
    monkeypatch.setattr(housekeeping, "STALE_AGE_S", 0.0)  # everything is old enough now
    try:
        swept = housekeeping.sweep(settings)
        assert not stale.exists() and swept.job_folders >= 1 and swept.job_bytes >= 1000
        assert live.job_dir.is_dir()  # its worker holds it
        assert runtimes and all(r.is_dir() for r in runtimes)
        assert progress.read(settings.home, run.id) is None and swept.progress_files == 1
    finally:
        live.cleanup()
    assert instance.sweep(settings.home) >= 0


MEMORY_BOMB = ("from backtesting import Strategy\n\n\nclass Hog(Strategy):\n"
               "    def init(self):\n        pass\n\n    def next(self):\n"
               "        big = [0] * (10 ** 9)\n")


def test_the_memory_limit_message_names_the_limit_and_the_fix(home) -> None:
    settings = make_settings(home, pineopt_pool_size="0")
    config = BacktestConfig(start="2024-01-01", end="2024-01-07",
                            extra={"limits": {"memory_mb": 700}})
    run = runs.request_run(settings, strategy_id=_save(settings, MEMORY_BOMB), config=config)
    done = runs.execute(settings, run.id)
    assert done.status is RunStatus.MEMORY_LIMIT
    assert "memory limit of 700 MB (PINEOPT_MEMORY_MB)" in done.error
    assert "shorter date range" in done.error and "raise PINEOPT_MEMORY_MB" in done.error


def test_a_cli_backtest_starts_one_strategy_sandbox_and_no_pool(home, monkeypatch) -> None:
    import cli

    entries: list[object] = []
    real_start = Worker.start

    def counted(self, *, entry=None, **kwargs):  # noqa: ANN001, ANN003, ANN202 - counts sandboxes
        entries.append(entry)
        return real_start(self, entry=entry, **kwargs)

    monkeypatch.setattr(Worker, "start", counted)
    assert cli.main(["backtest", str(REPO / "examples" / "sma_cross.py"), "--symbol", "BTCUSDT",
                     "--timeframe", "1h", "--start", "2024-01-01", "--end", "2024-01-07"]) == 0
    # The self-test canary (fail closed, once per process) and the run's own sandbox; no pool.
    assert len(entries) == 2, entries
    assert not any(t.name == "pineopt-pool" for t in threading.enumerate())
