"""The Optimize page's Lookahead tab (AppTest, real sandbox): a peeking strategy is flagged with
its bar and line, and a bad range gets a message instead of an exception."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.strategies import crud as strategies
from core.model import StrategyMeta
from tests.conftest import REPO, make_settings
from tests.integration.test_lookahead import PEEK


def _page(home: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    strategies.save(make_settings(home).db_path, meta=StrategyMeta(name="Peek"), source=PEEK)
    monkeypatch.setenv("PINEOPT_HOME", str(home))
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=300)
    at.run()
    at.switch_page("app_pages/optimize.py").run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_lookahead_tab_flags_a_peeking_strategy(home: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    at = _page(home, monkeypatch)
    at.text_input(key="la_end").set_value("2024-02-29")
    at.number_input(key="la_cuts").set_value(2)
    at.button(key="la_run").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert any("Lookahead found" in e.value for e in at.error)
    table = at.dataframe[-1].value
    assert {"cut", "bar", "kind", "name", "line"} <= set(table.columns)
    assert 12 in set(table["line"])


def test_lookahead_tab_explains_a_range_without_bars(home: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    at = _page(home, monkeypatch)
    at.text_input(key="la_start").set_value("2024-01-01")
    at.text_input(key="la_end").set_value("2024-01-02")
    at.button(key="la_run").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert any("at least 30" in e.value for e in at.error)
