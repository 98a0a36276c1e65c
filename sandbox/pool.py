"""A per-process pool of pre-started sandbox workers (parent side).

Keeps Settings.pool_size sandboxed children that have already imported their libraries (a warm
child starts a job at once); each takes exactly one job and exits, so no two jobs ever share a
process. Used by core.runs (one run) and core.studies (a batch of trials).
"""

from __future__ import annotations

import atexit
import threading
from collections import deque

from core.errors import PineOptError
from core.settings import Settings
from sandbox.runner import Worker


class WorkerPool:
    """Pre-started, warmed-up sandbox workers for one Settings; each is handed out once."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._idle: deque[Worker] = deque()
        self._lock = threading.Lock()
        self._filling = False
        self._closed = False

    def take(self) -> Worker:
        """A started worker for exactly one job (the caller must cleanup()); refills behind."""
        worker = None
        with self._lock:
            while self._idle and worker is None:
                candidate = self._idle.popleft()
                if candidate.proc is not None and candidate.proc.poll() is None:
                    worker = candidate
                else:
                    candidate.cleanup()
        self.refill()
        return worker if worker is not None else Worker(self.settings).start()

    def refill(self) -> None:
        """Start workers in a background thread until pool_size are idle."""
        with self._lock:
            if self._filling or self._closed or len(self._idle) >= self.settings.pool_size:
                return
            self._filling = True
        threading.Thread(target=self._fill, name="pineopt-pool", daemon=True).start()

    def _fill(self) -> None:
        try:
            while True:
                with self._lock:
                    if self._closed or len(self._idle) >= self.settings.pool_size:
                        return
                worker = Worker(self.settings).start()
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

    def close(self) -> None:
        """Stop every idle worker and remove its job folder; later take() still works."""
        with self._lock:
            self._closed = True
            idle, self._idle = list(self._idle), deque()
        for worker in idle:
            worker.cleanup()

    def idle_pids(self) -> list[int]:
        """Process ids of the idle workers' firejail (or plain) processes."""
        with self._lock:
            return [w.proc.pid for w in self._idle if w.proc is not None]


_pools: dict[Settings, WorkerPool] = {}  # one pool per Settings in this process
_pools_lock = threading.Lock()


def pool_for(settings: Settings) -> WorkerPool:
    """This process's pool for ``settings`` (created on first use; closed at exit).

    A process keeps one pool: a pool for other settings (another PINEOPT_HOME, e.g. in tests)
    is closed when a new one is made, so idle workers never pile up.
    """
    with _pools_lock:
        if not _pools:
            atexit.register(shutdown_pools)
        pool = _pools.get(settings)
        stale = []
        if pool is None or pool._closed:  # noqa: SLF001 - same module
            stale = [p for key, p in _pools.items() if key != settings]
            _pools.clear()
            pool = _pools[settings] = WorkerPool(settings)
    for old in stale:
        old.close()
    return pool


def take_worker(settings: Settings) -> Worker:
    """A started sandbox worker for exactly one job (the caller must cleanup())."""
    return pool_for(settings).take()


def shutdown_pools() -> None:
    """Close every pool of this process (no sandbox processes are left behind)."""
    with _pools_lock:
        pools = list(_pools.values())
        _pools.clear()
    for pool in pools:
        pool.close()
