"""AppTest of the Strategies page: edit with live validation, save, versions, diff, restore,
clone, delete, upload, library filters, examples. st_ace is simulated through session_state."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.strategies import crud as strategies
from core.settings import Settings
from ui import services

REPO = Path(__file__).resolve().parents[2]
SMA = (REPO / "examples" / "sma_cross.py").read_text()
BAD = "import os\n" + SMA


@pytest.fixture
def at(settings: Settings) -> AppTest:
    """The app on its default page (Strategies) against a fresh store."""
    app = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    return app


def ace(at: AppTest) -> dict:
    """The Ace component's arguments (key, mode, annotations, defaultValue...)."""
    return json.loads(at.get("component_instance")[0].proto.json_args)


def edit(at: AppTest, text: str) -> None:
    """Type ``text`` into the editor (st_ace returns it on the next run) and rerun."""
    at.session_state[ace(at)["key"]] = text
    at.run()
    assert not at.exception, [e.message for e in at.exception]


def click(at: AppTest, label: str) -> None:
    """Click the first button with this label and rerun."""
    next(b for b in at.button if b.label == label).click().run()
    assert not at.exception, [e.message for e in at.exception]


def test_live_validation_annotates_the_editor(at: AppTest) -> None:
    assert ace(at)["mode"] == "python" and ace(at)["autoUpdate"] is True
    assert ace(at)["annotations"] == []
    assert at.success[0].value.startswith("Valid: one Strategy subclass")
    edit(at, BAD)
    assert ace(at)["annotations"][0]["row"] == 0 and ace(at)["annotations"][0]["type"] == "error"
    assert "Line 1, col 1" in at.error[0].value and "'os'" in at.error[0].value


def test_save_edit_history_diff_restore(at: AppTest, settings: Settings) -> None:
    edit(at, BAD)
    at.text_input(key=next(k.key for k in at.text_input if k.label == "Name")).input("Mine")
    click(at, "Save")
    sid = at.session_state[services.SELECTED_STRATEGY]
    assert strategies.get(settings.db_path, sid).meta.name == "Mine"
    assert "version 1" in at.success[0].value
    assert ace(at)["annotations"], "the saved invalid version is still annotated"
    edit(at, SMA)
    click(at, "Save")
    assert "version 2" in at.success[0].value
    assert [v.version for v in strategies.history(settings.db_path, sid)] == [2, 1]
    diff = next(c.value for c in at.code if c.language == "diff")
    assert "--- v1" in diff and "-import os" in diff
    click(at, "Restore v1 as newest")
    assert strategies.get_version(settings.db_path, sid).source == BAD
    assert "as version 3" in at.success[0].value


def test_metadata_is_saved_and_dependencies_checked(at: AppTest, settings: Settings) -> None:
    by_label = {w.label: w for w in at.text_input}
    by_label["Author"].input("ann")
    by_label["Tags (comma separated)"].input("trend, btc")
    by_label["Dependencies (comma separated, e.g. pandas, ta)"].input("requests")
    at.run()
    assert any("requests" in e.value for e in at.error)
    click(at, "Save")
    meta = strategies.get(settings.db_path, at.session_state[services.SELECTED_STRATEGY]).meta
    assert (meta.author, meta.tags, meta.dependencies) == ("ann", ("trend", "btc"), ("requests",))


def test_clone_then_delete_with_confirmation(at: AppTest, settings: Settings) -> None:
    click(at, "Save")
    sid = at.session_state[services.SELECTED_STRATEGY]
    click(at, "Clone")
    copy = at.session_state[services.SELECTED_STRATEGY]
    assert copy != sid and strategies.get(settings.db_path, copy).meta.name.startswith("copy of")
    click(at, "Delete")
    assert any("Delete strategy" in w.value for w in at.warning)
    click(at, "Yes, delete")
    assert strategies.get(settings.db_path, copy).deleted
    assert not strategies.get(settings.db_path, sid).deleted
    assert at.session_state[services.SELECTED_STRATEGY] is None


def test_upload_creates_a_strategy_and_bad_files_save_nothing(at: AppTest,
                                                              settings: Settings) -> None:
    uploader = at.get("file_uploader")[0]
    assert uploader is not None
    before = len(strategies.list_strategies(settings.db_path))
    at.file_uploader[0].set_value(("empty.py", b"   ", "text/x-python")).run()
    assert any("is empty" in e.value for e in at.error)
    assert len(strategies.list_strategies(settings.db_path)) == before
    at.file_uploader[0].set_value(("broken.py", BAD.encode(), "text/x-python")).run()
    sid = at.session_state[services.SELECTED_STRATEGY]
    assert strategies.get(settings.db_path, sid).meta.name == "broken"
    assert ace(at)["defaultValue"] == BAD and ace(at)["annotations"][0]["row"] == 0


def test_library_filters_and_examples(at: AppTest, settings: Settings) -> None:
    at.radio(key="strategies_view").set_value("Examples").run()
    assert len([b for b in at.button if b.label == "Use this example"]) >= 8
    at.button(key="use_rsi_mean_reversion").click().run()
    sid = at.session_state[services.SELECTED_STRATEGY]
    assert strategies.get(settings.db_path, sid).meta.name == "RSI mean reversion"
    assert at.radio(key="strategies_view").value == "Editor"
    at.radio(key="strategies_view").set_value("Library").run()
    frame = at.dataframe[0].value
    assert "RSI mean reversion" in set(frame["Name"]) and "Last return (%)" in frame.columns
    at.text_input(key="lib_search").input("no such strategy").run()
    assert any("No strategies match" in i.value for i in at.info)
    at.text_input(key="lib_search").input("rsi").run()
    at.selectbox(key="lib_status").set_value("valid").run()
    assert list(at.dataframe[0].value["ID"]) == [sid]


def test_run_action_preselects_on_the_backtest_page(at: AppTest) -> None:
    click(at, "Save")
    sid = at.session_state[services.SELECTED_STRATEGY]
    click(at, "Run backtest")
    assert at.title[0].value == "Backtest"
    assert at.session_state[services.SELECTED_STRATEGY] == sid


def test_pine_upload_opens_in_text_mode(at: AppTest, settings: Settings) -> None:
    pine = (REPO / "examples" / "pine" / "bollinger_bands.pine").read_bytes()
    at.file_uploader[0].set_value(("bands.pine", pine, "text/plain")).run()
    assert not at.exception, [e.message for e in at.exception]
    sid = at.session_state[services.SELECTED_STRATEGY]
    assert strategies.get(settings.db_path, sid).language.value == "pine"
    assert ace(at)["mode"] == "text"
