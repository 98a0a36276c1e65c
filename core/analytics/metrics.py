"""Equity curve, trades and benchmark -> Metrics. One documented definition per metric.

Conventions: ratios are fractions (0.12 means 12 %). Return-based risk metrics use daily returns
of the equity curve, resampled to UTC calendar days (last equity of each day), annualised with
PERIODS_PER_YEAR = 365. The benchmark is buy and hold of the same symbol over the same bars.
Each metric's docstring below is its definition and is shown in the UI glossary.
The annual risk-free rate (default 0, TradingView's ``risk_free_rate``) is turned into a daily rate
geometrically, (1 + rf) ** (1 / 365) - 1, as quantstats does. TradingView-style trade statistics
with All / Long / Short columns live in core.analytics.trade_stats.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from core.analytics.daily import daily_last, daily_returns
from core.model import PERIODS_PER_YEAR


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricInfo:
    """How a metric is labelled and formatted."""

    name: str
    label: str
    unit: str  # "pct" (fraction shown as %), "ratio", "count", "days", "usdt"
    definition: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Inputs:
    """What every metric may look at."""

    equity: pd.Series  # quote currency per bar, DatetimeIndex (UTC)
    trades: pd.DataFrame  # columns as core.engine.backtest.TRADE_COLUMNS
    benchmark: pd.Series  # close prices of the same bars
    risk_free_rate: float = 0.0  # annual, fraction
    # Daily returns computed once per Inputs (about 15 metrics read them; each resample cost
    # ~25 ms of a small run's ~1 s of host-side metrics). Not part of equality or hashing.
    # Closed trades and the run's length in years are kept here too (three and two metrics
    # read them).
    _memo: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def daily_returns(self) -> pd.Series:
        """Simple returns of the last equity of each UTC day (computed once; a copy)."""
        if "equity" not in self._memo:
            self._memo["equity"] = daily_returns(self.equity)
        return self._memo["equity"].copy()

    @property
    def benchmark_daily_returns(self) -> pd.Series:
        """Simple returns of the benchmark's last close of each UTC day (computed once; a
        copy)."""
        if "benchmark" not in self._memo:
            self._memo["benchmark"] = daily_returns(self.benchmark)
        return self._memo["benchmark"].copy()


def _daily_rf(annual_rate: float) -> float:
    return float((1.0 + annual_rate) ** (1.0 / PERIODS_PER_YEAR) - 1.0)


def _years(inp: Inputs) -> float:
    if "years" not in inp._memo:  # noqa: SLF001 - the Inputs' own cache
        days = daily_last(inp.equity)
        inp._memo["years"] = max(len(days) / PERIODS_PER_YEAR, 1e-12)  # noqa: SLF001
    return float(inp._memo["years"])  # noqa: SLF001


def _returns(inp: Inputs) -> np.ndarray:
    """The daily returns as a read-only array (no copy per metric, as the property makes)."""
    if "r" not in inp._memo:  # noqa: SLF001 - the Inputs' own cache
        values = inp.daily_returns.to_numpy(dtype="float64")  # of the property's own copy
        values.flags.writeable = False
        inp._memo["r"] = values  # noqa: SLF001
    return inp._memo["r"]  # noqa: SLF001


def _excess(inp: Inputs) -> np.ndarray:
    """Daily returns minus the daily risk-free rate."""
    return _returns(inp) - _daily_rf(inp.risk_free_rate)


def _paired(inp: Inputs) -> tuple[np.ndarray, np.ndarray]:
    """Daily strategy and benchmark returns on the days both have (an inner join), as arrays."""
    if "paired" not in inp._memo:  # noqa: SLF001 - the Inputs' own cache
        s, b = inp.daily_returns.align(inp.benchmark_daily_returns, join="inner")
        inp._memo["paired"] = (s.to_numpy(dtype="float64"),  # noqa: SLF001
                               b.to_numpy(dtype="float64"))
    return inp._memo["paired"]  # noqa: SLF001


def _column(trades: pd.DataFrame, name: str) -> np.ndarray:
    """A trades column as float64 values (empty without trades)."""
    return trades[name].to_numpy(dtype="float64") if len(trades) else np.empty(0)


def total_return(inp: Inputs) -> float:
    """Final equity / initial equity - 1."""
    return float(inp.equity.iloc[-1] / inp.equity.iloc[0] - 1.0)


def cagr(inp: Inputs) -> float:
    """Compound annual growth rate: (final / initial) ** (365 / days) - 1, days = the UTC
    calendar days the run covers (its number of daily returns, as quantstats' cagr counts
    years). Not the Mean daily return x 365, which does not compound."""
    growth = inp.equity.iloc[-1] / inp.equity.iloc[0]
    return float(growth ** (1.0 / _years(inp)) - 1.0) if growth > 0 else -1.0


def annualized_return(inp: Inputs) -> float:
    """Mean daily return x 365: an arithmetic annualisation that does not compound, so it
    differs from CAGR (it is higher in volatile runs, and can fall below -100 %). quantstats'
    tearsheet has no such row; backtesting.py's 'Return (Ann.)' is geometric (like CAGR)."""
    r = _returns(inp)
    return float(r.mean() * PERIODS_PER_YEAR) if len(r) else 0.0


