"""Every supported layout imports into the right dataset; re-import adds nothing twice."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from core.market import importers, catalogue as market_data, quality
from core.errors import DataError
from core.market.layouts import ColumnMapping

VALID = Path(__file__).resolve().parents[1] / "fixtures" / "data" / "valid"


def _one(report: importers.ImportReport) -> importers.ImportedSet:
    assert len(report.datasets) == 1
    return report.datasets[0]


@pytest.mark.parametrize(("name", "target", "expect"), [
    # Binance spot, no header, millisecond times.
    ("BTCUSDT-1h-2024-01-01.csv", {}, ("binance", "spot", "BTCUSDT", "1h", 24,
                                       "2024-01-01 00:00:00")),
    # Binance spot since 2025: microsecond times.
    ("ETHUSDT-1h-2025-01-01.csv", {}, ("binance", "spot", "ETHUSDT", "1h", 24,
                                       "2025-01-01 00:00:00")),
    # USDⓈ-M futures file with its header row: perp unless told otherwise.
    ("BTCUSDT-1h-2024-01-02.csv", {}, ("binance", "perp", "BTCUSDT", "1h", 24,
                                       "2024-01-02 00:00:00")),
    ("BTCUSDT-1h-2024-01-02.csv", {"market": "spot"}, ("binance", "spot", "BTCUSDT", "1h", 24,
                                                       "2024-01-02 00:00:00")),
    # A zip of three daily files.
    ("SOLUSDT-1h-2024-01.zip", {}, ("binance", "spot", "SOLUSDT", "1h", 72,
                                    "2024-01-01 00:00:00")),
    # ccxt's OHLCV list as JSON and as CSV: 5-minute bars, timeframe from spacing.
    ("ccxt_ohlcv.json", {"symbol": "BTC/USDT", "exchange": "kraken"},
     ("kraken", "spot", "BTCUSDT", "5m", 12, "2024-01-01 00:00:00")),
    ("ccxt_ohlcv.csv", {"symbol": "BTC/USDT:USDT"},
     ("imported", "perp", "BTCUSDT", "5m", 12, "2024-01-01 00:00:00")),
    # Semicolons, decimal commas, ISO times with a +02:00 zone (converted to UTC).
    ("generic_semicolon_iso.csv", {"symbol": "ADAUSDT"},
     ("imported", "spot", "ADAUSDT", "1d", 5, "2023-12-31 22:00:00")),
    # Header with short names, Unix seconds.
    ("generic_seconds_header.csv", {"symbol": "XRPUSDT"},
     ("imported", "spot", "XRPUSDT", "4h", 6, "2024-01-01 00:00:00")),
])
def test_layout_imports(settings, name: str, target: dict, expect: tuple) -> None:
    report = importers.import_file(settings.db_path, VALID / name,
                                   target=importers.Target(**target))
    got = _one(report)
    assert (got.exchange, got.market, got.symbol, got.timeframe, got.rows, got.first) == expect
    assert got.new_rows == got.rows
    frame = market_data.load_ohlcv(settings.db_path, exchange=got.exchange, market=got.market,
                                   symbol=got.symbol, timeframe=got.timeframe)
    assert len(frame) == got.rows and (frame["High"] >= frame["Low"]).all()


def test_semicolon_decimal_commas_are_numbers(settings) -> None:
    importers.import_file(settings.db_path, VALID / "generic_semicolon_iso.csv",
                          target=importers.Target(symbol="ADAUSDT"))
    frame = market_data.load_ohlcv(settings.db_path, exchange="imported", market="spot",
                                   symbol="ADAUSDT", timeframe="1d")
    assert frame.iloc[0].tolist() == [100.5, 102.25, 99.75, 101.5, 1234.5]


def test_reimport_adds_nothing_twice(settings) -> None:
    path = VALID / "SOLUSDT-1h-2024-01.zip"
    importers.import_file(settings.db_path, path)
    again = _one(importers.import_file(settings.db_path, path))
    assert (again.rows, again.new_rows) == (72, 0)
    sets = [d for d in market_data.list_datasets(settings.db_path) if d.symbol == "SOLUSDT"]
    assert [d.bars for d in sets] == [72]


def test_funding_file_goes_to_funding_rates(settings) -> None:
    got = _one(importers.import_file(settings.db_path, VALID / "BTCUSDT-fundingRate-2024-01.csv"))
    assert (got.kind, got.exchange, got.market, got.rows) == ("funding", "binance", "perp", 9)
    rates = market_data.load_funding(settings.db_path, "binance", "BTCUSDT")
    assert len(rates) == 9 and rates.iloc[0] == pytest.approx(-0.00002)
    assert set(rates.index.hour) == {0, 8, 16}


def test_import_fills_the_symbol_catalogue_from_prices(settings) -> None:
    # issue 14, D3: the lot step came from the Volume column's decimals (0.001 here, 1 for
    # integer volumes), which floored percent-of-equity sizes; it is now inferred from prices
    # (one lot worth at most 1 USDT at ~42,000: 1e-05, Binance's own BTCUSDT step)
    report = importers.import_file(settings.db_path, VALID / "BTCUSDT-1h-2024-01-01.csv")
    info = market_data.get_symbol(settings.db_path, "binance", "spot", "BTCUSDT")
    assert (info.base, info.quote, info.tick_size, info.lot_step) == ("BTC", "USDT", 0.01, 1e-05)
    assert info.source == "import"
    got = _one(report)
    assert (got.tick_size, got.lot_step, got.steps) == (0.01, 1e-05, "inferred from prices")
    assert "tick size 0.01, lot step 1e-05 (inferred from prices" in report.summary


def test_integer_volumes_do_not_make_whole_coin_lots(settings, tmp_path: Path) -> None:
    index = pd.date_range("2024-03-01", periods=10, freq="1h", tz="UTC", name="time")
    frame = pd.DataFrame({"open": 1.1, "high": 1.2, "low": 1.05, "close": 1.15,
                          "volume": 300.0}, index=index)
    path = tmp_path / "EURUSDT-1h.parquet"
    frame.to_parquet(path)
    importers.import_file(settings.db_path, path)
    info = market_data.get_symbol(settings.db_path, "imported", "spot", "EURUSDT")
    assert (info.tick_size, info.lot_step) == (0.01, 0.1)  # not 1 from the volumes


def test_tick_size_and_lot_step_given_with_the_import_win(settings) -> None:
    path = VALID / "BTCUSDT-1h-2024-01-01.csv"
    importers.import_file(settings.db_path, path)
    report = importers.import_file(settings.db_path, path, target=importers.Target(
        tick_size=0.1, lot_step=1e-8))
    info = market_data.get_symbol(settings.db_path, "binance", "spot", "BTCUSDT")
    assert (info.tick_size, info.lot_step) == (0.1, 1e-8)
    assert _one(report).steps == "given"
    again = _one(importers.import_file(settings.db_path, path))  # the catalogue keeps them
    assert (again.tick_size, again.lot_step, again.steps) == (0.1, 1e-8, "catalogue")
    with pytest.raises(DataError, match="lot step must be a positive number"):
        importers.import_file(settings.db_path, path, target=importers.Target(lot_step=-1.0))


def test_cli_import_takes_tick_size_and_lot_step(settings, capsys) -> None:
    import cli

    code = cli.main(["data", "import", str(VALID / "BTCUSDT-1h-2024-01-01.csv"),
                     "--tick-size", "0.5", "--lot-step", "0.001"])
    assert code == 0
    assert "tick size 0.5, lot step 0.001 (given" in capsys.readouterr().out
    info = market_data.get_symbol(settings.db_path, "binance", "spot", "BTCUSDT")
    assert (info.tick_size, info.lot_step) == (0.5, 0.001)


def test_parquet_with_datetime_index(settings, tmp_path: Path) -> None:
    index = pd.date_range("2024-03-01", periods=10, freq="15min", tz="UTC", name="time")
    frame = pd.DataFrame({"open": 1.0, "high": 2.0, "low": 0.5, "close": 1.5, "volume": 3.0},
                         index=index)
    path = tmp_path / "DOGEUSDT-15m.parquet"
    frame.to_parquet(path)
    got = _one(importers.import_file(settings.db_path, path))
    assert (got.symbol, got.timeframe, got.rows, got.first) == ("DOGEUSDT", "15m", 10,
                                                                 "2024-03-01 00:00:00")


def test_unsure_columns_need_a_mapping_and_it_works(settings, tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"
    path.write_text("when,a,b,c,d,e\n2024-01-01 00:00,1,2,0.5,1.5,7\n"
                    "2024-01-01 01:00,1.5,2.5,1,2,8\n")
    detection = importers.preview(path.name, path.read_bytes())
    assert not detection.confident and detection.columns == ("when", "a", "b", "c", "d", "e")
    with pytest.raises(DataError, match="--map time=COL"):
        importers.import_file(settings.db_path, path, target=importers.Target(symbol="X"))
    mapping = ColumnMapping.parse("time=when,open=a,high=b,low=c,close=d,volume=5")
    got = _one(importers.import_file(settings.db_path, path, mapping=mapping,
                                     target=importers.Target(symbol="LINKUSDT")))
    assert (got.rows, got.timeframe) == (2, "1h")


def test_mapping_text_must_name_every_field() -> None:
    with pytest.raises(DataError, match="lacks high, low"):
        ColumnMapping.parse("time=0,open=1,close=4,volume=5")


def test_progress_is_reported_and_ends_at_one(settings) -> None:
    seen: list[tuple[float, str]] = []
    importers.import_file(settings.db_path, VALID / "SOLUSDT-1h-2024-01.zip",
                          progress=lambda f, m: seen.append((f, m)))
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and len(seen) >= 4


def test_exact_duplicate_rows_are_dropped_and_reported(settings, tmp_path: Path) -> None:
    path = tmp_path / "AVAXUSDT-1h-x.csv"
    rows = "\n".join(["1704067200000,1,2,0.5,1.5,10", "1704070800000,1,2,0.5,1.5,10",
                      "1704070800000,1,2,0.5,1.5,10", "1704074400000,1,2,0.5,1.5,10"])
    path.write_text(rows + "\n")
    report = importers.import_file(settings.db_path, path)
    assert _one(report).rows == 3
    assert any("dropped 1 exact duplicate rows" in n for n in report.notes)


def test_import_refuses_invalid_bars_and_reports_quality(settings, tmp_path: Path) -> None:
    path = tmp_path / "BNBUSDT-1h-x.csv"
    path.write_text("\n".join(["1704067200000,1,2,0.5,1.5,10", "1704070800000,1,0.9,0.5,1.5,10",
                               "1704085200000,1,2,0.5,1.5,10"]) + "\n")
    with pytest.raises(DataError, match=r"1 bar with High below .*2024-01-01 01:00.*Nothing was "
                                        "imported"):
        importers.import_file(settings.db_path, path)
    assert not any(d.symbol == "BNBUSDT" for d in market_data.list_datasets(settings.db_path))
    path.write_text("\n".join(["1704067200000,1,2,0.5,1.5,10", "1704070800000,1,2,0.5,1.5,10",
                               "1704085200000,1,2,0.5,1.5,10"]) + "\n")
    got = _one(importers.import_file(settings.db_path, path))
    assert got.quality is not None and {i.kind for i in got.quality.issues} == {"gaps"}
    badges = quality.saved_badges(settings.db_path)
    assert badges[("imported", "spot", "BNBUSDT", "1h")] == got.quality.badge != "ok"


def test_chosen_timeframe_shorter_spacing_is_refused(settings) -> None:
    with pytest.raises(DataError, match="shorter than the chosen timeframe 1d"):
        importers.import_file(settings.db_path, VALID / "ccxt_ohlcv.csv",
                              target=importers.Target(symbol="BTCUSDT", timeframe="1d"))
