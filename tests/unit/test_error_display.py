"""One error display helper for the UI (ui.services.show_error), escaping markdown."""

from __future__ import annotations

import ast

from streamlit.testing.v1 import AppTest

from core.settings import REPO_ROOT


def test_there_is_one_show_error_in_the_ui() -> None:
    defined = [str(path.relative_to(REPO_ROOT)) for folder in ("ui", "app_pages")
               for path in sorted((REPO_ROOT / folder).rglob("*.py"))
               for node in ast.walk(ast.parse(path.read_text()))
               if isinstance(node, ast.FunctionDef) and node.name == "show_error"]
    assert defined == ["ui/services.py"]


def _page() -> None:
    from core.errors import DataError
    from ui.services import show_error

    show_error(DataError("No bars for **BTC_USDT** [1h](http://x) <b>"))


def test_show_error_shows_the_message_literally() -> None:
    at = AppTest.from_function(_page).run()
    assert len(at.error) == 1
    shown = at.error[0].value
    assert "**" not in shown.replace("\\*", "") and "\\[1h\\]\\(http://x\\)" in shown
    assert shown.replace("\\", "") == "No bars for **BTC_USDT** [1h](http://x) <b>"
