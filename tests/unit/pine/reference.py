"""Independent reference formulas (pandas/numpy loops) for testing core.pine's ta.* and twins.

Written from the definitions in reference/pine.md §4, not from core.pine's code.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def sma(x: np.ndarray, n: int) -> np.ndarray:
    """Rolling mean; first value at n-1."""
    return pd.Series(x).rolling(n).mean().to_numpy()


def _seeded(x: np.ndarray, n: int, alpha: float) -> np.ndarray:
    out = np.full(len(x), np.nan)
    valid = np.flatnonzero(~np.isnan(x))
    if len(valid) < n:
        return out
    first = valid[0]
    seed_end = first + n - 1
    value = float(np.mean(x[first:seed_end + 1]))
    out[seed_end] = value
    for i in range(seed_end + 1, len(x)):
        value = value + alpha * (x[i] - value)
        out[i] = value
    return out


def ema(x: np.ndarray, n: int) -> np.ndarray:
    """EMA seeded with the SMA of the first n values."""
    return _seeded(np.asarray(x, dtype=float), n, 2.0 / (n + 1))


def rma(x: np.ndarray, n: int) -> np.ndarray:
    """Wilder average seeded with the SMA of the first n values."""
    return _seeded(np.asarray(x, dtype=float), n, 1.0 / n)


def rsi(x: np.ndarray, n: int) -> np.ndarray:
    """RSI from Wilder averages of gains and losses; first value at bar n."""
    delta = np.diff(np.asarray(x, dtype=float), prepend=np.nan)
    up = rma(np.where(np.isnan(delta), np.nan, np.maximum(delta, 0)), n)
    down = rma(np.where(np.isnan(delta), np.nan, np.maximum(-delta, 0)), n)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = 100 - 100 / (1 + up / down)
    out[(down == 0) & ~np.isnan(up)] = 100.0
    return out


def true_range(h: np.ndarray, low: np.ndarray, c: np.ndarray, handle_na: bool) -> np.ndarray:
    """max(h-l, |h-c[1]|, |l-c[1]|); bar 0 is na or h-l."""
    prev = np.concatenate([[np.nan], c[:-1]])
    out = np.maximum(h - low, np.maximum(np.abs(h - prev), np.abs(low - prev)))
    out[0] = h[0] - low[0] if handle_na else np.nan
    return out


def atr(h: np.ndarray, low: np.ndarray, c: np.ndarray, n: int) -> np.ndarray:
    """rma of the true range (bar 0 = h-l)."""
    return rma(true_range(h, low, c, True), n)


def stoch(c: np.ndarray, h: np.ndarray, low: np.ndarray, n: int) -> np.ndarray:
    """100*(c - lowest)/(highest - lowest)."""
    hh = pd.Series(h).rolling(n).max().to_numpy()
    ll = pd.Series(low).rolling(n).min().to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        out = 100 * (c - ll) / (hh - ll)
    out[hh == ll] = np.nan
    return out


def crossover(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a crosses above b (a > b now, a <= b on the previous bar)."""
    out = np.zeros(len(a), dtype=bool)
    out[1:] = (a[1:] > b[1:]) & (a[:-1] <= b[:-1])
    return out


def crossunder(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a crosses below b."""
    return crossover(b, a)


def pivots(x: np.ndarray, left: int, right: int, high: bool) -> np.ndarray:
    """Pivot value reported ``right`` bars late, na elsewhere."""
    out = np.full(len(x), np.nan)
    for i in range(left + right, len(x)):
        center = x[i - right]
        before = x[i - right - left:i - right]
        after = x[i - right + 1:i + 1]
        if high and center > after.max() and center >= before.max():
            out[i] = center
        if not high and center < after.min() and center <= before.min():
            out[i] = center
    return out


def supertrend(h: np.ndarray, low: np.ndarray, c: np.ndarray, factor: float,
               period: int) -> tuple[np.ndarray, np.ndarray]:
    """(line, direction) following TradingView's published Pine source of ta.supertrend."""
    a = atr(h, low, c, period)
    hl2 = (h + low) / 2
    n = len(c)
    line, direction = np.full(n, np.nan), np.zeros(n)
    up_prev = lo_prev = st_prev = np.nan
    for i in range(n):
        upper, lower = hl2[i] + factor * a[i], hl2[i] - factor * a[i]
        plo = 0.0 if np.isnan(lo_prev) else lo_prev
        pup = 0.0 if np.isnan(up_prev) else up_prev
        c_prev = c[i - 1] if i else np.nan
        lower = lower if (lower > plo or c_prev < plo) else plo
        upper = upper if (upper < pup or c_prev > pup) else pup
        if i == 0 or np.isnan(a[i - 1]):
            d = 1
        elif st_prev == pup:
            d = -1 if c[i] > upper else 1
        else:
            d = 1 if c[i] < lower else -1
        line[i] = lower if d == -1 else upper
        direction[i] = d
        up_prev, lo_prev, st_prev = upper, lower, line[i]
    return line, direction
