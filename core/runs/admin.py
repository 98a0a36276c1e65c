"""Stored runs as the user handles them: deleting a run with everything kept per run (metrics,
trades, equity, margin series, risk events, plot series, cached tearsheet/PDF artifacts, the
progress file), and the parameter values that tell runs of one strategy apart in labels.

Per-run tables are found from the schema (every table with a ``backtest_id`` column), so a table
added by a later migration goes with the run without this module changing. Only finished runs
can be deleted: a queued or running run must be cancelled first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.strategies import params
from core.runs import progress
from core import store
from core.errors import ConfigError, NotFoundError
from core.model import BacktestConfig, Language, RunRecord, RunStatus

RUN_KEY = "backtest_id"
# Columns that point at a run from rows owned by something else (a study's trial links to the
# full run it opened): cleared when the run is deleted, kept when it is re-queued.
RUN_LINKS = {"trials": "run_id", "walkforward_windows": "oos_run_id"}


def _per_run_tables(con: Any) -> list[str]:
    rows = con.execute("SELECT DISTINCT table_name FROM information_schema.columns "
                       "WHERE column_name = ? AND table_schema = 'main' ORDER BY 1",
                       [RUN_KEY]).fetchall()
    kinds = dict(con.execute("SELECT table_name, table_type FROM information_schema.tables "
                             "WHERE table_schema = 'main'").fetchall())
    return [name for (name,) in rows if kinds.get(name) == "BASE TABLE"]


def per_run_tables(db: Path) -> list[str]:
    """Names of the tables that hold rows keyed by a run id (``backtest_id``), sorted."""
    with store.connect(db) as con:
        return _per_run_tables(con)


def clear_run_rows(con: Any, run_ids: list[int], *, unlink: bool) -> None:
    """The one place that knows every per-run table: delete the runs' rows from each (results,
    metrics, trades, equity, margin, risk events, plots, artifacts...), on ``con`` (the caller's
    transaction). ``unlink`` also clears RUN_LINKS (the run itself is going away)."""
    if not run_ids:
        return
    marks = ", ".join("?" for _ in run_ids)
    for table in _per_run_tables(con):  # names from the schema, never user input
        con.execute(f"DELETE FROM {table} WHERE {RUN_KEY} IN ({marks})", run_ids)  # noqa: S608
    if unlink:
        tables = {t for (t,) in con.execute("SELECT table_name FROM information_schema.tables "
                                            "WHERE table_schema = 'main'").fetchall()}
        for table, column in RUN_LINKS.items():
            if table in tables:
                con.execute(f"UPDATE {table} SET {column} = NULL "  # noqa: S608
                            f"WHERE {column} IN ({marks})", run_ids)


def failed_run_ids(db: Path) -> list[int]:
    """Ids of finished runs that did not complete (rejected, crashed, timed out, ...)."""
    finished_bad = [s.value for s in RunStatus if s.finished and s is not RunStatus.COMPLETED]
    marks = ", ".join("?" for _ in finished_bad)
    with store.connect(db) as con:
        rows = con.execute(f"SELECT id FROM backtests WHERE status IN ({marks}) "  # noqa: S608
                           "ORDER BY id", finished_bad).fetchall()
    return [int(r[0]) for r in rows]


def _check_deletable(con: Any, run_ids: list[int]) -> None:
    marks = ", ".join("?" for _ in run_ids)
    rows = dict(con.execute(f"SELECT id, status FROM backtests WHERE id IN ({marks})",  # noqa: S608
                            run_ids).fetchall())
    missing = [r for r in run_ids if r not in rows]
    if missing:
        raise NotFoundError(f"Run {', '.join(map(str, missing))} does not exist; "
                            "`pineopt runs list` shows the ids.")
    busy = [r for r in run_ids if not RunStatus(rows[r]).finished]
    if busy:
        raise ConfigError(f"Run {', '.join(map(str, busy))} is still queued or running; cancel it "
                          "first (Cancel in the Jobs list), then delete it.")


def delete_runs(db: Path, run_ids: list[int]) -> list[int]:
    """Delete finished runs and all their per-run rows in one transaction.

    Returns the ids deleted (sorted, unique). Raises NotFoundError for an unknown id and
    ConfigError for a queued or running run; nothing is deleted then.
    """
    ids = sorted({int(r) for r in run_ids})
    if not ids:
        return []
    marks = ", ".join("?" for _ in ids)
    with store.transaction(db) as con:
        _check_deletable(con, ids)
        clear_run_rows(con, ids, unlink=True)
        con.execute(f"DELETE FROM backtests WHERE id IN ({marks})", ids)  # noqa: S608
    for run_id in ids:
        progress.clear(db.parent, run_id)
    return ids


VersionKey = tuple[int | None, int | None]  # a run's (strategy id, version); None: not known


def _version_sources(db: Path, keys: set[VersionKey]) -> dict[VersionKey, tuple[str, Language]]:
    """(strategy id, version) -> (source, language) of these versions, in one query (two
    queries per version, each grouping every stored version, cost ~8 ms a version)."""
    ids = sorted({k[0] for k in keys if k[0] is not None})
    versions = sorted({k[1] for k in keys if k[1] is not None})
    if not ids or not versions:
        return {}
    with store.connect(db) as con:
        rows = con.execute(
            "SELECT v.strategy_id, v.version, v.source, s.language FROM strategy_versions v "
            "JOIN strategies s ON s.id = v.strategy_id "  # noqa: S608 - placeholders only
            f"WHERE v.strategy_id IN ({', '.join('?' for _ in ids)}) "
            f"AND v.version IN ({', '.join('?' for _ in versions)})", [*ids, *versions]).fetchall()
    found: dict[VersionKey, tuple[str, Language]] = {
        (int(sid), int(ver)): (source, Language(lang)) for sid, ver, source, lang in rows}
    return {key: found[key] for key in keys if key in found}


def param_changes(db: Path, records: list[RunRecord]) -> dict[int, dict[str, Any]]:
    """Run id -> the parameters whose value differs from the default declared by the strategy
    version the run used (in declaration order). Runs of one version share one lookup; a run
    whose strategy or version is gone has none."""
    keys: set[VersionKey] = {(r.strategy_id, r.strategy_version) for r in records
                             if r.strategy_id is not None and r.strategy_version is not None}
    sources = _version_sources(db, keys)
    out: dict[int, dict[str, Any]] = {}
    for run in records:
        found = sources.get((run.strategy_id, run.strategy_version))
        declared = {p.name: p.default for p in params.extract(*found)} if found else {}
        values = run.config.params
        out[run.id] = {name: values[name] for name in declared
                       if name in values and name not in params.INTERNAL_PARAMS
                       and values[name] != declared[name]}
    return out


def param_text(changes: dict[str, Any]) -> str:
    """' · fast=10, slow=30' for a run's changed parameters, '' when none."""
    return " · " + ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                             for k, v in changes.items()) if changes else ""


