"""Importing market-data files into the store: one transaction per file, all or nothing.

A file is a .csv/.txt, .json, .parquet, or a .zip of such files (one or many). Rows are parsed
and checked first (core.market.layouts); only a file that passes every check is written, by
upsert, so importing the same file again adds nothing. Each imported OHLCV dataset gets a
quality report. ``progress(fraction, message)`` is called as the work advances.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from core.market import decompress, catalogue as market_data, quality
from core import store
from core.errors import DataError
from core.market.layouts import ColumnMapping, Detection, ParsedFile, detect, infer_timeframe
from core.market.layouts import parse_file, read_raw
from core.market.resample import check_timeframe

Progress = Callable[[float, str], None]
_CHUNK_ROWS = 250_000
GZIP_MAGIC, ZIP_MAGIC = b"\x1f\x8b", b"PK\x03\x04"
CHANGE_EXAMPLES = 20


@dataclass(frozen=True, slots=True, kw_only=True)
class Target:
    """Where rows go. Empty fields are inferred (file name, data spacing, layout)."""

    exchange: str = ""
    market: str = ""
    symbol: str = ""
    timeframe: str = ""
    tick_size: float = 0.0  # price step; 0: keep the catalogue's, else infer from prices
    lot_step: float = 0.0  # quantity step; 0: keep the catalogue's, else infer from prices


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportedSet:
    """One dataset written by an import: rows read, rows new to the store, coverage, and the
    quality of the imported rows (the whole stored dataset is checked on demand)."""

    kind: str
    exchange: str
    market: str
    symbol: str
    timeframe: str
    rows: int
    new_rows: int
    first: str
    last: str
    quality: quality.QualityReport | None = None
    tick_size: float = 0.0
    lot_step: float = 0.0
    steps: str = ""  # where tick and lot step come from: given, catalogue or inferred


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportReport:
    """The outcome of importing one file (a zip may feed several datasets)."""

    file: str
    members: tuple[str, ...]
    datasets: tuple[ImportedSet, ...]
    notes: tuple[str, ...]

    @property
    def summary(self) -> str:
        """One line per dataset, e.g. "binance/spot/BTCUSDT 1h: 744 rows (744 new)"."""
        return "\n".join(
            f"{d.exchange}/{d.market}/{d.symbol} {d.timeframe or 'funding'}: {d.rows} rows "
            f"({d.new_rows} new), {d.first} to {d.last} UTC"
            + (f"; quality: {d.quality.summary}" if d.quality else "")
            + (f"; tick size {d.tick_size:g}, lot step {d.lot_step:g} ({d.steps}; change with "
               "--tick-size/--lot-step or on the Data page)" if d.steps else "")
            for d in self.datasets)


class ReplaceNeeded(DataError):
    """The import would change bars already stored; nothing was written. ``changes`` holds up to
    CHANGE_EXAMPLES of them (ts, field, stored, imported); ``count`` all changed bars."""

    def __init__(self, message: str, *, changes: pd.DataFrame, count: int) -> None:
        super().__init__(message)
        self.changes, self.count = changes, count


def _noop(_fraction: float, _message: str) -> None:
    return None


def read_members(name: str, data: bytes, *, first_only: bool = False) -> list[tuple[str, bytes]]:
    """The files inside ``data``: itself, its gzip content, or each data file of a zip,
    unpacked within core.market.decompress's limits. Raises DataError."""
    if len(data) > decompress.MAX_IMPORT_MB << 20:
        raise DataError(f"{name}: {len(data) / 1e6:.0f} MB is over the "
                        f"{decompress.MAX_IMPORT_MB} MB import limit; split the file or download "
                        "the data instead.")
    lower = name.lower()
    if lower.endswith(".gz") or data[:2] == GZIP_MAGIC:
        return [(name.removesuffix(".gz").removesuffix(".GZ"), decompress.gunzip(name, data))]
    if lower.endswith(".zip") or data[:4] == ZIP_MAGIC:
        return decompress.unzip(name, data, first_only=first_only)
    return [(name, data)]


def preview(name: str, data: bytes) -> Detection:
    """Detection of the first data file in ``data`` (for the mapping preview). Raises DataError."""
    first_name, first = read_members(name, data, first_only=True)[0]
    return detect(read_raw(first_name, first))


