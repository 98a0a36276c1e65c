"""The ``ta`` namespace of translated Pine: ta.* built-ins bound to the current bar.

Generated code calls ``ta.sma(st[3], close, length)``: the first argument is the call site's
state Node, the rest are Pine's arguments in Pine's order.
"""

from __future__ import annotations

import math as _math
from typing import Any

from core.pine.emulation import ta_avg as _avg
from core.pine.emulation import ta_extra as _extra
from core.pine.emulation import ta_range as _rng
from core.pine.emulation.state import NA, Node
from core.pine.emulation.ta_avg import isna


class Bar:
    """The bar being executed: prices, volume, time (UTC ms) and index; prev_close is na on 0."""

    __slots__ = ("open_price", "high", "low", "close", "volume", "time", "time_close", "index",
                 "prev_close", "hl2", "hlc3", "ohlc4", "hlcc4", "ta")
    # na (NA) until the runtime's first update; then floats, ints for time and index
    open_price: Any
    high: Any
    low: Any
    close: Any
    volume: Any
    time: Any
    time_close: Any
    index: Any
    prev_close: Any
    hl2: Any
    hlc3: Any
    ohlc4: Any
    hlcc4: Any
    ta: TA

    def __init__(self) -> None:
        for name in self.__slots__:
            setattr(self, name, NA)


