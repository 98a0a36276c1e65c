"""Progress of running backtests, kept in small files beside the store, not in DuckDB.

Progress changes several times a second per job; writing it to DuckDB would hold the file lock
that the CLI and other processes share. Statuses and results stay in DuckDB.
"""

from __future__ import annotations

import os
from pathlib import Path


def _path(home: Path, run_id: int) -> Path:
    return home / "progress" / f"{int(run_id)}"


def write(home: Path, run_id: int, fraction: float) -> None:
    """Record progress (0..1) of a run atomically."""
    target = _path(home, run_id)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    tmp.write_text(f"{max(0.0, min(1.0, fraction)):.4f}")
    os.replace(tmp, target)


def read(home: Path, run_id: int) -> float | None:
    """Last recorded progress of a run, or None."""
    try:
        return float(_path(home, run_id).read_text())
    except (OSError, ValueError):
        return None


def clear(home: Path, run_id: int) -> None:
    """Forget a finished run's progress."""
    _path(home, run_id).unlink(missing_ok=True)
