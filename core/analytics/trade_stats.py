"""TradingView's Performance Summary: trade statistics with All / Long / Short columns.

Owns the trade-level definitions (net profit, gross profit and loss, counts, averages, bars held,
max contracts held, open P&L, commission) and the equity-level run-up / drawdown in USDT, plus
the ordered summary table that mixes them with core.analytics.metrics' equity-based ratios (those
have an All value only, as in TradingView).

Open vs closed: a Python run's trade still open at the end of the data is closed on the last bar
(exit reason ``end_of_data``, at its open, as backtesting.py's finalize_trades=True) and counted
like any closed trade. A Pine run's stays open, as TradingView shows it (exit reason ``open``,
marked at the last close): its mark-to-market P&L is Open P&L and it is left out of every
closed-trade statistic, and of core.analytics.metrics' total_trades, win_rate and profit_factor
(the same closed-trade definitions). P&L is in USDT after commission; sizes are coins; "bars"
count from the entry bar to the exit bar.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.analytics import metrics

SIDES = ("all", "long", "short")
OPEN_EXIT_REASON = metrics.OPEN_EXIT_REASON

STORED_TO_ENGINE = {"size": "Size", "entry_bar": "EntryBar", "exit_bar": "ExitBar",
                    "entry_price": "EntryPrice", "exit_price": "ExitPrice", "pnl": "PnL",
                    "commission": "Commission", "return_pct": "ReturnPct",
                    "entry_time": "EntryTime", "exit_time": "ExitTime", "tag": "Tag",
                    "exit_reason": "ExitReason"}


@dataclass(frozen=True, slots=True)
class Columns:
    """The columns the statistics read of some trades, as numpy arrays in trade order (built
    once per run: each statistic used to filter and convert pandas columns itself)."""

    pnl: np.ndarray  # PnL, float
    size: np.ndarray  # Size, float
    entry_bar: np.ndarray  # EntryBar, int
    exit_bar: np.ndarray  # ExitBar, int
    commission: np.ndarray  # Commission, float

    def __len__(self) -> int:
        """The number of trades."""
        return len(self.pnl)

    def where(self, mask: np.ndarray) -> Columns:
        """The trades where ``mask`` is True, in order."""
        return Columns(self.pnl[mask], self.size[mask], self.entry_bar[mask],
                       self.exit_bar[mask], self.commission[mask])

    def then(self, other: Columns) -> Columns:
        """These trades followed by ``other``'s."""
        return Columns(*(np.concatenate((a, b)) for a, b in zip(
            (self.pnl, self.size, self.entry_bar, self.exit_bar, self.commission),
            (other.pnl, other.size, other.entry_bar, other.exit_bar, other.commission),
            strict=True)))


def columns(trades: pd.DataFrame) -> Columns:
    """The Columns of a trades frame (engine column names)."""
    def get(name: str, dtype: type) -> np.ndarray:
        return trades[name].to_numpy(dtype=dtype) if len(trades) else np.empty(0, dtype=dtype)

    return Columns(get("PnL", float), get("Size", float), get("EntryBar", int),
                   get("ExitBar", int), get("Commission", float))


@dataclass(frozen=True, slots=True, kw_only=True)
class SideTrades:
    """The trades one column of the summary looks at."""

    closed: Columns
    open: Columns
    initial_usdt: float


def engine_trades(stored: pd.DataFrame) -> pd.DataFrame:
    """Stored trades (core.runs.service.run_trades, snake_case) -> core.engine column names."""
    return stored.rename(columns=STORED_TO_ENGINE)


def open_mask(trades: pd.DataFrame, n_bars: int) -> pd.Series:
    """True for trades still open at the end of the data (core.analytics.metrics.open_at_end)."""
    return metrics.open_at_end(trades, n_bars)


def split(inp: metrics.Inputs, sides: tuple[str, ...] = SIDES) -> dict[str, SideTrades]:
    """The All / Long / Short views of a run's trades (those of ``sides``)."""
    trades = inp.trades
    every = columns(trades)
    is_open = open_mask(trades, len(inp.equity)).to_numpy(dtype=bool) if len(trades) \
        else np.zeros(0, dtype=bool)
    views = {}
    for side in sides:
        pick = np.ones(len(every), dtype=bool)
        if side != "all":
            pick = every.size > 0 if side == "long" else every.size < 0
        views[side] = SideTrades(closed=every.where(pick & ~is_open),
                                 open=every.where(pick & is_open),
                                 initial_usdt=float(inp.equity.iloc[0]))
    return views


