"""SMA cross: go long when the fast moving average crosses above the slow one, flat when below.

Runs unchanged in plain backtesting.py.
"""
import pandas as pd
from backtesting import Strategy
from backtesting.lib import crossover


def sma(values, n):
    """Simple moving average of the last n values."""
    return pd.Series(values).rolling(n).mean()


class SmaCross(Strategy):
    fast = 20  # bars in the fast average; range: 5..100
    slow = 60  # bars in the slow average; range: 20..300

    def init(self):
        self.fast_ma = self.I(sma, self.data.Close, self.fast)
        self.slow_ma = self.I(sma, self.data.Close, self.slow)

    def next(self):
        if crossover(self.fast_ma, self.slow_ma):
            self.position.close()
            self.buy()
        elif crossover(self.slow_ma, self.fast_ma):
            self.position.close()
