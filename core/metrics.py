"""Equity curve, trades and benchmark -> Metrics. One documented definition per metric.

Conventions: ratios are fractions (0.12 means 12 %). Return-based risk metrics use daily returns
of the equity curve, resampled to UTC calendar days (last equity of each day), annualised with
PERIODS_PER_YEAR = 365. The benchmark is buy and hold of the same symbol over the same bars.
Each metric's docstring below is its definition and is shown in the UI glossary.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

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
    trades: pd.DataFrame  # columns as core.engine.TRADE_COLUMNS
    benchmark: pd.Series  # close prices of the same bars
    risk_free_rate: float = 0.0  # annual, fraction

    @property
    def daily_returns(self) -> pd.Series:
        """Simple returns of the last equity of each UTC day."""
        return _daily_returns(self.equity)

    @property
    def benchmark_daily_returns(self) -> pd.Series:
        """Simple returns of the benchmark's last close of each UTC day."""
        return _daily_returns(self.benchmark)


def _daily_returns(series: pd.Series) -> pd.Series:
    daily = series.resample("1D").last().dropna()
    return daily.pct_change().dropna()


def _years(inp: Inputs) -> float:
    span = inp.equity.index[-1] - inp.equity.index[0]
    return max(span / pd.Timedelta(days=PERIODS_PER_YEAR), 1e-12)


def total_return(inp: Inputs) -> float:
    """Final equity / initial equity - 1."""
    return float(inp.equity.iloc[-1] / inp.equity.iloc[0] - 1.0)


def cagr(inp: Inputs) -> float:
    """Compound annual growth rate: (final / initial) ** (365 days / elapsed time) - 1."""
    growth = inp.equity.iloc[-1] / inp.equity.iloc[0]
    return float(growth ** (1.0 / _years(inp)) - 1.0) if growth > 0 else -1.0


def annualized_return(inp: Inputs) -> float:
    """Mean daily return x 365 (arithmetic annualisation, as quantstats' 'ann. return' basis)."""
    r = inp.daily_returns
    return float(r.mean() * PERIODS_PER_YEAR) if len(r) else 0.0


def volatility(inp: Inputs) -> float:
    """Standard deviation of daily returns (ddof=1) x sqrt(365)."""
    r = inp.daily_returns
    return float(r.std(ddof=1) * math.sqrt(PERIODS_PER_YEAR)) if len(r) > 1 else 0.0


def sharpe_ratio(inp: Inputs) -> float:
    """Mean of daily excess returns / their std (ddof=1) x sqrt(365). Same as quantstats
    sharpe(periods=365). Differs from backtesting.py, which divides annualised return by
    annualised volatility."""
    r = inp.daily_returns - inp.risk_free_rate / PERIODS_PER_YEAR
    sd = r.std(ddof=1) if len(r) > 1 else 0.0
    return float(r.mean() / sd * math.sqrt(PERIODS_PER_YEAR)) if sd > 0 else 0.0


def sortino_ratio(inp: Inputs) -> float:
    """Mean daily excess return / downside deviation x sqrt(365); downside deviation =
    sqrt(mean(min(r, 0)^2)) over all days (quantstats sortino(periods=365))."""
    r = inp.daily_returns - inp.risk_free_rate / PERIODS_PER_YEAR
    downside = math.sqrt(float((np.minimum(r, 0.0) ** 2).sum()) / len(r)) if len(r) else 0.0
    return float(r.mean() / downside * math.sqrt(PERIODS_PER_YEAR)) if downside > 0 else 0.0


def max_drawdown(inp: Inputs) -> float:
    """Largest peak-to-trough fall of the per-bar equity curve, as a positive fraction."""
    eq = inp.equity
    return float((1.0 - eq / eq.cummax()).max())


def var_95(inp: Inputs) -> float:
    """Historical 1-day 95 % value at risk: minus the 5th percentile of daily returns (positive
    means a loss)."""
    r = inp.daily_returns
    return float(-np.percentile(r, 5)) if len(r) else 0.0


def cvar_95(inp: Inputs) -> float:
    """Expected shortfall: minus the mean of daily returns at or below their 5th percentile."""
    r = inp.daily_returns
    if not len(r):
        return 0.0
    cut = np.percentile(r, 5)
    return float(-r[r <= cut].mean())


def total_trades(inp: Inputs) -> float:
    """Number of closed trades (trades still open at the end are closed at the last close)."""
    return float(len(inp.trades))


def win_rate(inp: Inputs) -> float:
    """Share of trades with P&L > 0 (after commission)."""
    return float((inp.trades["PnL"] > 0).mean()) if len(inp.trades) else 0.0


