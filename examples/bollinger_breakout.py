"""Bollinger breakout: buy a close above the upper band, exit when the close falls below the mid.

Pure pandas indicators. Runs unchanged in plain backtesting.py.
"""
import pandas as pd
from backtesting import Strategy


def bands(close, n, width):
    """Middle, upper and lower Bollinger bands (price units)."""
    series = pd.Series(close)
    mid = series.rolling(n).mean()
    dev = series.rolling(n).std()
    return mid, mid + width * dev, mid - width * dev


class BollingerBreakout(Strategy):
    period = 20  # bars in the moving average; range: 5..200
    width = 2.0  # band width in standard deviations; range: 0.5..4; step: 0.1

    def init(self):
        self.mid, self.upper, self.lower = self.I(bands, self.data.Close, self.period, self.width)

    def next(self):
        close = self.data.Close[-1]
        if not self.position and close > self.upper[-1]:
            self.buy(size=0.95)
        elif self.position and close < self.mid[-1]:
            self.position.close()
