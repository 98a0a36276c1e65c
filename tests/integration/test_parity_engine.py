"""With every realism setting off, core.engine equals plain backtesting.py exactly.

Engine level: three strategies cover market orders with fractional-equity sizes, limit/stop entries with
SL/TP brackets and partial closes, and trade-on-close with exclusive orders; each runs with and
without a single commission rate. Every public statistic, the equity curve and every trade must
be identical (not merely close). Pipeline level: a stored run through the sandbox matches too.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from backtesting import Backtest, Strategy
from backtesting.lib import crossover

from core.engine import backtest as engine
from core.market import catalogue as market_data
from core.runs import service as runs
from core.strategies import crud as strategies
from core.model import BacktestConfig, RunStatus, StrategyMeta
from core.settings import Settings


def _ohlcv(n: int = 1_500, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    open_ = np.r_[close[0], close[:-1]] * (1 + rng.normal(0, 0.002, n))
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.01, n))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.01, n))
    index = pd.date_range("2024-01-01", periods=n, freq="1h")
    return pd.DataFrame({"Open": open_, "High": high, "Low": low, "Close": close,
                         "Volume": rng.uniform(1, 10, n)}, index=index)


def _sma(values: np.ndarray, n: int) -> np.ndarray:
    return pd.Series(values).rolling(n).mean().to_numpy()


class SmaFlip(Strategy):
    """Market orders, fraction-of-equity sizes, always in the market (long or short)."""

    fast = 10
    slow = 30

    def init(self) -> None:
        self.a = self.I(_sma, self.data.Close, self.fast)
        self.b = self.I(_sma, self.data.Close, self.slow)

    def next(self) -> None:
        if crossover(self.a, self.b):
            self.position.close()
            self.buy(size=0.5)
        elif crossover(self.b, self.a):
            self.position.close()
            self.sell()


class Brackets(Strategy):
    """Limit and stop entries in whole units with SL/TP, and partial closes."""

    def init(self) -> None:
        pass

    def next(self) -> None:
        close = self.data.Close[-1]
        i = len(self.data)
        if i % 17 == 0 and not self.position:
            self.buy(size=3, limit=close * 0.995, sl=close * 0.97, tp=close * 1.03)
        elif i % 23 == 0 and not self.position:
            self.sell(size=2, stop=close * 0.99, sl=close * 1.04, tp=close * 0.95)
        elif i % 11 == 0 and self.position:
            self.trades[0].close(0.5)
        if i % 41 == 0:
            for order in self.orders:
                if not order.is_contingent:
                    order.cancel()


PLAIN = dict(finalize_trades=True)
CASES = [
    (SmaFlip, {}, 0.0),
    (SmaFlip, {}, 0.001),
    (Brackets, {}, 0.0),
    (Brackets, {}, 0.002),
    (SmaFlip, {"trade_on_close": True, "exclusive_orders": True}, 0.001),
    (Brackets, {"hedging": True}, 0.001),
]


def _plain(cls: type, data: pd.DataFrame, extra: dict, commission: float) -> pd.Series:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Backtest(data, cls, cash=10_000, commission=commission, **PLAIN, **extra).run()


@pytest.mark.parametrize(("cls", "extra", "commission"), CASES)
def test_engine_equals_plain_backtesting(cls: type, extra: dict, commission: float) -> None:
    data = _ohlcv()
    expected = _plain(cls, data, extra, commission)
    settings = engine.EngineSettings(cash_usdt=10_000, commission=commission, **extra)
    got = engine.run(cls, data, settings, stats=True)
    assert expected["# Trades"] > 5
    for key in (k for k in expected.index if not str(k).startswith("_")):
        left, right = got.stats[key], expected[key]
        assert (pd.isna(left) and pd.isna(right)) or left == right, key
    np.testing.assert_array_equal(got.equity.to_numpy(),
                                  expected["_equity_curve"]["Equity"].to_numpy())
    want = expected["_trades"]
    for column in engine.TRADE_COLUMNS:
        assert list(got.trades[column]) == list(want[column]), column
    assert set(got.trades["ExitReason"]) <= set(engine.EXIT_REASONS)
    assert got.trades["Funding"].eq(0).all() and got.trades["Slippage"].eq(0).all()


def test_stored_run_with_realism_off_equals_plain_backtesting(settings: Settings,
                                                              sma_source: str) -> None:
    """Through the sandbox and the store: an older-style config (one commission, whole coins,
    shorts allowed) gives backtesting.py's own trades, and its equity to float precision."""
    config = BacktestConfig(symbol="ETHUSDT", timeframe="4h", start="2023-01-01",
                            end="2023-12-31", commission=0.001, cash_usdt=100_000)
    sid, _ = strategies.save(settings.db_path, meta=StrategyMeta(name="sma"), source=sma_source)
    run = runs.run_sync(settings, strategy_id=sid, config=config)
    assert run.status is RunStatus.COMPLETED, run.error
    data = market_data.load_ohlcv(settings.db_path, exchange="sample", market="spot",
                                  symbol="ETHUSDT", timeframe="4h", start="2023-01-01",
                                  end="2023-12-31")
    namespace: dict = {}
    exec(compile(sma_source, "sma_cross.py", "exec"), namespace)  # noqa: S102 - our example
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = Backtest(data, namespace["SmaCross"], cash=100_000, commission=0.001,
                        finalize_trades=True).run()
    stored = runs.run_trades(settings.db_path, run.id)
    assert len(stored) == want["# Trades"] > 3
    np.testing.assert_array_equal(stored["size"].to_numpy(), want["_trades"]["Size"].to_numpy())
    np.testing.assert_array_equal(stored["entry_price"].to_numpy(),
                                  want["_trades"]["EntryPrice"].to_numpy())
    np.testing.assert_array_equal(stored["pnl"].to_numpy(), want["_trades"]["PnL"].to_numpy())
    equity = runs.run_equity(settings.db_path, run.id).to_numpy()
    np.testing.assert_allclose(equity, want["_equity_curve"]["Equity"].to_numpy(), rtol=1e-12)
