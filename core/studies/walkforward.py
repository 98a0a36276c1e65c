"""Walk-forward analysis: optimise on each in-sample window with the sweep machinery, run the
best parameters on the out-of-sample window that follows, stitch the out-of-sample equity into
one curve, and measure how much of the in-sample performance survives (walk-forward efficiency).

Each window's in-sample optimisation is an ordinary study (kind 'wf_window'; grid, random or
tpe; trials stored, reused and resumed like any sweep's). Its best trial (sweep.best_trial: the
objective, ties to the lowest n; trials under the minimum trade count have none) is run on the
out-of-sample window as a normal run record (core.runs.service, so it opens on the Results page
and an identical request is a lookup). The out-of-sample run starts warm: it is given the bars of
the in-sample window before it (at most the first window's in-sample length) as warm-up bars
(core.runs.warmup), which its indicators see but on which no order fills and which its equity,
trades and metrics leave out; so its first trades are those of a continuous run with the same
parameters over the same bars. The stitched curve's metrics are computed
by the code that computes a run's (core.studies.executor.trial_metrics). Window arithmetic,
stitching and the efficiency definition: core.studies.wf_windows. A killed walk-forward resumes:
finished windows are kept, a window's sweep resumes with its missing trials.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

import pandas as pd

from core.errors import ConfigError, PineOptError
from core.market import catalogue as market_data
from core.model import TIMEFRAME_MINUTES, BacktestConfig, RunStatus
from core.runs import service as runs
from core.runs import warmup
from core.settings import Settings
from core.studies import study_store, sweep, wf_store
from core.studies import wf_windows as ww


@dataclass(slots=True)
class WalkForwardReport:
    """What one call of run() did."""

    study_id: int
    status: str
    windows: int = 0  # windows in the plan
    done: int = 0  # windows finished (completed or without a valid trial)
    current: int | None = None  # the window being worked on
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True, kw_only=True)
class WalkForwardResult:
    """A walk-forward's outcome as the CLI and the page show it."""

    study: study_store.Study
    lengths: dict[str, Any]
    windows: list[wf_store.WindowRow]
    equity: pd.Series  # stitched out-of-sample equity (USDT), empty before the first OOS run
    metrics: dict[str, float]  # of the stitched curve (a run's metric set, kind 'all')
    efficiency: float | None  # overall walk-forward efficiency
    is_annualised: float | None  # pooled in-sample mean daily return x 365
    oos_annualised: float | None  # the stitched curve's mean daily return x 365

    def window_records(self) -> list[dict[str, Any]]:
        """One JSON-ready record per window, the same fields in `--json` and the API (WINDOW_FIELDS;
        bounds as UTC text, ends exclusive; fractions, not percent)."""
        return [_window_record(row, self.study.objective) for row in self.windows]

    def window_table(self) -> pd.DataFrame:
        """One row per window: the record's fields with bounds as timestamps and the chosen
        parameters as columns of their own (after ``status``)."""
        rows = []
        for row, record in zip(self.windows, self.window_records(), strict=True):
            w = row.window
            params = record.pop("params") or {}
            bounds = {"is_start": w.is_start, "is_end": w.is_end, "oos_start": w.oos_start,
                      "oos_end": w.oos_end}
            head = {k: record.pop(k) for k in ("window", "status")}
            rows.append({**head, **bounds, **params,
                         **{k: v for k, v in record.items() if k not in bounds}})
        return pd.DataFrame(rows)


# a window's fields (`pineopt studies show ID --json`, GET /api/walkforwards/{id}); figures are
# fractions (0.05 = 5 %) of the chosen parameters: in-sample from their trial, out-of-sample
# from the window's run
WINDOW_FIELDS = ("window", "status", "error", "is_start", "is_end", "oos_start", "oos_end",
                 "params", "is_objective", "is_annualized_return", "oos_annualized_return",
                 "oos_total_return", "oos_sharpe_ratio", "oos_max_drawdown", "oos_trades", "wfe",
                 "oos_run_id", "is_study_id")


