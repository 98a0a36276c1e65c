"""ta.* as plain functions for generated code: ``ta_sma(st[1], close, 14)``.

Functions that read the current bar (true range, one-argument highest, pivots, ...) take it
second: ``ta_atr(st[2], bar, 14)``. Calling plain names keeps the per-bar cost of the sandbox's
attribute guard out of the hot loop.
"""

from __future__ import annotations

from typing import Any

from core.pine.emulation import ta_avg as _avg
from core.pine.emulation import ta_range as _rng
from core.pine.emulation.state import Node
from core.pine.emulation.ta_lib import TA as _TA
from core.pine.emulation.ta_lib import Bar as _Bar


__all__ = [
    'ta_atr', 'ta_barssince', 'ta_bb', 'ta_bbw', 'ta_cci', 'ta_change', 'ta_cross',
    'ta_crossover', 'ta_crossunder', 'ta_cum', 'ta_dmi', 'ta_ema', 'ta_falling', 'ta_fixnan',
    'ta_highest', 'ta_highestbars', 'ta_hma', 'ta_kc', 'ta_linreg', 'ta_lowest',
    'ta_lowestbars', 'ta_macd', 'ta_mfi', 'ta_mom', 'ta_msum', 'ta_obv', 'ta_percentrank',
    'ta_pivothigh', 'ta_pivotlow', 'ta_rising', 'ta_rma', 'ta_roc', 'ta_rsi', 'ta_sar',
    'ta_sma', 'ta_stdev', 'ta_stoch', 'ta_supertrend', 'ta_tr', 'ta_valuewhen', 'ta_variance',
    'ta_vwap', 'ta_vwma', 'ta_wma',
]

ta_sma = _avg.sma
ta_ema = _avg.ema
ta_rma = _avg.rma
ta_wma = _avg.wma
ta_hma = _avg.hma
ta_stdev = _avg.stdev
ta_variance = _avg.variance
ta_bb = _avg.bb
ta_bbw = _avg.bbw
ta_linreg = _avg.linreg
ta_cum = _avg.cum
ta_fixnan = _avg.fixnan
ta_msum = _avg.msum
ta_change = _rng.change
ta_mom = _rng.mom
ta_roc = _rng.roc
ta_crossover = _rng.crossover
ta_crossunder = _rng.crossunder
ta_cross = _rng.cross
ta_valuewhen = _rng.valuewhen
ta_barssince = _rng.barssince
ta_percentrank = _rng.percentrank
ta_rising = _rng.rising
ta_falling = _rng.falling

_NO_BAR = _TA(_Bar())  # rsi/macd/stoch/cci never read the bar
ta_rsi = _NO_BAR.rsi
ta_macd = _NO_BAR.macd
ta_stoch = _NO_BAR.stoch
ta_cci = _NO_BAR.cci



def ta_vwma(node: Node, bar: Any, src: Any, length: Any) -> Any:
    """ta.vwma on the current bar."""
    return bar.ta.vwma(node, src, length)


def ta_highest(node: Node, bar: Any, src: Any, length: Any = None) -> Any:
    """ta.highest on the current bar."""
    return bar.ta.highest(node, src, length)


def ta_lowest(node: Node, bar: Any, src: Any, length: Any = None) -> Any:
    """ta.lowest on the current bar."""
    return bar.ta.lowest(node, src, length)


def ta_highestbars(node: Node, bar: Any, src: Any, length: Any = None) -> Any:
    """ta.highestbars on the current bar."""
    return bar.ta.highestbars(node, src, length)


def ta_lowestbars(node: Node, bar: Any, src: Any, length: Any = None) -> Any:
    """ta.lowestbars on the current bar."""
    return bar.ta.lowestbars(node, src, length)


def ta_pivothigh(node: Node, bar: Any, *args: Any) -> Any:
    """ta.pivothigh on the current bar."""
    return bar.ta.pivothigh(node, *args)


def ta_pivotlow(node: Node, bar: Any, *args: Any) -> Any:
    """ta.pivotlow on the current bar."""
    return bar.ta.pivotlow(node, *args)


def ta_tr(node: Node, bar: Any, handle_na: bool = False) -> Any:
    """ta.tr on the current bar."""
    return bar.ta.tr(node, handle_na)


def ta_atr(node: Node, bar: Any, length: Any) -> Any:
    """ta.atr on the current bar."""
    return bar.ta.atr(node, length)


def ta_mfi(node: Node, bar: Any, src: Any, length: Any) -> Any:
    """ta.mfi on the current bar."""
    return bar.ta.mfi(node, src, length)


def ta_kc(node: Node, bar: Any, src: Any, length: Any, mult: Any, use_tr: bool = True) -> Any:
    """ta.kc on the current bar."""
    return bar.ta.kc(node, src, length, mult, use_tr)


def ta_obv(node: Node, bar: Any) -> Any:
    """ta.obv on the current bar."""
    return bar.ta.obv(node)


def ta_dmi(node: Node, bar: Any, di_length: Any, adx_smoothing: Any) -> Any:
    """ta.dmi on the current bar."""
    return bar.ta.dmi(node, di_length, adx_smoothing)


def ta_sar(node: Node, bar: Any, start: Any, inc: Any, maximum: Any) -> Any:
    """ta.sar on the current bar."""
    return bar.ta.sar(node, start, inc, maximum)


def ta_supertrend(node: Node, bar: Any, factor: Any, atr_period: Any) -> Any:
    """ta.supertrend on the current bar."""
    return bar.ta.supertrend(node, factor, atr_period)


def ta_vwap(node: Node, bar: Any, src: Any = None) -> Any:
    """ta.vwap on the current bar."""
    return bar.ta.vwap(node, src)