def _pnl(t: SideTrades) -> np.ndarray:
    return t.closed.pnl


def _bars(trades: Columns) -> np.ndarray:
    return (trades.exit_bar - trades.entry_bar).astype(float)


def _mean(values: np.ndarray) -> float:
    """The mean; NaN (shown "—") for no values: an average of nothing is not 0."""
    return float(values.mean()) if len(values) else math.nan


def net_profit(t: SideTrades) -> float:
    """Sum of closed trades' P&L in USDT (after commission); open trades are Open P&L."""
    return float(_pnl(t).sum())


def net_profit_pct(t: SideTrades) -> float:
    """Net profit / initial capital (a fraction)."""
    return net_profit(t) / t.initial_usdt if t.initial_usdt else 0.0


def gross_profit(t: SideTrades) -> float:
    """Sum of the P&L of closed winning trades, USDT."""
    pnl = _pnl(t)
    return float(pnl[pnl > 0].sum())


def gross_loss(t: SideTrades) -> float:
    """Sum of the P&L of closed losing trades, as a positive USDT amount."""
    pnl = _pnl(t)
    return float(-pnl[pnl < 0].sum()) + 0.0  # + 0.0 turns -0.0 into 0.0


def closed_profit_factor(t: SideTrades) -> float:
    """Gross profit / gross loss of closed trades (TradingView's Profit Factor); inf with no
    loss, NaN (shown "—") with neither a win nor a loss. Same value as core.analytics.metrics'
    profit_factor (this column also has Long and Short)."""
    loss = gross_loss(t)
    if loss == 0:
        return float("inf") if gross_profit(t) > 0 else math.nan
    return gross_profit(t) / loss


def max_contracts_held(t: SideTrades) -> float:
    """Most coins held at once by this side's trades (closed and open), summing overlapping
    trades' absolute sizes; an exit on a bar happens before an entry on the same bar."""
    frame = t.closed.then(t.open) if len(t.open) else t.closed
    if not len(frame):
        return 0.0
    size = np.abs(frame.size)
    entry = frame.entry_bar
    exit_ = np.maximum(frame.exit_bar, entry + 1)
    bars = np.r_[exit_, entry]
    deltas = np.r_[-size, size]
    order = np.lexsort((deltas, bars))  # by bar, exits (negative) first
    return float(np.cumsum(deltas[order]).max())


def open_pnl(t: SideTrades) -> float:
    """Mark-to-market P&L (USDT) of trades still open at the end, after commission, at the last
    close: Pine runs (TradingView's Open P&L). Python runs close such a trade on the last bar
    (finalize_trades) and count it, so theirs is 0."""
    return float(t.open.pnl.sum()) if len(t.open) else 0.0


def commission_paid(t: SideTrades) -> float:
    """Commission paid on every fill of this side's trades (closed and open), USDT."""
    frame = t.closed.then(t.open) if len(t.open) else t.closed
    return float(frame.commission.sum()) if len(frame) else 0.0


def total_closed_trades(t: SideTrades) -> float:
    """Number of closed trades (a Pine run's trade open at the end is not one)."""
    return float(len(t.closed))


def total_open_trades(t: SideTrades) -> float:
    """Number of trades still open at the end of the data (Pine runs; exit reason open)."""
    return float(len(t.open))


def winning_trades(t: SideTrades) -> float:
    """Number of closed trades with P&L > 0."""
    return float((_pnl(t) > 0).sum())


def losing_trades(t: SideTrades) -> float:
    """Number of closed trades with P&L < 0 (P&L exactly 0 is neither)."""
    return float((_pnl(t) < 0).sum())


def percent_profitable(t: SideTrades) -> float:
    """Winning trades / closed trades (a fraction); NaN (shown "—") without closed trades."""
    return winning_trades(t) / len(t.closed) if len(t.closed) else math.nan


def avg_trade(t: SideTrades) -> float:
    """Mean P&L of closed trades, USDT (TradingView's Avg Trade / expected payoff); NaN (shown
    "—") without closed trades."""
    return _mean(_pnl(t))


