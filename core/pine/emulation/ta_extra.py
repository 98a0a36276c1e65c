"""ta.* built-ins with multi-step state: obv, dmi, sar, supertrend, vwap (pine.md §4)."""

from __future__ import annotations

from typing import Any

from core.pine.emulation import ta_avg as _avg
from core.pine.emulation.state import NA, Node
from core.pine.emulation.ta_avg import isna

MS_PER_DAY = 86_400_000


def obv(ta: Any, node: Node) -> Any:
    """Cumulative sign(close - close[1]) * volume; na on the first bar."""
    bar = ta.bar
    if isna(bar.prev_close):
        return NA
    delta = bar.close - bar.prev_close
    sign = 1.0 if delta > 0 else (-1.0 if delta < 0 else 0.0)
    node.data = (node.data or 0.0) + sign * bar.volume
    return node.data


def dmi(ta: Any, node: Node, di_length: Any, adx_smoothing: Any) -> tuple:
    """(+DI, -DI, ADX) as in TradingView's ta.dmi."""
    bar = ta.bar
    prev = node.data
    node.data = (bar.high, bar.low)
    up = bar.high - prev[0] if prev else NA
    down = prev[1] - bar.low if prev else NA
    # na on the first bar (ta.change is na there): the Wilder averages skip it, as in TV's ta.dmi
    plus_dm = NA if isna(up) else (up if (up > down and up > 0) else 0.0)
    minus_dm = NA if isna(down) else (down if (down > up and down > 0) else 0.0)
    trur = _avg.rma(node[1], ta.tr(None, False), di_length)
    plus_s = _avg.rma(node[2], plus_dm, di_length)
    minus_s = _avg.rma(node[3], minus_dm, di_length)
    if isna(trur) or isna(plus_s) or isna(minus_s) or trur == 0:
        return NA, NA, NA
    plus = 100 * plus_s / trur
    minus = 100 * minus_s / trur
    total = plus + minus
    adx = 100 * _avg.rma(node[4], abs(plus - minus) / (total if total != 0 else 1),
                         adx_smoothing)
    return plus, minus, adx


class _Sar:
    __slots__ = ("long", "sar", "ep", "af", "highs", "lows")

    def __init__(self) -> None:
        self.long = True
        self.sar = NA
        self.ep = NA
        self.af = 0.0
        self.highs: list[float] = []
        self.lows: list[float] = []


def sar(bar: Any, node: Node, start: Any, inc: Any, maximum: Any) -> Any:
    """Wilder's parabolic SAR; na on bar 0, initialised on bar 1 from bar 0's extremes."""
    state = node.data
    if state is None:
        state = node.data = _Sar()
    highs, lows = state.highs, state.lows
    if not highs:
        highs.append(bar.high)
        lows.append(bar.low)
        return NA
    if isna(state.sar):
        state.long = not highs[-1] > bar.high
        state.sar = lows[-1] if state.long else highs[-1]
        state.ep = bar.high if state.long else bar.low
        state.af = start
    else:
        _sar_step(state, bar, start, inc, maximum)
    highs.append(bar.high)
    lows.append(bar.low)
    del highs[:-2], lows[:-2]
    return state.sar


def _sar_step(state: _Sar, bar: Any, start: Any, inc: Any, maximum: Any) -> None:
    value = state.sar + state.af * (state.ep - state.sar)
    if state.long:
        value = min(value, *state.lows[-2:])
        if bar.low < value:
            state.long, value = False, max(state.ep, bar.high, *state.highs[-2:])
            state.ep, state.af = bar.low, start
        elif bar.high > state.ep:
            state.ep, state.af = bar.high, min(maximum, state.af + inc)
    else:
        value = max(value, *state.highs[-2:])
        if bar.high > value:
            state.long, value = True, min(state.ep, bar.low, *state.lows[-2:])
            state.ep, state.af = bar.high, start
        elif bar.low < state.ep:
            state.ep, state.af = bar.low, min(maximum, state.af + inc)
    state.sar = value


def supertrend(ta: Any, node: Node, factor: Any, atr_period: Any) -> tuple:
    """(supertrend line, direction) exactly as TradingView's published ta.supertrend source."""
    bar = ta.bar
    atr = ta.atr(node[1], atr_period)
    prev = node.data or {"lower": NA, "upper": NA, "st": NA, "atr": NA, "close": NA}
    upper = bar.hl2 + factor * atr
    lower = bar.hl2 - factor * atr
    prev_lower = 0.0 if isna(prev["lower"]) else prev["lower"]
    prev_upper = 0.0 if isna(prev["upper"]) else prev["upper"]
    if not (lower > prev_lower or prev["close"] < prev_lower):
        lower = prev_lower
    if not (upper < prev_upper or prev["close"] > prev_upper):
        upper = prev_upper
    if isna(prev["atr"]):
        direction = 1
    elif prev["st"] == prev_upper:
        direction = -1 if bar.close > upper else 1
    else:
        direction = 1 if bar.close < lower else -1
    line = lower if direction == -1 else upper
    node.data = {"lower": lower, "upper": upper, "st": line, "atr": atr, "close": bar.close}
    return line, direction


def vwap(bar: Any, node: Node, src: Any) -> Any:
    """Sum(src*volume)/sum(volume) since the start of the bar's UTC day."""
    day = int(bar.time // MS_PER_DAY)
    state = node.data
    if state is None or state[0] != day:
        state = [day, 0.0, 0.0]
        node.data = state
    if not (isna(src) or isna(bar.volume)):
        state[1] += src * bar.volume
        state[2] += bar.volume
    return state[1] / state[2] if state[2] else NA
