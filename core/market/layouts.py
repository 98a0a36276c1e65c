"""File layouts we can import, column detection, and one file's rows -> a clean frame.

Layouts: Binance public-data klines (12 columns, ms or µs times; spot files have no header, so
a file with Binance's kline header is taken as USDS-M futures, market "perp", unless told),
Binance funding-rate files (calc_time, funding_interval_hours, last_funding_rate),
ccxt's OHLCV list ([[ms, open, high, low, close, volume], ...] as JSON or CSV), and generic
CSV/Parquet with a time column and OHLCV columns found by name. When detection is unsure the
caller must pass an explicit ColumnMapping. Pure: no store access.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from core.errors import DataError
from core.market.parse import KLINE_HEADER, RawTable, numeric_column, read_delimited, time_column
from core.model import TIMEFRAME_MINUTES

_SYNONYMS = {
    "time": ("open_time", "opentime", "timestamp", "time", "date", "datetime", "ts", "t",
             "unix", "date_time", "open time", "time_utc", "start"),
    "open": ("open", "o", "open_price", "openprice"),
    "high": ("high", "h", "high_price", "highprice"),
    "low": ("low", "l", "low_price", "lowprice"),
    "close": ("close", "c", "close_price", "closeprice", "last"),
    "volume": ("volume", "v", "vol", "base_volume", "volume_base", "basevolume"),
}
_FUNDING_TIME = ("calc_time", "fundingtime", "funding_time", "timestamp", "time", "ts", "date")
_FUNDING_RATE = ("last_funding_rate", "fundingrate", "funding_rate", "rate")
_NAME_HINT = re.compile(
    r"(?P<symbol>[A-Z0-9]{2,30})-(?:(?P<tf>\d+[mhdw])|(?P<fund>fundingRate))(?:[-_.]|$)")


@dataclass(frozen=True, slots=True, kw_only=True)
class ColumnMapping:
    """Which column holds each field (names as read; "0".."n-1" for a file without header)."""

    time: str
    open: str
    high: str
    low: str
    close: str
    volume: str

    @classmethod
    def parse(cls, text: str) -> ColumnMapping:
        """From "time=Date,open=O,high=H,low=L,close=C,volume=V" (positions like 0 also work)."""
        pairs = dict(p.split("=", 1) for p in text.split(",") if "=" in p)
        wanted = [f.name for f in fields(cls)]
        missing = [w for w in wanted if not pairs.get(w, "").strip()]
        if missing:
            raise DataError(f"The mapping {text!r} lacks {', '.join(missing)}; write it as "
                            "time=COL,open=COL,high=COL,low=COL,close=COL,volume=COL.")
        return cls(**{w: pairs[w].strip() for w in wanted})


@dataclass(frozen=True, slots=True, kw_only=True)
class Detection:
    """What a file looks like: layout, a guessed mapping, and whether the guess is certain."""

    layout: str
    columns: tuple[str, ...]
    mapping: ColumnMapping | None
    confident: bool
    reason: str
    preview: pd.DataFrame


@dataclass(frozen=True, slots=True, kw_only=True)
class ParsedFile:
    """One file's clean rows: kind "ohlcv" (ts, open..volume) or "funding" (ts, rate)."""

    name: str
    kind: str
    layout: str
    frame: pd.DataFrame
    notes: tuple[str, ...]
    symbol_hint: str = ""
    timeframe_hint: str = ""


def read_raw(name: str, data: bytes) -> RawTable:
    """Bytes of a .csv/.txt, .json or .parquet file -> RawTable. Raises DataError."""
    lower = name.lower()
    if lower.endswith(".parquet"):
        return _read_parquet(name, data)
    if lower.endswith(".json"):
        return _read_json(name, data)
    return read_delimited(data, name)


def _read_parquet(name: str, data: bytes) -> RawTable:
    try:
        frame = pq.read_table(io.BytesIO(data)).to_pandas()
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"{name}: not a readable Parquet file ({exc}).") from None
    if isinstance(frame.index, pd.DatetimeIndex):
        frame = frame.rename_axis(frame.index.name or "time").reset_index()
    if frame.empty:
        raise DataError(f"{name}: the file is empty; there are no rows to import.")
    frame.columns = [str(c) for c in frame.columns]
    return RawTable(name=name, frame=frame, has_header=True, delimiter="", first_line=1,
                    width=frame.shape[1])