def _window_record(row: wf_store.WindowRow, objective: str) -> dict[str, Any]:
    def num(value: Any) -> float | None:
        return None if value is None or value != value else float(value)

    w = row.window
    is_ann = num(row.is_metrics.get("annualized_return"))
    oos_ann = num(row.oos_metrics.get("annualized_return"))
    trades = num(row.oos_metrics.get("total_trades"))
    return {"window": w.k, "status": row.status, "error": row.error or "",
            "is_start": str(w.is_start), "is_end": str(w.is_end), "oos_start": str(w.oos_start),
            "oos_end": str(w.oos_end), "params": row.params,
            "is_objective": num(row.is_metrics.get(objective)), "is_annualized_return": is_ann,
            "oos_annualized_return": oos_ann,
            "oos_total_return": num(row.oos_metrics.get("total_return")),
            "oos_sharpe_ratio": num(row.oos_metrics.get("sharpe_ratio")),
            "oos_max_drawdown": num(row.oos_metrics.get("max_drawdown")),
            "oos_trades": None if trades is None else int(trades),
            "wfe": num(ww.efficiency(oos_ann, is_ann)), "oos_run_id": row.oos_run_id,
            "is_study_id": row.is_study_id}


def _bar_end(data: pd.DataFrame, timeframe: str) -> pd.Timestamp:
    """Just after the last bar: its time plus one bar."""
    return pd.Timestamp(data.index[-1]) + pd.Timedelta(minutes=TIMEFRAME_MINUTES[timeframe])


def _lengths(is_len: str, oos_len: str, step: str | None,
             specs: dict[str, str]) -> tuple[timedelta, timedelta, timedelta | None]:
    """The parsed in-sample, out-of-sample and step lengths. Raises ConfigError for a bad length
    or step, or when ``specs`` gives no parameter to optimise."""
    is_td = ww.parse_length(is_len, label="in-sample (--is)")
    oos_td = ww.parse_length(oos_len, label="out-of-sample (--oos)")
    step_td = ww.parse_length(step, label="step (--step)") if step else None
    if specs == {}:
        raise ConfigError("Nothing to optimise: give at least one --param NAME=LOW:HIGH:STEP "
                          "(on the page: tick a parameter).")
    return is_td, oos_td, step_td


def _window_studies(settings: Settings, plan: list[ww.Window], config: BacktestConfig,
                    create_study: Callable[[BacktestConfig], int]) -> list[tuple[ww.Window, int]]:
    """(window, in-sample study id) of each window, stored by ``create_study`` from the window's
    in-sample config. When one is refused, those already stored are discarded and it raises."""
    pairs: list[tuple[ww.Window, int]] = []
    try:
        for w in plan:
            start, end = ww.config_range(w.is_start, w.is_end)
            pairs.append((w, create_study(replace(config, start=start, end=end))))
    except PineOptError:
        wf_store.discard_studies(settings.db_path, [study for _, study in pairs])
        raise
    return pairs


def create(settings: Settings, *, strategy_id: int, config: BacktestConfig,
           specs: dict[str, str], is_len: str, oos_len: str, step: str | None = None,
           anchored: bool = False, method: str = "grid", max_trials: int = 1000,
           time_budget_s: float | None = None, objective: str = "sharpe_ratio",
           direction: str = "max", min_trades: int = 0, constraints: list[str] | None = None,
           seed: int = 0, version: int | None = None) -> int:
    """Check and store a walk-forward and the in-sample study of each window (nothing runs
    yet); returns the walk-forward's study id. ``max_trials`` and ``time_budget_s`` apply to
    each window's sweep.

    Raises ConfigError for a bad length or step, data too short for one window, and anything
    sweep.create refuses (method, objective, parameter ranges, constraints).
    """
    is_td, oos_td, step_td = _lengths(is_len, oos_len, step, specs)
    data = market_data.load_ohlcv(settings.db_path, exchange=config.exchange,
                                  market=config.market, symbol=config.symbol,
                                  timeframe=config.timeframe, start=config.start, end=config.end)
    plan = ww.make_windows(pd.Timestamp(data.index[0]), _bar_end(data, config.timeframe),
                           is_len=is_td, oos_len=oos_td, step=step_td, anchored=anchored)
    pairs = _window_studies(settings, plan, config, lambda is_config: sweep.create(
        settings, strategy_id=strategy_id, config=is_config, specs=specs, method=method,
        max_trials=max_trials, time_budget_s=time_budget_s, objective=objective,
        direction=direction, min_trades=min_trades, constraints=constraints, seed=seed,
        version=version))
    first = study_store.get_study(settings.db_path, pairs[0][1])
    whole = {**first.config, "start": config.start, "end": config.end}
    study_id = study_store.insert_study(
        settings.db_path, kind=wf_store.KIND, strategy_id=strategy_id,
        strategy_version=first.strategy_version, strategy_name=first.strategy_name,
        strategy_sha=first.strategy_sha, data_sha=market_data.data_sha(data), config=whole,
        space=first.space, constraints=first.constraints, method=method, objective=objective,
        direction=direction, min_trades=int(min_trades), max_trials=int(max_trials),
        time_budget_s=time_budget_s, seed=int(seed), status="queued")
    wf_store.insert(settings.db_path, study_id, windows=pairs, lengths={
        "is_len": ww.format_length(is_td), "oos_len": ww.format_length(oos_td),
        "step": ww.format_length(step_td or oos_td), "anchored": anchored})
    return study_id


