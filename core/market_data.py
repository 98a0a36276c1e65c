"""Market data in the store: seeding sample data, loading a backtest's OHLCV, resampling.

Owns the ohlcv and symbols tables' contents. Backtests read by (exchange, market, symbol,
timeframe, start, end); a higher timeframe with no stored bars is resampled from the finest
stored base timeframe (UTC day boundaries, weeks start Monday, a last partial bar dropped).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from core import sample_data, store
from core.errors import DataError
from core.model import TIMEFRAME_MINUTES, TIMEFRAMES

OHLCV_COLUMNS = ("open", "high", "low", "close", "volume")
_PANDAS_RULE = {"1m": "1min", "5m": "5min", "15m": "15min", "30m": "30min", "1h": "1h",
                "4h": "4h", "1d": "1D", "1w": "W-MON"}


@dataclass(frozen=True, slots=True, kw_only=True)
class Dataset:
    """A stored series' coverage."""

    exchange: str
    market: str
    symbol: str
    timeframe: str
    first: pd.Timestamp
    last: pd.Timestamp
    bars: int
    synthetic: bool


def ensure_sample_data(db: Path) -> bool:
    """Insert the synthetic sample symbols if absent. Returns True when it wrote anything."""
    with store.connect(db) as con:
        have = con.execute(
            "SELECT count(*) FROM symbols WHERE exchange = ? AND synthetic", [sample_data.SAMPLE_EXCHANGE]
        ).fetchone()[0]
    if have >= len(sample_data.SAMPLE_SPECS):
        return False
    with store.transaction(db) as con:
        for spec in sample_data.SAMPLE_SPECS:
            frame = sample_data.generate_symbol(spec)
            _insert_ohlcv(con, frame, exchange=sample_data.SAMPLE_EXCHANGE, market="spot",
                          symbol=spec.symbol, timeframe="1h")
            con.execute(
                "INSERT OR REPLACE INTO symbols (exchange, market, symbol, base, quote, tick_size, "
                "lot_step, min_notional, synthetic) VALUES (?, 'spot', ?, ?, 'USDT', ?, ?, 5.0, TRUE)",
                [sample_data.SAMPLE_EXCHANGE, spec.symbol, spec.symbol.removesuffix("USDT"),
                 spec.tick_size, spec.lot_step],
            )
    return True


def _insert_ohlcv(con, frame: pd.DataFrame, *, exchange: str, market: str, symbol: str,
                  timeframe: str) -> None:
    rows = frame.loc[:, ["ts", *OHLCV_COLUMNS]].copy()
    rows.insert(0, "timeframe", timeframe)
    rows.insert(0, "symbol", symbol)
    rows.insert(0, "market", market)
    rows.insert(0, "exchange", exchange)
    con.register("incoming_ohlcv", rows)
    con.execute("INSERT OR REPLACE INTO ohlcv SELECT exchange, market, symbol, timeframe, ts, open, "
                "high, low, close, volume FROM incoming_ohlcv")
    con.unregister("incoming_ohlcv")


def list_datasets(db: Path) -> list[Dataset]:
    """Every stored (exchange, market, symbol, timeframe) with its coverage."""
    with store.connect(db) as con:
        rows = con.execute(
            "SELECT o.exchange, o.market, o.symbol, o.timeframe, min(ts), max(ts), count(*), "
            "coalesce(any_value(s.synthetic), FALSE) FROM ohlcv o LEFT JOIN symbols s USING "
            "(exchange, market, symbol) GROUP BY ALL ORDER BY 1, 2, 3, 4"
        ).fetchall()
    return [Dataset(exchange=r[0], market=r[1], symbol=r[2], timeframe=r[3],
                    first=pd.Timestamp(r[4]), last=pd.Timestamp(r[5]), bars=int(r[6]),
                    synthetic=bool(r[7])) for r in rows]


def _base_timeframe(db: Path, exchange: str, market: str, symbol: str, timeframe: str) -> str:
    stored = {d.timeframe for d in list_datasets(db)
              if (d.exchange, d.market, d.symbol) == (exchange, market, symbol)}
    if not stored:
        raise DataError(
            f"No data for {exchange}/{market}/{symbol}. Import or download it on the Data page "
            "(or `pineopt data list` to see what exists)."
        )
    if timeframe in stored:
        return timeframe
    finer = [tf for tf in stored if TIMEFRAME_MINUTES[tf] < TIMEFRAME_MINUTES[timeframe]
             and TIMEFRAME_MINUTES[timeframe] % TIMEFRAME_MINUTES[tf] == 0]
    if not finer:
        raise DataError(
            f"{symbol} has no {timeframe} bars and no finer timeframe to build them from; "
            f"stored: {', '.join(sorted(stored, key=TIMEFRAME_MINUTES.get))}."
        )
    return min(finer, key=TIMEFRAME_MINUTES.get)


