"""Quality checks on small candle tables, the stored report and repairs on request."""

from __future__ import annotations

import pandas as pd
import pytest

from core.market import catalogue as market_data, quality
from core import store
from core.errors import DataError


def _bars(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["ts", "Open", "High", "Low", "Close", "Volume"])
    return frame.set_index(pd.DatetimeIndex(frame.pop("ts")).rename(None))


CLEAN = [(f"2024-01-01 {h:02d}:00", 100.0, 101.0, 99.0, 100.5, 5.0) for h in range(6)]


def test_clean_series_is_ok() -> None:
    report = quality.assess(_bars(CLEAN), "1h")
    assert report.ok and report.badge == "ok" and report.summary == "clean"
    assert (report.bars, report.first, report.last) == (6, "2024-01-01 00:00", "2024-01-01 05:00")


def test_every_check_fires() -> None:
    rows = [
        ("2024-01-01 00:00", 100, 101, 99, 100, 5),
        ("2024-01-01 01:00", 100, 99.5, 99, 100, 5),     # high below open/close
        ("2024-01-01 02:00", 100, 101, 100.5, 100, 5),   # low above open/close
        ("2024-01-01 02:00", 100, 101, 99, 100, 5),      # duplicate time
        ("2024-01-01 01:30", 100, 101, 99, 100, 5),      # goes backwards
        ("2024-01-01 06:00", 100, 101, 99, 100, 0),      # after a gap (3 bars missing)
        ("2024-01-01 07:00", 100, 101, 99, 100, 0),
        ("2024-01-01 08:00", 100, 101, 99, 100, 0),      # 3 zero-volume bars in a row
        ("2024-01-01 09:00", 100, 200, 99, 180, 5),      # +59% jump and back: outliers
        ("2024-01-01 10:00", 0, 101, 0, 100, 5),         # non-positive prices
    ]
    report = quality.assess(_bars(rows), "1h")
    kinds = {i.kind: i for i in report.issues}
    assert set(kinds) == {"duplicates", "non_monotonic", "gaps", "ohlc", "non_positive",
                          "zero_volume", "outliers"}
    assert kinds["ohlc"].count == 2 and kinds["duplicates"].count == 1
    assert kinds["gaps"].examples[0] == "2024-01-01 02:00 → 2024-01-01 06:00"
    assert "3 missing bars" in kinds["gaps"].message
    assert kinds["outliers"].examples == ("2024-01-01 09:00", "2024-01-01 10:00")  # up, back
    assert report.badge == "problems"


def test_gaps_only_is_a_warning() -> None:
    rows = [CLEAN[0], CLEAN[1], CLEAN[4], CLEAN[5]]
    report = quality.assess(_bars(rows), "1h")
    assert report.badge == "warnings" and report.issues[0].count == 1


def test_ordinary_moves_are_not_outliers(settings) -> None:
    frame = market_data.load_ohlcv(settings.db_path, exchange="sample", market="spot",
                                   symbol="BTCUSDT", timeframe="1h")
    assert quality.assess(frame, "1h").ok


def _store_bars(db, rows: list[tuple]) -> None:
    frame = _bars(rows).rename(columns=str.lower).rename_axis("ts").reset_index()
    with store.transaction(db) as con:
        market_data.upsert_ohlcv(con, frame, exchange="test", market="spot", symbol="BADUSDT",
                                 timeframe="1h")


def test_report_on_demand_is_saved_as_badge(settings) -> None:
    _store_bars(settings.db_path, [CLEAN[0], CLEAN[1], CLEAN[3]])
    report = quality.dataset_report(settings.db_path, exchange="test", market="spot",
                                    symbol="BADUSDT", timeframe="1h")
    assert report.badge == "warnings"
    assert quality.saved_badges(settings.db_path)[("test", "spot", "BADUSDT", "1h")] == "warnings"


def test_repair_only_what_is_asked_and_report_it(settings) -> None:
    rows = [CLEAN[0], ("2024-01-01 01:00", 100, 99, 99, 100.5, 5), CLEAN[3],
            ("2024-01-01 04:00", -1, 101, 99, 100, 5), CLEAN[5]]
    _store_bars(settings.db_path, rows)
    key = dict(exchange="test", market="spot", symbol="BADUSDT", timeframe="1h")
    result = quality.repair(settings.db_path, fixes=["ohlc", "non_positive"], **key)
    assert result.changed == {"ohlc": 1, "non_positive": 1}
    assert {i.kind for i in result.after.issues} == {"gaps"}
    filled = quality.repair(settings.db_path, fixes=["gaps"], **key)
    assert filled.changed == {"gaps": 2} and filled.after.ok
    frame = market_data.load_ohlcv(settings.db_path, **key)
    assert len(frame) == 6 and frame.loc["2024-01-01 02:00", "Volume"] == 0.0
    assert frame.loc["2024-01-01 02:00", "Open"] == frame.loc["2024-01-01 01:00", "Close"]


def test_unknown_repair_is_refused(settings) -> None:
    with pytest.raises(DataError, match="Unknown repair 'magic'"):
        quality.repair(settings.db_path, exchange="sample", market="spot", symbol="BTCUSDT",
                       timeframe="1h", fixes=["magic"])