def profit_factor(inp: Inputs) -> float:
    """Gross profit / gross loss, from trade P&L in quote currency (TradingView's definition;
    backtesting.py uses trade returns instead). inf when there is no losing trade."""
    pnl = inp.trades["PnL"] if len(inp.trades) else pd.Series(dtype=float)
    gross_loss = -pnl[pnl < 0].sum()
    gross_profit = pnl[pnl > 0].sum()
    if gross_loss == 0:
        return float("inf") if gross_profit > 0 else 0.0
    return float(gross_profit / gross_loss)


def avg_trade_duration(inp: Inputs) -> float:
    """Mean time from entry to exit, in days."""
    if not len(inp.trades):
        return 0.0
    held = pd.to_datetime(inp.trades["ExitTime"]) - pd.to_datetime(inp.trades["EntryTime"])
    return float(held.mean() / pd.Timedelta(days=1))


def beta(inp: Inputs) -> float:
    """Covariance of daily strategy and benchmark returns / variance of benchmark returns."""
    s, b = inp.daily_returns.align(inp.benchmark_daily_returns, join="inner")
    var = b.var(ddof=1) if len(b) > 1 else 0.0
    return float(s.cov(b) / var) if var > 0 else 0.0


def alpha(inp: Inputs) -> float:
    """Jensen's alpha, annualised: (mean daily r - beta x mean daily benchmark r) x 365."""
    s, b = inp.daily_returns.align(inp.benchmark_daily_returns, join="inner")
    if not len(s):
        return 0.0
    return float((s.mean() - beta(inp) * b.mean()) * PERIODS_PER_YEAR)


def information_ratio(inp: Inputs) -> float:
    """Mean of daily active returns (strategy - benchmark) / their std (ddof=1) x sqrt(365)."""
    s, b = inp.daily_returns.align(inp.benchmark_daily_returns, join="inner")
    active = s - b
    sd = active.std(ddof=1) if len(active) > 1 else 0.0
    return float(active.mean() / sd * math.sqrt(PERIODS_PER_YEAR)) if sd > 0 else 0.0


def buy_hold_return(inp: Inputs) -> float:
    """Benchmark (buy and hold) last close / first close - 1 over the same bars."""
    return float(inp.benchmark.iloc[-1] / inp.benchmark.iloc[0] - 1.0)


METRICS: dict[str, tuple[Callable[[Inputs], float], str, str]] = {
    "total_return": (total_return, "Total return", "pct"),
    "annualized_return": (annualized_return, "Annualized return", "pct"),
    "cagr": (cagr, "CAGR", "pct"),
    "volatility": (volatility, "Volatility (ann.)", "pct"),
    "sharpe_ratio": (sharpe_ratio, "Sharpe ratio", "ratio"),
    "sortino_ratio": (sortino_ratio, "Sortino ratio", "ratio"),
    "max_drawdown": (max_drawdown, "Max drawdown", "pct"),
    "var_95": (var_95, "VaR 95% (1 day)", "pct"),
    "cvar_95": (cvar_95, "CVaR 95% (1 day)", "pct"),
    "total_trades": (total_trades, "Total trades", "count"),
    "win_rate": (win_rate, "Win rate", "pct"),
    "profit_factor": (profit_factor, "Profit factor", "ratio"),
    "avg_trade_duration": (avg_trade_duration, "Avg trade duration", "days"),
    "alpha": (alpha, "Alpha (ann.)", "pct"),
    "beta": (beta, "Beta", "ratio"),
    "information_ratio": (information_ratio, "Information ratio", "ratio"),
    "buy_hold_return": (buy_hold_return, "Buy & hold return", "pct"),
}


def describe(name: str) -> MetricInfo:
    """Label, unit and definition (the docstring) of a metric."""
    func, label, unit = METRICS[name]
    text = " ".join((func.__doc__ or "").split())
    return MetricInfo(name=name, label=label, unit=unit, definition=text)


def compute(inp: Inputs) -> dict[str, float]:
    """Every metric in METRICS, keyed by name."""
    return {name: func(inp) for name, (func, _, _) in METRICS.items()}


def format_value(name: str, value: float | None) -> str:
    """Human text for a metric value (percent for pct, 2 decimals for ratios)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    unit = METRICS[name][2] if name in METRICS else "ratio"
    if math.isinf(value):
        return "∞"
    if unit == "pct":
        return f"{value * 100:,.2f}%"
    if unit == "count":
        return f"{value:,.0f}"
    if unit == "days":
        return f"{value:,.2f} d"
    if unit == "usdt":
        return f"{value:,.2f} USDT"
    return f"{value:,.2f}"
