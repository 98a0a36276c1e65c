"""core.analytics.daily.daily_last is exactly series.resample("1D").last().dropna(), on every kind of series."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.analytics.daily import daily_last

RNG = np.random.default_rng(3)


def _series(n: int, freq: str, *, unit: str = "ns", name: str | None = "equity") -> pd.Series:
    index = pd.date_range("2024-01-01 05:00", periods=n, freq=freq, unit=unit)
    return pd.Series(RNG.normal(100, 5, n), index=index, name=name)


def _variants() -> list[pd.Series]:
    full = _series(744, "h")
    with_nan = full.copy()
    with_nan.iloc[[3, 30, 400]] = np.nan
    return [full, _series(8760, "h", unit="us"), _series(5000, "15min", unit="ms"),
            _series(3, "h", name=None), _series(100, "D"), _series(50, "7h", unit="s"),
            full.drop(full.index[200:400]),  # whole days missing
            full.rename_axis("ts"), with_nan, full.astype("float32"),
            full.tz_localize("UTC"), full.iloc[::-1], full.iloc[:0]]


@pytest.mark.parametrize("series", _variants())
def test_daily_last_equals_the_resampled_last_value_of_each_day(series: pd.Series) -> None:
    expected = series.resample("1D").last().dropna()
    got = daily_last(series)
    assert got.equals(expected)
    assert got.index.equals(expected.index) and got.index.dtype == expected.index.dtype
    assert (got.index.name, got.name, got.index.freq) == (expected.index.name, expected.name,
                                                          expected.index.freq)
