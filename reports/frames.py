"""Derived series of a run for charts and reports: drawdown, period returns, rolling ratios.

Pure functions of an equity curve (quote currency, DatetimeIndex in UTC); never mutate inputs.
Period returns compound the equity curve itself, so the first period is measured from the
initial equity and every period ends at its last bar.
"""

from __future__ import annotations

import math

import pandas as pd

from core.analytics import daily, metrics
from core.model import PERIODS_PER_YEAR

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
ROLLING_DAYS = 30


def drawdown(equity: pd.Series) -> pd.Series:
    """Equity / running peak - 1 at each bar (0 at a peak, negative under water)."""
    return equity / equity.cummax() - 1.0


def _period_returns(equity: pd.Series, rule: str) -> pd.Series:
    return daily.returns_from(equity, equity.resample(rule).last().dropna())


def monthly_returns(equity: pd.Series) -> pd.DataFrame:
    """One row per calendar month: year, month (1-12), month name and return (fraction)."""
    rets = _period_returns(equity, "MS")
    return pd.DataFrame({"year": rets.index.year.astype(int), "month": rets.index.month.astype(int),
                         "month_name": [MONTHS[m - 1] for m in rets.index.month],
                         "ret": rets.to_numpy()})


def yearly_returns(equity: pd.Series) -> pd.DataFrame:
    """One row per calendar year: year and return (fraction)."""
    rets = _period_returns(equity, "YS")
    return pd.DataFrame({"year": rets.index.year.astype(str), "ret": rets.to_numpy()})


def daily_equity(equity: pd.Series) -> pd.Series:
    """Last equity of each UTC day."""
    return equity.resample("1D").last().dropna()


def rolling_stats(equity: pd.Series, *, window_days: int = ROLLING_DAYS) -> pd.DataFrame:
    """Rolling annualised Sharpe (rf 0) and volatility over ``window_days`` daily returns
    (core.analytics.metrics.daily_returns); a window of flat days (a blown account) has Sharpe 0."""
    rets = metrics.daily_returns(equity)
    roll = rets.rolling(window_days, min_periods=window_days)
    sd, mean = roll.std(ddof=1), roll.mean()
    sharpe = (mean / sd * math.sqrt(PERIODS_PER_YEAR)).mask((sd == 0) & (mean == 0), 0.0)
    frame = pd.DataFrame({"time": rets.index, "sharpe": sharpe.to_numpy(),
                          "volatility": (sd * math.sqrt(PERIODS_PER_YEAR)).to_numpy()})
    return frame.replace([float("inf"), float("-inf")], float("nan")).dropna()


def normalised(equity: pd.Series) -> pd.Series:
    """Equity divided by its first value (growth of 1)."""
    return equity / float(equity.iloc[0])
