"""What a run needs before its sandbox, kept in this process so the next run does not redo it.

- The checked Python of a strategy source (the Pine translation, and the validation's blocking
  issues), by the source's sha256: validating is deterministic in the source, so a version
  validated once is not walked again for every run of it (the same checks, the same result).
- The bars a request loaded, handed to that run's execution (core.runs.service.request_run ->
  execute): the run then uses exactly the bars its data_sha was computed from, without reading
  them from the store a second time. Kept for a bounded number of queued runs; a run whose bars
  are not here (another process queued it, or it was re-queued) loads them again.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

import pandas as pd

from core.model import Language, ValidationIssue, sha256_text
from core.strategies import validation

MAX_SOURCES = 64  # checked sources kept
MAX_BARS = 32  # queued runs whose bars are kept
MAX_BARS_BYTES = 256 * 1024 * 1024  # and at most this many bytes of them

_lock = threading.Lock()
_checked: OrderedDict[tuple[str, str], tuple[str, tuple[ValidationIssue, ...]]] = OrderedDict()
_bars: OrderedDict[tuple[str, int], tuple[pd.DataFrame, int]] = OrderedDict()


def checked_python(source: str, language: Language) -> tuple[str, list[ValidationIssue]]:
    """(the Python that will run, its blocking validation issues) for a strategy source.

    Raises TranslationError for Pine that cannot be translated (not kept: raised every time).
    """
    key = (sha256_text(source), language.value)
    with _lock:
        hit = _checked.get(key)
        if hit is not None:
            _checked.move_to_end(key)
            return hit[0], list(hit[1])
    python = validation.python_source_for(source, language)
    problems = tuple(validation.errors_only(validation.validate_python(python)))
    with _lock:
        _checked[key] = (python, problems)
        while len(_checked) > MAX_SOURCES:
            _checked.popitem(last=False)
    return python, list(problems)


def keep_bars(db: Path, run_id: int, data: pd.DataFrame) -> None:
    """Keep a queued run's bars for its execution in this process (bounded; oldest dropped)."""
    size = int(data.memory_usage(index=True).sum())
    with _lock:
        _bars[(str(db), run_id)] = (data, size)
        while _bars and (len(_bars) > MAX_BARS or
                         sum(s for _, s in _bars.values()) > MAX_BARS_BYTES):
            _bars.popitem(last=False)


def take_bars(db: Path, run_id: int) -> pd.DataFrame | None:
    """The bars kept for this run (handed out once), or None."""
    with _lock:
        entry = _bars.pop((str(db), run_id), None)
    return None if entry is None else entry[0]
