"""Strategies page: Pine drafts and the read-only Python translation tab."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from core.pine.translation import api as pine
from core.strategies import crud as strategies
from core.model import Language, StrategyMeta
from core.settings import Settings
from ui import services

REPO = Path(__file__).resolve().parents[2]


def _strategies_page(settings: Settings, sid: int | None = None) -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    at.session_state[services.SELECTED_STRATEGY] = sid
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_saved_pine_strategy_shows_its_python_translation(settings: Settings) -> None:
    source = (REPO / "examples" / "pine" / "rsi_strategy.pine").read_text()
    sid, _ = strategies.save(settings.db_path, meta=StrategyMeta(name="rsi"), source=source,
                             language=Language.PINE)
    at = _strategies_page(settings, sid)
    assert [t.label for t in at.tabs][:2] == ["Pine source", "Python translation"]
    code = [c.value for c in at.code if "class " in c.value]
    assert code == [pine.translate(source).python_source.rstrip("\n")]  # st.code drops it
    assert any(b.label == "Download translation (.py)" for b in at.get("download_button"))


def test_new_pine_draft_starts_from_a_pine_example(settings: Settings) -> None:
    at = _strategies_page(settings)
    at.radio(key="new_lang").set_value(Language.PINE).run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.text_input[0].value == "MovingAvg2Line Cross"
    assert [t.label for t in at.tabs][:2] == ["Pine source", "Python translation"]


def test_broken_pine_shows_no_translation_but_the_error(settings: Settings) -> None:
    sid, _ = strategies.save(settings.db_path, meta=StrategyMeta(name="bad"),
                             source="//@version=5\nstrategy(\"x\")\nx = request.security(\"A\", "
                                    "\"D\", close)\n", language=Language.PINE)
    at = _strategies_page(settings, sid)
    assert any("No translation while the Pine source has an error" in i.value for i in at.info)


def test_pine_wording_and_parameters_by_input_title(settings: Settings) -> None:
    source = (REPO / "examples" / "pine" / "supertrend.pine").read_text()
    sid, _ = strategies.save(settings.db_path, meta=StrategyMeta(name="st"), source=source,
                             language=Language.PINE)
    at = _strategies_page(settings, sid)
    assert at.success[0].value.startswith("Valid Pine Script")
    table = next(d.value for d in at.dataframe if "Parameter" in d.value.columns)
    assert "syminfo_mintick" not in set(table["Parameter"])  # set from the symbol, not the user
    assert dict(zip(table["Parameter"], table["Description"], strict=True))["atrPeriod"] == \
        "ATR Length"
    assert "None" not in set(table["Max"].astype(str))