def _read_json(name: str, data: bytes) -> RawTable:
    try:
        rows = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{name}: not valid JSON ({exc}). Expected ccxt's OHLCV list "
                        "[[timestamp_ms, open, high, low, close, volume], ...].") from None
    if not isinstance(rows, list) or not rows:
        raise DataError(f"{name}: the file is empty or not a list of OHLCV rows.")
    for i, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != 6:
            raise DataError(f"{name}: row {i + 1} is {str(row)[:60]}, expected 6 values "
                            "[timestamp_ms, open, high, low, close, volume].")
    frame = pd.DataFrame(rows, columns=[str(i) for i in range(6)])
    return RawTable(name=name, frame=frame, has_header=False, delimiter="", first_line=1,
                    width=6)


def _norm(column: str) -> str:
    return column.strip().strip('"').lower().replace("-", "_")


def _by_name(columns: list[str], synonyms: tuple[str, ...]) -> str | None:
    normal = {_norm(c): c for c in columns}
    for word in synonyms:
        if word in normal:
            return normal[word]
    return next((c for c in columns if _norm(c).startswith(synonyms[0] + " ")), None)


def detect(raw: RawTable) -> Detection:
    """Guess the layout and mapping of ``raw``; ``confident`` is False when a person must check."""
    cols = [str(c) for c in raw.frame.columns]
    preview = raw.frame.head(5)
    if raw.has_header:
        time_col, rate_col = _by_name(cols, _FUNDING_TIME), _by_name(cols, _FUNDING_RATE)
        if rate_col and time_col and not _by_name(cols, _SYNONYMS["open"]):
            mapping = ColumnMapping(time=time_col, open=rate_col, high="", low="", close="",
                                    volume="")
            return Detection(layout="funding", columns=tuple(cols), mapping=mapping,
                             confident=True, reason="funding-rate columns", preview=preview)
        found = {k: _by_name(cols, v) for k, v in _SYNONYMS.items()}
        missing = [k for k, v in found.items() if v is None]
        kline = raw.width == 12 and tuple(_norm(c) for c in cols) == KLINE_HEADER[:len(cols)]
        # Binance's spot kline files have no header; its USDS-M futures files have this one.
        layout = "binance-um-kline" if kline else "generic"
        if not missing:
            return Detection(layout=layout, columns=tuple(cols),
                             mapping=ColumnMapping(**{k: v for k, v in found.items()
                                                      if v is not None}), confident=True,
                             reason="columns found by name", preview=preview)
        return Detection(layout="generic", columns=tuple(cols), mapping=None, confident=False,
                         reason=f"no column for {', '.join(missing)}", preview=preview)
    guess = ColumnMapping(**{k: str(i) for i, k in enumerate(_SYNONYMS)}) if len(cols) >= 6 \
        else None
    if raw.width == 12:
        return Detection(layout="binance-kline", columns=tuple(cols), mapping=guess,
                         confident=True, reason="12 columns: Binance kline", preview=preview)
    if raw.width == 6:
        return Detection(layout="ccxt-ohlcv", columns=tuple(cols), mapping=guess,
                         confident=True, reason="6 columns: time, open, high, low, close, volume",
                         preview=preview)
    return Detection(layout="generic", columns=tuple(cols), mapping=guess, confident=False,
                     reason=f"{raw.width} unnamed columns", preview=preview)


def _resolve(raw: RawTable, mapping: ColumnMapping | None) -> ColumnMapping:
    if mapping is None:
        raise DataError(f"{raw.name}: no column mapping; pass --map time=COL,open=COL,...")
    cols = [str(c) for c in raw.frame.columns]
    out = {}
    for f in fields(mapping):
        value = getattr(mapping, f.name)
        if value == "" or value in cols:
            out[f.name] = value
        elif value.isdigit() and int(value) < len(cols):
            out[f.name] = cols[int(value)]
        else:
            raise DataError(f"{raw.name}: the mapping names column {value!r} for {f.name}, but "
                            f"the file's columns are {', '.join(cols)}.")
    return ColumnMapping(**out)


