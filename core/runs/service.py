"""The one orchestrator: load -> validate -> sandbox -> check -> metrics -> store.

The UI and the CLI both call request_run() then execute() (directly, or through core.runs.jobs).
A run's hash is sha256(strategy sha + data sha + canonical config JSON): an identical request
returns the stored completed run unless forced. Everything about a run is stored in one
transaction; a failure records its status and message and loses nothing saved before it.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import threading
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from core.runs import broker_store, costs, instance, pine_run, prepared, result_store, warmup
from core.market import catalogue as market_data
from core import store
from core.strategies import crud as strategies
from core.runs import progress as progress_files
from core.strategies import validation
from core.errors import (
    ConfigError,
    DataError,
    NotFoundError,
    PineOptError,
    SandboxError,
)
from core.model import BacktestConfig, Language, RunRecord, RunStatus, run_hash
from core.runs.result_check import check_result, untrusted
from core import executors
from core.settings import Settings
from core.runs import admin, failures
from core.strategies import params as params_mod
from sandbox.command import Limits

_log = logging.getLogger("pineopt.runs")
MIN_BARS = 3  # fewer bars cannot show a trade and a result
RECORD_WAIT_S = 600.0  # how long a final status keeps being retried while the store is locked

Progress = Callable[[float], None]


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def request_run(settings: Settings, *, strategy_id: int, config: BacktestConfig,
                version: int | None = None, force: bool = False) -> RunRecord:
    """Record a queued run, or return the completed run with the same inputs (unless force).

    Raises NotFoundError / DataError / ConfigError for bad requests (nothing is stored then).
    """
    name, language, ver = strategies.run_source(settings.db_path, strategy_id, version)
    config, data = _checked(settings, ver.source, language, config)
    data_digest = market_data.data_sha(data)
    digest = run_hash(strategy_sha=ver.sha256, data_sha=data_digest, config=config)
    if not force:
        existing = find_completed(settings.db_path, digest)
        if existing is not None:
            return existing
    stored = json.dumps(config.to_dict())
    with store.connect(settings.db_path) as con:  # queued, owned by this process (instance)
        row = con.execute(
            "INSERT INTO backtests (run_hash, strategy_id, strategy_version, strategy_name, "
            "config, data_sha, status, owner_pid, owner_token) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "RETURNING id, created_at",
            [digest, strategy_id, ver.version, name, stored, data_digest, RunStatus.QUEUED.value,
             os.getpid(), instance.token(settings.db_path.parent)]).fetchone()
    if row is None:
        raise RuntimeError("INSERT ... RETURNING returned no row")
    run = RunRecord(  # the row as stored (the other columns keep their defaults)
        id=int(row[0]), run_hash=digest, strategy_id=strategy_id, strategy_name=name,
        strategy_version=ver.version, status=RunStatus.QUEUED,
        config=BacktestConfig.from_dict(json.loads(stored)), data_sha=data_digest, error="",
        progress=0.0, created_at=row[1], started_at=None, finished_at=None, duration_s=None)
    prepared.keep_run(settings.db_path, run.id,  # for execute(), in this process
                      prepared.Kept(data=data, source=ver.source, language=language, run=run))
    return run


def _checked(settings: Settings, source: str, language: Language,
             config: BacktestConfig) -> tuple[BacktestConfig, pd.DataFrame]:
    """The checked config and its bars; raises ConfigError / DataError. Stores nothing."""
    config = params_mod.checked_config(config, source, language)
    if language is Language.PINE:
        config = pine_run.prepare_config(settings.db_path, config)
        pine_run.check_config(config)
    costs.check_config(config)
    run_limits(settings, config)
    data, _ = warmup.load(settings.db_path, config)  # with its warm-up bars (in the data sha)
    if len(data) < MIN_BARS:
        raise DataError(f"{config.symbol} {config.timeframe} has only {len(data)} bar(s) from "
                        f"{config.start} to {config.end}; a backtest needs at least {MIN_BARS}. "
                        "Choose a longer date range or a lower timeframe.")
    return config.with_range(data.index[0], data.index[-1]), data


def check_request(settings: Settings, *, source: str, language: Language,
                  config: BacktestConfig) -> None:
    """Everything request_run checks, plus validation, for a source not saved yet: a request
    that would fail is refused before a strategy version is stored. Raises PineOptError."""
    problems = validation.errors_only(validation.validate_python(
        validation.python_source_for(source, language)))
    if problems:
        raise PineOptError("The strategy is not valid, so it was neither saved nor run:\n"
                           + "\n".join(str(p) for p in problems))
    _checked(settings, source, language, config)


def find_completed(db: Path, digest: str) -> RunRecord | None:
    """The newest completed run with this run hash, if any."""
    with store.connect(db) as con:
        row = con.execute("SELECT id FROM backtests WHERE run_hash = ? AND status = 'completed' "
                          "ORDER BY id DESC LIMIT 1", [digest]).fetchone()
    return get_run(db, int(row[0])) if row else None


def _set_status(db: Path, run_id: int, status: RunStatus, *, error: str = "",
                log: str = "") -> None:
    """Record a final status (running is _start's)."""
    with store.connect(db) as con:
        con.execute(
            "UPDATE backtests SET status = ?, error = ?, log = ?, finished_at = ?, duration_s = "
            "epoch(? - coalesce(started_at, created_at)) WHERE id = ?",
            [status.value, error[:20_000], log[:1_000_000], _now(), _now(), run_id])


def _start(db: Path, run_id: int, *, queued_only: bool = False,
           known: RunRecord | None = None) -> RunRecord | None:
    """Mark a run running (one statement, which also reads it back unless the run is
    ``known`` as request_run recorded it); raises NotFoundError for an unknown run or one whose
    strategy was deleted. ``queued_only``: only a queued run starts; None (nothing changed)
    for one that is not queued (cancelled meanwhile) or gone."""
    now = _now()
    with store.connect(db) as con:
        row = con.execute(
            "UPDATE backtests SET status = ?, started_at = ?, progress = 0, owner_pid = ?, "
            "owner_token = ? WHERE id = ?" + (" AND status = 'queued'" if queued_only else "")
            + " RETURNING " + ("id" if known is not None else _RUN_COLUMNS),
            [RunStatus.RUNNING.value, now, os.getpid(), instance.token(db.parent),
             run_id]).fetchone()
    if row is None:
        if queued_only:
            return None
        raise NotFoundError(f"Run {run_id} does not exist; `pineopt runs list` shows the ids.")
    run = (_run_record(row, db.parent) if known is None else dataclasses.replace(
        known, status=RunStatus.RUNNING, started_at=now, progress=0.0))
    if run.strategy_id is None:
        raise NotFoundError(f"Run {run_id} has no strategy to run (it was deleted).")
    return run


def record_final(db: Path, run_id: int, status: RunStatus, *, error: str = "",
                 log: str = "") -> bool:
    """Record a run's final status, retrying while the store is locked by another process
    (up to RECORD_WAIT_S); True when stored. Never raises: a store that cannot be written is
    logged with the status that was lost."""
    deadline = time.monotonic() + RECORD_WAIT_S
    while True:
        try:
            _set_status(db, run_id, status, error=error, log=log)
            return True
        except store.StoreLockedError as exc:
            if time.monotonic() > deadline:
                _log.error("run %s: could not record %s: %s", run_id, status.value, exc)
                return False
            _log.warning("run %s: the store is busy in another process; retrying to record "
                         "%s", run_id, status.value)
        except Exception:  # noqa: BLE001 - the caller is a failure path; the log keeps it
            _log.exception("run %s: could not record %s in the store", run_id, status.value)
            return False


def _memory_mb(settings: Settings, run: RunRecord | None) -> float:
    """The memory limit the run had (its own lowered one, or the server's)."""
    try:
        return run_limits(settings, run.config).memory_mb if run is not None \
            else settings.memory_mb
    except ConfigError:
        return settings.memory_mb


def set_progress(settings: Settings, run_id: int, fraction: float) -> None:
    """Record progress (0..1) of a running run (a small file, see core.runs.progress)."""
    progress_files.write(settings.home, run_id, fraction)


def execute(settings: Settings, run_id: int, *, progress: Progress | None = None,
            cancel: threading.Event | None = None) -> RunRecord:
    """Run a queued run to its end and store the outcome; return the run as stored. Every run
    ends in a final status: user errors, a locked store (retried, then recorded) and a full
    disk are reported in the run; anything else is a bug, recorded by fail_unexpected().
    Raises only NotFoundError for an unknown run."""
    _execute(settings, run_id, progress=progress, cancel=cancel, queued_only=False)
    return get_run(settings.db_path, run_id)


def execute_queued(settings: Settings, run_id: int, *,
                   cancel: threading.Event | None = None) -> bool:
    """execute() for a queue (core.runs.jobs): only a run that is still queued starts (False
    for one cancelled or deleted meanwhile: nothing is done), and nothing is read back."""
    return _execute(settings, run_id, progress=None, cancel=cancel, queued_only=True)


def _execute(settings: Settings, run_id: int, *, progress: Progress | None,
             cancel: threading.Event | None, queued_only: bool) -> bool:
    db = settings.db_path
    run: RunRecord | None = None
    try:
        kept = prepared.take_run(db, run_id)  # what request_run checked, when it ran here
        run = _start(db, run_id, queued_only=queued_only,
                     known=None if kept is None else kept.run)
        if run is None:
            return False
        if kept is None:
            _, language, version = strategies.run_source(db, run.strategy_id or 0,
                                                         run.strategy_version)
            kept = prepared.Kept(data=None, source=version.source, language=language)
        source, problems = prepared.checked_python(kept.source, kept.language)
        if problems:
            record_final(db, run_id, RunStatus.REJECTED,
                         error="\n".join(str(p) for p in problems))
            return True
        data, warm = kept.data, 0
        if data is None or run.config.extra.get(warmup.KEY):
            data, warm = warmup.load(db, run.config)  # warm: bars before start (indicators only)
        pine, on_close, slippage = _pine_options(kept.source, kept.language)
        data, (equity, trades, log, extras, plots) = warmup.trim(warm, data, _sandbox(
            settings, run_id, source, data, run.config, progress=progress, cancel=cancel,
            pine=pine, on_close=on_close, slippage_ticks=slippage, warm=warm))
        _store_result(settings, run_id, run.config, data, equity, trades, log,
                      extras=extras, plots=plots)
    except Exception as exc:  # noqa: BLE001 - every way out ends the run with a status
        known = failures.classify(settings, exc, memory_mb=_memory_mb(settings, run))
        if known is None:
            fail_unexpected(settings, run_id, exc)
        else:
            if known[0] is RunStatus.FAILED:
                _log.error("run %s failed: %s", run_id, known[1])
            record_final(db, run_id, known[0], error=known[1], log=known[2])
    finally:
        progress_files.clear(settings.home, run_id)
    return True


def _pine_options(source: str, language: Language) -> tuple[bool, bool, int]:
    """(pine, on_close, slippage_ticks) for _sandbox, as a Pine strategy's source declares them."""
    pine = language is Language.PINE
    return (pine, pine and pine_run.processes_orders_on_close(source),
            pine_run.strategy_slippage(source) if pine else 0)


def fail_unexpected(settings: Settings, run_id: int, exc: BaseException) -> None:
    """End a run ``failed`` after an unexpected exception: a "this is a bug" message, the
    traceback in the run's log, and an ERROR log line. Never raises (a store that cannot be
    written is retried, then logged)."""
    trace = "".join(traceback.format_exception(exc))
    _log.error("run %s failed with an unexpected %s", run_id, type(exc).__name__, exc_info=exc)
    message = (f"PineOpt hit an unexpected error ({type(exc).__name__}: {str(exc)[:300]}). This "
               "is a bug in PineOpt, not in your strategy; the traceback is in the run's log "
               f"and in {settings.home / 'logs' / 'pineopt.log'}. Re-queue the run to try again.")
    record_final(settings.db_path, run_id, RunStatus.FAILED, error=message, log=trace)


def run_limits(settings: Settings, config: BacktestConfig) -> Limits:
    """The sandbox limits of a run: the PINEOPT_* settings, lowered (never raised) by the run's
    ``extra["limits"]`` (timeout_s, memory_mb, cpu_s, nproc, nofile, fsize_mb, output_bytes,
    result_bytes). Raises ConfigError naming an unknown or non-positive limit."""
    lower = config.extra.get("limits") or {}
    if not isinstance(lower, dict) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0
            for v in lower.values()):
        raise ConfigError(f"limits {lower!r} must map limit names to positive numbers, e.g. "
                          "{\"timeout_s\": 30}")
    try:
        return Limits.from_settings(settings, **lower)
    except ValueError as exc:
        raise ConfigError(f"{exc}. Limits can only be lowered per run.") from exc


