"""The lookahead check's child-side recording (core.engine.recording) in-process: every order
carries the strategy line of the call that placed it — self.buy/self.sell, position.close(), a
stop-loss or take-profit attached by buy(sl=, tp=) — and every self.I indicator the line of its
call; Pine plot() series and orders carry their Pine lines."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.engine import backtest as engine
from core.engine.recording import STRATEGY_FILENAME, Recorder
from core.pine.translation.api import translate

STRATEGY = '''from backtesting import Strategy
from backtesting.lib import crossover
import pandas as pd


def sma(values, n):
    return pd.Series(values).rolling(n).mean()


class Cross(Strategy):
    def init(self):
        self.fast = self.I(sma, self.data.Close, 3)
        self.slow = self.I(sma, self.data.Close, 8)

    def next(self):
        price = self.data.Close[-1]
        if crossover(self.fast, self.slow):
            self.buy(size=1, sl=price * 0.5, tp=price * 2)
        elif crossover(self.slow, self.fast) and self.position:
            self.position.close()
'''
BUY_LINE, CLOSE_LINE = 18, 20


def _data(n: int = 300) -> pd.DataFrame:
    close = 100 + 10 * np.sin(np.arange(n) / 9.0) + np.arange(n) * 0.01
    index = pd.date_range("2024-01-01", periods=n, freq="h")
    return pd.DataFrame({"Open": close, "High": close + 1, "Low": close - 1, "Close": close,
                         "Volume": 1.0}, index=index)


def _class(source: str) -> type:
    """The strategy class of ``source``, compiled under the child's file name."""
    from backtesting import Strategy

    scope: dict = {}
    exec(compile(source, STRATEGY_FILENAME, "exec"), scope)  # noqa: S102 - our own test source
    (cls,) = [v for v in scope.values()
              if isinstance(v, type) and issubclass(v, Strategy) and v is not Strategy]
    return cls


def test_python_orders_and_indicators_carry_their_lines() -> None:
    recorder = Recorder()
    out = engine.run(recorder.wrap(_class(STRATEGY)), _data(),
                     engine.EngineSettings(cash_usdt=1_000_000.0))
    assert len(out.trades) >= 3
    assert [line for line, _ in recorder.indicators] == [12, 13]
    entries = [o for o in recorder.orders if not o[6]]
    brackets = [o for o in recorder.orders if o[6] and (o[3] == o[3] or o[2] == o[2])]
    closes = [o for o in recorder.orders if o[6] and o[3] != o[3] and o[2] != o[2]]
    assert entries and brackets and closes
    assert {o[7] for o in entries} == {BUY_LINE}
    assert {o[7] for o in brackets} == {BUY_LINE}  # the sl/tp come from that buy(sl=, tp=)
    assert {o[7] for o in closes} == {CLOSE_LINE}


PINE = """//@version=5
strategy("Lines", overlay=true)
fast = ta.sma(close, 3)
slow = ta.sma(close, 8)
plot(fast, "Fast")
if ta.crossover(fast, slow)
    strategy.entry("L", strategy.long)
if ta.crossunder(fast, slow)
    strategy.close("L")
plot(slow, "Slow")
"""


def test_pine_plots_and_orders_carry_their_pine_lines() -> None:
    translated = translate(PINE)
    cls = _class(translated.python_source)
    recorder = Recorder()
    out = engine.run(recorder.wrap(cls), _data(), engine.EngineSettings(
        cash_usdt=1_000_000.0, mirror=True))
    assert len(out.trades) >= 3
    assert {o[7] for o in recorder.orders if not o[6] and o[1] > 0} == {7}
    assert {o[7] for o in recorder.orders if o[1] < 0} == {9}
    assert recorder._strategy.pine.plot_lines == {"Fast": 5, "Slow": 10}
