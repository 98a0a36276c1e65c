"""Scaled entry (DCA-style): buy a tranche each time the price falls another step below the
average; sell everything when the price recovers above it.

Sizes are whole coins (at least one per tranche). Runs unchanged in plain backtesting.py.
"""
import pandas as pd
from backtesting import Strategy


def sma(close, n):
    """Simple moving average of the close over n bars."""
    return pd.Series(close).rolling(n).mean()


class DcaScaledEntry(Strategy):
    average_bars = 200  # bars in the reference average; range: 20..500
    step_pct = 3.0  # each tranche needs the price this % further below the average; range: 0.5..20
    tranches = 3  # most tranches held at once; range: 1..10
    take_profit_pct = 1.0  # sell all this % above the average; range: 0..20

    def init(self):
        self.average = self.I(sma, self.data.Close, self.average_bars)
        self.filled = 0

    def next(self):
        close = self.data.Close[-1]
        average = self.average[-1]
        if not self.position:
            self.filled = 0
        if self.position and close > average * (1 + self.take_profit_pct / 100):
            self.position.close()
            return
        target = average * (1 - self.step_pct * (self.filled + 1) / 100)
        if self.filled < self.tranches and close < target:
            units = max(1, int(self.equity / self.tranches / close))
            if units * close < self.equity - self.position.size * close:
                self.buy(size=units)
                self.filled = self.filled + 1
