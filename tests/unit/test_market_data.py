"""Catalogue, sample data (spot + perp + funding), get_symbol, load_funding, load_ohlcv."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.market import catalogue as market_data, sample as sample_data
from core import store
from core.errors import DataError


def test_sample_has_spot_and_perp_twins(settings) -> None:
    sets = {(d.market, d.symbol): d for d in market_data.list_datasets(settings.db_path)
            if d.exchange == "sample"}
    assert set(sets) == {(m, s) for m in ("spot", "perp") for s in ("BTCUSDT", "ETHUSDT")}
    assert all(d.synthetic and d.bars == 26_304 and d.missing_bars == 0 for d in sets.values())


def test_perp_is_close_to_spot_but_not_identical(settings) -> None:
    args = dict(exchange="sample", symbol="BTCUSDT", timeframe="1h", start="2023-01-01",
                end="2023-03-31")
    spot = market_data.load_ohlcv(settings.db_path, market="spot", **args)
    perp = market_data.load_ohlcv(settings.db_path, market="perp", **args)
    assert spot.index.equals(perp.index)
    basis = perp["Close"] / spot["Close"] - 1
    assert basis.abs().max() < 0.01 and basis.abs().mean() > 1e-5
    assert (perp["High"] >= perp[["Open", "Close"]].max(axis=1)).all()
    assert (perp["Low"] <= perp[["Open", "Close"]].min(axis=1)).all()


def test_funding_is_8_hourly_small_positive_with_negatives(settings) -> None:
    rates = market_data.load_funding(settings.db_path, "sample", "BTCUSDT")
    assert len(rates) == 3 * 1096  # 2022-01-01 .. 2024-12-31, three times a day
    assert set(rates.index.hour) == {0, 8, 16} and set(rates.index.minute) == {0}
    assert rates.name == "rate" and rates.index.name is None
    assert 0.00005 < rates.median() <= 0.0002
    assert 0.01 < (rates < 0).mean() < 0.2
    assert rates.abs().max() <= sample_data.FUNDING_CAP


def test_load_funding_range_is_inclusive(settings) -> None:
    rates = market_data.load_funding(settings.db_path, "sample", "ETHUSDT", "2023-05-01",
                                     "2023-05-02")
    assert list(rates.index) == list(pd.date_range("2023-05-01", "2023-05-02 16:00", freq="8h"))
    assert market_data.load_funding(settings.db_path, "sample", "NOPE").empty


def test_sample_generation_is_deterministic() -> None:
    spec = sample_data.SAMPLE_SPECS[1]
    pd.testing.assert_frame_equal(sample_data.generate_funding(spec),
                                  sample_data.generate_funding(spec))
    a, b = sample_data.generate_perp(spec), sample_data.generate_perp(spec)
    assert np.array_equal(a["close"].to_numpy(), b["close"].to_numpy())


def test_ensure_sample_data_adds_perps_to_a_spot_only_store(settings) -> None:
    db = settings.db_path
    with store.transaction(db) as con:
        con.execute("DELETE FROM ohlcv WHERE market = 'perp'")
        con.execute("DELETE FROM symbols WHERE market = 'perp'")
        con.execute("DELETE FROM funding_rates")
    spot_before = market_data.load_ohlcv(db, exchange="sample", market="spot", symbol="BTCUSDT",
                                         timeframe="1h")
    assert market_data.ensure_sample_data(db) is True
    assert market_data.ensure_sample_data(db) is False
    assert {d.market for d in market_data.list_datasets(db)} == {"spot", "perp"}
    assert len(market_data.load_funding(db, "sample", "BTCUSDT")) == 3288
    spot_after = market_data.load_ohlcv(db, exchange="sample", market="spot", symbol="BTCUSDT",
                                        timeframe="1h")
    assert market_data.data_sha(spot_before) == market_data.data_sha(spot_after)


def test_get_symbol_returns_trading_rules(settings) -> None:
    info = market_data.get_symbol(settings.db_path, "sample", "perp", "ETHUSDT")
    assert (info.tick_size, info.lot_step, info.min_notional) == (0.01, 0.0001, 5.0)
    assert (info.base, info.quote, info.synthetic) == ("ETH", "USDT", True)


def test_get_symbol_unknown_names_what_exists(settings) -> None:
    with pytest.raises(DataError, match="sample/perp/BTCUSDT"):
        market_data.get_symbol(settings.db_path, "sample", "perp", "BTCUSD")


def test_load_ohlcv_refuses_empty_range_saying_what_exists(settings) -> None:
    with pytest.raises(DataError, match="stored data covers 2022-01-01 00:00:00 to 2024-12-31"):
        market_data.load_ohlcv(settings.db_path, exchange="sample", market="perp",
                               symbol="BTCUSDT", timeframe="4h", start="2019-01-01",
                               end="2019-02-01")


def test_load_ohlcv_resamples_from_stored_base(settings) -> None:
    frame = market_data.load_ohlcv(settings.db_path, exchange="sample", market="spot",
                                   symbol="ETHUSDT", timeframe="1d", start="2024-01-01",
                                   end="2024-01-31")
    hourly = market_data.load_ohlcv(settings.db_path, exchange="sample", market="spot",
                                    symbol="ETHUSDT", timeframe="1h", start="2024-01-01",
                                    end="2024-01-01")
    assert len(frame) == 31 and list(frame.columns) == ["Open", "High", "Low", "Close", "Volume"]
    first = frame.iloc[0]
    assert first["Open"] == hourly["Open"].iloc[0] and first["Close"] == hourly["Close"].iloc[-1]
    assert first["High"] == hourly["High"].max() and first["Volume"] == pytest.approx(
        hourly["Volume"].sum())


def test_symbol_rules_are_editable(settings) -> None:
    from core.market import export as data_export

    info = data_export.edit_symbol_rules(settings.db_path, exchange="sample", market="perp",
                                         symbol="BTCUSDT", tick_size=0.5, lot_step=0.001,
                                         min_notional=100.0)
    assert (info.tick_size, info.lot_step, info.min_notional) == (0.5, 0.001, 100.0)
    assert info.source == "sample+edited"
    with pytest.raises(DataError, match="lot step -1.0 must be zero or positive"):
        data_export.edit_symbol_rules(settings.db_path, exchange="sample", market="perp",
                                      symbol="BTCUSDT", tick_size=0.5, lot_step=-1.0,
                                      min_notional=0.0)
