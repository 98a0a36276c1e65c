"""The last value of each UTC calendar day of a series, fast (core.analytics.metrics' daily
returns and run length use it)."""

from __future__ import annotations

import numpy as np
import pandas as pd

_UNIT_DIGITS = {"s": 0, "ms": 3, "us": 6, "ns": 9}


def daily_last(series: pd.Series) -> pd.Series:
    """The last non-missing value of each UTC calendar day, labelled with the day:
    ``series.resample("1D").last().dropna()``, computed with numpy for the usual series (a
    sorted, naive DatetimeIndex of float values without missing values): about 0.7 ms
    instead of 4 ms for a year of hourly bars (measured), three times per stored run."""
    index = series.index
    if not (isinstance(index, pd.DatetimeIndex) and index.tz is None and len(series)
            and series.dtype == np.float64 and index.is_monotonic_increasing
            and not series.isna().any()):
        return series.resample("1D").last().dropna()
    day = 86_400 * 10 ** _UNIT_DIGITS[index.unit]
    days = index.asi8 // day
    last = np.flatnonzero(np.r_[days[1:] != days[:-1], True])
    every_day = days[last[-1]] - days[last[0]] + 1 == len(last)
    labels = pd.DatetimeIndex((days[last] * day).astype(f"datetime64[{index.unit}]"),
                              name=index.name, freq="D" if every_day else None)
    return pd.Series(series.to_numpy()[last], index=labels, name=series.name)