def resample(frame: pd.DataFrame, timeframe: str) -> pd.DataFrame:
    """Aggregate OHLCV (DatetimeIndex, UTC) to ``timeframe``; drops an incomplete last bar."""
    if timeframe not in _PANDAS_RULE:
        raise DataError(f"Unknown timeframe {timeframe!r}; use one of {', '.join(TIMEFRAMES)}")
    rule = _PANDAS_RULE[timeframe]
    kwargs = {"label": "left", "closed": "left"}
    agg = frame.resample(rule, **kwargs).agg(
        {"Open": "first", "High": "max", "Low": "min", "Close": "last", "Volume": "sum"})
    counts = frame["Close"].resample(rule, **kwargs).count()
    agg = agg[counts > 0]
    if len(frame) >= 2 and len(agg):
        step = frame.index[1] - frame.index[0]
        period_end = agg.index[-1] + pd.tseries.frequencies.to_offset(
            "7D" if timeframe == "1w" else rule)
        if frame.index[-1] + step < period_end:
            agg = agg.iloc[:-1]
    return agg


def load_ohlcv(db: Path, *, exchange: str, market: str, symbol: str, timeframe: str,
               start: str = "", end: str = "") -> pd.DataFrame:
    """Bars for a backtest: DatetimeIndex (naive UTC), columns Open, High, Low, Close, Volume.

    Raises DataError naming what exists when the range holds no bars.
    """
    if timeframe not in TIMEFRAMES:
        raise DataError(f"Unknown timeframe {timeframe!r}; use one of {', '.join(TIMEFRAMES)}")
    start_ts, end_ts = _parse_range(start, end)
    base = _base_timeframe(db, exchange, market, symbol, timeframe)
    sql = ("SELECT ts, open, high, low, close, volume FROM ohlcv WHERE exchange = ? AND market = ? "
           "AND symbol = ? AND timeframe = ?")
    args: list[object] = [exchange, market, symbol, base]
    if start_ts is not None:
        sql += " AND ts >= ?"
        args.append(start_ts.to_pydatetime())
    if end_ts is not None:
        sql += " AND ts <= ?"
        args.append(end_ts.to_pydatetime())
    with store.connect(db, read_only=False) as con:
        frame = con.execute(sql + " ORDER BY ts", args).df()
    frame = frame.set_index("ts").rename(columns=str.capitalize)
    frame.index = pd.DatetimeIndex(frame.index, name=None)
    if base != timeframe:
        frame = resample(frame, timeframe)
    if frame.empty:
        coverage = [d for d in list_datasets(db)
                    if (d.exchange, d.market, d.symbol, d.timeframe) == (exchange, market, symbol, base)]
        have = f"{coverage[0].first} to {coverage[0].last}" if coverage else "nothing"
        raise DataError(
            f"No {symbol} {timeframe} bars between {start or 'the start'} and {end or 'the end'}; "
            f"stored data covers {have} (UTC). Choose dates inside that range."
        )
    return frame


def _parse_range(start: str, end: str) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    out = []
    for label, raw in (("start", start), ("end", end)):
        if not raw:
            out.append(None)
            continue
        try:
            ts = pd.Timestamp(raw)
        except (ValueError, TypeError):
            raise DataError(f"The {label} date {raw!r} is not a date; use YYYY-MM-DD, e.g. 2023-01-31")
        if ts.tzinfo is not None:
            ts = ts.tz_convert("UTC").tz_localize(None)
        if label == "end" and len(raw) <= 10:
            ts = ts + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)  # whole end day
        out.append(ts)
    if out[0] is not None and out[1] is not None and out[0] > out[1]:
        raise DataError(f"The start {start} is after the end {end}; swap them.")
    return out[0], out[1]


def data_sha(frame: pd.DataFrame) -> str:
    """sha256 of the bar times and OHLCV values: identical data gives an identical hash."""
    digest = hashlib.sha256()
    digest.update(frame.index.asi8.tobytes())
    digest.update(np.ascontiguousarray(frame[["Open", "High", "Low", "Close", "Volume"]]
                                       .to_numpy(dtype="float64")).tobytes())
    return digest.hexdigest()
