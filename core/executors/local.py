"""The embedded local executor (the default): jobs run in this machine's sandbox pool.

A slot is a pre-started sandbox.runner.Worker from sandbox.pool's per-process pool, exactly as
before the executor seam existed; nothing else is needed (`make run`).
"""

from __future__ import annotations

import os
import threading

from core.settings import Settings
from sandbox.runner import Worker


def require(settings: Settings) -> None:
    """Raise SandboxUnavailableError unless the local sandbox passed its self-test."""
    from sandbox import selftest as sandbox_check

    sandbox_check.require_sandbox(settings)


def slot(settings: Settings, cancel: threading.Event | None = None) -> Worker:
    """A started sandbox worker for exactly one job (the caller must cleanup())."""
    from sandbox import pool

    return pool.take_worker(settings, cancel)


def slots() -> int:
    """Jobs this machine runs at once in a sweep: one per core."""
    return os.cpu_count() or 1