def _resolve_target(parsed: ParsedFile, target: Target) -> Target:
    symbol_text = target.symbol or parsed.symbol_hint
    if not symbol_text:
        raise DataError(f"{parsed.name}: which symbol is this? The file name does not say; give "
                        "it (--symbol BTCUSDT or the Symbol field).")
    symbol, _base, _quote, hint = market_data.split_symbol(symbol_text)
    perp_file = parsed.kind == "funding" or parsed.layout == "binance-um-kline"
    market = target.market or hint or ("perp" if perp_file else "spot")
    market_data.check_market(market)
    binance = parsed.layout.startswith("binance") or parsed.kind == "funding"
    exchange = (target.exchange or ("binance" if binance else "imported")).strip().lower()
    timeframe = ""
    if parsed.kind == "ohlcv":
        timeframe = target.timeframe or parsed.timeframe_hint or infer_timeframe(
            parsed.frame["ts"], parsed.name)
        check_timeframe(timeframe)
    return Target(exchange=exchange, market=market, symbol=symbol, timeframe=timeframe,
                  tick_size=_step(target.tick_size, "tick size"),
                  lot_step=_step(target.lot_step, "lot step"))


def _step(value: float, what: str) -> float:
    if not (value >= 0 and math.isfinite(value)):
        raise DataError(f"The {what} must be a positive number such as 0.01 (0 = infer it from "
                        f"the prices), not {value!r}.")
    return float(value)


def _combine(parts: list[ParsedFile]) -> pd.DataFrame:
    frame = pd.concat([p.frame for p in parts], ignore_index=True)
    if len(parts) == 1:
        return frame
    frame = frame.drop_duplicates().sort_values("ts", kind="stable").reset_index(drop=True)
    clash = frame["ts"].duplicated()
    if clash.any():
        when = frame["ts"][clash].iloc[0]
        owners = [p.name for p in parts if (p.frame["ts"] == when).any()]
        raise DataError(f"{' and '.join(owners[:2])} both hold time {when} with different "
                        "values; import them separately or remove one.")
    return frame


def _check_spacing(frame: pd.DataFrame, target: Target, name: str) -> None:
    if len(frame) < 2 or not target.timeframe:
        return
    smallest = frame["ts"].diff().min()
    size = pd.Timedelta(minutes=market_data.TIMEFRAME_MINUTES[target.timeframe])
    if smallest < size:
        raise DataError(f"{name}: bars are {smallest} apart, shorter than the chosen timeframe "
                        f"{target.timeframe}; pick the file's own timeframe (it can be resampled "
                        "later).")
    if smallest > size:  # not one pair of neighbouring bars: the file has a longer timeframe
        raise DataError(f"{name}: no two bars are closer than {smallest}, longer than the chosen "
                        f"timeframe {target.timeframe}: this is not {target.timeframe} data. Pick "
                        "the file's own timeframe (or leave it on auto).")


def _check_bars(frame: pd.DataFrame, name: str) -> None:
    """Refuse bars that fail the price checks (they would be stored over good bars)."""
    problems = quality.price_problems(frame.set_index("ts").rename(columns=str.capitalize))
    if problems:
        found = "; ".join(f"{p.message} (e.g. {', '.join(p.examples[:3])} UTC)"
                          for p in problems)
        raise DataError(f"{name}: {found}. Nothing was imported: fix or remove those rows and "
                        "import again (stored bars are never replaced by invalid ones).")


_FIELDS = ("open", "high", "low", "close", "volume")


