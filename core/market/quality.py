"""Data quality of an OHLCV series: checks (pure), the stored report, and repairs on request.

Checks: gaps, duplicate timestamps, non-monotonic timestamps, OHLC inconsistencies (high below
open/close, low above them, high below low), non-positive prices or negative volume, runs of
zero-volume bars, and outlier jumps (close-to-close moves far beyond the series' usual size).
Nothing is repaired unless the user asks; repair() says exactly what it changed.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from core import store
from core.errors import DataError
from core.model import TIMEFRAME_MINUTES

ZERO_VOLUME_RUN_BARS = 3  # this many zero-volume bars in a row are reported as a run
OUTLIER_MIN_JUMP = 0.15  # a close-to-close move under 15% is never called an outlier
OUTLIER_SIGMAS = 12.0  # ... and it must exceed 12 robust standard deviations of the series
EXAMPLES = 5
# Applied in this order: delete bad bars first, then mend the rest, then fill the holes.
REPAIRS = {
    "non_positive": "delete bars with a price <= 0 or a negative volume",
    "outliers": "delete bars whose close jumps beyond the outlier threshold",
    "ohlc": "set High to max(Open, High, Low, Close) and Low to min(...) on inconsistent bars",
    "gaps": "fill missing bars flat at the previous close with zero volume",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class QualityIssue:
    """One kind of problem: how many bars or events, a few example times, the repair key."""

    kind: str
    message: str
    count: int
    examples: tuple[str, ...] = ()
    repair: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class QualityReport:
    """All issues of one series. ``badge`` is "ok", "warnings" or "problems"."""

    timeframe: str
    bars: int
    first: str
    last: str
    issues: tuple[QualityIssue, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        """True when no check found anything."""
        return not self.issues

    @property
    def badge(self) -> str:
        """"ok" (clean), "warnings" (gaps/zero volume only) or "problems" (anything else)."""
        if self.ok:
            return "ok"
        mild = {"gaps", "zero_volume"}
        return "warnings" if all(i.kind in mild for i in self.issues) else "problems"

    @property
    def summary(self) -> str:
        """One line: "clean" or the issue messages joined."""
        return "clean" if self.ok else "; ".join(i.message for i in self.issues)

    def to_dict(self) -> dict:
        """Plain JSON-ready dict."""
        out = asdict(self)
        out.update(ok=self.ok, badge=self.badge, summary=self.summary)
        return out


def _fmt(ts: pd.Timestamp) -> str:
    return pd.Timestamp(ts).strftime("%Y-%m-%d %H:%M")


def _n(count: int, one: str, many: str | None = None) -> str:
    """'1 gap', '3 gaps' (``many`` when the plural is not one + 's')."""
    return f"{count} {one if count == 1 else many or one + 's'}"


def _order_issues(index: pd.DatetimeIndex) -> list[QualityIssue]:
    out = []
    dup = index.duplicated()
    if dup.any():
        out.append(QualityIssue(kind="duplicates", count=int(dup.sum()),
                                message=_n(int(dup.sum()), "duplicate timestamp"),
                                examples=tuple(_fmt(t) for t in index[dup][:EXAMPLES])))
    back = np.flatnonzero(np.diff(index.asi8) < 0) + 1
    if len(back):
        out.append(QualityIssue(kind="non_monotonic", count=len(back),
                                message=_n(len(back), "timestamp goes", "timestamps go")
                                + " backwards",
                                examples=tuple(_fmt(index[i]) for i in back[:EXAMPLES])))
    return out


def _gap_issue(index: pd.DatetimeIndex, timeframe: str) -> list[QualityIssue]:
    if len(index) < 2 or timeframe == "1w":
        return []
    step = pd.Timedelta(minutes=TIMEFRAME_MINUTES[timeframe])
    diffs = pd.Series(index[1:] - index[:-1])
    where = np.flatnonzero((diffs > step).to_numpy())
    if not len(where):
        return []
    missing = int(sum(diffs.iloc[i] // step - 1 for i in where))
    examples = tuple(f"{_fmt(index[i])} → {_fmt(index[i + 1])}" for i in where[:EXAMPLES])
    return [QualityIssue(kind="gaps", count=len(where), repair="gaps", examples=examples,
                         message=f"{_n(len(where), 'gap')} ({_n(missing, 'missing bar')})")]


def _price_issues(frame: pd.DataFrame) -> list[QualityIssue]:
    o, h, lo, c, v = (frame[k].to_numpy() for k in ("Open", "High", "Low", "Close", "Volume"))
    out = []
    bad = (h < np.maximum(o, c)) | (lo > np.minimum(o, c)) | (h < lo)
    if bad.any():
        out.append(QualityIssue(
            kind="ohlc", count=int(bad.sum()), repair="ohlc",
            message=_n(int(bad.sum()), "bar") + " with High below Open/Close or Low above them",
            examples=tuple(_fmt(t) for t in frame.index[bad][:EXAMPLES])))
    nonpos = (np.minimum.reduce([o, h, lo, c]) <= 0) | (v < 0)
    if nonpos.any():
        out.append(QualityIssue(
            kind="non_positive", count=int(nonpos.sum()), repair="non_positive",
            message=_n(int(nonpos.sum()), "bar") + " with a price <= 0 or a negative volume",
            examples=tuple(_fmt(t) for t in frame.index[nonpos][:EXAMPLES])))
    return out


def price_problems(frame: pd.DataFrame) -> list[QualityIssue]:
    """Bars (Open..Volume columns, time index) that are not valid prices: High below Open/Close
    or Low above them, a price <= 0 or a negative volume. Empty when all are valid."""
    return _price_issues(frame)


def _zero_volume_issue(frame: pd.DataFrame) -> list[QualityIssue]:
    zero = (frame["Volume"].to_numpy() == 0).astype(np.int8)
    if zero.sum() < ZERO_VOLUME_RUN_BARS:
        return []
    edges = np.diff(np.concatenate(([0], zero, [0])))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    long = (ends - starts) >= ZERO_VOLUME_RUN_BARS
    if not long.any():
        return []
    longest = int((ends - starts)[long].max())
    return [QualityIssue(kind="zero_volume", count=int(long.sum()),
                         message=f"{_n(int(long.sum()), 'run')} of >= {ZERO_VOLUME_RUN_BARS} "
                                 f"zero-volume bars (longest {longest})",
                         examples=tuple(_fmt(frame.index[s]) for s in starts[long][:EXAMPLES]))]


def outlier_mask(close: pd.Series) -> np.ndarray:
    """True on bars whose close-to-close log move exceeds the outlier threshold."""
    prices = close.to_numpy(dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        jumps = np.abs(np.diff(np.log(np.where(prices > 0, prices, np.nan))))
    jumps = np.concatenate(([0.0], np.nan_to_num(jumps, nan=0.0)))
    sigma = 1.4826 * float(np.median(jumps[1:])) if len(jumps) > 1 else 0.0
    return jumps > max(OUTLIER_MIN_JUMP, OUTLIER_SIGMAS * sigma)


def _outlier_issue(frame: pd.DataFrame) -> list[QualityIssue]:
    mask = outlier_mask(frame["Close"])
    if not mask.any():
        return []
    return [QualityIssue(kind="outliers", count=int(mask.sum()), repair="outliers",
                         message=_n(int(mask.sum()), "outlier jump") + " in Close",
                         examples=tuple(_fmt(t) for t in frame.index[mask][:EXAMPLES]))]


def assess(frame: pd.DataFrame, timeframe: str) -> QualityReport:
    """Run every check on ``frame`` (DatetimeIndex, columns Open..Volume); never modifies it."""
    if frame.empty:
        return QualityReport(timeframe=timeframe, bars=0, first="", last="")
    index = pd.DatetimeIndex(frame.index)
    issues = _order_issues(index)
    clean = frame[~index.duplicated()].sort_index()
    issues += _gap_issue(pd.DatetimeIndex(clean.index), timeframe)
    issues += _price_issues(clean) + _zero_volume_issue(clean) + _outlier_issue(clean)
    return QualityReport(timeframe=timeframe, bars=len(frame), first=_fmt(index.min()),
                         last=_fmt(index.max()), issues=tuple(issues))


def _stored(db: Path, key: tuple[str, str, str, str]) -> pd.DataFrame:
    with store.connect(db) as con:
        frame = con.execute(
            "SELECT ts, open AS Open, high AS High, low AS Low, close AS Close, volume AS Volume "
            "FROM ohlcv WHERE exchange = ? AND market = ? AND symbol = ? AND timeframe = ? "
            "ORDER BY ts", list(key)).df()
    if frame.empty:
        raise DataError(f"No stored bars for {'/'.join(key)}; see `pineopt data list`.")
    frame.index = pd.DatetimeIndex(frame.pop("ts")).rename(None)
    return frame


def dataset_report(db: Path, *, exchange: str, market: str, symbol: str,
                   timeframe: str) -> QualityReport:
    """Assess a stored dataset and save the report (shown as the catalogue's badge)."""
    key = (exchange, market, symbol, timeframe)
    report = assess(_stored(db, key), timeframe)
    save_report(db, key, report)
    return report


def save_report(db: Path, key: tuple[str, str, str, str], report: QualityReport) -> None:
    """Store ``report`` as the latest quality report of dataset ``key``."""
    with store.connect(db) as con:
        con.execute("INSERT OR REPLACE INTO quality_reports (exchange, market, symbol, timeframe, "
                    "checked_at, ok, summary, report) VALUES (?, ?, ?, ?, now() AT TIME ZONE "
                    "'UTC', ?, ?, ?)", [*key, report.ok, report.summary,
                                        json.dumps(report.to_dict())])


def saved_badges(db: Path) -> dict[tuple[str, str, str, str], str]:
    """Badge of each dataset's last saved report, keyed (exchange, market, symbol, timeframe)."""
    with store.connect(db) as con:
        rows = con.execute("SELECT exchange, market, symbol, timeframe, report FROM "
                           "quality_reports").fetchall()
    return {tuple(r[:4]): json.loads(r[4]).get("badge", "") for r in rows}


@dataclass(frozen=True, slots=True, kw_only=True)
class RepairResult:
    """What repair() changed: bars touched per fix, and the reports before and after."""

    changed: dict[str, int]
    before: QualityReport
    after: QualityReport

    @property
    def summary(self) -> str:
        """One line per fix, e.g. "gaps: 3 bars"."""
        return "; ".join(f"{k}: {n} bars" for k, n in self.changed.items()) or "nothing changed"


def _fix_frame(frame: pd.DataFrame, fix: str, timeframe: str) -> tuple[pd.DataFrame, int]:
    if fix == "non_positive":
        bad = (frame[["Open", "High", "Low", "Close"]].min(axis=1) <= 0) | (frame["Volume"] < 0)
        return frame[~bad], int(bad.sum())
    if fix == "outliers":
        bad = outlier_mask(frame["Close"])
        return frame[~bad], int(bad.sum())
    if fix == "ohlc":
        high = frame[["Open", "High", "Low", "Close"]].max(axis=1)
        low = frame[["Open", "High", "Low", "Close"]].min(axis=1)
        n = int(((frame["High"] != high) | (frame["Low"] != low)).sum())
        return frame.assign(High=high, Low=low), n
    full = pd.date_range(frame.index[0], frame.index[-1],
                         freq=pd.Timedelta(minutes=TIMEFRAME_MINUTES[timeframe]))
    filled = frame.reindex(full)
    missing = filled["Close"].isna()
    close = filled["Close"].ffill()
    for col in ("Open", "High", "Low", "Close"):
        filled[col] = filled[col].fillna(close)
    filled["Volume"] = filled["Volume"].fillna(0.0)
    return filled, int(missing.sum())


def repair(db: Path, *, exchange: str, market: str, symbol: str, timeframe: str,
           fixes: list[str]) -> RepairResult:
    """Apply the chosen fixes (keys of REPAIRS) to a stored dataset in one transaction.

    Raises DataError for an unknown fix or a dataset that does not exist.
    """
    unknown = [f for f in fixes if f not in REPAIRS]
    if unknown:
        raise DataError(f"Unknown repair {unknown[0]!r}; choose from {', '.join(REPAIRS)}.")
    key = (exchange, market, symbol, timeframe)
    frame = _stored(db, key)
    before = assess(frame, timeframe)
    changed: dict[str, int] = {}
    for fix in [f for f in REPAIRS if f in fixes]:  # a fixed order: drop bad bars, then fill
        if fix == "gaps" and timeframe == "1w":
            continue
        frame, changed[fix] = _fix_frame(frame, fix, timeframe)
    rows = frame.rename(columns=str.lower).rename_axis("ts").reset_index()
    with store.transaction(db) as con:
        con.execute("DELETE FROM ohlcv WHERE exchange = ? AND market = ? AND symbol = ? AND "
                    "timeframe = ?", list(key))
        con.register("repaired", rows)
        con.execute("INSERT INTO ohlcv SELECT ?, ?, ?, ?, ts, open, high, low, close, volume "
                    "FROM repaired", list(key))
        con.unregister("repaired")
    after = dataset_report(db, exchange=exchange, market=market, symbol=symbol,
                           timeframe=timeframe)
    return RepairResult(changed=changed, before=before, after=after)
