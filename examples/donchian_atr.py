"""Donchian (turtle) breakout: buy a new N-bar high with a stop 2 ATR below; exit on an M-bar low.

Runs unchanged in plain backtesting.py.
"""
import pandas as pd
from backtesting import Strategy


def channel_high(high, n):
    """Highest high of the previous n bars (excluding the current bar)."""
    return pd.Series(high).rolling(n).max().shift(1)


def channel_low(low, n):
    """Lowest low of the previous n bars (excluding the current bar)."""
    return pd.Series(low).rolling(n).min().shift(1)


def atr(high, low, close, n):
    """Average true range over n bars (price units)."""
    high, low, close = pd.Series(high), pd.Series(low), pd.Series(close)
    prev = close.shift(1)
    ranges = [high - low, (high - prev).abs(), (low - prev).abs()]
    true_range = pd.concat(ranges, axis=1).max(axis=1)
    return true_range.rolling(n).mean()


class DonchianAtr(Strategy):
    entry_bars = 55  # breakout channel length in bars; range: 10..200
    exit_bars = 20  # exit channel length in bars; range: 5..100
    atr_bars = 20  # ATR length in bars; range: 5..100
    stop_atr = 2.0  # stop distance in ATRs; range: 0.5..6; step: 0.5

    def init(self):
        self.upper = self.I(channel_high, self.data.High, self.entry_bars)
        self.lower = self.I(channel_low, self.data.Low, self.exit_bars)
        self.atr = self.I(atr, self.data.High, self.data.Low, self.data.Close, self.atr_bars)

    def next(self):
        close = self.data.Close[-1]
        if not self.position and close > self.upper[-1]:
            self.buy(size=0.95, sl=close - self.stop_atr * self.atr[-1])
        elif self.position and close < self.lower[-1]:
            self.position.close()
