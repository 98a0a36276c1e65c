"""Backtest form state (issue 16): offered timeframes, date presets, "Re-run with these settings"
from Results refilling the form, Pine parameters without the internal tick size."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core.runs import costs, service as runs
from core.market import catalogue as market_data
from core.strategies import crud as strategies
from core.model import BacktestConfig, Language, RunStatus, StrategyMeta
from core.settings import Settings
from ui import backtest_form, services

REPO = Path(__file__).resolve().parents[2]


def _dataset(timeframe: str) -> market_data.Dataset:
    now = pd.Timestamp("2024-01-01")
    return market_data.Dataset(exchange="x", market="spot", symbol="BTCUSDT", timeframe=timeframe,
                               first=now, last=now, bars=1, synthetic=False)


def test_only_timeframes_the_stored_bars_can_give() -> None:
    assert backtest_form.timeframes([_dataset("1h")]) == ["1h", "4h", "1d", "1w"]
    assert backtest_form.timeframes([_dataset("1d")]) == ["1d", "1w"]
    assert backtest_form.timeframes([_dataset("15m"), _dataset("1h")]) == [
        "15m", "30m", "1h", "4h", "1d", "1w"]


def test_date_presets_end_at_the_last_stored_day() -> None:
    first, last = dt.date(2022, 1, 1), dt.date(2024, 12, 31)
    assert backtest_form.preset_range("YTD", first=first, last=last) == (dt.date(2024, 1, 1), last)
    assert backtest_form.preset_range("1Y", first=first, last=last) == (dt.date(2024, 1, 1), last)
    assert backtest_form.preset_range("2Y", first=first, last=last) == (dt.date(2023, 1, 1), last)
    assert backtest_form.preset_range("All", first=first, last=last) == (first, last)
    assert backtest_form.preset_range("2Y", first=dt.date(2024, 6, 1), last=last)[0] == \
        dt.date(2024, 6, 1)


def test_rerun_with_these_settings_refills_the_backtest_form(settings: Settings,
                                                             sma_source: str) -> None:
    sid, _ = strategies.save(settings.db_path, meta=StrategyMeta(name="sma"), source=sma_source)
    config = costs.with_presets(BacktestConfig(
        market="perp", symbol="ETHUSDT", timeframe="4h", start="2023-02-01", end="2023-05-31",
        cash_usdt=25_000, fractional=True, params={"fast": 12},
        costs={"slippage_bps": 3.0}, margin={"leverage": 5, "spot_margin": False},
        risk={"stop_loss_pct": 0.04}))
    run = runs.run_sync(settings, strategy_id=sid, config=config)
    assert run.status is RunStatus.COMPLETED, run.error

    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    at.session_state[services.SELECTED_RUN] = run.id
    at.run()
    at.switch_page("app_pages/results.py").run()
    next(b for b in at.button if b.label == "Re-run with these settings").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert any(f"Loaded the settings of run {run.id}" in i.value for i in at.info)

    def number(label: str) -> float:
        return next(n for n in at.number_input if n.label == label).value

    assert at.selectbox(key=backtest_form.DATA).value == ("sample", "perp", "ETHUSDT")
    assert at.selectbox(key=backtest_form.TIMEFRAME).value == "4h"
    assert at.date_input(key=backtest_form.DATES).value == (dt.date(2023, 2, 1),
                                                            dt.date(2023, 5, 31))
    assert number("Initial capital (USDT)") == pytest.approx(25_000)
    assert number("Leverage (×)") == pytest.approx(5)
    assert number("Basis points of price") == pytest.approx(3)
    assert number("Default stop-loss (%)") == pytest.approx(4)
    assert number("fast") == 12


def test_pine_form_hides_the_tick_size_and_uses_input_titles(settings: Settings) -> None:
    source = (REPO / "examples" / "pine" / "supertrend.pine").read_text()
    sid, _ = strategies.save(settings.db_path, meta=StrategyMeta(name="st"), source=source,
                             language=Language.PINE)
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    at.session_state[services.SELECTED_STRATEGY] = sid
    at.run()
    at.switch_page("app_pages/backtest.py").run()
    assert not at.exception, [e.message for e in at.exception]
    labels = [w.label for w in [*at.number_input, *at.checkbox, *at.selectbox, *at.text_input]]
    assert not any("mintick" in label for label in labels)
    assert "ATR Length" in labels  # input.int(10, "ATR Length") is labelled by its title


def test_coverage_note_says_what_a_range_past_the_bars_uses() -> None:
    first, last = dt.date(2022, 1, 1), dt.date(2024, 12, 31)
    note = backtest_form.coverage_note(dt.date(2024, 12, 1), dt.date(2025, 2, 28), first=first,
                                       last=last)
    assert note == ("The stored bars run from 2022-01-01 to 2024-12-31: the run uses 2024-12-01 "
                    "to 2024-12-31.")
    assert backtest_form.coverage_note(dt.date(2025, 1, 1), dt.date(2025, 3, 31), first=first,
                                       last=last).startswith("No stored bars from 2025-01-01")
    assert backtest_form.coverage_note(dt.date(2024, 1, 1), dt.date(2024, 3, 31), first=first,
                                       last=last) is None


def test_a_range_past_the_bars_is_kept_and_noted_on_both_pages(settings: Settings,
                                                              sma_source: str) -> None:
    """A typed end after the last bar used to be refused in the field (red) while the run, and
    an Optimize sweep, kept the last accepted range: the page showed one range and ran another.
    Now the range is taken as typed, a note says which bars it uses, and the run gets it."""
    strategies.save(settings.db_path, meta=StrategyMeta(name="sma"), source=sma_source)
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    at.run()
    for page, key in (("app_pages/backtest.py", backtest_form.DATES),
                      ("app_pages/optimize.py", backtest_form.OPTIMIZE.dates)):
        at.switch_page(page).run()
        at.date_input(key=key).set_value((dt.date(2024, 12, 1), dt.date(2025, 2, 28))).run()
        assert not at.exception, [e.message for e in at.exception]
        assert at.date_input(key=key).value == (dt.date(2024, 12, 1), dt.date(2025, 2, 28))
        assert any("the run uses 2024-12-01 to 2024-12-31" in w.value for w in at.warning), page
    at.switch_page("app_pages/backtest.py").run()
    at.button(key="run_backtest").click().run()
    assert not at.exception, [e.message for e in at.exception]
    (run,) = runs.list_runs(settings.db_path)
    assert (run.config.start, run.config.end) == ("2024-12-01", "2025-02-28")  # as typed
    deadline = time.monotonic() + 120  # the page queued it on the app's job manager
    while not runs.get_run(settings.db_path, run.id).status.finished and \
            time.monotonic() < deadline:
        time.sleep(0.2)
    assert runs.get_run(settings.db_path, run.id).status is RunStatus.COMPLETED
    bars = runs.run_equity(settings.db_path, run.id).index
    assert (bars[0], bars[-1]) == (pd.Timestamp("2024-12-01"), pd.Timestamp("2024-12-31 23:00"))
