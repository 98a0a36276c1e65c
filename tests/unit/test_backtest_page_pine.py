"""Backtest page: a Pine strategy's strategy() properties are the form's defaults."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.pine.translation import api as pine
from core.strategies import crud as strategies
from core.model import Language, StrategyMeta
from core.settings import Settings
from ui import services

REPO = Path(__file__).resolve().parents[2]


def _page(settings: Settings, sid: int) -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    at.session_state[services.SELECTED_STRATEGY] = sid
    at.run()
    at.switch_page("app_pages/backtest.py").run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_pine_properties_prefill_capital_and_fees(settings: Settings) -> None:
    source = (REPO / "examples" / "pine" / "supertrend.pine").read_text()
    source = source.replace("strategy(", "strategy(commission_value=0.04, ", 1)
    sid, _ = strategies.save(settings.db_path, meta=StrategyMeta(name="st"), source=source,
                             language=Language.PINE)
    props = pine.translate(source).strategy_settings
    at = _page(settings, sid)
    cash = next(n for n in at.number_input if n.label == "Initial capital (USDT)")
    assert cash.value == pytest.approx(props["initial_capital"])
    maker = next(n for n in at.number_input if n.label == "Maker fee (%)")
    assert maker.value == pytest.approx(0.04)


def test_python_strategy_keeps_lab_defaults(settings: Settings, sma_source: str) -> None:
    sid, _ = strategies.save(settings.db_path, meta=StrategyMeta(name="sma"), source=sma_source)
    at = _page(settings, sid)
    cash = next(n for n in at.number_input if n.label == "Initial capital (USDT)")
    assert cash.value == pytest.approx(100_000.0)
    maker = next(n for n in at.number_input if n.label == "Maker fee (%)")
    assert maker.value == pytest.approx(0.1)  # the sample exchange uses Binance spot's preset
