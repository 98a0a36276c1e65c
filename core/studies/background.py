"""The one service that runs studies: start, follow, cancel, resume, wait — for the API, the
Optimize page and the CLI alike.

One StudyRunner per process (the API server's, the app's as a cached resource, the CLI's for
one command): each study runs sweep.run (a walk-forward: walkforward.run, window by window) in
its own thread with a cancel event, so a request or a page rerun returns at once while trials
are stored batch by batch; the latest report, any error and the start time are kept per study
(progress()), so a page that reruns, or another session, finds the study still running and can
cancel it. The CLI runs a study in the foreground through run() (Ctrl-C cancels it). A study
that is ``running`` in another live process is refused (its owner cancels it); a study whose
owner died is ``interrupted`` and may be resumed or marked cancelled here.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from core.errors import PineOptError
from core.settings import Settings
from core.studies import study_store, sweep, walkforward, wf_store

_log = logging.getLogger("pineopt.studies")
SHUTDOWN_WAIT_S = 10.0
Report = Any  # sweep.SweepReport or walkforward.WalkForwardReport
OnProgress = Callable[[Report], None]


class StudyConflictError(PineOptError):
    """The study is in the wrong state for the request (running elsewhere, already final).
    Caught by the API (409) and shown by the CLI."""


@dataclass(slots=True)
class Progress:
    """Where a study this process started stands: its latest report (trials stored, or windows
    done), the error that ended it, and when it started (time.monotonic())."""

    study_id: int
    kind: str  # the study's kind: 'sweep' or 'walkforward' (or a window's 'wf_window')
    alive: bool
    started: float
    report: Report = None
    error: str = ""
    ended: float | None = None  # time.monotonic() when it stopped (None while it runs)

    @property
    def elapsed(self) -> float:
        """Seconds it has run: until now while alive, until it stopped after (it went on
        counting after the end: "4 of 4 trials · 296 s" for a 10 s sweep)."""
        return (time.monotonic() if self.ended is None else self.ended) - self.started


@dataclass(slots=True)
class _Entry:
    kind: str
    thread: threading.Thread = field(default_factory=threading.Thread)  # replaced, then started
    cancel: threading.Event = field(default_factory=threading.Event)
    started: float = field(default_factory=time.monotonic)
    report: Report = None
    error: str = ""
    ended: float | None = None


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

    def progress(self, study_id: int) -> Progress | None:
        """The study's progress, or None when this process never started it."""
        with self._lock:
            entry = self._entries.get(study_id)
            if entry is None:
                return None
            alive = entry.thread.is_alive()
            return Progress(study_id=study_id, kind=entry.kind, alive=alive,
                            started=entry.started, report=entry.report, error=entry.error,
                            ended=None if alive else (entry.ended or time.monotonic()))

    def start(self, study_id: int, *, workers: int | None = None,
              batch_size: int = sweep.DEFAULT_BATCH, reuse: bool = True,
              on_progress: OnProgress | None = None) -> None:
        """Run (or resume) ``study_id`` in the background; ``on_progress`` gets each report
        (per batch of a sweep, per window of a walk-forward). Raises NotFoundError for an
        unknown study and StudyConflictError when it is already running (here or in a live
        process)."""
        study = study_store.get_study(self._settings.db_path, study_id)
        with self._lock:
            entry = self._entries.get(study_id)
            if (entry is not None and entry.thread.is_alive()) or (
                    study.status == "running" and not study.interrupted):
                raise StudyConflictError(
                    f"Study {study_id} is already running (process {study.owner_pid}); wait for "
                    f"it or cancel it first (POST /api/studies/{study_id}/cancel).")
            new = self._entries[study_id] = _Entry(kind=study.kind)
            new.thread = threading.Thread(
                target=self._work, name=f"pineopt-study-{study_id}", daemon=True,
                args=(study, new, workers or self._workers, batch_size, reuse, on_progress))
            # marked running before the request returns, so a poll never sees it 'queued' again
            study_store.set_status(self._settings.db_path, study_id, "running")
            new.thread.start()

    def _work(self, study: study_store.Study, entry: _Entry, workers: int | None,
              batch_size: int, reuse: bool, on_progress: OnProgress | None) -> None:
        def note(report: Report) -> None:
            entry.report = report
            if on_progress is not None:
                on_progress(report)

        try:
            if study.kind == wf_store.KIND:  # records its errors on the study itself
                entry.report = walkforward.run(self._settings, study.id, workers=workers,
                                               batch_size=batch_size, cancel=entry.cancel,
                                               on_window=note)
            else:
                entry.report = sweep.run(self._settings, study.id, workers=workers,
                                         batch_size=batch_size, cancel=entry.cancel,
                                         reuse=reuse, on_batch=note)
            entry.error = "\n".join(getattr(entry.report, "errors", []) or [])
        except PineOptError as exc:  # recorded on the study by sweep.run
            _log.warning("study %s failed: %s", study.id, exc)
            entry.error = str(exc)
        except Exception as exc:  # a bug: sweep.run marked the study failed; keep the traceback
            _log.exception("study %s stopped by an unexpected error", study.id)
            entry.error = (f"PineOpt hit an unexpected error ({type(exc).__name__}: {exc}); this "
                           "is a bug, the traceback is in the log. Resume the study to continue.")
        finally:
            entry.ended = time.monotonic()

    def wait(self, study_id: int, timeout_s: float | None = None) -> Progress | None:
        """Block until the study this process runs has stopped (or ``timeout_s`` passed); its
        progress then (None when this process never started it)."""
        with self._lock:
            entry = self._entries.get(study_id)
        if entry is not None:
            entry.thread.join(timeout=timeout_s)
        return self.progress(study_id)

    def run(self, study_id: int, *, workers: int | None = None,
            batch_size: int = sweep.DEFAULT_BATCH, reuse: bool = True,
            on_progress: OnProgress | None = None) -> Report:
        """Run (or resume) a study in the foreground (the CLI) and return its final report;
        Ctrl-C cancels it (finished trials and windows are kept) and waits for it to stop.
        Raises what start() raises, and PineOptError when the study stopped with an error
        that left no report."""
        self.start(study_id, workers=workers, batch_size=batch_size, reuse=reuse,
                   on_progress=on_progress)
        try:
            done = self.wait(study_id)
        except KeyboardInterrupt:
            self.cancel(study_id)
            done = self.wait(study_id)
        if done is None or done.report is None:
            raise PineOptError(done.error if done else f"study {study_id} did not run")
        return done.report

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
