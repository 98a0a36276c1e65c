"""MACD trend: long while the MACD line is above its signal line, flat otherwise.

Uses TA-Lib's MACD. Runs unchanged in plain backtesting.py.
"""
import numpy as np
import talib
from backtesting import Strategy
from backtesting.lib import crossover


def macd_lines(close, fast, slow, signal):
    """MACD line and signal line (price units) from TA-Lib."""
    macd, macd_signal, hist = talib.MACD(np.asarray(close, dtype=float), fastperiod=fast,
                                         slowperiod=slow, signalperiod=signal)
    return macd, macd_signal


class MacdTrend(Strategy):
    fast = 12  # fast EMA length in bars; range: 2..50
    slow = 26  # slow EMA length in bars; range: 10..200
    signal = 9  # signal EMA length in bars; range: 2..50

    def init(self):
        self.macd, self.macd_signal = self.I(macd_lines, self.data.Close, self.fast, self.slow,
                                             self.signal)

    def next(self):
        if crossover(self.macd, self.macd_signal):
            self.buy(size=0.95)
        elif crossover(self.macd_signal, self.macd):
            self.position.close()