def run_origins(db: Path, run_ids: list[int]) -> dict[int, str]:
    """Run id -> where the run came from, through RUN_LINKS: 'WF 3 · window 2' (a walk-forward
    window's out-of-sample run) or 'Study 5 · trial 12'; runs started on their own are absent."""
    ids = sorted(set(run_ids))
    if not ids:
        return {}
    marks = ", ".join("?" for _ in ids)
    with store.connect(db) as con:
        tables = {t for (t,) in con.execute("SELECT table_name FROM information_schema.tables "
                                            "WHERE table_schema = 'main'").fetchall()}
        wf = con.execute("SELECT oos_run_id, study_id, k FROM walkforward_windows "  # noqa: S608
                         f"WHERE oos_run_id IN ({marks})", ids).fetchall() \
            if "walkforward_windows" in tables else []
        trials = con.execute("SELECT run_id, study_id, n FROM trials "  # noqa: S608
                             f"WHERE run_id IN ({marks})", ids).fetchall() \
            if "trials" in tables else []
    out = {int(r): f"Study {s} · trial {n}" for r, s, n in trials}
    out.update({int(r): f"WF {s} · window {k}" for r, s, k in wf})
    return out


def leverage_text(config: BacktestConfig) -> str:
    """' 3×' for a run with leverage other than 1 (it changes every risk figure), else ''."""
    leverage = float(config.margin.leverage)
    return f" {leverage:g}×" if leverage != 1 else ""


def market_text(config: BacktestConfig) -> str:
    """'BTCUSDT perp 3× 1h': the symbol, market, leverage (when not 1×) and timeframe."""
    return f"{config.symbol} {config.market}{leverage_text(config)} {config.timeframe}"


def run_label(run: RunRecord, changes: dict[int, dict[str, Any]],
              origins: dict[int, str]) -> str:
    """'Run 7 · sma v2 · BTCUSDT perp 3× 1h · fast=10 · WF 3 · window 2': what tells runs apart
    in pickers and lists (the market and leverage included: a spot and a perpetual run, or a 1×
    and a 3× run, are different runs)."""
    cfg = run.config
    origin = f" · {origins[run.id]}" if run.id in origins else ""
    return (f"Run {run.id} · {run.strategy_name} v{run.strategy_version} · {market_text(cfg)}"
            f"{param_text(changes.get(run.id, {}))}{origin}")
