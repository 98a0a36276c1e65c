"""Incremental ta.* averages and dispersion (pine.md §4), one call site's state per Node.

Every function takes the call site's Node first and updates its state once per execution. An
``na`` input returns ``na`` without advancing the state. Lengths are read on the first call.
"""

from __future__ import annotations

import math as _math
from collections import deque as _deque
from typing import Any

from core.pine.emulation.state import NA, Node


_INF = (float("inf"), float("-inf"))


def isna(value: Any) -> bool:
    """Pine na(): None, NaN and infinities count as na."""
    if value is None:
        return True
    if isinstance(value, float):
        return not _math.isfinite(value)
    return False


class _Window:
    __slots__ = ("values", "length", "total")

    def __init__(self, length: Any) -> None:
        self.length = max(1, int(length))
        self.values: _deque[float] = _deque(maxlen=self.length)
        self.total = 0.0

    def add(self, value: float) -> bool:
        """Append; True once the window is full."""
        if len(self.values) == self.length:
            self.total -= self.values[0]
        self.values.append(value)
        self.total += value
        return len(self.values) == self.length


def _window(node: Node, length: Any) -> _Window:
    state = node.data
    if state is None:
        state = node.data = _Window(length)
    return state


def sma(node: Node, src: Any, length: Any) -> Any:
    """Mean of the last ``length`` values; first value on bar length-1."""
    if src != src or src is None or src in _INF:
        return NA
    window = node.data
    if window is None:
        window = node.data = _Window(length)
    if not window.add(src):
        return NA
    if window.length <= 64:  # exact sum; long windows use the running total
        return _math.fsum(window.values) / window.length
    return window.total / window.length


def msum(node: Node, src: Any, length: Any) -> Any:
    """math.sum: rolling sum of the last ``length`` values."""
    if isna(src):
        return NA
    window = _window(node, length)
    return _math.fsum(window.values) if window.add(src) else NA


class _Smooth:
    __slots__ = ("length", "count", "total", "value")

    def __init__(self, length: Any) -> None:
        self.length = max(1, int(length))
        self.count = 0
        self.total = 0.0
        self.value = NA


def _smooth(node: Node, src: Any, length: Any, alpha: float | None) -> Any:
    if src != src or src is None or src in _INF:
        return NA
    state = node.data
    if state is None:
        state = node.data = _Smooth(length)
    if state.count < state.length:
        state.count += 1
        state.total += src
        if state.count == state.length:
            state.value = state.total / state.length
        return state.value
    if alpha is None:
        state.value = (state.value * (state.length - 1) + src) / state.length
    else:
        state.value += alpha * (src - state.value)
    return state.value


def ema(node: Node, src: Any, length: Any) -> Any:
    """EMA seeded with the SMA of the first ``length`` values (alpha = 2/(length+1))."""
    return _smooth(node, src, length, 2.0 / (max(1, int(length)) + 1))


def rma(node: Node, src: Any, length: Any) -> Any:
    """Wilder's moving average seeded with the SMA of the first ``length`` values."""
    return _smooth(node, src, length, None)


def wma(node: Node, src: Any, length: Any) -> Any:
    """Linearly weighted mean, newest weight ``length``."""
    if isna(src):
        return NA
    window = _window(node, length)
    if not window.add(src):
        return NA
    n = window.length
    return sum((i + 1) * v for i, v in enumerate(window.values)) / (n * (n + 1) / 2)


def vwma(node: Node, src: Any, length: Any, volume: Any) -> Any:
    """sma(src*volume)/sma(volume)."""
    if isna(src) or isna(volume):
        return NA
    num = sma(node[1], src * volume, length)
    den = sma(node[2], volume, length)
    return NA if isna(num) or not den else num / den


def hma(node: Node, src: Any, length: Any) -> Any:
    """Hull MA: wma(2*wma(src, n/2) - wma(src, n), floor(sqrt(n)))."""
    n = int(length)
    half = wma(node[1], src, max(1, n // 2))
    full = wma(node[2], src, n)
    if isna(half) or isna(full):
        return NA
    return wma(node[3], 2 * half - full, max(1, int(_math.floor(_math.sqrt(n)))))


def dev_stats(node: Node, src: Any, length: Any) -> tuple[float, float] | None:
    """(mean, biased variance) of the last ``length`` values, None until the window is full."""
    if isna(src):
        return None
    window = _window(node, length)
    if not window.add(src):
        return None
    mean = _math.fsum(window.values) / window.length
    var = _math.fsum((v - mean) ** 2 for v in window.values) / window.length
    return mean, max(0.0, var)


def variance(node: Node, src: Any, length: Any, biased: bool = True) -> Any:
    """Variance of the last ``length`` values (biased by default)."""
    stats = dev_stats(node, src, length)
    if stats is None:
        return NA
    n = int(length)
    return stats[1] if biased or n < 2 else stats[1] * n / (n - 1)


def stdev(node: Node, src: Any, length: Any, biased: bool = True) -> Any:
    """Standard deviation of the last ``length`` values (biased by default)."""
    value = variance(node, src, length, biased)
    return NA if isna(value) else _math.sqrt(value)


def bb(node: Node, src: Any, length: Any, mult: Any) -> tuple[Any, Any, Any]:
    """Bollinger Bands: (basis, upper, lower) = sma +/- mult * biased stdev."""
    stats = dev_stats(node, src, length)
    if stats is None:
        return NA, NA, NA
    dev = mult * _math.sqrt(stats[1])
    return stats[0], stats[0] + dev, stats[0] - dev


def bbw(node: Node, src: Any, length: Any, mult: Any) -> Any:
    """Bollinger Band width in percent of the basis."""
    basis, upper, lower = bb(node, src, length, mult)
    return NA if isna(basis) or basis == 0 else (upper - lower) / basis * 100


def linreg(node: Node, src: Any, length: Any, offset: Any) -> Any:
    """Least-squares line over the last ``length`` values, evaluated at length-1-offset."""
    if isna(src):
        return NA
    window = _window(node, length)
    if not window.add(src):
        return NA
    n = window.length
    xs = range(n)
    x_mean = (n - 1) / 2
    y_mean = _math.fsum(window.values) / n
    sxx = sum((x - x_mean) ** 2 for x in xs)
    sxy = sum((x - x_mean) * (y - y_mean) for x, y in zip(xs, window.values, strict=True))
    slope = sxy / sxx if sxx else 0.0
    intercept = y_mean - slope * x_mean
    return intercept + slope * (n - 1 - offset)


def cum(node: Node, src: Any) -> Any:
    """Running sum of all non-na values so far (0 before any)."""
    if node.data is None:
        node.data = 0.0
    if not isna(src):
        node.data += src
    return node.data


def fixnan(node: Node, src: Any) -> Any:
    """The last non-na value of ``src`` (na before any)."""
    if not isna(src):
        node.data = src
        return src
    return NA if node.data is None else node.data