def volatility(inp: Inputs) -> float:
    """Standard deviation of daily returns (ddof=1) x sqrt(365)."""
    r = _returns(inp)
    return float(r.std(ddof=1) * math.sqrt(PERIODS_PER_YEAR)) if len(r) > 1 else 0.0


def sharpe_ratio(inp: Inputs) -> float:
    """Mean of daily excess returns / their std (ddof=1) x sqrt(365). Same as quantstats
    sharpe(periods=365). Differs from backtesting.py, which divides annualised return by
    annualised volatility, and from TradingView, which uses monthly returns. Constant returns
    (a std under 1e-12: rounding noise) give 0, not a quotient of noise."""
    r = _excess(inp)
    sd = r.std(ddof=1) if len(r) > 1 else 0.0
    return float(r.mean() / sd * math.sqrt(PERIODS_PER_YEAR)) if sd > 1e-12 else 0.0


def sortino_ratio(inp: Inputs) -> float:
    """Mean daily excess return / downside deviation x sqrt(365); downside deviation =
    sqrt(mean(min(r, 0)^2)) over all days (quantstats sortino(periods=365))."""
    r = _excess(inp)
    downside = math.sqrt(float((np.minimum(r, 0.0) ** 2).sum()) / len(r)) if len(r) else 0.0
    return float(r.mean() / downside * math.sqrt(PERIODS_PER_YEAR)) if downside > 0 else 0.0


def max_drawdown(inp: Inputs) -> float:
    """Largest peak-to-trough fall of the per-bar equity curve, as a positive fraction.
    quantstats measures daily closes only (a negative number; equal on daily bars): the
    tearsheet's Max Drawdown row shows this per-bar value instead."""
    eq = inp.equity
    return float((1.0 - eq / eq.cummax()).max())


def var_95(inp: Inputs) -> float:
    """Historical 1-day 95 % value at risk: minus the 5th percentile of daily returns (positive
    means a loss). quantstats' var() is parametric (normal) instead, so it differs."""
    r = _returns(inp)
    return float(-np.percentile(r, 5)) + 0.0 if len(r) else 0.0  # + 0.0: no "-0.00%"


def cvar_95(inp: Inputs) -> float:
    """Expected shortfall: minus the mean of daily returns at or below their 5th percentile
    (= minus quantstats cvar(method='historical'); its default is parametric)."""
    r = _returns(inp)
    if not len(r):
        return 0.0
    cut = np.percentile(r, 5)
    return float(-r[r <= cut].mean()) + 0.0  # + 0.0: no "-0.00%"


OPEN_EXIT_REASON = "open"
FINALIZED_EXIT_REASON = "end_of_data"


def open_at_end(trades: pd.DataFrame, n_bars: int) -> pd.Series:
    """True for trades still open at the end of the data: exit reason ``open`` (a Pine run,
    TradingView's open trade, marked at the last close), or, without an exit reason column, an
    exit on the last bar. A Python run's trade closed on the last bar by finalize_trades (exit
    reason end_of_data, as backtesting.py's finalize_trades=True) is closed and counted."""
    if "ExitReason" in trades.columns:
        return trades["ExitReason"].eq(OPEN_EXIT_REASON)
    return trades["ExitBar"].astype(int).ge(n_bars - 1)


def closed_trades(inp: Inputs) -> pd.DataFrame:
    """The closed trades: all but a Pine run's trade still open at the end (TradingView's
    closed trades); a Python run's end_of_data trade is closed (finalize_trades)."""
    trades = inp.trades
    if not len(trades):
        return trades
    if "closed" not in inp._memo:  # noqa: SLF001 - the Inputs' own cache
        inp._memo["closed"] = trades[~open_at_end(trades, len(inp.equity))]  # noqa: SLF001
    return inp._memo["closed"]  # noqa: SLF001


def total_trades(inp: Inputs) -> float:
    """Number of closed trades. Python runs (finalize_trades=True, the crypto default) close a
    trade still open at the end on the last bar and count it, as backtesting.py's '# Trades' with
    finalize_trades=True; Pine runs leave it open, as TradingView's Total closed trades (its P&L
    is Open P&L); with finalize_trades=False it is not a trade at all."""
    return float(len(closed_trades(inp)))


