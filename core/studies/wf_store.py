"""Walk-forwards in DuckDB (migration 20). Only the parent process writes here.

A walk-forward is a row of ``studies`` (kind 'walkforward': strategy, data, config of the whole
range, space, method, objective); ``walkforwards`` holds its window lengths, and
``walkforward_windows`` one row per window: its bounds, its in-sample sweep (a study of kind
'wf_window' whose trials are stored like any study's), the chosen parameters with their
in-sample metrics and daily returns, and the out-of-sample run (a normal run record).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from core import store
from core.errors import NotFoundError
from core.studies.wf_windows import Window

KIND = "walkforward"
WINDOW_KIND = "wf_window"


@dataclass(frozen=True, slots=True, kw_only=True)
class WindowRow:
    """One stored window: its bounds, in-sample sweep and out-of-sample outcome."""

    window: Window
    is_study_id: int
    status: str  # pending | completed | no_trial (no in-sample trial had an objective) | failed
    error: str
    params: dict[str, Any] | None
    is_metrics: dict[str, float]
    is_daily_returns: list[float]
    oos_run_id: int | None
    oos_metrics: dict[str, float]


def insert(db: Path, study_id: int, *, lengths: dict[str, Any],
           windows: list[tuple[Window, int]]) -> None:
    """Store a walk-forward's lengths and its (window, in-sample study id) pairs."""
    with store.transaction(db) as con:
        con.execute("INSERT INTO walkforwards (study_id, is_len, oos_len, step, anchored) "
                    "VALUES (?, ?, ?, ?, ?)", [study_id, lengths["is_len"], lengths["oos_len"],
                                               lengths["step"], bool(lengths["anchored"])])
        for w, is_study in windows:
            con.execute("UPDATE studies SET kind = ? WHERE id = ?", [WINDOW_KIND, is_study])
            con.execute(
                "INSERT INTO walkforward_windows (study_id, k, is_start, is_end, oos_start, "
                "oos_end, is_study_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [study_id, w.k, w.is_start.to_pydatetime(), w.is_end.to_pydatetime(),
                 w.oos_start.to_pydatetime(), w.oos_end.to_pydatetime(), is_study])


def discard_studies(db: Path, study_ids: list[int]) -> None:
    """Delete in-sample studies that never ran (a walk-forward whose creation failed)."""
    with store.connect(db) as con:
        for study_id in study_ids:
            con.execute("DELETE FROM studies WHERE id = ? AND status = 'queued'", [study_id])


def lengths(db: Path, study_id: int) -> dict[str, Any]:
    """{'is_len', 'oos_len', 'step', 'anchored'} of a walk-forward. Raises NotFoundError."""
    with store.connect(db) as con:
        row = con.execute("SELECT is_len, oos_len, step, anchored FROM walkforwards WHERE "
                          "study_id = ?", [study_id]).fetchone()
    if row is None:
        raise NotFoundError(f"Study {study_id} is not a walk-forward; `pineopt studies list` "
                            "shows the ids (method column) of every study.")
    return {"is_len": row[0], "oos_len": row[1], "step": row[2], "anchored": bool(row[3])}


def _loads(text: str | None, default: Any) -> Any:
    return default if text is None else json.loads(text)


def windows(db: Path, study_id: int) -> list[WindowRow]:
    """Every window of a walk-forward, in order."""
    with store.connect(db) as con:
        rows = con.execute(
            "SELECT k, is_start, is_end, oos_start, oos_end, is_study_id, status, error, params, "
            "is_metrics, is_daily_returns, oos_run_id, oos_metrics FROM walkforward_windows "
            "WHERE study_id = ? ORDER BY k", [study_id]).fetchall()
    out = []
    for r in rows:
        window = Window(k=int(r[0]), is_start=pd.Timestamp(r[1]), is_end=pd.Timestamp(r[2]),
                        oos_start=pd.Timestamp(r[3]), oos_end=pd.Timestamp(r[4]))
        out.append(WindowRow(window=window, is_study_id=int(r[5]), status=r[6], error=r[7],
                             params=_loads(r[8], None), is_metrics=_loads(r[9], {}),
                             is_daily_returns=list(r[10] or []),
                             oos_run_id=None if r[11] is None else int(r[11]),
                             oos_metrics=_loads(r[12], {})))
    return out


def finish_window(db: Path, study_id: int, k: int, *, status: str, error: str = "",
                  params: dict[str, Any] | None = None, is_metrics: dict[str, float] | None = None,
                  is_daily_returns: list[float] | None = None, oos_run_id: int | None = None,
                  oos_metrics: dict[str, float] | None = None) -> None:
    """Record a window's outcome (all of it at once)."""
    with store.connect(db) as con:
        con.execute(
            "UPDATE walkforward_windows SET status = ?, error = ?, params = ?, is_metrics = ?, "
            "is_daily_returns = ?, oos_run_id = ?, oos_metrics = ? WHERE study_id = ? AND k = ?",
            [status, error[:20_000], None if params is None else json.dumps(params),
             None if is_metrics is None else json.dumps(is_metrics), is_daily_returns,
             oos_run_id, None if oos_metrics is None else json.dumps(oos_metrics), study_id, k])
