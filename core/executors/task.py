"""WORKER SIDE: the one Dask task, run_job(): one sandbox job from bytes in to bytes out.

It runs on a Dask worker process (started by `pineopt worker`, or a LocalCluster's), never in
the sandbox. It refuses a task built by other PineOpt code (core.executors.version), proves the
sandbox with the self-test (cached per process), writes the input files into a job folder of
this worker's local pool (sandbox.pool), runs the job through the same sandbox.runner.Worker and
firejail command line as a local run, and returns the reply as a dict of primitives and bytes
(core.executors.transfer). It never raises: a Dask task's exception would be pickled back to the
app, so every failure is a reply with a status and a message. A cancel from the app (a
distributed Event named in the request) kills the sandbox within about a second.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

from core.errors import SandboxError
from core.executors import transfer, version

_log = logging.getLogger("distributed.pineopt")  # shown by the worker's own log config
CANCEL_POLL_S = 0.5


def run_job(request: dict[str, Any]) -> dict[str, Any]:
    """Run one sandbox job described by ``request``; the reply (never raises).

    request: {"code_version": str, "job": bytes (JSON), "files": {name: bytes}, "limits":
    {name: number} (lowered, never raised, against this worker's PINEOPT_* limits),
    "cancel_event": str}.
    """
    where = _address()
    mine = version.code_version()
    base = {"worker": where, "code_version": mine}
    try:
        sent = str(request.get("code_version", ""))
        if sent != mine:
            _log.warning("PineOpt task refused: this worker runs code %s, the app sent %s",
                         mine, sent[:80])
            return {**base, "status": "version_mismatch",
                    "message": version.mismatch_message(worker=mine, sent=sent, where=where)}
        return {**base, **_run(request)}
    except Exception as exc:  # noqa: BLE001 - a task must reply, never raise (see module doc)
        _log.exception("PineOpt task failed on %s", where)
        return {**base, "status": "failed",
                "message": f"The Dask worker {where} hit an unexpected error "
                           f"({type(exc).__name__}: {str(exc)[:300]}); its log has the traceback."}


def _run(request: dict[str, Any]) -> dict[str, Any]:
    from sandbox import pool
    from sandbox import selftest as sandbox_check
    from core.settings import load_settings
    from sandbox.command import Limits

    settings = load_settings()
    status = sandbox_check.self_test(settings)
    if not status.ok:
        return {"status": "sandbox_unavailable", "message": f"On Dask worker {_address()}: "
                + status.message}
    limits = Limits.from_settings(settings, **dict(request.get("limits") or {}))
    job = json.loads(request["job"])
    cancel = threading.Event()
    worker = pool.take_worker(settings, cancel)
    finished = threading.Event()
    _watch_cancel(str(request.get("cancel_event", "")), cancel, finished)
    try:
        transfer.write_inputs(worker.job_dir, request.get("files", {}))
        outcome = worker.run(job, limits=limits, cancel=cancel)
        if outcome.status == "cancelled":
            _log.info("PineOpt job cancelled by the app: its sandbox was stopped")
        reply: dict[str, Any] = {"status": outcome.status, "message": outcome.message,
                                 "log": outcome.log}
        if outcome.status == "completed":
            try:
                reply["files"] = transfer.pack_out(worker.job_dir / "out",
                                                   max_total_bytes=limits.out_mb * 1024 * 1024)
            except SandboxError as exc:
                return {**reply, "status": exc.status, "message": str(exc)}
            reply["result"] = json.dumps(outcome.result, allow_nan=False).encode()
        return reply
    finally:
        finished.set()  # the watcher ends within CANCEL_POLL_S; not joined (no added latency)
        worker.cleanup()


def _watch_cancel(name: str, cancel: threading.Event, finished: threading.Event) -> None:
    """Set ``cancel`` when the app sets the distributed Event ``name`` (polled in a thread)."""
    if not name:
        return
    try:
        from distributed import Event, get_client

        event = Event(name, client=get_client())
    except (ImportError, ValueError):  # not inside a Dask worker (a direct call in a test)
        return

    def watch() -> None:
        while not finished.is_set():
            try:
                if event.wait(timeout=CANCEL_POLL_S):
                    cancel.set()
                    return
            except Exception:  # noqa: BLE001 - scheduler gone: the app fails the job itself
                if finished.wait(CANCEL_POLL_S):
                    return

    threading.Thread(target=watch, name="pineopt-cancel-watch", daemon=True).start()


def _address() -> str:
    try:
        from distributed import get_worker

        worker = get_worker()
        return f"{worker.name} ({worker.address})" if worker.name != worker.address \
            else worker.address
    except (ImportError, ValueError):
        return "(not in a Dask worker)"
