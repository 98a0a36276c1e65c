"""EngineSettings.trade_from (the warm-up bars of core.runs.warmup) in-process: no order fills
before that bar, and from there a Python or a Pine strategy trades exactly as a continuous run
over the same bars does once it is flat."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.engine import backtest as engine
from core.pine.translation.api import translate
from tests.unit.test_lookahead_recording import PINE, _class

PYTHON = '''from backtesting import Strategy
from backtesting.lib import crossover
import pandas as pd


def sma(values, n):
    return pd.Series(values).rolling(n).mean()


class Cross(Strategy):
    def init(self):
        self.fast = self.I(sma, self.data.Close, 3)
        self.slow = self.I(sma, self.data.Close, 8)

    def next(self):
        if crossover(self.fast, self.slow):
            self.buy(size=1)
        elif crossover(self.slow, self.fast):
            self.position.close()
'''
TRADE_FROM = 100


def _data(n: int = 400) -> pd.DataFrame:
    close = 100 + 10 * np.sin(np.arange(n) / 7.0) + np.arange(n) * 0.02
    index = pd.date_range("2024-01-01", periods=n, freq="h")
    return pd.DataFrame({"Open": close + 0.3, "High": close + 1, "Low": close - 1,
                         "Close": close, "Volume": 1.0}, index=index)


def _keys(trades: pd.DataFrame) -> list[tuple]:
    return [(int(r.EntryBar), int(r.ExitBar), float(r.EntryPrice), float(r.ExitPrice),
             float(r.Size)) for r in trades.itertuples()]


@pytest.mark.parametrize("source", [PYTHON, PINE], ids=["python", "pine"])
def test_no_fill_before_trade_from_then_the_continuous_trades(source: str) -> None:
    if source is PINE:
        cls, base = _class(translate(PINE).python_source), {"mirror": True}
    else:
        cls, base = _class(PYTHON), {}
    full = engine.run(cls, _data(), engine.EngineSettings(cash_usdt=1e6, **base))
    warm = engine.run(cls, _data(), engine.EngineSettings(cash_usdt=1e6, trade_from=TRADE_FROM,
                                                          **base))
    assert len(warm.trades) >= 3 and warm.trades["EntryBar"].min() >= TRADE_FROM
    assert (warm.equity.iloc[:TRADE_FROM] == 1e6).all()  # nothing happened while warming up
    flat = full.trades[full.trades["EntryBar"] >= TRADE_FROM]  # those entered before: not ours
    assert _keys(warm.trades) == _keys(flat)
