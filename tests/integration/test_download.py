"""Downloads through real ccxt against our loopback Binance server (never the internet)."""

from __future__ import annotations

import socket
from pathlib import Path

import pandas as pd
import pytest

from core.market import download, catalogue as market_data
from core import store
from core.errors import DataError
from tests.fakes.binance_server import HOUR_MS, FakeBinance

FAST = download.RetryPolicy(attempts=3, backoff_s=0.01)
START = "2024-01-01"
START_MS = 1704067200000


@pytest.fixture
def server():
    with FakeBinance(listed_ms=START_MS, now_ms=START_MS + 1200 * HOUR_MS) as srv:
        yield srv


def _get(settings, server: FakeBinance, **kw) -> download.DownloadResult:
    request = download.DownloadRequest(**{"symbol": "BTC/USDT", "since": START, **kw})
    return download.download(settings.db_path, request, base_url=server.url, policy=FAST,
                             page_limit=kw.pop("page_limit", 500))


def _counts(db: Path) -> tuple[int, ...]:
    with store.connect(db) as con:
        return tuple(con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]  # noqa: S608
                     for t in ("ohlcv", "symbols", "funding_rates", "download_state"))


def test_spot_download_is_paginated_and_catalogued(settings, server) -> None:
    seen: list[float] = []
    request = download.DownloadRequest(symbol="BTC/USDT", since=START)
    result = download.download(settings.db_path, request, base_url=server.url, policy=FAST,
                               page_limit=500, progress=lambda f, _m: seen.append(f))
    assert (result.new_bars, result.pages, result.symbol) == (1200, 3, "BTCUSDT")
    starts = [int(p["startTime"]) for p in server.requests_to("klines")]
    assert starts == [START_MS, START_MS + 500 * HOUR_MS, START_MS + 1000 * HOUR_MS,
                      START_MS + 1200 * HOUR_MS]
    assert seen[-1] == 1.0 and seen == sorted(seen)
    frame = market_data.load_ohlcv(settings.db_path, exchange="binance", market="spot",
                                   symbol="BTCUSDT", timeframe="1h")
    assert len(frame) == 1200 and frame.index[0] == pd.Timestamp(START)
    info = market_data.get_symbol(settings.db_path, "binance", "spot", "BTCUSDT")
    assert (info.tick_size, info.lot_step, info.min_notional) == (0.01, 0.00001, 5.0)
    assert info.ccxt_symbol == "BTC/USDT"


def test_download_is_incremental(settings, server) -> None:
    _get(settings, server)
    server.log.clear()
    again = _get(settings, server)
    assert again.new_bars == 0
    assert int(server.requests_to("klines")[0]["startTime"]) == START_MS + 1200 * HOUR_MS
    server.now_ms += 10 * HOUR_MS
    later = _get(settings, server)
    assert later.new_bars == 10 and later.last == "2024-02-20 09:00:00"


def test_perp_download_brings_funding(settings, server) -> None:
    result = _get(settings, server, symbol="BTC/USDT:USDT", market="perp", timeframe="4h")
    assert (result.market, result.new_bars, result.new_funding) == ("perp", 300, 151)
    rates = market_data.load_funding(settings.db_path, "binance", "BTCUSDT")
    assert len(rates) == 151 and set(rates.index.hour) == {0, 8, 16}
    assert (rates < 0).any() and rates.max() == pytest.approx(0.0001)
    assert server.requests_to("fundingRate")


def test_rate_limit_and_dropped_connection_are_retried(settings, server) -> None:
    server.script("klines", [None, 429, "drop", None])
    result = _get(settings, server)
    assert result.new_bars == 1200
    assert len(server.requests_to("klines")) == 6  # 4 pages + one 429 + one drop


def test_interrupted_download_resumes_where_it_stopped(settings, server) -> None:
    server.script("klines", [None, "drop", "drop", "drop"])
    with pytest.raises(DataError, match=r"interrupted at 2024-01-21 20:00:00 UTC.*500 new bars "
                                        r"fetched so far are kept.*resume"):
        _get(settings, server)
    assert market_data.list_datasets(settings.db_path)[0].bars == 500
    server.log.clear()
    result = _get(settings, server)
    assert result.resumed and result.new_bars == 700
    assert int(server.requests_to("klines")[0]["startTime"]) == START_MS + 500 * HOUR_MS


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_offline_says_unreachable_and_changes_nothing(settings) -> None:
    before = _counts(settings.db_path)
    request = download.DownloadRequest(symbol="BTC/USDT", since=START)
    with pytest.raises(DataError, match="Exchange unreachable: binance did not answer.*Nothing "
                                        "was changed"):
        download.download(settings.db_path, request, base_url=f"http://127.0.0.1:{_closed_port()}",
                          policy=FAST)
    assert _counts(settings.db_path) == before


def test_market_list_is_cached_and_searchable(settings, server) -> None:
    assert download.refresh_markets(settings.db_path, "binance", base_url=server.url) == 6
    found = market_data.list_symbols(settings.db_path, query="doge", exchange="binance")
    assert [(s.market, s.symbol, s.ccxt_symbol) for s in found] == [
        ("perp", "DOGEUSDT", "DOGE/USDT:USDT")]
    assert found[0].tick_size == 0.00001
    spot = market_data.list_symbols(settings.db_path, exchange="binance", market="spot")
    assert {s.symbol for s in spot} == {"BTCUSDT", "ETHUSDT", "SOLBTC"}


def test_unknown_symbol_suggests_near_names(settings, server) -> None:
    with pytest.raises(DataError,
                       match="No perp market 'BTC/USDC:USDC'.*did you mean BTC/USDT:USDT"):
        _get(settings, server, symbol="BTC/USDC:USDC", market="perp")


def test_unknown_exchange(settings) -> None:
    with pytest.raises(DataError, match="does not know the exchange 'binanse'.*binance"):
        download.make_exchange("binanse", "spot")


def test_cli_download_perp(home, server, capsys, monkeypatch) -> None:
    import json

    import cli

    monkeypatch.setenv("PINEOPT_CCXT_BASE_URL", server.url)
    assert cli.main(["data", "download", "--exchange", "binance", "--symbol", "BTC/USDT:USDT",
                     "--timeframe", "4h", "--since", START, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["market"], out["symbol"], out["new_bars"], out["new_funding"]) == (
        "perp", "BTCUSDT", 300, 151)


def test_cli_download_offline_exit_1(home, capsys, monkeypatch) -> None:
    import cli

    monkeypatch.setenv("PINEOPT_CCXT_BASE_URL", f"http://127.0.0.1:{_closed_port()}")
    assert cli.main(["data", "download", "--symbol", "BTC/USDT", "--since", START]) == 1
    assert capsys.readouterr().err.startswith("pineopt: Exchange unreachable")
