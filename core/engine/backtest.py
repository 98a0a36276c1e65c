"""(strategy class, OHLCV, settings) -> equity curve, trades and risk events, via backtesting.py.

Pure and self-contained: runs inside the sandbox child, so it imports only pandas, numpy,
backtesting and the broker modules (never the store, streamlit or anything that does I/O).

Sizes in a strategy: ``self.buy()`` / ``self.sell()`` keep backtesting.py's meaning (a size
below 1 is a fraction of available margin, a size of 1 or more is whole coins), and
``size=coins(0.015)`` (from core.sizing) trades exactly 0.015 coins, floored to the lot step.
With every realism setting off (EngineSettings defaults, plus finalize_trades=False for
backtesting.py's own default) results equal plain backtesting.py.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.engine.broker import REJECT_REASONS, CryptoBroker, EngineSettings
from core.engine.risk import funding_by_bar
from core.engine.simulate import simulate
from core.sizing import Coins

__all__ = ["EXIT_REASONS", "EngineOutput", "EngineSettings", "REJECT_REASONS", "run"]

PROGRESS_EVERY_BARS = 2_000

TRADE_COLUMNS = ("Size", "EntryBar", "ExitBar", "EntryPrice", "ExitPrice", "PnL", "Commission",
                 "ReturnPct", "EntryTime", "ExitTime", "Tag")
# PnL = PricePnL - Slippage - Commission + Funding; Commission = EntryFee + exit fee.
# EntryDated/ExitDated: filled at the previous bar's close while processing the next bar (fill
# timing "this close"), so the equity curve shows the fill one bar after its bar.
SPLIT_COLUMNS = ("EntryFee", "Funding", "Slippage", "PricePnL", "ExitReason", "EntryDated",
                 "ExitDated")
EXIT_REASONS = ("signal", "stop_loss", "take_profit", "trailing_stop", "liquidation",
                "risk_halt", "end_of_data")
EVENT_COLUMNS = ("time", "rule", "detail")


@dataclass(frozen=True, slots=True, kw_only=True)
class EngineOutput:
    """What a run produced: equity per bar (quote currency), closed trades, risk events."""

    equity: pd.Series
    trades: pd.DataFrame  # TRADE_COLUMNS + SPLIT_COLUMNS, sizes in coins (short < 0)
    stats: pd.Series  # backtesting.py's own stats: empty unless run(stats=True) (tests use it)
    events: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=EVENT_COLUMNS))
    rejected: dict[str, int] = field(default_factory=dict)  # refused orders by reason
    plots: dict[str, list[float]] = field(default_factory=dict)  # Pine plot() series by title
    # finalize_trades=False: trades still open after the last bar, marked at its close
    open_trades: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=TRADE_COLUMNS + SPLIT_COLUMNS))


def write_files(out: EngineOutput, folder: Path) -> None:
    """CHILD SIDE: a run's equity, trades and (only when there are any: most runs have none)
    risk events as the Parquet files the host checks (core.runs.result_check, broker_store)."""
    out.equity.rename("equity").to_frame().to_parquet(folder / "equity.parquet")
    out.trades.to_parquet(folder / "trades.parquet")
    if len(out.events):  # no file: the host reads no events
        out.events.to_parquet(folder / "events.parquet")


def with_progress(strategy_cls: type, total_bars: int,
                  report: Callable[[int, int], None] | None) -> type:
    """A subclass that calls report(bars_done, total) every PROGRESS_EVERY_BARS bars."""
    if report is None:
        return strategy_cls
    callback = report

    class Progress(strategy_cls):
        def next(self) -> None:
            super().next()
            done = len(self.data)
            if done % PROGRESS_EVERY_BARS == 0:
                callback(done, total_bars)

    Progress.__name__ = strategy_cls.__name__
    Progress.__qualname__ = strategy_cls.__qualname__
    return Progress


def _checked_size(size: float) -> float:
    """``size`` if it is a valid order size, else ValueError saying what is allowed."""
    if isinstance(size, Coins):
        if not size > 0:
            raise ValueError(f"coins({float(size)!r}): the quantity must be positive")
        return size
    if not (0 < size < 1 or round(size) == size >= 1):
        raise ValueError(f"size={size!r}: use a fraction of equity (0 < size < 1), a whole number "
                         "of coins (>= 1), or coins(x) for an exact fractional coin quantity")
    return size


def with_sizing(strategy_cls: type) -> type:
    """A trusted subclass whose buy()/sell() accept coins(x) besides backtesting.py's sizes."""
    from backtesting import Strategy

    full = Strategy._FULL_EQUITY

    class Sized(strategy_cls):
        def buy(self, *, size: float = full, limit: float | None = None,
                stop: float | None = None, sl: float | None = None, tp: float | None = None,
                tag: object = None) -> Any:
            return self._broker.new_order(_checked_size(size), limit, stop, sl, tp, tag)

        def sell(self, *, size: float = full, limit: float | None = None,
                 stop: float | None = None, sl: float | None = None, tp: float | None = None,
                 tag: object = None) -> Any:
            size = _checked_size(size)
            signed = Coins(-size) if isinstance(size, Coins) else -size
            return self._broker.new_order(signed, limit, stop, sl, tp, tag)

    Sized.__name__ = strategy_cls.__name__
    Sized.__qualname__ = strategy_cls.__qualname__
    return Sized


