"""Leveraged perpetual runs through the whole pipeline (sandbox, host checks, store, readers),
from the service API and from the CLI flags of issue #7."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.runs import costs, service as runs
from core.strategies import crud as strategies
from core.model import BacktestConfig, RunStatus, StrategyMeta
from core.settings import Settings

ALWAYS_LONG = '''
from backtesting import Strategy


class AlwaysLong(Strategy):
    """Hold a long with all available margin; re-enter after every exit."""

    def init(self):
        pass

    def next(self):
        if not self.position:
            self.buy(size=0.95)
'''


def test_perp_run_stores_liquidations_funding_and_margin_series(settings: Settings) -> None:
    sid, _ = strategies.save(settings.db_path, meta=StrategyMeta(name="long"), source=ALWAYS_LONG)
    config = costs.with_presets(BacktestConfig(
        market="perp", symbol="BTCUSDT", timeframe="1h", start="2023-01-01", end="2023-06-30",
        cash_usdt=1_000, fractional=True, costs={"slippage_bps": 2},
        margin={"leverage": 25, "spot_margin": False}))
    run = runs.run_sync(settings, strategy_id=sid, config=config)
    assert run.status is RunStatus.COMPLETED, run.error
    trades = runs.run_trades(settings.db_path, run.id)
    assert "liquidation" in set(trades["exit_reason"])
    assert (trades["size"] % 0.00001).abs().lt(1e-9).all() or (trades["size"] < 1).all()
    split = runs.run_cost_split(settings.db_path, run.id)
    assert split["fees_paid"] == pytest.approx(trades["fees"].sum())
    assert split["funding_pnl"] == pytest.approx(trades["funding"].sum()) and split["funding_pnl"]
    assert split["slippage_cost"] > 0 and split["liquidations"] >= 1
    assert trades["pnl"].to_numpy() == pytest.approx(
        (trades["price_pnl"] - trades["slippage_cost"] - trades["fees"] + trades["funding"]
         ).to_numpy(), abs=1e-6)
    series = runs.run_margin_series(settings.db_path, run.id)
    assert len(series) == len(runs.run_equity(settings.db_path, run.id))
    assert series["liq_distance"].dropna().between(-0.05, 1).all()
    events = runs.run_risk_events(settings.db_path, run.id)
    assert (events["rule"] == "liquidation").sum() == split["liquidations"]
    assert "funding:" in run.log


def test_cli_perp_flags_run_and_report_the_cost_split(home: Path) -> None:
    repo = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, str(repo / "cli.py"), "backtest", str(repo / "examples" / "sma_cross.py"),
         "--symbol", "BTCUSDT", "--timeframe", "4h", "--start", "2024-01-01", "--end",
         "2024-06-30", "--market", "perp", "--leverage", "10", "--maker-fee", "0.0002",
         "--taker-fee", "0.0005", "--slippage-bps", "2", "--funding-rate", "0.0001",
         "--max-drawdown-halt", "0.3", "--json"],
        capture_output=True, text=True, cwd=repo, timeout=300, check=False,
        env={**os.environ, "PINEOPT_HOME": str(home)})
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["status"] == "completed" and out["trades"] > 0
    costs_ = out["costs"]
    assert costs_["fees_paid"] > 0 and costs_["slippage_cost"] > 0 and costs_["funding_pnl"] != 0
    bad = subprocess.run(
        [sys.executable, str(repo / "cli.py"), "backtest", str(repo / "examples" / "sma_cross.py"),
         "--symbol", "BTCUSDT", "--timeframe", "4h", "--market", "perp", "--leverage", "500"],
        capture_output=True, text=True, cwd=repo, timeout=120, check=False,
        env={**os.environ, "PINEOPT_HOME": str(home)})
    assert bad.returncode == 1
    assert "--leverage 500.0 is out of range: allowed from 1 to 125" in bad.stderr
