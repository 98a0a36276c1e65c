"""Walk-forward arithmetic, pure: window lengths, the rolling or anchored windows over a data
range, stitching out-of-sample equity curves, and walk-forward efficiency.

Windows are half-open [start, end) in naive UTC. Rolling: the in-sample window of length L_is
moves by the step s; anchored: it always starts at the first bar and grows by s. Each window's
out-of-sample part is the L_oos that follows its in-sample part. Only whole windows are made (an
out-of-sample part cut short by the end of the data is dropped). The step defaults to L_oos and
may not be shorter (out-of-sample parts must not overlap, or the stitched curve would count days
twice); a longer step leaves gaps between them.

Walk-forward efficiency (Pardo; reference/robustness.md) = annualised out-of-sample return /
annualised in-sample return of the chosen parameters. The annualised return is the stored metric
``annualized_return`` (core.analytics.metrics: mean daily return x 365), per window; overall it
is the mean of the stitched curve's daily returns x 365 over the mean of all windows' in-sample
daily returns x 365 (the same metric, pooled). Undefined (None) when the in-sample figure is not
positive.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

import pandas as pd

from core.errors import ConfigError
from core.model import PERIODS_PER_YEAR

MAX_WINDOWS = 500
_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
_LENGTH = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([hdw])\s*$")


@dataclass(frozen=True, slots=True, kw_only=True)
class Window:
    """One walk-forward window; every bound is a naive UTC timestamp, ends exclusive."""

    k: int  # 1-based window number
    is_start: pd.Timestamp
    is_end: pd.Timestamp
    oos_start: pd.Timestamp
    oos_end: pd.Timestamp


def parse_length(text: str, *, label: str) -> timedelta:
    """'180d', '12h', '8w' -> a timedelta. Raises ConfigError naming ``label`` and the fix."""
    match = _LENGTH.match(str(text))
    if match is None or float(match.group(1)) <= 0:
        raise ConfigError(f"The {label} length {text!r} is not a length; write a positive "
                          "number of hours, days or weeks, e.g. 180d, 60d, 12h or 8w.")
    return float(match.group(1)) * _UNITS[match.group(2)]


def format_length(length: timedelta) -> str:
    """A timedelta as the shortest of '12h', '180d', '8w' that is exact."""
    hours = length / timedelta(hours=1)
    if hours % (24 * 7) == 0:
        return f"{hours / (24 * 7):g}w"
    if hours % 24 == 0:
        return f"{hours / 24:g}d"
    return f"{hours:g}h"


def make_windows(first: pd.Timestamp, end: pd.Timestamp, *, is_len: timedelta,
                 oos_len: timedelta, step: timedelta | None = None,
                 anchored: bool = False) -> list[Window]:
    """The whole windows inside [first, end) (end = just after the last bar).

    Raises ConfigError when the step is shorter than the out-of-sample length, or when not
    even one window fits (saying how long the data is and what to change).
    """
    step = oos_len if step is None else step
    if step < oos_len:
        raise ConfigError(f"The step ({format_length(step)}) is shorter than the out-of-sample "
                          f"length ({format_length(oos_len)}), so out-of-sample windows would "
                          "overlap; use a step of at least the out-of-sample length (the default).")
    out: list[Window] = []
    while True:
        shift = step * len(out)
        is_start = first if anchored else first + shift
        is_end = first + is_len + shift
        oos_end = is_end + oos_len
        if oos_end > end:
            break
        out.append(Window(k=len(out) + 1, is_start=is_start, is_end=is_end, oos_start=is_end,
                          oos_end=oos_end))
        if len(out) > MAX_WINDOWS:
            raise ConfigError(f"More than {MAX_WINDOWS} windows; use a longer step or "
                              "out-of-sample length.")
    if not out:
        have = format_length(end - first)
        raise ConfigError(f"The data holds {have} from {first} to {end} (UTC), shorter than one "
                          f"window of {format_length(is_len)} in-sample + "
                          f"{format_length(oos_len)} out-of-sample; shorten --is/--oos or widen "
                          "--start/--end.")
    return out


def config_range(start: pd.Timestamp, end: pd.Timestamp) -> tuple[str, str]:
    """[start, end) as a BacktestConfig's inclusive (start, end) text: whole days as dates."""
    def midnight(ts: pd.Timestamp) -> bool:
        return ts == ts.normalize()

    first = start.date().isoformat() if midnight(start) else start.isoformat()
    if midnight(end):
        last = (end - pd.Timedelta(days=1)).date().isoformat()
    else:
        last = (end - pd.Timedelta(seconds=1)).isoformat()
    return first, last


def stitch(curves: list[pd.Series], *, cash_usdt: float) -> pd.Series:
    """Out-of-sample equity curves (each starting from ``cash_usdt``) compounded into one: each
    curve is scaled so that it starts from the previous curve's final equity (the first from
    ``cash_usdt``). Curves must be in time order and not overlap."""
    pieces: list[pd.Series] = []
    level = float(cash_usdt)
    for curve in curves:
        if curve.empty:
            continue
        if pieces and curve.index[0] <= pieces[-1].index[-1]:
            raise ValueError("out-of-sample curves overlap or are out of order")
        scaled = curve.astype(float) * (level / float(cash_usdt))
        pieces.append(scaled)
        level = float(scaled.iloc[-1])
    if not pieces:
        return pd.Series(dtype=float, name="equity")
    return pd.concat(pieces).rename("equity")


def annualised(daily_returns: list[float] | pd.Series) -> float | None:
    """Mean daily return x 365 (core.analytics.metrics.annualized_return's definition), None if
    empty."""
    values = pd.Series(daily_returns, dtype=float).dropna()
    return float(values.mean() * PERIODS_PER_YEAR) if len(values) else None


def efficiency(oos_annual: float | None, is_annual: float | None) -> float | None:
    """Walk-forward efficiency: OOS annualised return / IS annualised return; None when either
    is missing or the in-sample figure is not positive (the ratio then means nothing)."""
    if oos_annual is None or is_annual is None or not is_annual > 0:
        return None
    return float(oos_annual / is_annual)


GLOSSARY: dict[str, str] = {
    "Walk-forward analysis": (
        "Rolling windows (the in-sample window of length L_is moves by a step s) or anchored "
        "ones (it always starts at the first bar and grows by s). Each window's in-sample part "
        "is optimised by a sweep; its best parameters run on the out-of-sample part of length "
        "L_oos that follows, warmed up: the bars of the in-sample window before it feed its "
        "indicators, but no order fills on them and its metrics leave them out. The out-of-sample "
        "equity curves are compounded into one, each window starting from the previous "
        "window's final equity, and its metrics are those of a run."),
    "Walk-forward efficiency (WFE)": (
        "Pardo: annualised out-of-sample return / annualised in-sample return of the chosen "
        "parameters, where the annualised return is the mean daily return ×365 (the metric "
        "'Mean daily return ×365'). Per window, and overall: the stitched out-of-sample curve's "
        "figure over the in-sample daily returns of all windows pooled. Around 1 or above: "
        "the optimised performance carries over; well below 0.5: it was mostly curve fitting. "
        "Undefined when the in-sample figure is not positive."),
}
