"""What a run needs before its sandbox, kept in this process so the next run does not redo it.

- The checked Python of a strategy source (the Pine translation, and the validation's blocking
  issues), by the source's sha256: validating is deterministic in the source, so a version
  validated once is not walked again for every run of it (the same checks, the same result).
- What a request loaded and checked, handed to that run's execution (core.runs.service.request_run
  -> execute): the bars its data_sha was computed from and the strategy version's source and
  language, so the run neither reads them from the store a second time nor differs from what was
  checked. Kept for a bounded number of queued runs; a run whose inputs are not here (another
  process queued it, or it was re-queued) loads them again.
- The bars as the Parquet file a sandbox reads, by a digest of the frame: runs queued on the
  same bars (a parameter sweep from the Backtest page) write the same bytes without encoding
  them again.
"""

from __future__ import annotations

import hashlib
import io
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from core.model import Language, RunRecord, ValidationIssue, sha256_text
from core.strategies import validation

MAX_SOURCES = 64  # checked sources kept
MAX_BARS = 32  # queued runs whose bars are kept
MAX_BARS_BYTES = 256 * 1024 * 1024  # and at most this many bytes of them
MAX_PARQUET = 4  # encoded bar files kept
MAX_PARQUET_BYTES = 64 * 1024 * 1024  # and at most this many bytes of them

_lock = threading.Lock()
_checked: OrderedDict[tuple[str, str], tuple[str, tuple[ValidationIssue, ...]]] = OrderedDict()
_bars: OrderedDict[tuple[str, int], tuple[Kept, int]] = OrderedDict()
_parquet: OrderedDict[str, bytes] = OrderedDict()


@dataclass(frozen=True, slots=True)
class Kept:
    """A queued run's checked inputs: its bars, and its strategy version's source and language;
    the run as request_run recorded it (its start then needs nothing read back)."""

    data: pd.DataFrame | None  # None: load them (a run another process queued)
    source: str
    language: Language
    run: RunRecord | None = None


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


def keep_run(db: Path, run_id: int, kept: Kept) -> None:
    """Keep a queued run's inputs for its execution in this process (bounded; oldest dropped)."""
    data = kept.data
    size = 0 if data is None else data.index.nbytes + sum(data[c].to_numpy().nbytes
                                                          for c in data.columns)
    with _lock:
        _bars[(str(db), run_id)] = (kept, size)
        while _bars and (len(_bars) > MAX_BARS or
                         sum(s for _, s in _bars.values()) > MAX_BARS_BYTES):
            _bars.popitem(last=False)


def take_run(db: Path, run_id: int) -> Kept | None:
    """The inputs kept for this run (handed out once), or None."""
    with _lock:
        entry = _bars.pop((str(db), run_id), None)
    return None if entry is None else entry[0]


def _frame_key(data: pd.DataFrame) -> str | None:
    """A digest of everything pandas' to_parquet writes of a bar frame (names, dtypes, index and
    values), or None for a frame this cache does not handle (a non-numeric column)."""
    if not isinstance(data.index, pd.DatetimeIndex) or not all(
            pd.api.types.is_numeric_dtype(t) for t in data.dtypes):
        return None
    digest = hashlib.sha256(repr((list(data.columns), [str(t) for t in data.dtypes],
                                  data.index.name, str(data.index.dtype))).encode())
    digest.update(data.index.asi8.tobytes())
    for column in data.columns:
        digest.update(np.ascontiguousarray(data[column].to_numpy()).tobytes())
    return digest.hexdigest()


def bars_parquet(data: pd.DataFrame) -> bytes:
    """``data`` as the Parquet bytes pandas' to_parquet writes, encoded once per distinct frame
    (bounded: MAX_PARQUET files, MAX_PARQUET_BYTES)."""
    key = _frame_key(data)
    with _lock:
        hit = _parquet.get(key or "")
        if key is not None and hit is not None:
            _parquet.move_to_end(key)
            return hit
    buffer = io.BytesIO()
    data.to_parquet(buffer)
    encoded = buffer.getvalue()
    if key is None:
        return encoded
    with _lock:
        _parquet[key] = encoded
        while len(_parquet) > MAX_PARQUET or sum(map(len, _parquet.values())) > MAX_PARQUET_BYTES:
            _parquet.popitem(last=False)
    return encoded
