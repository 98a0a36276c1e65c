"""Daily figures of a series, fast: the last value of each UTC calendar day, and the daily
returns every metric, chart and tearsheet uses (also reached as core.analytics.metrics')."""

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
    if days[last[-1]] - days[last[0]] + 1 == len(last):  # every day: a daily range, as
        # resample gives (DatetimeIndex(..., freq="D") would validate the freq: 3x the time)
        labels = pd.date_range(pd.Timestamp(int(days[last[0]] * day), unit=index.unit),
                               periods=len(last), freq="D", unit=index.unit, name=index.name)
    else:
        labels = pd.DatetimeIndex((days[last] * day).astype(f"datetime64[{index.unit}]"),
                                  name=index.name)
    return pd.Series(series.to_numpy()[last], index=labels, name=series.name)


def returns_from(series: pd.Series, ends: pd.Series) -> pd.Series:
    """Simple returns of ``ends``, the values of ``series`` at the end of each period: each end
    over the previous one, the first over the series' first value (the initial equity), with 0
    where both are 0 (a blown account, equity 0, neither gains nor loses any more: the periods
    after it are flat, not missing). The one definition of period returns: daily, monthly and
    yearly figures all use it."""
    if ends.empty:
        return ends
    values = ends.to_numpy(dtype="float64")
    starts = np.r_[float(series.iloc[0]), values[:-1]]
    with np.errstate(divide="ignore", invalid="ignore"):
        out = values / starts - 1.0
    out[(starts == 0) & (values == 0)] = 0.0
    kept = ~np.isnan(out)
    if kept.all():
        return pd.Series(out, index=ends.index, name=ends.name)
    return pd.Series(out[kept], index=ends.index[kept], name=ends.name)


def daily_returns(series: pd.Series) -> pd.Series:
    """Simple returns of the last value of each UTC day (returns_from), so a run of n UTC days
    has n daily returns and their compounded product is the total return. The one definition
    of daily returns: metrics, charts and the quantstats tearsheet all use it."""
    return returns_from(series, daily_last(series))