def _changed_bars(con, frame: pd.DataFrame, target: Target) -> tuple[int, pd.DataFrame]:
    """(how many stored bars the frame would change, up to CHANGE_EXAMPLES field changes)."""
    con.register("incoming_bars", frame.loc[:, ["ts", *_FIELDS]])
    try:
        differ = " OR ".join(f"s.{f} IS DISTINCT FROM i.{f}" for f in _FIELDS)
        where = ("FROM incoming_bars i JOIN ohlcv s ON s.ts = i.ts AND s.exchange = ? AND "
                 f"s.market = ? AND s.symbol = ? AND s.timeframe = ? WHERE {differ}")
        key = [target.exchange, target.market, target.symbol, target.timeframe]
        count = con.execute(f"SELECT count(*) {where}", key).fetchone()[0]  # noqa: S608
        sample = con.execute(
            "SELECT i.ts, " + ", ".join(f"s.{f} AS stored_{f}, i.{f} AS new_{f}" for f in _FIELDS)
            + f" {where} ORDER BY i.ts LIMIT ?", [*key, CHANGE_EXAMPLES]).df()  # noqa: S608
    finally:
        con.unregister("incoming_bars")
    rows = [{"ts": r["ts"], "field": f, "stored": r[f"stored_{f}"], "imported": r[f"new_{f}"]}
            for _, r in sample.iterrows() for f in _FIELDS
            if r[f"stored_{f}"] != r[f"new_{f}"]]
    return int(count), pd.DataFrame(rows, columns=["ts", "field", "stored", "imported"])


def _refuse_changes(name: str, target: Target, count: int, changes: pd.DataFrame) -> None:
    first = changes.iloc[0]
    raise ReplaceNeeded(
        f"{name}: {count} bar(s) already stored for {target.exchange}/{target.market}/"
        f"{target.symbol} {target.timeframe} would change (e.g. {first['ts']}: {first['field']} "
        f"{first['stored']:g} -> {first['imported']:g}). Nothing was imported. To overwrite the "
        "stored bars import again with --replace (Data page: tick \"Replace the stored bars\").",
        changes=changes, count=count)


def _write(con, frame: pd.DataFrame, target: Target, kind: str, progress: Progress) -> int:
    """Upsert in chunks; returns how many rows were not stored before."""
    table, key_sql = ("ohlcv", "exchange = ? AND market = ? AND symbol = ? AND timeframe = ?") \
        if kind == "ohlcv" else ("funding_rates", "exchange = ? AND symbol = ?")
    key = ([target.exchange, target.market, target.symbol, target.timeframe] if kind == "ohlcv"
           else [target.exchange, target.symbol])
    count_sql = f"SELECT count(*) FROM {table} WHERE {key_sql}"  # noqa: S608 - fixed names
    before = con.execute(count_sql, key).fetchall()[0][0]
    for start in range(0, len(frame), _CHUNK_ROWS):
        chunk = frame.iloc[start:start + _CHUNK_ROWS]
        if kind == "ohlcv":
            market_data.upsert_ohlcv(con, chunk, exchange=target.exchange, market=target.market,
                                     symbol=target.symbol, timeframe=target.timeframe)
        else:
            market_data.upsert_funding(con, chunk, exchange=target.exchange,
                                       symbol=target.symbol)
        progress(0.6 + 0.35 * min(1.0, (start + len(chunk)) / len(frame)),
                 f"stored {start + len(chunk):,} of {len(frame):,} rows")
    return con.execute(count_sql, key).fetchall()[0][0] - before


def _catalogue(con, frame: pd.DataFrame, target: Target) -> tuple[float, float, str]:
    """The symbol's tick size and lot step, and where they come from: the steps given with the
    import, else the catalogue's, else inferred from the prices (the tick from their decimals,
    the lot step from their size; never from the Volume column, whose decimals say nothing about
    the exchange's quantity step). Stores them in the catalogue."""
    _symbol, base, quote, _hint = market_data.split_symbol(target.symbol)
    row = con.execute("SELECT coalesce(tick_size, 0), coalesce(lot_step, 0) FROM symbols WHERE "
                      "exchange = ? AND market = ? AND symbol = ?",
                      [target.exchange, target.market, target.symbol]).fetchall()
    known_tick, known_lot = (float(row[0][0]), float(row[0][1])) if row else (0.0, 0.0)
    prices = frame[["open", "high", "low", "close"]].to_numpy().ravel()
    tick = target.tick_size or known_tick or market_data.step_of(prices)
    lot = target.lot_step or known_lot or market_data.lot_step_from_prices(prices)
    given = bool(target.tick_size or target.lot_step)
    source = "given" if given else "catalogue" if known_tick and known_lot else \
        "inferred from prices"
    if not row or given or not (known_tick and known_lot):
        if row:
            con.execute("UPDATE symbols SET tick_size = ?, lot_step = ? WHERE exchange = ? AND "
                        "market = ? AND symbol = ?",
                        [tick, lot, target.exchange, target.market, target.symbol])
        else:
            market_data.upsert_symbol(con, market_data.SymbolInfo(
                exchange=target.exchange, market=target.market, symbol=target.symbol,
                base=base, quote=quote, tick_size=tick, lot_step=lot, min_notional=0.0,
                source="import"))
    return tick, lot, source


