"""Job execution: the queue's states in the store, up to N runs at once, cancel, restart recovery,
graceful shutdown, housekeeping, and a per-process pool of pre-started sandbox workers.

The queue lives in DuckDB (backtests.status: queued -> running -> a finished status, or
interrupted when the owning process died; backtests.owner_token names the owning process's
instance, core.runs.instance, whose held lock file says whether it is alive; PIDs are not trusted).
A JobManager runs queued runs FIFO, at most Settings.max_concurrent at once, in this process.
sandbox.pool keeps Settings.pool_size sandboxed children that have already imported their
libraries (sandbox.pool); each takes exactly one job and exits, so no two jobs share a process.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from core.runs import admin, housekeeping, instance
from core import store
from core.errors import NotFoundError, PineOptError
from core.model import RunStatus
from core.settings import Settings
from core.runs import service as runs
from sandbox import selftest as sandbox_check
from sandbox.pool import pool_for

_log = logging.getLogger("pineopt.jobs")
ORPHAN_GRACE_S = 60  # a queued run nobody claimed for this long belongs to a dead process
INTERRUPTED_MESSAGE = ("The server stopped before this run finished; nothing was stored for it. "
                       "Re-queue it (Backtest page) or run it again.")
NOT_STARTED_MESSAGE = ("The server stopped before this run started; nothing was stored for it. "
                       "Re-queue it (Backtest page) or run it again.")
HOUSEKEEPING_S = 60.0  # how often a JobManager recovers orphans and sweeps leftovers
SHUTDOWN_GRACE_S = 10.0  # how long shutdown waits for running sandboxes to stop
REQUEUEABLE = (RunStatus.INTERRUPTED, RunStatus.CANCELLED, RunStatus.TIMED_OUT,
               RunStatus.SANDBOX_UNAVAILABLE, RunStatus.FAILED)


def recover_interrupted(db: Path) -> list[int]:
    """Mark runs whose owning process is gone as interrupted; return their ids. Idempotent.

    The owner is the instance token recorded on the run (core.runs.instance): its lock is held
    while the process lives, whatever its PID. Running runs with a dead (or no) owner, and
    queued runs nobody claimed for ORPHAN_GRACE_S, were lost with their process. Their stored
    inputs are untouched.
    """
    home = db.parent
    with store.connect(db) as con:
        rows = con.execute(
            "SELECT id, status, owner_token, epoch(now() AT TIME ZONE 'UTC') - "
            "epoch(created_at) FROM backtests WHERE status IN ('running', 'queued')").fetchall()
    lost = [int(rid) for rid, status, owner, age in rows
            if not instance.alive(home, owner)
            and (status == "running" or owner or age > ORPHAN_GRACE_S)]
    if not lost:
        return lost
    with store.connect(db) as con:
        for rid in lost:
            con.execute("UPDATE backtests SET status = 'interrupted', error = ?, finished_at = "
                        "now() AT TIME ZONE 'UTC' WHERE id = ? AND status IN ('running', "
                        "'queued')", [INTERRUPTED_MESSAGE, rid])
    _log.warning("marked %d run(s) interrupted (their process is gone): %s", len(lost), lost)
    return lost


def _status(db: Path, run_id: int) -> RunStatus:
    with store.connect(db) as con:
        row = con.execute("SELECT status FROM backtests WHERE id = ?", [run_id]).fetchone()
    if row is None:
        raise NotFoundError(f"Run {run_id} does not exist; `pineopt runs list` shows the ids.")
    return RunStatus(row[0])


def _mark(db: Path, run_id: int, status: RunStatus, *, only_from: tuple[str, ...],
          error: str = "") -> bool:
    """Move a run to ``status`` if it is in one of ``only_from``; True if it moved."""
    marks = ",".join("?" * len(only_from))  # placeholders only: no value enters the SQL text
    sql = ("UPDATE backtests SET status = ?, error = ?, progress = 0, owner_pid = ?, "
           "owner_token = ?, finished_at = CASE WHEN ? THEN now() AT TIME ZONE 'UTC' END, "
           "started_at = CASE WHEN ? THEN started_at END WHERE id = ? AND status IN "
           f"({marks}) RETURNING id")
    with store.connect(db) as con:
        row = con.execute(
            sql,
            [status.value, error, os.getpid(), instance.token(db.parent), status.finished,
             status.finished, run_id, *only_from]).fetchone()
    return row is not None


@dataclass
class JobManager:
    """Runs queued backtests in background threads, FIFO, at most max_concurrent at once.

    Every HOUSEKEEPING_S it marks runs of dead processes interrupted and sweeps leftovers
    (core.runs.housekeeping). shutdown() — also called when the interpreter exits, e.g. after
    SIGTERM — stops taking work, marks what is still queued interrupted (re-queueable),
    cancels running sandboxes and waits at most SHUTDOWN_GRACE_S: no run is left running.
    """

    settings: Settings
    _pool: ThreadPoolExecutor = field(init=False)
    _cancels: dict[int, threading.Event] = field(default_factory=dict)
    _futures: dict[int, Future] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _closing: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        """Start the thread pool; run the sandbox self-test and warm the worker pool in the
        background so the first run neither waits for them nor blocks a cancel."""
        self._pool = ThreadPoolExecutor(max_workers=max(1, self.settings.max_concurrent),
                                        thread_name_prefix="pineopt-job")
        if self.settings.executor == "local":  # Dask workers each run their own self-test
            threading.Thread(target=sandbox_check.self_test, args=(self.settings,),
                             name="pineopt-selftest", daemon=True).start()
        threading.Thread(target=self._housekeeping, name="pineopt-housekeeping",
                         daemon=True).start()
        # Runs before concurrent.futures joins its threads at exit (hooks run last-in first):
        # without it the executor would start queued runs during shutdown and abandon them.
        # private and not in typeshed's stubs, hence the one ignore
        threading._register_atexit(self.shutdown)  # type: ignore[attr-defined]  # noqa: SLF001
        if self.settings.executor == "local":  # a Dask cluster's workers keep their own
            pool_for(self.settings).refill()

    def submit(self, run_id: int) -> None:
        """Queue a run (recorded as queued in the store) for execution in this process.

        Raises PineOptError while the server shuts down (the run is marked interrupted).
        """
        with self._lock:
            if self._closing.is_set():
                _mark(self.settings.db_path, run_id, RunStatus.INTERRUPTED,
                      only_from=("queued",), error=NOT_STARTED_MESSAGE)
                raise PineOptError("The server is shutting down and takes no new runs; start "
                                   "it again and re-queue the run (Backtest page).")
            if run_id in self._futures and not self._futures[run_id].done():
                return
            cancel = threading.Event()  # queued and owned by this process (request_run)
            self._cancels[run_id] = cancel
            if self.settings.executor == "local":  # a Dask cluster's workers keep their own
                pool_for(self.settings).expect()  # the pool warms up what the queue needs
            self._futures[run_id] = self._pool.submit(self._execute, run_id, cancel)

    def _execute(self, run_id: int, cancel: threading.Event) -> None:
        local = self.settings.executor == "local"  # the pool refills after the runs, not beside
        try:
            with (pool_for(self.settings).working(expected=True) if local
                  else contextlib.nullcontext()):
                if not cancel.is_set():  # a run no longer queued does not start
                    runs.execute_queued(self.settings, run_id, cancel=cancel)
        except Exception as exc:  # noqa: BLE001 - a job thread must never swallow an error
            runs.fail_unexpected(self.settings, run_id, exc)

    def _housekeeping(self) -> None:
        while not self._closing.wait(HOUSEKEEPING_S):
            try:
                recover_interrupted(self.settings.db_path)
                housekeeping.sweep(self.settings)
            except Exception:  # noqa: BLE001 - the next round tries again; the log says why
                _log.exception("housekeeping failed")

    def cancel(self, run_id: int) -> bool:
        """Stop a queued or running run. A running one ends within about a second, whether it
        is starting its sandbox, running, or having its result checked; a run recorded as
        running by a process that is gone is marked cancelled at once.

        Returns False when the run is neither queued nor running (nothing changed).
        """
        with self._lock:
            event = self._cancels.get(run_id)
            working = event is not None and not self._futures[run_id].done()
        if event is not None:
            event.set()
        queued = _mark(self.settings.db_path, run_id, RunStatus.CANCELLED, only_from=("queued",),
                       error="Cancelled by the user before it started.")
        if queued or working:
            return True
        return self._cancel_orphan(run_id)

    def _cancel_orphan(self, run_id: int) -> bool:
        """Mark a 'running' run cancelled when the process that owned it is gone."""
        with store.connect(self.settings.db_path) as con:
            row = con.execute("SELECT status, owner_token FROM backtests WHERE id = ?",
                              [run_id]).fetchone()
        if row is None or row[0] != RunStatus.RUNNING.value:
            return False
        if instance.alive(self.settings.home, row[1]):
            return False  # a live process (this one or another) works on it
        return _mark(self.settings.db_path, run_id, RunStatus.CANCELLED, only_from=("running",),
                     error="Cancelled by the user; no process was working on it any more.")

    def requeue(self, run_id: int) -> None:
        """Queue an interrupted (or cancelled, timed-out...) run again. Raises PineOptError."""
        status = _status(self.settings.db_path, run_id)
        if status not in REQUEUEABLE:
            raise PineOptError(f"Run {run_id} is {status.value}; only interrupted, cancelled, "
                               "timed-out or failed runs can be queued again.")
        with store.transaction(self.settings.db_path) as con:
            admin.clear_run_rows(con, [run_id], unlink=False)  # every per-run table, one place
        _mark(self.settings.db_path, run_id, RunStatus.QUEUED,
              only_from=tuple(s.value for s in REQUEUEABLE))
        self.submit(run_id)

    def active(self) -> list[int]:
        """Run ids submitted here that have not finished."""
        with self._lock:
            return [rid for rid, fut in self._futures.items() if not fut.done()]

    def wait(self, run_ids: list[int], *, timeout_s: float) -> bool:
        """Block until these runs finished here (True) or ``timeout_s`` passed (False)."""
        deadline = time.monotonic() + timeout_s
        for rid in run_ids:
            with self._lock:
                future = self._futures.get(rid)
            if future is None:
                continue
            try:
                future.result(timeout=max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                return False
            except CancelledError:
                continue
        return True

    def shutdown(self, *, grace_s: float = SHUTDOWN_GRACE_S) -> None:
        """Stop taking work; mark queued runs interrupted; cancel running ones and wait at most
        ``grace_s`` for their sandboxes to stop; whatever is still running then is marked
        interrupted. Idempotent; never raises."""
        with self._lock:
            first = not self._closing.is_set()
            self._closing.set()
            pending = [rid for rid, fut in self._futures.items() if fut.cancel()]
            if pending and self.settings.executor == "local":  # announced, never started
                pool_for(self.settings).unexpect(len(pending))
            running = [rid for rid, fut in self._futures.items() if not fut.done()]
            events = {rid: self._cancels[rid] for rid in running
                      if not self._cancels[rid].is_set()}
        for event in events.values():
            event.set()
        try:
            for rid in pending:
                _mark(self.settings.db_path, rid, RunStatus.INTERRUPTED, only_from=("queued",),
                      error=NOT_STARTED_MESSAGE)
            stopped = self.wait(running, timeout_s=grace_s)
            with self._lock:
                busy = [rid for rid in running if not self._futures[rid].done()]
            for rid in {*events, *busy}:  # stopped by the shutdown (not the user), or stuck
                _mark(self.settings.db_path, rid, RunStatus.INTERRUPTED,
                      only_from=("queued", "running", "cancelled") if rid in events
                      else ("queued", "running"), error=INTERRUPTED_MESSAGE)
        except Exception:  # noqa: BLE001 - at exit; the next start recovers what is left
            _log.exception("shutdown could not record every run; the next start will")
            stopped = False
        if first and (pending or running):
            _log.warning("shutdown: %d queued run(s) marked interrupted, %d running run(s) "
                         "stopped%s", len(pending), len(running),
                         "" if stopped else f" (some still busy after {grace_s:g} s)")
        self._pool.shutdown(wait=False, cancel_futures=True)
