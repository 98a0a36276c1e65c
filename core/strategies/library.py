"""The strategy library table: one row per live strategy with its last run's return.

Read-only over strategies, strategy_versions, backtests and backtest_metrics. Filtering is done
here (text search, language, tag, validation status) so pages and the CLI only render rows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from core import store
from core.model import Language

STATUSES = ("valid", "invalid")

_SQL = """
SELECT s.id, s.name, s.language, s.author, s.tags, s.timeframes, s.assets, s.description,
       s.updated_at, v.version, v.valid, r.total_return, r.run_id
FROM strategies s
LEFT JOIN (SELECT strategy_id, max(version) AS version, arg_max(valid, version) AS valid
           FROM strategy_versions GROUP BY strategy_id) v ON v.strategy_id = s.id
LEFT JOIN (SELECT b.strategy_id, arg_max(m.value, b.id) AS total_return, max(b.id) AS run_id
           FROM backtests b JOIN backtest_metrics m
             ON m.backtest_id = b.id AND m.name = 'total_return' AND m.kind = 'all'
           WHERE b.status = 'completed' GROUP BY b.strategy_id) r ON r.strategy_id = s.id
WHERE s.deleted_at IS NULL
ORDER BY s.updated_at DESC, s.id DESC
"""


@dataclass(frozen=True, slots=True, kw_only=True)
class LibraryRow:
    """One strategy as the library table shows it. ``last_return`` is a fraction (0.05 = +5 %)."""

    id: int
    name: str
    language: Language
    author: str
    version: int
    tags: tuple[str, ...]
    timeframes: tuple[str, ...]
    assets: tuple[str, ...]
    description: str
    status: str  # "valid" | "invalid"
    updated_at: datetime
    last_return: float | None
    last_run_id: int | None

    def matches(self, text: str) -> bool:
        """Case-insensitive search over name, author, description, tags, timeframes, assets."""
        needle = text.strip().lower()
        hay = " ".join([self.name, self.author, self.description, *self.tags, *self.timeframes,
                        *self.assets]).lower()
        return not needle or all(word in hay for word in needle.split())


def _row(r: tuple) -> LibraryRow:
    return LibraryRow(id=int(r[0]), name=r[1], language=Language(r[2]), author=r[3],
                      tags=tuple(json.loads(r[4])), timeframes=tuple(json.loads(r[5])),
                      assets=tuple(json.loads(r[6])), description=r[7], updated_at=r[8],
                      version=int(r[9] or 0), status="valid" if r[10] else "invalid",
                      last_return=None if r[11] is None else float(r[11]),
                      last_run_id=None if r[12] is None else int(r[12]))


def library(db: Path, *, search: str = "", language: Language | None = None,
            tag: str | None = None, status: str | None = None) -> list[LibraryRow]:
    """Live strategies, most recently updated first, filtered by every given criterion."""
    with store.connect(db) as con:
        rows = [_row(r) for r in con.execute(_SQL).fetchall()]
    return [r for r in rows if r.matches(search)
            and (language is None or r.language is language)
            and (not tag or tag in r.tags)
            and (not status or r.status == status)]


def tags_in_use(db: Path) -> list[str]:
    """Every tag of a live strategy, sorted (for the tag filter)."""
    return sorted({t for r in library(db) for t in r.tags})


def completed_run_ids(db: Path, strategy_id: int, *, limit: int = 10) -> list[int]:
    """The newest completed runs of one strategy (any version), newest first, at most ``limit``."""
    with store.connect(db) as con:
        rows = con.execute("SELECT id FROM backtests WHERE strategy_id = ? "
                           "AND status = 'completed' ORDER BY id DESC LIMIT ?",
                           [strategy_id, limit]).fetchall()
    return [int(r[0]) for r in rows]