def _group(parsed: list[ParsedFile], target: Target) -> dict[tuple, list[ParsedFile]]:
    groups: dict[tuple, list[ParsedFile]] = {}
    for p in parsed:
        resolved = _resolve_target(p, target)
        groups.setdefault((p.kind, resolved), []).append(p)
    return groups


def import_bytes(db: Path, name: str, data: bytes, *, target: Target = Target(),
                 mapping: ColumnMapping | None = None, replace: bool = False,
                 progress: Progress = _noop) -> ImportReport:
    """Import one file's bytes (name decides the format). All or nothing; raises DataError.

    Bars failing the price checks are refused. Bars that would change stored ones raise
    ReplaceNeeded (with the differences) unless ``replace``.
    """
    members = read_members(name, data)
    parsed = []
    for i, (member, content) in enumerate(members):
        progress(0.5 * i / len(members), f"reading {member}")
        parsed.append(parse_file(member, content, mapping))
        progress(0.5 * (i + 1) / len(members),
                 f"checked {member}: {len(parsed[-1].frame):,} rows")
    groups = _group(parsed, target)
    frames = {}
    for (kind, tgt), parts in groups.items():
        frames[(kind, tgt)] = _combine(parts)
        _check_spacing(frames[(kind, tgt)], tgt, parts[0].name)
        if kind == "ohlcv":
            _check_bars(frames[(kind, tgt)], parts[0].name)
    progress(0.6, "writing to the store")
    written = []
    with store.transaction(db) as con:
        for (kind, tgt), frame in frames.items():
            if kind == "ohlcv" and not replace:
                count, changes = _changed_bars(con, frame, tgt)
                if count:
                    _refuse_changes(name, tgt, count, changes)
            new = _write(con, frame, tgt, kind, progress)
            steps = _catalogue(con, frame, tgt) if kind == "ohlcv" else (0.0, 0.0, "")
            written.append((kind, tgt, frame, new, steps))
    datasets = tuple(_finish(db, kind, tgt, frame, new, steps)
                     for kind, tgt, frame, new, steps in written)
    progress(1.0, "done")
    notes = tuple(dict.fromkeys(f"{p.name}: {n}" for p in parsed for n in p.notes))
    return ImportReport(file=name, members=tuple(m for m, _ in members), datasets=datasets,
                        notes=notes)


def _finish(db: Path, kind: str, tgt: Target, frame: pd.DataFrame, new: int,
            steps: tuple[float, float, str]) -> ImportedSet:
    report = None
    if kind == "ohlcv":
        engine = frame.set_index("ts").rename(columns=str.capitalize)
        key = (tgt.exchange, tgt.market, tgt.symbol, tgt.timeframe)
        report = quality.assess(engine, tgt.timeframe)
        quality.save_report(db, key, report)
    return ImportedSet(kind=kind, exchange=tgt.exchange, market=tgt.market, symbol=tgt.symbol,
                       timeframe=tgt.timeframe, rows=len(frame), new_rows=int(new),
                       first=str(frame["ts"].iloc[0]), last=str(frame["ts"].iloc[-1]),
                       quality=report, tick_size=steps[0], lot_step=steps[1], steps=steps[2])


def import_file(db: Path, path: Path, *, target: Target = Target(),
                mapping: ColumnMapping | None = None, replace: bool = False,
                progress: Progress = _noop) -> ImportReport:
    """Import the file at ``path``; see import_bytes. Raises DataError if it cannot be read."""
    try:
        if Path(path).stat().st_size > decompress.MAX_IMPORT_MB << 20:
            raise DataError(f"{path}: over the {decompress.MAX_IMPORT_MB} MB import limit; split "
                            "the file or download the data instead.")
        data = Path(path).read_bytes()
    except OSError as exc:
        raise DataError(f"Cannot read {path}: {exc.strerror}. Check the path.") from None
    return import_bytes(db, Path(path).name, data, target=target, mapping=mapping,
                        replace=replace, progress=progress)
