"""Market data in the store: the catalogue, sample data, upserts and loading for backtests.

Owns the contents of the ohlcv, symbols and funding_rates tables. Backtests read by (exchange,
market, symbol, timeframe, start, end); a higher timeframe with no stored bars is resampled from
the finest stored base timeframe (core.market.resample: UTC days, Monday weeks, partial last bar
dropped). Markets are "spot" or "perp". All timestamps are naive UTC.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from core.market import sample as sample_data
from core import store
from core.errors import DataError
from core.model import TIMEFRAME_MINUTES, TIMEFRAMES
from core.market.resample import check_timeframe, resample

__all__ = ["MARKETS", "OHLCV_COLUMNS", "Dataset", "SymbolInfo", "data_sha", "ensure_sample_data",
           "get_symbol", "list_datasets", "list_symbols", "load_funding", "load_ohlcv",
           "resample", "split_symbol", "step_of", "upsert_funding", "upsert_ohlcv", "upsert_symbol"]

OHLCV_COLUMNS = ("open", "high", "low", "close", "volume")
MARKETS = ("spot", "perp")


@dataclass(frozen=True, slots=True, kw_only=True)
class Dataset:
    """A stored series' coverage; missing_bars counts bars absent between first and last."""

    exchange: str
    market: str
    symbol: str
    timeframe: str
    first: pd.Timestamp
    last: pd.Timestamp
    bars: int
    synthetic: bool
    missing_bars: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class SymbolInfo:
    """Trading rules of one instrument. Zero means "no constraint known".

    tick_size: price increment (quote currency); lot_step: quantity increment (base coins);
    min_notional: smallest order value (quote currency). source: sample|import|download|markets.
    """

    exchange: str
    market: str
    symbol: str
    base: str
    quote: str
    tick_size: float
    lot_step: float
    min_notional: float
    synthetic: bool = False
    source: str = ""
    ccxt_symbol: str = ""


def check_market(market: str) -> str:
    """Return ``market`` if it is spot or perp; raise DataError otherwise."""
    if market not in MARKETS:
        raise DataError(f"Unknown market {market!r}; use 'spot' or 'perp' (USDS-M perpetual).")
    return market


QUOTES = ("USDT", "USDC", "FDUSD", "BUSD", "TUSD", "USD", "BTC", "ETH", "BNB", "EUR", "TRY")


def split_symbol(text: str) -> tuple[str, str, str, str]:
    """(symbol, base, quote, market hint) from "BTC/USDT:USDT", "BTC/USDT" or "BTCUSDT".

    The stored symbol is the exchange id without separators ("BTCUSDT"). The market hint is
    "perp" for a ccxt swap symbol (with ":"), "spot" for "BASE/QUOTE", else "".
    """
    raw = text.strip().upper()
    if not raw or not re.fullmatch(r"[A-Z0-9._/:-]+", raw):
        raise DataError(f"{text!r} is not a symbol; use e.g. BTCUSDT, BTC/USDT or BTC/USDT:USDT.")
    if "/" in raw:
        base, rest = raw.split("/", 1)
        quote, _, settle = rest.partition(":")
        return base + quote, base, quote, "perp" if settle else "spot"
    base, quote = raw, ""
    for q in QUOTES:
        if raw.endswith(q) and len(raw) > len(q):
            base, quote = raw[: -len(q)], q
            break
    return raw, base, quote, ""


def lot_step_from_prices(prices: np.ndarray) -> float:
    """A quantity step inferred from prices (never from volumes): the largest power of ten whose
    lot costs at most one unit of quote currency at the highest price, kept within 1e-8..1
    (1e-05 for BTC near 60,000 USDT, 1e-04 for ETH near 3,000: Binance's own steps)."""
    values = np.asarray(prices, dtype="float64")
    values = values[np.isfinite(values) & (values > 0)]
    if not len(values):
        return 1e-8
    exponent = math.floor(math.log10(1.0 / float(values.max())) + 1e-9)
    return float(10.0 ** min(0, max(-8, exponent)))


def step_of(values: np.ndarray, max_decimals: int = 10) -> float:
    """The price or size increment implied by the values' decimals (0.01 for 12.34, 12.3)."""
    sample = np.asarray(values, dtype="float64")[:5000]
    sample = sample[np.isfinite(sample)]
    for decimals in range(max_decimals + 1):
        scaled = sample * 10.0**decimals
        if np.all(np.abs(scaled - np.round(scaled)) <= 1e-6 * np.maximum(1.0, np.abs(scaled))):
            return 10.0**-decimals
    return 10.0**-max_decimals


