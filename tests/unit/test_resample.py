"""Resampling: OHLCV aggregation, UTC day boundaries, Monday weeks, partial last bar dropped."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import DataError
from core.market.resample import resample


def _hourly(start: str, hours: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, hours)))
    open_ = np.concatenate(([100.0], close[:-1]))
    return pd.DataFrame({"Open": open_, "High": np.maximum(open_, close) * 1.01,
                         "Low": np.minimum(open_, close) * 0.99, "Close": close,
                         "Volume": rng.random(hours)},
                        index=pd.date_range(start, periods=hours, freq="1h"))


def test_daily_bars_follow_utc_days_and_aggregate() -> None:
    frame = _hourly("2024-01-01 00:00", 48)
    daily = resample(frame, "1d")
    assert list(daily.index) == [pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-02")]
    day = frame.loc["2024-01-01"]
    assert daily.iloc[0].tolist() == pytest.approx([day["Open"].iloc[0], day["High"].max(),
                                                    day["Low"].min(), day["Close"].iloc[-1],
                                                    day["Volume"].sum()])


def test_weeks_start_monday() -> None:
    frame = _hourly("2024-01-03 00:00", 24 * 20)  # a Wednesday; ends 2024-01-22 23:00
    weekly = resample(frame, "1w")
    assert all(ts.day_of_week == 0 for ts in weekly.index)
    # The first week starts Monday 2024-01-01 (data from Wednesday); the week starting
    # 2024-01-22 is incomplete and dropped.
    assert list(weekly.index) == list(pd.to_datetime(["2024-01-01", "2024-01-08", "2024-01-15"]))


def test_partial_last_bar_is_dropped() -> None:
    frame = _hourly("2024-01-01 00:00", 4 * 3 + 2)  # 3 full 4h bars and 2 hours of a 4th
    assert len(resample(frame, "4h")) == 3
    assert len(resample(frame.iloc[:-2], "4h")) == 3


def test_gap_periods_produce_no_bar() -> None:
    frame = _hourly("2024-01-01 00:00", 24 * 3)
    frame = frame.drop(frame.loc["2024-01-02"].index)
    assert list(resample(frame, "1d").index.day) == [1, 3]


def test_unknown_timeframe() -> None:
    with pytest.raises(DataError, match="Unknown timeframe '2h'"):
        resample(_hourly("2024-01-01", 4), "2h")


@settings(max_examples=25, deadline=None)
@given(hours=st.integers(min_value=8, max_value=400), seed=st.integers(0, 1000),
       tf=st.sampled_from(["4h", "1D"]))
def test_resampled_bars_keep_volume_and_extremes(hours: int, seed: int, tf: str) -> None:
    frame = _hourly("2024-01-01 00:00", hours, seed)
    out = resample(frame, tf.lower())
    if out.empty:
        return
    covered = frame.loc[: out.index[-1] + pd.Timedelta(tf) - pd.Timedelta("1h")]
    assert out["Volume"].sum() == pytest.approx(covered["Volume"].sum())
    assert out["High"].max() == covered["High"].max()
    assert (out["High"] >= out[["Open", "Close"]].max(axis=1)).all()
