"""Per-run limits: a run may lower (never raise) the sandbox limits; bad values are refused."""

from __future__ import annotations

import pytest

from core.runs import service as runs
from core.strategies import crud as strategies
from core.errors import ConfigError
from core.model import BacktestConfig, RunStatus, StrategyMeta
from core.settings import Settings

SPIN = '''
from backtesting import Strategy


class Spin(Strategy):
    def init(self):
        pass

    def next(self):
        if len(self.data) == 20:
            n = 0
            while True:
                n += 1
'''


def _config(**limits: float) -> BacktestConfig:
    return BacktestConfig(symbol="BTCUSDT", timeframe="1h", start="2024-01-01",
                          end="2024-01-10", extra={"limits": limits})


def test_lowered_timeout_stops_the_run(settings: Settings) -> None:
    sid, _ = strategies.save(settings.db_path, meta=StrategyMeta(name="spin"), source=SPIN)
    run = runs.run_sync(settings, strategy_id=sid, config=_config(timeout_s=2))
    assert run.status is RunStatus.TIMED_OUT
    assert "2 s wall-clock limit" in run.error


def test_limits_can_only_be_lowered(settings: Settings) -> None:
    lowered = runs.run_limits(settings, _config(memory_mb=500, timeout_s=10_000))
    assert lowered.memory_mb == 500
    assert lowered.timeout_s == settings.timeout_s  # asking for more keeps the setting


@pytest.mark.parametrize(("limits", "message"), [
    ({"timeout_s": -1}, "positive numbers"),
    ({"walltime": 5}, "unknown limit 'walltime'"),
])
def test_bad_limits_are_refused_before_anything_is_stored(settings: Settings, sma_source: str,
                                                          limits: dict, message: str) -> None:
    sid, _ = strategies.save(settings.db_path, meta=StrategyMeta(name="sma"), source=sma_source)
    with pytest.raises(ConfigError, match=message):
        runs.request_run(settings, strategy_id=sid, config=_config(**limits))
    assert runs.list_runs(settings.db_path) == []
