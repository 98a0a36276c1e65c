"""A per-process pool of pre-started sandbox workers (parent side).

Keeps Settings.pool_size sandboxed children that have already imported their libraries (a warm
child starts a job at once); each takes exactly one job and exits, so no two jobs ever share a
process. Used by core.runs (one run) and core.studies (a batch of trials).

Replacements start when no handed-out worker is busy any more, or at once when the idle workers
are fewer than the jobs known to be coming: a warm-up (a firejail start and the library imports,
seconds of CPU) started while the pool still has idle workers for the next jobs only competes
with the runs in progress (8 queued small runs took about twice as long with those warm-ups going
on beside them, measured). The job manager announces its queued runs (expect(), then
working(expected=True)), so the pool knows what is coming: the run that takes the last idle
worker with nothing queued behind it starts no warm-up beside itself. A caller that announces
nothing (study batches, a one-off command) may want another worker any moment: taking the last
idle worker starts a replacement at once.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import threading
import time
from collections import deque
from collections.abc import Iterator

from core.errors import PineOptError, SandboxError
from core.model import RunStatus
from core.settings import Settings
from sandbox.runner import READY_TIMEOUT_S, Worker
from sandbox.userpool import NoFreeUser

LEASE_POLL_S = 0.1  # how often a run waiting for a per-run sandbox user looks again


class WorkerPool:
    """Pre-started, warmed-up sandbox workers for one Settings; each is handed out once."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.size = settings.pool_size  # idle workers kept; only grows (keep_at_least)
        self._idle: deque[Worker] = deque()
        self._lock = threading.Lock()
        self._filling = False
        self._closed = False
        self._busy = 0  # workers handed out whose cleanup() has not run yet
        self._deferred = False  # a refill waits for the busy workers to finish
        self._expected = 0  # announced jobs (expect()) that have not started working() yet
        self._spare = 1  # idle workers wanted beyond the expected jobs (0 after an announced take)
        self._local = threading.local()  # .expected: this thread works on an announced job

    def take(self, cancel: threading.Event | None = None) -> Worker:
        """A started worker for exactly one job (the caller must cleanup()); refills behind.

        Where runs lease per-run sandbox users (sandbox.userpool) and all are busy, waits for
        an idle worker or a free user, at most a run's wall clock plus start-up. Raises
        SandboxError (cancelled) if ``cancel`` is set meanwhile, NoFreeUser after the wait.
        """
        deadline = time.monotonic() + self.settings.timeout_s + READY_TIMEOUT_S
        self.refill()
        while True:
            worker = self._idle_worker()
            if worker is not None:
                worker.prioritize()  # it may still be warming up, at idle weight
                self._hand_out(worker)
                with self._lock:  # what the next job needs: the announced ones, or one more
                    self._spare = 0 if getattr(self._local, "expected", False) else 1
                self.refill()
                return worker
            try:
                return self._hand_out(Worker(self.settings).start(lease_wait_s=0))
            except NoFreeUser:
                if time.monotonic() >= deadline:
                    raise
            if cancel is not None and cancel.wait(LEASE_POLL_S):
                raise SandboxError("Cancelled by the user.", status=RunStatus.CANCELLED.value)
            if cancel is None:
                time.sleep(LEASE_POLL_S)

    def _hand_out(self, worker: Worker) -> Worker:
        """Count ``worker`` busy until its cleanup(), which may start a deferred refill."""
        with self._lock:
            self._busy += 1
        worker.on_cleanup = self._returned
        return worker

    def expect(self) -> None:
        """Announce a job that will take a worker (its working(expected=True) ends the wait)."""
        with self._lock:
            self._expected += 1
        self.refill()

    def unexpect(self, count: int = 1) -> None:
        """Withdraw ``count`` announced jobs that will never start (cancelled while queued)."""
        with self._lock:
            self._expected = max(0, self._expected - count)

    @contextlib.contextmanager
    def working(self, *, expected: bool = False) -> Iterator[None]:
        """Count a job as busy for its whole length (its result checked and stored too), not
        only while it holds a worker: replacements wait for it while the idle workers cover
        what is coming. ``expected``: the job was announced with expect()."""
        with self._lock:
            self._busy += 1
            if expected:
                self._expected = max(0, self._expected - 1)
        self._local.expected = expected
        try:
            yield
        finally:
            self._local.expected = False
            self._returned()

    def _returned(self) -> None:
        with self._lock:
            self._busy -= 1
            due = self._deferred and not self._busy
            if due:
                self._deferred = False
        if due:
            self.refill()

    def _wait_for_busy(self) -> bool:
        """(Lock held.) True, and the refill marked deferred, while handed-out workers are busy
        and the idle ones cover the announced jobs (and one more after a take that announced
        nothing)."""
        if self._busy and len(self._idle) >= self._expected + self._spare:
            self._deferred = True
            return True
        return False

    def _idle_worker(self) -> Worker | None:
        """The oldest idle worker whose child is alive (dead ones are cleaned up), or None."""
        with self._lock:
            while self._idle:
                candidate = self._idle.popleft()
                if candidate.proc is not None and candidate.proc.poll() is None:
                    return candidate
                candidate.cleanup()
        return None

    def refill(self) -> None:
        """Start workers in a background thread until pool_size are idle; while handed-out
        workers are busy and the idle ones cover what is coming, only once they are done."""
        with self._lock:
            if self._filling or self._closed or len(self._idle) >= self.size:
                return
            if self._wait_for_busy():
                return
            self._filling = True
        threading.Thread(target=self._fill, name="pineopt-pool", daemon=True).start()

    def _fill(self) -> None:
        try:
            while True:
                with self._lock:
                    if self._closed or len(self._idle) >= self.size:
                        return
                    if self._wait_for_busy():  # runs started meanwhile: after them
                        return
                # never hold up take(); warm up on idle CPU, not on that of running runs
                worker = Worker(self.settings).start(lease_wait_s=0, background=True)
                with self._lock:
                    if self._closed:
                        worker.cleanup()
                        return
                    self._idle.append(worker)
        except (PineOptError, OSError):
            return  # the sandbox cannot start; take() starts workers itself and reports why
        finally:
            with self._lock:
                self._filling = False

    def keep_at_least(self, size: int) -> None:
        """Keep ``size`` idle workers from now on if that is more than now (never fewer: the
        pool may serve several callers, e.g. the app and a command forwarded to it)."""
        with self._lock:
            self.size = max(self.size, size)

    def close(self) -> None:
        """Stop every idle worker and remove its job folder; later take() still works."""
        with self._lock:
            self._closed = True
            idle, self._idle = list(self._idle), deque()
        for worker in idle:
            worker.cleanup()

    def wait_idle_ready(self, timeout_s: float = READY_TIMEOUT_S) -> None:
        """Block until every idle worker finished its warm-up, which someone waits for now:
        it is no longer kept to idle CPU (benchmarks and tests, while nothing takes workers).
        Raises SandboxError if one cannot start."""
        with self._lock:
            idle = list(self._idle)
        for worker in idle:
            worker.prioritize()
            worker.wait_ready(timeout_s)

    def idle_pids(self) -> list[int]:
        """Process ids of the idle workers' firejail (or plain) processes."""
        with self._lock:
            return [w.proc.pid for w in self._idle if w.proc is not None]


