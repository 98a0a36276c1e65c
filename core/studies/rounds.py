"""Scheduling a round of trials over sandbox children: batch sizes, and a pipeline.

Batch size. A sandbox child costs about a second of CPU before its first trial (firejail, the
imports, the warm-up), so a batch should hold many trials; but a batch is also the unit that is
stored (a killed sweep loses only its running batches), cancelled and checked against the time
budget. So the first batches of a sweep hold FIRST_BATCH trials, which measures how long a trial
takes in a child; later ones hold about TARGET_BATCH_S of work, never more than the caller's cap
(``batch_size``), than one child's out/ quota holds (entries and bytes), than an even share of
what remains (ceil((remaining + busy) / workers), busy being the trials the other children are
still running, so every child gets work to the end), or than the time budget leaves. Work
shorter than SPLIT_MIN_S in all (the small rounds of a TPE search on short data) is not split:
it runs in one child; nor is a tail that short left behind while the other children are busy
(it would cost one more child start after them). A batch's pace is noted as soon as its child
returns, before the slot's next batch is sized.

Pipeline. ``workers`` threads only run children (core.studies.executor.run_in_sandbox); the
calling thread checks each finished batch's files and stores its trials while the next batch
already runs in that slot, so no core waits for the parent's checks and writes.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from core.errors import SandboxError
from core.settings import Settings
from core.studies.executor import Job, Ran, run_in_sandbox

FIRST_BATCH = 4  # trials in a batch before a trial's time is known
TARGET_BATCH_S = 30.0  # wall-clock seconds of work per batch once it is known
OUT_BYTES_PER_BAR = 40  # a trial's equity, trades and events files, generously per bar
ENTRIES_PER_TRIAL = 4  # out/t<i>/ and its three files
SPLIT_MIN_S = 2.0  # less work than this stays in one child (a start is about a second of CPU)

Numbered = list[tuple[int, dict[str, Any]]]


@dataclass(slots=True)
class Pace:
    """Sandbox wall-clock seconds per trial, measured on the batches finished so far."""

    trials: int = 0
    seconds: float = 0.0

    def note(self, trials: int, seconds: float) -> None:
        """Add a finished batch of ``trials`` that took ``seconds`` in its child."""
        self.trials += trials
        self.seconds += max(0.0, seconds)

    @property
    def per_trial_s(self) -> float | None:
        """Seconds per trial, or None before any batch finished."""
        return self.seconds / self.trials if self.trials else None


def out_cap(bars: int, out_mb: int) -> int:
    """The most trials one child's out/ folder holds: its entry limit and, at
    OUT_BYTES_PER_BAR bytes per bar and trial, its ``out_mb`` quota."""
    from sandbox.runner import MAX_OUT_ENTRIES

    by_entries = (MAX_OUT_ENTRIES - 1) // ENTRIES_PER_TRIAL
    by_bytes = out_mb * 1024 * 1024 // max(1, bars * OUT_BYTES_PER_BAR)
    return max(1, min(by_entries, by_bytes))


def batch_size(*, remaining: int, workers: int, cap: int, pace: Pace,
               time_left_s: float | None = None, busy: int = 0) -> int:
    """Trials in the next batch (see the module docstring); at least 1. ``busy``: trials
    running in the other children's batches."""
    per_trial = pace.per_trial_s
    if per_trial is not None and per_trial * remaining < SPLIT_MIN_S:
        return max(1, min(cap, remaining))  # one child: a second start costs more than it saves
    size = min(cap, math.ceil((remaining + busy) / max(1, workers)))
    if per_trial is None:
        size = min(size, FIRST_BATCH)
    elif per_trial > 0:
        if busy and per_trial * (remaining - size) < SPLIT_MIN_S:
            size = min(cap, remaining)  # no short tail for a child started after the others
        size = min(size, int(TARGET_BATCH_S / per_trial))
        if time_left_s is not None:
            size = min(size, int(time_left_s / per_trial))
    return max(1, size)


def execute(settings: Settings, job: Job, todo: Numbered, *, workers: int,
            size_for: Callable[[int, int], int], cancel: threading.Event,
            stop: Callable[[], bool], finish: Callable[[Numbered, Ran], None],
            failed: Callable[[SandboxError], None], pace: Pace | None = None) -> None:
    """Run ``todo`` (n, params) in batches of ``size_for(remaining, busy)`` trials on
    ``workers`` children at once, until done, ``cancel`` is set or ``stop()`` says so (no new
    batch starts); ``busy``: the trials of the batches already running.

    ``finish(batch, ran)`` is called in this thread for each finished batch (ran is released
    after it returns); ``failed(error)`` for a batch whose child failed as a whole (not called
    for a cancelled one). ``pace`` notes each finished batch's time before the next is sized.
    """
    queue = deque(todo)
    pending: dict[Future[Ran], Numbered] = {}
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pineopt-batch") as pool:

        def submit() -> None:
            while queue and len(pending) < workers and not cancel.is_set() and not stop():
                size = size_for(len(queue), sum(len(b) for b in pending.values()))
                batch = [queue.popleft() for _ in range(min(size, len(queue)))]
                pending[pool.submit(run_in_sandbox, settings, job, [p for _, p in batch],
                                    cancel=cancel)] = batch

        try:
            submit()
            while pending:
                done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
                for future in done:
                    batch = pending.pop(future)
                    if pace is not None and future.exception() is None:
                        pace.note(len(batch), future.result().seconds)
                    submit()  # the slot runs its next batch while this one is checked
                    _finish_one(future, batch, finish, failed)
                submit()
        finally:
            if pending:  # an unexpected error here: stop the children, free their folders
                cancel.set()
                for future in pending:
                    _release_quietly(future)


def _finish_one(future: Future[Ran], batch: Numbered, finish: Callable[[Numbered, Ran], None],
                failed: Callable[[SandboxError], None]) -> None:
    try:
        ran = future.result()
    except SandboxError as exc:
        if exc.status != "cancelled":
            failed(exc)
        return
    try:
        finish(batch, ran)
    except SandboxError as exc:  # the batch result as a whole was rejected
        failed(exc)
    finally:
        ran.release()


def _release_quietly(future: Future[Ran]) -> None:
    try:
        future.result().release()
    except BaseException:  # noqa: BLE001, S110 - the original error is already on its way
        pass
