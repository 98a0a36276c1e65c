"""The parent's checks accept what the crypto broker really produces, and refuse doctored splits.

Engine runs happen in-process here (no sandbox): a random strategy on perp data with funding,
maker/taker fees, slippage, leverage (so liquidations happen) and both fill timings. The child's
files are written as the sandbox child writes them and fed to core.runs.result_check.check_result.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from backtesting import Strategy

from core.runs import broker_check, costs
from core.engine import backtest as engine
from core.errors import SandboxError
from core.model import BacktestConfig
from core.runs.result_check import check_result


def _bars(n: int = 1_200, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 30_000 * np.exp(np.cumsum(rng.normal(0, 0.012, n)))
    open_ = np.r_[close[0], close[:-1]]
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.01, n))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.01, n))
    return pd.DataFrame({"Open": open_, "High": high, "Low": low, "Close": close, "Volume": 1.0},
                        index=pd.date_range("2024-03-01", periods=n, freq="1h"))


class Random(Strategy):
    """Deterministic pseudo-random entries and exits of every order type."""

    def init(self) -> None:
        self.rng = np.random.default_rng(11)

    def next(self) -> None:
        roll = self.rng.random()
        price = self.data.Close[-1]
        if not self.position and roll < 0.08:
            self.buy(size=0.6)
        elif not self.position and roll < 0.14:
            self.sell(size=0.4, limit=price * 1.002, sl=price * 1.03)
        elif not self.position and roll < 0.18:
            self.buy(size=0.5, stop=price * 1.003, tp=price * 1.02)
        elif self.position and roll < 0.1:
            self.position.close()


def _config(fill_timing: str) -> BacktestConfig:
    return costs.with_presets(BacktestConfig(
        market="perp", cash_usdt=10_000, fractional=True,
        costs={"slippage_bps": 2, "slippage_range_frac": 0.05, "fill_timing": fill_timing},
        margin={"leverage": 20}))


def _write(out: engine.EngineOutput, out_dir: Path) -> dict:
    out_dir.mkdir(parents=True, exist_ok=True)
    out.equity.rename("equity").to_frame().to_parquet(out_dir / "equity.parquet")
    out.trades.to_parquet(out_dir / "trades.parquet")
    return {"trades": len(out.trades)}


@pytest.fixture(params=["next_open", "this_close"])
def produced(request: pytest.FixtureRequest, tmp_path: Path) -> tuple:
    data = _bars()
    config = _config(request.param)
    broker = costs.engine_settings(config, lot_step_coins=0.001, min_notional_usdt=5)
    funding = costs.constant_funding(index=data.index, rate_8h=0.0003)
    out = engine.run(Random, data, engine.EngineSettings(**broker), funding=funding)
    claimed = _write(out, tmp_path / "out")
    return data, broker, funding, out, claimed, tmp_path / "out"


def test_real_broker_output_passes_the_host_checks(produced: tuple) -> None:
    data, broker, funding, out, claimed, out_dir = produced
    reasons = set(out.trades["ExitReason"])
    assert {"liquidation", "signal"} <= reasons, reasons
    assert out.trades["Funding"].ne(0).any() and out.trades["Slippage"].gt(0).any()
    equity, trades = check_result(out_dir, data, claimed, cash_usdt=10_000, commission=0.0,
                                  broker=broker, funding=funding)
    assert equity.iloc[-1] == pytest.approx(10_000 + trades["PnL"].sum(), rel=1e-9)


@pytest.mark.parametrize(("column", "delta", "message"), [
    ("Funding", 0.5, "funding"), ("EntryFee", 0.01, "fees"), ("Slippage", -0.2, "slippage")])
def test_doctored_split_is_rejected(produced: tuple, column: str, delta: float,
                                    message: str) -> None:
    data, broker, funding, out, claimed, out_dir = produced
    trades = out.trades.copy()
    i = int(np.argmax(trades["Funding"].ne(0).to_numpy()))
    trades.loc[trades.index[i], column] += delta
    trades.to_parquet(out_dir / "trades.parquet")
    with pytest.raises(SandboxError, match=message):
        check_result(out_dir, data, claimed, cash_usdt=10_000, commission=0.0, broker=broker,
                     funding=funding)


def test_margin_series_tracks_position_and_liquidation_distance(produced: tuple) -> None:
    data, broker, _funding, out, _claimed, _dir = produced
    series = broker_check.margin_series(out.trades, data, broker=broker)
    held = series["position_coins"].ne(0)
    assert held.any() and series.loc[held, "liq_distance"].notna().all()
    assert series.loc[~held, "liq_distance"].isna().all()
    assert (series.loc[held, "liq_distance"] > -0.02).all()  # liquidated before going far past
    assert series["margin_used_usdt"].ge(0).all()