def win_rate(inp: Inputs) -> float:
    """Share of closed trades (as Closed trades counts them) with P&L > 0 after commission
    (TradingView's Percent profitable, backtesting.py's Win Rate); NaN (shown "—") without
    closed trades, as backtesting.py."""
    pnl = _column(closed_trades(inp), "PnL")
    return float((pnl > 0).mean()) if len(pnl) else math.nan


def profit_factor(inp: Inputs) -> float:
    """Gross profit / gross loss of closed trades (as Closed trades counts them), from trade P&L
    in quote currency (TradingView's definition; backtesting.py uses trade returns). inf when
    there is no losing trade; NaN (shown "—") when there is neither a winning nor a losing
    closed trade (none at all, or all at exactly 0)."""
    pnl = _column(closed_trades(inp), "PnL")
    gross_loss = -pnl[pnl < 0].sum()
    gross_profit = pnl[pnl > 0].sum()
    if gross_loss == 0:
        return float("inf") if gross_profit > 0 else math.nan
    return float(gross_profit / gross_loss)


def avg_trade_duration(inp: Inputs) -> float:
    """Mean time from entry to exit, in days; NaN (shown "—") without trades."""
    if not len(inp.trades):
        return math.nan
    held = pd.to_datetime(inp.trades["ExitTime"]) - pd.to_datetime(inp.trades["EntryTime"])
    return float(held.mean() / pd.Timedelta(days=1))


def beta(inp: Inputs) -> float:
    """Covariance of daily strategy and benchmark returns / variance of benchmark returns."""
    s, b = _paired(inp)
    var = b.var(ddof=1) if len(b) > 1 else 0.0
    return float(np.cov(s, b, ddof=1)[0, 1] / var) if var > 0 else 0.0


def alpha(inp: Inputs) -> float:
    """Jensen's alpha, annualised: (mean daily r - beta x mean daily benchmark r) x 365."""
    s, b = _paired(inp)
    if not len(s):
        return 0.0
    return float((s.mean() - beta(inp) * b.mean()) * PERIODS_PER_YEAR)


def information_ratio(inp: Inputs) -> float:
    """Mean of daily active returns (strategy - benchmark) / their std (ddof=1) x sqrt(365).
    quantstats' information_ratio is not annualised (ours / sqrt(365) equals it)."""
    s, b = _paired(inp)
    active = s - b
    sd = active.std(ddof=1) if len(active) > 1 else 0.0
    return float(active.mean() / sd * math.sqrt(PERIODS_PER_YEAR)) if sd > 0 else 0.0


def buy_hold_return(inp: Inputs) -> float:
    """Benchmark (buy and hold) last close / first close - 1 over the same bars."""
    return float(inp.benchmark.iloc[-1] / inp.benchmark.iloc[0] - 1.0)


def calmar_ratio(inp: Inputs) -> float:
    """CAGR / max drawdown (per-bar); 0 when there is no drawdown (one below 1e-12 is float
    noise of the division, not a fall). quantstats calmar uses daily closes (equal on gap-free
    daily bars); the tearsheet's Calmar row shows this value."""
    dd = max_drawdown(inp)
    return float(cagr(inp) / dd) if dd > 1e-12 else 0.0


def omega_ratio(inp: Inputs) -> float:
    """Sum of daily excess returns above 0 / minus the sum of those below 0 (threshold 0);
    inf when no day loses, NaN ("—") when none gains or loses. As quantstats omega(periods=365)."""
    r = _excess(inp)
    gains, losses = float(r[r > 0].sum()), float(-r[r < 0].sum())
    if losses == 0:
        return float("inf") if gains > 0 else math.nan
    return gains / losses


def max_drawdown_duration(inp: Inputs) -> float:
    """Longest time, in days, from an equity peak to the first bar back at that peak (or to the
    last bar if it never recovers). backtesting.py's Max. Drawdown Duration, in days."""
    eq = inp.equity.to_numpy()
    at_peak = np.flatnonzero(eq >= np.maximum.accumulate(eq))
    marks = np.unique(np.r_[at_peak, len(eq) - 1])
    gaps = np.flatnonzero(np.diff(marks) > 1)
    if not len(gaps):
        return 0.0
    times = inp.equity.index
    spans = times[marks[gaps + 1]] - times[marks[gaps]]
    return float(spans.max() / pd.Timedelta(days=1))


def exposure(inp: Inputs) -> float:
    """Share of bars with a position open, from each trade's entry bar to its exit bar
    inclusive (backtesting.py's Exposure Time [%], as a fraction; the tearsheet's Time in Market
    row shows it, where quantstats would count days with a non-zero return)."""
    n = len(inp.equity)
    if not n or not len(inp.trades):
        return 0.0
    held = np.zeros(n, dtype=bool)
    for entry, exit_ in zip(inp.trades["EntryBar"], inp.trades["ExitBar"], strict=True):
        held[int(entry):int(exit_) + 1] = True
    return float(held.mean())


