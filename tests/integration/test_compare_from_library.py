"""Compare can start from the strategy library: a strategy's newest completed runs."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from core.runs import service as runs
from core.strategies import crud as strategies, library as strategy_library
from core.model import BacktestConfig, RunStatus, StrategyMeta
from core.settings import Settings
from ui import results_view, services

REPO = Path(__file__).resolve().parents[2]


def test_library_compare_opens_the_strategys_runs(settings: Settings, sma_source: str) -> None:
    sid, _ = strategies.save(settings.db_path, meta=StrategyMeta(name="sma"), source=sma_source)
    ids = []
    for fast in (10, 20):
        run = runs.run_sync(settings, strategy_id=sid, config=BacktestConfig(
            symbol="BTCUSDT", timeframe="4h", start="2024-01-01", end="2024-06-30",
            params={"fast": fast}))
        assert run.status is RunStatus.COMPLETED, run.error
        ids.append(run.id)
    assert strategy_library.completed_run_ids(settings.db_path, sid) == ids[::-1]

    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    at.session_state[services.SELECTED_STRATEGY] = sid
    at.run()
    at.button(key=f"compare_{sid}").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.session_state[results_view.COMPARE_RUNS] == ids[::-1]
    assert at.title[0].value == "Compare runs"  # the Compare page rendered
