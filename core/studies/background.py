"""Sweeps running in the background of a server process (the API): start, cancel, shut down.

One StudyRunner per server: each study runs sweep.run (a walk-forward: walkforward.run, window
by window) in its own thread with a cancel event, so a request returns at once (202) while trials
are stored batch by batch. A study that is ``running`` in another live process is refused (its
owner cancels it); a study whose owner died is ``interrupted`` and may be resumed or marked
cancelled here.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from core.errors import PineOptError
from core.settings import Settings
from core.studies import study_store, sweep, walkforward, wf_store

_log = logging.getLogger("pineopt.studies")
SHUTDOWN_WAIT_S = 10.0


class StudyConflictError(PineOptError):
    """The study is in the wrong state for the request (running elsewhere, already final).
    Caught by the API (409) and shown by the CLI."""


@dataclass(slots=True)
class _Entry:
    thread: threading.Thread
    cancel: threading.Event = field(default_factory=threading.Event)


class StudyRunner:
    """The studies this process runs in background threads."""

    def __init__(self, settings: Settings, *, workers: int | None = None) -> None:
        self._settings = settings
        self._workers = workers
        self._lock = threading.Lock()
        self._entries: dict[int, _Entry] = {}

    def running(self, study_id: int) -> bool:
        """True while this process runs the study."""
        with self._lock:
            entry = self._entries.get(study_id)
            return entry is not None and entry.thread.is_alive()

    def start(self, study_id: int, *, workers: int | None = None,
              batch_size: int = sweep.DEFAULT_BATCH, reuse: bool = True) -> None:
        """Run (or resume) ``study_id`` in the background. Raises NotFoundError for an unknown
        study and StudyConflictError when it is already running (here or in a live process)."""
        study = study_store.get_study(self._settings.db_path, study_id)
        with self._lock:
            entry = self._entries.get(study_id)
            if (entry is not None and entry.thread.is_alive()) or (
                    study.status == "running" and not study.interrupted):
                raise StudyConflictError(
                    f"Study {study_id} is already running (process {study.owner_pid}); wait for "
                    f"it or cancel it first (POST /api/studies/{study_id}/cancel).")
            cancel = threading.Event()
            thread = threading.Thread(
                target=self._work, args=(study, cancel, workers or self._workers, batch_size,
                                         reuse),
                name=f"pineopt-study-{study_id}", daemon=True)
            self._entries[study_id] = _Entry(thread=thread, cancel=cancel)
            # marked running before the request returns, so a poll never sees it 'queued' again
            study_store.set_status(self._settings.db_path, study_id, "running")
            thread.start()

    def _work(self, study: study_store.Study, cancel: threading.Event, workers: int | None,
              batch_size: int, reuse: bool) -> None:
        study_id = study.id
        try:
            if study.kind == wf_store.KIND:  # records its errors on the study itself
                walkforward.run(self._settings, study_id, workers=workers,
                                batch_size=batch_size, cancel=cancel)
                return
            sweep.run(self._settings, study_id, workers=workers, batch_size=batch_size,
                      cancel=cancel, reuse=reuse)
        except PineOptError as exc:  # recorded on the study by sweep.run
            _log.warning("study %s failed: %s", study_id, exc)
        except Exception:  # a bug: sweep.run marked the study failed; keep the traceback
            _log.exception("study %s stopped by an unexpected error", study_id)

    def cancel(self, study_id: int) -> str:
        """Stop a study: 'cancelling' when this process runs it, 'cancelled' for an interrupted
        one (its owner died). Raises StudyConflictError when it is final or runs elsewhere."""
        with self._lock:
            entry = self._entries.get(study_id)
            if entry is not None and entry.thread.is_alive():
                entry.cancel.set()
                return "cancelling"
        study = study_store.get_study(self._settings.db_path, study_id)
        if study.interrupted or study.status == "queued":
            study_store.set_status(self._settings.db_path, study_id, "cancelled")
            return "cancelled"
        if study.status == "running":
            raise StudyConflictError(f"Study {study_id} runs in process {study.owner_pid}, not "
                                     "in this server; stop it there (Ctrl-C).")
        raise StudyConflictError(f"Study {study_id} is already {study.status}; nothing to "
                                 "cancel.")

    def shutdown(self, timeout_s: float = SHUTDOWN_WAIT_S) -> None:
        """Cancel every running study and wait up to ``timeout_s`` for their threads."""
        with self._lock:
            entries = list(self._entries.values())
        for entry in entries:
            entry.cancel.set()
        for entry in entries:
            entry.thread.join(timeout=timeout_s)
