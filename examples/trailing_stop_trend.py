"""Trailing-stop trend follower: buy above a long EMA, then trail a stop k ATR below the high.

The stop only ever moves up (trade.sl is raised on each bar). Runs unchanged in backtesting.py.
"""
import pandas as pd
from backtesting import Strategy


def ema(close, n):
    """Exponential moving average of the close over n bars."""
    return pd.Series(close).ewm(span=n, adjust=False).mean()


def atr(high, low, close, n):
    """Average true range over n bars (price units)."""
    high, low, close = pd.Series(high), pd.Series(low), pd.Series(close)
    prev = close.shift(1)
    ranges = [high - low, (high - prev).abs(), (low - prev).abs()]
    true_range = pd.concat(ranges, axis=1).max(axis=1)
    return true_range.rolling(n).mean()


class TrailingStopTrend(Strategy):
    trend_bars = 100  # EMA length that defines the trend; range: 20..400
    atr_bars = 14  # ATR length in bars; range: 5..100
    trail_atr = 3.0  # trailing distance in ATRs; range: 1..10; step: 0.5

    def init(self):
        self.trend = self.I(ema, self.data.Close, self.trend_bars)
        self.atr = self.I(atr, self.data.High, self.data.Low, self.data.Close, self.atr_bars)

    def next(self):
        close = self.data.Close[-1]
        stop = self.data.High[-1] - self.trail_atr * self.atr[-1]
        if not self.position and close > self.trend[-1]:
            self.buy(size=0.95, sl=close - self.trail_atr * self.atr[-1])
        for trade in self.trades:
            if trade.sl is None or stop > trade.sl:
                trade.sl = stop