def _ohlcv_frame(raw: RawTable, m: ColumnMapping) -> tuple[pd.DataFrame, bool]:
    ts, naive = time_column(raw, m.time, m.time)
    data = {"ts": ts}
    for label in ("open", "high", "low", "close", "volume"):
        data[label] = numeric_column(raw, getattr(m, label), getattr(m, label), label)
    return pd.DataFrame(data), naive


def parse_file(name: str, data: bytes, mapping: ColumnMapping | None = None) -> ParsedFile:
    """Read, detect and clean one (non-zip) file. Raises DataError saying what to fix."""
    raw = read_raw(name, data)
    det = detect(raw)
    if mapping is None and not det.confident:
        raise DataError(
            f"{name}: could not tell which columns hold time, open, high, low, close and volume "
            f"({det.reason}; columns: {', '.join(det.columns)}). Choose them in the mapping "
            "preview, or pass --map time=COL,open=COL,high=COL,low=COL,close=COL,volume=COL.")
    if det.layout == "funding" and mapping is None:
        m = _resolve(raw, det.mapping)
        ts, naive = time_column(raw, m.time, m.time)
        frame = pd.DataFrame({"ts": ts, "rate": numeric_column(raw, m.open, m.open)})
        kind = "funding"
    else:
        frame, naive = _ohlcv_frame(raw, _resolve(raw, mapping or det.mapping))
        kind = "ohlcv"
    frame, notes = _dedupe_and_order(raw, frame)
    if naive:
        notes.append("times without a zone were read as UTC")
    hint = _NAME_HINT.search(name.rsplit("/", 1)[-1])
    return ParsedFile(name=name, kind=kind, layout=det.layout, frame=frame, notes=tuple(notes),
                      symbol_hint=hint["symbol"] if hint else "",
                      timeframe_hint=(hint["tf"] or "") if hint else "")


def _dedupe_and_order(raw: RawTable, frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    notes = []
    same_time = frame["ts"].duplicated(keep="first").to_numpy()
    exact = np.zeros(len(frame), dtype=bool)
    if same_time.any():  # the full-row comparison is costly: only when times repeat
        exact = frame.duplicated(keep="first").to_numpy()
    conflict = np.flatnonzero(same_time & ~exact)
    if len(conflict):
        pos = int(conflict[0])
        earlier = int(np.flatnonzero(frame["ts"].to_numpy() == frame["ts"].iloc[pos])[0])
        raise DataError(f"{raw.name}: lines {raw.line_of(earlier)} and {raw.line_of(pos)} both "
                        f"have time {frame['ts'].iloc[pos]} but different values (duplicates). "
                        "Keep one of them and import again.")
    positions = np.arange(len(frame))
    if exact.any():
        notes.append(f"dropped {int(exact.sum())} exact duplicate rows")
        frame, positions = frame[~exact].reset_index(drop=True), positions[~exact]
    back = np.flatnonzero(np.diff(frame["ts"].to_numpy().astype("int64")) < 0)
    if len(back):
        i = int(back[0]) + 1
        raise DataError(f"{raw.name}: line {raw.line_of(positions[i])} ({frame['ts'].iloc[i]}) is "
                        f"earlier than line {raw.line_of(positions[i - 1])} "
                        f"({frame['ts'].iloc[i - 1]}): the rows are not in time order. Sort the "
                        "file by time and import again.")
    return frame, notes


def infer_timeframe(ts: pd.Series, name: str) -> str:
    """The timeframe whose length is the most common spacing of ``ts``; raises DataError."""
    diffs = pd.Series(np.diff(ts.to_numpy().astype("datetime64[us]").astype("int64")))
    if diffs.empty:
        raise DataError(f"{name}: one row is not enough to tell the timeframe; give it "
                        "(--timeframe or the Timeframe field).")
    minutes = diffs.mode().iloc[0] / 60_000_000
    for tf, size in TIMEFRAME_MINUTES.items():
        if size == minutes:
            return tf
    raise DataError(f"{name}: bars are {minutes:g} minutes apart, which is not a supported "
                    f"timeframe ({', '.join(TIMEFRAME_MINUTES)}).")
