"""Stateless Pine helpers used by translated scripts: na handling, math.*, str.*, array.*.

Re-exported by core.pine.runtime. Nothing here reads or writes files or the network.
"""

from __future__ import annotations

import math as _math
import statistics as _statistics
from typing import Any

from core.pine.emulation.state import NA
from core.pine.emulation.ta_avg import isna

na = NA
TOLERANCE = 1e-10


def nz(value: Any, replacement: Any = 0) -> Any:
    """``value``, or ``replacement`` when it is na."""
    return replacement if isna(value) else value


def truth(value: Any) -> bool:
    """Pine's truthiness: na is false; numbers are true when |x| > 1e-10."""
    if value is True or value is False:
        return value
    if isna(value):
        return False
    if isinstance(value, (int, float)):
        return abs(value) > TOLERANCE
    return bool(value)


def div(left: Any, right: Any) -> Any:
    """left / right with Pine's result for a zero divisor (na) instead of an exception."""
    if isna(left) or isna(right) or right == 0:
        return NA
    return left / right


def mod(left: Any, right: Any) -> Any:
    """Remainder with the sign of the dividend (as TradingView); na on a zero divisor."""
    if isna(left) or isna(right) or right == 0:
        return NA
    result = _math.fmod(left, right)
    return int(result) if isinstance(left, int) and isinstance(right, int) else result


def prange(start: Any, end: Any, step: Any = None) -> range | list[float]:
    """The values of ``for i = start to end [by step]``: inclusive, counting down when needed."""
    if isna(start) or isna(end):
        return []
    size = abs(step) if step is not None and not isna(step) and step != 0 else 1
    if isinstance(start, int) and isinstance(end, int) and isinstance(size, int):
        return range(start, end + 1, size) if end >= start else range(start, end - 1, -size)
    count = int(_math.floor(abs(end - start) / size + TOLERANCE)) + 1
    sign = 1 if end >= start else -1
    return [start + sign * i * size for i in range(count)]


def as_int(value: Any) -> Any:
    """int(x) of Pine: truncation, na stays na."""
    return NA if isna(value) else int(value)


def as_float(value: Any) -> Any:
    """float(x) of Pine."""
    return NA if value is None else float(value)


def as_bool(value: Any) -> bool:
    """bool(x) of Pine."""
    return truth(value)


class PineMath:
    """math.* (stateless part; math.sum is a stateful ta-like call)."""

    pi = _math.pi
    e = _math.e
    phi = (1 + 5 ** 0.5) / 2

    @staticmethod
    def abs(x: Any) -> Any:
        """|x|."""
        return NA if isna(x) else abs(x)

    @staticmethod
    def max(*values: Any) -> Any:
        """Largest argument; na if any is na."""
        return NA if any(isna(v) for v in values) else max(values)

    @staticmethod
    def min(*values: Any) -> Any:
        """Smallest argument; na if any is na."""
        return NA if any(isna(v) for v in values) else min(values)

    @staticmethod
    def avg(*values: Any) -> Any:
        """Mean of the arguments."""
        return NA if any(isna(v) for v in values) else sum(values) / len(values)

    @staticmethod
    def round(x: Any, precision: Any = None) -> Any:
        """Round half away from zero (to ``precision`` decimals)."""
        if isna(x):
            return NA
        scale = 10 ** int(precision) if precision is not None else 1
        value = _math.floor(abs(x) * scale + 0.5) / scale
        value = _math.copysign(value, x)
        return int(value) if precision is None else value

    @staticmethod
    def round_to_mintick(x: Any, mintick: float = 0.01) -> Any:
        """x rounded to the tick grid."""
        return NA if isna(x) else round(x / mintick) * mintick

    @staticmethod
    def sign(x: Any) -> Any:
        """-1, 0 or 1."""
        return NA if isna(x) else (1.0 if x > 0 else (-1.0 if x < 0 else 0.0))

    @staticmethod
    def pow(x: Any, y: Any) -> Any:
        """x ** y (na on domain errors)."""
        try:
            return NA if isna(x) or isna(y) else float(x) ** y
        except (OverflowError, ZeroDivisionError):
            return NA

    @staticmethod
    def sqrt(x: Any) -> Any:
        """Square root (na for negatives)."""
        return NA if isna(x) or x < 0 else _math.sqrt(x)

    @staticmethod
    def log(x: Any) -> Any:
        """Natural logarithm (na for x <= 0)."""
        return NA if isna(x) or x <= 0 else _math.log(x)

    @staticmethod
    def log10(x: Any) -> Any:
        """Base-10 logarithm (na for x <= 0)."""
        return NA if isna(x) or x <= 0 else _math.log10(x)

    @staticmethod
    def exp(x: Any) -> Any:
        """e ** x."""
        try:
            return NA if isna(x) else _math.exp(x)
        except OverflowError:
            return NA

    @staticmethod
    def floor(x: Any) -> Any:
        """Largest integer <= x."""
        return NA if isna(x) else _math.floor(x)

    @staticmethod
    def ceil(x: Any) -> Any:
        """Smallest integer >= x."""
        return NA if isna(x) else _math.ceil(x)

    @staticmethod
    def todegrees(x: Any) -> Any:
        """Radians to degrees."""
        return NA if isna(x) else _math.degrees(x)

    @staticmethod
    def toradians(x: Any) -> Any:
        """Degrees to radians."""
        return NA if isna(x) else _math.radians(x)


