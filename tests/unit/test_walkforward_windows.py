"""Walk-forward arithmetic (core.studies.wf_windows): rolling vs anchored windows and their
edges, stitched equity continuity, and walk-forward efficiency against a hand computation."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest

from core.errors import ConfigError
from core.studies import wf_windows as ww

DAY = timedelta(days=1)
T0 = pd.Timestamp("2024-01-01")


def _bounds(windows: list[ww.Window]) -> list[tuple[str, str, str]]:
    return [(str(w.is_start.date()), str(w.oos_start.date()), str(w.oos_end.date()))
            for w in windows]


def test_rolling_windows_move_the_in_sample_window_by_the_step() -> None:
    # 100 days of data, IS 40 d, OOS 20 d, step = OOS: windows at day 0, 20, 40; a 4th would
    # end on day 120 > 100.
    got = ww.make_windows(T0, T0 + 100 * DAY, is_len=40 * DAY, oos_len=20 * DAY)
    assert _bounds(got) == [("2024-01-01", "2024-02-10", "2024-03-01"),
                            ("2024-01-21", "2024-03-01", "2024-03-21"),
                            ("2024-02-10", "2024-03-21", "2024-04-10")]
    assert [w.k for w in got] == [1, 2, 3]
    assert all(w.is_end - w.is_start == 40 * DAY for w in got)
    # out-of-sample windows abut: each starts where the previous one ended
    assert all(a.oos_end == b.oos_start for a, b in zip(got, got[1:], strict=False))


def test_anchored_windows_always_start_at_the_first_bar_and_grow() -> None:
    got = ww.make_windows(T0, T0 + 100 * DAY, is_len=40 * DAY, oos_len=20 * DAY, anchored=True)
    assert [w.is_start for w in got] == [T0, T0, T0]
    assert [(w.is_end - w.is_start).days for w in got] == [40, 60, 80]
    assert [w.oos_start for w in got] == [w.is_end for w in got]


def test_edges_exact_fit_partial_window_and_a_longer_step() -> None:
    # exactly one window fits; a day less fits none
    assert len(ww.make_windows(T0, T0 + 60 * DAY, is_len=40 * DAY, oos_len=20 * DAY)) == 1
    with pytest.raises(ConfigError, match="shorten --is/--oos or widen --start/--end"):
        ww.make_windows(T0, T0 + 59 * DAY, is_len=40 * DAY, oos_len=20 * DAY)
    # a step longer than OOS leaves gaps; a shorter one is refused (OOS would overlap)
    gaps = ww.make_windows(T0, T0 + 100 * DAY, is_len=40 * DAY, oos_len=10 * DAY,
                           step=30 * DAY)
    assert _bounds(gaps) == [("2024-01-01", "2024-02-10", "2024-02-20"),
                             ("2024-01-31", "2024-03-11", "2024-03-21")]
    with pytest.raises(ConfigError, match="use a step of at least the out-of-sample length"):
        ww.make_windows(T0, T0 + 100 * DAY, is_len=40 * DAY, oos_len=20 * DAY, step=10 * DAY)


def test_lengths_parse_and_bad_ones_name_the_fix() -> None:
    assert ww.parse_length("180d", label="x") == 180 * DAY
    assert ww.parse_length("12h", label="x") == timedelta(hours=12)
    assert ww.parse_length("2w", label="x") == 14 * DAY
    assert [ww.format_length(v) for v in (14 * DAY, 10 * DAY, timedelta(hours=36))] == \
        ["2w", "10d", "36h"]
    for bad in ("180", "0d", "-5d", "3 months", ""):
        with pytest.raises(ConfigError, match="e.g. 180d, 60d, 12h or 8w"):
            ww.parse_length(bad, label="in-sample (--is)")


def test_config_range_turns_half_open_bounds_into_inclusive_dates() -> None:
    assert ww.config_range(T0, T0 + 30 * DAY) == ("2024-01-01", "2024-01-30")
    assert ww.config_range(T0 + timedelta(hours=6), T0 + timedelta(hours=18)) == \
        ("2024-01-01T06:00:00", "2024-01-01T17:59:59")


def test_stitched_equity_starts_each_window_from_the_previous_end() -> None:
    cash = 1000.0
    idx1 = pd.date_range("2024-01-01", periods=3, freq="D")
    idx2 = pd.date_range("2024-01-04", periods=3, freq="D")
    idx3 = pd.date_range("2024-01-07", periods=2, freq="D")
    a = pd.Series([1000.0, 1100.0, 1200.0], index=idx1)  # +20 %
    b = pd.Series([1000.0, 900.0, 950.0], index=idx2)  # -5 %
    c = pd.Series([990.0, 1089.0], index=idx3)  # first bar already -1 % (an entry fee)
    out = ww.stitch([a, b, c], cash_usdt=cash)
    assert list(out.index) == [*idx1, *idx2, *idx3]
    assert out.iloc[:3].tolist() == [1000.0, 1100.0, 1200.0]
    assert out.iloc[3:6].tolist() == pytest.approx([1200.0, 1080.0, 1140.0])
    assert out.iloc[6:].tolist() == pytest.approx([1128.6, 1241.46])
    # compounding: the stitched total return is the product of the windows' returns
    assert out.iloc[-1] / cash == pytest.approx(1.2 * 0.95 * 1.089)
    with pytest.raises(ValueError, match="overlap"):
        ww.stitch([b, a], cash_usdt=cash)
    assert ww.stitch([], cash_usdt=cash).empty


def test_efficiency_against_a_hand_computation() -> None:
    # IS daily returns 1 %, 3 %  -> mean 2 %  -> x365 = 7.30
    # OOS daily returns 1 %, 0 %, -0.4 % -> mean 0.2 % -> x365 = 0.73; WFE = 0.73 / 7.30 = 0.1
    is_ann = ww.annualised([0.01, 0.03])
    oos_ann = ww.annualised(pd.Series([0.01, 0.0, -0.004]))
    assert is_ann == pytest.approx(7.30)
    assert oos_ann == pytest.approx(0.73)
    assert ww.efficiency(oos_ann, is_ann) == pytest.approx(0.1)
    # undefined when the in-sample return is not positive, or a figure is missing
    assert ww.efficiency(0.5, -0.2) is None
    assert ww.efficiency(0.5, 0.0) is None
    assert ww.efficiency(None, 1.0) is None
    assert ww.annualised([]) is None
