"""Incremental ta.* over windows and events: extremes, crosses, pivots, counters (pine.md §4).

Same contract as core.pine.emulation.ta_avg: the call site's Node first, one update per execution.
"""

from __future__ import annotations

from collections import deque as _deque
from typing import Any

from core.pine.emulation.state import NA, Node
from core.pine.emulation.ta_avg import isna

RISE_EPS = 1e-10


def _history(node: Node, src: Any, size: int) -> _deque[Any]:
    """Append ``src`` to the node's bounded history (newest last) and return it.

    Its maxlen is always set: ``len(hist) != hist.maxlen`` means the window is still filling."""
    hist = node.data
    if hist is None:
        hist = node.data = _deque(maxlen=max(1, size))
    hist.append(src)
    return hist


def highest(node: Node, src: Any, length: Any) -> Any:
    """Largest of the last ``length`` values (current bar included)."""
    hist = _history(node, src, int(length))
    if len(hist) != hist.maxlen or any(isna(v) for v in hist):
        return NA
    return max(hist)


def lowest(node: Node, src: Any, length: Any) -> Any:
    """Smallest of the last ``length`` values (current bar included)."""
    hist = _history(node, src, int(length))
    if len(hist) != hist.maxlen or any(isna(v) for v in hist):
        return NA
    return min(hist)


def _extreme_offset(node: Node, src: Any, length: Any, sign: int) -> Any:
    hist = _history(node, src, int(length))
    if len(hist) != hist.maxlen or any(isna(v) for v in hist):
        return NA
    best = 0
    for i, value in enumerate(hist):
        if sign * value > sign * hist[best]:
            best = i
    return best - (len(hist) - 1)


def highestbars(node: Node, src: Any, length: Any) -> Any:
    """Offset (<= 0) of the highest of the last ``length`` values; ties go to the oldest."""
    return _extreme_offset(node, src, length, 1)


def lowestbars(node: Node, src: Any, length: Any) -> Any:
    """Offset (<= 0) of the lowest of the last ``length`` values; ties go to the oldest."""
    return _extreme_offset(node, src, length, -1)


def change(node: Node, src: Any, length: Any = 1) -> Any:
    """src - src[length]; for bools, whether the value differs from ``length`` bars ago."""
    hist = _history(node, src, int(length) + 1)
    if len(hist) != hist.maxlen:
        return False if isinstance(src, bool) else NA
    if isinstance(src, bool):
        return src != hist[0]
    return NA if isna(src) or isna(hist[0]) else src - hist[0]


def mom(node: Node, src: Any, length: Any) -> Any:
    """Momentum: src - src[length]."""
    return change(node, src, length)


def roc(node: Node, src: Any, length: Any) -> Any:
    """Rate of change in percent: 100*(src - src[length])/src[length]."""
    hist = _history(node, src, int(length) + 1)
    if len(hist) != hist.maxlen or isna(src) or isna(hist[0]) or hist[0] == 0:
        return NA
    return 100 * (src - hist[0]) / hist[0]


def _cross_state(node: Node, a: Any, b: Any) -> tuple[Any, Any]:
    prev = node.data or (NA, NA)
    if a == a and b == b and a is not None and b is not None:  # NaN != NaN
        node.data = (a, b)
    return prev


def crossover(node: Node, a: Any, b: Any) -> bool:
    """a > b now and a <= b on the last bar where both were defined (na compares false)."""
    pa, pb = _cross_state(node, a, b)
    return a is not None and b is not None and a > b and pa <= pb


def crossunder(node: Node, a: Any, b: Any) -> bool:
    """a < b now and a >= b on the last bar where both were defined (na compares false)."""
    pa, pb = _cross_state(node, a, b)
    return a is not None and b is not None and a < b and pa >= pb


def cross(node: Node, a: Any, b: Any) -> bool:
    """a crossed b in either direction since the last bar where both were defined."""
    pa, pb = _cross_state(node, a, b)
    if isna(a) or isna(b) or isna(pa):
        return False
    return (a > b and pa < pb) or (a < b and pa > pb)


def pivot(node: Node, src: Any, left: Any, right: Any, sign: int) -> Any:
    """src[right] when it is a strict extreme over the next ``right`` values and at least as
    extreme as the previous ``left`` ones (sign 1: high, -1: low); na otherwise."""
    left, right = int(left), int(right)
    hist = _history(node, src, left + right + 1)
    if len(hist) != hist.maxlen:
        return NA
    values = list(hist)
    center = values[left]
    if isna(center) or any(isna(v) for v in values):
        return NA
    if all(sign * center > sign * v for v in values[left + 1:]) and all(
            sign * center >= sign * v for v in values[:left]):
        return center
    return NA


def valuewhen(node: Node, cond: Any, src: Any, occurrence: Any) -> Any:
    """src at the occurrence-th latest bar (0 = latest) where ``cond`` was true."""
    hits = node.data
    if hits is None:
        hits = node.data = []
    if cond is True or (not isinstance(cond, bool) and not isna(cond) and cond):
        hits.append(src)
        if len(hits) > 1000:
            del hits[:-500]
    k = int(occurrence)
    return hits[-1 - k] if k < len(hits) else NA


def barssince(node: Node, cond: Any) -> Any:
    """Bars since ``cond`` was last true (0 on a true bar); na before the first."""
    count = node.data
    if cond is True or (not isinstance(cond, bool) and not isna(cond) and cond):
        count = 0
    elif count is not None:
        count += 1
    node.data = count
    return NA if count is None else count


def percentrank(node: Node, src: Any, length: Any) -> Any:
    """Percent of the previous ``length`` values that are <= the current one."""
    n = int(length)
    hist = _history(node, src, n + 1)
    if len(hist) != hist.maxlen or isna(src):
        return NA
    return 100.0 * sum(1 for v in list(hist)[:-1] if v <= src) / n


def _streak(node: Node, src: Any, length: Any, sign: int) -> bool:
    prev, count = node.data or (NA, 0)
    if isna(src) or isna(prev):
        count = 0
    elif sign * (src - prev) > RISE_EPS:
        count += 1
    else:
        count = 0
    node.data = (src, count)
    return count >= int(length)


def rising(node: Node, src: Any, length: Any) -> bool:
    """True when src rose (by more than 1e-10) on each of the last ``length`` bars."""
    return _streak(node, src, length, 1)


def falling(node: Node, src: Any, length: Any) -> bool:
    """True when src fell (by more than 1e-10) on each of the last ``length`` bars."""
    return _streak(node, src, length, -1)