def _sandbox(settings: Settings, run_id: int, source: str, data: pd.DataFrame,
             config: BacktestConfig, *, progress: Progress | None,
             cancel: threading.Event | None, pine: bool = False, on_close: bool = False,
             slippage_ticks: int = 0, warm: int = 0
             ) -> tuple[pd.Series, pd.DataFrame, str, broker_store.BrokerExtras, pd.DataFrame]:
    last = [0.0]

    def on_progress(done: int, total: int) -> None:
        now = time.monotonic()
        if total and (now - last[0] > 0.25 or done >= total):
            last[0] = now
            set_progress(settings, run_id, done / total)
            if progress is not None:
                progress(done / total)

    executors.require(settings)  # fail closed: raises sandbox_unavailable
    _stop_if_cancelled(cancel)
    worker = executors.slot(settings, cancel)  # local: a pooled sandbox; dask: a staging folder
    try:
        (worker.job_dir / "ohlcv.parquet").write_bytes(prepared.bars_parquet(data))
        broker = broker_store.prepare_job(settings.db_path, config, data, worker.job_dir)
        if pine:  # the Pine runtime mirrors TradingView's broker: the engine must not interfere
            broker = dataclasses.replace(broker, settings=pine_run.engine_settings(
                settings.db_path, config, broker.settings, on_close=on_close,
                slippage_ticks=slippage_ticks))
        broker = warmup.engine_settings(broker, warm)  # no fill before the run's first bar
        job = {"source": source, "params": config.params, "settings": broker.settings,
               "pine": pine}
        outcome = worker.run(job, limits=run_limits(settings, config), progress=on_progress,
                             cancel=cancel)
        if outcome.status != RunStatus.COMPLETED.value:
            raise SandboxError(outcome.message or outcome.status, status=outcome.status,
                               log=outcome.log)
        out = worker.job_dir / "out"
        _stop_if_cancelled(cancel)  # cancel also works while the result is being checked
        equity, trades = check_result(out, data, outcome.result, cash_usdt=config.cash_usdt,
                                      commission=config.commission, broker=broker.settings,
                                      funding=broker.funding, pine=pine)
        _stop_if_cancelled(cancel)
        with untrusted("the risk events and plots"):
            extras = broker_store.read_extras(out, data, outcome.result, settings=broker.settings)
            # plot() series are accepted only from the Pine runtime (check_result refuses a
            # plots file in a Python run's out/)
            plots = pine_run.read_plots(out, data) if pine else pd.DataFrame(index=data.index)
        _stop_if_cancelled(cancel)
        return equity, trades, broker.note + outcome.log, extras, plots
    finally:
        worker.cleanup()