def _oos_config(settings: Settings, wf: study_store.Study, is_study: study_store.Study,
                window: ww.Window, params: dict[str, Any]) -> BacktestConfig:
    """The out-of-sample run of ``window`` with ``params``: its range, and the bars before it
    in its in-sample window (at most the walk-forward's in-sample length) as warm-up bars."""
    start, end = ww.config_range(window.oos_start, window.oos_end)
    config = replace(sweep.trial_config(is_study, params), start=start, end=end)
    is_len = ww.parse_length(wf_store.lengths(settings.db_path, wf.id)["is_len"],
                             label="in-sample")
    warm_start = max(window.is_start, window.oos_start - is_len)
    if warm_start >= window.oos_start:
        return config
    return replace(config, extra={**config.extra,
                                  warmup.KEY: ww.config_range(warm_start, window.oos_start)[0]})


def _run_window(settings: Settings, wf: study_store.Study, row: wf_store.WindowRow, *,
                workers: int | None, batch_size: int, cancel: threading.Event) -> str:
    """Optimise one window in-sample and run its best parameters out-of-sample; returns the
    window's final status, or 'cancelled'. Raises PineOptError when its sandbox fails."""
    db = settings.db_path
    report = sweep.run(settings, row.is_study_id, workers=workers, batch_size=batch_size,
                       cancel=cancel)
    if report.status == "cancelled":
        return "cancelled"
    if report.status == "failed":
        raise PineOptError(f"window {row.window.k}: {'; '.join(report.errors)}")
    best = sweep.best_trial(settings, row.is_study_id)
    k = row.window.k
    if best is None:
        wf_store.finish_window(db, wf.id, k, status="no_trial", error=(
            "no in-sample trial had an objective (too few trades?); this window sits out"))
        return "no_trial"
    is_study = study_store.get_study(db, row.is_study_id)
    is_metrics = study_store.trial_metrics(db, row.is_study_id)[best["n"]]
    returns = study_store.returns_matrix(db, row.is_study_id)
    is_daily = [float(v) for v in returns[best["n"]]] if best["n"] in returns else []
    record = runs.request_run(settings, strategy_id=wf.strategy_id, version=wf.strategy_version,
                              config=_oos_config(settings, wf, is_study, row.window,
                                                 best["params"]))
    if not record.status.finished:
        record = runs.execute(settings, record.id, cancel=cancel)
    if record.status is RunStatus.CANCELLED:
        return "cancelled"
    if record.status is not RunStatus.COMPLETED:
        wf_store.finish_window(db, wf.id, k, status="failed", params=best["params"],
                               is_metrics=is_metrics, is_daily_returns=is_daily,
                               oos_run_id=record.id, error=f"out-of-sample run {record.id} "
                               f"{record.status.value}: {record.error}")
        return "failed"
    wf_store.finish_window(db, wf.id, k, status="completed", params=best["params"],
                           is_metrics=is_metrics, is_daily_returns=is_daily,
                           oos_run_id=record.id,
                           oos_metrics=runs.run_metrics(db, record.id))
    return "completed"


def run(settings: Settings, study_id: int, *, workers: int | None = None,
        batch_size: int = sweep.DEFAULT_BATCH, cancel: threading.Event | None = None,
        on_window: Callable[[WalkForwardReport], None] | None = None) -> WalkForwardReport:
    """Run (or resume) a walk-forward window by window until every window is finished or
    ``cancel`` is set. Finished windows are never run again."""
    db = settings.db_path
    wf = study_store.get_study(db, study_id)
    wf_store.lengths(db, study_id)  # NotFoundError for a study that is not a walk-forward
    cancel = cancel or threading.Event()
    started = time.monotonic()
    rows = wf_store.windows(db, study_id)
    report = WalkForwardReport(study_id=study_id, status="running", windows=len(rows))
    study_store.set_status(db, study_id, "running")
    try:
        for row in rows:
            if row.status in ("completed", "no_trial"):
                report.done += 1
                continue
            if cancel.is_set():
                break
            report.current = row.window.k
            if on_window is not None:
                on_window(report)
            outcome = _run_window(settings, wf, row, workers=workers, batch_size=batch_size,
                                  cancel=cancel)
            if outcome == "cancelled":
                break
            if outcome == "failed":
                report.errors.append(wf_store.windows(db, study_id)[row.window.k - 1].error)
            report.done += 1
            if on_window is not None:
                on_window(report)
    except PineOptError as exc:
        report.errors.append(str(exc))
    except BaseException:
        study_store.set_status(db, study_id, "failed", error="stopped by an unexpected error")
        raise
    return _finish(settings, report, started)


