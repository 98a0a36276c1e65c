"""Run labels' changed parameters against each run's own strategy version (core.runs.admin
param_changes), all versions read in one query: a new default in a later version moves what
counts as changed, and a run whose version is gone shows none."""

from __future__ import annotations

import dataclasses

from core.model import BacktestConfig, StrategyMeta
from core.runs import admin as run_admin, service as runs
from core.settings import Settings
from core.strategies import crud as strategies


def test_each_run_is_compared_with_its_own_version(settings: Settings, sma_source: str) -> None:
    db = settings.db_path
    sid, v1 = strategies.save(db, meta=StrategyMeta(name="sma"), source=sma_source)
    _sid, v2 = strategies.save(db, meta=StrategyMeta(name="sma"), strategy_id=sid,
                               source=sma_source.replace("fast = 20", "fast = 10", 1))
    assert (v1, v2) == (1, 2)
    config = BacktestConfig(symbol="BTCUSDT", timeframe="1h", start="2024-01-01",
                            end="2024-01-31", params={"fast": 10, "slow": 60})
    first = runs.request_run(settings, strategy_id=sid, config=config)  # runs the latest: v2
    records = [dataclasses.replace(first, strategy_version=1),
               dataclasses.replace(first, id=first.id + 1, strategy_version=2),
               dataclasses.replace(first, id=first.id + 2, strategy_version=9),
               dataclasses.replace(first, id=first.id + 3, strategy_id=None)]
    changes = run_admin.param_changes(db, records)
    assert changes == {first.id: {"fast": 10}, first.id + 1: {}, first.id + 2: {},
                       first.id + 3: {}}
    assert run_admin.param_changes(db, []) == {}
