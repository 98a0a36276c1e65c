"""The run pipeline end to end through real firejail: store -> sandbox -> checks -> metrics."""

from __future__ import annotations

import pytest

from core.runs import service as runs
from core.strategies import crud as strategies
from core.model import BacktestConfig, RunStatus, StrategyMeta
from core.settings import Settings

SEED_METRICS = {"total_return", "annualized_return", "cagr", "volatility", "sharpe_ratio",
                "sortino_ratio", "max_drawdown", "var_95", "cvar_95", "total_trades", "win_rate",
                "profit_factor", "avg_trade_duration", "alpha", "beta", "information_ratio"}
CONFIG = BacktestConfig(symbol="BTCUSDT", timeframe="4h", start="2023-01-01", end="2023-12-31",
                        commission=0.001)


def _save(settings: Settings, source: str, name: str = "s") -> int:
    sid, _ = strategies.save(settings.db_path, meta=StrategyMeta(name=name), source=source)
    return sid


def test_example_runs_in_sandbox_and_is_stored(settings: Settings, sma_source: str) -> None:
    sid = _save(settings, sma_source)
    run = runs.run_sync(settings, strategy_id=sid, config=CONFIG)
    assert run.status is RunStatus.COMPLETED, run.error
    values = runs.run_metrics(settings.db_path, run.id)
    assert SEED_METRICS <= set(values)
    trades = runs.run_trades(settings.db_path, run.id)
    # total_trades counts every trade of a Python run: one still open at the end is closed on
    # the last bar (finalize_trades) and counted
    assert len(trades) == values["total_trades"] > 0 and values["total_open_trades"] == 0
    equity = runs.run_equity(settings.db_path, run.id)
    assert len(equity) == 365 * 6  # 4h bars of 2023
    assert equity.iloc[0] == pytest.approx(CONFIG.cash_usdt)
    assert values["total_return"] == pytest.approx(equity.iloc[-1] / CONFIG.cash_usdt - 1)
    assert run.duration_s is not None and run.duration_s > 0


def test_identical_request_returns_stored_run_unless_forced(settings: Settings,
                                                            sma_source: str) -> None:
    sid = _save(settings, sma_source)
    first = runs.run_sync(settings, strategy_id=sid, config=CONFIG)
    again = runs.request_run(settings, strategy_id=sid, config=CONFIG)
    assert again.id == first.id and again.status is RunStatus.COMPLETED
    forced = runs.request_run(settings, strategy_id=sid, config=CONFIG, force=True)
    assert forced.id != first.id and forced.status is RunStatus.QUEUED
    assert forced == runs.get_run(settings.db_path, forced.id)  # the queued run as stored
    assert runs.execute(settings, forced.id).status is RunStatus.COMPLETED  # started as known
    started = runs.get_run(settings.db_path, forced.id)
    assert (started.config, started.strategy_version, started.data_sha) == (
        forced.config, forced.strategy_version, forced.data_sha) and started.started_at
    other = runs.request_run(settings, strategy_id=sid,
                             config=BacktestConfig(**{**CONFIG.to_dict(), "params": {"fast": 10}}))
    assert other.id not in (first.id, forced.id) and other.run_hash != first.run_hash


def test_invalid_source_is_rejected_with_line_and_strategy_kept(settings: Settings,
                                                                sma_source: str) -> None:
    bad = sma_source.replace("import pandas as pd", "import os\nimport pandas as pd")
    sid = _save(settings, bad, name="bad")
    run = runs.run_sync(settings, strategy_id=sid, config=CONFIG)
    assert run.status is RunStatus.REJECTED
    assert "line 5" in run.error and "'os'" in run.error
    assert strategies.get_version(settings.db_path, sid).source == bad


def test_user_exception_is_reported_with_user_line(settings: Settings, sma_source: str) -> None:
    crashing = sma_source.replace("        if crossover(self.fast_ma, self.slow_ma):",
                                  "        x = 1 / 0\n        if crossover(self.fast_ma, self.slow_ma):")
    sid = _save(settings, crashing, name="crash")
    run = runs.run_sync(settings, strategy_id=sid, config=CONFIG)
    assert run.status is RunStatus.CRASHED
    assert "ZeroDivisionError" in run.error
    line = crashing.splitlines().index("        x = 1 / 0") + 1
    assert f"line {line}" in run.error
