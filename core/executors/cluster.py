"""PARENT SIDE of the Dask executor: a client per scheduler, and a slot per sandbox job.

PINEOPT_DASK_SCHEDULER=tcp://host:8786 connects to a running scheduler; PINEOPT_EXECUTOR=dask
without an address starts an in-process LocalCluster (PINEOPT_DASK_WORKERS processes, one thread
each, with the PineOpt preload). A DaskSlot looks like a local sandbox.runner.Worker to the
orchestrators (job_dir, run(), cleanup()): the caller writes the inputs into job_dir, run() sends
them as bytes with the job JSON to core.executors.task.run_job on some worker, waits (checking
cancel and the scheduler), checks the reply (core.executors.transfer) and writes the returned
files into job_dir/out, where the usual result checks read them. A worker that dies mid-task
makes the scheduler run the task again elsewhere; the app receives one reply per task, so a run
or trial is stored once.
"""

from __future__ import annotations

import atexit
import dataclasses
import json
import logging
import shutil
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from core.errors import SandboxError, SandboxUnavailableError
from core.executors import transfer, version
from core.settings import Settings
from sandbox.runner import Limits, Outcome

_log = logging.getLogger("pineopt.dask")
POLL_S = 0.2
CONNECT_TIMEOUT_S = 10.0
WORKERS_WAIT_S = 60.0
LOST_MESSAGE = ("The Dask scheduler at {address} is gone ({why}); this job was not finished and "
                "nothing was stored for it. Start the scheduler and its workers again (`dask "
                "scheduler`, `pineopt worker --scheduler {address}`), then re-queue the run "
                "(Backtest page) or resume the study (`pineopt studies resume ID`, Optimize page).")


@dataclasses.dataclass
class _Connection:
    client: Any
    cluster: Any = None  # the in-process LocalCluster, when PineOpt started one


_connections: dict[str, _Connection] = {}  # one client per scheduler address in this process
_lock = threading.Lock()


def _key(settings: Settings) -> str:
    return settings.dask_scheduler or f"local:{settings.dask_workers}"


def connection(settings: Settings) -> _Connection:
    """This process's client for the settings' scheduler (or LocalCluster), made on first use.

    Raises SandboxUnavailableError when the scheduler cannot be reached.
    """
    key = _key(settings)
    with _lock:
        conn = _connections.get(key)
        if conn is not None and conn.client.status in ("running", "connecting"):
            return conn
        if not _connections:
            atexit.register(close_all)
        conn = _connections[key] = _connect(settings)
        return conn