def avg_winning_trade(t: SideTrades) -> float:
    """Mean P&L of closed winning trades, USDT; NaN (shown "—") without winning trades."""
    pnl = _pnl(t)
    return _mean(pnl[pnl > 0])


def avg_losing_trade(t: SideTrades) -> float:
    """Mean P&L of closed losing trades, as a positive USDT amount; NaN (shown "—") without
    losing trades."""
    pnl = _pnl(t)
    return -_mean(pnl[pnl < 0]) + 0.0


def ratio_avg_win_loss(t: SideTrades) -> float:
    """Avg winning trade / avg losing trade; NaN (shown "—") unless there are both winning and
    losing trades (one of the averages does not exist)."""
    win, loss = avg_winning_trade(t), avg_losing_trade(t)
    if math.isnan(win) or math.isnan(loss):
        return math.nan
    return win / loss


def largest_winning_trade(t: SideTrades) -> float:
    """Largest closed-trade P&L above 0, USDT; NaN (shown "—") without winning trades."""
    pnl = _pnl(t)
    return float(pnl.max()) if (pnl > 0).any() else math.nan


def largest_losing_trade(t: SideTrades) -> float:
    """Largest closed-trade loss, as a positive USDT amount; NaN (shown "—") without losing
    trades."""
    pnl = _pnl(t)
    return float(-pnl.min()) if (pnl < 0).any() else math.nan


def avg_bars_in_trades(t: SideTrades) -> float:
    """Mean bars held (exit bar - entry bar) over closed trades; NaN (shown "—") without."""
    return _mean(_bars(t.closed))


def avg_bars_in_winning_trades(t: SideTrades) -> float:
    """Mean bars held over closed winning trades; NaN (shown "—") without winning trades."""
    return _mean(_bars(t.closed.where(_pnl(t) > 0)))


def avg_bars_in_losing_trades(t: SideTrades) -> float:
    """Mean bars held over closed losing trades; NaN (shown "—") without losing trades."""
    return _mean(_bars(t.closed.where(_pnl(t) < 0)))


def max_runup_usdt(inp: metrics.Inputs) -> float:
    """Largest rise of the per-bar equity curve from a low to a later high, USDT."""
    eq = inp.equity
    return float((eq - eq.cummin()).max())


def max_runup(inp: metrics.Inputs) -> float:
    """Largest rise of the per-bar equity curve from a low to a later high, as a fraction of
    that low."""
    eq = inp.equity
    return float((eq / eq.cummin() - 1.0).max())


def max_drawdown_usdt(inp: metrics.Inputs) -> float:
    """Largest fall of the per-bar equity curve from a high to a later low, as a positive USDT
    amount (the seed's max_drawdown is the same fall as a fraction of the high; the two may come
    from different episodes)."""
    eq = inp.equity
    return float((eq.cummax() - eq).max())


TRADE_STATS: dict[str, tuple[Callable[[SideTrades], float], str, str]] = {
    "net_profit": (net_profit, "Net profit", "usdt"),
    "net_profit_pct": (net_profit_pct, "Net profit %", "pct"),
    "gross_profit": (gross_profit, "Gross profit", "usdt"),
    "gross_loss": (gross_loss, "Gross loss", "usdt"),
    "closed_profit_factor": (closed_profit_factor, "Profit factor (closed trades)", "ratio"),
    "max_contracts_held": (max_contracts_held, "Max contracts held", "coins"),
    "open_pnl": (open_pnl, "Open P&L", "usdt"),
    "commission_paid": (commission_paid, "Commission paid", "usdt"),
    "total_closed_trades": (total_closed_trades, "Total closed trades", "count"),
    "total_open_trades": (total_open_trades, "Total open trades", "count"),
    "winning_trades": (winning_trades, "Winning trades", "count"),
    "losing_trades": (losing_trades, "Losing trades", "count"),
    "percent_profitable": (percent_profitable, "Percent profitable", "pct"),
    "avg_trade": (avg_trade, "Avg trade", "usdt"),
    "avg_winning_trade": (avg_winning_trade, "Avg winning trade", "usdt"),
    "avg_losing_trade": (avg_losing_trade, "Avg losing trade", "usdt"),
    "ratio_avg_win_loss": (ratio_avg_win_loss, "Ratio avg win / avg loss", "ratio"),
    "largest_winning_trade": (largest_winning_trade, "Largest winning trade", "usdt"),
    "largest_losing_trade": (largest_losing_trade, "Largest losing trade", "usdt"),
    "avg_bars_in_trades": (avg_bars_in_trades, "Avg # bars in trades", "bars"),
    "avg_bars_in_winning_trades": (avg_bars_in_winning_trades, "Avg # bars in winning trades",
                                   "bars"),
    "avg_bars_in_losing_trades": (avg_bars_in_losing_trades, "Avg # bars in losing trades",
                                  "bars"),
}