_pools: dict[Settings, WorkerPool] = {}  # one pool per sandbox identity in this process
_pools_lock = threading.Lock()


def _identity(settings: Settings) -> Settings:
    """What makes workers interchangeable: the settings apart from how many are kept idle."""
    return dataclasses.replace(settings, pool_size=0)


def pool_for(settings: Settings) -> WorkerPool:
    """This process's pool for ``settings`` (created on first use; closed at exit).

    Callers whose settings differ only in pool_size share one pool, which keeps the largest
    size asked for (a one-off command in the app's process gets the app's warm workers and
    never closes them). A process keeps one pool: a pool for other settings (another
    PINEOPT_HOME, e.g. in tests) is closed when a new one is made, so idle workers never pile up.
    """
    key = _identity(settings)
    with _pools_lock:
        if not _pools:
            atexit.register(shutdown_pools)
        pool = _pools.get(key)
        stale = []
        if pool is None or pool._closed:  # noqa: SLF001 - same module
            stale = [p for k, p in _pools.items() if k != key]
            _pools.clear()
            pool = _pools[key] = WorkerPool(settings)
        else:
            pool.keep_at_least(settings.pool_size)
    for old in stale:
        old.close()
    return pool


def take_worker(settings: Settings, cancel: threading.Event | None = None) -> Worker:
    """A started sandbox worker for exactly one job (the caller must cleanup()); see
    WorkerPool.take for the wait when every per-run sandbox user is busy."""
    return pool_for(settings).take(cancel)


def shutdown_pools() -> None:
    """Close every pool of this process (no sandbox processes are left behind)."""
    with _pools_lock:
        pools = list(_pools.values())
        _pools.clear()
    for pool in pools:
        pool.close()


