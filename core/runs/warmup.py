"""Warm-up bars before a run's range: used for indicators, never traded, never counted.

A run whose config has ``extra["warmup_start"]`` (a date or timestamp before ``start``) gets the
bars from there to ``end`` in its sandbox, with EngineSettings.trade_from set to the number of
bars before ``start``: the engine fills no order before the first bar of ``start`` (a signal on
the last warm-up bar fills at the next open, as in a continuous run). Back in the parent the
result is checked against all the bars it ran on, then cut to [start, end]: the stored equity,
trades (bar numbers counted from ``start``), risk events and plots begin at ``start``, so the
run's metrics are those of its own range. The walk-forward's out-of-sample runs use it
(core.studies.walkforward): their indicators are warm at the window's first bar.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pandas as pd

from core.errors import ConfigError, SandboxError
from core.market import catalogue as market_data
from core.model import BacktestConfig

KEY = "warmup_start"


def run_bars(db: Path, config: BacktestConfig, start: str | None = None) -> pd.DataFrame:
    """The bars of the run's own range (from ``start`` instead, when given). Raises DataError
    for a range without bars."""
    return market_data.load_ohlcv(db, exchange=config.exchange, market=config.market,
                                  symbol=config.symbol, timeframe=config.timeframe,
                                  start=config.start if start is None else start, end=config.end)


def load(db: Path, config: BacktestConfig) -> tuple[pd.DataFrame, int]:
    """The bars a run executes on and how many of them lead up to ``config.start`` (0 without
    a warm-up). Raises DataError for a range without bars, ConfigError for a warm-up start
    that is not before the run's first bar."""
    data = run_bars(db, config)
    spec = config.extra.get(KEY)
    if not spec:
        return data, 0
    full = run_bars(db, config, start=str(spec))
    warm = int((full.index < data.index[0]).sum())
    if not warm or not full.index[warm:].equals(data.index):
        raise ConfigError(f"warmup_start {spec!r} must be a date before the run's start "
                          f"{config.start!r} with bars between them; give an earlier date.")
    return full, warm


def engine_settings(broker: Any, warm: int) -> Any:
    """``broker`` (a prepared job's broker_store.JobBroker) whose engine settings trade only
    from bar ``warm`` on (unchanged without a warm-up)."""
    if not warm:
        return broker
    return dataclasses.replace(broker, settings={**broker.settings, "trade_from": warm})


def trim(warm: int, data: pd.DataFrame, outcome: tuple) -> tuple[pd.DataFrame, tuple]:
    """A run's checked outcome over ``data`` (equity, trades, log, broker extras, plots) cut
    to the bars after its ``warm`` warm-up bars: (bars, outcome) with trade bar numbers counted
    from the first kept bar and the risk events from then. Raises SandboxError when a trade
    opened during the warm-up (the engine refuses those orders, so the result is forged)."""
    if not warm:
        return data, outcome
    equity, trades, log, extras, plots = outcome
    if len(trades) and int(trades["EntryBar"].min()) < warm:
        raise SandboxError("Result rejected: a trade was opened during the warm-up bars",
                           status="result_rejected")
    kept = data.iloc[warm:]
    trades = trades.assign(EntryBar=trades["EntryBar"] - warm, ExitBar=trades["ExitBar"] - warm)
    if extras is not None and len(extras.events):
        events = extras.events[pd.to_datetime(extras.events["time"]) >= kept.index[0]]
        extras = dataclasses.replace(extras, events=events.reset_index(drop=True))
    return kept, (equity.iloc[warm:], trades.reset_index(drop=True), log, extras,
                  plots.iloc[warm:])
