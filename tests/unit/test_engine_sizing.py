"""Order sizes in the engine: backtesting.py's meaning kept, coins(x) exact, fractions of coins.

Also a Hypothesis property: on random data and random SMA parameters, the engine with every
realism setting off gives backtesting.py's exact trades and equity.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from backtesting import Backtest, Strategy
from backtesting.lib import crossover
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.engine import backtest as engine
from core.sizing import coins
from tests.unit.test_scenarios_broker import run, scripted


def test_invalid_size_says_what_is_allowed() -> None:
    rows = [(100, 100, 100, 100), (100, 101, 99, 100), (100, 101, 99, 100)]
    with pytest.raises(ValueError, match=r"coins\(x\) for an exact fractional coin quantity"):
        run(rows, {1: [("buy", {"size": 2.5})]})


def test_coins_sell_opens_an_exact_short_and_position_reads_coins() -> None:
    seen: list[float] = []

    class Short(Strategy):
        def init(self) -> None:
            pass

        def next(self) -> None:
            if len(self.data) == 2:
                self.sell(size=coins(0.015))
            seen.append(self.position.size)

    data = pd.DataFrame({"Open": 100.0, "High": 101.0, "Low": 99.0, "Close": 100.0,
                         "Volume": 1.0}, index=pd.date_range("2024-01-01", periods=4, freq="1h"))
    out = engine.run(Short, data, engine.EngineSettings(cash_usdt=1_000, lot_step_coins=0.001))
    assert out.trades["Size"].tolist() == [-0.015]
    assert seen[-1] == pytest.approx(-0.015)


def test_partial_close_of_a_fractional_trade_uses_the_lot_step() -> None:
    rows = [
        (100, 100, 100, 100),  # 0 warm-up
        (100, 101, 99, 100),   # 1 buy 0.015 coins
        (100, 101, 99, 100),   # 2 entry; close half: 0.0075 floors to 0.007
        (102, 103, 101, 102),  # 3 0.007 closed at 102; 0.008 left, closed at the end
    ]
    actions = {1: [("buy", {"size": coins(0.015)})], 2: [("trades_close_half", {})]}

    class Script(scripted(actions)):
        def trades_close_half(self) -> None:
            self.trades[0].close(0.5)

    data = pd.DataFrame(rows, columns=["Open", "High", "Low", "Close"]).assign(Volume=1.0)
    data.index = pd.date_range("2024-01-01", periods=len(rows), freq="1h")
    out = engine.run(Script, data, engine.EngineSettings(cash_usdt=1_000, lot_step_coins=0.001))
    assert out.trades["Size"].tolist() == pytest.approx([0.007, 0.008])
    assert out.trades["ExitReason"].tolist() == ["signal", "end_of_data"]


def _bars(seed: int, n: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 50 * np.exp(np.cumsum(rng.normal(0, 0.02, n)))
    open_ = np.r_[close[0], close[:-1]]
    return pd.DataFrame({"Open": open_, "High": np.maximum(open_, close) * 1.01,
                         "Low": np.minimum(open_, close) * 0.99, "Close": close, "Volume": 1.0},
                        index=pd.date_range("2024-01-01", periods=n, freq="1h"))


class Cross(Strategy):
    fast = 5
    slow = 20
    size = 0.5

    def init(self) -> None:
        close = pd.Series(self.data.Close)
        self.a = self.I(lambda: close.rolling(self.fast).mean().to_numpy())
        self.b = self.I(lambda: close.rolling(self.slow).mean().to_numpy())

    def next(self) -> None:
        if crossover(self.a, self.b):
            self.position.close()
            self.buy(size=self.size, sl=self.data.Close[-1] * 0.9)
        elif crossover(self.b, self.a):
            self.position.close()
            self.sell(size=self.size, tp=self.data.Close[-1] * 0.8)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), fast=st.integers(2, 10), slow=st.integers(12, 40),
       size=st.sampled_from([0.2, 0.5, 0.9999, 3.0]), commission=st.sampled_from([0.0, 0.002]))
def test_engine_matches_plain_backtesting_on_random_inputs(seed: int, fast: int, slow: int,
                                                           size: float, commission: float) -> None:
    data = _bars(seed, 400)
    params = {"fast": fast, "slow": slow, "size": size}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = Backtest(data, Cross, cash=10_000, commission=commission,
                        finalize_trades=True).run(**params)
    got = engine.run(Cross, data, engine.EngineSettings(cash_usdt=10_000, commission=commission),
                     params=params)
    np.testing.assert_array_equal(got.equity.to_numpy(), want["_equity_curve"]["Equity"].to_numpy())
    for column in engine.TRADE_COLUMNS:
        assert list(got.trades[column]) == list(want["_trades"][column]), column


def test_coins_below_one_whole_coin_are_refused_without_fractional_trading() -> None:
    rows = [(100, 100, 100, 100), (100, 101, 99, 100), (100, 101, 99, 100)]
    out = run(rows, {1: [("buy", {"size": coins(0.5)}), ("buy", {"size": coins(2.7)})]})
    assert out.rejected == {"below_lot_step": 1}
    assert out.trades["Size"].tolist() == [2]  # floored to whole coins (lot step 1)
