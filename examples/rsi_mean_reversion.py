"""RSI mean reversion: buy when RSI dips below the oversold level, sell when it recovers.

Uses the `ta` library's RSI. Runs unchanged in plain backtesting.py.
Parameters are class attributes; the trailing comment gives a description and a range.
"""
import pandas as pd
from backtesting import Strategy
from ta.momentum import rsi


def rsi_line(close, n):
    """Wilder's RSI (0-100) of the close over n bars."""
    return rsi(pd.Series(close), window=n)


class RsiMeanReversion(Strategy):
    period = 14  # RSI lookback in bars; range: 2..50
    oversold = 30.0  # buy below this RSI level; range: 5..45
    overbought = 60.0  # sell above this RSI level; range: 50..95

    def init(self):
        self.rsi = self.I(rsi_line, self.data.Close, self.period)

    def next(self):
        if not self.position and self.rsi[-1] < self.oversold:
            self.buy(size=0.95)
        elif self.position and self.rsi[-1] > self.overbought:
            self.position.close()