def _finish(settings: Settings, report: WalkForwardReport, started: float) -> WalkForwardReport:
    """Store the walk-forward's final status (from ``report``'s errors and windows done) and
    return ``report``, timed from ``started`` (time.monotonic)."""
    report.current = None
    report.status = ("failed" if report.errors else
                     "cancelled" if report.done < report.windows else "completed")
    study_store.set_status(settings.db_path, report.study_id, report.status,
                           error="\n".join(report.errors))
    report.seconds = time.monotonic() - started
    return report


def _oos_run(row: wf_store.WindowRow) -> int:
    """The out-of-sample run of a finished window (callers pass finished windows only)."""
    if row.oos_run_id is None:
        raise ValueError("a walk-forward window without its out-of-sample run was stitched")
    return row.oos_run_id


def _stitched_trades(db: Any, rows: list[wf_store.WindowRow], curves: list[pd.Series],
                     factors: list[float]) -> pd.DataFrame:
    """Every OOS run's trades in stitched terms: USDT and sizes scaled like its curve, bars
    offset; a trade closed at a window's end is closed there, not open at the end."""
    from core.analytics import trade_stats

    frames, offset = [], 0
    for i, (row, curve, factor) in enumerate(zip(rows, curves, factors, strict=True)):
        trades = trade_stats.engine_trades(runs.run_trades(db, _oos_run(row)))
        trades = trades.assign(PnL=trades["PnL"] * factor, Size=trades["Size"] * factor,
                               Commission=trades["Commission"] * factor,
                               EntryBar=trades["EntryBar"] + offset,
                               ExitBar=trades["ExitBar"] + offset)
        if i < len(rows) - 1 and "ExitReason" in trades.columns:
            trades["ExitReason"] = trades["ExitReason"].replace(
                {"end_of_data": "window_end", "open": "window_end"})  # Pine marks it open
        frames.append(trades)
        offset += len(curve)
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=list(trade_stats.STORED_TO_ENGINE.values()))


def result(settings: Settings, study_id: int) -> WalkForwardResult:
    """The stored state of a walk-forward: windows, stitched OOS equity, its metrics and the
    walk-forward efficiency. Works on a partly run walk-forward (finished windows only)."""
    from core.studies.executor import trial_metrics

    db = settings.db_path
    wf = study_store.get_study(db, study_id)
    lengths = wf_store.lengths(db, study_id)
    rows = wf_store.windows(db, study_id)
    done = [r for r in rows if r.status == "completed" and r.oos_run_id is not None]
    config = BacktestConfig.from_dict(wf.config)
    curves = [runs.run_equity(db, _oos_run(r)) for r in done]
    equity = ww.stitch(curves, cash_usdt=config.cash_usdt)
    values: dict[str, float] = {}
    oos_ann = is_ann = None
    if len(equity) > 1:
        factors, level = [], config.cash_usdt
        for curve in curves:
            factors.append(level / config.cash_usdt)
            level = float(curve.iloc[-1]) * factors[-1]
        bars = market_data.load_ohlcv(db, exchange=config.exchange, market=config.market,
                                      symbol=config.symbol, timeframe=config.timeframe,
                                      start=config.start, end=config.end)
        trades = _stitched_trades(db, done, curves, factors)
        values, _daily = trial_metrics(config, bars.reindex(equity.index), equity, trades)
        oos_ann = values.get("annualized_return")
        is_ann = ww.annualised([v for r in done for v in r.is_daily_returns])
    return WalkForwardResult(study=wf, lengths=lengths, windows=rows, equity=equity,
                             metrics=values, efficiency=ww.efficiency(oos_ann, is_ann),
                             is_annualised=is_ann, oos_annualised=oos_ann)