def _sample_missing(db: Path) -> set[tuple[str, str]]:
    with store.connect(db) as con:
        have = {(r[0], r[1]) for r in con.execute(
            "SELECT market, symbol FROM symbols WHERE exchange = ? AND synthetic",
            [sample_data.SAMPLE_EXCHANGE]).fetchall()}
    wanted = {(m, s.symbol) for s in sample_data.SAMPLE_SPECS for m in MARKETS}
    return wanted - have


def ensure_sample_data(db: Path) -> bool:
    """Insert the synthetic spot and perp sample symbols (and perp funding) that are absent.

    Idempotent: a store holding only the spot sample gains the perps. Returns True when it wrote.
    """
    missing = _sample_missing(db)
    if not missing:
        return False
    with store.transaction(db) as con:
        for spec in sample_data.SAMPLE_SPECS:
            spot = sample_data.generate_symbol(spec)
            for market in MARKETS:
                if (market, spec.symbol) not in missing:
                    continue
                frame = spot if market == "spot" else sample_data.generate_perp(spec, spot)
                _upsert_ohlcv_con(con, frame, exchange=sample_data.SAMPLE_EXCHANGE,
                                  market=market, symbol=spec.symbol, timeframe="1h")
                if market == "perp":
                    _upsert_funding_con(con, sample_data.generate_funding(spec),
                                        exchange=sample_data.SAMPLE_EXCHANGE, symbol=spec.symbol)
                _upsert_symbol_con(con, SymbolInfo(
                    exchange=sample_data.SAMPLE_EXCHANGE, market=market, symbol=spec.symbol,
                    base=spec.symbol.removesuffix("USDT"), quote="USDT", tick_size=spec.tick_size,
                    lot_step=spec.lot_step, min_notional=5.0, synthetic=True, source="sample"))
    return True


def _upsert_ohlcv_con(con, frame: pd.DataFrame, *, exchange: str, market: str, symbol: str,
                      timeframe: str) -> int:
    if frame.empty:
        return 0
    rows = pa.Table.from_pandas(frame.loc[:, ["ts", *OHLCV_COLUMNS]], preserve_index=False)
    key = [exchange, market, symbol, timeframe]
    overlap = con.execute(
        "SELECT count(*) FROM ohlcv WHERE exchange = ? AND market = ? AND symbol = ? AND "
        "timeframe = ? AND ts BETWEEN ? AND ?",
        [*key, frame["ts"].min().to_pydatetime(), frame["ts"].max().to_pydatetime()]).fetchall()
    # A plain INSERT is much faster than OR REPLACE; use it when no stored bar can collide.
    verb = "INSERT OR REPLACE" if overlap[0][0] else "INSERT"
    con.register("incoming_ohlcv", rows)
    try:
        con.execute(f"{verb} INTO ohlcv SELECT ?, ?, ?, ?, ts, open, high, low, close, volume "
                    "FROM incoming_ohlcv", key)
    finally:
        con.unregister("incoming_ohlcv")
    return len(rows)


def upsert_ohlcv(con, frame: pd.DataFrame, *, exchange: str, market: str, symbol: str,
                 timeframe: str) -> int:
    """Insert or replace bars (columns ts naive UTC, open..volume) on an open connection.

    Call inside store.transaction so a file or a download page is all or nothing. Returns rows.
    """
    check_market(market)
    check_timeframe(timeframe)
    return _upsert_ohlcv_con(con, frame, exchange=exchange, market=market, symbol=symbol,
                             timeframe=timeframe)


def _upsert_funding_con(con, frame: pd.DataFrame, *, exchange: str, symbol: str) -> int:
    con.register("incoming_funding", frame.loc[:, ["ts", "rate"]])
    try:
        con.execute("INSERT OR REPLACE INTO funding_rates SELECT ?, ?, ts, rate "
                    "FROM incoming_funding", [exchange, symbol])
    finally:
        con.unregister("incoming_funding")
    return len(frame)


def upsert_funding(con, frame: pd.DataFrame, *, exchange: str, symbol: str) -> int:
    """Insert or replace funding rates (columns ts naive UTC, rate fraction). Returns rows."""
    return _upsert_funding_con(con, frame, exchange=exchange, symbol=symbol)


