"""The engine golden's strategy: an SMA cross that reverses long/short with a fixed margin share.

Trusted test code (run in-process, never through the sandbox). ``size`` below 1 keeps
backtesting.py's meaning: a fraction of the available margin.
"""
import pandas as pd
from backtesting import Strategy
from backtesting.lib import crossover


def sma(values, n):
    """Simple moving average of the last n values."""
    return pd.Series(values).rolling(n).mean()


class GoldenReversal(Strategy):
    fast = 10
    slow = 30
    size = 0.3

    def init(self):
        self.fast_ma = self.I(sma, self.data.Close, self.fast)
        self.slow_ma = self.I(sma, self.data.Close, self.slow)

    def next(self):
        if crossover(self.fast_ma, self.slow_ma):
            self.position.close()
            self.buy(size=self.size)
        elif crossover(self.slow_ma, self.fast_ma):
            self.position.close()
            self.sell(size=self.size)
