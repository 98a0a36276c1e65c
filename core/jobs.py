"""Job execution: a bounded pool of threads that run queued backtests, with progress and cancel.

The queue lives in the store (backtests.status = 'queued'); this module only decides when each
queued run executes in this process. Up to Settings.max_concurrent run at once (FIFO).
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from core.settings import Settings
from sandbox.runner import Worker


def take_worker(settings: Settings) -> Worker:
    """A started sandbox worker for exactly one job (the caller must cleanup())."""
    return Worker(settings).start()


@dataclass
class JobManager:
    """Runs queued backtests in background threads. One per server process."""

    settings: Settings
    _pool: ThreadPoolExecutor = field(init=False)
    _cancels: dict[int, threading.Event] = field(default_factory=dict)
    _futures: dict[int, Future] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=self.settings.max_concurrent,
                                        thread_name_prefix="pineopt-job")

    def submit(self, run_id: int) -> None:
        """Queue a run (already recorded as queued in the store) for execution."""
        from core import runs

        with self._lock:
            if run_id in self._futures and not self._futures[run_id].done():
                return
            cancel = threading.Event()
            self._cancels[run_id] = cancel
            self._futures[run_id] = self._pool.submit(runs.execute, self.settings, run_id,
                                                      cancel=cancel)

    def cancel(self, run_id: int) -> bool:
        """Ask a queued or running run to stop. Returns False if this process does not own it."""
        with self._lock:
            event = self._cancels.get(run_id)
        if event is None:
            return False
        event.set()
        return True

    def active(self) -> list[int]:
        """Run ids submitted here that have not finished."""
        with self._lock:
            return [rid for rid, fut in self._futures.items() if not fut.done()]
