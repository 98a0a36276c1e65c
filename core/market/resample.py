"""Resampling OHLCV bars to a higher timeframe (pure; no I/O).

Rules: Open first, High max, Low min, Close last, Volume sum. Bars are labelled by their
opening time. Days start at 00:00 UTC, weeks start Monday 00:00 UTC. The last bar is DROPPED
when the source does not reach the end of its period (a partial bar would look like a real one).
"""

from __future__ import annotations

import pandas as pd

from core.errors import DataError
from core.model import TIMEFRAME_MINUTES, TIMEFRAMES

PANDAS_RULE = {"1m": "1min", "5m": "5min", "15m": "15min", "30m": "30min", "1h": "1h",
               "4h": "4h", "1d": "1D", "1w": "W-MON"}
_AGG = {"Open": "first", "High": "max", "Low": "min", "Close": "last", "Volume": "sum"}


def check_timeframe(timeframe: str) -> str:
    """Return ``timeframe`` if known; raise DataError listing the valid ones otherwise."""
    if timeframe not in TIMEFRAME_MINUTES:
        raise DataError(f"Unknown timeframe {timeframe!r}; use one of {', '.join(TIMEFRAMES)}")
    return timeframe


def resample(frame: pd.DataFrame, timeframe: str) -> pd.DataFrame:
    """Aggregate OHLCV (naive-UTC DatetimeIndex, columns Open..Volume) to ``timeframe``.

    Empty periods (gaps) produce no bar. The incomplete last bar is dropped.
    Raises DataError for an unknown timeframe.
    """
    rule = PANDAS_RULE[check_timeframe(timeframe)]
    if frame.empty:
        return frame.copy()
    # W-MON with label/closed left labels each week by the Monday it starts on.
    grouped = frame.resample(rule, label="left", closed="left")
    agg = grouped.agg(_AGG)
    counts = grouped["Close"].count()
    agg = agg[counts > 0]
    if len(frame) >= 2 and len(agg):
        step = pd.Series(frame.index).diff().min()
        period = pd.Timedelta(minutes=TIMEFRAME_MINUTES[timeframe])
        if frame.index[-1] + step < agg.index[-1] + period:
            agg = agg.iloc[:-1]
    return agg
