"""AppTest of the Data page: catalogue, upload import with mapping, funding, quality, download."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.market import catalogue as market_data
from core.settings import Settings
from tests.fakes.binance_server import FakeBinance

REPO = Path(__file__).resolve().parents[2]
VALID = REPO / "tests" / "fixtures" / "data" / "valid"
MALFORMED = REPO / "tests" / "fixtures" / "data" / "malformed"


@pytest.fixture
def at(settings: Settings) -> AppTest:
    """The Data page on its own (app.py's smoke test covers routing) against a fresh store."""
    app = AppTest.from_file(str(REPO / "app_pages" / "data.py"), default_timeout=60)
    app.run()
    _ok(app)
    return app


def _ok(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]


def _click(at: AppTest, key: str) -> None:
    at.button(key=key).click().run()
    _ok(at)


def _catalogue(at: AppTest):
    return at.dataframe[0].value


def test_catalogue_labels_sample_data_and_shows_a_chart(at: AppTest) -> None:
    table = _catalogue(at)
    assert len(table) == 4 and set(table["Source"]) == {"synthetic sample data"}
    assert set(table["Market"]) == {"spot", "perp"} and set(table["Quality"]) == {"unchecked"}
    assert len(at.get("vega_lite_chart")) == 2, "candlestick and funding charts"
    assert at.title[0].value == "Market data"


def test_upload_import_updates_catalogue(at: AppTest, settings: Settings) -> None:
    name = "BTCUSDT-1h-2024-01-01.csv"
    at.file_uploader(key="data_upload").set_value((name, (VALID / name).read_bytes(),
                                                   "text/csv")).run()
    _ok(at)
    assert any("binance-kline" in c.value for c in at.caption)
    at.number_input(key="import_lot").set_value(0.0001).run()  # the lot step, given
    _click(at, "do_import")
    assert "binance/spot/BTCUSDT 1h: 24 rows (24 new)" in at.success[0].value
    assert "tick size 0.01, lot step 0.0001 (given" in at.success[0].value
    info = market_data.get_symbol(settings.db_path, "binance", "spot", "BTCUSDT")
    assert (info.tick_size, info.lot_step) == (0.01, 0.0001)  # tick inferred from the prices
    table = _catalogue(at)
    assert ("binance", "BTCUSDT", "ok") in set(zip(table["Exchange"], table["Symbol"],
                                                   table["Quality"], strict=True))


def test_unsure_columns_get_a_mapping_form(at: AppTest, settings: Settings) -> None:
    content = b"when,a,b,c,d,e\n2024-01-01 00:00,1,2,0.5,1.5,7\n2024-01-01 01:00,1.5,2.5,1,2,8\n"
    at.file_uploader(key="data_upload").set_value(("odd.csv", content, "text/csv")).run()
    assert "Which column is which?" in at.warning[0].value
    for field, column in zip(("time", "open", "high", "low", "close", "volume"),
                             ("when", "a", "b", "c", "d", "e"), strict=True):
        at.selectbox(key=f"map_{field}").set_value(column)
    at.text_input[1].input("LINKUSDT")  # Symbol (Exchange is the first text input)
    at.run()
    _click(at, "do_import")
    assert "imported/spot/LINKUSDT 1h: 2 rows (2 new)" in at.success[0].value


def test_malformed_upload_shows_the_error_and_stores_nothing(at: AppTest,
                                                             settings: Settings) -> None:
    before = market_data.list_datasets(settings.db_path)
    name = "text_in_numeric.csv"
    at.file_uploader(key="data_upload").set_value((name, (MALFORMED / name).read_bytes(),
                                                   "text/csv")).run()
    at.text_input[1].input("XUSDT").run()
    _click(at, "do_import")
    assert "line 3, column 'close': 'abc' is not a number" in at.error[0].value
    assert market_data.list_datasets(settings.db_path) == before


def test_funding_tab_and_quality_check(at: AppTest) -> None:
    assert at.selectbox(key="fund_pick").value == "sample/BTCUSDT"
    assert {m.label for m in at.metric} >= {"Mean rate per funding", "Negative fundings"}
    _click(at, "q_check")
    assert at.success[0].value.startswith("Quality: clean")


def test_download_tab_against_loopback_exchange(at: AppTest, monkeypatch) -> None:
    with FakeBinance() as server:
        monkeypatch.setenv("PINEOPT_CCXT_BASE_URL", server.url)
        at.radio(key="dl_market").set_value("perp").run()
        _click(at, "dl_refresh")
        assert "Cached 6 binance markets" in at.success[0].value
        at.text_input(key="dl_query").input("eth").run()
        assert at.selectbox(key="dl_symbol").options == ["ETH/USDT:USDT"]
        at.selectbox(key="dl_symbol").set_value("ETH/USDT:USDT")
        at.selectbox(key="dl_tf").set_value("4h")
        at.date_input(key="dl_since").set_value("2024-01-01").run()
        _click(at, "dl_go")
    assert "binance/perp/ETHUSDT 4h: 750 new bars" in at.success[0].value


def test_symbol_rules_form_saves(at: AppTest, settings: Settings) -> None:
    at.number_input[0].set_value(0.5)
    at.button[[b.label for b in at.button].index("Save rules")].click().run()
    _ok(at)
    info = market_data.get_symbol(settings.db_path, "sample", "perp", "BTCUSDT")
    assert info.tick_size == 0.5


def test_backtest_page_shows_coverage_of_the_chosen_dataset(settings: Settings) -> None:
    from core.strategies import crud as strategies
    from core.model import StrategyMeta

    strategies.save(settings.db_path, meta=StrategyMeta(name="S"),
                    source=(REPO / "examples" / "sma_cross.py").read_text())
    at = AppTest.from_file(str(REPO / "app_pages" / "backtest.py"), default_timeout=60)
    at.run()
    _ok(at)
    captions = [c.value for c in at.caption if c.value.startswith("Stored coverage")]
    assert captions == ["Stored coverage (UTC): 1h 2022-01-01 00:00 to 2024-12-31 23:00, "
                        "26,304 bars · synthetic sample data"]


def test_a_reimport_that_changes_bars_shows_the_differences_and_needs_replace(
        at: AppTest, settings: Settings) -> None:
    name = "BTCUSDT-1h-2024-01-01.csv"
    original = (VALID / name).read_bytes()
    at.file_uploader(key="data_upload").set_value((name, original, "text/csv")).run()
    _click(at, "do_import")
    key = {"exchange": "binance", "market": "spot", "symbol": "BTCUSDT", "timeframe": "1h",
           "start": "2024-01-01", "end": "2024-01-01"}
    before = market_data.load_ohlcv(settings.db_path, **key)
    lines = original.decode().splitlines()
    fields = lines[-1].split(",")
    fields[4] = str(float(fields[4]) + 1)  # the last bar's close changes by 1
    changed = "\n".join([*lines[:-1], ",".join(fields)]) + "\n"
    at.file_uploader(key="data_upload").set_value((name, changed.encode(), "text/csv")).run()
    _click(at, "do_import")
    shown = at.error[0].value.replace("\\", "")  # markdown-escaped (ui.services.show_error)
    assert "1 bar(s) already stored" in shown and "Replace" in shown
    diff = at.dataframe[-1].value
    assert list(diff["field"]) == ["close"] and diff["imported"].iloc[0] == \
        diff["stored"].iloc[0] + 1
    assert market_data.load_ohlcv(settings.db_path, **key).equals(before)
    at.checkbox(key="import_replace").check().run()
    _click(at, "do_import")
    assert "24 rows (0 new)" in at.success[0].value
    after = market_data.load_ohlcv(settings.db_path, **key)
    assert after["Close"].iloc[-1] == before["Close"].iloc[-1] + 1
