"""Market-order TradingView built-ins vs hand-written backtesting.py twins: same trades."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.unit.pine import reference as ref
from tests.unit.pine.harness import (TwinBase, assert_same_trades, load_bars, run_example,
                                     run_twin, with_gaps)


@pytest.fixture
def bars(settings):
    return load_bars(settings)


class MACrossTwin(TwinBase):
    def init(self):
        _, _, _, self.c = self.arrays()
        self.ma = ref.sma(self.c, 9)
        self.up = self.dn = 0

    def next(self):
        i = self.i
        self.up = self.up + 1 if self.c[i] > self.ma[i] else 0
        self.dn = self.dn + 1 if self.c[i] < self.ma[i] else 0
        if self.up == 1:
            self.enter(1)
        if self.dn == 1:
            self.enter(-1)


class MA2LineTwin(TwinBase):
    def init(self):
        _, _, _, c = self.arrays()
        fast, slow = ref.sma(c, 9), ref.sma(c, 18)
        self.long, self.short = ref.crossover(fast, slow), ref.crossunder(fast, slow)

    def next(self):
        if self.long[self.i]:
            self.enter(1)
        if self.short[self.i]:
            self.enter(-1)


class RSITwin(TwinBase):
    def init(self):
        _, _, _, c = self.arrays()
        r = ref.rsi(c, 14)
        self.long = ref.crossover(r, np.full(len(r), 30.0)) & ~np.isnan(r)
        self.short = ref.crossunder(r, np.full(len(r), 70.0)) & ~np.isnan(r)

    next = MA2LineTwin.next


class MACDTwin(TwinBase):
    def init(self):
        _, _, _, c = self.arrays()
        macd = ref.ema(c, 12) - ref.ema(c, 26)
        delta = macd - ref.ema(macd, 9)
        zero = np.zeros(len(c))
        self.long, self.short = ref.crossover(delta, zero), ref.crossunder(delta, zero)

    next = MA2LineTwin.next


class ConsecutiveTwin(TwinBase):
    def init(self):
        _, _, _, self.c = self.arrays()
        self.ups = self.dns = 0

    def next(self):
        c, i = self.c, self.i
        self.ups = self.ups + 1 if c[i] > c[i - 1] else 0
        self.dns = self.dns + 1 if c[i] < c[i - 1] else 0
        if self.ups >= 3:
            self.enter(1)
        if self.dns >= 3:
            self.enter(-1)


class InsideBarTwin(TwinBase):
    inside = True

    def init(self):
        self.o, self.h, self.l, self.c = self.arrays()

    def next(self):
        o, h, low, c, i = self.o, self.h, self.l, self.c, self.i
        pattern = (h[i] < h[i - 1] and low[i] > low[i - 1]) if self.inside else \
            (h[i] > h[i - 1] and low[i] < low[i - 1])
        if pattern and c[i] > o[i]:
            self.enter(1)
        if pattern and c[i] < o[i]:
            self.enter(-1)


class OutsideBarTwin(InsideBarTwin):
    inside = False


class StochSlowTwin(TwinBase):
    def init(self):
        _, h, low, c = self.arrays()
        self.k = ref.sma(ref.stoch(c, h, low, 14), 3)
        self.d = ref.sma(self.k, 3)
        self.co, self.cu = ref.crossover(self.k, self.d), ref.crossunder(self.k, self.d)

    def next(self):
        i, k = self.i, self.k[self.i]
        if math.isnan(k) or math.isnan(self.d[i]):
            return
        if self.co[i] and k < 20:
            self.enter(1)
        if self.cu[i] and k > 80:
            self.enter(-1)


class PivotExtensionTwin(TwinBase):
    def init(self):
        _, h, low, _ = self.arrays()
        self.long = ~np.isnan(ref.pivots(low, 4, 2, high=False))
        self.short = ~np.isnan(ref.pivots(h, 4, 2, high=True))

    next = MA2LineTwin.next


class SupertrendTwin(TwinBase):
    def init(self):
        _, h, low, self.c = self.arrays()
        _, direction = ref.supertrend(h, low, self.c, 3.0, 10)
        change = np.diff(direction, prepend=np.nan)
        self.long, self.short = change < 0, change > 0

    def next(self):
        i = self.i
        qty = math.floor(self.equity * 0.15 / self.c[i] * 1e8 + 1e-9) / 1e8
        if self.long[i]:
            self.enter(1, qty)
        if self.short[i]:
            self.enter(-1, qty)


class BarUpDnTwin(TwinBase):
    """BarUpDn on gapped bars. The twin has no 1 % intraday-loss rule: a day where Pine's rule
    fired would show up as a trade mismatch."""

    def init(self):
        self.o, _, _, self.c = self.arrays()

    def next(self):
        o, c, i = self.o, self.c, self.i
        qty = math.floor(self.equity * 0.10 / c[i] * 1e8 + 1e-9) / 1e8
        if c[i] > o[i] and o[i] > c[i - 1]:
            self.enter(1, qty)
        if c[i] < o[i] and o[i] < c[i - 1]:
            self.enter(-1, qty)


CASES = [
    ("moving_avg_cross", MACrossTwin),
    ("moving_avg_2line_cross", MA2LineTwin),
    ("rsi_strategy", RSITwin),
    ("macd_strategy", MACDTwin),
    ("consecutive_up_down", ConsecutiveTwin),
    ("inside_bar", InsideBarTwin),
    ("outside_bar", OutsideBarTwin),
    ("stochastic_slow", StochSlowTwin),
    ("pivot_extension", PivotExtensionTwin),
    ("supertrend", SupertrendTwin),
]


@pytest.mark.parametrize(("name", "twin"), CASES, ids=[c[0] for c in CASES])
def test_market_order_builtin_matches_its_twin(bars, name, twin):
    assert_same_trades(run_example(name, bars), run_twin(twin, bars))


def test_bar_up_dn_matches_its_twin_on_gapped_bars(bars):
    gapped = with_gaps(bars)
    assert_same_trades(run_example("bar_up_dn", gapped), run_twin(BarUpDnTwin, gapped))