def _stop_if_cancelled(cancel: threading.Event | None) -> None:
    """Raise SandboxError(cancelled) if the user cancelled the run."""
    if cancel is not None and cancel.is_set():
        raise SandboxError("Cancelled by the user.", status=RunStatus.CANCELLED.value)


def _store_result(settings: Settings, run_id: int, config: BacktestConfig, data: pd.DataFrame,
                  equity: pd.Series, trades: pd.DataFrame, log: str, *,
                  extras: broker_store.BrokerExtras | None = None,
                  plots: pd.DataFrame | None = None) -> None:
    result_store.store_run(settings.db_path, run_id, config, data, equity, trades, log,
                           extras=extras, plots=plots)


_RUN_COLUMNS = ("id, run_hash, strategy_id, strategy_name, strategy_version, status, config, "
                "data_sha, error, progress, created_at, started_at, finished_at, duration_s, log")
_RUN_SELECT = f"SELECT {_RUN_COLUMNS} FROM backtests"


def _run_record(row: tuple, home: Path) -> RunRecord:
    status = RunStatus(row[5])
    progress = float(row[9])
    if status is RunStatus.RUNNING:
        progress = progress_files.read(home, int(row[0])) or progress
    return RunRecord(id=int(row[0]), run_hash=row[1], strategy_id=row[2], strategy_name=row[3],
                     strategy_version=row[4], status=status,
                     config=BacktestConfig.from_dict(json.loads(row[6])), data_sha=row[7],
                     error=row[8], progress=progress, created_at=row[10], started_at=row[11],
                     finished_at=row[12], duration_s=row[13], log=row[14])