def _upsert_symbol_con(con, info: SymbolInfo) -> None:
    con.execute(
        "INSERT OR REPLACE INTO symbols (exchange, market, symbol, base, quote, tick_size, "
        "lot_step, min_notional, synthetic, source, ccxt_symbol, active, updated_at) VALUES "
        "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, TRUE, now() AT TIME ZONE 'UTC')",
        [info.exchange, info.market, info.symbol, info.base, info.quote, info.tick_size,
         info.lot_step, info.min_notional, info.synthetic, info.source, info.ccxt_symbol])


def upsert_symbol(con, info: SymbolInfo) -> None:
    """Insert or replace one symbols-catalogue row on an open connection."""
    check_market(info.market)
    _upsert_symbol_con(con, info)


_SYMBOL_COLS = ("exchange, market, symbol, base, quote, coalesce(tick_size, 0), "
                "coalesce(lot_step, 0), coalesce(min_notional, 0), synthetic, "
                "coalesce(source, ''), coalesce(ccxt_symbol, '')")


def _symbol_from_row(r: tuple) -> SymbolInfo:
    return SymbolInfo(exchange=r[0], market=r[1], symbol=r[2], base=r[3], quote=r[4],
                      tick_size=float(r[5]), lot_step=float(r[6]), min_notional=float(r[7]),
                      synthetic=bool(r[8]), source=r[9], ccxt_symbol=r[10])


def get_symbol(db: Path, exchange: str, market: str, symbol: str) -> SymbolInfo:
    """The catalogue entry of one instrument. Raises DataError naming what exists if absent."""
    with store.connect(db) as con:
        rows = con.execute(f"SELECT {_SYMBOL_COLS} FROM symbols WHERE exchange = ? AND market = ? "
                           "AND symbol = ?", [exchange, market, symbol]).fetchall()
        known = [] if rows else con.execute(
            "SELECT DISTINCT exchange || '/' || market || '/' || symbol FROM symbols WHERE "
            "symbol = ? OR exchange = ? ORDER BY 1 LIMIT 8", [symbol, exchange]).fetchall()
    if not rows:
        hint = ", ".join(k[0] for k in known) or "nothing similar"
        raise DataError(f"No symbol {exchange}/{market}/{symbol} in the catalogue (known: {hint}). "
                        "Import or download it on the Data page first.")
    return _symbol_from_row(rows[0])


def list_symbols(db: Path, *, query: str = "", exchange: str = "", market: str = "",
                 limit: int = 200) -> list[SymbolInfo]:
    """Catalogue rows whose symbol or ccxt symbol contains ``query`` (case-insensitive)."""
    sql = (f"SELECT {_SYMBOL_COLS} FROM symbols WHERE (symbol ILIKE ? OR ccxt_symbol ILIKE ?) "
           "AND (? = '' OR exchange = ?) AND (? = '' OR market = ?) ORDER BY exchange, market, "
           "symbol LIMIT ?")
    like = f"%{query.strip()}%"
    with store.connect(db) as con:
        rows = con.execute(sql, [like, like, exchange, exchange, market, market, limit]).fetchall()
    return [_symbol_from_row(r) for r in rows]


def list_datasets(db: Path) -> list[Dataset]:
    """Every stored (exchange, market, symbol, timeframe) with its coverage."""
    with store.connect(db) as con:
        rows = con.execute(
            "SELECT d.exchange, d.market, d.symbol, d.timeframe, d.first_ts, d.last_ts, d.bars, "
            "coalesce(s.synthetic, FALSE), d.missing_bars FROM datasets d LEFT JOIN symbols s "
            "USING (exchange, market, symbol) ORDER BY 1, 2, 3, 4"
        ).fetchall()
    return [Dataset(exchange=r[0], market=r[1], symbol=r[2], timeframe=r[3],
                    first=pd.Timestamp(r[4]), last=pd.Timestamp(r[5]), bars=int(r[6]),
                    synthetic=bool(r[7]), missing_bars=max(0, int(r[8]))) for r in rows]


def _stored_timeframes(db: Path, exchange: str, market: str, symbol: str) -> set[str]:
    with store.connect(db) as con:
        rows = con.execute("SELECT DISTINCT timeframe FROM ohlcv WHERE exchange = ? AND "
                           "market = ? AND symbol = ?", [exchange, market, symbol]).fetchall()
    return {r[0] for r in rows}


