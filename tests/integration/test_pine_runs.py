"""Pine strategies through the whole pipeline: translate -> validate -> sandbox -> store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core import pine, pine_run, runs, strategies
from core.model import BacktestConfig, Language, RunStatus, StrategyMeta
from core.settings import Settings
from tests.integration.test_spine_cli import pineopt

REPO = Path(__file__).resolve().parents[2]


def test_cli_pine_run_uses_strategy_properties_and_shorts(home: Path) -> None:
    path = REPO / "examples" / "pine" / "supertrend.pine"
    done = pineopt("backtest", str(path), "--symbol", "BTCUSDT", "--timeframe", "4h",
                   "--start", "2024-01-01", "--json", home=home)
    assert done.returncode == 0, done.stderr + done.stdout
    out = json.loads(done.stdout)
    assert out["status"] == "completed" and out["trades"] > 0
    run = runs.get_run(home / "pineopt.duckdb", out["run_id"])
    props = pine.translate(path.read_text()).strategy_settings
    assert run.config.cash_usdt == props["initial_capital"]  # strategy() is the default
    assert run.config.params["syminfo_mintick"] == pytest.approx(0.1)  # from the catalogue
    trades = runs.run_trades(home / "pineopt.duckdb", out["run_id"])
    assert (trades["size"] < 0).any() and (trades["size"] > 0).any()  # Pine shorts on spot too


def test_user_capital_overrides_strategy_properties(settings: Settings) -> None:
    source = (REPO / "examples" / "pine" / "macd_strategy.pine").read_text()
    sid, _ = strategies.save(settings.db_path, meta=StrategyMeta(name="macd"), source=source,
                             language=Language.PINE)
    config = BacktestConfig(symbol="ETHUSDT", timeframe="4h", start="2024-01-01",
                            end="2024-06-30", cash_usdt=50_000.0)
    run = runs.run_sync(settings, strategy_id=sid, config=config)
    assert run.status is RunStatus.COMPLETED, run.error
    equity = runs.run_equity(settings.db_path, run.id)
    assert equity.iloc[0] == pytest.approx(50_000.0)


def test_strategy_defaults_reads_strategy_properties() -> None:
    source = (REPO / "examples" / "pine" / "supertrend.pine").read_text()
    props = pine.translate(source).strategy_settings
    assert pine_run.strategy_defaults(source) == {"cash_usdt": props["initial_capital"],
                                                  "commission": props["commission"]}
    assert pine_run.strategy_defaults("strategy(") == {}
