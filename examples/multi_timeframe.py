"""Multi-timeframe trend: trade hourly RSI pullbacks only while the daily close is above its
daily moving average (computed with backtesting.lib.resample_apply).

Runs unchanged in plain backtesting.py.
"""
import pandas as pd
from backtesting import Strategy
from backtesting.lib import resample_apply


def sma(values, n):
    """Simple moving average over n bars of whatever timeframe it is given."""
    return pd.Series(values).rolling(n).mean()


def rsi(close, n):
    """Simple RSI (0-100) over n bars, from average gains and losses."""
    change = pd.Series(close).diff()
    gain = change.clip(lower=0).rolling(n).mean()
    loss = (-change.clip(upper=0)).rolling(n).mean()
    return 100 - 100 / (1 + gain / loss)


class MultiTimeframe(Strategy):
    daily_bars = 20  # daily moving average length in days; range: 5..100
    rsi_bars = 14  # hourly RSI length in bars; range: 2..50
    entry_rsi = 35.0  # buy the pullback below this hourly RSI; range: 5..50
    exit_rsi = 70.0  # sell above this hourly RSI; range: 50..95

    def init(self):
        self.daily_close = resample_apply("1D", None, self.data.Close)
        self.daily_sma = resample_apply("1D", sma, self.data.Close, self.daily_bars)
        self.rsi = self.I(rsi, self.data.Close, self.rsi_bars)

    def next(self):
        uptrend = self.daily_close[-1] > self.daily_sma[-1]
        if not self.position and uptrend and self.rsi[-1] < self.entry_rsi:
            self.buy(size=0.95)
        elif self.position and (self.rsi[-1] > self.exit_rsi or not uptrend):
            self.position.close()
