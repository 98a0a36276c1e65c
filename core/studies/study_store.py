"""Studies and trials in DuckDB (migration 19). Only the parent process writes here.

A trial is one compact row: its parameters (canonical JSON key, unique per study), status,
objective, the headline metrics as columns (listing and plotting 10,000 trials reads only
these), every metric as JSON, and its daily returns as a list (DSR and PBO need them).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from core import store
from core.errors import NotFoundError

LIST_COLUMNS = ("n", "params", "status", "objective", "trades", "total_return", "sharpe_ratio",
                "max_drawdown", "reused", "run_id", "error")


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass(frozen=True, slots=True, kw_only=True)
class Study:
    """One study's definition and state."""

    id: int
    kind: str
    strategy_id: int
    strategy_version: int
    strategy_name: str
    strategy_sha: str
    data_sha: str
    config: dict[str, Any]
    space: list[dict[str, Any]]
    constraints: list[str]
    method: str
    objective: str
    direction: str
    min_trades: int
    max_trials: int
    time_budget_s: float | None
    seed: int
    status: str
    error: str
    owner_pid: int | None
    return_days: list[str] = field(default_factory=list)
    created_at: datetime | None = None
    finished_at: datetime | None = None

    @property
    def interrupted(self) -> bool:
        """Running, but its owning process is gone (killed or crashed): resume it."""
        return self.status == "running" and not _alive(self.owner_pid)

    @property
    def shown_status(self) -> str:
        """The status to show: 'interrupted' for a running study whose process is gone."""
        return "interrupted" if self.interrupted else self.status


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (killed, not yet reaped) is gone for our purposes
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


_SELECT = ("SELECT id, kind, strategy_id, strategy_version, strategy_name, strategy_sha, data_sha, "
           "config, space, constraints, method, objective, direction, min_trades, max_trials, "
           "time_budget_s, seed, status, error, owner_pid, return_days, created_at, finished_at "
           "FROM studies")


def _study(row: tuple) -> Study:
    return Study(id=int(row[0]), kind=row[1], strategy_id=int(row[2]),
                 strategy_version=int(row[3]), strategy_name=row[4], strategy_sha=row[5],
                 data_sha=row[6], config=json.loads(row[7]), space=json.loads(row[8]),
                 constraints=json.loads(row[9]), method=row[10], objective=row[11],
                 direction=row[12], min_trades=int(row[13]), max_trials=int(row[14]),
                 time_budget_s=row[15], seed=int(row[16]), status=row[17], error=row[18],
                 owner_pid=row[19], return_days=json.loads(row[20]), created_at=row[21],
                 finished_at=row[22])


def insert_study(db: Path, **values: Any) -> int:
    """Store a new study (status queued); returns its id."""
    for name in ("config", "space", "constraints"):
        values[name] = json.dumps(values[name])
    names = ", ".join(values)
    marks = ", ".join("?" for _ in values)
    with store.connect(db) as con:
        row = con.execute(f"INSERT INTO studies ({names}) VALUES ({marks}) RETURNING id",  # noqa: S608
                          list(values.values())).fetchone()
    if row is None:
        raise RuntimeError("INSERT ... RETURNING id returned no row")
    return int(row[0])


def get_study(db: Path, study_id: int) -> Study:
    """One study. Raises NotFoundError naming how to list them."""
    with store.connect(db) as con:
        row = con.execute(_SELECT + " WHERE id = ?", [study_id]).fetchone()
    if row is None:
        raise NotFoundError(f"Study {study_id} does not exist; `pineopt studies list` shows the "
                            "ids.")
    return _study(row)


def list_studies(db: Path, *, limit: int = 500) -> list[tuple[Study, int]]:
    """(study, trials stored), newest first."""
    with store.connect(db) as con:
        rows = con.execute(_SELECT + " ORDER BY id DESC LIMIT ?", [limit]).fetchall()
        counts = dict(con.execute("SELECT study_id, count(*) FROM trials GROUP BY study_id"
                                  ).fetchall())
    return [(_study(r), int(counts.get(r[0], 0))) for r in rows]


def set_status(db: Path, study_id: int, status: str, *, error: str = "") -> None:
    """running (owned by this process), or a final status with its time."""
    with store.connect(db) as con:
        if status == "running":
            con.execute("UPDATE studies SET status = 'running', owner_pid = ?, error = '', "
                        "finished_at = NULL WHERE id = ?", [os.getpid(), study_id])
        else:
            con.execute("UPDATE studies SET status = ?, error = ?, finished_at = ? WHERE id = ?",
                        [status, error[:20_000], _now(), study_id])