class TA:
    """ta.* functions; bar-dependent ones read ``bar`` (the runtime updates it every bar)."""

    def __init__(self, bar: Bar) -> None:
        self.bar = bar

    sma = staticmethod(_avg.sma)
    ema = staticmethod(_avg.ema)
    rma = staticmethod(_avg.rma)
    wma = staticmethod(_avg.wma)
    hma = staticmethod(_avg.hma)
    stdev = staticmethod(_avg.stdev)
    variance = staticmethod(_avg.variance)
    bb = staticmethod(_avg.bb)
    bbw = staticmethod(_avg.bbw)
    linreg = staticmethod(_avg.linreg)
    cum = staticmethod(_avg.cum)
    fixnan = staticmethod(_avg.fixnan)
    msum = staticmethod(_avg.msum)
    change = staticmethod(_rng.change)
    mom = staticmethod(_rng.mom)
    roc = staticmethod(_rng.roc)
    crossover = staticmethod(_rng.crossover)
    crossunder = staticmethod(_rng.crossunder)
    cross = staticmethod(_rng.cross)
    valuewhen = staticmethod(_rng.valuewhen)
    barssince = staticmethod(_rng.barssince)
    percentrank = staticmethod(_rng.percentrank)
    rising = staticmethod(_rng.rising)
    falling = staticmethod(_rng.falling)

    def vwma(self, node: Node, src: Any, length: Any) -> Any:
        """Volume-weighted moving average."""
        return _avg.vwma(node, src, length, self.bar.volume)

    def highest(self, node: Node, src: Any, length: Any = None) -> Any:
        """Highest value over ``length`` bars; the one-argument form uses high."""
        return _rng.highest(node, self.bar.high, src) if length is None else \
            _rng.highest(node, src, length)

    def lowest(self, node: Node, src: Any, length: Any = None) -> Any:
        """Lowest value over ``length`` bars; the one-argument form uses low."""
        return _rng.lowest(node, self.bar.low, src) if length is None else \
            _rng.lowest(node, src, length)

    def highestbars(self, node: Node, src: Any, length: Any = None) -> Any:
        """Offset of the highest value; the one-argument form uses high."""
        return _rng.highestbars(node, self.bar.high, src) if length is None else \
            _rng.highestbars(node, src, length)

    def lowestbars(self, node: Node, src: Any, length: Any = None) -> Any:
        """Offset of the lowest value; the one-argument form uses low."""
        return _rng.lowestbars(node, self.bar.low, src) if length is None else \
            _rng.lowestbars(node, src, length)

    def pivothigh(self, node: Node, *args: Any) -> Any:
        """Pivot high of ``src`` (default high), reported ``right`` bars late."""
        src, left, right = (self.bar.high, *args) if len(args) == 2 else args
        return _rng.pivot(node, src, left, right, 1)

    def pivotlow(self, node: Node, *args: Any) -> Any:
        """Pivot low of ``src`` (default low), reported ``right`` bars late."""
        src, left, right = (self.bar.low, *args) if len(args) == 2 else args
        return _rng.pivot(node, src, left, right, -1)

    def tr(self, node: Node | None = None, handle_na: bool = False) -> Any:
        """True range; on the first bar na, or high-low when ``handle_na``."""
        bar = self.bar
        if isna(bar.prev_close):
            return bar.high - bar.low if handle_na else NA
        return max(bar.high - bar.low, abs(bar.high - bar.prev_close),
                   abs(bar.low - bar.prev_close))

    def atr(self, node: Node, length: Any) -> Any:
        """rma(tr(true), length)."""
        return _avg.rma(node, self.tr(None, True), length)

    def rsi(self, node: Node, src: Any, length: Any) -> Any:
        """Relative strength index with Wilder smoothing; first value on bar ``length``."""
        prev = node.data
        node.data = src
        if isna(src) or prev is None or isna(prev):
            return NA
        delta = src - prev
        up = _avg.rma(node[1], max(delta, 0.0), length)
        down = _avg.rma(node[2], max(-delta, 0.0), length)
        if isna(up) or isna(down):
            return NA
        if down == 0:
            return 100.0
        return 100.0 - 100.0 / (1.0 + up / down)

    def macd(self, node: Node, src: Any, fast: Any, slow: Any, signal: Any) -> tuple:
        """(macd, signal, histogram) from EMAs."""
        fast_ema = _avg.ema(node[1], src, fast)
        slow_ema = _avg.ema(node[2], src, slow)
        line = fast_ema - slow_ema if not (isna(fast_ema) or isna(slow_ema)) else NA
        sig = _avg.ema(node[3], line, signal)
        return line, sig, (line - sig if not (isna(line) or isna(sig)) else NA)

    def stoch(self, node: Node, src: Any, high: Any, low: Any, length: Any) -> Any:
        """100*(src - lowest(low))/(highest(high) - lowest(low)); na on a flat window."""
        hh = _rng.highest(node[1], high, length)
        ll = _rng.lowest(node[2], low, length)
        if isna(hh) or isna(ll) or isna(src) or hh == ll:
            return NA
        return 100.0 * (src - ll) / (hh - ll)

    def cci(self, node: Node, src: Any, length: Any) -> Any:
        """(src - sma)/(0.015 * mean absolute deviation)."""
        hist = _rng._history(node, src, int(length))
        if len(hist) != hist.maxlen or any(isna(v) for v in hist):
            return NA
        mean = _math.fsum(hist) / len(hist)
        dev = _math.fsum(abs(v - mean) for v in hist) / len(hist)
        return NA if dev == 0 else (src - mean) / (0.015 * dev)

    def mfi(self, node: Node, src: Any, length: Any) -> Any:
        """Money flow index over ``length`` bars (bar 0 counts in both sums)."""
        prev = node.data
        node.data = src
        delta = src - prev if prev is not None else NA
        vol = self.bar.volume
        up = _avg.msum(node[1], 0.0 if delta <= 0 else vol * src, length)
        down = _avg.msum(node[2], 0.0 if delta >= 0 else vol * src, length)
        if isna(up) or isna(down):
            return NA
        return 100.0 if down == 0 else 100.0 - 100.0 / (1.0 + up / down)

    def kc(self, node: Node, src: Any, length: Any, mult: Any, use_tr: bool = True) -> tuple:
        """Keltner channels: ema(src) +/- mult*ema(tr or high-low)."""
        basis = _avg.ema(node[1], src, length)
        span = self.tr(None, False) if use_tr else self.bar.high - self.bar.low
        rng = _avg.ema(node[2], span, length)
        if isna(rng) or isna(basis):
            return basis, NA, NA
        return basis, basis + mult * rng, basis - mult * rng

    def obv(self, node: Node) -> Any:
        """On-balance volume: cumulative sign(change of close) * volume; na on bar 0."""
        return _extra.obv(self, node)

    def dmi(self, node: Node, di_length: Any, adx_smoothing: Any) -> tuple:
        """(+DI, -DI, ADX)."""
        return _extra.dmi(self, node, di_length, adx_smoothing)

    def sar(self, node: Node, start: Any, inc: Any, maximum: Any) -> Any:
        """Parabolic SAR (Wilder)."""
        return _extra.sar(self.bar, node, start, inc, maximum)

    def supertrend(self, node: Node, factor: Any, atr_period: Any) -> tuple:
        """(supertrend, direction); direction -1 is an uptrend."""
        return _extra.supertrend(self, node, factor, atr_period)

    def vwap(self, node: Node, src: Any = None) -> Any:
        """Volume-weighted average price of ``src`` (hlc3) since the start of the UTC day."""
        return _extra.vwap(self.bar, node, self.bar.hlc3 if src is None else src)