def expectancy(inp: Inputs) -> float:
    """Mean trade return (ReturnPct, a fraction, after commission), arithmetic: backtesting.py's
    Expectancy [%]. The mean trade P&L in USDT is TradingView's Avg Trade (trade statistics).
    NaN (shown "—") without trades, as backtesting.py."""
    returns = _column(inp.trades, "ReturnPct")
    return float(returns.mean()) if len(returns) else math.nan


def sqn(inp: Inputs) -> float:
    """System Quality Number: sqrt(trades) x mean trade P&L / std of trade P&L (ddof=1), as in
    backtesting.py; NaN (shown "—") with fewer than 2 trades or no spread, as backtesting.py."""
    pnl = _column(inp.trades, "PnL")
    sd = pnl.std(ddof=1) if len(pnl) > 1 else 0.0
    return float(math.sqrt(len(pnl)) * pnl.mean() / sd) if sd > 0 else math.nan


def kelly_criterion(inp: Inputs) -> float:
    """Kelly fraction from trades: p - (1 - p) / (avg winning P&L / avg losing |P&L|), p = win
    rate (backtesting.py's). quantstats applies the same formula to daily returns instead. NaN
    (shown "—") without both a winning and a losing trade (an average is missing), as
    backtesting.py."""
    pnl = _column(inp.trades, "PnL")
    wins, losses = pnl[pnl > 0], pnl[pnl < 0]
    if not len(wins) or not len(losses):
        return math.nan
    p = len(wins) / len(pnl)
    return float(p - (1 - p) / (wins.mean() / -losses.mean()))


METRICS: dict[str, tuple[Callable[[Inputs], float], str, str]] = {
    "total_return": (total_return, "Total return", "pct"),
    "annualized_return": (annualized_return, "Mean daily return ×365", "pct"),
    "cagr": (cagr, "CAGR", "pct"),
    "volatility": (volatility, "Volatility (ann.)", "pct"),
    "sharpe_ratio": (sharpe_ratio, "Sharpe ratio", "ratio"),
    "sortino_ratio": (sortino_ratio, "Sortino ratio", "ratio"),
    "max_drawdown": (max_drawdown, "Max drawdown", "pct"),
    "var_95": (var_95, "VaR 95% (1 day)", "pct"),
    "cvar_95": (cvar_95, "CVaR 95% (1 day)", "pct"),
    "total_trades": (total_trades, "Closed trades", "count"),
    "win_rate": (win_rate, "Win rate", "pct"),
    "profit_factor": (profit_factor, "Profit factor", "ratio"),
    "avg_trade_duration": (avg_trade_duration, "Avg trade duration", "days"),
    "alpha": (alpha, "Alpha (ann.)", "pct"),
    "beta": (beta, "Beta", "ratio"),
    "information_ratio": (information_ratio, "Information ratio", "ratio"),
    "buy_hold_return": (buy_hold_return, "Buy & hold return", "pct"),
    "calmar_ratio": (calmar_ratio, "Calmar ratio", "ratio"),
    "omega_ratio": (omega_ratio, "Omega ratio", "ratio"),
    "max_drawdown_duration": (max_drawdown_duration, "Max drawdown duration", "days"),
    "exposure": (exposure, "Exposure", "pct"),
    "expectancy": (expectancy, "Expectancy (mean trade return)", "pct"),
    "sqn": (sqn, "SQN", "ratio"),
    "kelly_criterion": (kelly_criterion, "Kelly criterion", "ratio"),
}


def describe(name: str) -> MetricInfo:
    """Label, unit and definition (the docstring) of a metric."""
    func, label, unit = METRICS[name]
    text = " ".join((func.__doc__ or "").split())
    return MetricInfo(name=name, label=label, unit=unit, definition=text)


def compute(inp: Inputs) -> dict[str, float]:
    """Every metric in METRICS, keyed by name."""
    return {name: func(inp) for name, (func, _, _) in METRICS.items()}


def format_unit(unit: str, value: float) -> str:
    """Text for a finite value in a unit: pct (fraction shown as %), count, days, usdt, ratio."""
    if unit == "pct":
        return f"{value * 100:,.2f}%"
    if unit == "count":
        return f"{value:,.0f}"
    if unit == "days":
        return f"{value:,.2f} d"
    if unit == "usdt":
        return f"{value:,.2f} USDT"
    return f"{value:,.2f}"


def format_value(name: str, value: float | None) -> str:
    """Human text for a metric value (percent for pct, 2 decimals for ratios)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    unit = METRICS[name][2] if name in METRICS else "ratio"
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    return format_unit(unit, value)