def set_return_days(db: Path, study_id: int, days: list[str]) -> None:
    """Store the UTC days (ISO dates) that the trials' daily returns are aligned to."""
    with store.connect(db) as con:
        con.execute("UPDATE studies SET return_days = ? WHERE id = ?",
                    [json.dumps(days), study_id])


def done_keys(db: Path, study_id: int) -> dict[str, int]:
    """params_key -> n of the trials already stored."""
    with store.connect(db) as con:
        rows = con.execute("SELECT params_key, n FROM trials WHERE study_id = ?",
                           [study_id]).fetchall()
    return {k: int(n) for k, n in rows}


def find_by_hash(db: Path, hashes: list[str]) -> dict[str, dict[str, Any]]:
    """Completed trials of any study with these trial hashes (identical inputs): hash -> row,
    with the days its daily returns are aligned to (its study's return_days)."""
    if not hashes:
        return {}
    with store.connect(db) as con:
        con.register("wanted", pd.DataFrame({"h": hashes}))
        rows = con.execute(
            "SELECT t.trial_hash, t.trades, t.metrics, t.daily_returns, s.return_days FROM trials "
            "t JOIN studies s ON s.id = t.study_id WHERE t.status = 'completed' AND "
            "t.trial_hash IN (SELECT h FROM wanted)").fetchall()
    out = {}
    for r in rows:
        out[r[0]] = {"trades": r[1], "metrics": json.loads(r[2]), "daily_returns": r[3],
                     "return_days": json.loads(r[4]) if r[4] else None}
    return out


def insert_trials(db: Path, study_id: int, rows: list[dict[str, Any]]) -> None:
    """Store trials in one transaction (all of a batch, or none)."""
    if not rows:
        return
    with store.transaction(db) as con:
        for r in rows:
            m = r.get("metrics") or {}
            con.execute(
                "INSERT INTO trials (study_id, n, params_key, params, trial_hash, status, error, "
                "objective, trades, total_return, sharpe_ratio, max_drawdown, metrics, "
                "daily_returns, reused) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [study_id, r["n"], r["params_key"], json.dumps(r["params"]), r["trial_hash"],
                 r["status"], r.get("error", "")[:20_000], r.get("objective"), r.get("trades"),
                 m.get("total_return"), m.get("sharpe_ratio"), m.get("max_drawdown"),
                 json.dumps(m), r.get("daily_returns"), bool(r.get("reused"))])


def trials_frame(db: Path, study_id: int) -> pd.DataFrame:
    """The compact trial table (no daily returns, no metrics JSON), by n."""
    with store.connect(db) as con:
        frame = con.execute(f"SELECT {', '.join(LIST_COLUMNS)} FROM trials "  # noqa: S608
                            "WHERE study_id = ? ORDER BY n", [study_id]).df()
    frame["params"] = frame["params"].map(json.loads)
    return frame


def trial_metrics(db: Path, study_id: int) -> dict[int, dict[str, float]]:
    """n -> every metric of each completed trial."""
    with store.connect(db) as con:
        rows = con.execute("SELECT n, metrics FROM trials WHERE study_id = ? AND status = "
                           "'completed' ORDER BY n", [study_id]).fetchall()
    return {int(n): json.loads(m) for n, m in rows}


def returns_matrix(db: Path, study_id: int) -> pd.DataFrame:
    """Daily returns of every completed trial: one column per trial n, rows = UTC days."""
    study = get_study(db, study_id)
    with store.connect(db) as con:
        rows = con.execute("SELECT n, daily_returns FROM trials WHERE study_id = ? AND status = "
                           "'completed' AND daily_returns IS NOT NULL ORDER BY n",
                           [study_id]).fetchall()
    index = pd.to_datetime(study.return_days)
    return pd.DataFrame({int(n): list(r) for n, r in rows if len(r) == len(index)}, index=index)


def link_run(db: Path, study_id: int, n: int, run_id: int) -> None:
    """Remember the full run opened for a trial."""
    with store.connect(db) as con:
        con.execute("UPDATE trials SET run_id = ? WHERE study_id = ? AND n = ?",
                    [run_id, study_id, n])


def best_trial_from(study: Study, frame: Any) -> int | None:
    """n of the trial with the best objective (ties: the lowest n), or None."""
    frame = frame[frame["objective"].notna()]
    if frame.empty:
        return None
    frame = frame.sort_values(["objective", "n"], ascending=[study.direction == "min", True])
    return int(frame.iloc[0]["n"])