def get_run(db: Path, run_id: int) -> RunRecord:
    """One run. Raises NotFoundError naming how to list runs."""
    with store.connect(db) as con:
        row = con.execute(_RUN_SELECT + " WHERE id = ?", [run_id]).fetchone()
    if row is None:
        raise NotFoundError(f"Run {run_id} does not exist; `pineopt runs list` shows the ids.")
    return _run_record(row, db.parent)


def list_runs(db: Path, *, limit: int = 500) -> list[RunRecord]:
    """Runs, newest first."""
    with store.connect(db) as con:
        rows = con.execute(_RUN_SELECT + " ORDER BY id DESC LIMIT ?", [limit]).fetchall()
    return [_run_record(r, db.parent) for r in rows]


def run_metrics(db: Path, run_id: int) -> dict[str, float]:
    """Stored metric values of a run (kind 'all')."""
    with store.connect(db) as con:
        rows = con.execute("SELECT name, value FROM backtest_metrics WHERE backtest_id = ? AND "
                           "kind = 'all'", [run_id]).fetchall()
    return {name: value for name, value in rows}


def run_equity(db: Path, run_id: int) -> pd.Series:
    """The stored equity curve (quote currency) indexed by bar time."""
    with store.connect(db) as con:
        frame = con.execute("SELECT ts, equity FROM equity WHERE backtest_id = ? ORDER BY ts",
                            [run_id]).df()
    return frame.set_index("ts")["equity"]


