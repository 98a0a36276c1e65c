"""The HTTP API inside another server's process: `pineopt serve` runs the Streamlit app and
this API in ONE process, so the pages, the API and the commands the CLI forwards share one
DuckDB instance, one JobManager and one sandbox worker pool (issue #18: one owner of the store).

``start`` claims PINEOPT_HOME (core.runs.endpoint.claim: a second server on the same home is
refused), listens, publishes endpoint.json (0600, a per-start token), initialises the store
once (migrations run here, by the owner) and serves uvicorn on a background thread with its own
event loop. ``stop`` ends it (the API's lifespan withdraws the file and shuts the jobs down).
One per process: ``current()`` is what the pages ask for the shared objects.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

from core.runs import endpoint
from core.runs.jobs import JobManager
from core.settings import Settings

START_TIMEOUT_S = 120.0  # the first start loads the sample data before the API answers
STOP_TIMEOUT_S = 30.0  # uvicorn's graceful shutdown (10 s) plus the jobs' (core.runs.jobs)


@dataclass(slots=True, kw_only=True)
class Owner:
    """This process owns the store: its settings, endpoint file, jobs and API server."""

    settings: Settings
    endpoint: endpoint.Endpoint
    jobs: JobManager
    server: Any  # uvicorn.Server
    thread: threading.Thread
    sock: socket.socket
    lock_fd: int


_current: list[Owner] = []
_guard = threading.Lock()


def current() -> Owner | None:
    """The owner started in this process, or None (the app then opens the store itself)."""
    return _current[0] if _current else None


def start(settings: Settings, *, host: str, port: int, token: str = "") -> Owner:
    """Own ``settings.home`` and serve the API on (host, port) from a background thread;
    returns once it answers. Idempotent per process. Raises PineOptError when another server
    owns the home or the port cannot be bound."""
    import uvicorn

    from api.app import create_app
    from api.server import listening_socket

    with _guard:
        if _current:
            return _current[0]
        lock_fd = endpoint.claim(settings.home)  # before the store is touched: refused early
        try:
            sock = listening_socket(host, port)
        except BaseException:
            os.close(lock_fd)
            raise
        ep = endpoint.publish(settings.home, host=host, port=int(sock.getsockname()[1]))
        jobs = JobManager(settings)
        try:
            app = create_app(settings, token=token, owner=ep, jobs=jobs)  # migrates, once
        except BaseException:
            jobs.shutdown()
            endpoint.withdraw(settings.home, ep)
            sock.close()
            os.close(lock_fd)
            raise
        config = uvicorn.Config(app, log_level="warning", access_log=False,
                                timeout_graceful_shutdown=10)
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]},
                                  name="pineopt-api", daemon=True)
        owner = Owner(settings=settings, endpoint=ep, jobs=jobs, server=server, thread=thread,
                      sock=sock, lock_fd=lock_fd)
        thread.start()
        _wait_started(owner)
        _current.append(owner)
        return owner


def _wait_started(owner: Owner) -> None:
    """Block until uvicorn answers (its lifespan ran); raise if its thread ended first."""
    from core.errors import PineOptError

    deadline = time.monotonic() + START_TIMEOUT_S
    while not owner.server.started:
        owner.thread.join(0.05)
        if not owner.thread.is_alive() or time.monotonic() > deadline:
            owner.jobs.shutdown()
            _release(owner)
            raise PineOptError("The HTTP API did not start (see the lines above or "
                               "PINEOPT_HOME/logs); the app cannot own the store without it.")


def stop() -> None:
    """Stop the API of this process (pending requests get uvicorn's grace), withdraw the
    endpoint file, stop the jobs and release the home. Idempotent."""
    with _guard:
        if not _current:
            return
        owner = _current.pop()
    owner.server.should_exit = True
    owner.thread.join(STOP_TIMEOUT_S)
    if owner.thread.is_alive():
        print("pineopt: the API did not stop in time; leaving it to the process exit.",
              file=sys.stderr)
    owner.jobs.shutdown()  # the lifespan did it already; idempotent (never started: here)
    _release(owner)


def _release(owner: Owner) -> None:
    endpoint.withdraw(owner.settings.home, owner.endpoint)
    owner.sock.close()
    os.close(owner.lock_fd)
