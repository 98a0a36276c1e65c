"""A leveraged perpetual run through the whole pipeline: sandbox, host checks, store, readers."""

from __future__ import annotations

import pytest

from core import costs, runs, strategies
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
