"""backtesting.py idioms, each a strategy written the way its users write them (our own code,
shaped after the patterns of backtesting.py's documentation examples and its test suite).

Each Pattern holds the source exactly as it would run in plain backtesting.py and the name of
the class plain backtesting.py is given (the one the lab must pick on its own).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class Pattern:
    """One idiom: its source and the class a backtesting.py user would pass to Backtest."""

    name: str
    source: str
    run_class: str


SIGNAL_TRAILING = Pattern(name="signal_and_trailing_strategy", run_class="SmaTrail", source='''
import pandas as pd
from backtesting.lib import SignalStrategy, TrailingStrategy


class SmaTrail(SignalStrategy, TrailingStrategy):
    """Signals from a moving-average cross; a 2.5 ATR trailing stop. next() is inherited."""

    fast = 8
    slow = 21

    def init(self):
        super().init()
        close = pd.Series(self.data.Close)
        fast = self.I(lambda: close.rolling(self.fast).mean().to_numpy())
        slow = self.I(lambda: close.rolling(self.slow).mean().to_numpy())
        up = (pd.Series(fast) > pd.Series(slow)).astype(int).diff().fillna(0).to_numpy()
        self.set_signal(entry_size=(up > 0) * 0.95)
        self.set_trailing_sl(2.5)
''')

RENAMED_SIGNAL = Pattern(name="signal_strategy_imported_as_strategy", run_class="Breakout",
                         source='''
from backtesting.lib import SignalStrategy as Strategy


class Breakout(Strategy):
    """Long when the close is above the 20-bar mean, out when below; no next() written."""

    def init(self):
        mean = self.data.Close.s.rolling(20).mean()
        self.set_signal(self.data.Close > mean, self.data.Close < mean)
''')

INHERITED_NEXT = Pattern(name="inherited_next", run_class="QuickCross", source='''
import numpy as np
from backtesting import Strategy
from backtesting.lib import crossover


def sma(values, n):
    out = np.full(len(values), np.nan)
    for i in range(n - 1, len(values)):
        out[i] = values[i - n + 1:i + 1].mean()
    return out


class Cross(Strategy):
    fast = 10
    slow = 30

    def init(self):
        self.a = self.I(sma, self.data.Close, self.fast)
        self.b = self.I(sma, self.data.Close, self.slow)

    def next(self):
        if crossover(self.a, self.b):
            self.position.close()
            self.buy()
        elif crossover(self.b, self.a):
            self.position.close()
            self.sell()


class QuickCross(Cross):
    """Only the parameters change: init() and next() come from Cross."""

    fast = 5
    slow = 15
''')

BASE_AND_SUBCLASS = Pattern(name="base_class_then_strategy_named_strategy", run_class="Strategy",
                            source='''
import numpy as np
from backtesting import Strategy


class _Base(Strategy):
    def init(self):
        super().init()


class Momentum(_Base):
    lookback = 12

    def init(self):
        super().init()
        close = np.asarray(self.data.Close)
        change = np.full(len(close), np.nan)
        change[self.lookback:] = close[self.lookback:] / close[:-self.lookback] - 1
        self.change = self.I(lambda: change)

    def next(self):
        if self.change[-1] > 0.02 and not self.position.is_long:
            self.position.close()
            self.buy(size=0.5)
        elif self.change[-1] < -0.02 and not self.position.is_short:
            self.position.close()
            self.sell(size=0.5)


class Strategy(Momentum):
    """A file whose last class shadows the imported name, as backtesting.py's tests do."""

    lookback = 20
''')

UNDERSCORES = Pattern(name="underscore_names_and_attributes", run_class="EveryFewBars", source='''
from backtesting import Strategy


def _period_of(n):
    return n * 2 + 1


class EveryFewBars(Strategy):
    _hold = 6

    def init(self):
        self._done = 0
        self._entered_at = None
        self._period = _period_of(self._hold)

    def next(self):
        _bar = len(self.data)
        self._will_trade = _bar % self._period == 0 and self._done < 25
        if self._will_trade and not self.position:
            self.buy(size=0.3)
            self._entered_at = _bar
            self._done = self._done + 1
        elif self.position and _bar - self._entered_at >= self._hold:
            self.position.close()
''')

TALIB_ABSTRACT = Pattern(name="talib_abstract_from_import", run_class="RsiBands", source='''
from backtesting import Strategy
from talib import abstract


class RsiBands(Strategy):
    low = 35
    high = 65

    def init(self):
        self.rsi = self.I(abstract.RSI, self.data.Close, 14)

    def next(self):
        if self.rsi[-1] < self.low and not self.position:
            self.buy()
        elif self.rsi[-1] > self.high and self.position:
            self.position.close()
''')

CLOSE_PORTION = Pattern(name="close_half_the_position", run_class="HalfOut", source='''
from backtesting import Strategy
from backtesting.lib import crossover
from backtesting.test import SMA


class HalfOut(Strategy):
    def init(self):
        self.fast = self.I(SMA, self.data.Close, 10)
        self.slow = self.I(SMA, self.data.Close, 30)

    def next(self):
        if crossover(self.fast, self.slow):
            self.buy(size=10)
        elif crossover(self.slow, self.fast) and self.position:
            self.position.close(portion=.5)
''')

WEEKLY_RESAMPLE = Pattern(name="resample_apply_weekly", run_class="WeeklyTrend", source='''
from backtesting import Strategy
from backtesting.lib import resample_apply
from backtesting.test import SMA


class WeeklyTrend(Strategy):
    def init(self):
        self.daily = self.I(SMA, self.data.Close, 10)
        self.weekly = resample_apply("W-FRI", SMA, self.data.Close, 4)

    def next(self):
        above = self.data.Close[-1] > self.weekly[-1] and self.daily[-1] > self.weekly[-1]
        if above and not self.position:
            self.buy()
        elif not above and self.position:
            self.position.close()
''')

PATTERNS = (SIGNAL_TRAILING, RENAMED_SIGNAL, INHERITED_NEXT, BASE_AND_SUBCLASS, UNDERSCORES,
            TALIB_ABSTRACT, CLOSE_PORTION, WEEKLY_RESAMPLE)
