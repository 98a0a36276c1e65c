"""Every shipped example validates, runs in the real firejail sandbox through core.runs, and
trades on the sample data (six months of BTCUSDT 1h keeps each run short)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from core.strategies import examples, crud as strategies, validation
from core.runs import service as runs
from core.model import BacktestConfig, RunStatus, StrategyMeta
from core.settings import Settings
from tests.conftest import make_settings

CONFIG = BacktestConfig(symbol="BTCUSDT", timeframe="1h", start="2024-01-01", end="2024-06-30",
                        commission=0.001)
EXAMPLES = [e.key for e in examples.list_examples()]


@pytest.fixture(scope="module")
def shared_settings(template_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """One store for every example run in this module."""
    home = tmp_path_factory.mktemp("examples") / "home"
    shutil.copytree(template_home, home)
    return make_settings(home)


def test_at_least_eight_examples() -> None:
    assert len(EXAMPLES) >= 8 and EXAMPLES[0] == "sma_cross"


@pytest.mark.sandbox
@pytest.mark.parametrize("key", EXAMPLES)
def test_example_runs_in_the_sandbox_with_trades(key: str, shared_settings: Settings) -> None:
    example = examples.get_example(key)
    assert validation.validate_python(example.source) == []
    sid, _ = strategies.save(shared_settings.db_path, meta=StrategyMeta(name=key),
                             source=example.source)
    run = runs.run_sync(shared_settings, strategy_id=sid, config=CONFIG)
    assert run.status is RunStatus.COMPLETED, run.error
    assert runs.run_metrics(shared_settings.db_path, run.id)["total_trades"] > 0
