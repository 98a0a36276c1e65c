"""Generated files kept with a run (tearsheet HTML, PDF): built once, then read from the store."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from core import store


def cached(db: Path, run_id: int, kind: str) -> bytes | None:
    """The stored artifact of this kind, or None."""
    with store.connect(db) as con:
        row = con.execute("SELECT content FROM artifacts WHERE backtest_id = ? AND kind = ?",
                          [run_id, kind]).fetchone()
    return None if row is None else bytes(row[0])


def get_or_build(db: Path, run_id: int, kind: str, build: Callable[[], bytes]) -> bytes:
    """The stored artifact, or ``build()`` it now and store it."""
    content = cached(db, run_id, kind)
    if content is not None:
        return content
    content = build()
    with store.connect(db) as con:
        con.execute("INSERT OR REPLACE INTO artifacts (backtest_id, kind, content) "
                    "VALUES (?, ?, ?)", [run_id, kind, content])
    return content
