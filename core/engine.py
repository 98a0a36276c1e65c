"""(strategy class, OHLCV, settings) -> equity curve and trades, through backtesting.py.

Pure and self-contained: runs inside the sandbox child, so it imports only pandas, numpy and
backtesting (never the store, streamlit or anything that does I/O).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

PROGRESS_EVERY_BARS = 2_000

TRADE_COLUMNS = ("Size", "EntryBar", "ExitBar", "EntryPrice", "ExitPrice", "PnL", "Commission",
                 "ReturnPct", "EntryTime", "ExitTime", "Tag")


@dataclass(frozen=True, slots=True, kw_only=True)
class EngineSettings:
    """backtesting.py Backtest arguments. commission: fraction of notional per fill."""

    cash_usdt: float
    commission: float = 0.0
    finalize_trades: bool = True
    trade_on_close: bool = False
    exclusive_orders: bool = False
    hedging: bool = False
    margin: float = 1.0
    spread: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class EngineOutput:
    """What a run produced: equity per bar (quote currency) and closed trades."""

    equity: pd.Series
    trades: pd.DataFrame
    stats: pd.Series  # backtesting.py's own stats (claimed; never trusted across the sandbox)


def with_progress(strategy_cls: type, total_bars: int,
                  report: Callable[[int, int], None] | None) -> type:
    """A subclass that calls report(bars_done, total) every PROGRESS_EVERY_BARS bars."""
    if report is None:
        return strategy_cls

    class Progress(strategy_cls):  # type: ignore[misc, valid-type]
        def next(self) -> None:
            super().next()
            done = len(self.data)
            if done % PROGRESS_EVERY_BARS == 0:
                report(done, total_bars)

    Progress.__name__ = strategy_cls.__name__
    Progress.__qualname__ = strategy_cls.__qualname__
    return Progress


def run(strategy_cls: type, data: pd.DataFrame, settings: EngineSettings, *,
        params: dict[str, Any] | None = None,
        progress: Callable[[int, int], None] | None = None) -> EngineOutput:
    """Run one backtest. ``data`` has a DatetimeIndex and Open/High/Low/Close/Volume columns.

    Raises whatever the user's strategy raises (the caller reports it with the user's frames).
    """
    from backtesting import Backtest

    cls = with_progress(strategy_cls, len(data), progress)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # backtesting.py's advisory warnings reach the run log instead
        bt = Backtest(data, cls, cash=settings.cash_usdt, commission=settings.commission,
                      spread=settings.spread, margin=settings.margin,
                      trade_on_close=settings.trade_on_close, hedging=settings.hedging,
                      exclusive_orders=settings.exclusive_orders,
                      finalize_trades=settings.finalize_trades)
        stats = bt.run(**(params or {}))
    if progress is not None:
        progress(len(data), len(data))
    equity = stats["_equity_curve"]["Equity"].astype("float64")
    equity.index = data.index
    trades = stats["_trades"].loc[:, list(TRADE_COLUMNS)].copy()
    public = stats[[k for k in stats.index if not str(k).startswith("_")]]
    return EngineOutput(equity=equity, trades=trades, stats=public)