def _na_safe(func: Any) -> Any:
    """``func`` of one number as a static method that gives na for na."""
    return staticmethod(lambda x: NA if isna(x) else func(x))


for _fn in ("sin", "cos", "tan", "asin", "acos", "atan"):
    setattr(PineMath, _fn, _na_safe(getattr(_math, _fn)))


class PineStr:
    """str.* functions."""

    @staticmethod
    def tostring(value: Any, fmt: Any = None) -> str:
        """Text of a value ("NaN" for na), with '#.##'-style formats honoured approximately."""
        if isna(value):
            return "NaN"
        if isinstance(fmt, str) and "." in fmt and isinstance(value, (int, float)):
            decimals = len(fmt.split(".", 1)[1])
            return f"{value:.{decimals}f}"
        if isinstance(value, float) and value.is_integer():
            return str(int(value)) if abs(value) < 1e15 else repr(value)
        return str(value)

    @staticmethod
    def length(text: str) -> int:
        """Number of characters."""
        return len(text)

    @staticmethod
    def contains(text: str, part: str) -> bool:
        """True if ``part`` occurs in ``text``."""
        return part in text


class PineArray:
    """array.* functions on Python lists (also called for the method form ``a.push(x)``)."""

    @staticmethod
    def new(size: Any = 0, initial: Any = NA) -> list:
        """A list of ``size`` copies of ``initial``."""
        return [initial] * int(size)

    push = staticmethod(lambda a, x: a.append(x))
    get = staticmethod(lambda a, i: a[int(i)])
    size = staticmethod(len)
    includes = staticmethod(lambda a, x: x in a)
    clear = staticmethod(lambda a: a.clear())
    copy = staticmethod(lambda a: list(a))

    @staticmethod
    def set(a: list, index: Any, value: Any) -> None:
        """a[index] = value."""
        a[int(index)] = value

    @staticmethod
    def unshift(a: list, value: Any) -> None:
        """Insert at the front."""
        a.insert(0, value)

    @staticmethod
    def pop(a: list) -> Any:
        """Remove and return the last element."""
        return a.pop()

    @staticmethod
    def shift(a: list) -> Any:
        """Remove and return the first element."""
        return a.pop(0)

    @staticmethod
    def sum(a: list) -> Any:
        """Sum (na if any element is na)."""
        return NA if any(isna(v) for v in a) else _math.fsum(a)

    @staticmethod
    def avg(a: list) -> Any:
        """Mean (na when empty)."""
        return NA if not a or any(isna(v) for v in a) else _math.fsum(a) / len(a)

    @staticmethod
    def min(a: list) -> Any:
        """Smallest element (na when empty)."""
        return min(a) if a else NA

    @staticmethod
    def max(a: list) -> Any:
        """Largest element (na when empty)."""
        return max(a) if a else NA

    @staticmethod
    def stdev(a: list) -> Any:
        """Population standard deviation."""
        return _statistics.pstdev(a) if a else NA

    @staticmethod
    def slice(a: list, start: Any, end: Any) -> list:
        """Elements from ``start`` to ``end`` (exclusive)."""
        return a[int(start):int(end)]

    @staticmethod
    def sort(a: list, order: str = "ascending") -> None:
        """Sort in place."""
        a.sort(reverse=order == "descending")


pmath = PineMath()
pstr = PineStr()
parray = PineArray()