EQUITY_STATS: dict[str, tuple[Callable[[metrics.Inputs], float], str, str]] = {
    "max_runup_usdt": (max_runup_usdt, "Max run-up", "usdt"),
    "max_runup": (max_runup, "Max run-up %", "pct"),
    "max_drawdown_usdt": (max_drawdown_usdt, "Max drawdown (USDT)", "usdt"),
}

# TradingView's Performance Summary order; seed and equity rows have an All value only.
# Open P&L sits beside Net profit, as in TradingView's header.
SUMMARY_ROWS = ("net_profit", "net_profit_pct", "open_pnl", "gross_profit", "gross_loss",
                "max_runup_usdt", "max_runup", "max_drawdown_usdt", "max_drawdown",
                "buy_hold_return", "sharpe_ratio", "sortino_ratio", "closed_profit_factor",
                "max_contracts_held", "commission_paid", "total_closed_trades",
                "total_open_trades",
                "winning_trades", "losing_trades", "percent_profitable", "avg_trade",
                "avg_winning_trade", "avg_losing_trade", "ratio_avg_win_loss",
                "largest_winning_trade", "largest_losing_trade", "avg_bars_in_trades",
                "avg_bars_in_winning_trades", "avg_bars_in_losing_trades")


def compute_by_side(inp: metrics.Inputs, sides: tuple[str, ...] = SIDES
                    ) -> dict[str, dict[str, float]]:
    """Trade statistics per side ('all', 'long', 'short', or those of ``sides``, which must
    include 'all'); 'all' adds the equity statistics."""
    views = split(inp, sides)
    out = {side: {name: func(views[side]) for name, (func, _, _) in TRADE_STATS.items()}
           for side in sides}
    out["all"].update({name: func(inp) for name, (func, _, _) in EQUITY_STATS.items()})
    return out


def metric_rows(inp: metrics.Inputs, *, sides: tuple[str, ...] = SIDES
                ) -> list[tuple[str, float, str]]:
    """(name, value, kind) rows for backtest_metrics: every seed metric as kind 'all', and the
    trade statistics of each side as kinds 'all', 'long', 'short' (a study's trials keep only
    ``sides=("all",)``: the same 'all' rows, without computing the other sides)."""
    rows = [(name, value, "all") for name, value in metrics.compute(inp).items()]
    for side, values in compute_by_side(inp, sides).items():
        rows += [(name, value, side) for name, value in values.items()]
    return rows


def _entry(name: str) -> tuple[Callable, str, str]:
    for registry in (metrics.METRICS, TRADE_STATS, EQUITY_STATS):
        if name in registry:
            return registry[name]
    raise KeyError(f"unknown metric {name!r}")


def describe(name: str) -> metrics.MetricInfo:
    """Label, unit and definition (docstring) of any metric: seed, trade or equity statistic."""
    func, label, unit = _entry(name)
    return metrics.MetricInfo(name=name, label=label, unit=unit,
                              definition=" ".join((func.__doc__ or "").split()))


def glossary() -> list[metrics.MetricInfo]:
    """Every metric's definition, seed metrics first, then TradingView's summary rows."""
    names = list(metrics.METRICS) + [n for n in (*TRADE_STATS, *EQUITY_STATS)]
    return [describe(n) for n in names]


def format_value(name: str, value: float | None) -> str:
    """Human text for any metric's value (units from its registry)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    unit = _entry(name)[2]
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    if unit == "bars":
        return f"{value:,.1f}"
    if unit == "coins":
        return f"{value:,.6g}"
    return metrics.format_unit(unit, value)