def _connect(settings: Settings) -> _Connection:
    from distributed import Client, LocalCluster

    if not settings.dask_scheduler:
        cluster = LocalCluster(n_workers=settings.dask_workers, threads_per_worker=1,
                               processes=True, dashboard_address=":0",
                               preload=["core.executors.preload"])
        return _Connection(client=Client(cluster, set_as_default=False), cluster=cluster)
    try:
        client = Client(settings.dask_scheduler, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise SandboxUnavailableError(
            f"The Dask scheduler at {settings.dask_scheduler} (PINEOPT_DASK_SCHEDULER) cannot be "
            f"reached ({type(exc).__name__}: {str(exc)[:200]}). Start it (`dask scheduler`), "
            "or unset PINEOPT_DASK_SCHEDULER to run jobs on this machine.") from None
    return _Connection(client=client)


def close_all() -> None:
    """Close every client (and LocalCluster) of this process; idempotent, never raises."""
    with _lock:
        conns = list(_connections.values())
        _connections.clear()
    for conn in conns:
        for part in (conn.client, conn.cluster):
            if part is None:
                continue
            try:
                part.close()
            except Exception:  # noqa: BLE001 - at exit; the cluster's processes die with us
                _log.warning("could not close %r cleanly", part)


def worker_count(settings: Settings) -> tuple[int, int, str]:
    """(workers, threads, dashboard link or '') of the connected cluster."""
    client = connection(settings).client
    workers = client.scheduler_info(n_workers=-1).get("workers", {})
    threads = sum(int(w.get("nthreads", 1)) for w in workers.values())
    return len(workers), threads, client.dashboard_link or ""


def require_workers(settings: Settings) -> None:
    """Raise SandboxUnavailableError unless the cluster has a worker (waits WORKERS_WAIT_S)."""
    client = connection(settings).client
    try:
        client.wait_for_workers(1, timeout=WORKERS_WAIT_S)
    except (TimeoutError, OSError) as exc:
        raise SandboxUnavailableError(
            f"The Dask cluster at {settings.dask_scheduler or 'this process'} has no worker "
            f"({type(exc).__name__}); start one with `pineopt worker --scheduler "
            f"{settings.dask_scheduler or 'ADDRESS'}`.") from None


class DaskSlot:
    """One sandbox job on the cluster, shaped like a local sandbox.runner.Worker."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.job_dir = Path(tempfile.mkdtemp(prefix="pineopt-dask-"))
        (self.job_dir / "out").mkdir(mode=0o700)
        self.proc = None  # no local process (sandbox.runner.Worker has one)

    def run(self, job: dict, *, limits: Limits, progress: Any = None,
            cancel: threading.Event | None = None) -> Outcome:
        """Send the job to a worker, wait for its reply, unpack the out/ files; how it ended.

        Raises SandboxError(interrupted) when the scheduler goes away, SandboxError(
        result_rejected) for a malformed reply. ``progress`` is called once, at the end.
        """
        conn = connection(self.settings)
        name = f"pineopt-cancel-{uuid.uuid4().hex}"
        request = {"code_version": version.code_version(),
                   "job": json.dumps(job, allow_nan=False).encode(),
                   "files": transfer.pack_inputs(self.job_dir),
                   "limits": dataclasses.asdict(limits), "cancel_event": name}
        from core.executors.task import run_job

        future = conn.client.submit(run_job, request, key=f"pineopt-job-{uuid.uuid4().hex}",
                                    pure=False)
        try:
            raw = self._wait(conn, future, name, cancel)
        finally:
            future.release()
        if raw is None:
            return Outcome(status="cancelled", message="Cancelled by the user.")
        reply = transfer.check_reply(raw, result_bytes=limits.result_bytes,
                                     log_bytes=self.settings.output_bytes)
        if reply["status"] == "version_mismatch":
            raise SandboxError(reply["message"], status="failed")
        if reply["status"] != "completed":
            return Outcome(status=reply["status"], message=reply["message"], log=reply["log"])
        transfer.unpack_out(self.job_dir / "out", reply["files"],
                            max_total_bytes=limits.out_mb * 1024 * 1024)
        if progress is not None:
            progress(1, 1)
        return Outcome(status="completed", result=reply["result"], log=reply["log"],
                       job_dir=self.job_dir)

    def _wait(self, conn: _Connection, future: Any, name: str,
              cancel: threading.Event | None) -> Any:
        """The task's reply, or None when cancelled (the worker's sandbox is then killed)."""
        from distributed import Event

        address = self.settings.dask_scheduler or "in this process"
        while True:
            if cancel is not None and cancel.is_set():
                try:
                    Event(name, client=conn.client).set()
                    future.cancel()
                except Exception:  # noqa: BLE001 - scheduler gone: nothing left to stop there
                    _log.warning("could not cancel %s on the cluster", future.key)
                return None
            if future.done():
                return self._result(conn, future, address)
            if conn.client.status not in ("running", "connecting"):
                raise SandboxError(LOST_MESSAGE.format(address=address, why="the client closed"),
                                   status="interrupted")
            time.sleep(POLL_S)

    @staticmethod
    def _result(conn: _Connection, future: Any, address: str) -> Any:
        if future.status == "finished":
            return future.result()
        try:
            future.result()
        except Exception as exc:  # noqa: BLE001 - cancelled by the scheduler's loss, or lost
            why = f"{type(exc).__name__}: {str(exc)[:200]}"
        else:
            why = future.status
        if future.status == "error" and conn.client.status == "running":
            raise SandboxError(f"The job failed on the Dask cluster ({why}): its workers died "
                               "running it more than the scheduler's allowed-failures times. "
                               "Check the workers' logs, then re-queue the run or resume the "
                               "study.", status="failed")
        raise SandboxError(LOST_MESSAGE.format(address=address, why=why), status="interrupted")

    def cleanup(self) -> None:
        """Remove the staging folder (inputs and returned files)."""
        shutil.rmtree(self.job_dir, ignore_errors=True)


def slot(settings: Settings) -> DaskSlot:
    """A staging slot for one job on the cluster."""
    return DaskSlot(settings)


def check_version_on(settings: Settings) -> dict[str, str]:
    """Worker address -> its PineOpt code version, for workers whose version differs."""
    client = connection(settings).client
    mine = version.code_version()
    found = client.run(version.code_version)
    return {addr: str(v) for addr, v in found.items() if v != mine}

