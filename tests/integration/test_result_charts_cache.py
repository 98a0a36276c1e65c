"""The Results page's per-run chart cache (ui.result_charts) on a real sandboxed run: a run's
bundle and chart specs are built once, a run deleted from the page is never served from the
cache again, and a run id met again with another creation time is a different entry."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from core.analytics import run_bundle as analytics
from core.analytics.run_bundle import RunBundle
from core.errors import PineOptError
from core.model import BacktestConfig, RunStatus, StrategyMeta
from core.runs import service as runs
from core.settings import Settings
from core.strategies import crud as strategies
from ui import result_charts, run_actions

pytestmark = pytest.mark.sandbox


def test_charts_are_built_once_per_run_and_dropped_when_it_is_deleted(
        settings: Settings, sma_source: str, monkeypatch: pytest.MonkeyPatch) -> None:
    sid, _ = strategies.save(settings.db_path, meta=StrategyMeta(name="sma"), source=sma_source)
    run = runs.run_sync(settings, strategy_id=sid, config=BacktestConfig(
        symbol="BTCUSDT", timeframe="4h", start="2023-01-01", end="2023-04-30"))
    assert run.status is RunStatus.COMPLETED, run.error
    home = str(settings.home)
    loads: list[int] = []
    real_load = analytics.load

    def counted_load(s: Settings, run_id: int) -> RunBundle:
        loads.append(run_id)
        return real_load(s, run_id)

    monkeypatch.setattr(analytics, "load", counted_load)  # the real load, counted
    first = result_charts.bundle(home, run.id, run.created_at)
    again = result_charts.bundle(home, run.id, run.created_at)
    pd.testing.assert_series_equal(again.equity, first.equity)
    specs = result_charts.chart_specs(first)
    assert result_charts.chart_specs(again) == specs
    assert {"equity", "underwater", "monthly", "yearly", "rolling"} <= set(specs)
    assert "price" not in specs  # the Price tab's chart is built when that tab is opened
    price = result_charts.price_specs(first)
    assert set(price) == {"price"} and result_charts.price_specs(again) == price
    assert loads == [run.id]  # one load for two bundles and both sets of specs
    later = run.created_at + dt.timedelta(seconds=1)  # the same id handed out again
    result_charts.bundle(home, run.id, later)
    assert loads == [run.id, run.id]

    run_actions._delete(settings.db_path, [run.id])  # what the page's Delete button calls
    with pytest.raises(PineOptError, match=f"Run {run.id} does not exist"):
        result_charts.bundle(home, run.id, run.created_at)  # not served from the cache