def _bar_arrays(data: pd.DataFrame, settings: EngineSettings,
                funding: pd.Series | None) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Funding rate due per bar (perps only) and the UTC day number per bar (daily-loss rule)."""
    times = data.index.to_numpy().astype("datetime64[ns]")
    rates = None
    if settings.perp and funding is not None and len(funding):
        rates = funding_by_bar(bar_times=times,
                               funding_times=funding.index.to_numpy().astype("datetime64[ns]"),
                               rates=funding.to_numpy(dtype="float64"))
    days = times.astype("datetime64[D]").astype("int64") if settings.max_daily_loss else None
    return rates, days


def run(strategy_cls: type, data: pd.DataFrame, settings: EngineSettings, *,
        params: dict[str, Any] | None = None,
        progress: Callable[[int, int], None] | None = None,
        funding: pd.Series | None = None, stats: bool = False) -> EngineOutput:
    """Run one backtest. ``data`` has a DatetimeIndex and Open/High/Low/Close/Volume columns.

    ``funding``: rates per funding time (fraction, DatetimeIndex), used when settings.perp.
    backtesting.py's own statistics are computed only with ``stats=True`` (EngineOutput.stats;
    equity and trades are the same either way): the host computes every metric from the checked
    equity and trades and never reads them (they were half of a small run's CPU).
    Raises whatever the user's strategy raises (the caller reports it with the user's frames).
    """
    from backtesting import Backtest

    rates, days = _bar_arrays(data, settings, funding)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # backtesting.py's advisory warnings are not errors here
        bt = Backtest(data, with_sizing(strategy_cls), cash=settings.cash_usdt, commission=0.0,
                      spread=settings.spread, margin=settings.margin,
                      trade_on_close=settings.trade_on_close, hedging=settings.hedging,
                      exclusive_orders=settings.exclusive_orders,
                      finalize_trades=settings.finalize_trades)
        bt._broker = partial(CryptoBroker, settings=settings, funding_by_bar=rates,
                             day_by_bar=days, progress=progress, **bt._broker.keywords)
        done = simulate(bt, params or {})
        claimed = done.stats(bt._data) if stats else pd.Series(dtype=object)
    if progress is not None:
        progress(len(data), len(data))
    broker = done.broker
    equity = pd.Series(done.equity, index=data.index, name="Equity", dtype="float64")
    public = claimed[[k for k in claimed.index if not str(k).startswith("_")]]
    return EngineOutput(equity=equity, trades=_trades_frame(done.trades(), broker.closed_trades),
                        stats=public, events=_events_frame(broker.events, data.index),
                        rejected={k: int(v) for k, v in broker.rejected.items()},
                        plots=_plots(done.strategy),
                        open_trades=_open_frame(
                            [] if settings.finalize_trades else broker.trades, data))


def _plots(strategy: object) -> dict[str, list[float]]:
    """plot() series a Pine runtime recorded (empty for Python strategies)."""
    recorded = getattr(getattr(strategy, "pine", None), "plots", None)
    return dict(recorded) if isinstance(recorded, dict) else {}


def _trades_frame(table: pd.DataFrame, closed: list) -> pd.DataFrame:
    """backtesting.py's trade table plus PineOpt's split; PnL and ReturnPct include funding."""
    trades = table.loc[:, list(TRADE_COLUMNS)].copy()
    size = trades["Size"].to_numpy(dtype="float64")
    entry = trades["EntryPrice"].to_numpy(dtype="float64")
    exit_ = trades["ExitPrice"].to_numpy(dtype="float64")
    funding = np.array([t._funding for t in closed], dtype="float64")
    slip = np.abs(size) * np.array([t._slip_in + t._slip_out for t in closed], dtype="float64")
    trades["EntryFee"] = np.abs(size) * entry * np.array([t._fee_rate_in for t in closed],
                                                         dtype="float64")
    trades["Funding"] = funding
    trades["Slippage"] = slip
    trades["PricePnL"] = size * (exit_ - entry) + slip
    trades["PnL"] = trades["PnL"].to_numpy(dtype="float64") + funding
    notional = np.abs(size) * entry
    trades["ReturnPct"] = trades["ReturnPct"].to_numpy(dtype="float64") + np.divide(
        funding, notional, out=np.zeros_like(funding), where=notional != 0)
    trades["ExitReason"] = [t._reason or "signal" for t in closed]
    trades["EntryDated"] = np.array([t._dated_in for t in closed], dtype=bool)
    trades["ExitDated"] = np.array([t._dated_out for t in closed], dtype=bool)
    return trades


def _open_frame(open_trades: list, data: pd.DataFrame) -> pd.DataFrame:
    """Trades left open at the end (finalize_trades=False), marked at the last close: what
    backtesting.py's equity holds for them. Same columns as the trade table; ExitReason "open"."""
    last = len(data) - 1
    close = float(data["Close"].iloc[-1])
    rows = []
    for t in open_trades:
        fee = abs(t.size) * t.entry_price * t._fee_rate_in
        slip = abs(t.size) * t._slip_in
        price_pnl = t.size * (close - t.entry_price)
        rows.append({
            "Size": float(t.size), "EntryBar": int(t.entry_bar), "ExitBar": last,
            "EntryPrice": float(t.entry_price), "ExitPrice": close, "PnL": price_pnl - fee,
            "Commission": fee, "ReturnPct": (price_pnl - fee) / (abs(t.size) * t.entry_price),
            "EntryTime": data.index[t.entry_bar], "ExitTime": data.index[last],
            "Tag": None if t.tag is None else str(t.tag),
            "EntryFee": fee, "Funding": 0.0, "Slippage": slip, "PricePnL": price_pnl + slip,
            "ExitReason": "open", "EntryDated": bool(t._dated_in), "ExitDated": False})
    return pd.DataFrame(rows, columns=list(TRADE_COLUMNS + SPLIT_COLUMNS))


def _events_frame(events: list[tuple[int, str, str]], index: pd.Index) -> pd.DataFrame:
    if not events:
        kinds = ("datetime64[ns]", "object", "object")
        return pd.DataFrame({c: pd.Series(dtype=t)
                             for c, t in zip(EVENT_COLUMNS, kinds, strict=True)})
    bars = [e[0] for e in events]
    return pd.DataFrame({"time": index[bars], "rule": [e[1] for e in events],
                         "detail": [e[2] for e in events]})
