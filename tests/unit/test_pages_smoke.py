"""AppTest smoke test: every page listed in app.py renders without an exception.

Each page runs against a fresh store that already holds a completed run, so the Results and
Compare pages have something to show.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.runs import service as runs
from core.strategies import crud as strategies
from core.model import BacktestConfig, RunStatus, StrategyMeta
from core.settings import Settings

REPO = Path(__file__).resolve().parents[2]
PAGES = re.findall(r'st\.Page\("(app_pages/[a-z_]+\.py)"', (REPO / "app.py").read_text())


@pytest.fixture(scope="module")
def populated_home(template_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with one saved strategy and one completed run."""
    import shutil

    from tests.conftest import make_settings

    home = tmp_path_factory.mktemp("pages") / "home"
    shutil.copytree(template_home, home)
    settings: Settings = make_settings(home)
    source = (REPO / "examples" / "sma_cross.py").read_text()
    sid, _ = strategies.save(settings.db_path, meta=StrategyMeta(name="Smoke"), source=source)
    run = runs.run_sync(settings, strategy_id=sid, config=BacktestConfig(
        symbol="BTCUSDT", timeframe="4h", start="2024-01-01", end="2024-06-30"))
    assert run.status is RunStatus.COMPLETED, run.error
    return home


def test_app_lists_pages() -> None:
    assert {"app_pages/strategies.py", "app_pages/backtest.py", "app_pages/results.py"} <= set(PAGES)


@pytest.mark.parametrize("page", PAGES)
def test_page_renders(page: str, populated_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PINEOPT_HOME", str(populated_home))
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    at.run()
    at.switch_page(page).run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.title, f"{page} shows no title"