def run_trades(db: Path, run_id: int) -> pd.DataFrame:
    """The stored trades of a run, in order."""
    with store.connect(db) as con:
        return con.execute("SELECT * EXCLUDE (backtest_id) FROM trades WHERE backtest_id = ? "
                           "ORDER BY n", [run_id]).df()


def run_margin_series(db: Path, run_id: int) -> pd.DataFrame:
    """Perp runs: per-bar position_coins, margin_used_usdt, liq_distance (fraction), by ts."""
    return broker_store.margin_series(db, run_id)


def run_plots(db: Path, run_id: int) -> pd.DataFrame:
    """A Pine run's plot() series: one column per title, indexed by bar time (empty if none)."""
    with store.connect(db) as con:
        rows = con.execute("SELECT ts, name, value FROM plots WHERE backtest_id = ? ORDER BY ts",
                           [run_id]).df()
    if rows.empty:
        return pd.DataFrame()
    return rows.pivot(index="ts", columns="name", values="value")


def run_risk_events(db: Path, run_id: int) -> pd.DataFrame:
    """Risk rules that fired (n, ts, rule, detail), liquidations included, in order."""
    return broker_store.risk_events(db, run_id)


def run_cost_split(db: Path, run_id: int) -> dict[str, float]:
    """fees_paid, funding_pnl, slippage_cost, price_pnl (USDT), liquidations, orders_rejected*."""
    return broker_store.cost_split(db, run_id)


def run_benchmark(settings: Settings, run: RunRecord) -> pd.Series:
    """Close prices of the run's bars (the buy-and-hold benchmark)."""
    return warmup.run_bars(settings.db_path, run.config)["Close"]


def run_sync(settings: Settings, *, strategy_id: int, config: BacktestConfig,
             force: bool = False, progress: Progress | None = None) -> RunRecord:
    """request_run + execute in this process (the CLI's path)."""
    run = request_run(settings, strategy_id=strategy_id, config=config, force=force)
    if run.status.finished:
        return run
    return execute(settings, run.id, progress=progress)


def require_completed(run: RunRecord) -> None:
    """Raise PineOptError unless the run completed (reports need its results)."""
    if run.status is not RunStatus.COMPLETED:
        raise NotFoundError(f"Run {run.id} has status {run.status.value}; only completed runs have "
                            "results.")


def delete_run(db: Path, run_id: int) -> RunRecord:
    """Delete a finished run and everything stored with it (one transaction); returns the run as
    it was. Raises NotFoundError for an unknown id and PineOptError for a queued or running run
    (cancel it first)."""
    run = get_run(db, run_id)
    if not run.status.finished:
        raise PineOptError(f"Run {run_id} is {run.status.value}; cancel it first, then delete it.")
    with store.transaction(db) as con:
        admin.clear_run_rows(con, [run_id], unlink=True)
        con.execute("DELETE FROM backtests WHERE id = ?", [run_id])
    progress_files.clear(db.parent, run_id)
    return run