def _base_timeframe(db: Path, exchange: str, market: str, symbol: str, timeframe: str) -> str:
    stored = _stored_timeframes(db, exchange, market, symbol)
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
            f"stored: {', '.join(sorted(stored, key=TIMEFRAME_MINUTES.__getitem__))}."
        )
    return min(finer, key=TIMEFRAME_MINUTES.__getitem__)


def _range_sql(start_ts: pd.Timestamp | None, end_ts: pd.Timestamp | None) -> tuple[str, list]:
    sql, args = "", []
    if start_ts is not None:
        sql += " AND ts >= ?"
        args.append(start_ts.to_pydatetime())
    if end_ts is not None:
        sql += " AND ts <= ?"
        args.append(end_ts.to_pydatetime())
    return sql, args


def _read_bars(db: Path, key: list[str], start_ts, end_ts) -> pd.DataFrame:
    where, args = _range_sql(start_ts, end_ts)
    with store.connect(db) as con:  # numpy columns: a third of the time of a DataFrame fetch
        columns = con.execute(
            "SELECT ts, open AS Open, high AS High, low AS Low, close AS Close, volume AS Volume "
            "FROM ohlcv WHERE exchange = ? AND market = ? AND symbol = ? AND timeframe = ?"
            + where + " ORDER BY ts", key + args).fetchnumpy()
    return pd.DataFrame(columns, index=pd.DatetimeIndex(columns.pop("ts"), name="ts"))


def load_ohlcv(db: Path, *, exchange: str, market: str, symbol: str, timeframe: str,
               start: str = "", end: str = "") -> pd.DataFrame:
    """Bars for a backtest: DatetimeIndex (naive UTC), columns Open, High, Low, Close, Volume.

    start/end are dates or timestamps (UTC; a bare end date includes that whole day).
    Raises DataError naming what exists when the range holds no bars.
    """
    if timeframe not in TIMEFRAMES:
        raise DataError(f"Unknown timeframe {timeframe!r}; use one of {', '.join(TIMEFRAMES)}")
    start_ts, end_ts = parse_range(start, end)
    key, base = (exchange, market, symbol), timeframe
    frame = _read_bars(db, [*key, timeframe], start_ts, end_ts)  # stored so: one query
    if frame.empty and (base := _base_timeframe(db, *key, timeframe)) != timeframe:
        frame = resample(_read_bars(db, [*key, base], start_ts, end_ts), timeframe)  # finer
    if frame.empty:
        coverage = [d for d in list_datasets(db) if (d.exchange, d.market, d.symbol, d.timeframe)
                    == (exchange, market, symbol, base)]
        have = f"{coverage[0].first} to {coverage[0].last}" if coverage else "nothing"
        raise DataError(
            f"No {symbol} {timeframe} bars between {start or 'the start'} and {end or 'the end'}; "
            f"stored data covers {have} (UTC). Choose dates inside that range."
        )
    return frame


def load_funding(db: Path, exchange: str, symbol: str, start: object = None,
                 end: object = None) -> pd.Series:
    """Funding rates (fraction per funding time; 0.0001 = 0.01%) between start and end inclusive.

    Index: naive-UTC DatetimeIndex of funding times; name "rate". Empty when none are stored
    (callers treat missing funding as zero and should say so). start/end: str, Timestamp or None.
    """
    start_ts, end_ts = parse_range(_as_text(start), _as_text(end))
    where, args = _range_sql(start_ts, end_ts)
    with store.connect(db) as con:
        frame = con.execute("SELECT ts, rate FROM funding_rates WHERE exchange = ? AND symbol = ?"
                            + where + " ORDER BY ts", [exchange, symbol, *args]).df()
    index = pd.DatetimeIndex(frame["ts"]).rename(None)
    return pd.Series(frame["rate"].to_numpy(dtype="float64"), index=index, name="rate")


def _as_text(value: object) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return str(value)


def parse_range(start: str, end: str) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """Parse UTC start/end text to naive timestamps; a bare end date means the end of that day.

    Raises DataError for text that is not a date, or a start after the end.
    """
    out: list[pd.Timestamp | None] = []
    for label, raw in (("start", start), ("end", end)):
        if not raw:
            out.append(None)
            continue
        try:
            ts = pd.Timestamp(raw)
        except (ValueError, TypeError):
            raise DataError(f"The {label} date {raw!r} is not a date; use YYYY-MM-DD, "
                            "e.g. 2023-01-31") from None
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
